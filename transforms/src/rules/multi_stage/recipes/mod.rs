//! The recipes: for each ecosystem, how a stage builds its artifact, where the artifact is,
//! and which runtime image runs it, one file per ecosystem. What they share is here: the
//! plan a recipe proposes and the facts every recipe applies; [`runtime`] picks runtime
//! images, [`outputs`] follows what build steps write.

mod go;
mod java;
mod node;
mod outputs;
mod python;
mod runtime;
mod rust;

use super::view::StageView;
use crate::image::ImageRef;

pub(super) use runtime::runtime_from_facts;
use runtime::{native_runtime, parse_tag, slim_variant};
pub use runtime::{Runtime, RuntimeKind};

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
/// `mirror.gcr.io/library/golang` match too). Source: the Docker Official Images of those
/// names (docker-library/official-images).
const BUILDERS: &[(&str, Ecosystem)] =
    &[("golang", Go), ("rust", Rust), ("node", Node), ("python", Python), ("maven", Java), ("gradle", Java)];

/// The working directory each builder image starts in, where dockfix knows it (`golang` sets
/// `WORKDIR /go`; the others set none). maven and gradle images: unknown. Source: the
/// images' Dockerfiles (docker-library/golang, rust, node, python).
const DEFAULT_WORKDIRS: &[(Ecosystem, &str)] = &[(Go, "/go"), (Rust, "/"), (Node, "/"), (Python, "/")];

/// Directories the builder images add to `PATH` (where `go install` and `cargo install` put
/// programs). Source: the `ENV PATH` of docker-library/golang and docker-library/rust.
const BUILDER_PATH: &[(Ecosystem, &[&str])] =
    &[(Go, &["/go/bin", "/usr/local/go/bin"]), (Rust, &["/usr/local/cargo/bin"])];

/// Directories in `PATH` of every runtime image dockfix picks: Docker's default `PATH` for
/// Linux containers, which the Debian, Alpine and distroless images keep (moby's
/// `oci.DefaultPathEnv`).
const RUNTIME_PATH: &[&str] =
    &["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/// The CA bundle of Debian and Alpine images (where their `ca-certificates` packages write
/// it), and the time zone database (the `tzdata` packages).
const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
const ZONEINFO: &str = "/usr/share/zoneinfo";

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
/// (Python itself links them). Source: the build dependencies of docker-library/python's
/// slim and alpine Dockerfiles, whose libraries the images keep.
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

// ---------------------------------------------------------------------------------------------
// What a recipe decides
// ---------------------------------------------------------------------------------------------

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
        Go => go::plan(view),
        Rust => rust::plan(view),
        Node => node::plan(view),
        Python => python::plan(view),
        Java => java::plan(view),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
