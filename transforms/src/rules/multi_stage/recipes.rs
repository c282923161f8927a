//! The recipes: for each ecosystem, how a stage builds its artifact, where the artifact is,
//! and which runtime image runs it. The facts (image names and tags, paths, packages, users)
//! are the tables at the top; the functions below only apply them.

use super::{Program, StageView, RUNTIME_PATH};
use crate::image::ImageRef;
use crate::semantic::shell::{path, Command};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ecosystem {
    Go,
    Rust,
    Node,
    Python,
    Java,
}

use Ecosystem::{Go, Java, Node, Python, Rust};

// ---------------------------------------------------------------------------------------------
// Facts
// ---------------------------------------------------------------------------------------------

/// Builder images by repository name (the last path component, so that mirrors such as
/// `mirror.gcr.io/library/golang` match too).
const BUILDERS: &[(&str, Ecosystem)] =
    &[("golang", Go), ("rust", Rust), ("node", Node), ("python", Python), ("maven", Java), ("gradle", Java)];

/// The working directory each builder image starts in, where dockfix knows it (`golang` sets
/// `WORKDIR /go`; the others set none). maven and gradle images: unknown.
const DEFAULT_WORKDIRS: &[(Ecosystem, &str)] = &[(Go, "/go"), (Rust, "/"), (Node, "/"), (Python, "/")];

/// Directories the builder images add to `PATH` (where `go install` and `cargo install` put
/// programs).
const BUILDER_PATH: &[(Ecosystem, &[&str])] =
    &[(Go, &["/go/bin", "/usr/local/go/bin"]), (Rust, &["/usr/local/cargo/bin"])];

/// `$GOPATH` of the golang images, and `$CARGO_HOME` of the rust images.
const GOPATH: &str = "/go";
const CARGO_HOME: &str = "/usr/local/cargo";

/// The runtime of a static Go binary whose start command needs no shell.
const STATIC_RUNTIME: &str = "gcr.io/distroless/static-debian12:nonroot";
/// The runtime of a static binary whose start command needs a shell.
const STATIC_SHELL_RUNTIME: &str = "debian:bookworm-slim";
/// Debian releases as tags name them; a dynamically linked binary needs the same release.
const DEBIAN_RELEASES: &[&str] = &["trixie", "bookworm", "bullseye", "buster", "stretch"];
/// The release a suggestion assumes when the builder's tag names none.
const ASSUMED_DEBIAN_RELEASE: &str = "bookworm";
/// `eclipse-temurin:<major>-jre`: the JRE of the same Java major as the builder's JDK.
const JRE_IMAGE: &str = "eclipse-temurin";
const ASSUMED_JAVA_MAJOR: &str = "17";

/// The CA bundle of Debian and Alpine images, and the time zone database.
const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
const ZONEINFO: &str = "/usr/share/zoneinfo";

/// Where the Python recipe puts the virtualenv.
const VENV: &str = "/opt/venv";

/// Directories a Node build writes its output to, relative to the project.
const NODE_OUTPUT_DIRS: &[&str] = &["dist", "build", "out", ".output"];
/// Where the Java builds put their jars, relative to the project.
const MAVEN_OUTPUT: &str = "target";
const GRADLE_OUTPUT: &str = "build/libs";
/// Goals and tasks that build a jar.
const MAVEN_GOALS: &[&str] = &["package", "install", "verify", "spring-boot:repackage"];
const GRADLE_TASKS: &[&str] = &["build", "assemble", "jar", "bootJar", "shadowJar"];

/// `go build` flags that take a value.
const GO_VALUE_FLAGS: &[&str] = &[
    "-o",
    "-C",
    "-p",
    "-ldflags",
    "-gcflags",
    "-asmflags",
    "-tags",
    "-mod",
    "-modfile",
    "-pkgdir",
    "-buildmode",
    "-compiler",
    "-gccgoflags",
    "-installsuffix",
    "-overlay",
    "-pgo",
    "-toolexec",
    "-coverpkg",
    "-covermode",
];
/// `cargo build` options that take a value.
const CARGO_VALUE_OPTIONS: &[&str] = &[
    "--bin",
    "--target",
    "--target-dir",
    "--profile",
    "--manifest-path",
    "-p",
    "--package",
    "--features",
    "-F",
    "-j",
    "--jobs",
    "--color",
    "--config",
    "-Z",
    "--message-format",
    "--exclude",
    "--example",
    "--root",
    "--path",
    "--version",
    "--git",
    "--branch",
    "--tag",
    "--rev",
    "--index",
    "--registry",
];

/// Packages only a build uses: compilers, build systems, fetchers, archivers. The CA bundle
/// and tzdata are copied where the runtime needs them.
const BUILD_TOOLS: &[&str] = &[
    "gcc",
    "g++",
    "clang",
    "llvm",
    "make",
    "cmake",
    "ninja-build",
    "automake",
    "autoconf",
    "libtool",
    "pkg-config",
    "pkgconf",
    "pkgconfig",
    "build-essential",
    "build-base",
    "binutils",
    "musl-dev",
    "libc-dev",
    "libc6-dev",
    "linux-headers",
    "git",
    "git-core",
    "mercurial",
    "bzr",
    "subversion",
    "curl",
    "wget",
    "unzip",
    "zip",
    "xz-utils",
    "xz",
    "tar",
    "gzip",
    "bzip2",
    "gnupg",
    "gnupg2",
    "dirmngr",
    "upx",
    "upx-ucl",
    "protobuf-compiler",
    "protoc",
    "file",
    "patch",
    "ca-certificates",
    "tzdata",
    "openssh-client",
    "python3-dev",
    "python-dev",
    "cargo",
    "rust",
];

/// Header packages whose library the `python:*-slim` and `python:*-alpine` images ship
/// (Python itself links them).
const PYTHON_SLIM_HEADERS: &[&str] = &[
    "libffi-dev",
    "libssl-dev",
    "openssl-dev",
    "zlib1g-dev",
    "zlib-dev",
    "libbz2-dev",
    "bzip2-dev",
    "liblzma-dev",
    "xz-dev",
    "libsqlite3-dev",
    "sqlite-dev",
    "libreadline-dev",
    "readline-dev",
    "libncurses-dev",
    "libncursesw5-dev",
    "ncurses-dev",
    "uuid-dev",
    "util-linux-dev",
    "libexpat1-dev",
    "expat-dev",
    "libgdbm-dev",
    "gdbm-dev",
];

/// Python installers other than pip; dockfix does not know where they install.
const OTHER_PYTHON_INSTALLERS: &[&str] = &["poetry", "pipenv", "uv", "conda", "mamba", "pdm"];

/// Users of the runtime images, besides numeric ones.
const DEBIAN_USERS: &[&str] = &[
    "root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy",
    "www-data", "backup", "list", "irc", "nobody", "_apt",
];
const ALPINE_USERS: &[&str] = &[
    "root",
    "bin",
    "daemon",
    "adm",
    "lp",
    "sync",
    "shutdown",
    "halt",
    "mail",
    "news",
    "uucp",
    "operator",
    "man",
    "postmaster",
    "cron",
    "ftp",
    "sshd",
    "at",
    "squid",
    "xfs",
    "games",
    "cyrus",
    "vpopmail",
    "ntp",
    "smmsp",
    "guest",
    "nobody",
];
const DISTROLESS_USERS: &[&str] = &["root", "nobody", "nonroot"];

