//! The smoke run: the fixed image starts and behaves as the original. The same command runs in
//! both images, as each image's configured user, and the two results are compared:
//!
//! - `--verify-cmd CMD`: exit status and output must be equal;
//! - otherwise, when the final stage has a `HEALTHCHECK`: the image's start command runs, and
//!   after a grace period (a third of `--verify-timeout`) the health check runs beside it;
//!   both health checks must exit with the same status;
//! - otherwise the image's own ENTRYPOINT + CMD, for `--verify-timeout` seconds: both must
//!   still run at the end of it, or both have exited with the same status (a server keeps
//!   running, a batch job exits; output is not compared: it may hold times and addresses).
//!
//! A command still running at its timeout is stopped with its whole process group.

use std::fs;
use std::io::Read as _;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use dockfix_transforms::{Dockerfile, Source};

use super::builder::{tail, Builder, BuilderError, BuilderKind};
use super::report::{Check, CheckName, Status};

/// What the smoke run runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmokeCommand {
    /// `--verify-cmd`: the argv, compared by exit status and output.
    Given(Vec<String>),
    /// The image's own start command (ENTRYPOINT + CMD), each image's own.
    Start,
    /// The final stage's `HEALTHCHECK` command, run beside the start command.
    Healthcheck(Vec<String>),
}

/// The `HEALTHCHECK` command of the final stage of `text`, as an argv (`NONE`: none).
pub fn healthcheck(text: &str) -> Option<Vec<String>> {
    let source = Source::new(text);
    let file = Dockerfile::parse(source.text());
    let stage = file.final_stage()?;
    let instruction =
        file.stage_instructions(stage).iter().rev().find(|instruction| instruction.is("HEALTHCHECK"))?;
    let args = instruction.args.trim();
    let (keyword, command) = args.split_once(char::is_whitespace)?;
    if !keyword.eq_ignore_ascii_case("CMD") {
        return None;
    }
    Some(parse_command(command.trim()))
}

