//! CLI tests: run the real `dockfix` binary on small Dockerfiles in temporary directories and
//! check exit codes, stdout, stderr and the bytes of every file before and after.
//!
//! Every `fix` run passes `--select` so that transforms added later (non-root-user,
//! pin-images, ...) do not change what these tests expect.
//!
//! Tests marked `// Regression:` pin down CLI defects found and fixed; the comment says what went wrong.

use std::io::Write as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

mod cli_support;
use cli_support::{assert_exit, assert_stderr_contains, show, stderr, stdout, tempdir, write};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const BOTH: &str = "add-to-copy,strip-setuid";
const STRIP: &str = "RUN find / -xdev -type f -perm -4000 -exec chmod a-s {} + \\\n      -o -type f -perm -2000 -exec chmod a-s {} + ; \\\n    find / -xdev -type f -perm -4000 -exec ls -l {} + -exec false {} + \\\n      -o -type f -perm -2000 -exec ls -l {} + -exec false {} +";

/// Runs `dockfix ARGS` in `dir`, stdin closed.
fn dockfix(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dockfix"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run dockfix")
}

/// Runs `dockfix ARGS` in `dir` with `input` on stdin.
fn dockfix_stdin(dir: &Path, args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dockfix"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run dockfix");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        // dockfix may exit before reading (argument errors): ignore a broken pipe.
        let _ = stdin.write_all(input);
    }
    child.wait_with_output().expect("wait for dockfix")
}

#[track_caller]
fn assert_stdout_eq(out: &Output, expected: &str) {
    assert_eq!(stdout(out), expected, "stdout differs\n{}", show(out));
}

#[track_caller]
fn assert_stdout_contains(out: &Output, needle: &str) {
    assert!(stdout(out).contains(needle), "stdout lacks {needle:?}\n{}", show(out));
}

/// The stderr line that starts with `prefix` (e.g. `Dockerfile:2: add-to-copy: `).
#[track_caller]
fn stderr_line(out: &Output, prefix: &str) -> String {
    stderr(out)
        .lines()
        .find(|line| line.starts_with(prefix))
        .unwrap_or_else(|| panic!("no stderr line starts with {prefix:?}\n{}", show(out)))
        .to_string()
}

/// Asserts the summary line of `prefix` ends with `[status]`.
#[track_caller]
fn assert_finding(out: &Output, prefix: &str, status: &str) {
    let line = stderr_line(out, prefix);
    assert!(
        line.ends_with(status),
        "finding {prefix:?} should end with {status:?}, got {line:?}\n{}",
        show(out)
    );
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[track_caller]
fn assert_bytes(path: &Path, expected: impl AsRef<[u8]>) {
    let actual = read(path);
    assert_eq!(
        String::from_utf8_lossy(&actual),
        String::from_utf8_lossy(expected.as_ref()),
        "{} has other bytes than expected",
        path.display()
    );
    assert_eq!(actual, expected.as_ref(), "{}", path.display());
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o7777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// No `.dockfix-*` temporary file was left anywhere under `dir`.
#[track_caller]
fn assert_no_temp_files(dir: &Path) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let entry = entry.expect("entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with(".dockfix-"), "temporary file left behind: {}", entry.path().display());
        if entry.file_type().expect("type").is_dir() && name != ".git" {
            assert_no_temp_files(&entry.path());
        }
    }
}

#[track_caller]
fn git(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new("git").args(args).current_dir(dir).output().expect("run git");
    out
}

/// The `diff --git` header lines of stdout, in order.
fn diff_headers(out: &Output) -> Vec<String> {
    stdout(out).lines().filter(|line| line.starts_with("diff --git ")).map(str::to_string).collect()
}

fn json_stdout(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|error| panic!("stdout is not one JSON document: {error}\n{}", show(out)))
}

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