// ---------------------------------------------------------------------------------------------
// What a recipe decides
// ---------------------------------------------------------------------------------------------

/// The kind of runtime image, for what it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeKind {
    /// Distroless static: no shell, no libc; CA bundle and tzdata included.
    Distroless,
    /// `debian:*-slim`: a shell, glibc; no CA bundle.
    Debian,
    /// `alpine`: BusyBox, musl, the CA bundle.
    Alpine,
    /// `node:*-slim` / `node:*-alpine`: the `node` user.
    Node { alpine: bool },
    /// `python:*-slim` / `python:*-alpine`: CA bundle and tzdata.
    Python { alpine: bool },
    /// `eclipse-temurin:*-jre` (Ubuntu, or Alpine): CA bundle and tzdata.
    Temurin { alpine: bool },
}

impl RuntimeKind {
    pub fn has_shell(self) -> bool {
        self != RuntimeKind::Distroless
    }

    pub fn has_user(self, name: &str) -> bool {
        let users = match self {
            RuntimeKind::Distroless => DISTROLESS_USERS,
            RuntimeKind::Alpine
            | RuntimeKind::Node { alpine: true }
            | RuntimeKind::Python { alpine: true }
            | RuntimeKind::Temurin { alpine: true } => ALPINE_USERS,
            _ => DEBIAN_USERS,
        };
        users.contains(&name) || (matches!(self, RuntimeKind::Node { .. }) && name == "node")
    }

    fn ships_ca_bundle(self) -> bool {
        !matches!(self, RuntimeKind::Debian | RuntimeKind::Node { alpine: false })
    }

    fn ships_tzdata(self) -> bool {
        matches!(self, RuntimeKind::Distroless | RuntimeKind::Python { .. } | RuntimeKind::Temurin { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runtime {
    pub image: String,
    pub kind: RuntimeKind,
}

/// A path the runtime stage copies out of the builder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub source: String,
    pub destination: String,
}

impl Artifact {
    fn same(path: &str) -> Artifact {
        Artifact { source: path.to_string(), destination: path.to_string() }
    }
}

/// A line of the new stage (or of the builder): new text, or an instruction of the original
/// stage repeated as it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    New(&'static str, String),
    Verbatim(usize),
}

/// Which installed packages the runtime may need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packages {
    /// A static binary: only programs the image runs matter.
    StaticBinary,
    /// A dynamically linked binary: development packages mean libraries it links.
    NativeBinary,
    /// A virtualenv: headers of libraries the slim image lacks mean missing libraries.
    Python,
    /// Dependencies installed again in the runtime stage: every package may be needed there.
    Node,
}

impl Packages {
    /// Why the runtime may need `package`, if it may.
    pub fn needed_at_run_time(self, package: &str) -> Option<&'static str> {
        if self == Packages::Node {
            return Some("is installed in the builder; `npm ci` in the runtime stage (native add-ons) or the program may need it too");
        }
        if BUILD_TOOLS.contains(&package) {
            return None;
        }
        let development = package.ends_with("-dev") || package.ends_with("-devel");
        match (self, development) {
            (Packages::StaticBinary, true) => None,
            (Packages::Python, true) if PYTHON_SLIM_HEADERS.contains(&package) => None,
            (Packages::Python, true) => Some(
                "builds against a library the slim runtime image lacks: install its runtime package there",
            ),
            (_, true) => {
                Some("is a library the binary may link: its runtime package must be in the runtime image")
            }
            (_, false) => Some("may be needed at run time, and the runtime image would not have it"),
        }
    }
}

/// What a recipe proposes for a stage.
#[derive(Debug, Clone)]
pub struct Plan {
    pub runtime: Runtime,
    pub artifacts: Vec<Artifact>,
    /// Index (in the stage) of the last `RUN` that builds: later ones must only touch the
    /// artifacts.
    pub build_index: usize,
    /// New builder instructions, inserted above the instruction at the index.
    pub builder_inserts: Vec<(usize, Vec<Line>)>,
    /// Runtime-stage instructions, placed where the builder instruction at the index is.
    pub runtime_steps: Vec<(usize, Line)>,
    /// Runtime-stage instructions after the copies.
    pub runtime_env: Vec<Line>,
    /// Why the plan is only a suggestion.
    pub doubts: Vec<String>,
    /// What could behave differently, besides the general risk.
    pub risks: Vec<String>,
    /// Paths the runtime stage makes itself (installed dependencies).
    pub provides: Vec<String>,
    pub packages: Packages,
    /// Programs of the runtime image a health check may run.
    pub interpreters: &'static [&'static str],
    /// What is copied, for the message (`the binary `/app``).
    pub what: String,
}

impl Plan {
    fn new(runtime: Runtime, packages: Packages, build_index: usize) -> Plan {
        Plan {
            runtime,
            artifacts: Vec::new(),
            build_index,
            builder_inserts: Vec::new(),
            runtime_steps: Vec::new(),
            runtime_env: Vec::new(),
            doubts: Vec::new(),
            risks: Vec::new(),
            provides: Vec::new(),
            packages,
            interpreters: &[],
            what: String::new(),
        }
    }
}

pub fn ecosystem(image: &ImageRef) -> Option<Ecosystem> {
    let name = image.short_name().to_ascii_lowercase();
    BUILDERS.iter().find(|(builder, _)| *builder == name).map(|(_, ecosystem)| *ecosystem)
}

pub fn default_workdir(ecosystem: Ecosystem) -> Option<&'static str> {
    DEFAULT_WORKDIRS.iter().find(|(e, _)| *e == ecosystem).map(|(_, dir)| *dir)
}

/// The recipe's plan for the stage; `None` when the stage has no build step the recipe knows
/// (a scripting image, a toolbox).
pub fn plan(ecosystem: Ecosystem, view: &StageView) -> Option<Plan> {
    match ecosystem {
        Go => go(view),
        Rust => rust(view),
        Node => node(view),
        Python => python(view),
        Java => java(view),
    }
}

// ---------------------------------------------------------------------------------------------
// Build outputs, and the one the start command runs
// ---------------------------------------------------------------------------------------------

/// Where a build step writes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Output {
    /// This file.
    File(String),
    /// Some file directly in this directory, named by what is built.
    Dir(String),
}

/// An output of a build step (or a copy of one), with what dockfix knows about it.
#[derive(Debug, Clone)]
struct Produced {
    output: Output,
    /// The binary is statically linked (Go with `CGO_ENABLED=0`).
    is_static: bool,
    /// Why dockfix is not sure of it, if it is not.
    doubt: Option<String>,
}

impl Produced {
    fn matches(&self, path: &str) -> bool {
        match &self.output {
            Output::File(file) => file == path,
            Output::Dir(dir) => path::dirname(path) == *dir,
        }
    }
}

