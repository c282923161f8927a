//! The review-tool formats (`--format rdjsonl`, `rdjson`, `gitlab`) checked for what their
//! consumers rely on: reviewdog's suggestions are whole lines of the original file and,
//! applied, give exactly the file dockfix writes; `rdjson` says what `rdjsonl` says; GitLab's
//! report has the fields GitLab documents (`schema/gitlab-code-quality.schema.json`), and
//! fingerprints that are unique, stable across runs and blind to lines moving; and no secret
//! value gets out through a suggestion or a fingerprint.
//!
//! Their snapshots are in `tests/formats.rs`, the RDFormat validator's verdict in
//! `tests/rdformat_validation.rs`.

mod cli_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use cli_support::{show, stdout, tempdir, write};
use dockfix_transforms::rules::env_secrets::literal_secrets;
use dockfix_transforms::{Dockerfile, Source};
use serde_json::Value;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `dockfix ARGS --offline` in `dir` (offline: pin-images only reports, in every run
/// alike).
fn dockfix(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dockfix"))
        .args(args)
        .arg("--offline")
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run dockfix")
}

/// Copies the directory tree `from` into `to`.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create directory");
    for entry in std::fs::read_dir(from).expect("read directory") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

fn rdjsonl(out: &Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect()
}

/// The byte offset of a 1-based line and 1-based UTF-8 byte column in `text`, when the line
/// exists and the column is on it (at most just past its last byte, line ending included).
fn offset(text: &str, line: u64, column: u64) -> Option<usize> {
    let mut start = 0;
    for _ in 1..line {
        start += text[start..].find('\n')? + 1;
    }
    let line_len = text[start..].find('\n').map_or(text.len() - start, |end| end + 1);
    let column = usize::try_from(column).ok()?.checked_sub(1)?;
    (column <= line_len).then_some(start + column)
}

/// The byte range a suggestion replaces in `text`.
fn suggestion_range(text: &str, suggestion: &Value) -> std::ops::Range<usize> {
    let position = |end: &str| {
        let at = &suggestion["range"][end];
        offset(text, at["line"].as_u64().expect("line"), at["column"].as_u64().expect("column"))
            .unwrap_or_else(|| panic!("{suggestion}: its {end} is not in the file"))
    };
    position("start")..position("end")
}

/// GitHub applies a suggestion to whole lines: the range starts where a line's content starts
/// and ends where a line's content ends (before `\r\n` or `\n`, or at the end of the file).
fn covers_whole_lines(text: &str, range: &std::ops::Range<usize>) -> bool {
    let line_start = text[..range.start].rfind('\n').map_or(0, |at| at + 1);
    let content_start = if line_start == 0 && text.starts_with('\u{feff}') { 3 } else { 0 };
    let rest = &text[range.end..];
    let at_line_end = rest.is_empty() || rest.starts_with('\n') || rest.starts_with("\r\n");
    range.start == line_start + content_start && at_line_end && range.start < text.len()
}

/// A suggestion: start line and column, end line and column, text.
type Suggested = (u64, u64, u64, u64, String);

/// Over every transform's fixtures and the format fixtures: each suggestion covers whole
/// lines of the original file (exactly its edits where those lines hold a secret value), and
/// where the suggestions of a file do not overlap (fixes
/// that edit the same lines make suggestions that each hold only their own edit), applying
/// them all gives exactly the file `dockfix fix --write` writes.
#[test]
fn suggestions_rebuild_the_fixed_files() {
    let dir = tempdir();
    copy_tree(&repo_root().join("transforms/fixtures"), &dir.path().join("transforms"));
    copy_tree(&repo_root().join("tests/format_fixtures"), &dir.path().join("formats"));
    let diagnostics = rdjsonl(&dockfix(dir.path(), &["fix", "--format", "rdjsonl", "."]));
    let mut by_file: BTreeMap<String, BTreeSet<Suggested>> = BTreeMap::new();
    let (mut fixed_findings, mut split) = (0, Vec::new());
    for diagnostic in &diagnostics {
        let Some(suggestions) = diagnostic["suggestions"].as_array() else { continue };
        let path = diagnostic["location"]["path"].as_str().expect("path").to_string();
        if suggestions.len() > 1 {
            // One per edit only where a single one would show a secret value.
            split.push(path.clone());
        }
        for suggestion in suggestions {
            let number = |end: &str, key: &str| suggestion["range"][end][key].as_u64().expect(key);
            let text = suggestion["text"].as_str().expect("text").to_string();
            let key = (
                number("start", "line"),
                number("start", "column"),
                number("end", "line"),
                number("end", "column"),
            );
            by_file.entry(path.clone()).or_default().insert((key.0, key.1, key.2, key.3, text));
        }
        fixed_findings += 1;
    }
    let inputs: BTreeMap<String, String> = by_file
        .keys()
        .map(|path| (path.clone(), std::fs::read_to_string(dir.path().join(path)).expect("input")))
        .collect();
    let written = dockfix(dir.path(), &["fix", "--write", "."]);
    assert!(matches!(written.status.code(), Some(0 | 2)), "{}", show(&written));

    let (mut rebuilt, mut overlapping, mut narrowed) = (0, Vec::new(), BTreeSet::new());
    for path in &split {
        let secrets =
            literal_secrets(&Dockerfile::parse(Source::new(&inputs[path]).text()), &Default::default());
        assert!(!secrets.is_empty(), "{path}: a fix with several suggestions, and no secret");
    }
    for (path, suggestions) in &by_file {
        let input = &inputs[path];
        let mut replacements: Vec<(std::ops::Range<usize>, &str)> = Vec::new();
        for (start_line, start_column, end_line, end_column, text) in suggestions {
            let suggestion = serde_json::json!({
                "range": {"start": {"line": start_line, "column": start_column},
                          "end": {"line": end_line, "column": end_column}},
            });
            let range = suggestion_range(input, &suggestion);
            if !covers_whole_lines(input, &range) {
                // Only where whole lines would show a secret value: exactly the edits then.
                let secrets =
                    literal_secrets(&Dockerfile::parse(Source::new(input).text()), &Default::default());
                assert!(
                    !secrets.is_empty(),
                    "{path}: the suggestion at {suggestion} is not whole lines: {:?}",
                    &input[range]
                );
                narrowed.insert(path.clone());
            }
            replacements.push((range, text));
        }
        replacements.sort_by_key(|(range, _)| (range.start, range.end));
        if replacements.windows(2).any(|pair| pair[1].0.start < pair[0].0.end) {
            overlapping.push(path.clone());
            continue;
        }
        let mut applied = String::new();
        let mut cursor = 0;
        for (range, text) in &replacements {
            applied.push_str(&input[cursor..range.start]);
            applied.push_str(text);
            cursor = range.end;
        }
        applied.push_str(&input[cursor..]);
        let fixed = std::fs::read_to_string(dir.path().join(path)).expect("fixed file");
        assert_eq!(applied, fixed, "{path}: the suggestions do not give the fixed file");
        rebuilt += 1;
    }
    eprintln!(
        "{fixed_findings} fixed findings in {} files: {rebuilt} rebuilt from their suggestions; \
         fixes sharing lines in {}: {overlapping:?}; narrowed to the edits around a secret: \
         {narrowed:?}; split by a secret: {split:?}",
        by_file.len(),
        overlapping.len()
    );
    assert!(narrowed.len() < 10, "too many files with suggestions narrowed: {narrowed:?}");
    assert!(rebuilt >= 100, "only {rebuilt} files rebuilt from their suggestions");
}

/// The input with `replacements` applied (sorted by position, not overlapping).
fn apply(input: &str, mut replacements: Vec<(std::ops::Range<usize>, String)>) -> String {
    replacements.sort_by_key(|(range, _)| (range.start, range.end));
    let mut out = String::new();
    let mut cursor = 0;
    for (range, text) in &replacements {
        assert!(range.start >= cursor, "overlapping replacements: {replacements:?}");
        out.push_str(&input[cursor..range.start]);
        out.push_str(text);
        cursor = range.end;
    }
    out.push_str(&input[cursor..]);
    out
}

/// The byte offset of a SARIF `charOffset` (UTF-16 code units after a BOM).
fn utf16_to_byte(input: &str, units: u64) -> usize {
    let bom = if input.starts_with('\u{feff}') { 3 } else { 0 };
    let mut counted = 0;
    for (at, c) in input[bom..].char_indices() {
        if counted >= units {
            return bom + at;
        }
        counted += c.len_utf16() as u64;
    }
    input.len()
}

/// Each finding's suggestions, applied alone to the original file, do what its SARIF fix's
/// replacements do (the same edits, counted in UTF-16 there, expanded to lines here): also
/// where the suggestions of several fixes share lines and cannot be applied together.
#[test]
fn each_suggestion_is_its_fix() {
    let dir = tempdir();
    copy_tree(&repo_root().join("transforms/fixtures"), &dir.path().join("transforms"));
    copy_tree(&repo_root().join("tests/format_fixtures"), &dir.path().join("formats"));
    let diagnostics = rdjsonl(&dockfix(dir.path(), &["fix", "--format", "rdjsonl", "."]));
    let findings: Vec<&Value> = diagnostics.iter().filter(|d| d["severity"] == "WARNING").collect();
    let sarif: Value =
        serde_json::from_str(&stdout(&dockfix(dir.path(), &["fix", "--format", "sarif", "."])))
            .expect("SARIF");
    let results: Vec<&Value> = sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|result| result["level"] == "warning")
        .collect();
    assert_eq!(findings.len(), results.len(), "one diagnostic per SARIF result");
    let mut compared = 0;
    for (diagnostic, result) in findings.iter().zip(&results) {
        assert_eq!(diagnostic["code"]["value"], result["ruleId"]);
        let line = &result["locations"][0]["physicalLocation"]["region"]["startLine"];
        assert_eq!(&diagnostic["location"]["range"]["start"]["line"], line);
        let path = diagnostic["location"]["path"].as_str().expect("path");
        let Some(suggestions) = diagnostic["suggestions"].as_array() else {
            assert!(result["fixes"].is_null(), "{path}: a SARIF fix and no suggestion: {diagnostic}");
            continue;
        };
        let input = std::fs::read_to_string(dir.path().join(path)).expect("input");
        let ours = suggestions
            .iter()
            .map(|s| (suggestion_range(&input, s), s["text"].as_str().expect("text").to_string()))
            .collect();
        let theirs = result["fixes"][0]["artifactChanges"][0]["replacements"]
            .as_array()
            .expect("replacements")
            .iter()
            .map(|r| {
                let region = &r["deletedRegion"];
                let start = region["charOffset"].as_u64().expect("offset");
                let end = start + region["charLength"].as_u64().expect("length");
                let text = r["insertedContent"]["text"].as_str().unwrap_or_default().to_string();
                (utf16_to_byte(&input, start)..utf16_to_byte(&input, end), text)
            })
            .collect();
        assert_eq!(apply(&input, ours), apply(&input, theirs), "{path}: {diagnostic}");
        compared += 1;
    }
    assert!(compared >= 500, "only {compared} fixes compared");
}

