//! Fixture harness: every `transforms/fixtures/<id>/*.Dockerfile` is fixed with transform
//! `<id>` alone, and its findings plus diff are compared with the reviewed snapshot in the
//! top-level `snapshots/`. Each fixture must also be idempotent, round-trip byte for byte
//! with no transform, and parse no worse after the fix.
//!
//! A fixture folder may hold `context/`, used as the build context (files ADD would copy),
//! and `registry.json`, what the registry answers to pin-images (no network). A fixture picks
//! the pin mode with a comment line `# fixture: --pin digest` (also `--update`, `--offline`,
//! `--pin none`). A fixture `NAME.Dockerfile` may have a `NAME.toml` beside it: a
//! `dockfix.toml` whose options (not its transform selection) apply to that fixture, its
//! `[pin-images] mode` and `update` too unless the `# fixture:` line names them. A
//! `NAME.facts.json` beside it holds facts about base images (`{"images": {"<reference as
//! written in FROM>": <ImageFacts>}}`), handed to the run as read from the registry.
//!
//! What only the CLI can check (that no output format prints a secret value) is the shell's
//! `tests/fixture_outputs.rs`.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dockfix_transforms::engine::{self, Outcome};
use dockfix_transforms::pin::{PinMode, PinOptions, TableResolver};
use dockfix_transforms::{rules, Dockerfile, NoBuildContext, Options, Rule, Source};
use support::{fixture_catalog, fixture_registry, sidecar_options, unified_diff, FixtureContext};

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
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

/// The options of a fixture: its sidecar config's (or the defaults), with the pin mode its
/// `# fixture:` line asks for, if any.
fn fixture_options(fixture: &Path, input: &str, registry: Option<&TableResolver>) -> Options {
    let (mut options, configured) = sidecar_options(fixture);
    if let Some(catalog) = fixture_catalog(fixture) {
        options.set(catalog);
    }
    let flags = input.lines().find_map(|line| line.trim_end().strip_prefix("# fixture:")).unwrap_or_default();
    let mut pin = PinOptions::default();
    if let Some(registry) = registry.filter(|_| !flags.contains("--offline")) {
        pin.resolver = Arc::new(registry.clone());
    }
    pin.update = flags.contains("--update") || configured.update.unwrap_or(false);
    pin.mode = match flags {
        _ if flags.contains("--pin digest") => PinMode::Digest,
        _ if flags.contains("--pin none") => PinMode::None,
        _ if flags.contains("--pin tag") => PinMode::Tag,
        _ => configured.mode.unwrap_or_default(),
    };
    options.with(pin)
}

fn run(rule: &'static dyn Rule, text: &str, context_dir: &Path, options: &Options) -> Outcome {
    let rules: [&dyn Rule; 1] = [rule];
    let outcome = if context_dir.is_dir() {
        engine::run(text, &rules, &FixtureContext::new(context_dir.to_path_buf()), options)
    } else {
        engine::run(text, &rules, &NoBuildContext, options)
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
        for follow_up in &report.follow_ups {
            out.push_str(&format!("    follow-up: {}\n", follow_up.describe()));
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
        let registry = fixture_registry(&dir);
        for path in files {
            let input = std::fs::read_to_string(&path).expect("fixture is UTF-8");
            let stem = path.file_stem().and_then(|s| s.to_str()).expect("fixture name");
            let name = format!("{}/{stem}.Dockerfile", rule.id());
            let options = fixture_options(&path, &input, registry.as_ref());
            let outcome = run(*rule, &input, &dir.join("context"), &options);

            let again = run(*rule, &outcome.output, &dir.join("context"), &options);
            assert_eq!(again.output, outcome.output, "{name}: not idempotent");
            let untouched = engine::run(&input, &[], &NoBuildContext, &Options::default()).expect("no rules");
            assert_eq!(untouched.output, input, "{name}: no-op run changed bytes");
            let before = Dockerfile::parse(Source::new(&input).text()).damage;
            let after = Dockerfile::parse(Source::new(&outcome.output).text()).damage;
            assert!(after <= before, "{name}: parses worse after the fix ({before} -> {after})");

            insta::with_settings!({
                snapshot_path => "../../snapshots",
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