/// Adds what `cp`, `mv` and `install` make of the outputs, in the RUNs from `from` on.
fn follow_copies(view: &StageView, from: usize, produced: &mut Vec<Produced>) {
    for commands in view.commands.iter().skip(from) {
        for command in commands {
            let program = path::basename(&command.path);
            if !matches!(program, "cp" | "mv" | "install" | "ln") {
                continue;
            }
            let Some(cwd) = command.cwd.as_deref() else {
                continue;
            };
            let mut paths: Vec<&str> = Vec::new();
            let mut args = command.args.iter();
            while let Some(arg) = args.next() {
                if program == "install" && matches!(arg.as_str(), "-m" | "-o" | "-g" | "--mode" | "-t") {
                    args.next();
                } else if !arg.starts_with('-') {
                    paths.push(arg);
                }
            }
            let Some((dest, sources)) = paths.split_last() else {
                continue;
            };
            if sources.is_empty() || dest.contains('$') {
                continue;
            }
            let dest_is_dir = dest.ends_with('/')
                || sources.len() > 1
                || RUNTIME_PATH.contains(&path::normalize(dest).as_str());
            let dest = path::join(cwd, dest);
            for source in sources.iter().filter(|s| !s.contains('$')) {
                let source = path::join(cwd, source);
                let Some(origin) = produced.iter().find(|p| p.matches(&source)).cloned() else {
                    continue;
                };
                let glob = path::basename(&source).contains(['*', '?', '[']);
                let output = match (dest_is_dir, glob) {
                    (true, false) => {
                        Output::File(format!("{}/{}", dest.trim_end_matches('/'), path::basename(&source)))
                    }
                    (true, true) => Output::Dir(dest.clone()),
                    (false, _) => Output::File(dest.clone()),
                };
                produced.push(Produced { output, ..origin });
            }
        }
    }
}

/// The `PATH` directories of the builder: the stage's own `ENV PATH`, else the image's.
fn builder_path(view: &StageView, ecosystem: Ecosystem) -> Vec<String> {
    let last = view.instructions.len() - 1;
    if let Some(path) = view.env(last, "PATH").filter(|p| !p.contains('$')) {
        return path.split(':').map(str::to_string).collect();
    }
    let extra = BUILDER_PATH.iter().find(|(e, _)| *e == ecosystem).map_or(&[][..], |(_, dirs)| *dirs);
    extra.iter().chain(RUNTIME_PATH).map(|dir| dir.to_string()).collect()
}

/// The output the start command runs, as the artifact to copy: (artifact, its output).
fn started_artifact<'p>(
    view: &StageView,
    ecosystem: Ecosystem,
    produced: &'p [Produced],
) -> Result<(Artifact, &'p Produced), String> {
    let program = view.start_program().ok_or("the image starts nothing")?;
    match program {
        Program::Path(path) => {
            let found = produced.iter().rev().find(|p| p.matches(&path));
            found.map(|p| (Artifact::same(&path), p)).ok_or_else(|| {
                format!("the start command runs `{path}`, which dockfix does not see a build step produce")
            })
        }
        Program::Name(name) => {
            for dir in builder_path(view, ecosystem) {
                let path = format!("{}/{name}", dir.trim_end_matches('/'));
                if let Some(found) = produced.iter().rev().find(|p| p.matches(&path)) {
                    // Keep it on the runtime image's PATH.
                    let destination = if RUNTIME_PATH.contains(&dir.as_str()) {
                        path.clone()
                    } else {
                        format!("/usr/local/bin/{name}")
                    };
                    return Ok((Artifact { source: path, destination }, found));
                }
            }
            Err(format!("the start command runs `{name}`, which dockfix does not see a build step produce"))
        }
        Program::Unknown(word) => {
            Err(format!("the start command runs `{word}`, which dockfix cannot resolve"))
        }
    }
}

/// A best guess of the artifact for a suggestion: the last file a build step names.
fn guessed_artifact(produced: &[Produced]) -> Option<Artifact> {
    produced.iter().rev().find_map(|p| match &p.output {
        Output::File(path) => Some(Artifact::same(path)),
        Output::Dir(_) => None,
    })
}

// ---------------------------------------------------------------------------------------------
// Tags
// ---------------------------------------------------------------------------------------------

/// An image tag read as version and variant words (`3.12-slim-bookworm`, `1.22-alpine3.19`).
#[derive(Debug, Default, PartialEq, Eq)]
struct Tag {
    version: Option<String>,
    /// A Debian release named in the tag.
    release: Option<String>,
    /// `alpine` or `alpine3.19`.
    alpine: Option<String>,
    slim: bool,
    /// Words dockfix does not know.
    other: Vec<String>,
}

fn parse_tag(tag: Option<&str>) -> Tag {
    let mut parsed = Tag::default();
    let Some(tag) = tag.filter(|t| *t != "latest") else {
        return parsed;
    };
    let mut version: Vec<&str> = Vec::new();
    let mut in_version = true;
    for word in tag.split('-') {
        let variant = if DEBIAN_RELEASES.contains(&word) {
            parsed.release = Some(word.to_string());
            true
        } else if word.starts_with("alpine") {
            parsed.alpine = Some(word.to_string());
            true
        } else if word == "slim" {
            parsed.slim = true;
            true
        } else {
            false
        };
        if variant {
            in_version = false;
        } else if in_version {
            version.push(word);
        } else {
            parsed.other.push(word.to_string());
        }
    }
    if !version.is_empty() {
        parsed.version = Some(version.join("-"));
    }
    parsed
}

/// The image without its tag: the registry and path as written.
fn repository(image: &ImageRef) -> String {
    match &image.registry {
        Some(registry) => format!("{registry}/{}", image.path),
        None => image.path.clone(),
    }
}

/// The slim variant of an official `python` or `node` image, in the same repository:
/// `python:3.12` -> `python:3.12-slim`, `python:3.12-bookworm` -> `python:3.12-slim-bookworm`,
/// `node:20-bookworm` -> `node:20-bookworm-slim`; slim and alpine tags stay as they are.
fn slim_variant(view: &StageView, ecosystem: Ecosystem) -> (String, bool, Option<String>) {
    let image = &view.image;
    let tag = parse_tag(image.tag.as_deref());
    let name = repository(image);
    let mut doubt = None;
    if view.image_has_variable {
        doubt = Some(format!(
            "the builder's tag is set by an ARG, and the runtime `{name}` tag must follow it: write the same ARG into the new FROM"
        ));
    } else if !tag.other.is_empty() {
        doubt = Some(format!("dockfix does not know the variant `{}` of `{name}`", tag.other.join("-")));
    }
    if tag.alpine.is_some() || tag.slim {
        let written = image.tag.clone().unwrap_or_else(|| "latest".into());
        return (format!("{name}:{written}"), tag.alpine.is_some(), doubt);
    }
    let slim = match (&tag.version, &tag.release, ecosystem) {
        (Some(v), Some(r), Python) => format!("{v}-slim-{r}"),
        (Some(v), Some(r), _) => format!("{v}-{r}-slim"),
        (None, Some(r), Python) => format!("slim-{r}"),
        (None, Some(r), _) => format!("{r}-slim"),
        (Some(v), None, _) => format!("{v}-slim"),
        (None, None, _) => "slim".to_string(),
    };
    (format!("{name}:{slim}"), false, doubt)
}

