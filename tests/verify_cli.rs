//! `--verify` on the command line with stand-in builders: shell scripts first on `PATH` that
//! log their calls: a `buildah` that fails every build, and a `docker` whose "images" are
//! directories it exports as tars. No image is built (`tests/verify.rs` builds real ones with
//! buildah): this covers the flags, builder detection, a skipped file, cleanup of the
//! throwaway tags, the stage line on a terminal, and Docker's path (buildx, inspect, history,
//! export read as a tar) as far as a stand-in can show it.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const DOCKERFILE: &str = "FROM debian:12\nCOPY app.py /srv/\nCMD [\"python3\", \"/srv/app.py\"]\n";

/// A directory with a Dockerfile, and a `bin/buildah` that fails to build.
fn project() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("Dockerfile"), DOCKERFILE).expect("Dockerfile");
    let bin = dir.path().join("bin");
    fs::create_dir_all(&bin).expect("bin");
    let script = format!(
        "#!/bin/sh\necho \"$*\" >> '{}'\ncase \"$1\" in\n  bud) echo 'error: COPY app.py: no such file in the build context' >&2; exit 1 ;;\nesac\nexit 0\n",
        dir.path().join("calls.log").display()
    );
    let buildah = bin.join("buildah");
    fs::write(&buildah, script).expect("buildah");
    fs::set_permissions(&buildah, fs::Permissions::from_mode(0o755)).expect("chmod");
    (dir, bin)
}

fn path_with(bin: &Path) -> String {
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default())
}

fn dockfix(dir: &Path, args: &[&str], path: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dockfix"))
        .args(args)
        .current_dir(dir)
        .env("PATH", path)
        .stdin(Stdio::null())
        .output()
        .expect("dockfix runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_original_that_does_not_build_is_skipped_and_its_tag_removed() {
    let (dir, bin) = project();
    let args = [
        "fix",
        "--offline",
        "--select",
        "non-root-user",
        "--verify",
        "--builder",
        "buildah",
        "--write",
        "Dockerfile",
    ];
    let out = dockfix(dir.path(), &args, &path_with(&bin));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(
        text.contains("Dockerfile: verify (buildah): skipped: the original does not build, so there is nothing to compare with:"),
        "{text}"
    );
    assert!(
        text.contains("COPY app.py: no such file in the build context"),
        "the builder's error is given: {text}"
    );
    assert!(text.contains("verify: 0 verified, 0 failed, 1 skipped"), "{text}");
    let calls = fs::read_to_string(dir.path().join("calls.log")).expect("calls");
    let built: Vec<&str> = calls.lines().filter(|line| line.starts_with("bud ")).collect();
    assert_eq!(built.len(), 1, "only the original is built: {calls}");
    let tag = built[0].split(" -t ").nth(1).and_then(|rest| rest.split(' ').next()).expect("a tag");
    assert!(tag.starts_with("localhost/dockfix-verify-") && tag.ends_with(":original"), "{tag}");
    assert!(calls.contains(&format!("rmi --force {tag}")), "the throwaway tag is removed: {calls}");
    let written = fs::read_to_string(dir.path().join("Dockerfile")).expect("Dockerfile");
    assert_ne!(written, DOCKERFILE, "a skipped file is written: its verification did not fail");
}

#[test]
fn no_builder_found_is_an_error() {
    let (dir, _) = project();
    let empty = dir.path().join("empty");
    fs::create_dir_all(&empty).expect("empty");
    let out =
        dockfix(dir.path(), &["fix", "--offline", "--verify", "Dockerfile"], &empty.display().to_string());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no builder found"), "{}", stderr(&out));
}

#[test]
fn verify_flags_need_verify_and_files() {
    let (dir, bin) = project();
    for flags in [
        &["--keep-unverified"][..],
        &["--builder", "podman"],
        &["--verify-cmd", "true"],
        &["--build-arg", "A=1"],
    ] {
        let mut args = vec!["fix", "--offline"];
        args.extend(flags);
        args.push("Dockerfile");
        let out = dockfix(dir.path(), &args, &path_with(&bin));
        assert_eq!(out.status.code(), Some(2), "{flags:?}");
        assert!(stderr(&out).contains("--verify"), "{flags:?}: {}", stderr(&out));
    }
    let out = dockfix(dir.path(), &["fix", "--verify", "--builder", "buildah", "-"], &path_with(&bin));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--verify needs files"), "{}", stderr(&out));
    let out = dockfix(
        dir.path(),
        &["fix", "--verify", "--build-secret", "no-equals-sign", "Dockerfile"],
        &path_with(&bin),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is not ID=FILE"), "{}", stderr(&out));
}

#[test]
fn a_terminal_shows_the_stage_and_erases_it() {
    if Command::new("script").arg("--version").stdout(Stdio::null()).status().is_err() {
        assert!(std::env::var_os("CI").is_none(), "util-linux `script` is needed (apt-get install bsdutils)");
        eprintln!("SKIPPED: util-linux `script` not found");
        return;
    }
    let (dir, bin) = project();
    let command = format!(
        "'{}' fix --offline --select non-root-user --verify --builder buildah --format json Dockerfile",
        env!("CARGO_BIN_EXE_dockfix")
    );
    let out = Command::new("script")
        .args(["--quiet", "--return", "--command", &command, "/dev/null"])
        .env("PATH", path_with(&bin))
        .env("TERM", "xterm")
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("script runs");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(screen.contains("\r\x1b[2KDockerfile: verify: building the original file"), "{screen:?}");
    let shown = screen.find("building the original file").unwrap_or_default();
    assert!(screen[shown..].contains("\r\x1b[2K"), "the stage line is erased: {screen:?}");
    assert!(screen.contains("Dockerfile: verify (buildah): skipped"), "{screen:?}");
}

/// A stand-in `docker` (buildx, a daemon that answers) whose images are two directories the
/// test made: `export` writes them as tars, as `docker export` does.
fn fake_docker(dir: &Path) -> PathBuf {
    let roots = dir.join("roots");
    for (name, passwd) in [
        ("c-original", "root:x:0:0::/root:/bin/sh\n"),
        ("c-fixed", "root:x:0:0::/root:/bin/sh\napp:x:10001:10001::/home/app:/bin/sh\n"),
    ] {
        let root = roots.join(name);
        fs::create_dir_all(root.join("etc")).expect("etc");
        fs::create_dir_all(root.join("usr/bin")).expect("usr/bin");
        fs::write(root.join("etc/passwd"), passwd).expect("passwd");
        let su = root.join("usr/bin/su");
        fs::write(&su, "su").expect("su");
        let mode = if name == "c-original" { 0o4755 } else { 0o755 };
        fs::set_permissions(&su, fs::Permissions::from_mode(mode)).expect("chmod");
    }
    let bin = dir.join("docker-bin");
    fs::create_dir_all(&bin).expect("bin");
    let script = format!(
        r#"#!/bin/sh
echo "$*" >> '{calls}'
case "$1 $2" in
  "buildx version") echo "github.com/docker/buildx v0.20.0" ;;
  "info --format") echo "28.0.0" ;;
  "buildx build") ;;
  "image inspect")
    case "$3" in
      *original) echo '[{{"Config": {{"User": "", "Cmd": ["serve"]}}, "Size": 1000}}]' ;;
      *) echo '[{{"Config": {{"User": "app", "Cmd": ["serve"]}}, "Size": 900}}]' ;;
    esac ;;
  "image history") echo 'CMD ["serve"]'; echo 'RUN useradd app' ;;
  "image rm") ;;
  "export -o")
    if [ -e '{fail}' ]; then echo 'write /tmp/x.tar: no space left on device' >&2; exit 1; fi
    tar -cf "$3" -C '{roots}'/"$4" . ;;
  "rm --force") ;;
  "run --rm") echo served ;;
  *)
    case "$1" in
      create) case "$2" in *original) echo c-original ;; *) echo c-fixed ;; esac ;;
      *) echo "unexpected: $*" >&2; exit 1 ;;
    esac ;;
