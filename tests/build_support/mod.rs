//! Build-proof harness: builds Dockerfiles for real with `buildah`, from base images this
//! harness makes itself (offline) and serves from a `docker-registry` it starts on 127.0.0.1.
//! Any test binary can use it with `mod build_support;`.
//!
//! - [`require_tools`]: `buildah`, `docker-registry`, `debootstrap`, a static `busybox`, and
//!   root. Missing: a panic under `CI=true` (CI must not skip), a loud skip notice otherwise.
//! - [`env`]: set up once per test binary (a `OnceLock`): a private work directory, a
//!   registry, private buildah storage (`--root/--runroot` under the work directory, `vfs`,
//!   `BUILDAH_ISOLATION=chroot`), and the base images pushed to the registry:
//!   - `REGISTRY/debian:bookworm`: `debootstrap --variant=minbase bookworm` (real `useradd`,
//!     `groupadd`, `setpriv`, and the usual 11 setuid files), without package lists, docs and
//!     translations, as `debian:bookworm-slim`. debootstrap needs the Debian mirror
//!     (`DOCKFIX_DEBIAN_MIRROR` overrides `http://deb.debian.org/debian`) and takes about 30s;
//!     the rootfs tarball is cached under `target/build-proof-cache/` (delete it to start
//!     fresh; CI starts fresh anyway).
//!   - `REGISTRY/bbox:1`: `/bin/busybox` (busybox-static) with one symlink per applet, root
//!     only in `/etc/passwd` and `/etc/group`. Deliberately *not* named `busybox`: this
//!     image stands for an unknown distro with a shell (numeric `USER`).
//!   - `REGISTRY/busybox:1`: the same rootfs under the name dockfix takes for the BusyBox
//!     family: a BusyBox image *without* the `adduser`/`addgroup` applets, on which the
//!     user must still be created (by writing `/etc/passwd` and `/etc/group`).
//!   - `REGISTRY/library/node:20`: the busybox rootfs plus a user `node` (UID/GID 1000), standing
//!     in for a base image with a built-in non-root user. dockfix's fact tables match it as
//!     `node` by its last path component.
//!
//!   - made only when a test asks ([`Env::go_images`]): `REGISTRY/golang:1.19`, Debian 12's
//!     Go standing in for the official `golang:1.19` image: the Debian rootfs above with the
//!     files of the packages of Debian 12's `golang-go` (Go 1.19: [`GOLANG_PACKAGES`], fetched
//!     with `apt-get download` from the host's bookworm lists and unpacked with `dpkg-deb -x`,
//!     which takes seconds where `debootstrap --include=golang-go` took minutes; the `.deb`s
//!     are cached under `target/build-proof-cache/golang-debs/`; Go's own test suite and the
//!     precompiled standard library left out: Go compiles what it needs), with `GOPATH=/go`, `/go/bin` on `PATH` and `WORKDIR /go` as the official image;
//!     and `REGISTRY/distroless/static-debian12:nonroot`, standing in for
//!     `gcr.io/distroless/static-debian12:nonroot`: no shell, only `/etc/passwd` and
//!     `/etc/group` with root, nobody and nonroot (65532), the CA bundle of this machine,
//!     `/tmp`, `/home/nonroot`, and `User 65532`. The registries.conf the builds use sends
//!     `gcr.io/distroless/...` to the local registry, so a Dockerfile names the real image.
//!
//!   Statics are never dropped, so the registry and the work directory are cleaned up by
//!   watchdog shells that act when the test process closes their stdin, i.e. when it exits
//!   (however it exits). `DOCKFIX_BUILD_PROOF_KEEP=1` keeps the work directory for debugging.
//! - [`Env::build`], [`Env::config_user`], [`Env::run_in`], [`Env::setuid_files`],
//!   [`Env::container`]: build and inspect images.
//! - [`dockfix_fix`]: the real `dockfix fix --write` on a copy of a Dockerfile.
//! - [`prepare_scenario`]: copies `tests/build_scenarios/<name>/` into the work directory with
//!   `{{REGISTRY}}` in its Dockerfile replaced by the registry's `127.0.0.1:PORT`.

#![allow(dead_code)] // each test binary uses its own part of the harness

