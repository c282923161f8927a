//! pin-images against a real registry: each test starts its own `docker-registry` (Debian
//! package, distribution 2.8) on 127.0.0.1 with a config in a temporary directory, pushes
//! small images it crafts itself through the registry's HTTP API (blobs, then manifests),
//! and runs the real `dockfix` binary with `--insecure-registry`.
//!
//! Needs `docker-registry` and `htpasswd` (apache2-utils). Missing: a failure under
//! `CI=true` (CI must not skip these), a loud skip notice otherwise. Every dockfix run gets an
//! empty `DOCKER_CONFIG` of its own unless the test writes one.

mod build_support;
mod registry_support;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use build_support::{find_program, loud, Registry};
use registry_support::{Pusher, DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};

struct Tools {
    registry: PathBuf,
    htpasswd: PathBuf,
}

/// The programs these tests need, or `None` (with a loud notice) to skip; a panic under
/// `CI=true`.
fn tools() -> Option<Tools> {
    let registry = find_program("docker-registry");
    let htpasswd = find_program("htpasswd");
    if let (Some(registry), Some(htpasswd)) = (registry.clone(), htpasswd.clone()) {
        return Some(Tools { registry, htpasswd });
    }
    let mut missing = Vec::new();
    if registry.is_none() {
        missing.push("`docker-registry` (Debian package docker-registry)");
    }
    if htpasswd.is_none() {
        missing.push("`htpasswd` (Debian package apache2-utils)");
    }
    let message = format!("registry tests need {}; see .ci/run", missing.join(" and "));
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("CI=true and {message}: these tests must not skip in CI");
    }
    loud(&format!("\n*** SKIPPED registry test: {message} ***\n"));
    None
}

/// A registry of this test, its directory, and a work directory for Dockerfiles.
struct Setup {
    registry: Registry,
    work: tempfile::TempDir,
    _dir: tempfile::TempDir,
}

fn start(tools: &Tools) -> Setup {
    start_with(tools, "", 200)
}

fn start_with(tools: &Tools, extra_config: &str, ready_status: u16) -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let extra = extra_config.replace("{DIR}", &dir.path().display().to_string());
    let registry = Registry::start_with(&tools.registry, dir.path(), &extra, ready_status)
        .unwrap_or_else(|error| panic!("cannot start docker-registry: {error}"));
    Setup { registry, work: tempfile::tempdir().expect("temp dir"), _dir: dir }
}

impl Setup {
    fn host(&self) -> &str {
        &self.registry.host
    }

    fn push(&self) -> Pusher<'_> {
        Pusher { host: self.host(), authorization: None }
    }

    /// Writes `text` with `{R}` replaced by the registry host as `name` in the work dir.
    fn dockerfile(&self, name: &str, text: &str) -> PathBuf {
        let path = self.work.path().join(name);
        std::fs::write(&path, text.replace("{R}", self.host())).expect("write Dockerfile");
        path
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.work.path().join(name)).expect("read Dockerfile")
    }

    /// `dockfix fix ARGS --insecure-registry HOST` in the work dir.
    fn dockfix(&self, args: &[&str]) -> Output {
        let mut all: Vec<&str> = vec!["--insecure-registry", self.host(), "--registry-timeout", "10"];
        all.extend_from_slice(args);
        dockfix(self.work.path(), &all)
    }

    /// The registry's access log lines that contain `needle`.
    fn requests(&self, needle: &str) -> usize {
        let log = std::fs::read_to_string(self.registry.dir.join("registry.log")).unwrap_or_default();
        log.lines().filter(|line| line.contains(needle)).count()
    }
}

/// [`dockfix_all`] with `--select pin-images` unless the args select.
fn dockfix(dir: &Path, args: &[&str]) -> Output {
    let mut all: Vec<&str> = args.to_vec();
    if !args.contains(&"--select") {
        all.splice(0..0, ["--select", "pin-images"]);
    }
    dockfix_all(dir, &all)
}

