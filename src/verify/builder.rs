//! The image builders `--verify` drives: `docker buildx build` (BuildKit), `podman build` and
//! `buildah bud`. Each [`Builder`] only produces command lines (unit-tested per builder) and
//! runs them; what is built and checked is decided in [`super`].
//!
//! buildah is the one exercised by the integration tests (CI has no Docker daemon); the Docker
//! and Podman command lines are tested as text only. Storage, registries and isolation are the
//! builder's own defaults, which their usual environment variables change
//! (`CONTAINERS_STORAGE_CONF`, `CONTAINERS_REGISTRIES_CONF`, `BUILDAH_ISOLATION`,
//! `DOCKER_HOST`): `--verify` asks for no network beyond them.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use clap::ValueEnum;
use thiserror::Error;

/// How many bytes of a failed command's output a report keeps: its end, where builders say
/// what went wrong.
pub const OUTPUT_TAIL: usize = 2000;

/// `--builder`: which builder builds the images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BuilderKind {
    /// `docker buildx build --load` (BuildKit; needs a Docker daemon).
    Docker,
    /// `podman build`.
    Podman,
    /// `buildah bud`.
    Buildah,
}

impl BuilderKind {
    /// The order builders are looked for in when `--builder` is not given.
    pub const DETECTION_ORDER: [BuilderKind; 3] =
        [BuilderKind::Docker, BuilderKind::Podman, BuilderKind::Buildah];

    /// The program's name.
    pub fn program(self) -> &'static str {
        match self {
            BuilderKind::Docker => "docker",
            BuilderKind::Podman => "podman",
            BuilderKind::Buildah => "buildah",
        }
    }
}

impl fmt::Display for BuilderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.program())
    }
}

/// A builder failed, or could not be run.
#[derive(Debug, Error)]
pub enum BuilderError {
    #[error("cannot run {program}: {source}")]
    Spawn { program: String, source: std::io::Error },
    #[error("`{command}` failed ({status}):\n{tail}")]
    Failed { command: String, status: String, tail: String },
    #[error("no builder found: none of docker (with buildx and a daemon), podman, buildah works here")]
    NotFound,
    #[error("{0}")]
    Unexpected(String),
}

/// Where a build secret's value comes from, as the builder's `--secret` option says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// An environment variable of dockfix's own environment (the builder inherits it).
    Env { id: String, env: String },
    /// A file the user named.
    File { id: String, path: PathBuf },
}

impl SecretSource {
    /// The secret's id, as `--mount=type=secret,id=` names it.
    pub fn id(&self) -> &str {
        match self {
            SecretSource::Env { id, .. } | SecretSource::File { id, .. } => id,
        }
    }

    fn option(&self) -> OsString {
        let mut option = OsString::from("id=");
        match self {
            SecretSource::Env { id, env } => option.push(format!("{id},env={env}")),
            SecretSource::File { id, path } => {
                option.push(format!("{id},src="));
                option.push(path);
            }
        }
        option
    }
}

/// One image build.
#[derive(Debug, Clone)]
pub struct BuildRequest<'a> {
    pub dockerfile: &'a Path,
    pub context: &'a Path,
    pub tag: &'a str,
    /// `NAME` or `NAME=VALUE`, as `--build-arg` takes them.
    pub build_args: &'a [String],
    pub secrets: &'a [SecretSource],
}

/// A builder program and the command lines it takes.
#[derive(Debug, Clone)]
pub struct Builder {
    pub kind: BuilderKind,
    pub program: PathBuf,
}

impl Builder {
    /// The builder `kind`, run as its program name from `PATH`.
    pub fn new(kind: BuilderKind) -> Builder {
        Builder { kind, program: PathBuf::from(kind.program()) }
    }

    /// The first builder of [`BuilderKind::DETECTION_ORDER`] that works here: Docker only
    /// when buildx is installed and a daemon answers; Podman and buildah when `--version`
    /// runs.
    pub fn detect() -> Result<Builder, BuilderError> {
        BuilderKind::DETECTION_ORDER
            .into_iter()
            .map(Builder::new)
            .find(Builder::works)
            .ok_or(BuilderError::NotFound)
    }

