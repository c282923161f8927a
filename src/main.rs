//! dockfix: the command-line shell around `dockfix-transforms`. Arguments, files, the build
//! context, atomic writes and output live here; the transforms do no I/O.

mod args;
mod facts_command;

use std::io::{BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context as _, Result};
use clap::Parser;
use dockfix_transforms::engine::{self, SuppressionNoteKind};
use dockfix_transforms::pin::PinMode;
use dockfix_transforms::rules::env_secrets::SecretOptions;
use dockfix_transforms::rules::pin_images;
use dockfix_transforms::verdict::{self, Generated, Verdict};
use dockfix_transforms::{rules, BuildContext, Dockerfile, NoBuildContext, Source};
use serde::Serialize;

use dockfix::build_context::DirContext;
use dockfix::config::Config;
use dockfix::file_result::FileResult;
use dockfix::image_facts::prefetch::FactsPrefetched;
use dockfix::image_lookups::{self, Prefetched};
use dockfix::output::summary::Summary;
use dockfix::output::{Emitter, Fixed};
use dockfix::progress::{Counts as ProgressCounts, Progress};
use dockfix::redact::Redactor;
use dockfix::settings::{self, known_ids, CommandLine, ConfigSource, Resolver as SettingsResolver, Settings};
use dockfix::style::Style;
use dockfix::verify::builder::Builder;
use dockfix::verify::progress::StageLine;
use dockfix::verify::smoke::{parse_command, SmokeCommand};
use dockfix::verify::{self as verification, VerifyOptions};
use dockfix::{discover, files, generator, pipeline};

use crate::args::{Cli, Command, FixArgs};

/// mimalloc for Rust's allocations; tree-sitter's are handed to it in `main`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes: 0 done, 1 changes pending with `--check`, 2 error.
const EXIT_PENDING: u8 = 1;
const EXIT_ERROR: u8 = 2;

/// How standard input is named in messages and output.
const STDIN: &str = "<stdin>";