use std::fmt::Write as _;
use std::fs;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// Writes to the stderr handle itself: libtest captures `eprintln!` of passing tests, and a
/// skip notice or a progress note must be seen.
pub fn loud(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// The registry placeholder in scenario Dockerfiles.
pub const REGISTRY_PLACEHOLDER: &str = "{{REGISTRY}}";

/// The Debian base, as scenario Dockerfiles name it after the placeholder.
pub const DEBIAN: &str = "debian:bookworm";
/// The BusyBox rootfs under a name dockfix does not know (see the module docs).
pub const BBOX: &str = "bbox:1";
/// The BusyBox rootfs (no `adduser`/`addgroup` applets) under the BusyBox family's name.
pub const BUSYBOX_WITHOUT_APPLETS: &str = "busybox:1";
/// The BusyBox rootfs with a built-in user `node` (UID/GID 1000).
pub const NODEISH: &str = "library/node:20";
/// Debian 12 with its `golang-go` (Go 1.19), standing in for the official `golang:1.19`.
pub const GOLANG: &str = "golang:1.19";
/// Debian 12's `golang-go` and what it depends on beyond the minbase system.
const GOLANG_PACKAGES: &[&str] = &["golang-go", "golang-src", "golang-1.19-go", "golang-1.19-src"];
/// What stands in for `gcr.io/distroless/static-debian12:nonroot`, under the name the
/// registries.conf of the builds maps `gcr.io/distroless/` to.
pub const DISTROLESS_STATIC: &str = "distroless/static-debian12:nonroot";

const PATH_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// ---------------------------------------------------------------------------------------------
// Tools
// ---------------------------------------------------------------------------------------------

/// Paths of the programs the harness runs.
#[derive(Debug, Clone)]
pub struct Tools {
    pub buildah: PathBuf,
    pub registry: PathBuf,
    pub debootstrap: PathBuf,
    pub busybox: PathBuf,
}

pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    // debootstrap lives in /usr/sbin, which a non-root PATH may lack.
    let extra = ["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from);
    std::env::split_paths(&path).chain(extra).map(|dir| dir.join(name)).find(|candidate| {
        fs::metadata(candidate).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// Whether an ELF file has no program interpreter (statically linked). `None` if it cannot
/// be read as a 64-bit little-endian ELF file.
fn is_static_elf(path: &Path) -> Option<bool> {
    let bytes = fs::read(path).ok()?;
    if bytes.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let u16_at = |at: usize| Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?));
    let u64_at = |at: usize| Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?));
    let (phoff, phentsize, phnum) = (usize::try_from(u64_at(0x20)?).ok()?, u16_at(0x36)?, u16_at(0x38)?);
    let mut interp = false;
    for index in 0..usize::from(phnum) {
        let at = phoff + index * usize::from(phentsize);
        let p_type = u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?);
        interp |= p_type == 3; // PT_INTERP
    }
    Some(!interp)
}

/// The tools the build-proof tests need, or `None` (with a loud notice) to skip. Under
/// `CI=true` a missing tool is a failure: CI must not skip these tests.
pub fn require_tools() -> Option<Tools> {
    let mut missing = Vec::new();
    let mut find = |name: &str, package: &str| {
        let found = find_program(name);
        if found.is_none() {
            missing.push(format!("`{name}` (Debian package {package})"));
        }
        found.unwrap_or_default()
    };
    let tools = Tools {
        buildah: find("buildah", "buildah"),
        registry: find("docker-registry", "docker-registry"),
        debootstrap: find("debootstrap", "debootstrap"),
        busybox: PathBuf::from("/bin/busybox"),
    };
    match is_static_elf(&tools.busybox) {
        Some(true) => {}
        Some(false) => missing.push("a static /bin/busybox (Debian package busybox-static; /bin/busybox is dynamic, from package busybox)".into()),
        None => missing.push("/bin/busybox (Debian package busybox-static)".into()),
    }
    if !is_root() {
        missing.push(
            "root (buildah with chroot isolation and vfs storage, and debootstrap, run as root here)".into(),
        );
    }
    if missing.is_empty() {
        return Some(tools);
    }
    let message = format!(
        "build-proof tests need {}; install with `apt-get install docker-registry buildah busybox-static debootstrap` (see .ci/run)",
        missing.join(", ")
    );
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("CI=true and {message}: these tests must not skip in CI");
    }
    loud(&format!("\n*** SKIPPED build-proof test: {message} ***\n"));
    None
}

fn is_root() -> bool {
    // The owner of a file this process just created is its effective UID. A file of its own
    // for each call: tests of one binary ask at once, and a shared name let one test remove
    // the probe another was reading (a root run judged not root).
    let uid = tempfile::NamedTempFile::new()
        .and_then(|probe| probe.as_file().metadata())
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m));
    uid.is_ok_and(|uid| uid == 0)
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

