//! Hostile inputs: huge, strange or moving files. Each must end quickly with a clear message
//! (or a correct fix), never a panic, a hang or a partly written file. Bad-input cases that
//! `tests/cli.rs` already covers (NUL bytes, invalid UTF-8, empty files, a file read-only
//! before the run, missing files, symlinked files) are not repeated here.
//!
//! Every run has a deadline: a hang fails the test instead of stalling the suite.

#![cfg(unix)]

use std::io::{Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use dockfix::files;

mod cli_support;
use cli_support::{assert_exit, assert_stderr_contains, stderr, tempdir, write};

/// Longest any single dockfix run here may take (debug build, busy machine).
const DEADLINE: Duration = Duration::from_secs(60);

const STRIP: &str = "RUN find / -xdev -type f -perm -4000 -exec chmod a-s {} + \\\n      -o -type f -perm -2000 -exec chmod a-s {} + ; \\\n    find / -xdev -type f -perm -4000 -exec ls -l {} + -exec false {} + \\\n      -o -type f -perm -2000 -exec ls -l {} + -exec false {} +\n";

fn spawn(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_dockfix"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run dockfix")
}

/// Waits for `child` with the deadline; output is read while waiting so a full pipe cannot
/// stall it.
fn finish(mut child: Child, what: &str) -> Output {
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let err_reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr.read_to_end(&mut bytes);
        bytes
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for dockfix") {
            break status;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: dockfix still running after {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out_reader.join().expect("stdout reader"),
        stderr: err_reader.join().expect("stderr reader"),
    }
}

fn dockfix(dir: &Path, args: &[&str]) -> Output {
    finish(spawn(dir, args), &args.join(" "))
}