fn main() -> ExitCode {
    use_mimalloc_in_tree_sitter();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// tree-sitter allocates from C with `malloc` unless told otherwise; mimalloc is faster on its
/// many small parse-tree nodes.
fn use_mimalloc_in_tree_sitter() {
    use libmimalloc_sys::{mi_calloc, mi_free, mi_malloc, mi_realloc};
    // SAFETY: runs first in `main`, before any parser exists, so nothing tree-sitter allocated
    // with the old functions is ever freed with the new ones; all four come from one allocator.
    unsafe { tree_sitter::set_allocator(Some(mi_malloc), Some(mi_calloc), Some(mi_realloc), Some(mi_free)) }
}

fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Fix(args) => fix(&args),
        Command::Facts(args) => facts_command::run(&args),
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
        Command::Explain { id } if id == verdict::ID => {
            print(&verdict::documentation())?;
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
        fix_generated: args.fix_generated,
        user_name: args.user_name.clone(),
        user_id: args.user_id,
        group_id: args.group_id,
        secrets_mode: args.secrets,
        pin: args.pin,
        update: args.update,
        offline: args.offline,
        insecure_registries: args.registry.insecure_registries.clone(),
        registry_mirrors: args.registry.registry_mirrors.clone(),
        registry_timeout: args.registry.registry_timeout,
        platform: args.platform.clone(),
        facts_file: args.facts_file.clone(),
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
    let verify = verify_options(args)?;
    if args.paths.len() == 1 && args.paths[0] == Path::new("-") {
        if args.verify {
            bail!("--verify needs files: it builds each in its directory");
        }
        let settings = settings.for_dir(Path::new("."))?;
        return fix_stdin(args, &settings);
    }
    if args.paths.iter().any(|path| path == Path::new("-")) {
        bail!("`-` (stdin) cannot be combined with other paths");
    }
    let paths = if args.paths.is_empty() { vec![PathBuf::from(".")] } else { args.paths.clone() };
    let pinned = prefetch_pins(args, &paths, &mut settings);
    let mut walk = discover::RecordedWalk::new(paths, FILES_WALKED_ONCE);
    let facts = facts_command::prefetch_for_fix(args, &mut walk, &mut settings, config_dir, &pinned)?;
    let mut pinned_settings = PinnedSettings::new(&pinned, &facts);
    let jobs = walk.second_pass().map(|found| {
        let file = match found {
            Ok(file) => file,
            Err((path, error)) => return Job::Failed(error_result(&path, format!("{error:#}"))),
        };
        // A broken dockfix.toml is that file's error: a typo must not silently turn a
        // setting off, and the files it does not govern are still fixed.
        match settings.for_dir(&config_dir(&file)) {
            Ok(found) => Job::Fix(file, pinned_settings.of(found)),
            Err(error) => {
                let message = format!("{}: not fixed: {error}", file.display());
                Job::Failed(error_result(&file, message))
            }
        }
    });
    let mut output = FixOutput::new(args);
    // Builds are verified one file at a time: each already uses every core.
    let window = if verify.is_some() { 1 } else { FILES_IN_FLIGHT };
    let stage_line =
        StageLine::new((verify.is_some() && Progress::terminal_can_draw()).then(std::io::stderr));
    let verifying = verify.as_ref().map(|options| (options, &stage_line));
    pipeline::map_ordered(
        jobs,
        window,
        |job| match job {
            Job::Fix(file, settings) => fix_and_write(&file, args, &settings, verifying),
            Job::Failed(result) => result,
        },
        |result| output.file(result),
    )?;
    let code = output.finish(args.check)?;
    eprint!("{}", pinned.failure_report());
    Ok(code.max(pin_exit_code(&pinned)))
}

/// A file to fix with its settings, or the result of one that cannot be fixed.
enum Job {
    Fix(PathBuf, Arc<Settings>),
    Failed(FileResult),
}

/// Looks up, before any file is fixed, the images pin-images needs (each once per registry
/// configuration, concurrently). Only then are files read twice: when some file selects
/// pin-images with a mode other than `none` and the run is not offline.
fn prefetch_pins(args: &FixArgs, paths: &[PathBuf], settings: &mut SettingsResolver) -> Prefetched {
    if args.offline || args.pin == Some(PinMode::None) {
        return Prefetched::unused();
    }
    let files =
        discover::Dockerfiles::new(paths.to_vec()).filter_map(std::result::Result::ok).filter_map(|file| {
            // Files that cannot be read or configured are reported when they are fixed.
            let found = settings.for_dir(&config_dir(&file)).ok()?;
            if !selects_pins(&found) || found.pin.mode == PinMode::None {
                return None;
            }
            let text = files::read_text_limited(&file, args.max_file_size).ok()?;
            Some((found.pin.clone(), text))
        });
    image_lookups::prefetch(files)
}

fn selects_pins(settings: &Settings) -> bool {
    settings.rules.iter().any(|rule| rule.id() == pin_images::ID)
}

/// Each distinct settings with the pin options of its lookups and the catalog of its image
/// facts; settings shared by files stay shared.
struct PinnedSettings<'a> {
    pinned: &'a Prefetched,
    facts: &'a FactsPrefetched,
    updated: Vec<(Arc<Settings>, Arc<Settings>)>,
}

impl<'a> PinnedSettings<'a> {
    fn new(pinned: &'a Prefetched, facts: &'a FactsPrefetched) -> PinnedSettings<'a> {
        PinnedSettings { pinned, facts, updated: Vec::new() }
    }

    fn of(&mut self, settings: Arc<Settings>) -> Arc<Settings> {
        if let Some((_, new)) = self.updated.iter().find(|(old, _)| Arc::ptr_eq(old, &settings)) {
            return new.clone();
        }
        let new = Arc::new(with_lookups(&settings, self.pinned, self.facts));
        self.updated.push((settings, new.clone()));
        new
    }
}