/// Runs a command with stdin closed; `Ok(stdout)` on exit status 0, otherwise an error that
/// names the command and holds both outputs.
fn output_of(command: &mut Command) -> Result<String, String> {
    let shown = format!("{command:?}");
    let out = command.stdin(Stdio::null()).output().map_err(|e| format!("cannot run {shown}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "{shown} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Runs a command with stdout and stderr interleaved into one text (through a file, in the
/// order written). Returns whether it succeeded, and the text.
fn combined_output_of(command: &mut Command, log: &Path) -> Result<(bool, String), String> {
    let shown = format!("{command:?}");
    let file = fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = file.try_clone().map_err(|e| e.to_string())?;
    let status = command
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .status()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    let text = fs::read(log).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    Ok((status.success(), text))
}

/// A shell that waits for its stdin to close (the owner dropped it, or the test process
/// exited however it did) and then runs `script`. `args` are `$1`...
struct Watchdog {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Watchdog {
    /// `prelude` runs before the wait (a background job started there gets stdin from
    /// /dev/null, so only the shell reads the pipe).
    fn spawn(script: &str, args: &[&str], log: Option<&Path>, prelude: &str) -> Result<Watchdog, String> {
        let script = format!("{prelude}read -r _ignored; {script}");
        let mut command = Command::new("/bin/sh");
        command.arg("-c").arg(&script).arg("sh").args(args).stdin(Stdio::piped());
        match log {
            Some(log) => {
                let file = fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
                let err = file.try_clone().map_err(|e| e.to_string())?;
                command.stdout(file).stderr(err);
            }
            None => {
                command.stdout(Stdio::null()).stderr(Stdio::null());
            }
        }
        let mut child = command.spawn().map_err(|e| format!("cannot start /bin/sh: {e}"))?;
        let stdin = child.stdin.take();
        Ok(Watchdog { child, stdin })
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// Registry
// ---------------------------------------------------------------------------------------------

/// A `docker-registry` on 127.0.0.1, no TLS, no auth, storage in its own directory. Stopped
/// on drop, or when the test process exits.
pub struct Registry {
    /// `127.0.0.1:PORT`
    pub host: String,
    pub dir: PathBuf,
    process: Watchdog,
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot bind 127.0.0.1:0: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// A raw HTTP/1.1 GET: the status code and the body.
pub fn http_get(host: &str, path: &str) -> Result<(u16, String), String> {
    let addr: SocketAddr = host.parse().map_err(|e| format!("{host}: {e}"))?;
    let mut stream =
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| format!("{host}: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| e.to_string())?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).map_err(|e| format!("{host}: {e}"))?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).map_err(|e| format!("{host}: {e}"))?;
    let response = String::from_utf8_lossy(&response);
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("{host}{path}: not an HTTP response: {response:?}"))?;
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body).to_string();
    Ok((status, body))
}

impl Registry {
    /// Starts a registry with its config and data under `dir`, and waits until `GET /v2/`
    /// answers 200.
    pub fn start(program: &Path, dir: &Path) -> Result<Registry, String> {
        Registry::start_with(program, dir, "", 200)
    }

    /// [`Registry::start`] with `extra` appended to its YAML config (an `auth:` section),
    /// ready when `GET /v2/` answers `ready_status` (401 behind auth).
    pub fn start_with(
        program: &Path,
        dir: &Path,
        extra: &str,
        ready_status: u16,
    ) -> Result<Registry, String> {
        fs::create_dir_all(dir.join("data")).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut last_error = String::new();
        // The port is free when picked; another process may take it before the registry
        // binds it, so try a few.
        for _ in 0..3 {
            let host = format!("127.0.0.1:{}", free_port()?);
            let config = dir.join("config.yml");
            let yaml = format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n{extra}",
                dir.join("data").display()
            );
            fs::write(&config, yaml).map_err(|e| format!("{}: {e}", config.display()))?;
            let log = dir.join("registry.log");
            let program = program.to_string_lossy();
            let config = config.to_string_lossy();
            // The registry runs in the background of a shell that stops it once its stdin
            // closes: on drop, or when the test process exits without dropping statics.
            let process = Watchdog::spawn(
                "kill \"$pid\" 2>/dev/null; wait \"$pid\"",
                &[program.as_ref(), config.as_ref()],
                Some(&log),
                "\"$1\" serve \"$2\" & pid=$!; ",
            )?;
            let registry = Registry { host, dir: dir.to_path_buf(), process };
            match registry.wait_ready(Duration::from_secs(30), ready_status) {
                Ok(()) => return Ok(registry),
                Err(error) => last_error = error,
            }
        }
        Err(last_error)
    }

    fn wait_ready(&self, timeout: Duration, ready_status: u16) -> Result<(), String> {
        let start = Instant::now();
        let mut last = String::new();
        while start.elapsed() < timeout {
            match http_get(&self.host, "/v2/") {
                Ok((status, _)) if status == ready_status => return Ok(()),
                Ok((status, body)) => last = format!("GET /v2/ answered {status}: {body}"),
                Err(error) => last = error,
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let log = fs::read_to_string(self.dir.join("registry.log")).unwrap_or_default();
        Err(format!("registry on {} not ready after {timeout:?}: {last}\n--- registry log\n{log}", self.host))
    }
}

// ---------------------------------------------------------------------------------------------
// The environment: work directory, registry, buildah storage, base images
// ---------------------------------------------------------------------------------------------

/// Everything the build tests share; see [`env`].
pub struct Env {
    pub tools: Tools,
    /// Private work directory (buildah storage, registry data, scenario copies).
    pub work: PathBuf,
    pub registry: Registry,
    serial: Mutex<()>,
    counter: AtomicUsize,
    /// Whether [`Env::go_images`] made its images (made once, on demand).
    go_images: OnceLock<Result<(), String>>,
    _cleanup: Option<Watchdog>,
}

static ENV: OnceLock<Result<Env, String>> = OnceLock::new();

/// The shared environment, set up by the first test that asks (the others wait). `None`
/// when the tools are missing outside CI (the test returns early); a panic when the setup
/// failed.
pub fn env() -> Option<&'static Env> {
    let tools = require_tools()?;
    match ENV.get_or_init(|| Env::start(tools)) {
        Ok(env) => Some(env),
        Err(error) => panic!("build-proof setup failed:\n{error}"),
    }
}

/// `target/build-proof-cache`, kept between local runs.
pub fn cache_dir() -> PathBuf {
    match option_env!("CARGO_TARGET_TMPDIR").map(Path::new).and_then(Path::parent) {
        Some(target) => target.join("build-proof-cache"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("build-proof-cache"),
    }
}

impl Env {
    fn start(tools: Tools) -> Result<Env, String> {
        let started = Instant::now();
        let work = std::env::temp_dir().join(format!("dockfix-build-proof-{}", std::process::id()));
        let _ = fs::remove_dir_all(&work);
        fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
        let keep = std::env::var_os("DOCKFIX_BUILD_PROOF_KEEP").is_some_and(|v| v == "1");
        let cleanup = if keep {
            loud(&format!("build-proof: keeping the work directory {}", work.display()));
            None
        } else {
            Some(Watchdog::spawn("rm -rf -- \"$1\"", &[&work.to_string_lossy()], None, "")?)
        };
        let registry = Registry::start(&tools.registry, &work.join("registry"))?;
        let registries_conf = work.join("registries.conf");
        // `gcr.io/distroless/...` comes from the local registry: see DISTROLESS_STATIC.
        let conf = format!(
            "unqualified-search-registries = []\n\n[[registry]]\nlocation = \"{host}\"\ninsecure = true\n\n[[registry]]\nprefix = \"gcr.io/distroless\"\nlocation = \"{host}/distroless\"\ninsecure = true\n",
            host = registry.host
        );
        fs::write(&registries_conf, conf).map_err(|e| format!("{}: {e}", registries_conf.display()))?;
        let env = Env {
            tools,
            work,
            registry,
            serial: Mutex::new(()),
            counter: AtomicUsize::new(0),
            go_images: OnceLock::new(),
            _cleanup: cleanup,
        };
        env.make_base_images()?;
        loud(&format!(
            "build-proof: registry {} with base images ready in {:.1}s (work directory {})",
            env.registry.host,
            started.elapsed().as_secs_f64(),
            env.work.display()
        ));
        Ok(env)
    }

    /// Holds other build tests off while one runs (2 shared cores; vfs copies whole
    /// filesystems). A failed test does not block the others.
    pub fn serialize(&self) -> MutexGuard<'_, ()> {
        self.serial.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A fresh directory under the work directory.
    pub fn fresh_dir(&self, label: &str) -> Result<PathBuf, String> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let dir = self.work.join("runs").join(format!("{n:03}-{label}"));
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(dir)
    }

    /// `127.0.0.1:PORT/name:tag`
    pub fn image(&self, name_and_tag: &str) -> String {
        format!("{}/{name_and_tag}", self.registry.host)
    }

    /// `buildah` with the private storage and isolation.
    pub fn buildah(&self) -> Command {
        let mut command = Command::new(&self.tools.buildah);
        command
            .arg("--root")
            .arg(self.work.join("storage"))
            .arg("--runroot")
            .arg(self.work.join("runroot"))
            .arg("--storage-driver")
            .arg("vfs")
            .arg("--registries-conf")
            .arg(self.work.join("registries.conf"))
            .env("BUILDAH_ISOLATION", "chroot");
        command
    }

    /// Runs `buildah ARGS`, returns its stdout, trimmed.
    pub fn buildah_out(&self, args: &[&str]) -> Result<String, String> {
        output_of(self.buildah().args(args)).map(|out| out.trim().to_string())
    }

    // -- base images --------------------------------------------------------------------------

    fn make_base_images(&self) -> Result<(), String> {
        let tarball = self.debian_tarball()?;
        self.make_image(DEBIAN, &["/bin/bash"], |root| {
            let mut tar = Command::new("tar");
            tar.arg("--numeric-owner").arg("-xpf").arg(&tarball).arg("-C").arg(root);
            output_of(&mut tar).map(drop)
        })?;
        self.make_image(BBOX, &["/bin/sh"], |root| self.busybox_rootfs(root, &[]))?;
        self.make_image(BUSYBOX_WITHOUT_APPLETS, &["/bin/sh"], |root| self.busybox_rootfs(root, &[]))?;
        self.make_image(NODEISH, &["/bin/sh"], |root| self.busybox_rootfs(root, &[("node", 1000)]))?;
        // The images must come from the registry, as a FROM line names them.
        let (status, tags) = http_get(&self.registry.host, "/v2/debian/tags/list")?;
        if status != 200 || !tags.contains("bookworm") {
            return Err(format!("registry does not list debian:bookworm ({status}): {tags}"));
        }
        Ok(())
    }

    /// Makes [`GOLANG`] and [`DISTROLESS_STATIC`] (see the module docs), once, on the first
    /// call: only the tests that build Go pay for a Go toolchain.
    pub fn go_images(&self) -> Result<(), String> {
        self.go_images.get_or_init(|| self.make_go_images()).clone()
    }

    fn make_go_images(&self) -> Result<(), String> {
        let started = Instant::now();
        let debian = self.debian_tarball()?;
        let debs = golang_debs()?;
        let golang_path = "PATH=/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        let config =
            ["--cmd", "[\"bash\"]", "--env", golang_path, "--env", "GOPATH=/go", "--workingdir", "/go"];
        self.make_configured_image(GOLANG, &config, |root| {
            let mut tar = Command::new("tar");
            tar.arg("--numeric-owner").arg("-xpf").arg(&debian).arg("-C").arg(root);
            output_of(&mut tar)?;
            for deb in &debs {
                output_of(Command::new("dpkg-deb").arg("-x").arg(deb).arg(root))?;
            }
            // Go's own test suite is no part of a build, and the precompiled standard library
            // (240 MB) only saves compiling the few packages a small program imports: without
            // them every copy vfs makes of the image is half as big.
            for dir in ["usr/share/go-1.19/test", "usr/lib/go-1.19/pkg/linux_amd64"] {
                let _ = fs::remove_dir_all(root.join(dir));
            }
            fs::create_dir_all(root.join("go/bin")).map_err(|e| format!("{}: {e}", root.display()))
        })?;
        self.make_configured_image(DISTROLESS_STATIC, &["--user", "65532", "--env", PATH_ENV], |root| {
            self.distroless_rootfs(root)
        })?;
        loud(&format!("build-proof: Go images ready in {:.0}s", started.elapsed().as_secs_f64()));
        Ok(())
    }

    /// What distroless static holds besides the program: users, groups, the CA bundle,
    /// `/tmp` and the `nonroot` home. No shell, no libc.
    fn distroless_rootfs(&self, root: &Path) -> Result<(), String> {
        let io = |what: &Path, e: std::io::Error| format!("{}: {e}", what.display());
        for (dir, mode) in
            [("etc/ssl/certs", 0o755), ("tmp", 0o1777), ("root", 0o700), ("home/nonroot", 0o700)]
        {
            let path = root.join(dir);
            fs::create_dir_all(&path).map_err(|e| io(&path, e))?;
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).map_err(|e| io(&path, e))?;
        }
        let home = root.join("home/nonroot");
        std::os::unix::fs::chown(&home, Some(65532), Some(65532)).map_err(|e| io(&home, e))?;
        let passwd = "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n";
        let group = "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n";
        fs::write(root.join("etc/passwd"), passwd).map_err(|e| io(root, e))?;
        fs::write(root.join("etc/group"), group).map_err(|e| io(root, e))?;
        let bundle = Path::new("/etc/ssl/certs/ca-certificates.crt");
        if bundle.exists() {
            let target = root.join("etc/ssl/certs/ca-certificates.crt");
            fs::copy(bundle, &target).map_err(|e| io(&target, e))?;
        }
        Ok(())
    }

    /// Makes an image from a root filesystem that `fill` writes into an empty container's
    /// mount point, commits it reproducibly and pushes it to the registry as `name_and_tag`.
    fn make_image(
        &self,
        name_and_tag: &str,
        cmd: &[&str],
        fill: impl FnOnce(&Path) -> Result<(), String>,
    ) -> Result<(), String> {
        let cmd_json = serde_json::to_string(cmd).map_err(|e| e.to_string())?;
        self.make_configured_image(name_and_tag, &["--cmd", &cmd_json, "--env", PATH_ENV], fill)
    }

    /// A BusyBox image `name_and_tag` in the test registry, with `users` in its `/etc/passwd`
    /// and `config` as further `buildah config` options: a base whose name tells dockfix
    /// nothing, so only its facts can (tests/image_facts_build.rs).
    pub fn busybox_image(
        &self,
        name_and_tag: &str,
        users: &[(&str, u32)],
        config: &[&str],
    ) -> Result<(), String> {
        let mut all = vec!["--cmd", "[\"/bin/sh\"]", "--env", PATH_ENV];
        all.extend_from_slice(config);
        self.make_configured_image(name_and_tag, &all, |root| self.busybox_rootfs(root, users))
    }

    /// [`Env::make_image`] with the image's configuration given as `buildah config` options.
    fn make_configured_image(
        &self,
        name_and_tag: &str,
        config: &[&str],
        fill: impl FnOnce(&Path) -> Result<(), String>,
    ) -> Result<(), String> {
        let ctr = self.buildah_out(&["from", "--quiet", "scratch"])?;
        let result = self.fill_commit_push(&ctr, name_and_tag, config, fill);
        let _ = self.buildah_out(&["rm", &ctr]);
        result
    }

    fn fill_commit_push(
        &self,
        ctr: &str,
        name_and_tag: &str,
        config: &[&str],
        fill: impl FnOnce(&Path) -> Result<(), String>,
    ) -> Result<(), String> {
        let local = format!("localhost/base/{name_and_tag}");
        let mount = self.buildah_out(&["mount", ctr])?;
        fill(Path::new(&mount)).map_err(|e| format!("{name_and_tag}: {e}"))?;
        self.buildah_out(&["umount", ctr])?;
        let mut configure = vec!["config", "--os", "linux"];
        configure.extend(config);
        configure.push(ctr);
        self.buildah_out(&configure)?;
        self.buildah_out(&["commit", "--quiet", "--timestamp", "0", "--format", "oci", ctr, &local])?;
        let target = format!("docker://{}", self.image(name_and_tag));
        // Uncompressed: compressing a Go toolchain on two shared cores costs more than the
        // loopback copy it saves.
        self.buildah_out(&[
            "push",
            "--quiet",
            "--disable-compression",
            "--tls-verify=false",
            &local,
            &target,
        ])?;
        // Builds must pull the base from the registry, as their FROM lines say.
        self.buildah_out(&["rmi", &local]).map(drop)
    }

    /// A BusyBox root filesystem: `/bin/busybox` and a symlink per applet, root (and `users`,
    /// with a home directory each) in `/etc/passwd` and `/etc/group`, `/tmp` 1777.
    fn busybox_rootfs(&self, root: &Path, users: &[(&str, u32)]) -> Result<(), String> {
        let io = |what: &Path, e: std::io::Error| format!("{}: {e}", what.display());
        for (dir, mode) in [("bin", 0o755), ("etc", 0o755), ("root", 0o700), ("tmp", 0o1777), ("home", 0o755)]
        {
            let path = root.join(dir);
            fs::create_dir_all(&path).map_err(|e| io(&path, e))?;
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).map_err(|e| io(&path, e))?;
        }
        let busybox = root.join("bin/busybox");
        fs::copy(&self.tools.busybox, &busybox).map_err(|e| io(&busybox, e))?;
        fs::set_permissions(&busybox, fs::Permissions::from_mode(0o755)).map_err(|e| io(&busybox, e))?;
        let list = output_of(Command::new(&self.tools.busybox).arg("--list"))?;
        for applet in list.lines().map(str::trim).filter(|a| !a.is_empty() && *a != "busybox") {
            let link = root.join("bin").join(applet);
            std::os::unix::fs::symlink("busybox", &link).map_err(|e| io(&link, e))?;
        }
        let mut passwd = String::from("root:x:0:0:root:/root:/bin/sh\n");
        let mut group = String::from("root:x:0:\n");
        for (name, id) in users {
            let _ = writeln!(passwd, "{name}:x:{id}:{id}:{name}:/home/{name}:/bin/sh");
            let _ = writeln!(group, "{name}:x:{id}:");
            let home = root.join("home").join(name);
            fs::create_dir_all(&home).map_err(|e| io(&home, e))?;
            std::os::unix::fs::chown(&home, Some(*id), Some(*id)).map_err(|e| io(&home, e))?;
        }
        fs::write(root.join("etc/passwd"), passwd).map_err(|e| io(root, e))?;
        fs::write(root.join("etc/group"), group).map_err(|e| io(root, e))?;
        Ok(())
    }

    /// The Debian rootfs as a tarball: from the cache, or made with debootstrap (needs the
    /// Debian mirror; `DOCKFIX_DEBIAN_MIRROR` overrides `http://deb.debian.org/debian`).
    fn debian_tarball(&self) -> Result<PathBuf, String> {
        let cache = cache_dir();
        let tarball = cache.join("debian-bookworm-minbase-slim.tar");
        if fs::metadata(&tarball).is_ok_and(|m| m.len() > 0) {
            return Ok(tarball);
        }
        let mirror =
            std::env::var("DOCKFIX_DEBIAN_MIRROR").unwrap_or_else(|_| "http://deb.debian.org/debian".into());
        loud(&format!(
            "build-proof: no cached Debian rootfs at {}: running debootstrap --variant=minbase bookworm from {mirror} (a minute or more)",
            tarball.display()
        ));
        let started = Instant::now();
        let rootfs = self.work.join("debian-rootfs");
        let log = self.work.join("debootstrap.log");
        let mut debootstrap = Command::new(&self.tools.debootstrap);
        debootstrap.args(["--variant=minbase", "bookworm"]).arg(&rootfs).arg(&mirror);
        let (ok, text) = combined_output_of(&mut debootstrap, &log)?;
        if !ok {
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(40)..].join("\n");
            return Err(format!("debootstrap failed (full log {}):\n{tail}", log.display()));
        }
        fs::create_dir_all(&cache).map_err(|e| format!("{}: {e}", cache.display()))?;
        // Written aside and renamed, so a half-written tarball is never taken for the cache.
        let partial = cache.join(format!("debian-bookworm-minbase-slim.tar.{}.partial", std::process::id()));
        let mut tar = Command::new("tar");
        tar.arg("--numeric-owner")
            .arg("-C")
            .arg(&rootfs)
            // What an image does not ship: device nodes (the runtime mounts /dev), the
            // downloaded packages and the package lists (as the official debian images), and
            // documentation and translations (as debian:bookworm-slim). Smaller is faster:
            // vfs copies the whole filesystem for every container and layer.
            .args(["--exclude=./dev/*", "--exclude=./proc/*", "--exclude=./sys/*"])
            .args(["--exclude=./var/cache/apt/archives/*.deb", "--exclude=./var/lib/apt/lists/*"])
            .args([
                "--exclude=./usr/share/doc/*",
                "--exclude=./usr/share/man/*",
                "--exclude=./usr/share/info/*",
            ])
            .args([
                "--exclude=./usr/share/locale/*",
                "--exclude=./usr/share/groff/*",
                "--exclude=./usr/share/lintian/*",
            ])
            .arg("-cf")
            .arg(&partial)
            .arg(".");
        output_of(&mut tar)?;
        fs::rename(&partial, &tarball).map_err(|e| format!("{}: {e}", tarball.display()))?;
        let _ = fs::remove_dir_all(&rootfs);
        loud(&format!("build-proof: debootstrap done in {:.0}s, cached", started.elapsed().as_secs_f64()));
        Ok(tarball)
    }

    // -- building and inspecting --------------------------------------------------------------

    /// Builds `dockerfile` (text) with `context` as `localhost/TAG`. `Err` holds the exit
    /// status and the whole build output.
    pub fn build(&self, dockerfile: &str, context: &Path, tag: &str) -> Result<(), String> {
        self.build_with_output(dockerfile, context, tag).map(drop)
    }

    /// [`Env::build`], returning the build output on success too.
    pub fn build_with_output(&self, dockerfile: &str, context: &Path, tag: &str) -> Result<String, String> {
        self.build_with(dockerfile, context, tag, &[], &[])
    }

    /// [`Env::build_with_output`] with more `buildah bud` arguments (`--secret ...`) and
    /// environment variables for buildah (a secret's value).
    pub fn build_with(
        &self,
        dockerfile: &str,
        context: &Path,
        tag: &str,
        extra_args: &[&str],
        envs: &[(&str, &str)],
    ) -> Result<String, String> {
        let dir = self.fresh_dir("build")?;
        let file = dir.join("Dockerfile");
        fs::write(&file, dockerfile).map_err(|e| format!("{}: {e}", file.display()))?;
        let mut command = self.buildah();
        command.envs(envs.iter().copied());
        command
            .args(["bud", "--isolation", "chroot", "--tls-verify=false"])
            .args(extra_args)
            .arg("-t")
            .arg(format!("localhost/{tag}"))
            .arg("-f")
            .arg(&file)
            .arg(context);
        let (ok, output) = combined_output_of(&mut command, &dir.join("build.log"))?;
        if ok {
            Ok(output)
        } else {
            Err(format!("buildah bud of localhost/{tag} failed:\n{output}"))
        }
    }

    /// Everything `buildah inspect` says of the image: OCI and Docker configs, history.
    pub fn inspect(&self, tag: &str) -> Result<serde_json::Value, String> {
        let text = self.buildah_out(&["inspect", "--type", "image", &format!("localhost/{tag}")])?;
        serde_json::from_str(&text).map_err(|e| format!("buildah inspect output: {e}"))
    }

    /// The image's OCI config (`OCIv1.config` of `buildah inspect`).
    pub fn config(&self, tag: &str) -> Result<serde_json::Value, String> {
        Ok(self.inspect(tag)?["OCIv1"]["config"].clone())
    }

    /// The image's configured `User` ("" when unset).
    pub fn config_user(&self, tag: &str) -> Result<String, String> {
        Ok(self.config(tag)?["User"].as_str().unwrap_or_default().to_string())
    }

    /// What the container starts: ENTRYPOINT followed by CMD.
    pub fn start_command(&self, tag: &str) -> Result<Vec<String>, String> {
        let config = self.config(tag)?;
        let strings = |value: &serde_json::Value| -> Vec<String> {
            value.as_array().into_iter().flatten().filter_map(|v| v.as_str().map(String::from)).collect()
        };
        let mut command = strings(&config["Entrypoint"]);
        command.extend(strings(&config["Cmd"]));
        Ok(command)
    }

    /// A working container of `localhost/TAG` (removed on drop).
    pub fn container(&self, tag: &str) -> Result<Container<'_>, String> {
        let id = self.buildah_out(&["from", "--quiet", "--pull=never", &format!("localhost/{tag}")])?;
        Ok(Container { env: self, id })
    }

    /// Runs `cmd` in a fresh container of `localhost/TAG`, as the image's user.
    pub fn run_in(&self, tag: &str, cmd: &[&str]) -> Result<RunOutput, String> {
        self.container(tag)?.run(cmd)
    }

    /// Files with a setuid or setgid bit in `localhost/TAG`.
    pub fn setuid_files(&self, tag: &str) -> Result<Vec<String>, String> {
        self.container(tag)?.setuid_files()
    }

    /// Removes `localhost/TAG` (ignores errors: it may not have been built).
    pub fn remove_image(&self, tag: &str) {
        let _ = self.buildah_out(&["rmi", "--force", &format!("localhost/{tag}")]);
    }
}

/// What a command printed in a container, and how it exited (-1: killed by a signal).
#[derive(Debug, Clone)]
pub struct RunOutput {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl RunOutput {
    pub fn ok(&self) -> bool {
        self.status == 0
    }
}

impl std::fmt::Display for RunOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}, stdout {:?}, stderr {:?}", self.status, self.stdout, self.stderr)
    }
}

/// A buildah working container; removed on drop.
pub struct Container<'a> {
    env: &'a Env,
    pub id: String,
}

