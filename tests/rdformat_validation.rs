//! `--format rdjson` and `--format rdjsonl` checked by a real validator of the Reviewdog
//! Diagnostic Format: npm `@umbrelladocs/rdformat-validator` in strict mode, no field beyond
//! the specification allowed. `rdjson` is validated as the `DiagnosticResult` it is;
//! `rdjsonl`, one `Diagnostic` a line, as the array of its lines and line by line for a
//! sample. Deliberately broken documents must fail it, or the check proves nothing.
//!
//! The validator comes from `scripts/review-tools` (`eval "$(scripts/review-tools)"`), which
//! sets `RDFORMAT_VALIDATOR`. Missing: a failure under `CI=true`, a loud skip otherwise.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// Writes to the stderr handle itself: the harness captures `eprintln!` of passing tests.
fn loud(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

fn validator() -> Option<PathBuf> {
    let found = std::env::var_os("RDFORMAT_VALIDATOR").map(PathBuf::from).filter(|path| path.is_file());
    if found.is_none() {
        let message = "RDFORMAT_VALIDATOR is not set to a file \
                       (run `eval \"$(scripts/review-tools)\"` first; .ci/run does)";
        if std::env::var("CI").is_ok_and(|ci| ci == "true") {
            panic!("CI=true and {message}: RDFormat validation must not skip in CI");
        }
        loud(&format!("\n*** SKIPPED RDFormat validation: {message} ***\n"));
    }
    found
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn dockfix(format: &str, path: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_dockfix"))
        .args(["fix", "--offline", "--format", format, path])
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .output()
        .expect("run dockfix");
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// What the validator says about `document`: one line per problem; empty when it is valid.
fn problems(validator: &Path, document: &str, dir: &Path, name: &str) -> Vec<String> {
    let file = dir.join(format!("{name}.json"));
    std::fs::write(&file, document).expect("write document");
    let out = Command::new(validator)
        .args(["--strict", "--no-extra-fields", "--format", "json"])
        .arg(&file)
        .stdin(Stdio::null())
        .output()
        .expect("run the validator");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|error| {
        panic!(
            "the validator failed to run ({error}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(report["filesProcessed"], 1, "{report}");
    assert_eq!(out.status.success(), report["success"] == true, "exit status and verdict disagree: {report}");
    report["fileResults"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|result| result["errorDetails"].as_array().cloned().unwrap_or_default())
        .map(|error| format!("{}: {}", error["path"].as_str().unwrap_or("?"), error["message"]))
        .chain(
            (report["success"] != true && report["totalErrors"] == 0).then(|| format!("invalid: {report}")),
        )
        .collect()
}

#[test]
fn rdjson_and_rdjsonl_are_valid() {
    let Some(validator) = validator() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, path) in [("formats", "tests/format_fixtures"), ("transforms", "transforms/fixtures")] {
        let document = dockfix("rdjson", path);
        let parsed: Value = serde_json::from_str(&document).expect("rdjson is JSON");
        let count = parsed["diagnostics"].as_array().map_or(0, Vec::len);
        assert!(count > 10, "{path}: only {count} diagnostics");
        let found = problems(&validator, &document, dir.path(), &format!("{name}-rdjson"));
        assert!(found.is_empty(), "{path}: rdjson is not valid:\n{}", found.join("\n"));

        let lines = dockfix("rdjsonl", path);
        let diagnostics: Vec<Value> =
            lines.lines().map(|line| serde_json::from_str(line).expect("a line is JSON")).collect();
        assert_eq!(diagnostics.len(), count, "{path}: rdjsonl and rdjson disagree");
        let array = Value::from(diagnostics).to_string();
        let found = problems(&validator, &array, dir.path(), &format!("{name}-rdjsonl"));
        assert!(found.is_empty(), "{path}: rdjsonl is not valid:\n{}", found.join("\n"));
        // Each line stands alone: the first with a suggestion, and the first error.
        let sample = lines.lines().filter(|line| line.contains("\"suggestions\"")).take(1);
        for (index, line) in
            sample.chain(lines.lines().filter(|line| line.contains("\"ERROR\"")).take(1)).enumerate()
        {
            let found = problems(&validator, line, dir.path(), &format!("{name}-line-{index}"));
            assert!(found.is_empty(), "{path}: the line {line} is not valid:\n{}", found.join("\n"));
        }
        loud(&format!("rdformat validation: {path}: {count} diagnostics, valid"));
    }
}

/// The control: a line 0, an unknown severity, a suggestion without a range and a field the
/// format does not have must each be rejected.
#[test]
fn validator_rejects_broken_documents() {
    let Some(validator) = validator() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let valid: Value = serde_json::from_str(&dockfix("rdjson", "tests/format_fixtures")).expect("JSON");
    let with_suggestion = valid["diagnostics"]
        .as_array()
        .and_then(|all| all.iter().position(|d| d["suggestions"].is_array()))
        .expect("a diagnostic with a suggestion");
    let mut broken = valid;
    let diagnostic = &mut broken["diagnostics"][with_suggestion];
    diagnostic["location"]["range"]["start"]["line"] = Value::from(0);
    diagnostic["severity"] = Value::from("MAJOR");
    diagnostic["suggestions"][0].as_object_mut().expect("suggestion").remove("range");
    broken["fixable"] = Value::from(true);
    let found = problems(&validator, &broken.to_string(), dir.path(), "broken");
    let at = format!("diagnostics[{with_suggestion}]");
    for needle in [
        format!("{at}.location.range.start.line"),
        format!("{at}.severity"),
        format!("{at}.suggestions[0]"),
        "fixable".to_string(),
    ] {
        assert!(found.iter().any(|p| p.starts_with(&needle)), "no `{needle}` in:\n{}", found.join("\n"));
    }
}