/// The settings with what the run looked up before fixing: pin-images' registry answers and
/// the catalog of base-image facts.
fn with_lookups(settings: &Settings, pinned: &Prefetched, facts: &FactsPrefetched) -> Settings {
    let mut options = settings.options.clone();
    options.set(pinned.pin_options(&settings.pin));
    options.set(facts.catalog(&settings.facts));
    Settings {
        rules: settings.rules.clone(),
        options,
        pin: settings.pin.clone(),
        facts: settings.facts.clone(),
        config: settings.config.clone(),
    }
}

/// Exit 2 when a lookup failed that a file asked for by name (`--pin` or a config's `mode`,
/// pin-images in `--select` or a config's `select`); otherwise failed lookups are findings
/// like any other.
fn pin_exit_code(pinned: &Prefetched) -> u8 {
    if pinned.failed_explicitly() {
        EXIT_ERROR
    } else {
        0
    }
}

/// Up to this many files found, the facts step's walk is kept for the fixes rather than
/// walked again (some 150 bytes a file kept: 1.5 MB at most).
const FILES_WALKED_ONCE: usize = 10_000;

/// Files taken ahead of the one printed next: enough to keep every core busy behind a slow
/// file, few enough that memory does not depend on how many files there are.
const FILES_IN_FLIGHT: usize = 256;

/// Where `fix` results go, one file at a time in input order: the format's output to stdout
/// (as each file is done, or as one document at the end), the summary lines to stderr.
struct FixOutput {
    emitter: Box<dyn Emitter>,
    write: bool,
    stdout: BufWriter<std::io::Stdout>,
    stderr: BufWriter<std::io::Stderr>,
    summary: Summary,
    progress: Progress,
    /// stdout and stderr are both terminals: flush per file so their lines do not tangle.
    same_screen: bool,
}

impl FixOutput {
    fn new(args: &FixArgs) -> FixOutput {
        let emitter = args.format.emitter(if args.write { Fixed::Written } else { Fixed::Previewed });
        let streams_to_terminal = emitter.streams() && std::io::stdout().is_terminal();
        FixOutput {
            emitter,
            write: args.write,
            stdout: BufWriter::new(std::io::stdout()),
            stderr: BufWriter::new(std::io::stderr()),
            summary: Summary::new(args.write, Style::for_stderr(args.color.choice())),
            // A progress line on the screen that file after file goes to would tangle with it.
            progress: Progress::new(Progress::terminal_can_draw() && !streams_to_terminal),
            same_screen: std::io::stdout().is_terminal() && std::io::stderr().is_terminal(),
        }
    }

    fn file(&mut self, result: FileResult) -> Result<()> {
        let lines = self.summary.file(&result);
        self.emitter.file(result, &mut self.stdout).context("cannot write to stdout")?;
        if !lines.is_empty() && self.emitter.prints_summary() {
            self.progress.clear(&mut self.stderr);
            // On one screen, each file's diff comes with its summary lines, not 8 KiB apart.
            if self.same_screen {
                self.stdout.flush().context("cannot write to stdout")?;
            }
            // A closed stderr must not stop the fixes; the exit code still tells.
            let _ = self.stderr.write_all(lines.as_bytes());
            if self.same_screen {
                let _ = self.stderr.flush();
            }
        }
        let counts = ProgressCounts {
            files: self.summary.files(),
            changed: self.summary.changed(),
            errors: self.summary.errors(),
            written: self.write,
        };
        self.progress.update(&mut self.stderr, counts);
        Ok(())
    }

    fn finish(mut self, check: bool) -> Result<u8> {
        self.progress.clear(&mut self.stderr);
        let _ = self.stderr.flush();
        self.emitter.finish(&mut self.stdout).context("cannot write to stdout")?;
        self.stdout.flush().context("cannot write to stdout")?;
        if self.emitter.prints_summary() {
            let _ = self.stderr.write_all(self.summary.totals().as_bytes());
            let _ = self.stderr.flush();
        }
        Ok(exit_code(&self.summary, check))
    }
}