/// `rdjson` is one document of the diagnostics `rdjsonl` prints one per line, with the source.
#[test]
fn rdjson_holds_the_rdjsonl_diagnostics() {
    let root = repo_root();
    let lines = rdjsonl(&dockfix(&root, &["fix", "--format", "rdjsonl", "tests/format_fixtures"]));
    let out = dockfix(&root, &["fix", "--format", "rdjson", "tests/format_fixtures"]);
    assert_eq!(out.status.code(), Some(2), "empty.Dockerfile is an error: {}", show(&out));
    let document: Value = serde_json::from_str(&stdout(&out)).expect("rdjson is JSON");
    assert_eq!(document["source"]["name"], "dockfix");
    assert_eq!(document["diagnostics"].as_array().expect("diagnostics"), &lines);
    let severities: BTreeSet<&str> = lines.iter().filter_map(|d| d["severity"].as_str()).collect();
    assert_eq!(severities, BTreeSet::from(["ERROR", "WARNING"]));
    let error = lines.iter().find(|d| d["severity"] == "ERROR").expect("an error");
    assert_eq!(error["location"]["path"], "tests/format_fixtures/empty.Dockerfile");
}

fn gitlab_report(dir: &Path, paths: &[&str]) -> Vec<Value> {
    let mut args = vec!["fix", "--format", "gitlab"];
    args.extend_from_slice(paths);
    let out = dockfix(dir, &args);
    let report: Value =
        serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("not JSON ({e}): {}", show(&out)));
    report.as_array().expect("an array").clone()
}

