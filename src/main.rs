//! dockfix: the command-line shell around `dockfix-transforms`. Arguments, files, the build
//! context, atomic writes and output live here; the transforms do no I/O.

mod args;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context as _, Result};
use clap::Parser;
use dockfix_transforms::engine::{self, SuppressionNoteKind};
use dockfix_transforms::rules::env_secrets::SecretMode;
use dockfix_transforms::rules::pin_images;
use dockfix_transforms::{rules, BuildContext, Dockerfile, NoBuildContext, Source};
use serde::Serialize;

use dockfix::build_context::DirContext;
use dockfix::config::Config;
use dockfix::pinning::{self, Prefetched};
use dockfix::report::{self, FileResult};
use dockfix::settings::{self, known_ids, CommandLine, ConfigSource, Resolver as SettingsResolver, Settings};
use dockfix::{discover, files, github, markdown, sarif};

use crate::args::{Cli, Command, FixArgs, Format, SecretsArg};

/// Exit codes: 0 done, 1 changes pending with `--check`, 2 error.
const EXIT_PENDING: u8 = 1;
const EXIT_ERROR: u8 = 2;

/// How standard input is named in messages and output.
const STDIN: &str = "<stdin>";

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Fix(args) => fix(&args),
        Command::Parse { file } => parse(&file),
        Command::Rules => {
            let mut out = String::new();
            for rule in rules::all() {
                let aliases = rule.aliases().join(", ");
                out.push_str(&format!("{:<16} {}", rule.id(), rule.summary()));
                if !aliases.is_empty() {
                    out.push_str(&format!(" (alias: {aliases})"));
                }
                out.push('\n');
            }
            print(&out)?;
            Ok(0)
        }
        Command::Explain { id } => {
            let Some(rule) = rules::by_id(&id) else {
                bail!("unknown transform `{id}`; known: {}", known_ids());
            };
            print(&format!("{}\nReference: {}\n", rule.documentation(), rule.reference()))?;
            Ok(0)
        }
    }
}

fn print(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes()).context("cannot write to stdout")?;
    stdout.flush().context("cannot write to stdout")
}

#[derive(Serialize)]
struct ParsedInstruction<'a> {
    keyword: &'a str,
    start_line: usize,
    end_line: usize,
    stage: Option<usize>,
    opaque: bool,
}

fn parse(path: &Path) -> Result<u8> {
    let text = files::read_text(path)?;
    let source = Source::new(&text);
    let file = Dockerfile::parse(source.text());
    let instructions: Vec<ParsedInstruction> = file
        .instructions
        .iter()
        .map(|i| ParsedInstruction {
            keyword: &i.keyword,
            start_line: i.start_line,
            end_line: i.end_line,
            stage: i.stage,
            opaque: i.opaque,
        })
        .collect();
    print(&(serde_json::to_string_pretty(&instructions)? + "\n"))?;
    Ok(0)
}

/// What the command line says about settings that `dockfix.toml` can also set.
fn command_line(args: &FixArgs) -> CommandLine {
    CommandLine {
        select: args.select.clone(),
        ignore: args.ignore.clone(),
        safe_only: args.safe_only,
        user_name: args.user_name.clone(),
        user_id: args.user_id,
        secrets_mode: args.secrets.map(|mode| match mode {
            SecretsArg::Mount => SecretMode::Mount,
            SecretsArg::File => SecretMode::File,
            SecretsArg::Arg => SecretMode::Arg,
        }),
    }
}

fn config_source(args: &FixArgs) -> Result<ConfigSource> {
    if args.no_config {
        return Ok(ConfigSource::None);
    }
    match &args.config {
        Some(path) if !path.is_file() => bail!("--config {}: no such file", path.display()),
        Some(path) => Ok(ConfigSource::File(path.clone())),
        None => Ok(ConfigSource::Nearest),
    }
}