/// A Dockerfile both transforms change: ADD of a local file, a package install, then USER.
const BOTH_INPUT: &str = "\
FROM debian:12
ADD local.txt /x
RUN apt-get update && apt-get install -y curl
USER app
CMD [\"sh\"]
";

const BOTH_OUTPUT: &str = "\
FROM debian:12
COPY local.txt /x
RUN apt-get update && apt-get install -y curl
RUN find / -xdev -type f -perm -4000 -exec chmod a-s {} + \\
      -o -type f -perm -2000 -exec chmod a-s {} + ; \\
    find / -xdev -type f -perm -4000 -exec ls -l {} + -exec false {} + \\
      -o -type f -perm -2000 -exec ls -l {} + -exec false {} +
USER app
CMD [\"sh\"]
";

const BOTH_DIFF: &str = "\
diff --git a/Dockerfile b/Dockerfile
--- a/Dockerfile
+++ b/Dockerfile
@@ -1,5 +1,9 @@
 FROM debian:12
-ADD local.txt /x
+COPY local.txt /x
 RUN apt-get update && apt-get install -y curl
+RUN find / -xdev -type f -perm -4000 -exec chmod a-s {} + \\
+      -o -type f -perm -2000 -exec chmod a-s {} + ; \\
+    find / -xdev -type f -perm -4000 -exec ls -l {} + -exec false {} + \\
+      -o -type f -perm -2000 -exec ls -l {} + -exec false {} +
 USER app
 CMD [\"sh\"]
";

/// A temp dir holding `Dockerfile` = BOTH_INPUT and the build-context file `local.txt`.
fn both_project() -> (tempfile::TempDir, PathBuf) {
    let dir = tempdir();
    let dockerfile = write(dir.path(), "Dockerfile", BOTH_INPUT);
    write(dir.path(), "local.txt", "plain text\n");
    (dir, dockerfile)
}

// ---------------------------------------------------------------------------------------------
// 1. Preview
// ---------------------------------------------------------------------------------------------

#[test]
fn preview_prints_git_diff_writes_nothing_and_diff_applies_with_git() {
    let (dir, dockerfile) = both_project();
    let before_ino = std::fs::metadata(&dockerfile).unwrap().ino();

    let out = dockfix(dir.path(), &["fix", "--select", BOTH, "Dockerfile"]);
    assert_exit(&out, 0);
    assert_stdout_eq(&out, BOTH_DIFF);
    assert_finding(&out, "Dockerfile:2: add-to-copy: ", "[would fix, safe]");
    assert_finding(&out, "Dockerfile:4: strip-setuid: ", "[would fix, unsafe]");
    assert_stderr_contains(
        &out,
        "1 file checked, 1 would change; 2 fixes (1 safe, 1 unsafe), 0 findings not fixed, 0 errors\n",
    );
    // Nothing written: same bytes, same inode, no temp file.
    assert_bytes(&dockerfile, BOTH_INPUT);
    assert_eq!(std::fs::metadata(&dockerfile).unwrap().ino(), before_ino);
    assert_no_temp_files(dir.path());

    // The diff is accepted by `git apply` and gives the fixed file.
    assert_exit(&git(dir.path(), &["init", "-q"]), 0);
    write(dir.path(), "fix.diff", &out.stdout);
    let check = git(dir.path(), &["apply", "--check", "fix.diff"]);
    assert_exit(&check, 0);
    let apply = git(dir.path(), &["apply", "fix.diff"]);
    assert_exit(&apply, 0);
    assert_bytes(&dockerfile, BOTH_OUTPUT);
}

#[test]
fn preview_diff_of_crlf_and_unterminated_files_applies_with_git() {
    let dir = tempdir();
    let crlf_in = "FROM debian:12\r\nADD a.txt /a\r\nRUN apt-get install -y curl\r\nCMD [\"sh\"]";
    let crlf_out = format!(
        "FROM debian:12\r\nCOPY a.txt /a\r\nRUN apt-get install -y curl\r\n{}\r\nCMD [\"sh\"]",
        STRIP.replace('\n', "\r\n")
    );
    let crlf = write(dir.path(), "crlf/Dockerfile", crlf_in);
    let plain_in = "FROM debian:12\nRUN apk add curl";
    let plain_out = format!("FROM debian:12\nRUN apk add curl\n{STRIP}");
    let plain = write(dir.path(), "plain/Dockerfile", plain_in);

    let out = dockfix(dir.path(), &["fix", "--select", BOTH, "crlf", "plain/Dockerfile"]);
    assert_exit(&out, 0);
    assert_eq!(
        diff_headers(&out),
        [
            "diff --git a/crlf/Dockerfile b/crlf/Dockerfile",
            "diff --git a/plain/Dockerfile b/plain/Dockerfile"
        ]
    );
    assert_stdout_contains(&out, "\\ No newline at end of file\n");
    assert_bytes(&crlf, crlf_in);
    assert_bytes(&plain, plain_in);

    assert_exit(&git(dir.path(), &["init", "-q"]), 0);
    write(dir.path(), "fix.diff", &out.stdout);
    assert_exit(&git(dir.path(), &["apply", "--check", "fix.diff"]), 0);
    assert_exit(&git(dir.path(), &["apply", "fix.diff"]), 0);
    assert_bytes(&crlf, crlf_out);
    assert_bytes(&plain, plain_out);
}

// ---------------------------------------------------------------------------------------------
// 2. --write and --check
// ---------------------------------------------------------------------------------------------

#[test]
fn check_exits_1_without_writing_then_write_rewrites_then_check_exits_0() {
    let (dir, dockerfile) = both_project();

    let check = dockfix(dir.path(), &["fix", "--check", "--select", BOTH, "Dockerfile"]);
    assert_exit(&check, 1);
    assert_stderr_contains(&check, "1 file checked, 1 would change;");
    assert_bytes(&dockerfile, BOTH_INPUT);
    assert_no_temp_files(dir.path());

    let written = dockfix(dir.path(), &["fix", "--write", "--select", BOTH, "Dockerfile"]);
    assert_exit(&written, 0);
    assert_stdout_eq(&written, "");
    assert_finding(&written, "Dockerfile:2: add-to-copy: ", "[fixed, safe]");
    assert_finding(&written, "Dockerfile:4: strip-setuid: ", "[fixed, unsafe]");
    assert_stderr_contains(&written, "1 file checked, 1 changed; 2 fixes (1 safe, 1 unsafe)");
    assert_bytes(&dockerfile, BOTH_OUTPUT);
    assert_no_temp_files(dir.path());

    // Idempotent: nothing left to do.
    let again = dockfix(dir.path(), &["fix", "--check", "--select", BOTH, "Dockerfile"]);
    assert_exit(&again, 0);
    assert_stdout_eq(&again, "");
    assert_stderr_contains(&again, "1 file checked, 0 would change;");
    let ino = std::fs::metadata(&dockerfile).unwrap().ino();
    let rewrite = dockfix(dir.path(), &["fix", "--write", "--select", BOTH, "Dockerfile"]);
    assert_exit(&rewrite, 0);
    assert_bytes(&dockerfile, BOTH_OUTPUT);
    assert_eq!(std::fs::metadata(&dockerfile).unwrap().ino(), ino, "an unchanged file must not be replaced");
}

// ---------------------------------------------------------------------------------------------
// 3. Byte-exact line endings, BOM, final newline
// ---------------------------------------------------------------------------------------------

/// Writes `input` as `Dockerfile` (with the `a.txt` it ADDs), runs `fix --write` with both
/// transforms, asserts the exact bytes written and that `--check` then finds nothing.
fn write_gives_exactly(input: &str, expected: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempdir();
    let file = write(dir.path(), "Dockerfile", input);
    write(dir.path(), "a.txt", "a\n");
    let out = dockfix(dir.path(), &["fix", "--write", "--select", BOTH, "Dockerfile"]);
    assert_exit(&out, 0);
    assert_bytes(&file, expected);
    let check = dockfix(dir.path(), &["fix", "--check", "--select", BOTH, "Dockerfile"]);
    assert_exit(&check, 0);
    (dir, file)
}

#[test]
fn write_keeps_crlf_on_every_line_including_inserted_ones() {
    let input = "FROM debian:12\r\nADD a.txt /a\r\nRUN apt-get update && apt-get install -y curl\r\nUSER app\r\nCMD [\"sh\"]\r\n";
    let expected = format!(
        "FROM debian:12\r\nCOPY a.txt /a\r\nRUN apt-get update && apt-get install -y curl\r\n{}\r\nUSER app\r\nCMD [\"sh\"]\r\n",
        STRIP.replace('\n', "\r\n")
    );
    let (_dir, file) = write_gives_exactly(input, &expected);
    let bytes = read(&file);
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\n' {
            assert!(i > 0 && bytes[i - 1] == b'\r', "LF without CR at byte {i}");
        }
    }
}

#[test]
fn write_keeps_utf8_bom() {
    let input = "\u{feff}FROM debian:12\nADD a.txt /a\nRUN apk add --no-cache curl\n";
    let expected = format!("\u{feff}FROM debian:12\nCOPY a.txt /a\nRUN apk add --no-cache curl\n{STRIP}\n");
    let (_dir, file) = write_gives_exactly(input, &expected);
    assert_eq!(&read(&file)[..3], b"\xef\xbb\xbf");
}

#[test]
fn write_keeps_missing_final_newline() {
    // The edit is on the last line, and an insertion goes after it.
    let input = "FROM debian:12\nADD a.txt /a\nRUN apk add curl";
    let expected = format!("FROM debian:12\nCOPY a.txt /a\nRUN apk add curl\n{STRIP}");
    let (dir, file) = write_gives_exactly(input, &expected);
    assert_ne!(read(&file).last(), Some(&b'\n'));

    // Only the last line changes: still no final newline.
    let last = write(dir.path(), "last/Dockerfile", "FROM debian:12\nADD a.txt /a");
    write(dir.path(), "last/a.txt", "a\n");
    let out = dockfix(dir.path(), &["fix", "--write", "--select", "add-to-copy", "last"]);
    assert_exit(&out, 0);
    assert_bytes(&last, "FROM debian:12\nCOPY a.txt /a");
}

// ---------------------------------------------------------------------------------------------
// 4. No change
// ---------------------------------------------------------------------------------------------

#[test]
fn file_needing_nothing_gives_exit_0_empty_stdout_and_identical_bytes() {
    let dir = tempdir();
    // CRLF and no final newline, to show nothing is normalized either.
    let input = "# a static binary\r\nFROM scratch\r\nCOPY app /app\r\nENTRYPOINT [\"/app\"]";
    let file = write(dir.path(), "Dockerfile", input);
    write(dir.path(), "app", "binary\n");
    let ino = std::fs::metadata(&file).unwrap().ino();

    for args in [
        &["fix", "--select", BOTH, "Dockerfile"][..],
        &["fix", "--check", "--select", BOTH, "Dockerfile"][..],
        &["fix", "--write", "--select", BOTH, "Dockerfile"][..],
    ] {
        let out = dockfix(dir.path(), args);
        assert_exit(&out, 0);
        assert_stdout_eq(&out, "");
        assert_stderr_contains(&out, "1 file checked, 0 ");
        assert_bytes(&file, input);
        assert_eq!(std::fs::metadata(&file).unwrap().ino(), ino, "{args:?} replaced the file");
    }
    assert_no_temp_files(dir.path());

    // Through stdin: the output is the input, byte for byte.
    let out = dockfix_stdin(dir.path(), &["fix", "--select", BOTH, "-"], input.as_bytes());
    assert_exit(&out, 0);
    assert_eq!(out.stdout, input.as_bytes(), "{}", show(&out));
}

// ---------------------------------------------------------------------------------------------
// 5. --select / --ignore
// ---------------------------------------------------------------------------------------------

#[test]
fn select_and_ignore_pick_transforms_and_accept_hadolint_alias() {
    let (dir, dockerfile) = both_project();
    let copy_only = "\
diff --git a/Dockerfile b/Dockerfile
--- a/Dockerfile
+++ b/Dockerfile
@@ -1,5 +1,5 @@
 FROM debian:12
-ADD local.txt /x
+COPY local.txt /x
 RUN apt-get update && apt-get install -y curl
 USER app
 CMD [\"sh\"]
";
    let strip_only = "\
diff --git a/Dockerfile b/Dockerfile
--- a/Dockerfile
+++ b/Dockerfile
@@ -1,5 +1,9 @@
 FROM debian:12
 ADD local.txt /x
 RUN apt-get update && apt-get install -y curl
+RUN find / -xdev -type f -perm -4000 -exec chmod a-s {} + \\
+      -o -type f -perm -2000 -exec chmod a-s {} + ; \\
+    find / -xdev -type f -perm -4000 -exec ls -l {} + -exec false {} + \\
+      -o -type f -perm -2000 -exec ls -l {} + -exec false {} +
 USER app
 CMD [\"sh\"]
";
    let cases: &[(&[&str], &str)] = &[
        (&["--select", "add-to-copy"], copy_only),
        (&["--select", "DL3020"], copy_only),
        (&["--select", "dl3020"], copy_only),
        (&["--select", "strip-setuid"], strip_only),
        (&["--select", BOTH, "--ignore", "add-to-copy"], strip_only),
        (&["--select", BOTH, "--ignore", "DL3020"], strip_only),
        (&["--select", BOTH, "--ignore", "strip-setuid"], copy_only),
        (&["--select", "strip-setuid,DL3020"], BOTH_DIFF),
        (&["--select", "add-to-copy", "--select", "strip-setuid"], BOTH_DIFF),
        (&["--select", BOTH, "--ignore", BOTH], ""),
    ];
    for (flags, expected) in cases {
        let mut args = vec!["fix"];
        args.extend_from_slice(flags);
        args.push("Dockerfile");
        let out = dockfix(dir.path(), &args);
        assert_exit(&out, 0);
        assert_eq!(stdout(&out), *expected, "{args:?}\n{}", show(&out));
        assert_bytes(&dockerfile, BOTH_INPUT);
    }
    // An ignored transform is not even reported.
    let out = dockfix(dir.path(), &["fix", "--select", BOTH, "--ignore", "DL3020", "Dockerfile"]);
    assert!(!stderr(&out).contains("add-to-copy"), "{}", show(&out));
}

#[test]
fn unknown_transform_id_exits_2_listing_known_ids() {
    let (dir, dockerfile) = both_project();
    for flag in ["--select", "--ignore"] {
        for value in ["nope", "add-to-copy,nope"] {
            let out = dockfix(dir.path(), &["fix", flag, value, "Dockerfile"]);
            assert_exit(&out, 2);
            assert_stdout_eq(&out, "");
            assert_stderr_contains(&out, "unknown transform `nope`");
            assert_stderr_contains(&out, "add-to-copy");
            assert_stderr_contains(&out, "strip-setuid");
            assert_bytes(&dockerfile, BOTH_INPUT);
        }
    }
    let out = dockfix(dir.path(), &["fix", "--write", "--select", "nope", "Dockerfile"]);
    assert_exit(&out, 2);
    assert_bytes(&dockerfile, BOTH_INPUT);
}

// ---------------------------------------------------------------------------------------------
// 6. --safe-only, --context
// ---------------------------------------------------------------------------------------------

#[test]
fn safe_only_leaves_strip_setuid_out_and_reports_it_not_applied() {
    let (dir, dockerfile) = both_project();
    let out = dockfix(dir.path(), &["fix", "--safe-only", "--select", BOTH, "Dockerfile"]);
    assert_exit(&out, 0);
    assert_stdout_contains(&out, "+COPY local.txt /x\n");
    assert!(!stdout(&out).contains("chmod"), "{}", show(&out));
    assert_finding(&out, "Dockerfile:2: add-to-copy: ", "[would fix, safe]");
    let line = stderr_line(&out, "Dockerfile:4: strip-setuid: ");
    assert!(line.contains("[not fixed: ") && line.contains("--safe-only"), "{line:?}");
    assert_stderr_contains(
        &out,
        "1 file checked, 1 would change; 1 fix (1 safe, 0 unsafe), 1 finding not fixed, 0 errors\n",
    );

    let json =
        dockfix(dir.path(), &["fix", "--safe-only", "--select", BOTH, "--format", "json", "Dockerfile"]);
    assert_exit(&json, 0);
    let doc = json_stdout(&json);
    let findings = doc["files"][0]["findings"].as_array().expect("findings");
    let strip = findings.iter().find(|f| f["transform"] == "strip-setuid").expect("strip-setuid finding");
    assert_eq!(strip["fixed"], false);
    assert_eq!(strip["applicability"], "unsafe");
    assert!(strip["declined"].as_str().is_some_and(|d| d.contains("--safe-only")), "{strip}");

    let written = dockfix(dir.path(), &["fix", "--write", "--safe-only", "--select", BOTH, "Dockerfile"]);
    assert_exit(&written, 0);
    assert_bytes(&dockerfile, BOTH_INPUT.replace("ADD local.txt", "COPY local.txt"));
}

#[test]
fn safe_only_applies_add_to_copy_only_for_sources_verified_in_the_build_context() {
    let dir = tempdir();
    let input = "FROM debian:12\nADD here.txt /a\nADD missing.txt /b\nADD archive.bin /c\n";
    let file = write(dir.path(), "Dockerfile", input);
    write(dir.path(), "here.txt", "plain\n");
    // A tar archive by content (ustar magic at offset 257), whatever its name.
    let mut tar = vec![0u8; 512];
    tar[..8].copy_from_slice(b"file.txt");
    tar[257..263].copy_from_slice(b"ustar\0");
    write(dir.path(), "archive.bin", &tar);

    let out = dockfix(dir.path(), &["fix", "--safe-only", "--select", "add-to-copy", "Dockerfile"]);
    assert_exit(&out, 0);
    assert_stdout_contains(&out, "+COPY here.txt /a\n");
    assert!(!stdout(&out).contains("+COPY missing.txt"), "{}", show(&out));
    assert!(!stdout(&out).contains("+COPY archive.bin"), "{}", show(&out));
    assert_finding(&out, "Dockerfile:2: add-to-copy: ", "[would fix, safe]");
    assert!(stderr_line(&out, "Dockerfile:3: add-to-copy: ").contains("[not fixed: "));

    // Without --safe-only the missing one is applied too (unsafe, with its risk).
    let out = dockfix(dir.path(), &["fix", "--select", "add-to-copy", "Dockerfile"]);
    assert_exit(&out, 0);
    assert_stdout_contains(&out, "+COPY missing.txt /b\n");
    assert_finding(&out, "Dockerfile:3: add-to-copy: ", "[would fix, unsafe]");
    assert!(!stdout(&out).contains("+COPY archive.bin"), "archive must keep ADD\n{}", show(&out));
    assert_bytes(&file, input);

    // --context DIR: the Dockerfile lives elsewhere, its sources are in DIR.
    let other = write(dir.path(), "docker/Dockerfile", "FROM debian:12\nADD here.txt /a\n");
    let out = dockfix(dir.path(), &["fix", "--safe-only", "--select", "add-to-copy", "docker/Dockerfile"]);
    assert_exit(&out, 0);
    assert_stdout_eq(&out, "");
    let out = dockfix(
        dir.path(),
        &["fix", "--safe-only", "--select", "add-to-copy", "--context", ".", "docker/Dockerfile"],
    );
    assert_exit(&out, 0);
    assert_stdout_contains(&out, "+COPY here.txt /a\n");
    assert_finding(&out, "docker/Dockerfile:2: add-to-copy: ", "[would fix, safe]");
    assert_bytes(&other, "FROM debian:12\nADD here.txt /a\n");
}

// ---------------------------------------------------------------------------------------------
// 7. JSON
// ---------------------------------------------------------------------------------------------

#[test]
fn json_format_has_version_files_and_findings_with_fixed_flags() {
    let (dir, dockerfile) = both_project();
    write(dir.path(), "scratch.Dockerfile", "FROM scratch\nCOPY app /app\n");
    let out = dockfix(
        dir.path(),
        &["fix", "--format", "json", "--select", BOTH, "Dockerfile", "scratch.Dockerfile"],
    );
    assert_exit(&out, 0);
    let doc = json_stdout(&out);
    assert_eq!(keys(&doc), ["files", "version"]);
    assert_eq!(doc["version"], 3);
    let files = doc["files"].as_array().expect("files array");
    assert_eq!(files.len(), 2);
    for file in files {
        assert_eq!(keys(file), ["build_command", "changed", "error", "findings", "path", "warnings"]);
        for finding in file["findings"].as_array().expect("findings array") {
            assert_eq!(
                keys(finding),
                ["applicability", "declined", "fixed", "follow_ups", "line", "message", "risk", "transform"]
            );
            assert!(finding["message"].as_str().is_some_and(|m| !m.is_empty()));
            assert!(finding["line"].is_u64());
            assert!(finding["fixed"].is_boolean());
        }
    }

    let changed = &files[0];
    assert_eq!(changed["path"], "Dockerfile");
    assert_eq!(changed["changed"], true);
    assert_eq!(changed["error"], Value::Null);
    let findings = changed["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2, "{changed}");
    assert_eq!(findings[0]["transform"], "add-to-copy");
    assert_eq!(findings[0]["line"], 2);
    assert_eq!(findings[0]["applicability"], "safe");
    assert_eq!(findings[0]["fixed"], true);
    assert_eq!(findings[0]["declined"], Value::Null);
    assert_eq!(findings[0]["risk"], Value::Null);
    assert_eq!(findings[1]["transform"], "strip-setuid");
    assert_eq!(findings[1]["line"], 4);
    assert_eq!(findings[1]["applicability"], "unsafe");
    assert_eq!(findings[1]["fixed"], true);
    assert!(findings[1]["risk"].as_str().is_some_and(|r| !r.is_empty()));

    let unchanged = &files[1];
    assert_eq!(unchanged["path"], "scratch.Dockerfile");
    assert_eq!(unchanged["changed"], false);
    assert_eq!(unchanged["error"], Value::Null);
    let findings = unchanged["findings"].as_array().unwrap();
    assert!(findings.iter().all(|f| f["fixed"] == false), "{unchanged}");
    assert!(
        findings.iter().any(|f| f["transform"] == "strip-setuid" && f["line"] == 1),
        "scratch should be reported as left alone: {unchanged}"
    );

    // Nothing written in preview; the summary still goes to stderr, not into the JSON.
    assert_bytes(&dockerfile, BOTH_INPUT);
    assert_stderr_contains(&out, "2 files checked, 1 would change;");

    // --check with JSON: exit 1, same document.
    let check = dockfix(dir.path(), &["fix", "--check", "--format", "json", "--select", BOTH, "Dockerfile"]);
    assert_exit(&check, 1);
    assert_eq!(json_stdout(&check)["files"][0]["changed"], true);
    assert_bytes(&dockerfile, BOTH_INPUT);
}

// ---------------------------------------------------------------------------------------------
// 8. stdin
// ---------------------------------------------------------------------------------------------

#[test]
fn stdin_dash_prints_fixed_dockerfile_and_refuses_write() {
    let dir = tempdir();
    let out = dockfix_stdin(dir.path(), &["fix", "--select", BOTH, "-"], BOTH_INPUT.as_bytes());
    assert_exit(&out, 0);
    assert_stdout_eq(&out, BOTH_OUTPUT);
    // No build context: ADD->COPY cannot be verified, so it is unsafe.
    assert_finding(&out, "<stdin>:2: add-to-copy: ", "[would fix, unsafe]");

    let out = dockfix_stdin(dir.path(), &["fix", "--check", "--select", BOTH, "-"], BOTH_INPUT.as_bytes());
    assert_exit(&out, 1);

    let out = dockfix_stdin(dir.path(), &["fix", "--write", "--select", BOTH, "-"], BOTH_INPUT.as_bytes());
    assert_exit(&out, 2);
    assert_stdout_eq(&out, "");
    assert_stderr_contains(&out, "--write");

    let out =
        dockfix_stdin(dir.path(), &["fix", "--format", "json", "--select", BOTH, "-"], BOTH_INPUT.as_bytes());
    assert_exit(&out, 0);
    let doc = json_stdout(&out);
    assert_eq!(doc["version"], 3);
    assert_eq!(doc["files"][0]["path"], "<stdin>");
    assert_eq!(doc["files"][0]["changed"], true);
    assert_eq!(doc["files"][0]["findings"].as_array().unwrap().len(), 2);

    // `-` with other paths is an error; so is a bad stdin, which prints nothing on stdout.
    write(dir.path(), "Dockerfile", BOTH_INPUT);
    let out = dockfix_stdin(dir.path(), &["fix", "--select", BOTH, "-", "Dockerfile"], BOTH_INPUT.as_bytes());
    assert_exit(&out, 2);
    assert_stdout_eq(&out, "");
    assert_stderr_contains(&out, "`-`");
    assert_bytes(&dir.path().join("Dockerfile"), BOTH_INPUT);

    let out = dockfix_stdin(dir.path(), &["fix", "--select", BOTH, "-"], b"FROM debian:12\nRUN echo \xff\n");
    assert_exit(&out, 2);
    assert_stdout_eq(&out, "");
    assert_stderr_contains(&out, ":2: not valid UTF-8");

    let out = dockfix_stdin(dir.path(), &["fix", "--select", BOTH, "-"], b"# nothing here\n");
    assert_exit(&out, 2);
    assert_stdout_eq(&out, "");
    assert_stderr_contains(&out, "no instructions");
}

#[test]
fn stdin_honours_context_dir() {
    // Regression: `fix -` ignores `--context DIR` (main.rs fix_stdin always uses NoBuildContext), so an
    // ADD whose source is a plain file in DIR is treated as unverified (unsafe) and dropped by
    // --safe-only. `docker build -f - DIR` is exactly this use.
    let dir = tempdir();
    write(dir.path(), "ctx/local.txt", "plain\n");
    let out = dockfix_stdin(
        dir.path(),
        &["fix", "--safe-only", "--select", "add-to-copy", "--context", "ctx", "-"],
        b"FROM debian:12\nADD local.txt /a\n",
    );
    assert_exit(&out, 0);
    assert_stdout_eq(&out, "FROM debian:12\nCOPY local.txt /a\n");
    assert_finding(&out, "<stdin>:2: add-to-copy: ", "[would fix, safe]");
}

// ---------------------------------------------------------------------------------------------
// 9. Bad inputs
// ---------------------------------------------------------------------------------------------

/// Preview, --check and --write on `name` all exit 2 with `message` on stderr, print nothing
/// on stdout and leave the file (or its absence) as it was.
#[track_caller]
fn assert_rejected(dir: &Path, name: &str, message: &str) {
    let path = dir.join(name);
    let before = std::fs::read(&path).ok();
    for mode_flag in [None, Some("--check"), Some("--write")] {
        let mut args = vec!["fix", "--select", BOTH];
        args.extend(mode_flag);
        args.push(name);
        let out = dockfix(dir, &args);
        assert_exit(&out, 2);
        assert_stdout_eq(&out, "");
        assert_stderr_contains(&out, message);
        assert_stderr_contains(&out, "1 error\n");
        assert_eq!(std::fs::read(&path).ok(), before, "{args:?} changed {name}");
        assert_no_temp_files(dir);
    }
    // JSON names the file and the error too.
    let out = dockfix(dir, &["fix", "--select", BOTH, "--format", "json", name]);
    assert_exit(&out, 2);
    let doc = json_stdout(&out);
    let error = doc["files"][0]["error"].as_str().unwrap_or_else(|| panic!("no error: {doc}"));
    assert!(error.contains(message), "{error:?} lacks {message:?}");
    assert_eq!(doc["files"][0]["changed"], false);
}

#[test]
fn non_utf8_file_is_rejected_naming_file_and_line() {
    let dir = tempdir();
    write(dir.path(), "latin1.Dockerfile", b"FROM debian:12\nADD a.txt /a\nLABEL author=\"Jos\xe9\"\n");
    assert_rejected(dir.path(), "latin1.Dockerfile", "latin1.Dockerfile:3: not valid UTF-8");
}

#[test]
fn binary_file_with_nul_is_rejected_naming_file_and_line() {
    let dir = tempdir();
    write(dir.path(), "bin.Dockerfile", b"FROM debian:12\nADD a.txt /a\n\0\x01\x02");
    assert_rejected(dir.path(), "bin.Dockerfile", "bin.Dockerfile:3: binary file");
}

#[test]
fn empty_file_is_rejected() {
    let dir = tempdir();
    write(dir.path(), "Dockerfile", "");
    assert_rejected(dir.path(), "Dockerfile", "Dockerfile: no instructions");
}

#[test]
fn comments_only_file_is_rejected() {
    let dir = tempdir();
    write(dir.path(), "Dockerfile", "# syntax=docker/dockerfile:1\n\n# TODO write this\n   \n");
    assert_rejected(dir.path(), "Dockerfile", "Dockerfile: no instructions");
}

#[test]
fn missing_file_is_rejected() {
    let dir = tempdir();
    assert_rejected(dir.path(), "missing.Dockerfile", "missing.Dockerfile: cannot read");
    assert!(!dir.path().join("missing.Dockerfile").exists());
}

#[test]
fn directory_without_dockerfiles_is_rejected() {
    let dir = tempdir();
    write(dir.path(), "empty/README.md", "# readme\n");
    write(dir.path(), "empty/notes.txt", "FROM debian:12\nADD a /a\n");
    assert_rejected(dir.path(), "empty", "empty: no Dockerfiles found");
    assert_bytes(&dir.path().join("empty/notes.txt"), "FROM debian:12\nADD a /a\n");
}

#[test]
fn read_only_file_is_refused_with_write_and_left_untouched() {
    let dir = tempdir();
    let file = write(dir.path(), "ro.Dockerfile", BOTH_INPUT);
    set_mode(&file, 0o444);
    let ino = std::fs::metadata(&file).unwrap().ino();

    let out = dockfix(dir.path(), &["fix", "--write", "--select", BOTH, "ro.Dockerfile"]);
    assert_exit(&out, 2);
    assert_stdout_eq(&out, "");
    assert_stderr_contains(&out, "error: ro.Dockerfile: ");
    assert_stderr_contains(&out, "read-only");
    assert_bytes(&file, BOTH_INPUT);
    assert_eq!(mode(&file), 0o444);
    assert_eq!(std::fs::metadata(&file).unwrap().ino(), ino);
    assert_no_temp_files(dir.path());

    // A preview of the same file is fine.
    let out = dockfix(dir.path(), &["fix", "--select", BOTH, "ro.Dockerfile"]);
    assert_exit(&out, 0);
    assert_stdout_contains(&out, "+COPY local.txt /x\n");
}

#[test]
fn read_only_file_refused_by_write_is_not_reported_as_fixed() {
    // Regression: when --write refuses a read-only file (exit 2, file untouched), its findings are
    // still reported as applied: stderr says `[fixed, safe]` and counts "1 fix", and the JSON
    // says `"fixed": true`, though nothing was written (main.rs keeps `reports` when
    // write_atomic fails).
    let dir = tempdir();
    let file = write(dir.path(), "ro.Dockerfile", "FROM debian:12\nADD a.txt /a\n");
    write(dir.path(), "a.txt", "a\n");
    set_mode(&file, 0o444);

    let out = dockfix(dir.path(), &["fix", "--write", "--select", "add-to-copy", "ro.Dockerfile"]);
    assert_exit(&out, 2);
    assert_bytes(&file, "FROM debian:12\nADD a.txt /a\n");
    let line = stderr_line(&out, "ro.Dockerfile:2: add-to-copy: ");
    assert!(!line.contains("[fixed"), "claims a fix that was not written: {line:?}\n{}", show(&out));
    assert_stderr_contains(&out, "0 fixes");

    let out = dockfix(
        dir.path(),
        &["fix", "--write", "--format", "json", "--select", "add-to-copy", "ro.Dockerfile"],
    );
    assert_exit(&out, 2);
    let doc = json_stdout(&out);
    for finding in doc["files"][0]["findings"].as_array().unwrap() {
        assert_eq!(finding["fixed"], false, "claims a fix that was not written: {doc}");
    }
}

#[test]
fn one_bad_file_among_good_ones_gives_exit_2_but_good_files_are_still_processed() {
    let dir = tempdir();
    let good = write(dir.path(), "good.Dockerfile", "FROM debian:12\nADD a.txt /a\n");
    write(dir.path(), "a.txt", "a\n");
    let bad_bytes: &[u8] = b"FROM debian:12\nRUN echo \xff\n";
    let bad = write(dir.path(), "bad.Dockerfile", bad_bytes);
    let args = ["good.Dockerfile", "bad.Dockerfile", "missing.Dockerfile"];

    // Preview: the good file's diff on stdout, both errors on stderr.
    let mut preview = vec!["fix", "--select", "add-to-copy"];
    preview.extend(args);
    let out = dockfix(dir.path(), &preview);
    assert_exit(&out, 2);
    assert_stdout_eq(
        &out,
        "\
diff --git a/good.Dockerfile b/good.Dockerfile
--- a/good.Dockerfile
+++ b/good.Dockerfile
@@ -1,2 +1,2 @@
 FROM debian:12
-ADD a.txt /a
+COPY a.txt /a
",
    );
    assert_finding(&out, "good.Dockerfile:2: add-to-copy: ", "[would fix, safe]");
    assert_stderr_contains(&out, "error: bad.Dockerfile:2: not valid UTF-8");
    assert_stderr_contains(&out, "error: missing.Dockerfile: cannot read");
    assert_stderr_contains(&out, "3 files checked, 1 would change;");
    assert_stderr_contains(&out, "2 errors\n");

    // JSON: every file has its entry.
    let mut json = vec!["fix", "--format", "json", "--select", "add-to-copy"];
    json.extend(args);
    let out = dockfix(dir.path(), &json);
    assert_exit(&out, 2);
    let doc = json_stdout(&out);
    let files = doc["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    assert_eq!(files[0]["path"], "good.Dockerfile");
    assert_eq!(files[0]["changed"], true);
    assert_eq!(files[0]["error"], Value::Null);
    assert_eq!(files[1]["path"], "bad.Dockerfile");
    assert!(files[1]["error"].as_str().unwrap().contains("bad.Dockerfile:2:"));
    assert_eq!(files[2]["path"], "missing.Dockerfile");
    assert!(files[2]["error"].as_str().unwrap().contains("missing.Dockerfile"));

    // --check: the error wins over "pending".
    let mut check = vec!["fix", "--check", "--select", "add-to-copy"];
    check.extend(args);
    assert_exit(&dockfix(dir.path(), &check), 2);

    // --write: the good file is rewritten, the bad one untouched.
    let mut write_args = vec!["fix", "--write", "--select", "add-to-copy"];
    write_args.extend(args);
    let out = dockfix(dir.path(), &write_args);
    assert_exit(&out, 2);
    assert_stdout_eq(&out, "");
    assert_bytes(&good, "FROM debian:12\nCOPY a.txt /a\n");
    assert_bytes(&bad, bad_bytes);
    assert!(!dir.path().join("missing.Dockerfile").exists());
    assert_no_temp_files(dir.path());
}

// ---------------------------------------------------------------------------------------------
// 10. Directory discovery
// ---------------------------------------------------------------------------------------------

#[test]
fn directory_search_finds_dockerfile_names_honours_gitignore_outside_git() {
    let dir = tempdir();
    let root = dir.path();
    let content = "FROM debian:12\nADD a.txt /a\n";
    for name in [
        "Dockerfile",
        "svc/Containerfile",
        "svc/api/api.Dockerfile",
        "svc/api/worker.dockerfile",
        "deep/er/still/Dockerfile.dev",
        "deep/Containerfile.arm",
        "build/Dockerfile",
        "svc/generated.Dockerfile",
        "README.md",
        "dockerfile-notes.txt",
        "MyDockerfile",
        "weird.txt",
    ] {
        write(root, name, content);
    }
    // Not a git repository: .gitignore files are honoured anyway, the nested one too.
    write(root, ".gitignore", "build/\n");
    write(root, "svc/.gitignore", "generated.Dockerfile\n");
    assert!(!root.join(".git").exists());

    let expected = [
        "diff --git a/Dockerfile b/Dockerfile",
        "diff --git a/deep/Containerfile.arm b/deep/Containerfile.arm",
        "diff --git a/deep/er/still/Dockerfile.dev b/deep/er/still/Dockerfile.dev",
        "diff --git a/svc/Containerfile b/svc/Containerfile",
        "diff --git a/svc/api/api.Dockerfile b/svc/api/api.Dockerfile",
        "diff --git a/svc/api/worker.dockerfile b/svc/api/worker.dockerfile",
    ];
    for args in [&["fix", "--select", "add-to-copy", "."][..], &["fix", "--select", "add-to-copy"][..]] {
        let out = dockfix(root, args);
        assert_exit(&out, 0);
        assert_eq!(diff_headers(&out), expected, "{args:?}\n{}", show(&out));
        assert_stderr_contains(&out, "6 files checked, 6 would change;");
        let err = stderr(&out);
        for skipped in ["build/", "generated", "README", "notes", "MyDockerfile", "weird"] {
            assert!(!err.contains(skipped), "{skipped} should be skipped\n{}", show(&out));
        }
    }

    // A subdirectory is searched the same way; paths stay relative to the working directory.
    let out = dockfix(root, &["fix", "--select", "add-to-copy", "svc"]);
    assert_exit(&out, 0);
    assert_eq!(
        diff_headers(&out),
        [
            "diff --git a/svc/Containerfile b/svc/Containerfile",
            "diff --git a/svc/api/api.Dockerfile b/svc/api/api.Dockerfile",
            "diff --git a/svc/api/worker.dockerfile b/svc/api/worker.dockerfile",
        ]
    );

    // A file named explicitly is processed whatever its name, even a git-ignored one.
    let out = dockfix(root, &["fix", "--select", "add-to-copy", "weird.txt", "build/Dockerfile"]);
    assert_exit(&out, 0);
    assert_eq!(
        diff_headers(&out),
        ["diff --git a/weird.txt b/weird.txt", "diff --git a/build/Dockerfile b/build/Dockerfile"]
    );

    // --write over the directory rewrites exactly the found files.
    let out = dockfix(root, &["fix", "--write", "--select", "add-to-copy", "."]);
    assert_exit(&out, 0);
    let fixed = "FROM debian:12\nCOPY a.txt /a\n";
    for name in [
        "Dockerfile",
        "svc/Containerfile",
        "svc/api/api.Dockerfile",
        "svc/api/worker.dockerfile",
        "deep/er/still/Dockerfile.dev",
        "deep/Containerfile.arm",
    ] {
        assert_bytes(&root.join(name), fixed);
    }
    for name in [
        "build/Dockerfile",
        "svc/generated.Dockerfile",
        "README.md",
        "dockerfile-notes.txt",
        "MyDockerfile",
        "weird.txt",
    ] {
        assert_bytes(&root.join(name), content);
    }
    assert_no_temp_files(root);
}

#[test]
fn same_file_named_twice_is_processed_once() {
    // Regression: a file reached through two PATH arguments (`Dockerfile .`, or `Dockerfile
    // ./Dockerfile`) is processed and reported twice: two `diff --git a/Dockerfile` patches
    // for the same file, which `git apply` rejects, and "2 files checked". main.rs runs
    // discovery per argument and discover::dockerfiles only dedups consecutive equal paths.
    let (dir, dockerfile) = both_project();
    let out = dockfix(dir.path(), &["fix", "--select", BOTH, "Dockerfile", "."]);
    assert_exit(&out, 0);
    assert_stderr_contains(&out, "1 file checked");
    assert_stdout_eq(&out, BOTH_DIFF);
    assert_exit(&git(dir.path(), &["init", "-q"]), 0);
    write(dir.path(), "fix.diff", &out.stdout);
    assert_exit(&git(dir.path(), &["apply", "--check", "fix.diff"]), 0);
    assert_bytes(&dockerfile, BOTH_INPUT);
}

#[test]
fn diff_paths_are_normalized_for_git_apply() {
    // Regression: a PATH with a `..` component (`sub/../Dockerfile`) is put into the diff headers as
    // is (`a/sub/../Dockerfile`); `git apply` rejects it with "invalid path". file_result::diff_path
    // only strips the working directory and `./`.
    let (dir, dockerfile) = both_project();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let out = dockfix(dir.path(), &["fix", "--select", BOTH, "sub/../Dockerfile"]);
    assert_exit(&out, 0);
    assert_exit(&git(dir.path(), &["init", "-q"]), 0);
    write(dir.path(), "fix.diff", &out.stdout);
    let check = git(dir.path(), &["apply", "--check", "fix.diff"]);
    assert_exit(&check, 0);
    assert_bytes(&dockerfile, BOTH_INPUT);
}

#[test]
fn absolute_path_inside_working_directory_gives_relative_diff_paths() {
    let (dir, _dockerfile) = both_project();
    let absolute = dir.path().join("Dockerfile");
    let out = dockfix(dir.path(), &["fix", "--select", BOTH, absolute.to_str().unwrap()]);
    assert_exit(&out, 0);
    assert_stdout_eq(&out, BOTH_DIFF);
}

// ---------------------------------------------------------------------------------------------
// 11. Symlinks and permissions
// ---------------------------------------------------------------------------------------------

#[test]
fn write_through_symlink_rewrites_target_and_keeps_link_and_mode() {
    let dir = tempdir();
    let root = dir.path();
    let target = write(root, "real/base.Dockerfile", BOTH_INPUT);
    write(root, "app/local.txt", "plain\n");
    set_mode(&target, 0o640);
    std::fs::create_dir_all(root.join("app")).unwrap();
    let link = root.join("app/Dockerfile");
    std::os::unix::fs::symlink("../real/base.Dockerfile", &link).unwrap();

    let out = dockfix(root, &["fix", "--write", "--select", BOTH, "app/Dockerfile"]);
    assert_exit(&out, 0);
    assert_finding(&out, "app/Dockerfile:2: add-to-copy: ", "[fixed, safe]");

    let meta = std::fs::symlink_metadata(&link).unwrap();
    assert!(meta.file_type().is_symlink(), "the link was replaced by a file");
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("../real/base.Dockerfile"));
    assert_bytes(&target, BOTH_OUTPUT);
    assert_eq!(mode(&target), 0o640);
    assert_no_temp_files(root);
}

#[test]
fn write_keeps_permissions_of_regular_files() {
    let dir = tempdir();
    write(dir.path(), "local.txt", "plain\n");
    for (name, file_mode) in [("a.Dockerfile", 0o640), ("b.Dockerfile", 0o600), ("c.Dockerfile", 0o755)] {
        let file = write(dir.path(), name, BOTH_INPUT);
        set_mode(&file, file_mode);
    }
    let out = dockfix(dir.path(), &["fix", "--write", "--select", BOTH, "."]);
    assert_exit(&out, 0);
    for (name, file_mode) in [("a.Dockerfile", 0o640), ("b.Dockerfile", 0o600), ("c.Dockerfile", 0o755)] {
        let file = dir.path().join(name);
        assert_bytes(&file, BOTH_OUTPUT);
        assert_eq!(mode(&file), file_mode, "{name}");
    }
    assert_no_temp_files(dir.path());
}

// ---------------------------------------------------------------------------------------------
// 12. parse
// ---------------------------------------------------------------------------------------------

#[test]
fn parse_prints_instruction_model_as_json() {
    let dir = tempdir();
    write(
        dir.path(),
        "Dockerfile",
        "# syntax=docker/dockerfile:1\nARG VERSION=12\nFROM debian:${VERSION} AS build\nRUN echo a \\\n  && echo b\n\nFROM scratch\ncopy --from=build /x /x\n",
    );
    let out = dockfix(dir.path(), &["parse", "Dockerfile"]);
    assert_exit(&out, 0);
    let doc = json_stdout(&out);
    assert_eq!(
        doc,
        json!([
            {"keyword": "ARG", "start_line": 2, "end_line": 2, "stage": null, "opaque": false},
            {"keyword": "FROM", "start_line": 3, "end_line": 3, "stage": 0, "opaque": false},
            {"keyword": "RUN", "start_line": 4, "end_line": 5, "stage": 0, "opaque": false},
            {"keyword": "FROM", "start_line": 7, "end_line": 7, "stage": 1, "opaque": false},
            {"keyword": "COPY", "start_line": 8, "end_line": 8, "stage": 1, "opaque": false},
        ]),
        "{}",
        show(&out)
    );

    let out = dockfix(dir.path(), &["parse", "missing"]);
    assert_exit(&out, 2);
    assert_stderr_contains(&out, "missing: cannot read");
}

// ---------------------------------------------------------------------------------------------
// 13. rules, explain, help
// ---------------------------------------------------------------------------------------------

#[test]
fn rules_lists_transforms_and_explain_prints_docs() {
    let dir = tempdir();
    let out = dockfix(dir.path(), &["rules"]);
    assert_exit(&out, 0);
    let rules = stdout(&out);
    let line = |id: &str| {
        rules
            .lines()
            .find(|line| line.starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("`rules` does not list {id}:\n{rules}"))
            .to_string()
    };
    assert!(line("add-to-copy").contains("(alias: DL3020)"));
    line("strip-setuid");

    let explain = dockfix(dir.path(), &["explain", "add-to-copy"]);
    assert_exit(&explain, 0);
    let text = stdout(&explain);
    for section in ["# add-to-copy\n", "## What it does\n", "## Why\n", "## Example\n", "## Fix safety\n"] {
        assert!(text.contains(section), "explain add-to-copy lacks {section:?}:\n{text}");
    }
    for (alias, id) in
        [("DL3020", "add-to-copy"), ("dl3020", "add-to-copy"), ("STRIP-SETUID", "strip-setuid")]
    {
        let by_alias = dockfix(dir.path(), &["explain", alias]);
        assert_exit(&by_alias, 0);
        let by_id = dockfix(dir.path(), &["explain", id]);
        assert_eq!(stdout(&by_alias), stdout(&by_id), "explain {alias}");
    }
    let strip = dockfix(dir.path(), &["explain", "strip-setuid"]);
    assert_exit(&strip, 0);
    for section in ["# strip-setuid\n", "## What it does\n", "## Why\n", "## Example\n", "## Fix safety\n"] {
        assert_stdout_contains(&strip, section);
    }

    let unknown = dockfix(dir.path(), &["explain", "nope"]);
    assert_exit(&unknown, 2);
    assert_stdout_eq(&unknown, "");
    assert_stderr_contains(&unknown, "unknown transform `nope`");
    assert_stderr_contains(&unknown, "add-to-copy");
    assert_stderr_contains(&unknown, "strip-setuid");

    for help in ["--help", "-h"] {
        let out = dockfix(dir.path(), &["fix", help]);
        assert_exit(&out, 0);
        assert_stdout_contains(&out, "Exit codes: 0 done, 1 changes pending (--check), 2 error");
        assert_stdout_contains(&out, "--safe-only");
    }
}

// ---------------------------------------------------------------------------------------------
// 14. Argument errors
// ---------------------------------------------------------------------------------------------

#[test]
fn write_with_check_is_a_usage_error() {
    let (dir, dockerfile) = both_project();
    let out = dockfix(dir.path(), &["fix", "--write", "--check", "--select", BOTH, "Dockerfile"]);
    assert_exit(&out, 2);
    assert_stdout_eq(&out, "");
    assert_stderr_contains(&out, "'--write' cannot be used with '--check'");
    assert_bytes(&dockerfile, BOTH_INPUT);

    for args in [
        &["fix", "--format", "yaml", "Dockerfile"][..],
        &["fix", "--no-such-flag", "Dockerfile"][..],
        &["frobnicate"][..],
        &[][..],
        &["explain"][..],
        &["parse"][..],
    ] {
        let out = dockfix(dir.path(), args);
        assert_exit(&out, 2);
        assert_stdout_eq(&out, "");
        // clap's own messages: `error: ...`, or the help when no subcommand is given.
        assert!(
            stderr(&out).contains("error: ") || stderr(&out).contains("Usage: dockfix"),
            "{args:?}\n{}",
            show(&out)
        );
    }
    assert_bytes(&dockerfile, BOTH_INPUT);
}

#[test]
fn nonexistent_context_dir_is_an_error() {
    // Regression: `--context DIR` naming a directory that does not exist is accepted silently (exit 0);
    // every ADD source is then "missing from the build context". A bad argument should exit 2
    // with a message naming DIR.
    let (dir, dockerfile) = both_project();
    let out =
        dockfix(dir.path(), &["fix", "--select", "add-to-copy", "--context", "no-such-dir", "Dockerfile"]);
    assert_exit(&out, 2);
    assert_stderr_contains(&out, "no-such-dir");
    assert_bytes(&dockerfile, BOTH_INPUT);
}

#[test]
fn user_name_and_id_choose_the_created_user_and_are_validated() {
    let dir = tempdir();
    let input = b"FROM debian:12\nCOPY a /a\nCMD x\n";
    let args = ["fix", "--select", "non-root-user", "--user-name", "svc", "--user-id", "2000", "-"];
    let out = dockfix_stdin(dir.path(), &args, input);
    assert_exit(&out, 0);
    assert_stdout_eq(
        &out,
        "FROM debian:12\nRUN if ! id -u svc >/dev/null 2>&1; then grep -q ^svc: /etc/group || groupadd --system --gid 2000 svc; useradd --system --uid 2000 --gid svc --no-log-init --create-home svc; fi\nCOPY --chown=svc:svc a /a\nUSER svc\nCMD x\n",
    );
    for bad in
        [["--user-name", "Root"], ["--user-name", "root"], ["--user-name", "9lives"], ["--user-id", "0"]]
    {
        let out = dockfix_stdin(dir.path(), &["fix", bad[0], bad[1], "-"], input);
        assert_exit(&out, 2);
        assert_stdout_eq(&out, "");
        assert_stderr_contains(&out, bad[0]);
    }
}

#[test]
fn group_id_from_config_and_flag_and_the_flag_wins() {
    let dir = tempdir();
    write(dir.path(), "dockfix.toml", "[non-root-user]\nuser-id = 10001\ngroup-id = 2000\n");
    let input = b"FROM alpine:3.20\nCOPY a /a\nCMD x\n";
    let out = dockfix_stdin(dir.path(), &["fix", "--select", "non-root-user", "-"], input);
    assert_exit(&out, 0);
    assert_stdout_eq(
        &out,
        "FROM alpine:3.20\nRUN if ! id -u app >/dev/null 2>&1; then grep -q ^app: /etc/group || addgroup -S -g 2000 app; adduser -S -D -u 10001 -G app app; fi\nCOPY --chown=app:app a /a\nUSER app\nCMD x\n",
    );
    assert_stderr_contains(&out, "create system user `app` (UID 10001, GID 2000)");

    let args = ["fix", "--select", "non-root-user", "--group-id", "3000", "-"];
    let out = dockfix_stdin(dir.path(), &args, input);
    assert_stdout_contains(&out, "addgroup -S -g 3000 app; adduser -S -D -u 10001 -G app app");
    let out = dockfix_stdin(dir.path(), &args, b"FROM scratch\nCOPY a /a\nCMD [\"/a\"]\n");
    assert_stdout_eq(&out, "FROM scratch\nCOPY --chown=10001:3000 a /a\nUSER 10001:3000\nCMD [\"/a\"]\n");

    // Without a group-id, the GID follows the UID, from wherever the UID comes.
    let args = ["fix", "--no-config", "--select", "non-root-user", "--user-id", "4000", "-"];
    let out = dockfix_stdin(dir.path(), &args, input);
    assert_stdout_contains(&out, "addgroup -S -g 4000 app; adduser -S -D -u 4000 -G app app");
    assert_stderr_contains(&out, "(UID/GID 4000)");

    let out = dockfix_stdin(dir.path(), &["fix", "--group-id", "0", "-"], input);
    assert_exit(&out, 2);
    assert_stderr_contains(&out, "--group-id");
    write(dir.path(), "dockfix.toml", "[non-root-user]\ngroup-id = 0\n");
    let out = dockfix_stdin(dir.path(), &["fix", "--select", "non-root-user", "-"], input);
    assert_exit(&out, 2);
    assert_stderr_contains(&out, "group-id 0 is not a non-root GID");
    assert_stdout_eq(&out, "");
}

/// A registry address where nothing listens: a lookup there fails fast with "cannot connect".
fn closed_registry() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").to_string()
}

#[test]
fn pin_mode_none_in_the_config_asks_no_registry_and_a_configured_mode_is_explicit() {
    let dir = tempdir();
    let registry = closed_registry();
    let text = format!("FROM {registry}/team/app\nCOPY --from={registry}/team/tools:latest /t /t\n");
    let dockerfile = write(dir.path(), "Dockerfile", &text);
    let config = |mode: &str| {
        format!(
            "[pin-images]\nmode = \"{mode}\"\ninsecure-registries = [\"{registry}\"]\ntimeout-seconds = 5\n"
        )
    };
    write(dir.path(), "dockfix.toml", config("none"));
    let out = dockfix(dir.path(), &["fix", "--select", "pin-images", "--write", "Dockerfile"]);
    assert_exit(&out, 0);
    assert!(!stderr(&out).contains("pin-images"), "no lookup, no finding\n{}", show(&out));
    assert_bytes(&dockerfile, &text);

    // The same file with a mode that pins: the lookups are made, fail, and since the config
    // named the mode, that is an error. (pin-images runs here without being named.)
    write(dir.path(), "dockfix.toml", config("tag"));
    let all_but_pin = "multi-stage,add-to-copy,non-root-user,strip-setuid,env-secrets";
    let out = dockfix(dir.path(), &["fix", "--ignore", all_but_pin, "--write", "Dockerfile"]);
    assert_exit(&out, 2);
    assert_stderr_contains(&out, &format!("cannot connect to {registry}"));
    assert_stderr_contains(&out, "2 image lookups failed");
    assert_bytes(&dockerfile, &text);
    // `--pin none` wins over the file.
    let out = dockfix(dir.path(), &["fix", "--ignore", all_but_pin, "--pin", "none", "Dockerfile"]);
    assert_exit(&out, 0);
    assert!(!stderr(&out).contains("cannot connect"), "{}", show(&out));
    // Without a mode in the config (nor --pin, nor pin-images selected by name) a failed
    // lookup is a finding, not an error.
    write(dir.path(), "dockfix.toml", format!("[pin-images]\ninsecure-registries = [\"{registry}\"]\n"));
    let out = dockfix(dir.path(), &["fix", "--ignore", all_but_pin, "Dockerfile"]);
    assert_exit(&out, 0);
    assert_stderr_contains(&out, &format!("cannot connect to {registry}"));
}

#[test]
fn pin_mode_digest_from_the_config_offline_reports_what_needs_a_digest() {
    let dir = tempdir();
    let text = "FROM python:3.12-slim\nRUN pip install flask\n";
    let dockerfile = write(dir.path(), "app/Dockerfile", text);
    write(dir.path(), "other/Dockerfile", text);
    write(dir.path(), "app/dockfix.toml", "select = [\"pin-images\"]\n[pin-images]\nmode = \"digest\"\n");
    write(dir.path(), "other/dockfix.toml", "select = [\"pin-images\"]\n");
    let out = dockfix(dir.path(), &["fix", "--offline", "."]);
    assert_exit(&out, 0);
    assert_stdout_eq(&out, "");
    let err = stderr(&out);
    assert_eq!(
        err.matches("is not pinned: offline (--offline)").count(),
        1,
        "only app/ pins digests\n{}",
        show(&out)
    );
    assert!(err.contains("app/Dockerfile:1"), "{}", show(&out));
    assert!(!err.contains("other/Dockerfile:"), "a version tag needs nothing in tag mode\n{}", show(&out));
    assert_bytes(&dockerfile, text);
}

// ---------------------------------------------------------------------------------------------
// dockfix.toml, secrets modes, the pull-request body
// ---------------------------------------------------------------------------------------------

const SECRET_INPUT: &str = "FROM debian:12\nENV NPM_TOKEN=hunter2-value\nRUN npm ci --token \"$NPM_TOKEN\"\n";

#[test]
fn the_nearest_config_applies_and_flags_win_over_it() {
    let dir = tempdir();
    write(
        dir.path(),
        "dockfix.toml",
        "select = [\"non-root-user\"]\n[non-root-user]\nuser-name = \"svc\"\nuser-id = 2000\n",
    );
    write(dir.path(), "a/Dockerfile", "FROM debian:12\nCMD x\n");
    write(
        dir.path(),
        "b/dockfix.toml",
        "select = [\"non-root-user\"]\n[non-root-user]\nuser-name = \"web\"\n",
    );
    write(dir.path(), "b/Dockerfile", "FROM debian:12\nCMD x\n");
    let out = dockfix(dir.path(), &["fix", "."]);
    assert_exit(&out, 0);
    assert_stdout_contains(&out, "useradd --system --uid 2000 --gid svc --no-log-init --create-home svc");
    assert_stdout_contains(&out, "useradd --system --uid 10001 --gid web --no-log-init --create-home web");

    let out = dockfix(dir.path(), &["fix", "--user-name", "cli", "a"]);
    assert_stdout_contains(&out, "useradd --system --uid 2000 --gid cli --no-log-init --create-home cli");
    let out = dockfix(dir.path(), &["fix", "--no-config", "--select", "non-root-user", "a"]);
    assert_stdout_contains(&out, "--create-home app");
    let out = dockfix(dir.path(), &["fix", "--config", "b/dockfix.toml", "a"]);
    assert_stdout_contains(&out, "--create-home web");
}

#[test]
fn a_config_typo_is_an_error_with_file_and_line_and_nothing_is_written() {
    let dir = tempdir();
    write(dir.path(), "dockfix.toml", "select = [\"env-secrets\"]\n\n[env-secrets]\nmdoe = \"arg\"\n");
    let dockerfile = write(dir.path(), "Dockerfile", SECRET_INPUT);
    let out = dockfix(dir.path(), &["fix", "--write", "Dockerfile"]);
    assert_exit(&out, 2);
    assert_stderr_contains(
        &out,
        "dockfix.toml:4:1: unknown field `mdoe`, expected one of `mode`, `extra-names`, `allow-names`",
    );
    assert_bytes(&dockerfile, SECRET_INPUT);

    write(dir.path(), "dockfix.toml", "[env-secrets]\nmode = \"bogus\"\n");
    let out = dockfix(dir.path(), &["fix", "Dockerfile"]);
    assert_exit(&out, 2);
    assert_stderr_contains(&out, "dockfix.toml:2:8: unknown variant `bogus`");
    let out = dockfix(dir.path(), &["fix", "--config", "missing.toml", "Dockerfile"]);
    assert_exit(&out, 2);
    assert_stderr_contains(&out, "--config missing.toml: no such file");
}

#[test]
fn a_broken_config_fails_only_the_files_it_governs() {
    let dir = tempdir();
    let governed = write(dir.path(), "b/Dockerfile", "FROM debian:12\nADD a.txt /a\n");
    write(dir.path(), "b/dockfix.toml", "selcet = [\"add-to-copy\"]\n");
    let free = write(dir.path(), "a/Dockerfile", "FROM debian:12\nADD a.txt /a\n");
    let out = dockfix(dir.path(), &["fix", "--write", "--offline", "--select", "add-to-copy", "."]);
    assert_exit(&out, 2);
    // Named as a linter names them: relative, without the walk's `./`.
    assert_stderr_contains(
        &out,
        "error: b/Dockerfile: not fixed: b/dockfix.toml:1:1: unknown field `selcet`",
    );
    assert_stderr_contains(&out, "2 files checked, 1 changed");
    assert_bytes(&governed, "FROM debian:12\nADD a.txt /a\n");
    assert_bytes(&free, "FROM debian:12\nCOPY a.txt /a\n");
}

#[test]
fn secrets_modes_from_flag_and_config() {
    let dir = tempdir();
    let select = ["fix", "--select", "env-secrets"];
    let file_form = "FROM debian:12\nRUN --mount=type=secret,id=npm-token export NPM_TOKEN=\"$(cat /run/secrets/npm-token)\" && npm ci --token \"$NPM_TOKEN\"\n";
    let env_form = "# syntax=docker/dockerfile:1.10\nFROM debian:12\nRUN --mount=type=secret,id=npm-token,env=NPM_TOKEN npm ci --token \"$NPM_TOKEN\"\n";
    // The default: a file mount that Docker and buildah build without a syntax directive.
    let out = dockfix_stdin(dir.path(), &[&select[..], &["-"]].concat(), SECRET_INPUT.as_bytes());
    assert_stdout_eq(&out, file_form);
    assert_stderr_contains(
        &out,
        "<stdin>: build it with: docker build --secret id=npm-token,env=NPM_TOKEN .",
    );
    // `env`, and `mount`, its earlier name, on the command line and in dockfix.toml.
    for mode in ["env", "mount"] {
        let out = dockfix_stdin(
            dir.path(),
            &[&select[..], &["--secrets", mode, "-"]].concat(),
            SECRET_INPUT.as_bytes(),
        );
        assert_stdout_eq(&out, env_form);
        write(dir.path(), "dockfix.toml", format!("[env-secrets]\nmode = \"{mode}\"\n"));
        let out = dockfix_stdin(dir.path(), &[&select[..], &["-"]].concat(), SECRET_INPUT.as_bytes());
        assert_stdout_eq(&out, env_form);
        let out = dockfix_stdin(
            dir.path(),
            &[&select[..], &["--secrets", "file", "-"]].concat(),
            SECRET_INPUT.as_bytes(),
        );
        assert_stdout_eq(&out, file_form);
    }
    write(dir.path(), "dockfix.toml", "[env-secrets]\nmode = \"arg\"\n");
    let out = dockfix_stdin(dir.path(), &[&select[..], &["-"]].concat(), SECRET_INPUT.as_bytes());
    assert_stdout_eq(&out, "FROM debian:12\nARG NPM_TOKEN\nRUN npm ci --token \"$NPM_TOKEN\"\n");
    assert_stderr_contains(&out, "build it with: docker build --build-arg NPM_TOKEN .");
    assert!(!stderr(&out).contains("hunter2"), "the value is never printed: {}", show(&out));
}

#[test]
fn markdown_is_a_pull_request_body_without_secret_values() {
    let dir = tempdir();
    write(dir.path(), "app/Dockerfile", SECRET_INPUT);
    write(dir.path(), "web/Dockerfile", "FROM nginx:1.27\nADD site /usr/share/nginx/html\n");
    write(dir.path(), "web/site/index.html", "<p>hi</p>\n");
    let out = dockfix(dir.path(), &["fix", "--format", "markdown", "--no-config"]);
    assert_exit(&out, 0);
    let body = stdout(&out);
    let title = body.lines().next().unwrap_or_default();
    assert!(title.starts_with("dockfix: harden 2 Dockerfiles ("), "{title}");
    for needle in [
        "### `app/Dockerfile`",
        "**The build command must change**\n\n```sh\ndocker build --secret id=npm-token,env=NPM_TOKEN .\n```",
        "- [ ] rotate NPM_TOKEN",
        "**Risks to check**",
        "*Reference: hadolint DL3020",
    ] {
        assert!(body.contains(needle), "missing {needle:?} in\n{body}");
    }
    assert!(!body.contains("hunter2"), "a secret value is printed:\n{body}");
    let again = dockfix(dir.path(), &["fix", "--format", "markdown", "--no-config"]);
    assert_eq!(again.stdout, out.stdout, "same input, same bytes");
}

#[test]
fn suppression_comments_with_unknown_ids_or_nothing_to_suppress_are_warned_about() {
    let dir = tempdir();
    let input = "FROM debian:12\n# dockfix: ignore=add-to-copy,nope\nCOPY a /b\n# dockfix: ignore=env-secrets\nENV DB_PASSWORD=x1234567\n# hadolint ignore=DL3008\nRUN apt-get install -y curl\n";
    let select = ["fix", "--select", "add-to-copy,env-secrets", "--no-config"];
    let out = dockfix_stdin(dir.path(), &[&select[..], &["-"]].concat(), input.as_bytes());
    assert_exit(&out, 0);
    assert_stdout_eq(&out, input);
    assert_stderr_contains(&out, "warning: <stdin>:2: `nope` names no transform");
    assert!(!stderr(&out).contains("suppresses nothing here"), "unused only on request: {}", show(&out));

    let out = dockfix_stdin(
        dir.path(),
        &[&select[..], &["--warn-unused-suppressions", "--format", "json", "-"]].concat(),
        input.as_bytes(),
    );
    let doc = json_stdout(&out);
    let warnings: Vec<(u64, &str)> = doc["files"][0]["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| (w["line"].as_u64().unwrap_or(0), w["kind"].as_str().unwrap_or("")))
        .collect();
    // The env-secrets comment hides a real secret (used); hadolint's own codes are not judged.
    assert_eq!(warnings, [(2, "unknown-id"), (2, "unused")], "{doc:#}");
}

#[test]
fn a_suggestion_shows_its_change_without_writing_it() {
    let dir = tempdir();
    // `go build` without -o: the output is named after go.mod's module path, so multi-stage
    // only suggests the split.
    let input = "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build\nCMD [\"./myapp\"]\n";
    let dockerfile = write(dir.path(), "Dockerfile", input);
    let out = dockfix(dir.path(), &["fix", "--select", "multi-stage", "Dockerfile"]);
    assert_exit(&out, 0);
    assert_stdout_eq(&out, "");
    assert_finding(
        &out,
        "Dockerfile:1: multi-stage: could split",
        "[not fixed: suggestion only: review and apply by hand]",
    );
    assert_stderr_contains(
        &out,
        "    suggested change (not applied):\n    diff --git a/Dockerfile b/Dockerfile\n",
    );
    assert_stderr_contains(&out, "\n    +COPY --from=builder /src/myapp /src/myapp\n");
    let json = dockfix(dir.path(), &["fix", "--format", "json", "--select", "multi-stage", "Dockerfile"]);
    let doc = json_stdout(&json);
    let finding = &doc["files"][0]["findings"][0];
    assert_eq!(finding["applicability"], "suggestion");
    let diff = finding["suggestion"].as_str().expect("a suggestion diff");
    assert!(diff.contains("+FROM gcr.io/distroless/static-debian12:nonroot\n"), "{diff}");
    let write = dockfix(dir.path(), &["fix", "--write", "--select", "multi-stage", "Dockerfile"]);
    assert_exit(&write, 0);
    assert_bytes(&dockerfile, input);
}

// ---------------------------------------------------------------------------------------------
// 15. Whole-file verdicts: not a Dockerfile, templates, generated files
// ---------------------------------------------------------------------------------------------

const PASSWD: &str =
    "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
const TEMPLATE: &str = "{{ def base: \"debian:12\" -}}\nFROM {{ base }}\nADD a.txt /a\n";
const GENERATED: &str = "# Code generated by gen.sh. DO NOT EDIT.\nFROM debian:12\nADD a.txt /a\n";

#[test]
fn a_file_without_from_is_not_a_dockerfile() {
    let dir = tempdir();
    write(dir.path(), "Dockerfile", PASSWD);
    assert_rejected(
        dir.path(),
        "Dockerfile",
        "Dockerfile: not a Dockerfile: no FROM instruction, and line 1: `root:x:0:0:root:/root:/bin/bash` is not a Dockerfile instruction",
    );
    write(dir.path(), "typo.Dockerfile", "FROM debian:12\nCOPPY a.txt /a\n");
    assert_rejected(
        dir.path(),
        "typo.Dockerfile",
        "line 2: `COPPY a.txt /a` is not a Dockerfile instruction",
    );
    write(dir.path(), "early.Dockerfile", "ENV A=1\nFROM debian:12\n");
    assert_rejected(dir.path(), "early.Dockerfile", "line 1: `ENV A=1` comes before the first FROM");
}

#[test]
fn a_symlink_to_etc_passwd_named_dockerfile_is_not_a_dockerfile() {
    let dir = tempdir();
    let passwd = write(dir.path(), "passwd", PASSWD);
    std::os::unix::fs::symlink(&passwd, dir.path().join("Dockerfile")).expect("symlink");
    assert_rejected(dir.path(), "Dockerfile", "Dockerfile: not a Dockerfile: no FROM instruction");
    assert_bytes(&passwd, PASSWD);
}

/// In a walk, a file that is not a Dockerfile is that file's error, as a broken dockfix.toml
/// is: the others are still fixed, and the run exits 2.
#[test]
fn a_non_dockerfile_in_a_walk_fails_only_itself() {
    let dir = tempdir();
    write(dir.path(), "a.txt", "a\n");
    let bad = write(dir.path(), "Dockerfile.passwd", PASSWD);
    let good = write(dir.path(), "Dockerfile", "FROM debian:12\nADD a.txt /a\n");
    let out = dockfix(dir.path(), &["fix", "--write", "--offline", "--select", "add-to-copy", "."]);
    assert_exit(&out, 2);
    assert_stderr_contains(&out, "error: Dockerfile.passwd: not a Dockerfile: no FROM instruction");
    assert_stderr_contains(&out, "2 files checked, 1 changed");
    assert_bytes(&bad, PASSWD);
    assert_bytes(&good, "FROM debian:12\nCOPY a.txt /a\n");
}

#[test]
fn stdin_that_is_not_a_dockerfile_prints_nothing_and_a_template_prints_itself() {
    let dir = tempdir();
    let out = dockfix_stdin(dir.path(), &["fix", "--select", BOTH, "-"], PASSWD.as_bytes());
    assert_exit(&out, 2);
    assert_stdout_eq(&out, "");
    assert_stderr_contains(&out, "error: <stdin>: not a Dockerfile: no FROM instruction");

    // A caller that saves stdout over the original gets the same bytes back.
    for input in [TEMPLATE, GENERATED] {
        let out = dockfix_stdin(dir.path(), &["fix", "--select", BOTH, "-"], input.as_bytes());
        assert_exit(&out, 0);
        assert_stdout_eq(&out, input);
        assert_stderr_contains(&out, "<stdin>:");
        assert_stderr_contains(&out, ": whole-file: ");
    }
    let out = dockfix_stdin(dir.path(), &["fix", "--check", "--select", BOTH, "-"], TEMPLATE.as_bytes());
    assert_exit(&out, 0);
}

#[test]
fn a_template_is_left_unchanged_with_a_finding_not_an_error() {
    let dir = tempdir();
    write(dir.path(), "a.txt", "a\n");
    let template = write(dir.path(), "Dockerfile.template", TEMPLATE);
    for mode in ["--check", "--write"] {
        let out = dockfix(dir.path(), &["fix", mode, "--select", BOTH, "Dockerfile.template"]);
        assert_exit(&out, 0);
        assert_stdout_eq(&out, "");
        assert_finding(
            &out,
            "Dockerfile.template:1: whole-file: not a buildable Dockerfile: line 1 starts with the template tag `{{`; left unchanged",
            "[no fix]",
        );
        assert_stderr_contains(&out, "0 errors\n");
        assert_bytes(&template, TEMPLATE);
    }
    let out = dockfix(dir.path(), &["fix", "--format", "json", "--select", BOTH, "Dockerfile.template"]);
    let doc = json_stdout(&out);
    let findings = doc["files"][0]["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 1, "only the verdict: the template's own words are not fixed");
    assert_eq!(findings[0]["transform"], "whole-file");
    assert_eq!(findings[0]["fixed"], false);
}

#[test]
fn a_generated_file_is_reported_not_edited_unless_asked() {
    let dir = tempdir();
    write(dir.path(), "a.txt", "a\n");
    write(dir.path(), "gen.sh", "#!/bin/sh\n");
    let generated = write(dir.path(), "Dockerfile", GENERATED);
    let out = dockfix(dir.path(), &["fix", "--check", "--select", "add-to-copy", "Dockerfile"]);
    assert_exit(&out, 0);
    assert_stdout_eq(&out, "");
    assert_finding(
        &out,
        "Dockerfile:3: add-to-copy: ",
        "[not fixed: generated file (line 1): change its source, or use --fix-generated]",
    );
    let marker = stderr_line(&out, "Dockerfile:1: whole-file: generated file (line 1: ");
    assert!(marker.contains("change the source instead: probably `gen.sh`"), "{marker}");

    // The flag, or the project's config, applies the fixes.
    let out =
        dockfix(dir.path(), &["fix", "--check", "--fix-generated", "--select", "add-to-copy", "Dockerfile"]);
    assert_exit(&out, 1);
    write(dir.path(), "dockfix.toml", "fix-generated = true\n");
    let out = dockfix(dir.path(), &["fix", "--write", "--select", "add-to-copy", "Dockerfile"]);
    assert_exit(&out, 0);
    assert_bytes(&generated, GENERATED.replace("ADD", "COPY"));
}

#[test]
fn explain_whole_file_prints_the_verdicts() {
    let dir = tempdir();
    let out = dockfix(dir.path(), &["explain", "whole-file"]);
    assert_exit(&out, 0);
    assert_stdout_contains(&out, "# whole-file\n");
    assert_stdout_contains(&out, "## What it does\n");
    assert_stdout_contains(&out, "--fix-generated");
}