fn gitlab_schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo_root().join("schema/gitlab-code-quality.schema.json"))
        .expect("schema file");
    jsonschema::validator_for(&serde_json::from_str(&text).expect("schema is JSON")).expect("valid schema")
}

/// The report has GitLab's fields and nothing else (the schema), one issue per finding and
/// error, and its fingerprints are unique; the schema rejects what GitLab would not read.
#[test]
fn gitlab_report_follows_the_documented_format() {
    let root = repo_root();
    let validator = gitlab_schema();
    for path in ["tests/format_fixtures", "transforms/fixtures"] {
        let report = gitlab_report(&root, &[path]);
        assert!(report.len() > 10, "{path}: only {} issues", report.len());
        let document = Value::from(report.clone());
        let errors: Vec<String> = validator.iter_errors(&document).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{path}: {errors:#?}");
        let fingerprints: BTreeSet<&str> =
            report.iter().filter_map(|issue| issue["fingerprint"].as_str()).collect();
        assert_eq!(fingerprints.len(), report.len(), "{path}: fingerprints are not unique");
        let annotations = stdout(&dockfix(&root, &["fix", "--format", "github", path]));
        assert_eq!(report.len(), annotations.lines().count(), "{path}: one issue per annotation");
    }
    let report = gitlab_report(&root, &["tests/format_fixtures"]);
    let error = report.iter().find(|issue| issue["severity"] == "major").expect("empty.Dockerfile");
    assert_eq!(error["location"]["path"], "tests/format_fixtures/empty.Dockerfile");
    assert_eq!(error["location"]["lines"]["begin"], 1);
    let mut bad = Vec::new();
    for (pointer, value) in [
        ("/severity", Value::from("warning")),
        ("/location/lines/begin", Value::from("3")),
        ("/location/lines/begin", Value::from(0)),
        ("/fingerprint", Value::Null),
    ] {
        let mut issue = report[0].clone();
        *issue.pointer_mut(pointer).expect("field") = value;
        bad.push(issue);
    }
    let mut missing = report[0].clone();
    missing.as_object_mut().expect("object").remove("check_name");
    bad.push(missing);
    for issue in bad {
        assert!(!validator.is_valid(&Value::from(vec![issue.clone()])), "the schema accepts {issue}");
    }
}

/// Fingerprints are the same in two runs, and when lines are inserted above the findings
/// (and the findings move down) every fingerprint of the unchanged instructions stays.
#[test]
fn gitlab_fingerprints_survive_reruns_and_moved_lines() {
    let dir = tempdir();
    let original =
        "FROM debian:12\nADD config.txt /etc/app/\nRUN apt-get update\nADD config.txt /opt/\nCMD [\"app\"]\n";
    write(dir.path(), "config.txt", "x\n");
    write(dir.path(), "Dockerfile", original);
    let first = gitlab_report(dir.path(), &["Dockerfile"]);
    assert_eq!(first, gitlab_report(dir.path(), &["Dockerfile"]), "two runs, one report");
    assert!(first.len() >= 3, "{first:#?}");
    let by_check = |report: &[Value]| -> BTreeMap<(String, String), u64> {
        report
            .iter()
            .map(|issue| {
                let key = (
                    issue["check_name"].as_str().expect("check").to_string(),
                    issue["fingerprint"].as_str().expect("fingerprint").to_string(),
                );
                (key, issue["location"]["lines"]["begin"].as_u64().expect("line"))
            })
            .collect()
    };
    let before = by_check(&first);

    let moved = original.replacen("RUN apt-get update\n", "# a comment\nLABEL a=b\nRUN apt-get update\n", 1);
    write(dir.path(), "Dockerfile", &moved);
    let after = by_check(&gitlab_report(dir.path(), &["Dockerfile"]));
    assert_eq!(before.keys().collect::<Vec<_>>(), after.keys().collect::<Vec<_>>(), "same fingerprints");
    assert!(
        before.iter().any(|(key, line)| after[key] == line + 2),
        "some finding moved down two lines: {before:?} {after:?}"
    );
    let adds: Vec<&(String, String)> = before.keys().filter(|(check, _)| check == "add-to-copy").collect();
    assert_eq!(adds.len(), 2, "two ADDs, two fingerprints: {before:?}");

    // The same instruction twice: told apart by occurrence, each stable.
    let twice = original.replace("/opt/", "/etc/app/");
    write(dir.path(), "Dockerfile", &twice);
    let report = gitlab_report(dir.path(), &["Dockerfile"]);
    let fingerprints: BTreeSet<&str> =
        report.iter().filter_map(|issue| issue["fingerprint"].as_str()).collect();
    assert_eq!(fingerprints.len(), report.len(), "{report:#?}");
}

/// An ENV secret env-secrets takes out and one it keeps (a LABEL reads it): their values
/// appear in no rdjson, rdjsonl or gitlab output, nor in a fingerprint's input (a report whose
/// only difference is the value is the same). A suggestion that covers a line with a value is
/// checked in `src/output/rdjson.rs`'s tests.
#[test]
fn no_secret_value_in_review_formats() {
    let dir = tempdir();
    let file = "FROM debian:12\n\
                ENV DB_PASSWORD=hunter2-very-secret-value\n\
                RUN curl -fsSL https://example.com/setup.sh -o /tmp/setup.sh\n\
                ENV GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789\n\
                LABEL token=$GITHUB_TOKEN\n\
                CMD [\"app\"]\n";
    write(dir.path(), "Dockerfile", file);
    let secrets = ["hunter2-very-secret-value", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"];
    let mut suggestions = 0;
    for format in ["rdjsonl", "rdjson", "gitlab"] {
        let out = dockfix(dir.path(), &["fix", "--format", format, "Dockerfile"]);
        let text = stdout(&out);
        assert!(text.contains("env-secrets"), "{format}: {}", show(&out));
        for secret in secrets {
            assert!(!text.contains(secret), "{format} shows a secret value:\n{text}");
        }
        suggestions += text.matches("\"suggestions\"").count();
    }
    assert!(suggestions >= 2, "the suggestions were checked too");
    let report = gitlab_report(dir.path(), &["Dockerfile"]);
    write(dir.path(), "Dockerfile", file.replace("hunter2-very-secret-value", "another-secret-value-1"));
    assert_eq!(report, gitlab_report(dir.path(), &["Dockerfile"]), "the value is masked before hashing");
}