/// `--verify-cmd` as an argv: a JSON array as in a Dockerfile's exec form, otherwise the text
/// run by `/bin/sh -c`.
pub fn parse_command(text: &str) -> Vec<String> {
    if text.trim_start().starts_with('[') {
        if let Ok(argv) = serde_json::from_str::<Vec<String>>(text) {
            return argv;
        }
    }
    vec!["/bin/sh".to_string(), "-c".to_string(), text.to_string()]
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunResult {
    /// The exit status; `None` while still running at the timeout (then stopped).
    pub status: Option<i32>,
    /// stdout and stderr, interleaved.
    pub output: String,
}

impl RunResult {
    fn shown(&self) -> String {
        match self.status {
            Some(code) => format!("exit {code}"),
            None => "still running".to_string(),
        }
    }
}

/// buildah's working container for a run: `kept` (one made for the filesystem scan, not run
/// in yet), or a new one. Docker and Podman make their own (`run --rm`). The caller removes it.
fn working_container(
    builder: &Builder,
    tag: &str,
    kept: Option<String>,
) -> Result<Option<String>, BuilderError> {
    match (builder.kind, kept) {
        (BuilderKind::Buildah, Some(kept)) => Ok(Some(kept)),
        (BuilderKind::Buildah, None) => Ok(Some(builder.run(builder.create_args(tag))?.trim().to_string())),
        (BuilderKind::Docker | BuilderKind::Podman, _) => Ok(None),
    }
}

/// Runs `argv` in a container of `tag` (for buildah `kept`, when given) for at most
/// `timeout`; the container is removed afterwards.
pub fn run_in_image(
    builder: &Builder,
    tag: &str,
    kept: Option<String>,
    argv: &[String],
    timeout: Duration,
    work: &Path,
) -> Result<RunResult, BuilderError> {
    let container = working_container(builder, tag, kept)?;
    let result = run_with_timeout(
        builder,
        &builder.run_args(tag, container.as_deref().unwrap_or_default(), argv),
        timeout,
        work,
    );
    if let Some(container) = container {
        let _ = builder.run(builder.remove_container_args(&container));
    }
    result
}

/// Starts `start` in a container of `tag` (for buildah `kept`, when given), waits `grace`,
/// then runs `check` beside it for at most `timeout`; the result is the check's. The
/// container is removed afterwards.
#[allow(clippy::too_many_arguments)] // a run's every parameter, each used once
pub fn run_healthcheck(
    builder: &Builder,
    tag: &str,
    kept: Option<String>,
    start: &[String],
    check: &[String],
    grace: Duration,
    timeout: Duration,
    work: &Path,
) -> Result<RunResult, BuilderError> {
    match builder.kind {
        BuilderKind::Buildah => {
            let container = working_container(builder, tag, kept)?.unwrap_or_default();
            let result = beside_buildah_run(builder, tag, &container, start, check, (grace, timeout), work);
            let _ = builder.run(builder.remove_container_args(&container));
            result
        }
        BuilderKind::Docker | BuilderKind::Podman => {
            let container = builder.run(builder.detached_run_args(tag, start))?.trim().to_string();
            sleep(grace);
            let result = run_with_timeout(builder, &builder.exec_args(tag, &container, check), timeout, work);
            let _ = builder.run(builder.remove_container_args(&container));
            result
        }
    }
}

/// buildah: the start command in the background of a working container, the check in the
/// same container after `grace`; the start command is stopped afterwards.
fn beside_buildah_run(
    builder: &Builder,
    tag: &str,
    container: &str,
    start: &[String],
    check: &[String],
    (grace, timeout): (Duration, Duration),
    work: &Path,
) -> Result<RunResult, BuilderError> {
    let spawn_error = |source| BuilderError::Spawn { program: builder.program.display().to_string(), source };
    let log = fs::File::create(work.join(format!("{container}-start.log"))).map_err(spawn_error)?;
    let mut server = builder
        .command(&builder.run_args(tag, container, start))
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(spawn_error)?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .map_err(spawn_error)?;
    sleep(grace);
    let result = run_with_timeout(builder, &builder.exec_args(tag, container, check), timeout, work);
    if server.try_wait().ok().flatten().is_none() {
        stop_group(server.id());
    }
    let _ = server.wait();
    result
}

fn run_with_timeout(
    builder: &Builder,
    args: &[std::ffi::OsString],
    timeout: Duration,
    work: &Path,
) -> Result<RunResult, BuilderError> {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let log_path = work.join(format!("run-{}.log", RUNS.fetch_add(1, Ordering::Relaxed)));
    let spawn_error = |source| BuilderError::Spawn { program: builder.program.display().to_string(), source };
    let log = fs::File::create(&log_path).map_err(spawn_error)?;
    let log_err = log.try_clone().map_err(spawn_error)?;
    let mut child = builder
        .command(args)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .process_group(0)
        .spawn()
        .map_err(spawn_error)?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(spawn_error)? {
            break Some(status.code().unwrap_or(-1));
        }
        if started.elapsed() >= timeout {
            stop_group(child.id());
            let _ = child.wait();
            break None;
        }
        sleep(Duration::from_millis(50));
    };
    let mut output = String::new();
    let _ = fs::File::open(&log_path).and_then(|mut file| file.read_to_string(&mut output));
    let _ = fs::remove_file(&log_path);
    Ok(RunResult { status, output })
}

/// Stops a process group: SIGTERM, and SIGKILL to what is left a second later.
fn stop_group(leader: u32) {
    let Ok(group) = i32::try_from(leader) else { return };
    // SAFETY: kill(2) with a negative pid signals the process group the child leads
    // (`process_group(0)` made it one); it reads and writes no memory.
    unsafe {
        libc::kill(-group, libc::SIGTERM);
    }
    sleep(Duration::from_secs(1));
    // SAFETY: as above.
    unsafe {
        libc::kill(-group, libc::SIGKILL);
    }
}