    /// Whether the builder can build here (see [`Builder::detect`]).
    pub fn works(&self) -> bool {
        let probes: &[&[&str]] = match self.kind {
            BuilderKind::Docker => &[&["buildx", "version"], &["info", "--format", "{{.ServerVersion}}"]],
            BuilderKind::Podman | BuilderKind::Buildah => &[&["--version"]],
        };
        probes.iter().all(|args| self.run(args.iter().map(OsString::from).collect()).is_ok())
    }

    /// Builds an image: the arguments after the program.
    pub fn build_args(&self, request: &BuildRequest) -> Vec<OsString> {
        let mut args: Vec<OsString> = match self.kind {
            BuilderKind::Docker => {
                vec!["buildx".into(), "build".into(), "--load".into(), "--progress=plain".into()]
            }
            BuilderKind::Podman => vec!["build".into()],
            BuilderKind::Buildah => vec!["bud".into()],
        };
        for build_arg in request.build_args {
            args.push("--build-arg".into());
            args.push(build_arg.into());
        }
        for secret in request.secrets {
            args.push("--secret".into());
            args.push(secret.option());
        }
        args.extend(["-t".into(), request.tag.into(), "-f".into(), request.dockerfile.into()]);
        args.push(request.context.into());
        args
    }

    /// Removes an image.
    pub fn remove_image_args(&self, tag: &str) -> Vec<OsString> {
        let args: &[&str] = match self.kind {
            BuilderKind::Docker => &["image", "rm", "--force"],
            BuilderKind::Podman | BuilderKind::Buildah => &["rmi", "--force"],
        };
        with(args, [tag])
    }

    /// Prints the image's configuration and history as JSON ([`super::image::ImageConfig`]
    /// reads both shapes).
    pub fn inspect_args(&self, tag: &str) -> Vec<OsString> {
        let args: &[&str] = match self.kind {
            BuilderKind::Docker | BuilderKind::Podman => &["image", "inspect"],
            BuilderKind::Buildah => &["inspect", "--type", "image"],
        };
        with(args, [tag])
    }

    /// Prints the image's history (one `created_by` per line, newest first) where inspect
    /// does not hold it.
    pub fn history_args(&self, tag: &str) -> Option<Vec<OsString>> {
        match self.kind {
            BuilderKind::Docker | BuilderKind::Podman => {
                Some(with(&["image", "history", "--no-trunc", "--format", "{{.CreatedBy}}"], [tag]))
            }
            BuilderKind::Buildah => None,
        }
    }

    /// Creates a container of the image without starting it; prints its id.
    pub fn create_args(&self, tag: &str) -> Vec<OsString> {
        let args: &[&str] = match self.kind {
            BuilderKind::Docker | BuilderKind::Podman => &["create"],
            BuilderKind::Buildah => &["from", "--quiet", "--pull=never"],
        };
        with(args, [tag])
    }

    /// Mounts a container's filesystem and prints where, for the builders that can: the
    /// filesystem is read from there, so shell-less images are read too.
    pub fn mount_args(&self, container: &str) -> Option<Vec<OsString>> {
        match self.kind {
            BuilderKind::Docker => None,
            BuilderKind::Podman | BuilderKind::Buildah => Some(with(&["mount"], [container])),
        }
    }

    /// Unmounts what [`Builder::mount_args`] mounted.
    pub fn unmount_args(&self, container: &str) -> Option<Vec<OsString>> {
        self.mount_args(container).map(|_| with(&["umount"], [container]))
    }

    /// Writes a container's filesystem as a tar file (Docker, which cannot mount).
    pub fn export_args(&self, container: &str, tar: &Path) -> Vec<OsString> {
        let mut args = with(&["export", "-o"], [tar]);
        args.push(container.into());
        args
    }

    /// Removes a container.
    pub fn remove_container_args(&self, container: &str) -> Vec<OsString> {
        let args: &[&str] = match self.kind {
            BuilderKind::Docker | BuilderKind::Podman => &["rm", "--force"],
            BuilderKind::Buildah => &["rm"],
        };
        with(args, [container])
    }

    /// Runs `argv` in a new container of the image as its configured user, in its working
    /// directory, with its environment; `argv` replaces both ENTRYPOINT and CMD. For
    /// buildah, `container` is a working container of the image ([`Builder::create_args`]):
    /// `buildah run` runs in one.
    pub fn run_args(&self, tag: &str, container: &str, argv: &[String]) -> Vec<OsString> {
        let mut args: Vec<OsString> = match self.kind {
            BuilderKind::Docker | BuilderKind::Podman => with(&["run", "--rm", "--entrypoint", ""], [tag]),
            BuilderKind::Buildah => with(&["run", container, "--"], [] as [&str; 0]),
        };
        args.extend(argv.iter().map(OsString::from));
        args
    }