esac
"#,
        calls = dir.join("docker-calls.log").display(),
        fail = dir.join("fail-export").display(),
        roots = roots.display()
    );
    let docker = bin.join("docker");
    fs::write(&docker, script).expect("docker");
    fs::set_permissions(&docker, fs::Permissions::from_mode(0o755)).expect("chmod");
    bin
}

#[test]
fn docker_is_found_first_and_its_exported_filesystem_is_read() {
    let (dir, _) = project();
    let bin = fake_docker(dir.path());
    let args =
        ["fix", "--offline", "--select", "non-root-user", "--verify", "--format", "json", "Dockerfile"];
    let out = dockfix(dir.path(), &args, &path_with(&bin));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let verification = &doc["files"][0]["verification"];
    assert_eq!(verification["builder"], "docker", "{doc:#}");
    assert_eq!(verification["verdict"], "verified", "{doc:#}");
    let figures = &verification["figures"];
    assert_eq!(
        (figures["setuid_before"].as_u64(), figures["setuid_after"].as_u64()),
        (Some(1), Some(0)),
        "{doc:#}"
    );
    assert_eq!((figures["user_before"].as_str(), figures["user_after"].as_str()), (Some(""), Some("app")));
    let user = verification["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|check| check["check"] == "user"));
    let user = user.expect("a user check");
    assert_eq!(user["evidence"], "`app`: UID 10001 in the image's /etc/passwd", "{doc:#}");
    assert_eq!(figures["smoke"], "exit 0 → exit 0");
    let calls = fs::read_to_string(dir.path().join("docker-calls.log")).expect("calls");
    for expected in [
        "buildx build --load --progress=plain -t localhost/dockfix-verify-",
        "image history --no-trunc",
        "export -o ",
        "rm --force c-fixed",
        "run --rm --entrypoint  localhost/dockfix-verify-",
    ] {
        assert!(calls.contains(expected), "no `{expected}` in:\n{calls}");
    }
    let removed =
        calls.lines().filter(|line| line.starts_with("image rm --force localhost/dockfix-verify-")).count();
    assert_eq!(removed, 2, "both throwaway images are removed:\n{calls}");
}

#[test]
fn an_image_that_cannot_be_read_is_skipped_not_blamed_on_the_file() {
    let (dir, _) = project();
    let bin = fake_docker(dir.path());
    fs::write(dir.path().join("fail-export"), "").expect("switch");
    let args =
        ["fix", "--offline", "--select", "non-root-user", "--verify", "--format", "json", "Dockerfile"];
    let out = dockfix(dir.path(), &args, &path_with(&bin));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let verification = &doc["files"][0]["verification"];
    assert_eq!(verification["verdict"], "skipped", "{doc:#}");
    let reason = verification["reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with("the original image cannot be read: "), "{reason}");
    assert!(reason.contains("no space left on device"), "{reason}");
}