/// No `.dockfix-*` temporary file anywhere under `dir`.
#[track_caller]
fn assert_no_temp_files(dir: &Path) {
    let leftovers: Vec<String> = walk(dir)
        .into_iter()
        .filter(|path| path.file_name().is_some_and(|name| name.to_string_lossy().starts_with(".dockfix-")))
        .map(|path| path.display().to_string())
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// Preview, `--check` and `--write` all exit 2 naming the problem, print nothing on stdout,
/// and leave the file as it was.
#[track_caller]
fn assert_declined(dir: &Path, name: &str, extra: &[&str], message: &str) {
    let before =
        std::fs::symlink_metadata(dir.join(name)).map(|meta| (meta.len(), meta.modified().ok())).ok();
    for mode in [None, Some("--check"), Some("--write")] {
        let mut args = vec!["fix", "--select", "strip-setuid"];
        args.extend(extra);
        args.extend(mode);
        args.push(name);
        let out = dockfix(dir, &args);
        assert_exit(&out, 2);
        assert!(out.stdout.is_empty(), "{args:?} printed on stdout");
        assert_stderr_contains(&out, message);
        let after =
            std::fs::symlink_metadata(dir.join(name)).map(|meta| (meta.len(), meta.modified().ok())).ok();
        assert_eq!(after, before, "{args:?} touched {name}");
        assert_no_temp_files(dir);
    }
}

// ---------------------------------------------------------------------------------------------
// Size
// ---------------------------------------------------------------------------------------------

#[test]
fn file_over_the_size_limit_is_declined_without_being_read() {
    let dir = tempdir();
    // Sparse: 50 MB that take no disk, and would take 50 MB of memory if read.
    let big = std::fs::File::create(dir.path().join("big.Dockerfile")).expect("create");
    big.set_len(50 * 1024 * 1024).expect("set_len");
    drop(big);
    assert_declined(
        dir.path(),
        "big.Dockerfile",
        &[],
        "big.Dockerfile: 52428800 bytes, larger than the 10485760-byte limit (--max-file-size); not read",
    );

    // The limit is configurable, both ways.
    let small = "FROM debian:12\nRUN apt-get install -y curl\n".repeat(40);
    write(dir.path(), "Dockerfile", &small);
    assert_declined(dir.path(), "Dockerfile", &["--max-file-size", "1K"], "larger than the 1024-byte limit");
    let out =
        dockfix(dir.path(), &["fix", "--select", "strip-setuid", "--max-file-size", "64k", "Dockerfile"]);
    assert_exit(&out, 0);

    let out = dockfix(dir.path(), &["fix", "--max-file-size", "ten", "Dockerfile"]);
    assert_exit(&out, 2);
    assert_stderr_contains(&out, "`ten` is not a size");
}

#[test]
fn stdin_over_the_size_limit_is_declined() {
    let dir = tempdir();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dockfix"))
        .args(["fix", "--max-file-size", "1M", "-"])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run dockfix");
    let mut stdin = child.stdin.take().expect("stdin");
    let feeder = std::thread::spawn(move || {
        let chunk = "FROM debian:12\n".repeat(4096);
        // dockfix stops reading at the limit: a broken pipe is expected.
        for _ in 0..200 {
            if stdin.write_all(chunk.as_bytes()).is_err() {
                break;
            }
        }
    });
    let out = finish(child, "stdin over the limit");
    feeder.join().expect("feeder");
    assert_exit(&out, 2);
    assert!(out.stdout.is_empty());
    assert_stderr_contains(&out, "<stdin>: larger than the 1048576-byte limit (--max-file-size)");
}

#[test]
fn a_ten_megabyte_line_is_fixed() {
    let dir = tempdir();
    let long_run = format!("RUN echo {}\n", "a".repeat(10_000_000));
    let input = format!("FROM debian:12\n{long_run}");
    let path = write(dir.path(), "Dockerfile", &input);
    let out = dockfix(dir.path(), &["fix", "--select", "strip-setuid", "--write", "Dockerfile"]);
    assert_exit(&out, 0);
    let output = std::fs::read_to_string(&path).expect("read back");
    assert_eq!(output, format!("{input}{STRIP}"));
    let out = dockfix(dir.path(), &["fix", "--select", "strip-setuid", "--check", "Dockerfile"]);
    assert_exit(&out, 0);
}

#[test]
fn a_hundred_thousand_continuation_lines_are_one_instruction() {
    let dir = tempdir();
    let input =
        format!("FROM debian:12\nRUN apt-get install -y \\\n{}    curl\n", "    pkg \\\n".repeat(100_000));
    let path = write(dir.path(), "Dockerfile", &input);
    let out = dockfix(dir.path(), &["fix", "--select", "strip-setuid", "--write", "Dockerfile"]);
    assert_exit(&out, 0);
    assert_eq!(std::fs::read_to_string(&path).expect("read back"), format!("{input}{STRIP}"));
    assert_stderr_contains(&out, "Dockerfile:100003: strip-setuid:");
}

#[test]
fn ten_thousand_stages_get_one_fix_in_the_last() {
    let dir = tempdir();
    let input: String =
        (0..10_000).map(|i| format!("FROM debian:12 AS stage{i}\nRUN apt-get install -y curl\n")).collect();
    let path = write(dir.path(), "Dockerfile", &input);
    let out = dockfix(dir.path(), &["fix", "--select", "strip-setuid", "--write", "Dockerfile"]);
    assert_exit(&out, 0);
    assert_eq!(std::fs::read_to_string(&path).expect("read back"), format!("{input}{STRIP}"));
    assert_stderr_contains(&out, "1 fix (0 safe, 1 unsafe)");
}

#[test]
fn deeply_nested_and_numerous_heredocs_are_read_as_docker_reads_them() {
    let dir = tempdir();
    // Shell heredocs nested 5,000 deep inside one Dockerfile heredoc: all body text to Docker.
    let nested = format!("FROM debian:12\nRUN <<A\n{}{}A\n", "cat <<B\n".repeat(5_000), "B\n".repeat(5_000));
    let path = write(dir.path(), "nested.Dockerfile", &nested);
    let out = dockfix(dir.path(), &["fix", "--select", "strip-setuid", "--write", "nested.Dockerfile"]);
    assert_exit(&out, 0);
    assert_eq!(
        std::fs::read_to_string(&path).expect("read back"),
        format!("{nested}\n{STRIP}"),
        "a blank line after the heredoc terminator"
    );

    // 2,000 heredocs opened on one line, each with its own body and terminator.
    let markers: Vec<String> = (0..2_000).map(|i| format!("<<E{i}")).collect();
    let bodies: String = (0..2_000).map(|i| format!("echo {i}\nE{i}\n")).collect();
    let many = format!("FROM debian:12\nRUN cat {}\n{bodies}CMD [\"x\"]\n", markers.join(" "));
    write(dir.path(), "many.Dockerfile", &many);
    let out = dockfix(dir.path(), &["parse", "many.Dockerfile"]);
    assert_exit(&out, 0);
    let model: serde_json::Value = serde_json::from_slice(&out.stdout).expect("parse prints JSON");
    let lines: Vec<(u64, u64)> = model
        .as_array()
        .expect("an array")
        .iter()
        .map(|i| (i["start_line"].as_u64().unwrap_or(0), i["end_line"].as_u64().unwrap_or(0)))
        .collect();
    assert_eq!(lines, [(1, 1), (2, 4002), (4003, 4003)], "RUN ends at its last terminator");

    // A heredoc that never ends: Docker rejects the file, dockfix changes nothing.
    write(dir.path(), "open.Dockerfile", format!("FROM debian:12\nRUN <<EOF\n{}", "echo x\n".repeat(10_000)));
    let out = dockfix(dir.path(), &["fix", "--select", "strip-setuid", "--write", "open.Dockerfile"]);
    assert_stderr_contains(&out, "open.Dockerfile");
    assert_no_temp_files(dir.path());
}

// ---------------------------------------------------------------------------------------------
// Encodings
// ---------------------------------------------------------------------------------------------

#[test]
fn utf16_files_are_declined_naming_the_encoding() {
    let dir = tempdir();
    let text = "FROM debian:12\nRUN apt-get install -y curl\n";
    let little: Vec<u8> =
        [0xFF, 0xFE].into_iter().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect();
    let big: Vec<u8> =
        [0xFE, 0xFF].into_iter().chain(text.encode_utf16().flat_map(u16::to_be_bytes)).collect();
    write(dir.path(), "le.Dockerfile", little);
    write(dir.path(), "be.Dockerfile", big);
    assert_declined(
        dir.path(),
        "le.Dockerfile",
        &[],
        "le.Dockerfile:1: UTF-16 text (little-endian byte order mark)",
    );
    assert_declined(
        dir.path(),
        "be.Dockerfile",
        &[],
        "be.Dockerfile:1: UTF-16 text (big-endian byte order mark)",
    );
}

#[test]
fn invalid_utf8_in_the_middle_of_a_large_file_names_its_line() {
    let dir = tempdir();
    let mut bytes = "FROM debian:12\nRUN echo ok\n".repeat(5_000).into_bytes();
    bytes.extend_from_slice(b"RUN echo \xC3\x28\n");
    bytes.extend_from_slice("RUN echo ok\n".repeat(5_000).as_bytes());
    write(dir.path(), "Dockerfile", bytes);
    assert_declined(dir.path(), "Dockerfile", &[], "Dockerfile:10001: not valid UTF-8");
}

// ---------------------------------------------------------------------------------------------
// Special files
// ---------------------------------------------------------------------------------------------

#[test]
fn fifo_and_device_paths_are_declined_without_blocking() {
    let dir = tempdir();
    let made = Command::new("mkfifo").arg(dir.path().join("fifo.Dockerfile")).status().expect("run mkfifo");
    assert!(made.success(), "mkfifo failed");
    // Nobody ever writes to the FIFO: a plain open would wait forever.
    assert_declined(dir.path(), "fifo.Dockerfile", &[], "fifo.Dockerfile: not a regular file");
    // /dev/zero never ends; /dev/null is empty but still no Dockerfile.
    for device in ["/dev/zero", "/dev/null"] {
        let out = dockfix(dir.path(), &["fix", device]);
        assert_exit(&out, 2);
        assert_stderr_contains(&out, &format!("{device}: not a regular file"));
    }
}

#[test]
fn symlink_loops_end_with_errors_not_a_hang() {
    let dir = tempdir();
    let root = dir.path();
    write(root, "app/Dockerfile", "FROM debian:12\nRUN apt-get install -y curl\n");
    std::os::unix::fs::symlink("..", root.join("app/up")).expect("symlink");
    std::os::unix::fs::symlink("../app", root.join("app/again")).expect("symlink");
    std::os::unix::fs::symlink("self.Dockerfile", root.join("self.Dockerfile")).expect("symlink");
    std::os::unix::fs::symlink("b.Dockerfile", root.join("a.Dockerfile")).expect("symlink");
    std::os::unix::fs::symlink("a.Dockerfile", root.join("b.Dockerfile")).expect("symlink");
    std::os::unix::fs::symlink("app", root.join("dir.Dockerfile")).expect("symlink");

    let out = dockfix(root, &["fix", "--select", "strip-setuid", "."]);
    assert_exit(&out, 2);
    assert_stderr_contains(&out, "a.Dockerfile: cannot read");
    assert_stderr_contains(&out, "self.Dockerfile: cannot read");
    assert_stderr_contains(&out, "dir.Dockerfile: is a directory");
    // The real file is fixed once, however many links lead to its directory.
    assert_eq!(stderr(&out).matches("Dockerfile:2: strip-setuid").count(), 1, "{}", stderr(&out));
    assert_stderr_contains(&out, "5 files checked, 1 would change");
}

// ---------------------------------------------------------------------------------------------
// Files that change under dockfix
// ---------------------------------------------------------------------------------------------

const INPUT: &str = "FROM debian:12\nRUN apt-get install -y curl\nCMD [\"curl\"]\n";
const FIXED: &str =
    "FROM debian:12\nRUN apt-get install -y curl\nRUN find / -xdev -type f -perm -4000 -exec chmod a-s {} + \\\n      -o -type f -perm -2000 -exec chmod a-s {} + ; \\\n    find / -xdev -type f -perm -4000 -exec ls -l {} + -exec false {} + \\\n      -o -type f -perm -2000 -exec ls -l {} + -exec false {} +\nCMD [\"curl\"]\n";

/// What `--write` does once the fix is made: the file is rewritten only if it still holds
/// what was read. These are the states a file can be found in at that moment.
#[test]
fn a_file_that_moved_since_it_was_read_is_not_written() {
    let dir = tempdir();

    let gone = write(dir.path(), "gone.Dockerfile", INPUT);
    std::fs::remove_file(&gone).expect("remove");
    let error = files::replace_if_unchanged(&gone, INPUT, FIXED).expect_err("a vanished file");
    assert!(
        format!("{error:#}").contains("gone.Dockerfile: disappeared since it was read; not written"),
        "{error:#}"
    );
    assert!(!gone.exists(), "a vanished file was created again");

    let locked = write(dir.path(), "locked.Dockerfile", INPUT);
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    let error = files::replace_if_unchanged(&locked, INPUT, FIXED).expect_err("a read-only file");
    assert!(format!("{error:#}").contains("read-only; not rewritten"), "{error:#}");
    assert_eq!(std::fs::read_to_string(&locked).expect("read"), INPUT);

    let edited = write(dir.path(), "edited.Dockerfile", INPUT);
    std::fs::write(&edited, "FROM alpine\n").expect("someone else's edit");
    let error = files::replace_if_unchanged(&edited, INPUT, FIXED).expect_err("an edited file");
    assert!(format!("{error:#}").contains("changed since it was read; not written"), "{error:#}");
    assert_eq!(std::fs::read_to_string(&edited).expect("read"), "FROM alpine\n");

    let done = write(dir.path(), "done.Dockerfile", FIXED);
    files::replace_if_unchanged(&done, INPUT, FIXED).expect("already fixed the same way");
    assert_eq!(std::fs::read_to_string(&done).expect("read"), FIXED);

    let fresh = write(dir.path(), "fresh.Dockerfile", INPUT);
    files::replace_if_unchanged(&fresh, INPUT, FIXED).expect("an unchanged file");
    assert_eq!(std::fs::read_to_string(&fresh).expect("read"), FIXED);
    assert_no_temp_files(dir.path());
}

/// A tree of `count` Dockerfiles holding INPUT.
fn many_files(count: usize) -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempdir();
    let paths = (0..count).map(|i| write(dir.path(), &format!("svc{i:04}/Dockerfile"), INPUT)).collect();
    (dir, paths)
}

