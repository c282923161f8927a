//! Whole-file verdicts (`transforms/src/verdict.rs`) as users see them: for each input in
//! `tests/whole_file/` (and the `library/` walk: a template, its generator and a generated
//! file), a reviewed snapshot of the exit code, the diff on stdout, the summary on stderr and
//! the JSON document. Positives and negatives: not a Dockerfile (errors), templates and
//! failing builds (left unchanged), generated files (reported, not edited), and files that
//! only look like those.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const FIXTURES: &str = "tests/whole_file";

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `dockfix fix --offline ARGS` from the repository root, so paths are repo-relative.
fn dockfix(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dockfix"))
        .arg("fix")
        .arg("--offline")
        .arg("--no-config")
        .args(args)
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .output()
        .expect("run dockfix")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

/// What the user sees for `paths`: the preview run (exit code, diff, summary) and the JSON
/// document, whose exit code must agree.
fn seen(paths: &[&str]) -> String {
    let preview = dockfix(paths);
    let mut json_args = vec!["--format", "json"];
    json_args.extend_from_slice(paths);
    let json = dockfix(&json_args);
    assert_eq!(json.status.code(), preview.status.code(), "the formats agree on the exit code");
    format!(
        "exit: {:?}\n--- stdout ---\n{}--- stderr ---\n{}--- json ---\n{}",
        preview.status.code(),
        text(&preview.stdout),
        text(&preview.stderr),
        text(&json.stdout)
    )
}

fn snapshot(name: &str, description: String, text: &str) {
    insta::with_settings!({
        snapshot_path => "../snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => description,
    }, {
        insta::assert_snapshot!(format!("whole-file__{name}"), text);
    });
}

fn fixtures() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(repo_root().join(FIXTURES))
        .expect("tests/whole_file")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "Dockerfile"))
        .collect();
    found.sort();
    found
}

#[test]
fn each_fixture_as_the_user_sees_it() {
    let fixtures = fixtures();
    assert!(fixtures.len() >= 12, "fixtures are missing: {fixtures:?}");
    for fixture in fixtures {
        let name = fixture.file_stem().and_then(|stem| stem.to_str()).expect("fixture name");
        let path = format!("{FIXTURES}/{name}.Dockerfile");
        let before = std::fs::read(&fixture).expect("read fixture");
        snapshot(name, format!("dockfix fix --offline --no-config {path}"), &seen(&[&path]));
        assert_eq!(std::fs::read(&fixture).expect("read fixture"), before, "a preview wrote {path}");
    }
}

/// A walk: the template is left unchanged with a finding, the generated file is reported but
/// not edited, and its finding names the generator and template found two levels up.
#[test]
fn a_generator_with_its_template_and_output() {
    let path = format!("{FIXTURES}/library");
    snapshot("library", format!("dockfix fix --offline --no-config {path}"), &seen(&[&path]));
}

/// `--fix-generated` fixes the generated file like any other; the marker finding is gone.
#[test]
fn fix_generated_applies_the_fixes() {
    let path = format!("{FIXTURES}/10-go-generated-marker.Dockerfile");
    let out = dockfix(&["--fix-generated", "--select", "add-to-copy", &path]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let diff = text(&out.stdout);
    assert!(diff.contains("-ADD app.sh /usr/local/bin/\n+COPY app.sh /usr/local/bin/\n"), "{diff}");
    assert!(!text(&out.stderr).contains("whole-file"), "{}", text(&out.stderr));
}

/// Every verdict leaves the file's bytes alone even with `--write`.
#[test]
fn write_leaves_judged_files_alone() {
    let dir = tempfile::tempdir().expect("temporary directory");
    for fixture in fixtures() {
        let name = fixture.file_name().and_then(|name| name.to_str()).expect("name").to_string();
        let copy = dir.path().join(&name);
        std::fs::copy(&fixture, &copy).expect("copy fixture");
        let before = std::fs::read(&copy).expect("read");
        let out = Command::new(env!("CARGO_BIN_EXE_dockfix"))
            .args(["fix", "--offline", "--no-config", "--write"])
            .arg(&copy)
            .current_dir(dir.path())
            .output()
            .expect("run dockfix");
        let changed = std::fs::read(&copy).expect("read") != before;
        let fixed_normally = name.starts_with("09-") || name.starts_with("11-") || name.starts_with("12-");
        assert_eq!(changed, fixed_normally, "{name}: {}", text(&out.stderr));
    }
    assert!(Path::new(dir.path()).exists());
}
