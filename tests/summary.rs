//! The human summary on stderr: counts per transform per file and in total, what `--safe-only`
//! would skip, colour (terminal, `NO_COLOR`, `--color`) and the progress line of long runs.
//!
//! Terminal behaviour is tested on a real pseudo-terminal made by util-linux `script`; without
//! it those tests fail under `CI=true` and are skipped loudly elsewhere.

use std::path::Path;
use std::process::{Command, Output, Stdio};

mod cli_support;
use cli_support::{stderr, tempdir, write};

const ADD_AND_ROOT: &str =
    "FROM debian:12\nADD app.py /app/\nADD run.sh /app/\nCMD [\"python3\", \"/app/app.py\"]\n";

fn dockfix(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dockfix"))
        .args(args)
        .env_remove("NO_COLOR")
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run dockfix")
}

/// Runs `dockfix ARGS` with stdout and stderr on one pseudo-terminal; what the terminal
/// showed, or `None` when `script` is missing outside CI.
fn dockfix_on_terminal(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Option<String> {
    let found = Command::new("script").arg("--version").stdout(Stdio::null()).status().is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "util-linux `script` is needed for the terminal tests (apt-get install bsdutils)"
        );
        eprintln!("SKIPPED: util-linux `script` not found; the terminal tests did not run");
        return None;
    }
    let mut command_line = vec![shell_quote(env!("CARGO_BIN_EXE_dockfix"))];
    command_line.extend(args.iter().map(|arg| shell_quote(arg)));
    let out = Command::new("script")
        .args(["--quiet", "--return", "--command", &command_line.join(" "), "/dev/null"])
        .env_remove("NO_COLOR")
        .envs(env.iter().copied())
        .env("TERM", "xterm")
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run script");
    Some(String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n"))
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[test]
fn counts_per_file_per_transform_and_what_safe_only_would_skip() {
    let dir = tempdir();
    write(dir.path(), "a/Dockerfile", ADD_AND_ROOT);
    write(dir.path(), "a/app.py", "print()\n");
    write(dir.path(), "a/run.sh", "true\n");
    write(dir.path(), "b/Dockerfile", "FROM debian:12\nADD app.tar.gz /app/\n");
    let args = ["fix", "--offline", "--select", "add-to-copy,non-root-user", "a", "b"];
    let out = dockfix(dir.path(), &args, &[]);
    let text = stderr(&out);
    assert!(
        text.contains("a/Dockerfile: would change: add-to-copy 2, non-root-user 1 (2 safe, 1 unsafe)\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "b/Dockerfile: would change: non-root-user 1 (0 safe, 1 unsafe); not fixed: add-to-copy 1\n"
        ),
        "{text}"
    );
    assert!(text.contains("fixes by transform: add-to-copy 2, non-root-user 2\n"), "{text}");
    assert!(text.contains("not fixed by transform: add-to-copy 1\n"), "{text}");
    assert!(text.contains("--safe-only would skip 2 unsafe fixes: non-root-user 2\n"), "{text}");
    assert!(
        text.ends_with(
            "2 files checked, 2 would change; 4 fixes (2 safe, 2 unsafe), 1 finding not fixed, 0 errors\n"
        ),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "no colour into a pipe: {text}");

    // With --safe-only the unsafe fixes are listed as not fixed, and nothing is left to skip.
    let out = dockfix(dir.path(), &["fix", "--offline", "--safe-only", "--select", "add-to-copy", "a"], &[]);
    let text = stderr(&out);
    assert!(text.contains("a/Dockerfile: would change: add-to-copy 2 (2 safe, 0 unsafe)\n"), "{text}");
    assert!(!text.contains("--safe-only would skip"), "{text}");
}

#[test]
fn colour_where_asked_or_on_a_terminal_without_no_color() {
    let dir = tempdir();
    write(dir.path(), "Dockerfile", ADD_AND_ROOT);
    let args = ["fix", "--offline", "--select", "non-root-user", "Dockerfile"];
    let out = dockfix(dir.path(), &[&args[..], &["--color", "always"]].concat(), &[("NO_COLOR", "1")]);
    assert!(stderr(&out).contains("\x1b[36mnon-root-user\x1b[0m"), "{}", stderr(&out));
    let out = dockfix(dir.path(), &args, &[]);
    assert!(!stderr(&out).contains('\x1b'), "{}", stderr(&out));

    let Some(screen) = dockfix_on_terminal(dir.path(), &args, &[]) else { return };
    assert!(screen.contains("\x1b[36mnon-root-user\x1b[0m"), "{screen}");
    let Some(screen) = dockfix_on_terminal(dir.path(), &args, &[("NO_COLOR", "1")]) else { return };
    assert!(!screen.contains("\x1b["), "{screen}");
    assert!(screen.contains("Dockerfile: would change: non-root-user 1"), "{screen}");
    // An empty NO_COLOR does not count (no-color.org).
    let Some(screen) = dockfix_on_terminal(dir.path(), &args, &[("NO_COLOR", "")]) else { return };
    assert!(screen.contains("\x1b[36m"), "{screen}");
    let never = [&args[..], &["--color", "never"]].concat();
    let Some(screen) = dockfix_on_terminal(dir.path(), &never, &[]) else { return };
    assert!(!screen.contains("\x1b["), "{screen}");
}

#[test]
fn progress_line_on_a_terminal_erased_before_the_summary() {
    let dir = tempdir();
    for index in 0..40 {
        write(dir.path(), &format!("d{index}/Dockerfile"), "FROM debian:12\nADD a /a\n");
    }
    let show_now = [("DOCKFIX_PROGRESS_AFTER_MS", "0")];
    let write_args = ["fix", "--offline", "--color", "never", "--select", "non-root-user", "--write", "."];
    let Some(screen) = dockfix_on_terminal(dir.path(), &write_args, &show_now) else { return };
    assert!(screen.contains("\r\x1b[2Kchecking: 1 file, 1 changed, 0 errors ("), "{screen}");
    // Every progress line is erased before anything else is printed.
    for (at, _) in screen.match_indices("checking:") {
        let end = at + screen[at..].find(')').unwrap_or(screen.len() - at) + 1;
        assert!(screen[end..].starts_with("\r\x1b[2K"), "{screen}");
    }
    let last = screen.lines().last().unwrap_or_default();
    assert_eq!(
        last.trim_start_matches("\r\x1b[2K"),
        "40 files checked, 40 changed; 40 fixes (0 safe, 40 unsafe), 0 findings not fixed, 0 errors"
    );

    // The diff itself goes to the terminal: no progress line tangled with it.
    let preview_args = ["fix", "--offline", "--color", "never", "--select", "add-to-copy", "."];
    let Some(screen) = dockfix_on_terminal(dir.path(), &preview_args, &show_now) else { return };
    assert!(screen.contains("+COPY --chown=app:app a /a"), "{screen}");
    assert!(!screen.contains("checking:"), "{screen}");

    // Not a terminal: never.
    let out = dockfix(dir.path(), &write_args, &show_now);
    assert!(!stderr(&out).contains("checking:"), "{}", stderr(&out));
}