/// `dockfix fix ARGS` in `dir`, with an empty Docker config of its own unless `dir` holds
/// `docker-config/config.json`.
fn dockfix_all(dir: &Path, args: &[&str]) -> Output {
    let docker_config = dir.join("docker-config");
    std::fs::create_dir_all(&docker_config).expect("docker config dir");
    Command::new(env!("CARGO_BIN_EXE_dockfix"))
        .arg("fix")
        .args(args)
        .current_dir(dir)
        .env("DOCKER_CONFIG", &docker_config)
        .env("HOME", dir)
        .stdin(Stdio::null())
        .output()
        .expect("run dockfix")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn floating_tags_resolve_to_the_most_specific_version_with_the_same_digest() {
    let Some(tools) = tools() else { return };
    let setup = start(&tools);
    let push = setup.push();
    let repo = "library/python";
    push.image(repo, &["latest", "3.13.1", "3.13", "3"], "current", "amd64", OCI_MANIFEST);
    push.image(repo, &["3.12.8", "3.12"], "older", "amd64", OCI_MANIFEST);
    // A newer version that `latest` does not point to (yet): never chosen.
    push.image(repo, &["3.14.0"], "newer", "amd64", OCI_MANIFEST);
    push.image(repo, &["alpine", "3.13.1-alpine", "3.13-alpine"], "alpine", "amd64", OCI_MANIFEST);
    push.image(repo, &["3.14.0-alpine"], "newer alpine", "amd64", OCI_MANIFEST);

    setup.dockerfile(
        "Dockerfile",
        "FROM {R}/library/python AS a\nFROM {R}/library/python:latest AS b\nFROM {R}/library/python:alpine AS c\nFROM {R}/library/python:3.12\n",
    );
    let out = setup.dockfix(&["--select", "pin-images", "--write", "Dockerfile"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let host = setup.host();
    assert_eq!(
        setup.read("Dockerfile"),
        format!(
            "FROM {host}/library/python:3.13.1 AS a\nFROM {host}/library/python:3.13.1 AS b\nFROM {host}/library/python:3.13.1-alpine AS c\nFROM {host}/library/python:3.12\n"
        )
    );
    let again = setup.dockfix(&["--select", "pin-images", "--check", "Dockerfile"]);
    assert_eq!(again.status.code(), Some(0), "pinned output is stable: {}", stderr(&again));
}

#[test]
fn digest_pin_of_a_multi_platform_image_is_its_index_digest() {
    let Some(tools) = tools() else { return };
    let setup = start(&tools);
    let push = setup.push();
    let amd = push.image("team/app", &[], "app amd64", "amd64", OCI_MANIFEST);
    let arm = push.image("team/app", &[], "app arm64", "arm64", OCI_MANIFEST);
    let index = push.index("team/app", "1.0", OCI_INDEX, &[("amd64", amd.clone()), ("arm64", arm.clone())]);
    let docker_amd = push.image("team/legacy", &[], "legacy amd64", "amd64", DOCKER_MANIFEST);
    let docker_arm = push.image("team/legacy", &[], "legacy arm64", "arm64", DOCKER_MANIFEST);
    let list = push.index(
        "team/legacy",
        "2.0",
        DOCKER_LIST,
        &[("amd64", docker_amd.clone()), ("arm64", docker_arm)],
    );

    setup.dockerfile("Dockerfile", "FROM {R}/team/app:1.0\nCOPY --from={R}/team/legacy:2.0 /x /x\n");
    let out = setup.dockfix(&["--pin", "digest", "--write", "Dockerfile"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let host = setup.host();
    let text = setup.read("Dockerfile");
    assert_eq!(
        text,
        format!(
            "FROM {host}/team/app:1.0@{}\nCOPY --from={host}/team/legacy:2.0@{} /x /x\n",
            index.digest, list.digest
        ),
    );
    for platform in [&amd.digest, &arm.digest, &docker_amd.digest] {
        assert!(!text.contains(platform.as_str()), "never one platform's manifest: {text}");
    }
}

#[test]
fn docker_v2_and_oci_manifests_pin_to_their_own_digest() {
    let Some(tools) = tools() else { return };
    let setup = start(&tools);
    let push = setup.push();
    let v2 = push.image("kinds/v2", &["1"], "docker v2", "amd64", DOCKER_MANIFEST);
    let oci = push.image("kinds/oci", &["1"], "oci", "amd64", OCI_MANIFEST);
    setup.dockerfile("Dockerfile", "FROM {R}/kinds/v2:1 AS a\nFROM {R}/kinds/oci:1\n");
    let out = setup.dockfix(&["--pin", "digest", "--write", "Dockerfile"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let host = setup.host();
    assert_eq!(
        setup.read("Dockerfile"),
        format!("FROM {host}/kinds/v2:1@{} AS a\nFROM {host}/kinds/oci:1@{}\n", v2.digest, oci.digest)
    );
}

#[test]
fn update_refreshes_a_digest_and_each_reference_is_looked_up_once() {
    let Some(tools) = tools() else { return };
    let setup = start(&tools);
    let push = setup.push();
    let old = push.image("svc/base", &["1.2"], "old build", "amd64", OCI_MANIFEST);
    let new = push.image("svc/base", &["1.2"], "rebuilt", "amd64", OCI_MANIFEST);
    assert_ne!(old.digest, new.digest);
    let pinned = format!("FROM {{R}}/svc/base:1.2@{}\n", old.digest);
    setup.dockerfile("a.Dockerfile", &pinned);
    setup.dockerfile("b.Dockerfile", &pinned);

    let out = setup.dockfix(&["--pin", "digest", "a.Dockerfile", "b.Dockerfile"]);
    assert!(out.status.success() && out.stdout.is_empty(), "no change without --update: {}", stderr(&out));
    let out = setup.dockfix(&["--pin", "digest", "--update", "--write", "a.Dockerfile", "b.Dockerfile"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let host = setup.host();
    for name in ["a.Dockerfile", "b.Dockerfile"] {
        assert_eq!(setup.read(name), format!("FROM {host}/svc/base:1.2@{}\n", new.digest));
    }
    assert_eq!(
        setup.requests("HEAD /v2/svc/base/manifests/1.2 "),
        1,
        "one lookup for the reference both files use, in the --update run"
    );
}

#[test]
fn unknown_image_is_a_finding_and_exit_2_while_other_transforms_apply() {
    let Some(tools) = tools() else { return };
    let setup = start(&tools);
    setup.push().image("real/thing", &["1"], "real", "amd64", OCI_MANIFEST);
    setup.dockerfile(
        "Dockerfile",
        "FROM {R}/real/thing:1\nCOPY --from={R}/nope/missing:1 /x /x\nADD app.py /app/\n",
    );
    std::fs::write(setup.work.path().join("app.py"), "print()\n").expect("context file");

    let out = setup.dockfix(&["--pin", "digest", "--select", "pin-images,add-to-copy", "Dockerfile"]);
    assert_eq!(out.status.code(), Some(2), "pinning asked by name failed: {}", stderr(&out));
    let diff = String::from_utf8_lossy(&out.stdout);
    assert!(diff.contains("+COPY app.py /app/"), "add-to-copy still applies: {diff}");
    assert!(!diff.contains("@sha256"), "nothing of the file is pinned: {diff}");
    let err = stderr(&out);
    assert!(err.contains("has no nope/missing:1 (404)"), "{err}");
    assert!(err.contains("the lookup of"), "the pinnable reference says why it waits: {err}");

    // Not asked by name (default tag mode, no --select): a finding, but no error exit.
    setup.dockerfile("floating.Dockerfile", "FROM {R}/nope/missing\n");
    let host = setup.host().to_string();
    let out = dockfix_all(setup.work.path(), &["--insecure-registry", &host, "floating.Dockerfile"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("has no nope/missing:latest (404)"), "{}", stderr(&out));
}

#[test]
fn basic_auth_from_the_docker_config() {
    let Some(tools) = tools() else { return };
    let htpasswd_dir = tempfile::tempdir().expect("temp dir");
    let htpasswd = htpasswd_dir.path().join("htpasswd");
    let made = Command::new(&tools.htpasswd)
        .args(["-Bbc"])
        .arg(&htpasswd)
        .args(["alice", "wonderland"])
        .output()
        .expect("run htpasswd");
    assert!(made.status.success(), "htpasswd: {}", String::from_utf8_lossy(&made.stderr));
    let auth = format!("auth:\n  htpasswd:\n    realm: dockfix-test\n    path: {}\n", htpasswd.display());
    let setup = start_with(&tools, &auth, 401);
    let basic = |user: &str, pass: &str| {
        use std::fmt::Write as _;
        let pair = format!("{user}:{pass}");
        let mut encoded = String::new();
        // Base64 by hand: the test should not share dockfix's own decoder.
        const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for chunk in pair.as_bytes().chunks(3) {
            let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..4 {
                let c =
                    if i <= chunk.len() { TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char } else { '=' };
                let _ = write!(encoded, "{c}");
            }
        }
        encoded
    };
    let pusher =
        Pusher { host: setup.host(), authorization: Some(format!("Basic {}", basic("alice", "wonderland"))) };
    let image = pusher.image("private/app", &["3"], "private", "amd64", OCI_MANIFEST);
    setup.dockerfile("Dockerfile", "FROM {R}/private/app:3\n");
    let config_dir = setup.work.path().join("docker-config");
    std::fs::create_dir_all(&config_dir).expect("config dir");
    let write_config = |user: &str, pass: &str| {
        let config = format!(r#"{{"auths": {{"{}": {{"auth": "{}"}}}}}}"#, setup.host(), basic(user, pass));
        std::fs::write(config_dir.join("config.json"), config).expect("write config");
    };

    let out = setup.dockfix(&["--pin", "digest", "Dockerfile"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("refused access (401)") && err.contains("anonymous (no auths entry for"), "{err}");

    write_config("alice", "not-the-password");
    let out = setup.dockfix(&["--pin", "digest", "Dockerfile"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("refused access (401)") && err.contains("user `alice` from the auths of"), "{err}");
    assert!(!err.contains("not-the-password"), "no password in messages: {err}");

    write_config("alice", "wonderland");
    let out = setup.dockfix(&["--pin", "digest", "--write", "Dockerfile"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(setup.read("Dockerfile"), format!("FROM {}/private/app:3@{}\n", setup.host(), image.digest));
}

/// Accepts connections and never answers, until dropped.
struct SilentServer {
    host: String,
    stop: Arc<AtomicBool>,
}

impl SilentServer {
    fn start() -> SilentServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let host = listener.local_addr().expect("address").to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        std::thread::spawn(move || {
            let started = Instant::now();
            let mut held = Vec::new();
            // Bounded: the test needs seconds; stop by itself after a minute regardless.
            while !flag.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(60) {
                if let Ok((stream, _)) = listener.accept() {
                    held.push(stream);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        SilentServer { host, stop }
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[test]
fn a_registry_that_never_answers_times_out() {
    // No tools needed: the "registry" is a socket that accepts and stays silent.
    let server = SilentServer::start();
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("Dockerfile"), format!("FROM {}/slow/app:1\n", server.host))
        .expect("write");
    let started = Instant::now();
    let out = dockfix(
        dir.path(),
        &["--pin", "digest", "--insecure-registry", &server.host, "--registry-timeout", "1", "Dockerfile"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains(&format!("{} did not answer within", server.host)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(30), "gave up in time: {:?}", started.elapsed());
}

#[test]
fn tls_is_the_default() {
    let Some(tools) = tools() else { return };
    let setup = start(&tools);
    setup.push().image("tls/app", &["1"], "tls", "amd64", OCI_MANIFEST);
    setup.dockerfile("Dockerfile", "FROM {R}/tls/app:1\n");
    // Without --insecure-registry: HTTPS to a plain-HTTP registry fails the handshake.
    let out = dockfix(setup.work.path(), &["--pin", "digest", "--registry-timeout", "10", "Dockerfile"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("TLS with {} failed", setup.host()))
            && err.contains(&format!("--insecure-registry {}", setup.host())),
        "{err}"
    );
}

#[test]
fn docker_hub_images_are_asked_of_the_mirror_first() {
    let Some(tools) = tools() else { return };
    let setup = start(&tools);
    let image = setup.push().image(
        "library/busybox",
        &["latest", "1.37.0", "1.37", "1"],
        "busybox",
        "amd64",
        OCI_MANIFEST,
    );
    setup.dockerfile("Dockerfile", "FROM busybox\n");
    let mirror = format!("http://{}", setup.host());
    let out = dockfix(
        setup.work.path(),
        &["--pin", "digest", "--registry-mirror", &mirror, "--write", "Dockerfile"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(setup.read("Dockerfile"), format!("FROM busybox:1.37.0@{}\n", image.digest));
}

#[test]
fn registry_settings_from_dockfix_toml_apply_to_the_files_they_govern() {
    let Some(tools) = tools() else { return };
    let setup = start(&tools);
    let push = setup.push();
    let app = push.image("team/app", &["latest", "1.4"], "app", "amd64", OCI_MANIFEST);
    let busybox =
        push.image("library/busybox", &["latest", "1.37.0", "1.37"], "busybox", "amd64", OCI_MANIFEST);
    let host = setup.host().to_string();
    // served/: the plain-HTTP registry and the Docker Hub mirror come only from its config.
    std::fs::create_dir_all(setup.work.path().join("served")).expect("dir");
    std::fs::create_dir_all(setup.work.path().join("unserved")).expect("dir");
    std::fs::write(
        setup.work.path().join("served/dockfix.toml"),
        format!(
            "[pin-images]\nmode = \"digest\"\ninsecure-registries = [\"{host}\"]\nregistry-mirrors = [\"http://{host}\"]\ntimeout-seconds = 10\n"
        ),
    )
    .expect("write config");
    setup.dockerfile("served/Dockerfile", "FROM {R}/team/app:1.4 AS app\nFROM busybox\n");
    // unserved/: no config, so HTTPS (the default) to the same registry, which fails.
    setup.dockerfile("unserved/Dockerfile", "FROM {R}/team/app\n");

    let out = dockfix_all(setup.work.path(), &["--select", "pin-images", "--write", "."]);
    assert_eq!(out.status.code(), Some(2), "the unserved file's lookup failed: {}", stderr(&out));
    assert_eq!(
        setup.read("served/Dockerfile"),
        format!("FROM {host}/team/app:1.4@{} AS app\nFROM busybox:1.37.0@{}\n", app.digest, busybox.digest)
    );
    assert_eq!(setup.read("unserved/Dockerfile"), format!("FROM {host}/team/app\n"));
    let err = stderr(&out);
    assert!(err.contains(&format!("TLS with {host} failed")), "{err}");
    assert!(err.contains("1 of 3 image lookups failed"), "{err}");

    // The same files with --insecure-registry: added to the config's hosts, and the unserved
    // file (tag mode, its default) gets its version tag.
    setup.dockerfile("served/Dockerfile", "FROM {R}/team/app:1.4 AS app\nFROM busybox\n");
    let out = dockfix_all(
        setup.work.path(),
        &["--select", "pin-images", "--insecure-registry", &host, "--write", "."],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(setup.read("unserved/Dockerfile"), format!("FROM {host}/team/app:1.4\n"));
    assert!(setup.read("served/Dockerfile").contains(&busybox.digest), "the config's mirror still applies");
}

#[test]
fn offline_asks_no_registry_and_reports_each_reference() {
    // A registry address where nothing listens: a lookup would fail with "cannot connect".
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let text = format!("FROM {closed}/a/b\nFROM python:3.12 AS x\nCOPY --from={closed}/c/d:latest /x /x\n");
    std::fs::write(dir.path().join("Dockerfile"), &text).expect("write");
    let out = dockfix(dir.path(), &["--pin", "digest", "--offline", "--select", "pin-images", "Dockerfile"]);
    assert_eq!(out.status.code(), Some(0), "offline is asked for, not a failure: {}", stderr(&out));
    assert!(out.stdout.is_empty(), "no edit offline");
    let err = stderr(&out);
    assert_eq!(err.matches("is not pinned: offline (--offline)").count(), 3, "{err}");
    assert!(!err.contains("cannot connect"), "{err}");
    assert_eq!(std::fs::read_to_string(dir.path().join("Dockerfile")).expect("read"), text);
}