impl Container<'_> {
    /// `buildah run`: as the image's user, in its working directory.
    ///
    /// buildah 1.28's chroot isolation now and then loses all of a command's output when
    /// the machine is busy (exit 0, nothing on stdout or stderr: seen in about 3% of runs of
    /// `id -u` with three runs in parallel). A run that succeeds silently is therefore tried
    /// up to 3 times: run only commands that print something and may be repeated; use
    /// [`Container::run_once`] otherwise.
    pub fn run(&self, cmd: &[&str]) -> Result<RunOutput, String> {
        let mut out = self.run_once(cmd)?;
        for _ in 1..3 {
            if !(out.ok() && out.stdout.is_empty() && out.stderr.is_empty()) {
                break;
            }
            loud(&format!(
                "build-proof: `buildah run {cmd:?}` printed nothing (buildah chroot output race): again"
            ));
            out = self.run_once(cmd)?;
        }
        Ok(out)
    }

    /// `buildah run`, once.
    pub fn run_once(&self, cmd: &[&str]) -> Result<RunOutput, String> {
        let out = self
            .env
            .buildah()
            .args(["run", "--isolation", "chroot", &self.id, "--"])
            .args(cmd)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run buildah: {e}"))?;
        Ok(RunOutput {
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// The bytes of the container's files (`du -s --bytes`: apparent sizes, hard links once).
    pub fn bytes(&self) -> Result<u64, String> {
        let mount = self.env.buildah_out(&["mount", &self.id])?;
        let du = output_of(Command::new("du").args(["-s", "--bytes", "-x"]).arg(&mount));
        let _ = self.env.buildah_out(&["umount", &self.id]);
        let text = du?;
        text.split_whitespace()
            .next()
            .and_then(|bytes| bytes.parse().ok())
            .ok_or_else(|| format!("du printed {text:?}"))
    }

    /// Regular files with a setuid or setgid bit, as paths inside the image.
    pub fn setuid_files(&self) -> Result<Vec<String>, String> {
        let mount = self.env.buildah_out(&["mount", &self.id])?;
        let found =
            output_of(Command::new("find").arg(&mount).args(["-xdev", "-type", "f", "-perm", "/6000"]));
        let _ = self.env.buildah_out(&["umount", &self.id]);
        let mut files: Vec<String> = found?
            .lines()
            .map(|line| line.strip_prefix(mount.as_str()).unwrap_or(line).to_string())
            .collect();
        files.sort();
        Ok(files)
    }
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        let _ = self.env.buildah_out(&["rm", &self.id]);
    }
}

/// The `.deb` files of [`GOLANG_PACKAGES`], from the cache or fetched with `apt-get download`
/// (the host's apt lists must be bookworm's: CI runs `apt-get update` on Debian 12).
fn golang_debs() -> Result<Vec<PathBuf>, String> {
    let dir = cache_dir().join("golang-debs");
    let list = |dir: &Path| -> Result<Vec<PathBuf>, String> {
        let mut debs: Vec<PathBuf> = fs::read_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "deb"))
            .collect();
        debs.sort();
        Ok(debs)
    };
    if dir.is_dir() {
        return list(&dir);
    }
    // Fetched aside and renamed, so that a half-done download is never taken for the cache.
    let partial = cache_dir().join(format!("golang-debs.{}.partial", std::process::id()));
    fs::create_dir_all(&partial).map_err(|e| format!("{}: {e}", partial.display()))?;
    let fetched =
        output_of(Command::new("apt-get").arg("download").args(GOLANG_PACKAGES).current_dir(&partial));
    if let Err(error) = fetched {
        let _ = fs::remove_dir_all(&partial);
        return Err(format!("cannot fetch Debian's golang-go (apt-get update first?): {error}"));
    }
    fs::rename(&partial, &dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let debs = list(&dir)?;
    if debs.len() != GOLANG_PACKAGES.len() {
        return Err(format!("apt-get download fetched {debs:?}, expected {GOLANG_PACKAGES:?}"));
    }
    Ok(debs)
}

