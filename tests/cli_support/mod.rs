//! Helpers of the tests that run the `dockfix` binary (cli, hostile, summary): temporary
//! directories, files, and assertions on a finished process that show what it printed.
//! Each test binary uses its own subset.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

/// How much of stdout a failed assertion shows: hostile inputs print megabytes.
const SHOWN_STDOUT_BYTES: usize = 4000;

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

/// Writes `dir/name`, creating its directories; returns its path.
pub fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create directories");
    }
    std::fs::write(&path, bytes).expect("write file");
    path
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exit code, stdout (its start) and stderr, for assertion messages.
pub fn show(out: &Output) -> String {
    let shown = &out.stdout[..out.stdout.len().min(SHOWN_STDOUT_BYTES)];
    format!(
        "exit: {:?}\n--- stdout ({} of {} bytes) ---\n{}\n--- stderr ---\n{}",
        out.status.code(),
        shown.len(),
        out.stdout.len(),
        String::from_utf8_lossy(shown),
        stderr(out)
    )
}

#[track_caller]
pub fn assert_exit(out: &Output, code: i32) {
    assert_eq!(out.status.code(), Some(code), "wrong exit code\n{}", show(out));
}

#[track_caller]
pub fn assert_stderr_contains(out: &Output, needle: &str) {
    assert!(stderr(out).contains(needle), "stderr lacks {needle:?}\n{}", show(out));
}