#[test]
fn two_processes_writing_the_same_files_both_succeed_and_agree() {
    for _ in 0..3 {
        let (dir, paths) = many_files(60);
        let args = ["fix", "--select", "strip-setuid", "--write", "."];
        let first = spawn(dir.path(), &args);
        let second = spawn(dir.path(), &args);
        let (first, second) = (finish(first, "first writer"), finish(second, "second writer"));
        assert_exit(&first, 0);
        assert_exit(&second, 0);
        for path in &paths {
            assert_eq!(std::fs::read_to_string(path).expect("read"), FIXED, "{}", path.display());
        }
        assert_no_temp_files(dir.path());
    }
}

#[test]
fn an_interrupted_write_leaves_every_file_old_or_new() {
    let mut interrupted = 0;
    for round in 0..5 {
        let (dir, paths) = many_files(400);
        let mut child = spawn(dir.path(), &["fix", "--select", "strip-setuid", "--write", "."]);
        // Kill it (SIGKILL: no clean-up runs) once it has begun writing.
        let start = Instant::now();
        while child.try_wait().expect("poll").is_none() && start.elapsed() < DEADLINE {
            if paths.iter().any(|path| std::fs::read_to_string(path).is_ok_and(|text| text != INPUT)) {
                break;
            }
            std::thread::sleep(Duration::from_micros(200 * round));
        }
        let killed = child.try_wait().expect("poll").is_none();
        let _ = child.kill();
        let _ = child.wait();
        interrupted += usize::from(killed);
        for path in &paths {
            let text = std::fs::read_to_string(path).expect("read");
            assert!(text == INPUT || text == FIXED, "{} is neither old nor new:\n{text}", path.display());
        }
        // Temporary files a killed run leaves are never taken for Dockerfiles: a rerun fixes
        // the rest and finds nothing else.
        let out = dockfix(dir.path(), &["fix", "--select", "strip-setuid", "--write", "."]);
        assert_exit(&out, 0);
        assert_stderr_contains(&out, "400 files checked");
        for path in &paths {
            assert_eq!(std::fs::read_to_string(path).expect("read"), FIXED);
        }
    }
    assert!(interrupted > 0, "no run was interrupted while writing: the test proved nothing");
}