/// The runtime for a dynamically linked binary: the builder's Debian release (slim) or
/// Alpine version.
fn native_runtime(view: &StageView, what: &str) -> (Runtime, Option<String>) {
    let tag = parse_tag(view.image.tag.as_deref());
    let written = format!("{}:{}", view.image.short_name(), view.image.tag.as_deref().unwrap_or("latest"));
    let variable = view.image_has_variable.then(|| {
        format!("the builder's tag is set by an ARG, and {what} needs the runtime's C library to match it")
    });
    if let Some(alpine) = &tag.alpine {
        let version = alpine.strip_prefix("alpine").filter(|v| !v.is_empty());
        let image = version.map_or_else(|| "alpine".to_string(), |v| format!("alpine:{v}"));
        let doubt = variable.or_else(|| {
            version.is_none().then(|| {
                format!("`{written}` does not name its Alpine version, and {what} needs the runtime's musl to match it")
            })
        });
        return (Runtime { image, kind: RuntimeKind::Alpine }, doubt);
    }
    let release = tag.release.clone();
    let doubt = variable.or_else(|| {
        release.is_none().then(|| {
            format!(
                "`{written}` does not name its Debian release, and {what} needs the runtime's glibc to match it: name the release in the tag (`{}-{ASSUMED_DEBIAN_RELEASE}`)",
                written
            )
        })
    });
    let release = release.unwrap_or_else(|| ASSUMED_DEBIAN_RELEASE.to_string());
    (Runtime { image: format!("debian:{release}-slim"), kind: RuntimeKind::Debian }, doubt)
}

/// Copies the CA bundle and the time zone database where the runtime lacks them: the CA
/// bundle from the builder image (the golang and rust images ship it), tzdata when the
/// stage installs it.
fn add_system_files(plan: &mut Plan, view: &StageView, copy_ca_bundle: bool) {
    let kind = plan.runtime.kind;
    if copy_ca_bundle && !kind.ships_ca_bundle() {
        plan.artifacts.push(Artifact::same(CA_BUNDLE));
    }
    let installs_tzdata = view.packages.iter().any(|p| p.name == "tzdata" && !p.removed);
    if installs_tzdata && !kind.ships_tzdata() {
        plan.artifacts.push(Artifact::same(ZONEINFO));
    }
}

// ---------------------------------------------------------------------------------------------
// Go
// ---------------------------------------------------------------------------------------------

fn go(view: &StageView) -> Option<Plan> {
    let mut produced = Vec::new();
    let mut build_index = None;
    for (index, commands) in view.commands.iter().enumerate() {
        for command in commands {
            let install = command.is("go", "install");
            if !(command.is("go", "build") || install) {
                continue;
            }
            // A build for another OS is not what this image runs.
            if command.env("GOOS").is_some_and(|os| os != "linux") {
                continue;
            }
            if let Some(found) = go_output(view, index, command, install) {
                produced.push(found);
                build_index = Some(index);
            }
        }
    }
    let build_index = build_index?;
    let first_build =
        view.commands.iter().position(|c| c.iter().any(|c| c.is("go", "build") || c.is("go", "install")))?;
    follow_copies(view, first_build, &mut produced);
    let mut doubts = Vec::new();
    let (artifact, is_static) = match started_artifact(view, Go, &produced) {
        Ok((artifact, origin)) => {
            doubts.extend(origin.doubt.clone());
            (Some(artifact), origin.is_static)
        }
        Err(doubt) => {
            doubts.push(doubt);
            (guessed_artifact(&produced), produced.iter().all(|p| p.is_static))
        }
    };
    let needs_shell = view.start.as_ref().is_some_and(|s| s.needs_shell)
        || view.healthcheck.as_ref().is_some_and(|(_, shell_form)| *shell_form);
    let (runtime, runtime_doubt) = match (is_static, needs_shell) {
        (true, false) => (Runtime { image: STATIC_RUNTIME.into(), kind: RuntimeKind::Distroless }, None),
        (true, true) => (Runtime { image: STATIC_SHELL_RUNTIME.into(), kind: RuntimeKind::Debian }, None),
        (false, _) => native_runtime(view, "a binary built with cgo (CGO_ENABLED is not 0)"),
    };
    let packages = if is_static { Packages::StaticBinary } else { Packages::NativeBinary };
    let mut plan = Plan::new(runtime, packages, build_index);
    plan.doubts = doubts;
    plan.doubts.extend(runtime_doubt);
    binary_plan(&mut plan, view, artifact);
    Some(plan)
}

/// The artifact, system files, message and risks of a compiled binary.
fn binary_plan(plan: &mut Plan, view: &StageView, artifact: Option<Artifact>) {
    if let Some(artifact) = artifact {
        plan.what = format!("the binary `{}`", artifact.destination);
        plan.artifacts.push(artifact);
    }
    add_system_files(plan, view, true);
    let sets_user = view.instructions.iter().any(|i| i.is("USER"));
    if plan.runtime.kind == RuntimeKind::Distroless && !sets_user {
        plan.risks.push("the distroless `:nonroot` image runs as UID 65532, not root".into());
    }
    if plan.packages == Packages::NativeBinary {
        plan.risks.push("shared libraries the binary links beyond the C library (libssl, ...) must be installed in the runtime stage".into());
    }
}

/// What one `go build` or `go install` writes.
fn go_output(view: &StageView, index: usize, command: &Command, install: bool) -> Option<Produced> {
    let line = view.instructions[index].start_line;
    let mut output: Option<&str> = None;
    let mut change_dir: Option<&str> = None;
    let mut packages: Vec<&str> = Vec::new();
    let after = command.subcommand().map_or(0, |(index, _)| index + 1);
    let mut args = command.args[after..].iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if arg.starts_with('-') => (flag, Some(value)),
            _ => (arg.as_str(), None),
        };
        let flag = flag.strip_prefix("--").map_or(flag, |rest| &arg[1..1 + rest.len()]);
        if flag.starts_with('-') && GO_VALUE_FLAGS.contains(&flag) {
            let value = inline.or_else(|| args.next().map(String::as_str));
            match flag {
                "-o" => output = value,
                "-C" => change_dir = value,
                "-buildmode" if value.is_some_and(|mode| !matches!(mode, "default" | "exe" | "pie")) => {
                    return None
                }
                _ => {}
            }
        } else if !flag.starts_with('-') {
            packages.push(arg);
        }
    }
    let is_static = command.env("CGO_ENABLED") == Some("0");
    let unknown_dir = || Produced {
        output: Output::Dir(String::new()),
        is_static,
        doubt: Some(format!("the directory `go build` runs in on line {line} is not known")),
    };
    let Some(mut cwd) = command.cwd.clone() else {
        return Some(unknown_dir());
    };
    if let Some(dir) = change_dir {
        if dir.contains('$') {
            return Some(unknown_dir());
        }
        cwd = path::join(&cwd, dir);
    }
    if install {
        let gopath = command.env("GOPATH").unwrap_or(GOPATH);
        let bin = command.env("GOBIN").map_or_else(|| format!("{gopath}/bin"), str::to_string);
        let single = match packages.as_slice() {
            [single] if !single.contains("...") => package_name(single.split('@').next().unwrap_or(single)),
            _ => None,
        };
        let output = match single {
            Some(name) => Output::File(format!("{bin}/{name}")),
            None => Output::Dir(bin),
        };
        return Some(Produced { output, is_static, doubt: None });
    }
    if let Some(out) = output {
        if out.contains('$') {
            let doubt = Some(format!("`go build -o {out}` on line {line} uses a variable"));
            return Some(Produced { output: Output::Dir(String::new()), is_static, doubt });
        }
        let path = path::join(&cwd, out);
        let output = if out.ends_with('/') { Output::Dir(path) } else { Output::File(path) };
        return Some(Produced { output, is_static, doubt: None });
    }
    // Without -o, one main package is written to the working directory, named after the
    // last element of its import path, or after the first file of a list of files.
    let single = match packages.as_slice() {
        [single] if !single.contains("...") && !single.ends_with(".go") => Some(package_name(single)),
        _ => None,
    };
    match (packages.as_slice(), single) {
        ([], _) | (_, Some(None)) => Some(Produced {
            output: Output::Dir(cwd),
            is_static,
            doubt: Some(format!(
                "`go build` on line {line} names its output after the module path in go.mod, which dockfix does not read"
            )),
        }),
        ([first, ..], _) if first.ends_with(".go") => {
            let name = path::basename(first).trim_end_matches(".go");
            Some(Produced { output: Output::File(format!("{cwd}/{name}")), is_static, doubt: None })
        }
        (_, Some(Some(name))) => {
            Some(Produced { output: Output::File(format!("{cwd}/{name}")), is_static, doubt: None })
        }
        // Several packages: `go build` only checks that they compile.
        _ => None,
    }
}

