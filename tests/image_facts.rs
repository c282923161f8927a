//! Base-image facts read from a real registry: each test starts its own `docker-registry`
//! (as `tests/registry.rs` does), pushes images it crafts (gzip tar layers built here), and
//! runs `dockfix facts` and `dockfix fix` with a cache directory of its own
//! (`DOCKFIX_CACHE_DIR`). Requests are counted from the registry's access log.
//!
//! Needs `docker-registry`. Missing: a failure under `CI=true`, a loud skip notice otherwise.

mod build_support;
mod registry_support;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use build_support::{find_program, loud, Registry};
use registry_support::{sha256, Pushed, Pusher, OCI_INDEX, OCI_MANIFEST};
use serde_json::Value;

fn registry_program() -> Option<PathBuf> {
    if let Some(program) = find_program("docker-registry") {
        return Some(program);
    }
    let message = "image facts tests need `docker-registry` (Debian package docker-registry); see .ci/run";
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("CI=true and {message}: these tests must not skip in CI");
    }
    loud(&format!("\n*** SKIPPED image facts test: {message} ***\n"));
    None
}

struct Setup {
    registry: Registry,
    work: tempfile::TempDir,
    cache: tempfile::TempDir,
    _dir: tempfile::TempDir,
}

fn start() -> Option<Setup> {
    let program = registry_program()?;
    let dir = tempfile::tempdir().expect("temp dir");
    let registry = Registry::start(&program, dir.path()).unwrap_or_else(|e| panic!("docker-registry: {e}"));
    Some(Setup {
        registry,
        work: tempfile::tempdir().expect("temp dir"),
        cache: tempfile::tempdir().expect("temp dir"),
        _dir: dir,
    })
}

impl Setup {
    fn host(&self) -> &str {
        &self.registry.host
    }

    fn push(&self) -> Pusher<'_> {
        Pusher { host: self.host(), authorization: None }
    }

    fn dockerfile(&self, name: &str, text: &str) -> PathBuf {
        let path = self.work.path().join(name);
        std::fs::write(&path, text.replace("{R}", self.host())).expect("write Dockerfile");
        path
    }

    /// `dockfix ARGS` in the work dir, with this test's cache and an empty Docker config.
    fn dockfix(&self, args: &[&str]) -> Output {
        let docker_config = self.work.path().join("docker-config");
        std::fs::create_dir_all(&docker_config).expect("docker config dir");
        Command::new(env!("CARGO_BIN_EXE_dockfix"))
            .args(args)
            .current_dir(self.work.path())
            .env("DOCKER_CONFIG", &docker_config)
            .env("HOME", self.work.path())
            .env("DOCKFIX_CACHE_DIR", self.cache.path())
            .stdin(Stdio::null())
            .output()
            .expect("run dockfix")
    }

    /// `dockfix facts --no-config --insecure-registry HOST ARGS`, its JSON and stderr.
    fn facts(&self, args: &[&str]) -> (Value, String) {
        let mut all =
            vec!["facts", "--no-config", "--insecure-registry", self.host(), "--registry-timeout", "10"];
        all.extend_from_slice(args);
        let out = self.dockfix(&all);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "dockfix facts failed: {err}");
        (serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {err}")), err)
    }

    /// The registry's access log lines so far.
    fn requests(&self) -> Vec<String> {
        let log = std::fs::read_to_string(self.registry.dir.join("registry.log")).unwrap_or_default();
        log.lines()
            .filter(|line| line.contains("\"GET /v2/") || line.contains("\"HEAD /v2/"))
            .map(String::from)
            .collect()
    }

    /// The facts of `image` (`repo:tag`, without the host) in a `facts` document.
    fn image<'a>(&self, document: &'a Value, image: &str) -> &'a Value {
        let key = format!("{}/{image}", self.host());
        document["images"].get(&key).unwrap_or_else(|| panic!("no facts for {key}: {document:#}"))
    }
}