    /// Starts `argv` in a new container of the image in the background and prints the
    /// container's id (Docker, Podman; buildah runs [`Builder::run_args`] in the background
    /// instead), for [`Builder::exec_args`] to run a HEALTHCHECK beside it.
    pub fn detached_run_args(&self, tag: &str, argv: &[String]) -> Vec<OsString> {
        let mut args = with(&["run", "--detach", "--entrypoint", ""], [tag]);
        args.extend(argv.iter().map(OsString::from));
        args
    }

    /// Runs `argv` in a running container beside its process: Docker and Podman `exec`;
    /// buildah runs another command in the same working container.
    pub fn exec_args(&self, tag: &str, container: &str, argv: &[String]) -> Vec<OsString> {
        match self.kind {
            BuilderKind::Docker | BuilderKind::Podman => {
                let mut args = with(&["exec"], [container]);
                args.extend(argv.iter().map(OsString::from));
                args
            }
            BuilderKind::Buildah => self.run_args(tag, container, argv),
        }
    }

    /// Runs a command of this builder; its stdout on success, otherwise an error with the
    /// command and the tail of its output.
    pub fn run(&self, args: Vec<OsString>) -> Result<String, BuilderError> {
        let output = self.output(&args)?;
        if output.status.success() {
            return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
        }
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        Err(BuilderError::Failed {
            command: self.shown(&args),
            status: output.status.to_string(),
            tail: tail(&text),
        })
    }

    /// Runs a command of this builder with stdin closed and both outputs captured.
    pub fn output(&self, args: &[OsString]) -> Result<Output, BuilderError> {
        self.command(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| BuilderError::Spawn { program: self.program.display().to_string(), source })
    }

    /// The command, not started.
    pub fn command(&self, args: &[OsString]) -> Command {
        let mut command = Command::new(&self.program);
        command.args(args);
        command
    }

