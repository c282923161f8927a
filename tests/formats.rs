//! The review formats (`--format sarif`, `--format github`, and for review tools `rdjsonl`,
//! `rdjson`, `gitlab`) over one shared set of fixtures, `tests/format_fixtures/`: reviewed
//! snapshots of each, and checks that hold for any
//! transform: every transform shows up with a fix, SARIF fixes rebuild exactly the file
//! dockfix writes, positions agree with each other, and no secret value gets out.
//!
//! The fixtures: `service/` (every transform fixes something, some in a later pass),
//! `go-service/` (multi-stage splits it),
//! `declined/` (findings without a fix), `odd name,50%.Dockerfile` (BOM, CRLF, no final
//! newline, non-ASCII before an edit, a name that needs escaping) and `empty.Dockerfile` (an
//! error). A transform added later must appear here too: `every_transform_has_a_fixed_result`
//! says so.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use dockfix_transforms::rules::env_secrets::literal_secrets;
use dockfix_transforms::{rules, Dockerfile, Source};
use serde_json::Value;

const FIXTURES: &str = "tests/format_fixtures";

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `dockfix ARGS --offline` from the repository root, so paths in the output are
/// repo-relative. Offline: the output must not depend on which registries this machine
/// reaches (pin-images' fixes are proven against a real registry in tests/registry.rs).
fn dockfix(args: &[&str], stdin: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dockfix"));
    command.args(args).arg("--offline").current_dir(repo_root());
    match stdin {
        Some(file) => command.stdin(std::fs::File::open(repo_root().join(file)).expect("open stdin file")),
        None => command.stdin(Stdio::null()),
    };
    command.output().expect("run dockfix")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

fn sarif_of(paths: &[&str]) -> Value {
    let mut args = vec!["fix", "--format", "sarif"];
    args.extend_from_slice(paths);
    let out = dockfix(&args, None);
    serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|error| panic!("not JSON ({error}):\n{}", String::from_utf8_lossy(&out.stderr)))
}

fn results(log: &Value) -> &Vec<Value> {
    log["runs"][0]["results"].as_array().expect("results array")
}

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({
        snapshot_path => "../snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => format!("dockfix fix --format {name} {FIXTURES}"),
    }, {
        insta::assert_snapshot!(format!("formats__{name}"), text);
    });
}

#[test]
fn github_annotations() {
    let out = dockfix(&["fix", "--format", "github", FIXTURES], None);
    assert_eq!(out.status.code(), Some(2), "empty.Dockerfile is an error");
    snapshot("github", &stdout(&out));
}

/// The review-tool formats: rdjsonl (a diagnostic a line), rdjson (one document of the
/// same diagnostics) and GitLab's Code Quality report. Their checks are in
/// tests/review_formats.rs and tests/rdformat_validation.rs.
#[test]
fn review_tool_formats() {
    for format in ["rdjsonl", "rdjson", "gitlab"] {
        let out = dockfix(&["fix", "--format", format, FIXTURES], None);
        assert_eq!(out.status.code(), Some(2), "empty.Dockerfile is an error");
        snapshot(format, &stdout(&out));
    }
}

/// The rules' help is each transform's documentation: checked here against the transforms,
/// and shortened in the snapshot, which would otherwise repeat every transform's docs.
#[test]
fn sarif_log() {
    let out = dockfix(&["fix", "--format", "sarif", FIXTURES], None);
    assert_eq!(out.status.code(), Some(2), "empty.Dockerfile is an error");
    let text = stdout(&out);
    let log: Value = serde_json::from_str(&text).expect("SARIF is JSON");
    let descriptors = log["runs"][0]["tool"]["driver"]["rules"].as_array().expect("rules");
    assert_eq!(descriptors.len(), rules::all().len(), "one descriptor per transform that ran");
    for (descriptor, rule) in descriptors.iter().zip(rules::all()) {
        assert_eq!(descriptor["id"], rule.id());
        let expected = format!("{}\nReference: {}\n", rule.documentation().trim_end(), rule.reference());
        assert_eq!(descriptor["help"]["markdown"], expected.as_str(), "{}", rule.id());
        assert_eq!(descriptor["help"]["text"], expected.as_str(), "{}", rule.id());
    }
    snapshot("sarif", &without_help_texts(&text));
}