/// A tar layer: `f:TEXT` a file, `l:TARGET` a symlink, `e` an empty file (a whiteout).
fn layer(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, kind) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o755);
        if let Some(target) = kind.strip_prefix("l:") {
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_size(0);
            builder.append_link(&mut header, path, target).expect("link");
        } else {
            let data = kind.strip_prefix("f:").unwrap_or("");
            header.set_size(data.len() as u64);
            builder.append_data(&mut header, path, data.as_bytes()).expect("file");
        }
    }
    let tar = builder.into_inner().expect("tar");
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gzip.write_all(&tar).expect("gzip");
    gzip.finish().expect("gzip")
}

/// Pushes an image with `config` (the `config` object of the image config), `history`
/// commands and `layers`, tagged `tag` (or untagged when empty).
fn image(
    push: &Pusher<'_>,
    repo: &str,
    tag: &str,
    arch: &str,
    config: &str,
    history: &[&str],
    layers: &[Vec<u8>],
) -> Pushed {
    let history: Vec<String> =
        history.iter().map(|command| serde_json::json!({ "created_by": command }).to_string()).collect();
    let config = format!(
        r#"{{"architecture":"{arch}","os":"linux","config":{config},"rootfs":{{"type":"layers","diff_ids":[]}},"history":[{}]}}"#,
        history.join(",")
    );
    let descriptors: Vec<String> = layers
        .iter()
        .map(|bytes| {
            format!(
                r#"{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{}","size":{}}}"#,
                push.blob(repo, bytes),
                bytes.len()
            )
        })
        .collect();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{}]}}"#,
        push.blob(repo, config.as_bytes()),
        config.len(),
        descriptors.join(",")
    );
    let tag = if tag.is_empty() { sha256(manifest.as_bytes()) } else { tag.to_string() };
    push.manifest(repo, &tag, OCI_MANIFEST, manifest.as_bytes())
}

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n";
const DEBIAN: &str = "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n";

