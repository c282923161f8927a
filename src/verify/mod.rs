//! `dockfix fix --verify`: proves a file's fixes by building the original and the fixed
//! Dockerfile with the builder found on the machine and comparing the two images.
//!
//! For each changed file: the original is built (when it does not build, the file is
//! `skipped`, with the builder's error: there is nothing to compare with); then the fixed file
//! is built and checked ([`checks`], [`smoke`]): it builds, its user is not root and resolves,
//! no setuid/setgid file is left, it starts and behaves as the original. Any failed check makes
//! the verdict `failed`; then the fixes of the transforms that can cause that check to fail
//! are left out one transform at a time (the engine runs again with that transform off) and
//! the first subset that verifies is what the file gets, with the dropped transform's findings
//! saying why. Images are built under throwaway tags and removed afterwards.
//!
//! The split: [`builder`] (command lines of docker, podman, buildah), [`image`] (what is read
//! from an image), [`checks`] and [`smoke`] (the checks), [`report`] (the verdict and how it
//! is shown).

pub mod builder;
pub mod checks;
pub mod image;
pub mod progress;
pub mod report;
pub mod smoke;
pub mod tar;

use std::cell::Cell;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dockfix_transforms::rules::env_secrets::{literal_secrets, SecretOptions};
use dockfix_transforms::{Dockerfile, FollowUp, Report, Source};

use self::builder::{BuildRequest, Builder, BuilderError, BuilderKind, SecretSource};
use self::image::{FilesystemFacts, ImageConfig, Needles};
use self::report::{Check, CheckName, Dropped, Figures, Status, Timings, Verdict, Verification};
use self::smoke::{RunResult, SmokeCommand};
use crate::file_result::FileResult;

/// The transform whose fixes change the user.
const NON_ROOT_USER: &str = "non-root-user";
/// The transform whose fixes remove setuid/setgid bits.
const STRIP_SETUID: &str = "strip-setuid";

/// How `--verify` builds and checks.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub builder: Builder,
    /// The build context for every file (default: each file's directory).
    pub context: Option<PathBuf>,
    /// `--build-arg` values, passed to both builds.
    pub build_args: Vec<String>,
    /// Secrets the builds get (env-secrets' mounts).
    pub secrets: Vec<SecretSource>,
    pub smoke: SmokeCommand,
    /// How long a smoke run may take.
    pub timeout: Duration,
    /// Retry without the transform whose fixes made a check fail.
    pub retry: bool,
}

/// Verifies `result`'s fixes (a file that is unchanged, or in error, is returned as it is).
/// `refix` fixes the same file again with the given transforms off, for the retry; `secrets`
/// says which values are secrets (the file's `[env-secrets]` settings); `notify` is told each
/// stage (`building the original`), for a progress line.
pub fn verify(
    result: FileResult,
    dockerfile: &Path,
    options: &VerifyOptions,
    secrets: &SecretOptions,
    refix: &dyn Fn(&[&str]) -> FileResult,
    notify: &dyn Fn(&str),
) -> FileResult {
    if !result.changed() || result.error.is_some() {
        return result;
    }
    let builder_name = options.builder.kind.to_string();
    let session = match Session::new(options, dockerfile, secrets, notify) {
        Ok(session) => session,
        Err(error) => return with_verification(result, Verification::skipped(&builder_name, error)),
    };
    let original =
        match session.build(&result.input, "original", &BuildInputs::default(), &Needles::default()) {
            Ok(original) => original,
            Err(failure) => {
                let reason = match failure {
                    Failure::Build(error) => {
                        format!("the original does not build, so there is nothing to compare with: {error}")
                    }
                    Failure::Read(error) => format!("the original image cannot be read: {error}"),
                };
                return with_verification(
                    result,
                    session.timed(Verification::skipped(&builder_name, reason)),
                );
            }
        };
    let verification = session.timed(session.check(&original, &result));
    let Some(failed) = verification.failed_check().map(|check| check.check) else {
        return with_verification(result, verification);
    };
    if !options.retry {
        return with_verification(result, verification);
    }
    let fixed: Vec<&str> =
        result.reports.iter().filter(|report| report.fixed).map(|report| report.transform).collect();
    for suspect in failed.suspects().iter().filter(|suspect| fixed.contains(suspect)) {
        notify(&format!("retrying without {suspect}"));
        let retried = refix(&[suspect]);
        if !retried.changed() || retried.error.is_some() {
            continue;
        }
        let mut second = session.check(&original, &retried);
        if second.verdict == Verdict::Verified {
            second.dropped.push(Dropped { transform: (*suspect).to_string(), check: failed });
            let evidence =
                verification.failed_check().map(|check| check.evidence.clone()).unwrap_or_default();
            let dropped = dropped_reports(&result.reports, suspect, failed, &evidence);
            let mut retried = with_verification(retried, session.timed(second));
            retried.add_dropped_reports(dropped);
            return retried;
        }
    }
    with_verification(result, session.timed(verification))
}