/// Compares the two runs into the smoke check.
pub fn compare(command: &SmokeCommand, shown: &str, before: &RunResult, after: &RunResult) -> Check {
    let same = match command {
        SmokeCommand::Given(_) => before == after,
        SmokeCommand::Start | SmokeCommand::Healthcheck(_) => before.status == after.status,
    };
    let mut evidence = format!("`{shown}`: original {}, fixed {}", before.shown(), after.shown());
    if !same {
        for (which, run) in [("original", before), ("fixed", after)] {
            evidence.push_str(&format!("\n--- {which} output\n{}", tail(&run.output)));
        }
    }
    Check { check: CheckName::Smoke, status: if same { Status::Passed } else { Status::Failed }, evidence }
}

/// The smoke result in a few words, for the figures: `exit 0 → exit 0`.
pub fn figure(before: &RunResult, after: &RunResult) -> String {
    format!("{} → {}", before.shown(), after.shown())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(status: Option<i32>, output: &str) -> RunResult {
        RunResult { status, output: output.to_string() }
    }

    #[test]
    fn verify_cmd_is_exec_form_or_shell() {
        assert_eq!(parse_command(r#"["/app", "--version"]"#), ["/app", "--version"]);
        assert_eq!(parse_command("cat /etc/os-release"), ["/bin/sh", "-c", "cat /etc/os-release"]);
        assert_eq!(parse_command("[ -f x ]"), ["/bin/sh", "-c", "[ -f x ]"]);
    }

    #[test]
    fn the_final_stage_healthcheck_is_read() {
        let text = "FROM a AS build\nHEALTHCHECK CMD false\nFROM b\nHEALTHCHECK --interval=5s CMD [\"curl\", \"-f\", \"localhost\"]\n";
        assert_eq!(healthcheck(text), Some(vec!["curl".into(), "-f".into(), "localhost".into()]));
        assert_eq!(
            healthcheck("FROM b\nHEALTHCHECK CMD wget -q -O- localhost\n"),
            Some(parse_command("wget -q -O- localhost"))
        );
        assert_eq!(healthcheck("FROM b\nHEALTHCHECK NONE\n"), None);
        assert_eq!(healthcheck("FROM a\nHEALTHCHECK CMD true\nFROM b\n"), None);
    }

    #[test]
    fn a_given_command_compares_status_and_output() {
        let command = SmokeCommand::Given(vec!["true".into()]);
        assert_eq!(compare(&command, "x", &run(Some(0), "a"), &run(Some(0), "a")).status, Status::Passed);
        let differs = compare(&command, "x", &run(Some(0), "a"), &run(Some(0), "b"));
        assert_eq!(differs.status, Status::Failed);
        assert!(differs.evidence.contains("--- fixed output\nb"), "{}", differs.evidence);
    }

    #[test]
    fn the_start_command_compares_whether_both_still_run() {
        let start = SmokeCommand::Start;
        assert_eq!(compare(&start, "x", &run(None, "a"), &run(None, "b")).status, Status::Passed);
        let exited = compare(&start, "x", &run(None, ""), &run(Some(1), "Permission denied"));
        assert_eq!(exited.status, Status::Failed);
        assert!(
            exited.evidence.starts_with("`x`: original still running, fixed exit 1"),
            "{}",
            exited.evidence
        );
    }

    #[test]
    fn a_command_past_its_timeout_is_stopped() {
        let builder = Builder { kind: super::super::builder::BuilderKind::Podman, program: "/bin/sh".into() };
        let dir = tempfile::tempdir().expect("tempdir");
        let args: Vec<std::ffi::OsString> = vec!["-c".into(), "echo up; sleep 30".into()];
        let started = Instant::now();
        let result = run_with_timeout(&builder, &args, Duration::from_millis(300), dir.path()).expect("runs");
        assert_eq!(result, run(None, "up\n"));
        assert!(started.elapsed() < Duration::from_secs(10));
        let args: Vec<std::ffi::OsString> = vec!["-c".into(), "echo done; exit 3".into()];
        let result = run_with_timeout(&builder, &args, Duration::from_secs(10), dir.path()).expect("runs");
        assert_eq!(result, run(Some(3), "done\n"));
    }
}