/// `--verify`'s options, with the builder found (or named), when `--verify` is given.
fn verify_options(args: &FixArgs) -> Result<Option<VerifyOptions>> {
    if !args.verify {
        return Ok(None);
    }
    let builder = match args.builder {
        Some(kind) => Builder::new(kind),
        None => Builder::detect()?,
    };
    // A builder named but not working would make every file `skipped`: say so once instead.
    if args.builder.is_some() && !builder.works() {
        bail!("--builder {}: it does not work here (docker needs buildx and a daemon; podman and buildah must run)", builder.kind);
    }
    Ok(Some(VerifyOptions {
        builder,
        context: args.context.clone(),
        build_args: args.build_args.clone(),
        secrets: args.build_secrets.clone(),
        smoke: args
            .verify_cmd
            .as_deref()
            .map_or(SmokeCommand::Start, |text| SmokeCommand::Given(parse_command(text))),
        timeout: std::time::Duration::from_secs(args.verify_timeout),
        retry: true,
    }))
}

/// The settings without the transforms `disabled`: what `--verify` retries with.
fn without(settings: &Settings, disabled: &[&str]) -> Settings {
    Settings {
        rules: settings.rules.iter().filter(|rule| !disabled.contains(&rule.id())).copied().collect(),
        options: settings.options.clone(),
        pin: settings.pin.clone(),
        facts: settings.facts.clone(),
        config: settings.config.clone(),
    }
}

/// Fixes one file, verifies it with `--verify`, and with `--write` writes it back unless it
/// changed since it was read, or its fixed version failed to verify (unless
/// `--keep-unverified`).
fn fix_and_write(
    path: &Path,
    args: &FixArgs,
    settings: &Settings,
    verify: Option<(&VerifyOptions, &StageLine<std::io::Stderr>)>,
) -> FileResult {
    let mut result = fix_file(path, args, settings);
    if let Some((options, stage_line)) = verify {
        let refix = |disabled: &[&str]| fix_file(path, args, &without(settings, disabled));
        let secrets = settings.options.get::<SecretOptions>();
        let shown = path.display().to_string();
        let notify = |stage: &str| stage_line.show(&shown, stage);
        result = verification::verify(result, path, options, &secrets, &refix, &notify);
        stage_line.clear();
    }
    if args.write && result.verification_failed() && !args.keep_unverified {
        if let Some(verification) = &mut result.verification {
            let reason = verification.reason.take().unwrap_or_default();
            verification.reason = Some(format!("{reason}; not written (--keep-unverified writes it)"));
        }
        return result;
    }
    if args.write && result.changed() {
        let output = result.output.as_deref().unwrap_or_default();
        if let Err(error) = files::replace_if_unchanged(path, &result.input, output) {
            result.fail(format!("{error:#}"));
        }
    }
    result
}

/// 2 when a file failed or failed to verify, 1 with `--check` when a file would change, else 0.
fn exit_code(summary: &Summary, check: bool) -> u8 {
    if summary.errors() > 0 || summary.verify_failed() > 0 {
        EXIT_ERROR
    } else if check && summary.changed() > 0 {
        EXIT_PENDING
    } else {
        0
    }
}

/// A file that could not be read: there is no text, so no secret value, to redact.
fn error_result(path: &Path, error: String) -> FileResult {
    FileResult::failed(path.display().to_string(), String::new(), error, &SecretOptions::default())
}