/// Pushes the images of these tests and writes a Dockerfile naming them all.
fn push_images(setup: &Setup) {
    let push = setup.push();
    let base = |extra: &[(&str, &str)]| {
        let mut entries =
            vec![("etc/passwd", "f:root:x:0:0:root:/root:/bin/sh\n"), ("etc/group", "f:root:x:0:\n")];
        entries.extend_from_slice(extra);
        layer(&entries)
    };
    image(&push, "app/nonroot", "1", "amd64", r#"{"User":"1001:0"}"#, &[], &[base(&[("bin/sh", "f:sh")])]);
    image(
        &push,
        "app/users",
        "1",
        "amd64",
        "{}",
        &[],
        &[layer(&[
            ("etc/passwd", &format!("f:{PASSWD}postgres:x:999:999::/var/lib/postgresql:/bin/bash\n")),
            ("etc/group", "f:root:x:0:\npostgres:x:999:\nssl-cert:x:101:postgres\n"),
            ("etc/os-release", "l:../usr/lib/os-release"),
            ("usr/lib/os-release", &format!("f:{DEBIAN}")),
            ("bin", "l:usr/bin"),
            ("usr/bin/sh", "l:dash"),
            ("usr/sbin/useradd", "f:elf"),
            ("usr/sbin/groupadd", "f:elf"),
        ])],
    );
    image(&push, "app/notools", "1", "amd64", r#"{"Cmd":["/app"]}"#, &[], &[base(&[])]);
    image(
        &push,
        "app/entry",
        "1",
        "amd64",
        r#"{"Entrypoint":["docker-entrypoint.sh"],"Cmd":["postgres"],"Env":["GOSU_VERSION=1.17"],"ExposedPorts":{"5432/tcp":{}}}"#,
        &["/bin/sh -c #(nop) ADD file:abc in /", "RUN set -eux; apt-get install -y gosu; gosu nobody true"],
        &[base(&[("bin/sh", "f:sh")])],
    );
    let status = "Package: libpq5\nStatus: install ok installed\nVersion: 15.8-0+deb12u1\nDepends: libc6 (>= 2.34), libssl3 (>= 3.0.0)\n\n\
                  Package: libpq-dev\nStatus: install ok installed\nVersion: 15.8-0+deb12u1\nDepends: libpq5 (= 15.8-0+deb12u1), libssl-dev | libssl1.1-dev\n";
    image(
        &push,
        "app/pq",
        "1",
        "amd64",
        "{}",
        &[],
        &[base(&[
            ("etc/os-release", &format!("f:{DEBIAN}")),
            ("var/lib/dpkg/status", &format!("f:{status}")),
        ])],
    );
    image(
        &push,
        "app/whiteout",
        "1",
        "amd64",
        "{}",
        &[],
        &[
            base(&[("usr/sbin/useradd", "f:elf"), ("usr/sbin/adduser", "f:elf"), ("bin/sh", "f:sh")]),
            layer(&[("usr/sbin/.wh.useradd", "e")]),
        ],
    );
    let amd = image(
        &push,
        "app/multi",
        "",
        "amd64",
        "{}",
        &[],
        &[base(&[("etc/os-release", "f:ID=alpine\n"), ("lib/apk/db/installed", "f:P:musl\nV:1.2.5-r0\n\n")])],
    );
    let arm = image(
        &push,
        "app/multi",
        "",
        "arm64",
        r#"{"User":"nonroot"}"#,
        &[],
        &[base(&[("etc/os-release", &format!("f:{DEBIAN}"))])],
    );
    push.index("app/multi", "1", OCI_INDEX, &[("amd64", amd), ("arm64", arm)]);
    setup.dockerfile(
        "Dockerfile",
        "ARG REGISTRY={R}\nFROM ${REGISTRY}/app/nonroot:1 AS a\nFROM {R}/app/users:1 AS b\nFROM b AS c\n\
         FROM {R}/app/notools:1\nFROM {R}/app/entry:1\nFROM {R}/app/pq:1\nFROM {R}/app/whiteout:1\n\
         FROM {R}/app/multi:1\nFROM scratch\n",
    );
}

/// Whether a `facts` stderr says some image's facts were read from the registry in this run.
fn from_registry(stderr: &str) -> bool {
    stderr.lines().any(|line| line.ends_with(": facts read from the registry"))
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

fn names(value: &Value, field: &str) -> Vec<String> {
    value[field]
        .as_array()
        .map(|items| items.iter().filter_map(|v| v["name"].as_str().map(String::from)).collect())
        .unwrap_or_default()
}

#[test]
fn facts_of_crafted_images_come_from_their_config_and_files() {
    let Some(setup) = start() else { return };
    push_images(&setup);
    let (document, err) = setup.facts(&[]);
    assert_eq!(document["version"], 1);
    assert_eq!(document["platform"], "linux/amd64");
    assert_eq!(document["images"].as_object().map(|images| images.len()), Some(7), "{document:#}");
    assert!(from_registry(&err), "{err}");

    let nonroot = setup.image(&document, "app/nonroot:1");
    assert_eq!(nonroot["config"]["user"], "1001:0");
    assert!(nonroot["digest"].as_str().is_some_and(|d| d.starts_with("sha256:")));

    let users = setup.image(&document, "app/users:1");
    assert_eq!(names(&users["files"], "passwd"), ["root", "postgres"]);
    assert_eq!(names(&users["files"], "groups"), ["root", "postgres", "ssl-cert"]);
    assert_eq!(users["files"]["groups"][2]["members"], serde_json::json!(["postgres"]));
    assert_eq!(
        users["files"]["os_release"]["id"], "debian",
        "through etc/os-release -> ../usr/lib/os-release"
    );
    assert_eq!(users["files"]["has_shell"], true, "bin -> usr/bin, sh -> dash");
    assert_eq!(strings(&users["files"]["user_tools"]), ["useradd", "groupadd"]);

    let notools = setup.image(&document, "app/notools:1");
    assert_eq!(notools["files"]["user_tools"], serde_json::json!([]));
    assert_eq!(notools["files"]["has_shell"], false);
    assert_eq!(notools["files"]["packages"], Value::Null);

    let entry = setup.image(&document, "app/entry:1");
    assert_eq!(strings(&entry["config"]["entrypoint"]), ["docker-entrypoint.sh"]);
    assert_eq!(strings(&entry["config"]["exposed_ports"]), ["5432/tcp"]);
    assert!(strings(&entry["history"]).iter().any(|command| command.contains("gosu")), "{entry:#}");

    let pq = setup.image(&document, "app/pq:1");
    assert_eq!(pq["files"]["packages"]["manager"], "dpkg");
    let packages = &pq["files"]["packages"]["packages"];
    assert_eq!(names(&pq["files"]["packages"], "packages"), ["libpq5", "libpq-dev"]);
    assert_eq!(strings(&packages[1]["depends"]), ["libpq5", "libssl-dev"], "first alternative, no versions");
    assert_eq!(packages[1]["version"], "15.8-0+deb12u1");

    let whiteout = setup.image(&document, "app/whiteout:1");
    assert_eq!(strings(&whiteout["files"]["user_tools"]), ["adduser"], "useradd deleted by the upper layer");

    let multi = setup.image(&document, "app/multi:1");
    assert_eq!(multi["platform"]["architecture"], "amd64");
    assert_eq!(multi["files"]["os_release"]["id"], "alpine");
    assert_eq!(multi["files"]["packages"]["manager"], "apk");
    let (arm, _) = setup.facts(&["--platform", "linux/arm64"]);
    assert_eq!(arm["platform"], "linux/arm64");
    let multi_arm = setup.image(&arm, "app/multi:1");
    assert_eq!(multi_arm["platform"]["architecture"], "arm64");
    assert_eq!(multi_arm["files"]["os_release"]["id"], "debian");
    assert_eq!(multi_arm["config"]["user"], "nonroot");
    assert_ne!(multi_arm["digest"], multi["digest"]);
    let single = setup.image(&arm, "app/pq:1");
    assert_eq!(single["platform"]["architecture"], "amd64", "a single-platform image is what it is");
}

#[test]
fn a_second_run_asks_the_registry_nothing_and_a_corrupt_entry_is_refetched() {
    let Some(setup) = start() else { return };
    push_images(&setup);
    let (first, _) = setup.facts(&[]);
    let cold = setup.requests().len();
    assert!(cold >= 7 * 3, "manifest, config and layers of 7 images: {cold} requests");

    let (second, err) = setup.facts(&[]);
    assert_eq!(second, first, "the cache gives the same facts");
    assert_eq!(setup.requests().len(), cold, "a warm run asks the registry nothing");
    assert!(err.contains("(cache)") && !from_registry(&err), "{err}");

    // A day later: one HEAD per reference tells the tags have not moved; one has.
    let age_tag_records = || {
        for entry in std::fs::read_dir(setup.cache.path().join("tags")).expect("tag records") {
            let path = entry.expect("entry").path();
            let mut record: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
            record["checked"] = Value::from(0);
            std::fs::write(&path, record.to_string()).expect("write");
        }
    };
    age_tag_records();
    let (aged, err) = setup.facts(&[]);
    assert_eq!(aged, first, "{err}");
    // Besides, the registry client probes `GET /v2/` once per repository for its token.
    let requests = setup.requests();
    let checks: Vec<&String> =
        requests[cold..].iter().filter(|line| !line.contains("\"GET /v2/ HTTP")).collect();
    assert_eq!(checks.len(), 7, "one request per reference: {checks:#?}");
    assert!(checks.iter().all(|line| line.contains("\"HEAD /v2/app/")), "{checks:#?}");
    image(&setup.push(), "app/nonroot", "1", "amd64", r#"{"User":"2002"}"#, &[], &[layer(&[])]);
    age_tag_records();
    let (moved, err) = setup.facts(&[]);
    assert_eq!(
        setup.image(&moved, "app/nonroot:1")["config"]["user"],
        "2002",
        "the moved tag is fetched again"
    );
    assert_eq!(
        err.lines().filter(|line| line.ends_with(": facts read from the registry")).count(),
        1,
        "{err}"
    );
    let cold = setup.requests().len();

    let facts_dir = setup.cache.path().join("facts").join("sha256");
    let mut corrupted = 0;
    for entry in std::fs::read_dir(&facts_dir).expect("cached facts") {
        std::fs::write(entry.expect("entry").path(), "{\"version\": 1, \"facts\": [").expect("corrupt");
        corrupted += 1;
    }
    assert!(corrupted >= 8, "one entry per image manifest (the moved tag's two)");
    let (third, err) = setup.facts(&[]);
    assert_eq!(third, moved, "corrupt entries are refetched, not fatal: {err}");
    assert!(setup.requests().len() > cold, "refetched from the registry");
    let (_, err) = setup.facts(&[]);
    assert!(!from_registry(&err), "the refetched entries are cached again: {err}");
}

#[test]
fn the_facts_file_round_trips_and_serves_offline_runs() {
    let Some(setup) = start() else { return };
    push_images(&setup);
    let out = setup.dockfix(&[
        "facts",
        "--no-config",
        "--insecure-registry",
        setup.host(),
        "--write",
        "facts.json",
    ]);
    assert!(out.status.success() && out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(setup.work.path().join("facts.json")).expect("facts file");
    let file: Value = serde_json::from_str(&text).expect("JSON");
    let (fresh, _) = setup.facts(&[]);
    assert_eq!(file, fresh, "the file holds what is printed");

    // Offline, with an empty cache: everything comes from the file.
    std::fs::remove_dir_all(setup.cache.path()).expect("empty the cache");
    let before = setup.requests().len();
    let out = setup.dockfix(&["facts", "--no-config", "--offline", "--facts-file", "facts.json"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let reread: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(reread, file, "the same catalog back from the file");
    assert_eq!(err.matches("facts from facts.json").count(), 7, "{err}");

    let out = setup.dockfix(&["fix", "--no-config", "--offline", "--facts-file", "facts.json", "Dockerfile"]);
    assert_ne!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(setup.requests().len(), before, "offline asks no registry");

    std::fs::write(
        setup.work.path().join("bad.json"),
        "{\"version\": 9, \"platform\": \"x\", \"images\": {}}",
    )
    .expect("write");
    let out = setup.dockfix(&["fix", "--no-config", "--offline", "--facts-file", "bad.json", "Dockerfile"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "a named facts file that cannot be read is an error: {err}");
    assert!(err.contains("bad.json: facts file version 9"), "{err}");
}

#[test]
fn an_unknown_image_is_reported_and_the_others_still_printed() {
    let Some(setup) = start() else { return };
    image(
        &setup.push(),
        "app/real",
        "1",
        "amd64",
        "{}",
        &[],
        &[layer(&[("etc/passwd", "f:root:x:0:0::/:/bin/sh\n")])],
    );
    setup.dockerfile("Dockerfile", "FROM {R}/app/real:1\nFROM {R}/app/missing:1\n");
    let mut args = vec!["facts", "--no-config", "--insecure-registry", setup.host()];
    args.push("Dockerfile");
    let out = setup.dockfix(&args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("app/missing:1") && err.contains("404"), "{err}");
    let document: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(document["images"].get(format!("{}/app/real:1", setup.host())).is_some(), "{document:#}");

    // fix never fails on facts: the transforms fall back to the name.
    let out = setup.dockfix(&[
        "fix",
        "--no-config",
        "--insecure-registry",
        setup.host(),
        "--select",
        "strip-setuid",
        "Dockerfile",
    ]);
    assert_ne!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_tag_pin_images_just_resolved_is_not_asked_again_for_facts() {
    let Some(setup) = start() else { return };
    image(&setup.push(), "app/float", "latest", "amd64", "{}", &[], &[layer(&[("bin/sh", "f:sh")])]);
    image(&setup.push(), "app/float", "1.0", "amd64", "{}", &[], &[layer(&[("bin/sh", "f:sh")])]);
    setup.dockerfile("Dockerfile", "FROM {R}/app/float\n");
    setup.facts(&[]);
    let tags = setup.cache.path().join("tags");
    let record_path =
        std::fs::read_dir(&tags).expect("tag records").next().expect("one").expect("entry").path();
    let mut record: Value =
        serde_json::from_str(&std::fs::read_to_string(&record_path).expect("read")).expect("JSON");
    record["checked"] = Value::from(0);
    std::fs::write(&record_path, record.to_string()).expect("write");

    let manifest_requests = |method: &str| {
        setup
            .requests()
            .iter()
            .filter(|line| line.contains(&format!("\"{method} /v2/app/float/manifests/latest ")))
            .count()
    };
    let (heads, gets) = (manifest_requests("HEAD"), manifest_requests("GET"));
    let args = [
        "fix",
        "--no-config",
        "--insecure-registry",
        setup.host(),
        "--select",
        "pin-images,strip-setuid",
        "Dockerfile",
    ];
    let out = setup.dockfix(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("app/float:1.0"), "pin-images resolved the tag");
    assert_eq!(manifest_requests("HEAD"), heads + 1, "pin-images' HEAD only: facts reuse its answer");
    assert_eq!(manifest_requests("GET"), gets, "nothing fetched again");
    let refreshed: Value =
        serde_json::from_str(&std::fs::read_to_string(&record_path).expect("read")).expect("JSON");
    assert!(refreshed["checked"].as_u64().is_some_and(|checked| checked > 0), "the record is fresh again");
}

#[test]
fn another_tag_of_a_cached_manifest_costs_only_its_manifest() {
    let Some(setup) = start() else { return };
    let rootfs = [layer(&[("etc/passwd", "f:root:x:0:0::/:/bin/sh\n"), ("bin/sh", "f:sh")])];
    let one = image(&setup.push(), "app/twin", "1", "amd64", "{}", &[], &rootfs);
    let two = image(&setup.push(), "app/twin", "2", "amd64", "{}", &[], &rootfs);
    assert_eq!(one.digest, two.digest, "the same manifest under two tags");
    setup.dockerfile("one.Dockerfile", "FROM {R}/app/twin:1\n");
    setup.dockerfile("two.Dockerfile", "FROM {R}/app/twin:2\n");
    let (first, _) = setup.facts(&["one.Dockerfile"]);
    let before = setup.requests().len();
    let (second, err) = setup.facts(&["two.Dockerfile"]);
    assert!(err.contains("(cache)"), "{err}");
    let asked: Vec<String> =
        setup.requests()[before..].iter().filter(|line| !line.contains("\"GET /v2/ HTTP")).cloned().collect();
    assert_eq!(asked.len(), 1, "{asked:#?}");
    assert!(asked[0].contains("\"GET /v2/app/twin/manifests/2 "), "{asked:#?}");
    assert_eq!(setup.image(&first, "app/twin:1"), setup.image(&second, "app/twin:2"));
}

#[test]
fn tags_of_one_manifest_looked_up_together_read_its_layers_once() {
    let Some(setup) = start() else { return };
    let rootfs = [layer(&[("etc/passwd", "f:root:x:0:0::/:/bin/sh\n"), ("usr/sbin/useradd", "f:elf")])];
    for tag in ["1", "1.2", "latest"] {
        image(&setup.push(), "app/same", tag, "amd64", "{}", &[], &rootfs);
    }
    setup.dockerfile(
        "Dockerfile",
        "FROM {R}/app/same:1 AS a\nFROM {R}/app/same:1.2 AS b\nFROM {R}/app/same:latest\n",
    );
    let before = setup.requests().len();
    let (document, err) = setup.facts(&[]);
    for tag in ["1", "1.2", "latest"] {
        let files = &setup.image(&document, &format!("app/same:{tag}"))["files"];
        assert_eq!(strings(&files["user_tools"]), ["useradd"], "{tag}: {err}");
    }
    let layer_gets =
        setup.requests()[before..].iter().filter(|line| line.contains("\"GET /v2/app/same/blobs/")).count();
    // One layer read, plus at most one config blob per tag.
    assert!(layer_gets <= 1 + 3, "{layer_gets} blob requests: {err}");
    let layer_digest = registry_support::sha256(&rootfs[0]);
    let layer_reads = setup.requests()[before..]
        .iter()
        .filter(|line| line.contains(&format!("\"GET /v2/app/same/blobs/{layer_digest} ")))
        .count();
    assert_eq!(layer_reads, 1, "the layer is read once for the three tags");
}

#[test]
fn layers_over_the_size_limit_leave_the_config_facts_only() {
    let Some(setup) = start() else { return };
    let push = setup.push();
    let repo = "app/huge";
    let config = r#"{"architecture":"amd64","os":"linux","config":{"User":"app"},"rootfs":{"type":"layers","diff_ids":[]}}"#;
    let layer_bytes = layer(&[("etc/passwd", "f:root:x:0:0::/:/bin/sh\n")]);
    // The manifest says what the layers weigh: dockfix decides before downloading any.
    let claimed: u64 = 300 << 20;
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{}","size":{claimed}}}]}}"#,
        push.blob(repo, config.as_bytes()),
        config.len(),
        push.blob(repo, &layer_bytes),
    );
    push.manifest(repo, "1", OCI_MANIFEST, manifest.as_bytes());
    setup.dockerfile("Dockerfile", "FROM {R}/app/huge:1\n");
    let (document, err) = setup.facts(&[]);
    let huge = setup.image(&document, "app/huge:1");
    assert_eq!(huge["config"]["user"], "app", "the config is read");
    assert_eq!(huge["files"], Value::Null, "the files are not");
    assert!(err.contains("300 MiB compressed, over the 256 MiB limit: config facts only"), "{err}");
    assert!(
        !setup.requests().iter().any(|line| line.contains(&registry_support::sha256(&layer_bytes))),
        "no layer fetched"
    );
}

#[test]
fn a_zstd_layer_leaves_the_config_facts_only_and_is_cached_so() {
    let Some(setup) = start() else { return };
    let push = setup.push();
    let repo = "app/zstd";
    let config = r#"{"architecture":"amd64","os":"linux","config":{"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":[]}}"#;
    // A zstd frame's magic number and a few bytes: dockfix stops at the media type.
    let layer_bytes = [0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0];
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":"{}","size":{}}}]}}"#,
        push.blob(repo, config.as_bytes()),
        config.len(),
        push.blob(repo, &layer_bytes),
        layer_bytes.len()
    );
    push.manifest(repo, "1", OCI_MANIFEST, manifest.as_bytes());
    setup.dockerfile("Dockerfile", "FROM {R}/app/zstd:1\n");
    let (document, err) = setup.facts(&[]);
    assert_eq!(setup.image(&document, "app/zstd:1")["files"], Value::Null);
    assert!(err.contains("zstd-compressed, which dockfix does not read: config facts only"), "{err}");
    let before = setup.requests().len();
    let (again, err) = setup.facts(&[]);
    assert_eq!(again, document, "{err}");
    assert_eq!(setup.requests().len(), before, "what cannot be read is not fetched again");
}

#[test]
fn a_layer_longer_than_its_manifest_says_is_cut_off() {
    let Some(setup) = start() else { return };
    let push = setup.push();
    let repo = "app/liar";
    let config =
        r#"{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#;
    let layer_bytes = layer(&[("etc/passwd", "f:root:x:0:0::/:/bin/sh\n")]);
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{}","size":10}}]}}"#,
        push.blob(repo, config.as_bytes()),
        config.len(),
        push.blob(repo, &layer_bytes),
    );
    push.manifest(repo, "1", OCI_MANIFEST, manifest.as_bytes());
    setup.dockerfile("Dockerfile", "FROM {R}/app/liar:1\n");
    let (document, err) = setup.facts(&[]);
    assert_eq!(setup.image(&document, "app/liar:1")["files"], Value::Null, "{err}");
    assert!(
        err.contains("files not read") && err.contains("more than the 10 bytes its manifest says"),
        "{err}"
    );
}
