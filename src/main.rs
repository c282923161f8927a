//! dockfix: the command-line shell around `dockfix-transforms`. Arguments, files, the build
//! context, atomic writes and output live here; the transforms do no I/O.

mod args;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use clap::Parser;
use dockfix_transforms::{engine, rules, BuildContext, Dockerfile, NoBuildContext, Rule, Source};
use serde::Serialize;

use dockfix::build_context::DirContext;
use dockfix::report::{self, FileResult};
use dockfix::{discover, files, github, sarif};

use crate::args::{Cli, Command, FixArgs, Format};

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

fn known_ids() -> String {
    rules::all().iter().map(|rule| rule.id()).collect::<Vec<_>>().join(", ")
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

/// The transforms `--select` and `--ignore` leave, in engine order.
fn selected_rules(args: &FixArgs) -> Result<Vec<&'static dyn Rule>> {
    let resolve = |ids: &[String]| -> Result<Vec<&'static str>> {
        ids.iter()
            .filter(|id| !id.trim().is_empty())
            .map(|id| match rules::by_id(id.trim()) {
                Some(rule) => Ok(rule.id()),
                None => bail!("unknown transform `{id}`; known: {}", known_ids()),
            })
            .collect()
    };
    let select = resolve(&args.select)?;
    let ignore = resolve(&args.ignore)?;
    Ok(rules::all()
        .iter()
        .copied()
        .filter(|rule| select.is_empty() || select.contains(&rule.id()))
        .filter(|rule| !ignore.contains(&rule.id()))
        .collect())
}

fn fix(args: &FixArgs) -> Result<u8> {
    let rules = selected_rules(args)?;
    if let Some(dir) = &args.context {
        if !dir.is_dir() {
            bail!("--context {}: not a directory", dir.display());
        }
    }
    let options = engine::Options {
        safe_only: args.safe_only,
        new_user: engine::NewUser { name: args.user_name.clone(), id: args.user_id },
    };
    if args.paths.len() == 1 && args.paths[0] == Path::new("-") {
        return fix_stdin(args, &rules, &options);
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
    let mut results = in_parallel(jobs, |job| match job {
        Ok(file) => fix_file(&file, args, &rules, &options),
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
        Format::Sarif => print(&sarif::log(&results, &rules))?,
        Format::Github => print(&github::annotations(&results))?,
    }
    eprint!("{}", report::summary(&results, args.write));
    Ok(exit_code(&results, args.check))
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
    FileResult {
        path: path.display().to_string(),
        input: String::new(),
        output: None,
        reports: Vec::new(),
        error: Some(error),
    }
}

fn fix_file(path: &Path, args: &FixArgs, rules: &[&dyn Rule], options: &engine::Options) -> FileResult {
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
    fix_text(display, text, rules, &DirContext::new(context_dir), options)
}

fn fix_text(
    path: String,
    text: String,
    rules: &[&dyn Rule],
    build_context: &dyn BuildContext,
    options: &engine::Options,
) -> FileResult {
    if Dockerfile::parse(Source::new(&text).text()).instructions.is_empty() {
        let error = Some(format!("{path}: no instructions (empty, or only comments); not a Dockerfile"));
        return FileResult { path, input: text, output: None, reports: Vec::new(), error };
    }
    match engine::run(&text, rules, build_context, options) {
        Ok(outcome) => FileResult {
            path,
            input: text,
            output: Some(outcome.output),
            reports: outcome.reports,
            error: None,
        },
        Err(error) => {
            let error = Some(format!("{path}: {error}; file left untouched"));
            FileResult { path, input: text, output: None, reports: Vec::new(), error }
        }
    }
}

fn fix_stdin(args: &FixArgs, rules: &[&dyn Rule], options: &engine::Options) -> Result<u8> {
    if args.write {
        bail!("--write needs a file; with `-` the fixed Dockerfile goes to stdout");
    }
    let mut bytes = Vec::new();
    std::io::stdin().read_to_end(&mut bytes).context("cannot read stdin")?;
    let result = match files::text_from_bytes(&bytes) {
        Ok(text) => match &args.context {
            Some(dir) => fix_text(STDIN.to_string(), text, rules, &DirContext::new(dir.clone()), options),
            None => fix_text(STDIN.to_string(), text, rules, &NoBuildContext, options),
        },
        Err(reason) => error_result(Path::new(STDIN), format!("{STDIN}{reason}")),
    };
    let results = [result];
    match args.format {
        Format::Json => print(&report::json(&results))?,
        Format::Sarif => print(&sarif::log(&results, rules))?,
        Format::Github => print(&github::annotations(&results))?,
        // On error nothing is printed: a pipe must not get a half-fixed or empty file.
        Format::Diff => {
            if let Some(output) = &results[0].output {
                print(output)?;
            }
        }
    }
    eprint!("{}", report::summary(&results, false));
    Ok(exit_code(&results, args.check))
}
