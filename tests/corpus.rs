//! Runs every transform over the real Dockerfiles in `$DOCKFIX_CORPUS` (CI sets it to
//! `../shared/corpus/public`): no panic, idempotent output, and no file that parses worse
//! after the fix; no secret value printed (in findings, the JSON document, the pull-request
//! body or the summary) and no literal secret left unexplained. Without the
//! variable the test says loudly that it did not run.

mod common;

use std::io::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use dockfix_transforms::engine::{self, Options};
use dockfix_transforms::{rules, Dockerfile, NoBuildContext, Source};

/// Writes to the stderr handle itself: the test harness captures `eprintln!` of passing
/// tests, and a skip or the counts must be seen.
fn loud(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

#[test]
fn corpus_is_fixed_safely() {
    let Some(dir) = std::env::var_os("DOCKFIX_CORPUS").map(PathBuf::from) else {
        loud("\n*** SKIPPED corpus test: DOCKFIX_CORPUS is not set (CI sets it; see .ci/run) ***\n");
        return;
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("DOCKFIX_CORPUS={}: {error}", dir.display()))
        .map(|entry| entry.expect("readable corpus").path())
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "DOCKFIX_CORPUS={} holds no files", dir.display());

    let mut failures = Vec::new();
    let (mut changed, mut declined, mut skipped, mut secrets_checked) = (0, 0, 0, 0);
    for path in &paths {
        let Ok(text) = String::from_utf8(std::fs::read(path).expect("readable corpus file")) else {
            skipped += 1;
            continue;
        };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let fixed = catch_unwind(AssertUnwindSafe(|| {
            engine::run(&text, rules::all(), &NoBuildContext, &Options::default())
        }));
        let outcome = match fixed {
            Err(_) => {
                failures.push(format!("{name}: panicked"));
                continue;
            }
            Ok(Err(error)) => {
                declined += 1;
                eprintln!("{name}: declined: {error}");
                continue;
            }
            Ok(Ok(outcome)) => outcome,
        };
        changed += usize::from(outcome.output != text);
        let (problems, checked) = common::printed_secrets(&name, &text, rules::all(), &Options::default());
        secrets_checked += checked;
        failures.extend(problems.into_iter().map(|problem| format!("{name}: {problem}")));
        match engine::run(&outcome.output, rules::all(), &NoBuildContext, &Options::default()) {
            Ok(again) if again.output == outcome.output => {
                let problems = common::secret_problems(
                    &text,
                    &outcome.reports,
                    &outcome.output,
                    &again.reports,
                    &Default::default(),
                );
                failures.extend(problems.into_iter().map(|problem| format!("{name}: {problem}")));
            }
            Ok(_) => failures.push(format!("{name}: not idempotent")),
            Err(error) => failures.push(format!("{name}: second run failed: {error}")),
        }
        let before = Dockerfile::parse(Source::new(&text).text()).damage;
        let after = Dockerfile::parse(Source::new(&outcome.output).text()).damage;
        if after > before {
            failures.push(format!("{name}: parses worse ({before} -> {after})"));
        }
    }
    loud(&format!(
        "corpus: {} files, {changed} changed, {declined} declined, {skipped} not UTF-8, {secrets_checked} secret values checked unprinted, {} failures",
        paths.len(),
        failures.len()
    ));
    assert!(failures.is_empty(), "corpus failures:\n{}", failures.join("\n"));
}