fn with_verification(mut result: FileResult, verification: Verification) -> FileResult {
    result.set_verification(verification);
    result
}

/// Adds the time `started` has taken to `total` (milliseconds).
fn add_elapsed(total: &Cell<u64>, started: Instant) {
    let millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    total.set(total.get().saturating_add(millis));
}

/// The dropped transform's findings as they were, now not fixed, saying why.
fn dropped_reports(reports: &[Report], transform: &str, check: CheckName, evidence: &str) -> Vec<Report> {
    let first_line = evidence.lines().next().unwrap_or_default();
    reports
        .iter()
        .filter(|report| report.transform == transform && report.fixed)
        .map(|report| Report {
            fixed: false,
            declined: Some(format!(
                "dropped by --verify: the fixed image failed the `{}` check with this fix ({first_line}); the other fixes verify without it",
                check.as_str()
            )),
            edits: Vec::new(),
            ..report.clone()
        })
        .collect()
}

/// What env-secrets' fixes need at build time that the command line does not give, from the
/// environment variables they name, where those are set: build secrets, and build arguments
/// (`--secrets arg`) passed by name. The builder reads the values; they are never on a command
/// line.
#[derive(Debug, Clone, Default)]
struct BuildInputs {
    secrets: Vec<SecretSource>,
    build_args: Vec<String>,
}

fn environment_inputs(reports: &[Report], options: &VerifyOptions) -> BuildInputs {
    let mut inputs = BuildInputs::default();
    for follow_up in reports.iter().filter(|report| report.fixed).flat_map(|report| &report.follow_ups) {
        match follow_up {
            FollowUp::BuildSecret { id, env } => {
                let known = options.secrets.iter().chain(&inputs.secrets).any(|secret| secret.id() == id);
                if !known && std::env::var_os(env).is_some() {
                    inputs.secrets.push(SecretSource::Env { id: id.clone(), env: env.clone() });
                }
            }
            FollowUp::BuildArg { name } => {
                let given =
                    options.build_args.iter().chain(&inputs.build_args).any(|arg| {
                        arg.split_once('=').map_or(arg.as_str(), |(arg_name, _)| arg_name) == name
                    });
                if !given && std::env::var_os(name).is_some() {
                    inputs.build_args.push(name.clone());
                }
            }
            FollowUp::RuntimeEnv { .. } | FollowUp::Rotate { .. } => {}
        }
    }
    inputs
}

/// The literal secret values of `input` that `output` no longer holds: what env-secrets moved
/// out, which must not be in the fixed image either.
fn moved_secrets(input: &str, output: &str, options: &SecretOptions) -> Vec<String> {
    let source = Source::new(input);
    let mut values: Vec<String> = literal_secrets(&Dockerfile::parse(source.text()), options)
        .into_iter()
        .map(|secret| secret.value.trim().to_string())
        .filter(|value| !value.is_empty() && !output.contains(value.as_str()))
        .collect();
    values.sort();
    values.dedup();
    values
}

/// Why an image is not there to check: it did not build (the file's fault, or the fix's), or
/// it could not be read (the builder's or the machine's: a mount refused, a full disk).
enum Failure {
    Build(BuilderError),
    Read(BuilderError),
}

/// An image built and read.
struct Built {
    tag: String,
    config: ImageConfig,
    facts: FilesystemFacts,
}

/// One file's verification: a private directory for the Dockerfiles and logs, and the
/// images built, removed when it ends.
struct Session<'a> {
    options: &'a VerifyOptions,
    secret_options: &'a SecretOptions,
    notify: &'a dyn Fn(&str),
    context: PathBuf,
    work: tempfile::TempDir,
    tags: std::cell::RefCell<Vec<String>>,
    /// buildah working containers kept after the filesystem scan, by image tag.
    working: std::cell::RefCell<Vec<(String, String)>>,
    /// Milliseconds spent building, reading images, and in smoke runs.
    builds_ms: Cell<u64>,
    inspection_ms: Cell<u64>,
    smoke_ms: Cell<u64>,
}