/// The last element of an import path that is not a major version (`./cmd/app/v2` -> `app`);
/// `None` when that is the directory itself (`./v2` is named after the module).
fn package_name(path: &str) -> Option<&str> {
    let mut elements = path.trim_end_matches('/').rsplit('/');
    let last = elements.next().unwrap_or(path);
    let is_major = last.len() > 1 && last.starts_with('v') && last[1..].chars().all(|c| c.is_ascii_digit());
    let name = if is_major { elements.next().unwrap_or(last) } else { last };
    (!matches!(name, "" | "." | "..")).then_some(name)
}

// ---------------------------------------------------------------------------------------------
// Rust
// ---------------------------------------------------------------------------------------------

fn rust(view: &StageView) -> Option<Plan> {
    let mut produced = Vec::new();
    let mut build_index = None;
    for (index, commands) in view.commands.iter().enumerate() {
        for command in commands {
            let found = if command.is("cargo", "build") {
                cargo_build_output(view, index, command)
            } else if command.is("cargo", "install") {
                Some(cargo_install_output(command))
            } else {
                None
            };
            if let Some(found) = found {
                produced.extend(found);
                build_index = Some(index);
            }
        }
    }
    let build_index = build_index?;
    follow_copies(view, build_index, &mut produced);
    let mut doubts = Vec::new();
    let artifact = match started_artifact(view, Rust, &produced) {
        Ok((artifact, origin)) => {
            doubts.extend(origin.doubt.clone());
            Some(artifact)
        }
        Err(doubt) => {
            doubts.push(doubt);
            guessed_artifact(&produced)
        }
    };
    let (runtime, runtime_doubt) = native_runtime(view, "the binary");
    let mut plan = Plan::new(runtime, Packages::NativeBinary, build_index);
    plan.doubts = doubts;
    plan.doubts.extend(runtime_doubt);
    binary_plan(&mut plan, view, artifact);
    Some(plan)
}

/// Where `cargo build` writes its binaries: `target/[TRIPLE/]PROFILE/NAME`.
fn cargo_build_output(view: &StageView, index: usize, command: &Command) -> Option<Vec<Produced>> {
    let line = view.instructions[index].start_line;
    let mut profile = "debug".to_string();
    let (mut triple, mut target_dir, mut bins) = (None, None, Vec::new());
    let mut doubt = None;
    let after = command.subcommand().map_or(0, |(index, _)| index + 1);
    let mut args = command.args[after..].iter();
    while let Some(arg) = args.next() {
        let (option, inline) = match arg.split_once('=') {
            Some((option, value)) if arg.starts_with('-') => (option, Some(value.to_string())),
            _ => (arg.as_str(), None),
        };
        let value = if CARGO_VALUE_OPTIONS.contains(&option) {
            inline.or_else(|| args.next().cloned())
        } else {
            None
        };
        match (option, value) {
            ("--release" | "-r", _) => profile = "release".into(),
            ("--profile", Some(p)) => {
                profile = match p.as_str() {
                    "dev" | "test" => "debug".into(),
                    "bench" => "release".into(),
                    other => other.into(),
                }
            }
            ("--target", Some(t)) => triple = Some(t),
            ("--target-dir", Some(d)) => target_dir = Some(d),
            ("--bin", Some(b)) => bins.push(b),
            ("--manifest-path", Some(_)) => {
                doubt = Some(format!(
                    "`cargo build --manifest-path` on line {line}: the target directory may be elsewhere"
                ))
            }
            ("--lib" | "--example" | "--examples" | "--tests" | "--benches", _) if bins.is_empty() => {
                return None
            }
            _ => {}
        }
    }
    let Some(cwd) = command.cwd.clone() else {
        let doubt = Some(format!("the directory `cargo build` runs in on line {line} is not known"));
        return Some(vec![Produced { output: Output::Dir(String::new()), is_static: false, doubt }]);
    };
    let target_dir = target_dir.or_else(|| command.env("CARGO_TARGET_DIR").map(str::to_string));
    if target_dir.as_deref().is_some_and(|d| d.contains('$'))
        || triple.as_deref().is_some_and(|t| t.contains('$'))
    {
        let doubt = Some(format!("`cargo build` on line {line} writes to a directory set by a variable"));
        return Some(vec![Produced { output: Output::Dir(String::new()), is_static: false, doubt }]);
    }
    let target = path::join(&cwd, target_dir.as_deref().unwrap_or("target"));
    let dir = match triple {
        Some(triple) => format!("{target}/{triple}/{profile}"),
        None => format!("{target}/{profile}"),
    };
    if bins.is_empty() {
        return Some(vec![Produced { output: Output::Dir(dir), is_static: false, doubt }]);
    }
    Some(
        bins.into_iter()
            .map(|bin| Produced {
                output: Output::File(format!("{dir}/{bin}")),
                is_static: false,
                doubt: doubt.clone(),
            })
            .collect(),
    )
}

/// Where `cargo install` puts binaries: `ROOT/bin` (`--root`, `$CARGO_INSTALL_ROOT`,
/// `$CARGO_HOME`).
fn cargo_install_output(command: &Command) -> Vec<Produced> {
    let args: &[String] = &command.args;
    let root = args
        .iter()
        .position(|arg| arg == "--root")
        .and_then(|at| args.get(at + 1))
        .map(String::as_str)
        .or_else(|| args.iter().find_map(|arg| arg.strip_prefix("--root=")))
        .or_else(|| command.env("CARGO_INSTALL_ROOT"))
        .or_else(|| command.env("CARGO_HOME"))
        .unwrap_or(CARGO_HOME);
    let root = match &command.cwd {
        Some(cwd) => path::join(cwd, root),
        None => root.to_string(),
    };
    vec![Produced { output: Output::Dir(format!("{root}/bin")), is_static: false, doubt: None }]
}

// ---------------------------------------------------------------------------------------------
// Node
// ---------------------------------------------------------------------------------------------

