//! Fixture harness: every `transforms/fixtures/<id>/*.Dockerfile` is fixed with transform
//! `<id>` alone, and its findings plus diff are compared with the reviewed snapshot in
//! `snapshots/`. Each fixture must also be idempotent, round-trip byte for byte with no
//! transform, and parse no worse after the fix.
//!
//! A fixture folder may hold `context/`, used as the build context (files ADD would copy).

mod common;

use std::path::{Path, PathBuf};

use dockfix::build_context::DirContext;
use dockfix::report::unified_diff;
use dockfix_transforms::engine::{self, Options, Outcome};
use dockfix_transforms::{rules, Dockerfile, NoBuildContext, Rule, Source};

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("transforms/fixtures")
}

fn fixture_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.expect("readable fixture dir").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "Dockerfile"))
        .collect();
    files.sort();
    files
}

fn run(rule: &'static dyn Rule, text: &str, context_dir: &Path) -> Outcome {
    let rules: [&dyn Rule; 1] = [rule];
    let options = Options::default();
    let outcome = if context_dir.is_dir() {
        engine::run(text, &rules, &DirContext::new(context_dir.to_path_buf()), &options)
    } else {
        engine::run(text, &rules, &NoBuildContext, &options)
    };
    outcome.unwrap_or_else(|error| panic!("engine error: {error}"))
}

fn render(name: &str, input: &str, outcome: &Outcome) -> String {
    let mut out = String::from("findings:\n");
    if outcome.reports.is_empty() {
        out.push_str("  (none)\n");
    }
    for report in &outcome.reports {
        let status = match (&report.declined, report.fixed) {
            (_, true) => format!("fixed, {}", report.applicability.as_str()),
            (Some(reason), false) => format!("not fixed: {reason}"),
            (None, false) => "no fix".to_string(),
        };
        out.push_str(&format!("  {}:{} [{status}] {}\n", report.transform, report.line, report.message));
        if let Some(risk) = &report.risk {
            out.push_str(&format!("    risk: {risk}\n"));
        }
        if let Some(suggested) = &report.suggestion {
            out.push_str("    suggested change (not applied):\n");
            let diff = unified_diff(name, &outcome.output, suggested).replace('\r', "\\r");
            out.extend(diff.lines().map(|line| format!("    {line}\n")));
        }
    }
    out.push_str("diff:\n");
    if outcome.output == input {
        out.push_str("  (unchanged)\n");
    } else {
        // Show line endings: CRLF fixtures must keep them in inserted lines too.
        out.push_str(&unified_diff(name, input, &outcome.output).replace('\r', "\\r"));
    }
    out
}

#[test]
fn fixtures_match_snapshots() {
    let mut ran = 0;
    for rule in rules::all() {
        let dir = fixtures_root().join(rule.id());
        assert!(dir.is_dir(), "transform `{}` has no fixtures folder {}", rule.id(), dir.display());
        let files = fixture_files(&dir);
        assert!(!files.is_empty(), "no fixtures in {}", dir.display());
        for path in files {
            let input = std::fs::read_to_string(&path).expect("fixture is UTF-8");
            let stem = path.file_stem().and_then(|s| s.to_str()).expect("fixture name");
            let name = format!("{}/{stem}.Dockerfile", rule.id());
            let outcome = run(*rule, &input, &dir.join("context"));

            let again = run(*rule, &outcome.output, &dir.join("context"));
            assert_eq!(again.output, outcome.output, "{name}: not idempotent");
            let untouched = engine::run(&input, &[], &NoBuildContext, &Options::default()).expect("no rules");
            assert_eq!(untouched.output, input, "{name}: no-op run changed bytes");
            if rule.id() == "env-secrets" {
                let problems =
                    common::secret_problems(&input, &outcome.reports, &outcome.output, &again.reports);
                assert!(problems.is_empty(), "{name}: {}", problems.join("; "));
            }
            let before = Dockerfile::parse(Source::new(&input).text()).damage;
            let after = Dockerfile::parse(Source::new(&outcome.output).text()).damage;
            assert!(after <= before, "{name}: parses worse after the fix ({before} -> {after})");

            insta::with_settings!({
                snapshot_path => "../snapshots",
                prepend_module_to_snapshot => false,
                omit_expression => true,
                description => format!("transforms/fixtures/{name}"),
            }, {
                insta::assert_snapshot!(format!("{}__{stem}", rule.id()), render(&name, &input, &outcome));
            });
            ran += 1;
        }
    }
    assert!(ran > 0);
}