/// Tells the throwaway tags of concurrent verifications apart.
static SEQUENCE: AtomicUsize = AtomicUsize::new(0);

impl<'a> Session<'a> {
    fn new(
        options: &'a VerifyOptions,
        dockerfile: &Path,
        secret_options: &'a SecretOptions,
        notify: &'a dyn Fn(&str),
    ) -> Result<Session<'a>, String> {
        let context = match &options.context {
            Some(context) => context.clone(),
            None => dockerfile
                .parent()
                .filter(|dir| !dir.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
        };
        let work = tempfile::Builder::new()
            .prefix("dockfix-verify-")
            .tempdir()
            .map_err(|error| format!("cannot make a work directory: {error}"))?;
        Ok(Session {
            options,
            secret_options,
            notify,
            context,
            work,
            tags: std::cell::RefCell::new(Vec::new()),
            working: std::cell::RefCell::new(Vec::new()),
            builds_ms: Cell::new(0),
            inspection_ms: Cell::new(0),
            smoke_ms: Cell::new(0),
        })
    }

    fn builder(&self) -> &Builder {
        &self.options.builder
    }

    /// Builds `text` under a throwaway tag and reads the image; `inputs` are the build's own
    /// secrets and build arguments besides the command line's.
    fn build(
        &self,
        text: &str,
        label: &str,
        inputs: &BuildInputs,
        needles: &Needles,
    ) -> Result<Built, Failure> {
        let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        let tag = format!("localhost/dockfix-verify-{}-{sequence}:{label}", std::process::id());
        let dockerfile = self.work.path().join(format!("{label}-{sequence}.Dockerfile"));
        fs::write(&dockerfile, text).map_err(|error| {
            Failure::Read(BuilderError::Unexpected(format!("{}: {error}", dockerfile.display())))
        })?;
        let secrets: Vec<SecretSource> =
            self.options.secrets.iter().chain(&inputs.secrets).cloned().collect();
        let build_args: Vec<String> =
            self.options.build_args.iter().chain(&inputs.build_args).cloned().collect();
        let request = BuildRequest {
            dockerfile: &dockerfile,
            context: &self.context,
            tag: &tag,
            build_args: &build_args,
            secrets: &secrets,
        };
        self.tags.borrow_mut().push(tag.clone());
        (self.notify)(&format!("building the {label} file"));
        let started = Instant::now();
        let built = self.builder().run(self.builder().build_args(&request));
        add_elapsed(&self.builds_ms, started);
        built.map_err(Failure::Build)?;
        (self.notify)(&format!("reading the {label} image"));
        let started = Instant::now();
        let read = self.read_image(&tag, needles);
        add_elapsed(&self.inspection_ms, started);
        let (config, facts) = read.map_err(Failure::Read)?;
        Ok(Built { tag, config, facts })
    }

    /// The image's configuration and filesystem facts.
    fn read_image(
        &self,
        tag: &str,
        needles: &Needles,
    ) -> Result<(ImageConfig, FilesystemFacts), BuilderError> {
        let tag = tag.to_string();
        let mut config = ImageConfig::from_inspect(&self.builder().run(self.builder().inspect_args(&tag))?)
            .map_err(BuilderError::Unexpected)?;
        // Docker's and Podman's inspect output has no history: it is asked for apart.
        if let Some(args) = self.builder().history_args(&tag) {
            config.history = self.builder().run(args)?.lines().rev().map(str::to_string).collect();
        }
        let facts = self.filesystem(&tag, needles)?;
        Ok((config, facts))
    }

    /// `verification` with what the session's images cost so far.
    fn timed(&self, mut verification: Verification) -> Verification {
        verification.timings = Timings {
            builds_ms: self.builds_ms.get(),
            inspection_ms: self.inspection_ms.get(),
            smoke_ms: self.smoke_ms.get(),
        };
        verification
    }

    /// Reads the image's filesystem from a mounted container (buildah, podman) or the tar
    /// Docker exports: nothing runs in the image, so shell-less images are read too.
    fn filesystem(&self, tag: &str, needles: &Needles) -> Result<FilesystemFacts, BuilderError> {
        let builder = self.builder();
        let container = builder.run(builder.create_args(tag))?.trim().to_string();
        let facts = match builder.mount_args(&container) {
            Some(mount) => self.scan_mounted(&container, mount, needles),
            None => self.scan_exported(&container, needles),
        };
        if builder.kind == BuilderKind::Buildah && facts.is_ok() {
            // buildah's smoke run needs a working container: this one, not a second copy of
            // the image (with the vfs driver each container is a full copy).
            self.working.borrow_mut().push((tag.to_string(), container));
        } else {
            let _ = builder.run(builder.remove_container_args(&container));
        }
        facts
    }

