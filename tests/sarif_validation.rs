//! `--format sarif` checked by real validators: Microsoft's SARIF validator
//! (`Sarif.Multitool validate`, npm `@microsoft/sarif-multitool`: schema errors and its SARIF
//! rules) and the SARIF 2.1.0 JSON schema shipped in that package, through Python's
//! `jsonschema`. The validator checks the schema only when its model cannot read a file, so
//! both run. Deliberately broken logs must fail them, or the check proves nothing.
//!
//! The tools come from `scripts/review-tools` (`eval "$(scripts/review-tools)"`), which sets
//! `SARIF_MULTITOOL`, `SARIF_SCHEMA` and `REVIEW_PYTHON`. Missing: a failure under `CI=true`,
//! a loud skip otherwise.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// Validates with `jsonschema` against the schema; prints one line per error, exits 1 if any.
const SCHEMA_CHECK: &str = r#"
import json, sys
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1], encoding="utf-8-sig"))
Draft202012Validator.check_schema(schema)
log = json.load(open(sys.argv[2], encoding="utf-8"))
errors = sorted(Draft202012Validator(schema).iter_errors(log), key=lambda e: list(map(str, e.path)))
for error in errors:
    print("/".join(map(str, error.path)) + ": " + error.message)
sys.exit(1 if errors else 0)
"#;

struct Tools {
    multitool: PathBuf,
    schema: PathBuf,
    python: PathBuf,
}

/// Writes to the stderr handle itself: the harness captures `eprintln!` of passing tests.
fn loud(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

fn tools() -> Option<Tools> {
    let path = |name: &str| std::env::var_os(name).map(PathBuf::from).filter(|path| path.is_file());
    match (path("SARIF_MULTITOOL"), path("SARIF_SCHEMA"), path("REVIEW_PYTHON")) {
        (Some(multitool), Some(schema), Some(python)) => Some(Tools { multitool, schema, python }),
        _ => {
            let message = "SARIF_MULTITOOL, SARIF_SCHEMA or REVIEW_PYTHON is not set to a file \
                           (run `eval \"$(scripts/review-tools)\"` first; .ci/run does)";
            if std::env::var("CI").is_ok_and(|ci| ci == "true") {
                panic!("CI=true and {message}: SARIF validation must not skip in CI");
            }
            loud(&format!("\n*** SKIPPED SARIF validation: {message} ***\n"));
            None
        }
    }
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sarif_of(path: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_dockfix"))
        .args(["fix", "--format", "sarif", path])
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .output()
        .expect("run dockfix");
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// What the validators say about `log`: one line per problem; empty when it is valid.
fn problems(tools: &Tools, log: &str, dir: &Path, name: &str) -> Vec<String> {
    let file = dir.join(format!("{name}.sarif"));
    std::fs::write(&file, log).expect("write log");
    let mut found = Vec::new();

    let report = dir.join(format!("{name}.validation.sarif"));
    let out = Command::new(&tools.multitool)
        .arg("validate")
        .arg(&file)
        .arg("--output")
        .arg(&report)
        .args(["--log", "ForceOverwrite", "--level", "Error;Warning;Note"])
        .stdin(Stdio::null())
        .output()
        .expect("run Sarif.Multitool");
    assert!(
        out.status.success(),
        "Sarif.Multitool failed to run: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let validation: Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("validator report"))
            .expect("report is JSON");
    let results = validation["runs"][0]["results"].as_array().expect("validator results");
    // Its notes are advice this log declines on purpose: code snippets (they could show a
    // secret), message ids instead of text, rule ids like `CS2001`, URLs it cannot reach
    // offline. Their presence shows the rules ran: the validator says nothing at all about a
    // file its object model cannot read.
    if !results.iter().any(|result| result["level"] == "note") {
        found.push("Sarif.Multitool analysed nothing (no notes either): is the log readable?".to_string());
    }
    for result in results.iter().filter(|result| result["level"] != "note") {
        found.push(format!(
            "Sarif.Multitool {} {}: {}",
            result["level"].as_str().unwrap_or("warning"),
            result["ruleId"].as_str().unwrap_or("?"),
            result["message"]["arguments"].as_array().map(|a| format!("{a:?}")).unwrap_or_default()
        ));
    }

    let out = Command::new(&tools.python)
        .args(["-c", SCHEMA_CHECK])
        .arg(&tools.schema)
        .arg(&file)
        .stdin(Stdio::null())
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    match out.status.code() {
        Some(0) => {}
        Some(1) => found.extend(stdout.lines().map(|line| format!("JSON schema: {line}"))),
        _ => panic!("the schema check failed to run: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)),
    }
    found
}

#[test]
fn sarif_output_is_valid() {
    let Some(tools) = tools() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    // The shared format fixtures, and every transform's own fixtures (many more cases).
    for (name, path) in [("formats", "tests/format_fixtures"), ("transforms", "transforms/fixtures")] {
        let log = sarif_of(path);
        let parsed: Value = serde_json::from_str(&log).expect("SARIF is JSON");
        let results = parsed["runs"][0]["results"].as_array().map_or(0, Vec::len);
        assert!(results > 10, "{path}: only {results} results");
        let problems = problems(&tools, &log, dir.path(), name);
        assert!(problems.is_empty(), "{path}: the SARIF log is not valid:\n{}", problems.join("\n"));
        loud(&format!("sarif validation: {path}: {results} results, valid"));
    }
}

/// The controls: a log that breaks SARIF's rules but not the schema (an index out of range,
/// a region ending before it starts) and one that breaks the schema (a bad level, a result
/// without a message, an unknown property) must each be rejected.
#[test]
fn validators_reject_broken_logs() {
    let Some(tools) = tools() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let valid: Value = serde_json::from_str(&sarif_of("tests/format_fixtures")).expect("SARIF is JSON");

    let mut inconsistent = valid.clone();
    let result = &mut inconsistent["runs"][0]["results"][0];
    result["ruleIndex"] = Value::from(99);
    result["locations"][0]["physicalLocation"]["region"]["endLine"] = Value::from(1);
    let found = problems(&tools, &inconsistent.to_string(), dir.path(), "inconsistent");
    for needle in ["Sarif.Multitool error SARIF1009", "Sarif.Multitool error SARIF1007"] {
        assert!(found.iter().any(|p| p.starts_with(needle)), "no `{needle}` in:\n{}", found.join("\n"));
    }

    let mut invalid = valid;
    let result = &mut invalid["runs"][0]["results"][0];
    result["level"] = Value::from("bogus");
    result.as_object_mut().expect("result object").remove("message");
    invalid["unknownProperty"] = Value::from(1);
    let found = problems(&tools, &invalid.to_string(), dir.path(), "invalid");
    for needle in [
        "Sarif.Multitool analysed nothing",
        "JSON schema: runs/0/results/0/level: 'bogus'",
        "JSON schema: runs/0/results/0: 'message' is a required property",
        "JSON schema: : Additional properties are not allowed ('unknownProperty'",
    ] {
        assert!(found.iter().any(|p| p.starts_with(needle)), "no `{needle}` in:\n{}", found.join("\n"));
    }
}