/// Package managers: (program, the script-running words of a build, install subcommands).
const NODE_MANAGERS: &[(&str, &[&str])] =
    &[("npm", &["ci", "install", "i"]), ("yarn", &["install"]), ("pnpm", &["install", "i"])];

/// A build script: `npm run build`, `yarn build`, `pnpm run build:prod`.
fn node_build(command: &Command) -> bool {
    let program = path::basename(&command.path);
    let args: &[String] = &command.args;
    let script = match (program, args.first().map(String::as_str)) {
        ("npm", Some("run" | "run-script")) | ("yarn" | "pnpm", Some("run")) => args.get(1),
        ("yarn" | "pnpm", Some(_)) => args.first(),
        _ => None,
    };
    script.is_some_and(|s| s == "build" || s.starts_with("build:"))
}

/// A dependency install of the whole project (no package names): the manager's name.
fn node_install(command: &Command) -> Option<&'static str> {
    let program = path::basename(&command.path);
    let (manager, subcommands) = NODE_MANAGERS.iter().find(|(name, _)| *name == program)?;
    let args: &[String] = &command.args;
    let installs = match args.first() {
        None => *manager == "yarn",
        Some(sub) => subcommands.contains(&sub.as_str()) || (*manager == "yarn" && sub.starts_with('-')),
    };
    let names_packages = args.iter().skip(1).any(|arg| !arg.starts_with('-'));
    let global = args.iter().any(|arg| arg == "-g" || arg == "--global");
    (installs && !names_packages && !global).then_some(*manager)
}

fn node(view: &StageView) -> Option<Plan> {
    let (build_index, build) = view
        .commands
        .iter()
        .enumerate()
        .flat_map(|(index, commands)| commands.iter().map(move |c| (index, c)))
        .rfind(|(_, command)| node_build(command))?;
    let (runtime_image, alpine, tag_doubt) = slim_variant(view, Node);
    let runtime = Runtime { image: runtime_image, kind: RuntimeKind::Node { alpine } };
    let mut plan = Plan::new(runtime, Packages::Node, build_index);
    plan.doubts.extend(tag_doubt);
    plan.interpreters = &["node", "nodejs", "npm", "npx", "yarn"];
    plan.risks.push(
        "production dependencies are installed again in the runtime image: native add-ons without prebuilt binaries need build tools there".into(),
    );
    let project = build.cwd.clone();
    let install = view
        .commands
        .iter()
        .enumerate()
        .take(build_index + 1)
        .flat_map(|(index, commands)| commands.iter().map(move |c| (index, c)))
        .rev()
        .find_map(|(index, command)| node_install(command).map(|manager| (index, command, manager)));
    match install {
        Some((index, command, manager)) => node_runtime_install(&mut plan, view, index, command, manager),
        None => plan.doubts.push("dockfix finds no dependency install before the build".into()),
    }
    let output = node_started_output(view, project.as_deref());
    match output {
        Ok(dir) => {
            plan.what = format!("`{dir}` and the production dependencies");
            plan.artifacts.push(Artifact::same(&dir));
        }
        Err((doubt, guess)) => {
            plan.doubts.push(doubt);
            if let Some(dir) = guess {
                plan.what = format!("`{dir}` and the production dependencies");
                plan.artifacts.push(Artifact::same(&dir));
            }
        }
    }
    Some(plan)
}

/// The runtime stage's manifests and production install, in the place of the builder's.
fn node_runtime_install(plan: &mut Plan, view: &StageView, index: usize, command: &Command, manager: &str) {
    let line = view.instructions[index].start_line;
    if command.cwd.is_none() || command.cwd != view.workdirs[index] {
        plan.doubts.push(format!("the install on line {line} runs in a directory of its own (`cd`)"));
    }
    if let Some(dir) = &command.cwd {
        plan.provides.push(dir.clone());
    }
    // The COPY that brought the manifests, repeated as it is; else the manifests alone.
    let manifests = (1..index).rev().find(|&i| {
        let instruction = &view.instructions[i];
        let sources = instruction.words.split_last().map_or(&[][..], |(_, sources)| sources);
        (instruction.is("COPY") || instruction.is("ADD"))
            && instruction.flag("from").is_none()
            && sources.iter().any(|s| path::basename(&s.text).starts_with("package"))
            && !sources.iter().any(|s| matches!(s.text.as_str(), "." | "./"))
    });
    match manifests {
        Some(at) => plan.runtime_steps.push((at, Line::Verbatim(at))),
        None => plan.runtime_steps.push((index, Line::New("COPY", "package*.json ./".into()))),
    }
    let major: Option<u32> = parse_tag(view.image.tag.as_deref())
        .version
        .and_then(|v| v.split('.').next().and_then(|m| m.parse().ok()));
    let omit = match major {
        Some(major) if major < 15 => "--production",
        _ => "--omit=dev",
    };
    let simple = |word: &&String| word.chars().all(|c| c.is_ascii_alphanumeric() || "-_=./@:".contains(c));
    let kept: Vec<&String> = command.args[1.min(command.args.len())..]
        .iter()
        .filter(|w| w.starts_with("--") && simple(w))
        .filter(|w| !w.starts_with("--omit") && !w.starts_with("--include") && *w != "--production")
        .collect();
    let sub = command.args.first().map_or("install", String::as_str);
    let run = match manager {
        "npm" => {
            let flags: String = kept.iter().map(|w| format!(" {w}")).collect();
            format!("npm {sub}{flags} {omit}")
        }
        "yarn" => {
            plan.doubts.push(
                "dockfix installs production dependencies again only with npm (yarn 1 and yarn 2+ differ)"
                    .into(),
            );
            "yarn install --production --frozen-lockfile".into()
        }
        _ => {
            plan.doubts.push("dockfix installs production dependencies again only with npm".into());
            "pnpm install --prod --frozen-lockfile".into()
        }
    };
    plan.runtime_steps.push((index, Line::New("RUN", run)));
}

/// The build output directory the start command runs from, or a doubt and a guess.
fn node_started_output(view: &StageView, project: Option<&str>) -> Result<String, (String, Option<String>)> {
    let project =
        project.ok_or_else(|| ("the directory the build runs in is not known".to_string(), None))?;
    let guess = Some(format!("{}/{}", project.trim_end_matches('/'), NODE_OUTPUT_DIRS[0]));
    let start = view.start.as_ref().ok_or_else(|| ("the image starts nothing".to_string(), guess.clone()))?;
    let program = start.argv.first().map(|p| path::basename(p)).unwrap_or("");
    if program != "node" && program != "nodejs" {
        return Err((
            format!("the start command runs `{}`, so dockfix cannot tell which files it needs (`npm start` runs a script of package.json)", start.argv.join(" ")),
            guess,
        ));
    }
    let mut args = start.argv.iter().skip(1);
    let mut script = None;
    while let Some(arg) = args.next() {
        if matches!(arg.as_str(), "-r" | "--require" | "--import" | "--loader") {
            args.next();
        } else if !arg.starts_with('-') {
            script = Some(arg);
            break;
        }
    }
    let script =
        script.ok_or_else(|| ("the start command runs no script file".to_string(), guess.clone()))?;
    let Some(path) = view.path_in_image(script) else {
        return Err((format!("the start command runs `{script}`, which dockfix cannot resolve"), guess));
    };
    NODE_OUTPUT_DIRS
        .iter()
        .map(|dir| format!("{}/{dir}", project.trim_end_matches('/')))
        .find(|dir| path::is_under(&path, dir) && path != *dir)
        .ok_or_else(|| {
            (
                format!(
                    "the start command runs `{script}`, which is not in a build output directory ({})",
                    NODE_OUTPUT_DIRS.join(", ")
                ),
                guess,
            )
        })
}