    /// The working container kept for `tag`'s smoke run, handed over (the caller removes it).
    fn take_working(&self, tag: &str) -> Option<String> {
        let mut working = self.working.borrow_mut();
        let at = working.iter().position(|(kept, _)| kept == tag)?;
        Some(working.swap_remove(at).1)
    }

    fn scan_mounted(
        &self,
        container: &str,
        mount: Vec<std::ffi::OsString>,
        needles: &Needles,
    ) -> Result<FilesystemFacts, BuilderError> {
        let builder = self.builder();
        let mount = builder.run(mount)?;
        let facts = FilesystemFacts::scan(Path::new(mount.trim()), needles).map_err(BuilderError::Unexpected);
        if let Some(args) = builder.unmount_args(container) {
            let _ = builder.run(args);
        }
        facts
    }

    fn scan_exported(&self, container: &str, needles: &Needles) -> Result<FilesystemFacts, BuilderError> {
        let builder = self.builder();
        let archive = self.work.path().join(format!("{container}.tar"));
        builder.run(builder.export_args(container, &archive))?;
        let facts = fs::File::open(&archive)
            .and_then(|file| tar::scan(std::io::BufReader::new(file), needles))
            .map_err(|error| BuilderError::Unexpected(format!("{}: {error}", archive.display())));
        let _ = fs::remove_file(&archive);
        facts
    }

    /// Builds `result`'s fixed file and checks it against `original`.
    fn check(&self, original: &Built, result: &FileResult) -> Verification {
        let builder_name = self.builder().kind.to_string();
        let fixed_text = result.output.as_deref().unwrap_or(&result.input);
        let mut figures = Figures {
            user_before: Some(original.config.user.clone()),
            setuid_before: Some(original.facts.setuid_files.len()),
            size_before: Some(original.facts.bytes),
            ..Figures::default()
        };
        let inputs = environment_inputs(&result.reports, self.options);
        let needles = Needles::new(moved_secrets(&result.input, fixed_text, self.secret_options));
        let fixed = match self.build(fixed_text, "fixed", &inputs, &needles) {
            Ok(fixed) => fixed,
            Err(Failure::Build(error)) => {
                let check =
                    Check { check: CheckName::Builds, status: Status::Failed, evidence: error.to_string() };
                return Verification::of_checks(&builder_name, vec![check], figures);
            }
            Err(Failure::Read(error)) => {
                return Verification::skipped(
                    &builder_name,
                    format!("the fixed image cannot be read: {error}"),
                );
            }
        };
        figures.user_after = Some(fixed.config.user.clone());
        figures.setuid_after = Some(fixed.facts.setuid_files.len());
        figures.size_after = Some(fixed.facts.bytes);
        let fixed_by = |transform: &str| {
            result.reports.iter().any(|report| report.fixed && report.transform == transform)
        };
        let mut checks = vec![
            Check {
                check: CheckName::Builds,
                status: Status::Passed,
                evidence: format!("built as {}", fixed.tag),
            },
            checks::user(&original.config, &fixed.config, &fixed.facts, fixed_by(NON_ROOT_USER)),
            checks::setuid(&original.facts, &fixed.facts, fixed_by(STRIP_SETUID)),
            checks::secrets(&needles, &fixed.config, &fixed.facts),
        ];
        (self.notify)("smoke run");
        let started = Instant::now();
        let (smoke, figure) = self.smoke(original, &fixed, fixed_text);
        add_elapsed(&self.smoke_ms, started);
        figures.smoke = figure;
        checks.push(smoke);
        Verification::of_checks(&builder_name, checks, figures)
    }