    /// The command line as shown in messages.
    pub fn shown(&self, args: &[OsString]) -> String {
        std::iter::once(self.program.as_os_str())
            .chain(args.iter().map(OsString::as_os_str))
            .map(OsStr::to_string_lossy)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn with<T: AsRef<OsStr>>(first: &[&str], rest: impl IntoIterator<Item = T>) -> Vec<OsString> {
    first.iter().map(OsString::from).chain(rest.into_iter().map(|arg| arg.as_ref().to_os_string())).collect()
}

/// The last [`OUTPUT_TAIL`] bytes of `text`, cut at a line start.
pub fn tail(text: &str) -> String {
    let text = text.trim_end();
    if text.len() <= OUTPUT_TAIL {
        return text.to_string();
    }
    let mut start = text.len() - OUTPUT_TAIL;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let cut = &text[start..];
    let cut = cut.find('\n').map_or(cut, |newline| &cut[newline + 1..]);
    format!("[...]\n{cut}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(builder: &Builder, args: Vec<OsString>) -> String {
        builder.shown(&args)
    }

    fn request<'a>(build_args: &'a [String], secrets: &'a [SecretSource]) -> BuildRequest<'a> {
        BuildRequest {
            dockerfile: Path::new("/tmp/v/Dockerfile"),
            context: Path::new("/src/app"),
            tag: "localhost/dockfix-verify-1-0:fixed",
            build_args,
            secrets,
        }
    }

    fn secrets() -> Vec<SecretSource> {
        vec![
            SecretSource::Env { id: "npm-token".into(), env: "NPM_TOKEN".into() },
            SecretSource::File { id: "key".into(), path: PathBuf::from("/run/key.txt") },
        ]
    }

    #[test]
    fn docker_builds_with_buildx_and_loads_the_image() {
        let docker = Builder::new(BuilderKind::Docker);
        let args = ["VERSION=1".to_string()];
        assert_eq!(
            line(&docker, docker.build_args(&request(&args, &secrets()))),
            "docker buildx build --load --progress=plain --build-arg VERSION=1 \
             --secret id=npm-token,env=NPM_TOKEN --secret id=key,src=/run/key.txt \
             -t localhost/dockfix-verify-1-0:fixed -f /tmp/v/Dockerfile /src/app"
        );
        assert_eq!(line(&docker, docker.remove_image_args("t")), "docker image rm --force t");
        assert_eq!(line(&docker, docker.inspect_args("t")), "docker image inspect t");
        assert_eq!(line(&docker, docker.create_args("t")), "docker create t");
        assert!(docker.mount_args("c").is_none(), "docker cannot mount: it exports");
        assert_eq!(
            line(&docker, docker.export_args("c", Path::new("/tmp/fs.tar"))),
            "docker export -o /tmp/fs.tar c"
        );
        assert_eq!(line(&docker, docker.remove_container_args("c")), "docker rm --force c");
        assert_eq!(
            line(&docker, docker.run_args("t", "", &["id".into(), "-u".into()])),
            "docker run --rm --entrypoint  t id -u"
        );
        assert_eq!(
            line(&docker, docker.detached_run_args("t", &["serve".into()])),
            "docker run --detach --entrypoint  t serve"
        );
        assert_eq!(
            line(&docker, docker.exec_args("t", "c1", &["curl".into(), "-f".into()])),
            "docker exec c1 curl -f"
        );
        let history = docker.history_args("t").map(|args| line(&docker, args));
        assert_eq!(history.as_deref(), Some("docker image history --no-trunc --format {{.CreatedBy}} t"));
    }

    #[test]
    fn podman_builds_and_mounts() {
        let podman = Builder::new(BuilderKind::Podman);
        assert_eq!(
            line(&podman, podman.build_args(&request(&[], &secrets()[..1]))),
            "podman build --secret id=npm-token,env=NPM_TOKEN -t localhost/dockfix-verify-1-0:fixed \
             -f /tmp/v/Dockerfile /src/app"
        );
        assert_eq!(line(&podman, podman.remove_image_args("t")), "podman rmi --force t");
        assert_eq!(line(&podman, podman.inspect_args("t")), "podman image inspect t");
        assert_eq!(line(&podman, podman.create_args("t")), "podman create t");
        assert_eq!(podman.mount_args("c").map(|args| line(&podman, args)).as_deref(), Some("podman mount c"));
        assert_eq!(
            podman.unmount_args("c").map(|args| line(&podman, args)).as_deref(),
            Some("podman umount c")
        );
        assert_eq!(line(&podman, podman.remove_container_args("c")), "podman rm --force c");
        assert_eq!(
            line(&podman, podman.run_args("t", "", &["true".into()])),
            "podman run --rm --entrypoint  t true"
        );
    }

    #[test]
    fn buildah_builds_with_bud_and_runs_in_a_working_container() {
        let buildah = Builder::new(BuilderKind::Buildah);
        assert_eq!(
            line(&buildah, buildah.build_args(&request(&["A".to_string()], &[]))),
            "buildah bud --build-arg A -t localhost/dockfix-verify-1-0:fixed -f /tmp/v/Dockerfile /src/app"
        );
        assert_eq!(line(&buildah, buildah.inspect_args("t")), "buildah inspect --type image t");
        assert_eq!(line(&buildah, buildah.create_args("t")), "buildah from --quiet --pull=never t");
        assert_eq!(line(&buildah, buildah.remove_container_args("c")), "buildah rm c");
        assert_eq!(line(&buildah, buildah.run_args("t", "c", &["id".into()])), "buildah run c -- id");
        assert_eq!(line(&buildah, buildah.exec_args("t", "c", &["check".into()])), "buildah run c -- check");
        assert!(buildah.history_args("t").is_none(), "buildah inspect holds the history");
    }

    #[test]
    fn detection_tries_docker_then_podman_then_buildah() {
        assert_eq!(
            BuilderKind::DETECTION_ORDER,
            [BuilderKind::Docker, BuilderKind::Podman, BuilderKind::Buildah]
        );
        let missing = Builder { kind: BuilderKind::Buildah, program: PathBuf::from("/nonexistent/buildah") };
        assert!(!missing.works());
    }

    #[test]
    fn a_failed_command_keeps_the_tail_of_its_output() {
        let long = (0..1000).map(|n| format!("line {n}\n")).collect::<String>();
        let cut = tail(&long);
        assert!(cut.starts_with("[...]\nline "), "{cut}");
        assert!(cut.ends_with("line 999"), "{cut}");
        assert!(cut.len() <= OUTPUT_TAIL + 6);
        assert_eq!(tail("short\n"), "short");
    }
}