// ---------------------------------------------------------------------------------------------
// Scenarios and dockfix
// ---------------------------------------------------------------------------------------------

/// A scenario copied into the work directory, ready to build.
pub struct Scenario {
    pub name: String,
    /// The build context (the scenario directory's copy).
    pub context: PathBuf,
    /// The context's `Dockerfile`, with the registry filled in.
    pub dockerfile: PathBuf,
    pub text: String,
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for entry in fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(|e| e.to_string())?;
        if kind.is_dir() {
            copy_tree(&source, &target)?;
        } else if kind.is_symlink() {
            let link = fs::read_link(&source).map_err(|e| e.to_string())?;
            std::os::unix::fs::symlink(link, &target).map_err(|e| format!("{}: {e}", target.display()))?;
        } else {
            fs::copy(&source, &target).map_err(|e| format!("{}: {e}", target.display()))?;
        }
    }
    Ok(())
}

/// Copies `tests/build_scenarios/NAME/` into the work directory and fills `{{REGISTRY}}` in
/// its `Dockerfile` with the registry's `127.0.0.1:PORT`.
pub fn prepare_scenario(env: &Env, name: &str) -> Result<Scenario, String> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/build_scenarios").join(name);
    let context = env.fresh_dir(name)?.join("context");
    copy_tree(&source, &context)?;
    let dockerfile = context.join("Dockerfile");
    let template = fs::read_to_string(&dockerfile).map_err(|e| format!("{}: {e}", dockerfile.display()))?;
    if !template.contains(REGISTRY_PLACEHOLDER) && !template.contains("FROM scratch") {
        return Err(format!("{}: no {REGISTRY_PLACEHOLDER} in its FROM lines", dockerfile.display()));
    }
    let text = template.replace(REGISTRY_PLACEHOLDER, &env.registry.host);
    fs::write(&dockerfile, &text).map_err(|e| format!("{}: {e}", dockerfile.display()))?;
    Ok(Scenario { name: name.to_string(), context, dockerfile, text })
}