// ---------------------------------------------------------------------------------------------
// Python
// ---------------------------------------------------------------------------------------------

/// `pip install ...`, `pip3 install`, `python -m pip install`: the program as written.
fn pip_install(command: &Command) -> Option<(&str, &[String])> {
    let program = command.path.as_str();
    let name = path::basename(program);
    let args: &[String] = &command.args;
    if name.starts_with("pip") {
        // Options may come first: `pip --no-cache-dir install`.
        let (at, sub) = command.subcommand()?;
        return (sub == "install").then(|| (program, &args[at + 1..]));
    }
    let module = name.starts_with("python") && args.len() >= 3 && args[0] == "-m" && args[1] == "pip";
    (module && args[2] == "install").then(|| (program, &args[3..]))
}

/// `python -m venv DIR` or `virtualenv DIR`: the directory as written.
fn creates_venv(command: &Command) -> Option<&str> {
    let program = path::basename(&command.path);
    let args: &[String] = &command.args;
    let rest = if program == "virtualenv" {
        args
    } else if program.starts_with("python")
        && args.len() >= 2
        && args[0] == "-m"
        && matches!(args[1].as_str(), "venv" | "virtualenv")
    {
        &args[2..]
    } else {
        return None;
    };
    rest.iter().find(|arg| !arg.starts_with('-')).map(String::as_str)
}

fn is_compiler_package(name: &str) -> bool {
    matches!(name, "gcc" | "g++" | "clang" | "build-essential" | "build-base" | "musl-dev")
        || name.ends_with("-dev")
        || name.ends_with("-devel")
}

fn python(view: &StageView) -> Option<Plan> {
    let installs: Vec<(usize, &Command)> = view
        .commands
        .iter()
        .enumerate()
        .flat_map(|(index, commands)| commands.iter().map(move |c| (index, c)))
        .filter(|(_, command)| {
            pip_install(command).is_some()
                || OTHER_PYTHON_INSTALLERS.contains(&path::basename(&command.path))
                || (path::basename(&command.path).starts_with("python")
                    && command.args.windows(2).any(|w| w[0] == "setup.py" && w[1] == "install"))
        })
        .collect();
    let compiles = view.packages.iter().any(|p| is_compiler_package(&p.name));
    if installs.is_empty() || !compiles {
        return None;
    }
    let build_index = installs.last().map(|(index, _)| *index)?;
    let (runtime_image, alpine, tag_doubt) = slim_variant(view, Python);
    let runtime = Runtime { image: runtime_image, kind: RuntimeKind::Python { alpine } };
    let mut plan = Plan::new(runtime, Packages::Python, build_index);
    plan.doubts.extend(tag_doubt);
    plan.interpreters = &["python", "python3"];
    plan.risks.push("files the build writes outside the application's directories are not copied".into());

    let own_venv = view.commands.iter().enumerate().find_map(|(index, commands)| {
        commands.iter().find_map(|command| {
            let dir = creates_venv(command)?;
            let cwd = command.cwd.as_deref()?;
            (!dir.contains('$'))
                .then(|| path::join(cwd, dir))
                .or_else(|| super::substitute(dir, &view.envs[index]).map(|d| path::join(cwd, &d)))
        })
    });
    let venv = own_venv.clone().unwrap_or_else(|| VENV.to_string());
    for (index, command) in &installs {
        let line = view.instructions[*index].start_line;
        let Some((program, args)) = pip_install(command) else {
            let name = path::basename(&command.path);
            plan.doubts.push(format!(
                "line {line} installs with `{name}`, and dockfix knows only where pip installs"
            ));
            continue;
        };
        if program.starts_with('/') && !path::is_under(program, &venv) {
            plan.doubts.push(format!("line {line} runs `{program}`, which installs outside the virtualenv"));
        }
        if let Some(flag) = args.iter().find(|a| {
            matches!(a.as_str(), "--user" | "--target" | "-t" | "--prefix" | "--root")
                || a.starts_with("--target=")
                || a.starts_with("--prefix=")
                || a.starts_with("--root=")
        }) {
            plan.doubts.push(format!("`pip install {flag}` on line {line} installs outside a virtualenv"));
        }
    }
    if own_venv.is_none() {
        let first = installs[0].0;
        let user =
            view.instructions[..first].iter().rfind(|i| i.is("USER")).map(|u| u.args.trim().to_string());
        if let Some(user) = user.filter(|u| !matches!(u.split(':').next(), Some("root" | "0" | ""))) {
            plan.doubts
                .push(format!("the virtualenv would be created as `{user}`, who may not write to {VENV}"));
        }
        let path = format!("PATH=\"{VENV}/bin:$PATH\"");
        plan.builder_inserts.push((
            first,
            vec![Line::New("RUN", format!("python -m venv {VENV}")), Line::New("ENV", path.clone())],
        ));
        plan.runtime_env.push(Line::New("ENV", path));
    }
    let app = application_paths(view, build_index, &mut plan.doubts);
    let mut copied = vec![format!("the virtualenv `{venv}`")];
    // A virtualenv inside the application's directory comes with it.
    if !app.iter().any(|path| path::is_under(&venv, path)) {
        plan.artifacts.push(Artifact::same(&venv));
    }
    for path in app.into_iter().filter(|path| !path::is_under(path, &venv)) {
        copied.push(format!("`{path}`"));
        plan.artifacts.push(Artifact::same(&path));
    }
    plan.what = copied.join(", ");
    Some(plan)
}

/// The paths the builder's `COPY`/`ADD` write to, those under the final working directory
/// as that directory.
fn application_paths(view: &StageView, before: usize, doubts: &mut Vec<String>) -> Vec<String> {
    let last_run = view.instructions.iter().rposition(|i| i.is("RUN")).unwrap_or(before);
    let workdir = view.final_workdir().filter(|dir| *dir != "/");
    let mut paths: Vec<String> = Vec::new();
    for index in 1..last_run {
        let instruction = &view.instructions[index];
        if !(instruction.is("COPY") || instruction.is("ADD")) || instruction.flag("from").is_some() {
            continue;
        }
        let (Some((dest, sources)), Some(dir)) =
            (instruction.words.split_last(), view.workdirs[index].as_deref())
        else {
            doubts.push(format!("where line {} copies to is not known", instruction.start_line));
            continue;
        };
        if instruction.exec_form.is_some() || dest.text.contains('$') {
            doubts.push(format!("where line {} copies to is not known", instruction.start_line));
            continue;
        }
        let dest_path = path::join(dir, &dest.text);
        let into_dir = dest.text.ends_with('/') || sources.len() > 1;
        let path = match sources {
            [source]
                if into_dir && !matches!(source.text.as_str(), "." | "./") && !source.text.ends_with('/') =>
            {
                format!("{}/{}", dest_path.trim_end_matches('/'), path::basename(&source.text))
            }
            _ => dest_path,
        };
        let path = match workdir {
            Some(dir) if path::is_under(&path, dir) => dir.to_string(),
            _ => path,
        };
        if path == "/" {
            doubts.push(format!("line {} copies into `/`", instruction.start_line));
            continue;
        }
        if !paths.iter().any(|p| path::is_under(&path, p)) {
            paths.retain(|p| !path::is_under(p, &path));
            paths.push(path);
        }
    }
    paths
}