fn fix_file(path: &Path, args: &FixArgs, settings: &Settings) -> FileResult {
    let display = path.display().to_string();
    let text = match files::read_text_limited(path, args.max_file_size) {
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
    let build_context = DirContext::new(context_dir);
    fix_text(display, text, settings, &build_context, Some(&config_dir(path)), args.warn_unused_suppressions)
}

/// A generated file's finding names the source files found beside or above it (in
/// `dockerfile_dir`), not only what its header says.
fn name_generator_sources(reports: &mut [engine::Report], generated: &Generated, dockerfile_dir: &Path) {
    let found = generator::sources(dockerfile_dir, &generated.named);
    if found.is_empty() {
        return;
    }
    let finding =
        reports.iter_mut().find(|report| report.transform == verdict::ID && report.line == generated.line);
    if let Some(finding) = finding {
        finding.message = generated.message(&found);
    }
}

fn fix_text(
    path: String,
    text: String,
    settings: &Settings,
    build_context: &dyn BuildContext,
    dockerfile_dir: Option<&Path>,
    warn_unused_suppressions: bool,
) -> FileResult {
    let secrets = &settings.options.get::<SecretOptions>();
    if !Dockerfile::has_instructions(Source::new(&text).text()) {
        let error = format!("{path}: no instructions (empty, or only comments); not a Dockerfile");
        return FileResult::failed(path, text, error, secrets);
    }
    // One parse for the redactor and the engine: it is most of a file's cost.
    let parsed = Dockerfile::parse(Source::new(&text).text());
    let redactor = Redactor::for_parsed(&text, &parsed, secrets);
    match engine::run_parsed(&text, parsed, &settings.rules, build_context, &settings.options) {
        Ok(mut outcome) => {
            if let (Some(Verdict::Generated(generated)), Some(dir)) = (&outcome.verdict, dockerfile_dir) {
                name_generator_sources(&mut outcome.reports, generated, dir);
            }
            let notes = outcome
                .suppression_notes
                .into_iter()
                .filter(|note| warn_unused_suppressions || note.kind != SuppressionNoteKind::Unused)
                .collect();
            FileResult::fixed_redacted_by(redactor, path, text, outcome.output, outcome.reports, notes)
        }
        Err(error) => {
            let error = format!("{path}: {error}; file left untouched");
            FileResult::failed(path, text, error, secrets)
        }
    }
}

fn fix_stdin(args: &FixArgs, settings: &Settings) -> Result<u8> {
    if args.write {
        bail!("--write needs a file; with `-` the fixed Dockerfile goes to stdout");
    }
    let mut bytes = Vec::new();
    std::io::stdin().take(args.max_file_size + 1).read_to_end(&mut bytes).context("cannot read stdin")?;
    if bytes.len() as u64 > args.max_file_size {
        bail!("{STDIN}: larger than the {}-byte limit (--max-file-size); not fixed", args.max_file_size);
    }
    let text = files::text_from_bytes(&bytes);
    let pinned = match &text {
        Ok(text) if selects_pins(settings) => image_lookups::prefetch([(&settings.pin, text.as_str())]),
        _ => Prefetched::unused(),
    };
    let facts = match &text {
        Ok(text) => facts_command::prefetch_for_text(settings, text, &pinned)?,
        Err(_) => FactsPrefetched::unused(),
    };
    let settings = &with_lookups(settings, &pinned, &facts);
    let result = match text {
        Ok(text) => match &args.context {
            Some(dir) => {
                let context = DirContext::new(dir.clone());
                fix_text(STDIN.to_string(), text, settings, &context, None, args.warn_unused_suppressions)
            }
            None => fix_text(
                STDIN.to_string(),
                text,
                settings,
                &NoBuildContext,
                None,
                args.warn_unused_suppressions,
            ),
        },
        Err(reason) => error_result(Path::new(STDIN), format!("{STDIN}{reason}")),
    };
    let mut summary = Summary::new(false, Style::for_stderr(args.color.choice()));
    let summary_lines = summary.file(&result) + &summary.totals();
    let mut emitter = args.format.emitter(Fixed::Piped);
    let mut stdout = std::io::stdout().lock();
    emitter.file(result, &mut stdout).context("cannot write to stdout")?;
    emitter.finish(&mut stdout).context("cannot write to stdout")?;
    stdout.flush().context("cannot write to stdout")?;
    if emitter.prints_summary() {
        eprint!("{summary_lines}");
    }
    eprint!("{}", pinned.failure_report());
    Ok(exit_code(&summary, args.check).max(pin_exit_code(&pinned)))
}