/// The directory whose `dockfix.toml` applies to a Dockerfile: its own.
fn config_dir(path: &Path) -> PathBuf {
    path.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn fix(args: &FixArgs) -> Result<u8> {
    if let Some(dir) = &args.context {
        if !dir.is_dir() {
            bail!("--context {}: not a directory", dir.display());
        }
    }
    let mut settings = SettingsResolver::new(config_source(args)?, command_line(args));
    // Bad flags are errors even when no file is found.
    settings::combine(&Config::default(), &command_line(args), "command line")?;
    if args.paths.len() == 1 && args.paths[0] == Path::new("-") {
        let settings = settings.for_dir(Path::new("."))?;
        return fix_stdin(args, &settings);
    }
    if args.paths.iter().any(|path| path == Path::new("-")) {
        bail!("`-` (stdin) cannot be combined with other paths");
    }
    let paths = if args.paths.is_empty() { vec![PathBuf::from(".")] } else { args.paths.clone() };
    // One file reached through several arguments is fixed (and written) once.
    let mut seen = HashSet::new();
    let mut jobs: Vec<Result<PathBuf, FileResult>> = Vec::new();
    for path in &paths {
        match discover::dockerfiles(std::slice::from_ref(path)) {
            Ok(found) => jobs.extend(
                found
                    .into_iter()
                    .filter(|file| seen.insert(std::fs::canonicalize(file).unwrap_or_else(|_| file.clone())))
                    .map(Ok),
            ),
            Err(error) => jobs.push(Err(error_result(path, format!("{error:#}")))),
        }
    }
    // A broken config stops the run before any file is touched: a typo must not silently
    // turn a setting off.
    let mut configured: Vec<Result<(PathBuf, Arc<Settings>), FileResult>> = Vec::with_capacity(jobs.len());
    for job in jobs {
        configured.push(match job {
            Ok(file) => {
                let found = settings.for_dir(&config_dir(&file))?;
                Ok((file, found))
            }
            Err(result) => Err(result),
        });
    }
    let (jobs, pinned) = with_pin_lookups(args, configured);
    let mut results = in_parallel(jobs, |job| match job {
        Ok((file, settings)) => fix_file(&file, args, &settings),
        Err(result) => result,
    });
    if args.write {
        for result in results.iter_mut().filter(|result| result.changed()) {
            let output = result.output.as_deref().unwrap_or_default();
            if let Err(error) = files::write_atomic(Path::new(&result.path), output) {
                result.fail(format!("{error:#}"));
            }
        }
    }
    match args.format {
        Format::Diff if !args.write => {
            let diffs: String = results
                .iter()
                .filter(|result| result.changed())
                .map(|result| {
                    report::unified_diff(
                        &result.path,
                        &result.input,
                        result.output.as_deref().unwrap_or_default(),
                    )
                })
                .collect();
            print(&diffs)?;
        }
        Format::Diff => {}
        Format::Json => print(&report::json(&results))?,
        Format::Markdown => print(&markdown::pull_request(&results))?,
        Format::Sarif => print(&sarif::log(&results, rules::all()))?,
        Format::Github => print(&github::annotations(&results))?,
    }
    eprint!("{}", report::summary(&results, args.write));
    eprint!("{}", pinned.failure_report());
    Ok(exit_code(&results, args.check).max(pin_exit_code(args, &pinned)))
}

type Job = Result<(PathBuf, Arc<Settings>), FileResult>;

/// Looks up, before the run, the images pin-images needs (each once, concurrently), and gives
/// the jobs whose settings select pin-images the answers. Files are read for this only when
/// some file selects pin-images.
fn with_pin_lookups(args: &FixArgs, jobs: Vec<Job>) -> (Vec<Job>, Prefetched) {
    let pins = |settings: &Settings| settings.rules.iter().any(|rule| rule.id() == pin_images::ID);
    let texts = jobs
        .iter()
        .filter_map(|job| job.as_ref().ok())
        .filter(|(_, settings)| pins(settings))
        .filter_map(|(path, _)| files::read_text(path).ok());
    let pinned = pinning::prefetch(&args.pin_settings(), texts);
    (with_pin(jobs, &pinned), pinned)
}

/// Each job's settings with the pin options of `pinned` (settings shared by files stay shared).
fn with_pin(jobs: Vec<Job>, pinned: &Prefetched) -> Vec<Job> {
    let mut updated: Vec<(Arc<Settings>, Arc<Settings>)> = Vec::new();
    let mut out = Vec::with_capacity(jobs.len());
    for job in jobs {
        let (path, settings) = match job {
            Ok(found) => found,
            Err(result) => {
                out.push(Err(result));
                continue;
            }
        };
        let known = updated.iter().find(|(old, _)| Arc::ptr_eq(old, &settings)).map(|(_, new)| new.clone());
        let new = known.unwrap_or_else(|| {
            let mut options = settings.options.clone();
            options.pin = pinned.pin.clone();
            let new = Arc::new(Settings {
                rules: settings.rules.clone(),
                options,
                config: settings.config.clone(),
            });
            updated.push((settings, new.clone()));
            new
        });
        out.push(Ok((path, new)));
    }
    out
}

/// Exit 2 when lookups failed and pinning was asked for by name (`--pin`, or pin-images in
/// `--select`); otherwise failed lookups are findings like any other.
fn pin_exit_code(args: &FixArgs, pinned: &Prefetched) -> u8 {
    let selected_by_name =
        args.select.iter().any(|id| rules::by_id(id.trim()).is_some_and(|rule| rule.id() == pin_images::ID));
    let explicit = args.pin.is_some() || selected_by_name;
    if explicit && !pinned.failures.is_empty() {
        EXIT_ERROR
    } else {
        0
    }
}

/// Maps `items` on all cores; the results keep the order of the items, so output does not
/// depend on scheduling.
fn in_parallel<T: Send, R: Send>(items: Vec<T>, work: impl Fn(T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len().max(1));
    if threads <= 1 {
        return items.into_iter().map(work).collect();
    }
    let mut buckets: Vec<Vec<(usize, T)>> = (0..threads).map(|_| Vec::new()).collect();
    for (index, item) in items.into_iter().enumerate() {
        buckets[index % threads].push((index, item));
    }
    let work = &work;
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = buckets
            .into_iter()
            .map(|bucket| {
                scope.spawn(move || bucket.into_iter().map(|(i, item)| (i, work(item))).collect::<Vec<_>>())
            })
            .collect();
        // A panic in a worker is a bug; re-raise it rather than lose files silently.
        handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    done.sort_by_key(|(index, _)| *index);
    done.into_iter().map(|(_, result)| result).collect()
}

fn exit_code(results: &[FileResult], check: bool) -> u8 {
    if results.iter().any(|result| result.error.is_some()) {
        EXIT_ERROR
    } else if check && results.iter().any(FileResult::changed) {
        EXIT_PENDING
    } else {
        0
    }
}

fn error_result(path: &Path, error: String) -> FileResult {
    FileResult { path: path.display().to_string(), error: Some(error), ..FileResult::default() }
}

fn fix_file(path: &Path, args: &FixArgs, settings: &Settings) -> FileResult {
    let display = path.display().to_string();
    let text = match files::read_text(path) {
        Ok(text) => text,
        Err(error) => return error_result(path, format!("{error:#}")),
    };
    let context_dir = match &args.context {
        Some(dir) => dir.clone(),
        None => path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
    };
    fix_text(display, text, settings, &DirContext::new(context_dir), args.warn_unused_suppressions)
}

fn fix_text(
    path: String,
    text: String,
    settings: &Settings,
    build_context: &dyn BuildContext,
    warn_unused_suppressions: bool,
) -> FileResult {
    if Dockerfile::parse(Source::new(&text).text()).instructions.is_empty() {
        let error = Some(format!("{path}: no instructions (empty, or only comments); not a Dockerfile"));
        return FileResult { path, input: text, error, ..FileResult::default() };
    }
    match engine::run(&text, &settings.rules, build_context, &settings.options) {
        Ok(outcome) => FileResult {
            path,
            input: text,
            output: Some(outcome.output),
            reports: outcome.reports,
            error: None,
            suppression_notes: outcome
                .suppression_notes
                .into_iter()
                .filter(|note| warn_unused_suppressions || note.kind != SuppressionNoteKind::Unused)
                .collect(),
        },
        Err(error) => {
            let error = Some(format!("{path}: {error}; file left untouched"));
            FileResult { path, input: text, error, ..FileResult::default() }
        }
    }
}

fn fix_stdin(args: &FixArgs, settings: &Settings) -> Result<u8> {
    if args.write {
        bail!("--write needs a file; with `-` the fixed Dockerfile goes to stdout");
    }
    let mut bytes = Vec::new();
    std::io::stdin().read_to_end(&mut bytes).context("cannot read stdin")?;
    let selects_pins = settings.rules.iter().any(|rule| rule.id() == pin_images::ID);
    let pinned = match files::text_from_bytes(&bytes) {
        Ok(text) if selects_pins => pinning::prefetch(&args.pin_settings(), std::iter::once(text)),
        _ => Prefetched::unused(),
    };
    let mut options = settings.options.clone();
    options.pin = pinned.pin.clone();
    let settings = &Settings { rules: settings.rules.clone(), options, config: settings.config.clone() };
    let result = match files::text_from_bytes(&bytes) {
        Ok(text) => match &args.context {
            Some(dir) => {
                let context = DirContext::new(dir.clone());
                fix_text(STDIN.to_string(), text, settings, &context, args.warn_unused_suppressions)
            }
            None => {
                fix_text(STDIN.to_string(), text, settings, &NoBuildContext, args.warn_unused_suppressions)
            }
        },
        Err(reason) => error_result(Path::new(STDIN), format!("{STDIN}{reason}")),
    };
    let results = [result];
    match args.format {
        Format::Json => print(&report::json(&results))?,
        Format::Markdown => print(&markdown::pull_request(&results))?,
        Format::Sarif => print(&sarif::log(&results, rules::all()))?,
        Format::Github => print(&github::annotations(&results))?,
        // On error nothing is printed: a pipe must not get a half-fixed or empty file.
        Format::Diff => {
            if let Some(output) = &results[0].output {
                print(output)?;
            }
        }
    }
    eprint!("{}", report::summary(&results, false));
    eprint!("{}", pinned.failure_report());
    Ok(exit_code(&results, args.check).max(pin_exit_code(args, &pinned)))
}