// ---------------------------------------------------------------------------------------------
// Java
// ---------------------------------------------------------------------------------------------

/// The Java major version in a maven or gradle tag (`3.9-eclipse-temurin-17`, `8.5-jdk21`,
/// `jdk17-alpine`, `3-openjdk-11-slim`).
fn java_major(tag: &str) -> Option<String> {
    let words: Vec<&str> = tag.split('-').collect();
    let skip =
        usize::from(words.first().is_some_and(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit())));
    words.iter().skip(skip).find_map(|word| {
        let digits = word.trim_start_matches("jdk").trim_start_matches("jre").trim_start_matches("java");
        (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())).then(|| digits.to_string())
    })
}

fn java(view: &StageView) -> Option<Plan> {
    let mut produced = Vec::new();
    let mut build_index = None;
    for (index, commands) in view.commands.iter().enumerate() {
        for command in commands {
            let program = path::basename(&command.path);
            let args: &[String] = &command.args;
            let (output, dir_option) = match program {
                "mvn" | "mvnw" if args.iter().any(|a| MAVEN_GOALS.contains(&a.as_str())) => {
                    (MAVEN_OUTPUT, "-f")
                }
                "gradle" | "gradlew" if args.iter().any(|a| GRADLE_TASKS.contains(&a.as_str())) => {
                    (GRADLE_OUTPUT, "-p")
                }
                _ => continue,
            };
            build_index = Some(index);
            let Some(cwd) = command.cwd.as_deref() else {
                continue;
            };
            let mut project = cwd.to_string();
            if let Some(at) = args.iter().position(|a| a == dir_option) {
                let given = args.get(at + 1).map_or("", String::as_str);
                let dir = if dir_option == "-f" && given.ends_with(".xml") {
                    path::dirname(&path::join(cwd, given))
                } else {
                    path::join(cwd, given)
                };
                project = dir;
            }
            produced.push(Produced {
                output: Output::Dir(format!("{project}/{output}")),
                is_static: false,
                doubt: None,
            });
        }
    }
    let build_index = build_index?;
    follow_copies(view, build_index, &mut produced);
    let tag = view.image.tag.as_deref().unwrap_or("");
    let major = java_major(tag);
    let alpine = tag.contains("alpine");
    let major_text = major.clone().unwrap_or_else(|| ASSUMED_JAVA_MAJOR.to_string());
    let image = format!("{JRE_IMAGE}:{major_text}-jre{}", if alpine { "-alpine" } else { "" });
    let mut plan = Plan::new(
        Runtime { image, kind: RuntimeKind::Temurin { alpine } },
        Packages::NativeBinary,
        build_index,
    );
    plan.interpreters = &["java"];
    plan.risks.push("the JRE lacks the JDK's tools (javac, jcmd, jmap)".into());
    if view.image_has_variable {
        plan.doubts
            .push("the builder's tag is set by an ARG, and the runtime's Java version must follow it".into());
    } else if major.is_none() {
        plan.doubts.push(format!(
            "`{}:{tag}` does not name its Java version, and the runtime must match it (dockfix assumes {ASSUMED_JAVA_MAJOR})",
            view.image.short_name()
        ));
    }
    match started_jar(view, &produced) {
        Ok(jar) => {
            plan.what = format!("the jar `{jar}`");
            plan.artifacts.push(Artifact::same(&jar));
        }
        Err(doubt) => plan.doubts.push(doubt),
    }
    Some(plan)
}

/// The jar `java -jar` runs, when a build step produces it.
fn started_jar(view: &StageView, produced: &[Produced]) -> Result<String, String> {
    let start = view.start.as_ref().ok_or("the image starts nothing")?;
    let program = start.argv.first().map_or("", String::as_str);
    if program != "java" {
        return Err(format!("the start command runs `{program}`, not `java -jar`"));
    }
    let jar = start
        .argv
        .iter()
        .position(|arg| arg == "-jar")
        .and_then(|at| start.argv.get(at + 1))
        .ok_or("the start command runs java without -jar")?;
    if jar.contains(['$', '*', '?', '[']) {
        return Err(format!("the start command runs `{jar}`, which dockfix cannot resolve"));
    }
    let path = view
        .path_in_image(jar)
        .ok_or_else(|| format!("the start command runs `{jar}` from an unknown directory"))?;
    let built = produced.iter().any(|p| match &p.output {
        Output::File(file) => *file == path,
        Output::Dir(dir) => path::is_under(&path, dir),
    });
    built
        .then_some(path.clone())
        .ok_or(format!("the start command runs `{path}`, which dockfix does not see the build produce"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags() {
        let tag = parse_tag(Some("3.12.1-slim-bookworm"));
        assert_eq!(tag.version.as_deref(), Some("3.12.1"));
        assert_eq!(tag.release.as_deref(), Some("bookworm"));
        assert!(tag.slim);
        let tag = parse_tag(Some("1.22-alpine3.19"));
        assert_eq!(tag.alpine.as_deref(), Some("alpine3.19"));
        assert_eq!(parse_tag(Some("latest")), Tag::default());
        assert_eq!(parse_tag(Some("20-windowsservercore")).version.as_deref(), Some("20-windowsservercore"));
    }

    #[test]
    fn java_majors() {
        assert_eq!(java_major("3.9.6-eclipse-temurin-17").as_deref(), Some("17"));
        assert_eq!(java_major("8.5-jdk21-alpine").as_deref(), Some("21"));
        assert_eq!(java_major("jdk17").as_deref(), Some("17"));
        assert_eq!(java_major("3-openjdk-11-slim").as_deref(), Some("11"));
        assert_eq!(java_major("3.8-jdk-8").as_deref(), Some("8"));
        assert_eq!(java_major("3.9"), None);
    }

    #[test]
    fn go_package_names() {
        assert_eq!(package_name("./cmd/server"), Some("server"));
        assert_eq!(package_name("example.com/app/v2"), Some("app"));
        assert_eq!(package_name("./v2/"), None);
        assert_eq!(package_name("."), None);
    }

    #[test]
    fn package_policies() {
        assert_eq!(Packages::StaticBinary.needed_at_run_time("libsqlite3-dev"), None);
        assert!(Packages::NativeBinary.needed_at_run_time("libsqlite3-dev").is_some());
        assert_eq!(Packages::Python.needed_at_run_time("libffi-dev"), None);
        assert!(Packages::Python.needed_at_run_time("libpq-dev").is_some());
        assert!(Packages::Python.needed_at_run_time("ffmpeg").is_some());
        assert_eq!(Packages::Python.needed_at_run_time("gcc"), None);
        assert!(Packages::Node.needed_at_run_time("gcc").is_some());
    }
}