/// The pretty-printed log with the body of each `"help": {...}` object cut out.
fn without_help_texts(log: &str) -> String {
    let mut out = String::new();
    let mut in_help = false;
    for line in log.lines() {
        if in_help {
            if line.trim_start().starts_with('}') {
                in_help = false;
                out.push_str(line);
                out.push('\n');
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
        if line.trim() == "\"help\": {" {
            in_help = true;
            let indent = line.len() - line.trim_start().len();
            out.push_str(&format!(
                "{}(the transform's documentation, checked above)\n",
                " ".repeat(indent + 2)
            ));
        }
    }
    out
}

#[test]
fn every_transform_has_a_fixed_result() {
    let log = sarif_of(&[FIXTURES]);
    let with_fix: BTreeSet<&str> = results(&log)
        .iter()
        .filter(|result| result["fixes"].is_array())
        .filter_map(|result| result["ruleId"].as_str())
        .collect();
    let reported: BTreeSet<&str> =
        results(&log).iter().filter_map(|result| result["ruleId"].as_str()).collect();
    for rule in rules::all() {
        // Offline, pin-images can only report (see `dockfix`): it must show up, without a fix.
        if rule.id() == "pin-images" {
            assert!(
                reported.contains(rule.id()),
                "pin-images reports nothing over {FIXTURES}: add an unpinned image"
            );
            continue;
        }
        assert!(
            with_fix.contains(rule.id()),
            "transform `{}` has no result with a fix over {FIXTURES}: add a case for it there",
            rule.id()
        );
    }
}

/// The repo-relative path a relative artifact URI stands for (percent-decoded).
fn uri_path(uri: &str) -> String {
    let bytes = uri.as_bytes();
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let hex = (bytes[at] == b'%').then(|| uri.get(at + 1..at + 3)).flatten();
        match hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
            Some(byte) => {
                out.push(byte);
                at += 3;
            }
            None => {
                out.push(bytes[at]);
                at += 1;
            }
        }
    }
    String::from_utf8(out).expect("UTF-8 path")
}

/// A position in a text, as SARIF counts it (UTF-16 code units, BOM not counted).
fn utf16_offset(text: &str, line: usize, column: usize) -> usize {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let units: Vec<u16> = body.encode_utf16().collect();
    let mut offset = 0;
    for _ in 1..line {
        offset += units[offset..].iter().position(|unit| *unit == u16::from(b'\n')).expect("line exists") + 1;
    }
    offset + column - 1
}

/// Applies all replacements of all results (a replacement shared by two fixes once) to
/// each input, in UTF-16 code units, and compares with what `dockfix fix -` prints.
#[test]
fn sarif_fixes_rebuild_the_fixed_files() {
    let log = sarif_of(&[FIXTURES]);
    let mut by_file: std::collections::BTreeMap<String, BTreeSet<(usize, usize, String)>> =
        Default::default();
    for result in results(&log) {
        for change in result["fixes"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|fix| fix["artifactChanges"].as_array().expect("changes"))
        {
            let uri = change["artifactLocation"]["uri"].as_str().expect("uri").to_string();
            let input = std::fs::read_to_string(repo_root().join(uri_path(&uri))).expect("input");
            for replacement in change["replacements"].as_array().expect("replacements") {
                let region = &replacement["deletedRegion"];
                let number = |key: &str| region[key].as_u64().expect(key) as usize;
                let offset = number("charOffset");
                assert_eq!(
                    utf16_offset(&input, number("startLine"), number("startColumn")),
                    offset,
                    "{region}"
                );
                let end = utf16_offset(&input, number("endLine"), number("endColumn"));
                assert_eq!(end - offset, number("charLength"), "{region}");
                let inserted =
                    replacement["insertedContent"]["text"].as_str().unwrap_or_default().to_string();
                by_file.entry(uri.clone()).or_default().insert((offset, number("charLength"), inserted));
            }
        }
    }
    assert_eq!(by_file.len(), 4, "four fixtures change: {:?}", by_file.keys());
    for (uri, replacements) in by_file {
        let path = uri_path(&uri);
        let input = std::fs::read_to_string(repo_root().join(&path)).expect("input");
        let (bom, body) = match input.strip_prefix('\u{feff}') {
            Some(body) => ("\u{feff}", body),
            None => ("", input.as_str()),
        };
        let units: Vec<u16> = body.encode_utf16().collect();
        let mut rebuilt: Vec<u16> = Vec::new();
        let mut cursor = 0;
        for (offset, length, inserted) in &replacements {
            assert!(*offset >= cursor, "{uri}: replacements overlap: {replacements:?}");
            rebuilt.extend_from_slice(&units[cursor..*offset]);
            rebuilt.extend(inserted.encode_utf16());
            cursor = offset + length;
        }
        rebuilt.extend_from_slice(&units[cursor..]);
        let rebuilt = format!("{bom}{}", String::from_utf16(&rebuilt).expect("UTF-16"));

        let context = Path::new(&path).parent().expect("dir").to_string_lossy().into_owned();
        let fixed = dockfix(&["fix", "-", "--context", &context], Some(Path::new(&path)));
        assert_eq!(rebuilt, stdout(&fixed), "{uri}: the SARIF fixes do not give the fixed file");
    }
}