/// The selection [`dockfix_fix`] uses when given no `--select`.
pub const DEFAULT_SELECT: &str = "non-root-user,strip-setuid";

/// What `dockfix fix --write` made of a file.
#[derive(Debug, Clone)]
pub struct Fixed {
    pub text: String,
    /// dockfix's stderr: the summary, risks, declined findings.
    pub summary: String,
}

/// Runs the real binary, `dockfix fix --write ARGS FILE`, on a copy of `dockerfile` in a
/// temporary directory and returns the fixed text. Without `--select` in `args`,
/// `--select non-root-user,strip-setuid` is added.
pub fn dockfix_fix(dockerfile: &Path, args: &[&str]) -> Result<Fixed, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let copy = dir.path().join("Dockerfile");
    fs::copy(dockerfile, &copy).map_err(|e| format!("{}: {e}", dockerfile.display()))?;
    let mut command = Command::new(env!("CARGO_BIN_EXE_dockfix"));
    command.args(["fix", "--write"]).args(args);
    if !args.iter().any(|arg| arg.starts_with("--select")) {
        command.args(["--select", DEFAULT_SELECT]);
    }
    let out = command
        .arg(&copy)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run dockfix: {e}"))?;
    let summary = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        return Err(format!(
            "dockfix fix --write {args:?} failed ({}):\n{summary}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout)
        ));
    }
    let text = fs::read_to_string(&copy).map_err(|e| format!("{}: {e}", copy.display()))?;
    Ok(Fixed { text, summary })
}