    /// The smoke check and its figure; `fixed_text` is the fixed Dockerfile (its HEALTHCHECK).
    fn smoke(&self, original: &Built, fixed: &Built, fixed_text: &str) -> (Check, Option<String>) {
        let skipped =
            |evidence: String| (Check { check: CheckName::Smoke, status: Status::Skipped, evidence }, None);
        let (before_start, after_start) = (original.config.start_command(), fixed.config.start_command());
        let command = match &self.options.smoke {
            SmokeCommand::Start => {
                smoke::healthcheck(fixed_text).map_or(SmokeCommand::Start, SmokeCommand::Healthcheck)
            }
            given => given.clone(),
        };
        let (before_argv, after_argv) = match &command {
            SmokeCommand::Given(argv) | SmokeCommand::Healthcheck(argv) => (argv.clone(), argv.clone()),
            SmokeCommand::Start => (before_start.clone(), after_start.clone()),
        };
        if after_argv.is_empty() {
            return skipped("the image has no ENTRYPOINT or CMD, and no --verify-cmd was given".to_string());
        }
        let timeout = self.options.timeout;
        let run = |built: &Built, argv: &[String], start: &[String]| -> Result<RunResult, BuilderError> {
            match &command {
                SmokeCommand::Healthcheck(_) => {
                    let grace = timeout / 3;
                    smoke::run_healthcheck(
                        self.builder(),
                        &built.tag,
                        self.take_working(&built.tag),
                        start,
                        argv,
                        grace,
                        timeout,
                        self.work.path(),
                    )
                }
                _ => smoke::run_in_image(
                    self.builder(),
                    &built.tag,
                    self.take_working(&built.tag),
                    argv,
                    timeout,
                    self.work.path(),
                ),
            }
        };
        let results = run(original, &before_argv, &before_start)
            .and_then(|before| Ok((before, run(fixed, &after_argv, &after_start)?)));
        match results {
            Ok((before, after)) => {
                let shown = match &command {
                    SmokeCommand::Healthcheck(argv) => format!("HEALTHCHECK {}", argv.join(" ")),
                    _ => after_argv.join(" "),
                };
                let figure = smoke::figure(&before, &after);
                (smoke::compare(&command, &shown, &before, &after), Some(figure))
            }
            Err(error) => skipped(format!("the smoke run could not start: {error}")),
        }
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        for (_, container) in self.working.borrow().iter() {
            let _ = self.options.builder.run(self.options.builder.remove_container_args(container));
        }
        for tag in self.tags.borrow().iter() {
            let _ = self.options.builder.run(self.options.builder.remove_image_args(tag));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockfix_transforms::Applicability;

    fn report(follow_ups: Vec<FollowUp>, fixed: bool) -> Report {
        Report {
            transform: "env-secrets",
            line: 2,
            message: String::new(),
            risk: None,
            applicability: Applicability::Unsafe,
            fixed,
            declined: None,
            follow_ups,
            edits: Vec::new(),
            suggestion: None,
        }
    }

    fn options(build_args: Vec<String>, secrets: Vec<SecretSource>) -> VerifyOptions {
        VerifyOptions {
            builder: Builder::new(BuilderKind::Buildah),
            context: None,
            build_args,
            secrets,
            smoke: SmokeCommand::Start,
            timeout: Duration::from_secs(1),
            retry: true,
        }
    }

    // PATH is set wherever tests run; the other name is not.
    const UNSET: &str = "DOCKFIX_VERIFY_TEST_SURELY_UNSET";

    #[test]
    fn secrets_and_build_args_come_from_the_environment_when_set_and_not_given() {
        let reports = [
            report(
                vec![
                    FollowUp::BuildSecret { id: "path".into(), env: "PATH".into() },
                    FollowUp::BuildSecret { id: "unset".into(), env: UNSET.into() },
                    FollowUp::BuildSecret { id: "given".into(), env: "PATH".into() },
                    FollowUp::BuildArg { name: "PATH".into() },
                    FollowUp::BuildArg { name: "HOME".into() },
                    FollowUp::BuildArg { name: UNSET.into() },
                ],
                true,
            ),
            report(vec![FollowUp::BuildSecret { id: "not-applied".into(), env: "PATH".into() }], false),
        ];
        let given = SecretSource::File { id: "given".into(), path: PathBuf::from("/run/given") };
        let inputs = environment_inputs(&reports, &options(vec!["HOME=/root".into()], vec![given]));
        assert_eq!(inputs.secrets, [SecretSource::Env { id: "path".into(), env: "PATH".into() }]);
        assert_eq!(inputs.build_args, ["PATH"]);
    }

    #[test]
    fn moved_secrets_are_the_values_the_output_lost() {
        let input =
            "FROM debian:12\nENV API_TOKEN=tok-0123456789abcdef DB_PASSWORD=kept-password-99\nRUN make\n";
        let output = "FROM debian:12\nENV DB_PASSWORD=kept-password-99\nRUN make\n";
        assert_eq!(moved_secrets(input, output, &SecretOptions::default()), ["tok-0123456789abcdef"]);
    }
}