#[test]
fn result_regions_are_the_finding_lines() {
    let log = sarif_of(&[FIXTURES]);
    let annotations = stdout(&dockfix(&["fix", "--format", "github", FIXTURES], None));
    let lines: Vec<u64> = results(&log)
        .iter()
        .map(|result| {
            result["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64().expect("line")
        })
        .collect();
    let annotated: Vec<u64> = annotations
        .lines()
        .filter_map(|line| line.split(",line=").nth(1))
        .map(|rest| rest.split(',').next().and_then(|n| n.parse().ok()).expect("line number"))
        .collect();
    assert_eq!(lines, annotated, "SARIF and annotations point at the same lines");
}

/// The literal secrets of every env-secrets fixture, of the multi-stage fixtures (whose
/// suggestions are diffs) and of the shared fixtures: none may appear in any output format,
/// whatever dockfix did with it (moved, removed, declined, or left in a suggested diff). The
/// diff on stdout may show the file's own removed and context lines, never an added line
/// with a value; the summary on stderr is checked with every format.
#[test]
fn no_secret_value_gets_out() {
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in ["transforms/fixtures/env-secrets", "transforms/fixtures/multi-stage"] {
        files.extend(
            std::fs::read_dir(repo_root().join(dir))
                .expect("fixtures")
                .map(|entry| entry.expect("entry").path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "Dockerfile")),
        );
    }
    files.extend(
        ["service/Dockerfile", "declined/Dockerfile", "odd name,50%.Dockerfile"]
            .iter()
            .map(|name| repo_root().join(FIXTURES).join(name)),
    );
    files.sort();
    let mut checked = 0;
    for file in &files {
        let input = std::fs::read_to_string(file).expect("fixture");
        let secrets = literal_secrets(&Dockerfile::parse(Source::new(&input).text()), &Default::default());
        if secrets.is_empty() {
            continue;
        }
        let path = file.to_string_lossy();
        for format in ["diff", "json", "markdown", "sarif", "github", "rdjsonl", "rdjson", "gitlab"] {
            let out = dockfix(&["fix", "--format", format, &path], None);
            let mut text = stdout(&out);
            if format == "sarif" {
                // The rules' help is the transforms' documentation, whose examples use
                // made-up values; what comes from the file is in the results.
                let mut log: Value = serde_json::from_str(&text).expect("SARIF is JSON");
                log["runs"][0]["tool"] = Value::Null;
                text = log.to_string();
            }
            if format == "diff" {
                text =
                    text.lines().filter(|line| line.starts_with('+') && !line.starts_with("+++ ")).collect();
            } else {
                assert!(!text.is_empty(), "{path}: no {format} output");
            }
            let summary = String::from_utf8_lossy(&out.stderr);
            for secret in &secrets {
                for (what, shown) in [(format, text.as_str()), ("summary", &summary)] {
                    assert!(
                        !shows_value(shown, &secret.value),
                        "{path}: --format {format}: the {what} output shows the value of {} (line {})",
                        secret.name,
                        secret.line
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 200, "only {checked} secret checks: the fixtures lost their secrets?");
}

/// Whether `text` shows `value`: anywhere, or for a short value (`root`, `admin`: dockfix
/// redacts those as whole words only) where it is not part of a longer word.
fn shows_value(text: &str, value: &str) -> bool {
    if value.len() >= 8 {
        return text.contains(value);
    }
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(value).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + value.len()..].chars().next();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}

/// The review workflow of the README: `--check --format github` annotates and fails while
/// fixes are pending, and passes (still annotating what has no fix) once they are written.
#[test]
fn check_with_annotations_gates_on_pending_fixes() {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["Dockerfile", "config.txt"] {
        std::fs::copy(repo_root().join(FIXTURES).join("service").join(name), dir.path().join(name))
            .expect("copy");
    }
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_dockfix"))
            .args(args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .output()
            .expect("run dockfix")
    };
    let pending = run(&["fix", "--check", "--format", "github"]);
    assert_eq!(pending.status.code(), Some(1));
    let annotations = stdout(&pending);
    assert!(annotations.lines().count() >= 5, "{annotations}");
    assert!(
        annotations.lines().all(|line| line.starts_with("::warning file=Dockerfile,line=")),
        "{annotations}"
    );
    assert_eq!(run(&["fix", "--write"]).status.code(), Some(0));
    let clean = run(&["fix", "--check", "--format", "github"]);
    assert_eq!(clean.status.code(), Some(0));
    let kept = "::warning file=Dockerfile,line=9,title=dockfix add-to-copy::ADD kept: `https://example.com/tool.tar.gz` is a URL (COPY cannot fetch)\n";
    assert!(stdout(&clean).contains(kept), "{}", stdout(&clean));
}
