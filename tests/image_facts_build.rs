//! Image facts decide, proven by building. The test makes BusyBox base images in the
//! build-proof registry whose names tell dockfix nothing (`facts/...`), so what non-root-user
//! does depends on the facts it reads from that registry: an account the base's own
//! `/etc/passwd` ships, a non-root `User` its config sets. Each fixed file is built with
//! buildah and the image's user checked inside it; the same file offline (no facts) is
//! decided from the name and says so.
//!
//! Needs what the build-proof tests need (buildah, docker-registry, busybox-static); missing:
//! a failure under `CI=true`, a loud skip otherwise.

mod build_support;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use build_support::{loud, Env};
use serde_json::Value;

/// `dockfix fix --no-config --pin none --select non-root-user ARGS DOCKERFILE`, asking the
/// test registry (or none with `--offline`), with a cache of the test's own.
fn dockfix(env: &Env, dockerfile: &Path, cache: &Path, offline: bool, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dockfix"));
    command.args(["fix", "--no-config", "--pin", "none", "--select", "non-root-user"]).args(args);
    if offline {
        command.arg("--offline");
    } else {
        command.args(["--insecure-registry", &env.registry.host, "--registry-timeout", "10"]);
    }
    command
        .arg(dockerfile)
        .env("DOCKFIX_CACHE_DIR", cache)
        .env("DOCKER_CONFIG", cache.join("docker-config"))
        .stdin(Stdio::null())
        .output()
        .expect("run dockfix")
}

/// The non-root-user finding of `dockfix fix --format json`.
fn finding(env: &Env, dockerfile: &Path, cache: &Path, offline: bool) -> Value {
    let out = dockfix(env, dockerfile, cache, offline, &["--format", "json"]);
    let document: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    document["files"][0]["findings"]
        .as_array()
        .and_then(|findings| findings.iter().find(|f| f["transform"] == "non-root-user"))
        .cloned()
        .unwrap_or_else(|| panic!("no non-root-user finding: {document:#}"))
}

/// `dockfix fix --write` with facts from the test registry; the fixed text.
fn fix_with_facts(env: &Env, dockerfile: &Path, cache: &Path) -> String {
    let out = dockfix(env, dockerfile, cache, false, &["--write"]);
    assert!(out.status.success(), "dockfix fix --write failed: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::read_to_string(dockerfile).expect("read fixed Dockerfile")
}

fn message(finding: &Value) -> &str {
    finding["message"].as_str().unwrap_or_default()
}

#[test]
fn the_account_a_base_ships_is_used_and_resolves_in_the_built_image() {
    let Some(env) = build_support::env() else { return };
    let _serial = env.serialize();
    env.busybox_image("facts/svc:1", &[("svc", 1000)], &[]).unwrap_or_else(|e| panic!("base image: {e}"));
    let dir = env.fresh_dir("facts-svc").expect("work dir");
    let cache = dir.join("cache");
    std::fs::create_dir_all(cache.join("docker-config")).expect("cache dir");
    std::fs::write(dir.join("app.sh"), "#!/bin/sh\nid -un\n").expect("app.sh");
    std::fs::set_permissions(dir.join("app.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let dockerfile = dir.join("Dockerfile");
    let text = format!(
        "FROM {}\nCOPY app.sh /usr/local/bin/app.sh\nCMD [\"/usr/local/bin/app.sh\"]\n",
        env.image("facts/svc:1")
    );
    std::fs::write(&dockerfile, &text).expect("Dockerfile");

    let guessed = finding(env, &dockerfile, &cache, true);
    assert!(!message(&guessed).contains("`svc`"), "offline, the name says nothing of svc: {guessed:#}");

    let known = finding(env, &dockerfile, &cache, false);
    assert!(message(&known).contains("`svc`"), "the base's own account: {known:#}");
    assert!(message(&known).contains("[facts read from the registry]"), "{known:#}");
    let cached = finding(env, &dockerfile, &cache, false);
    assert!(message(&cached).contains("(cache)"), "a second run reads the cache: {cached:#}");

    let fixed = fix_with_facts(env, &dockerfile, &cache);
    assert!(fixed.contains("USER svc"), "{fixed}");
    assert!(!fixed.contains("adduser") && !fixed.contains("useradd"), "svc exists: nothing created\n{fixed}");
    let tag = "facts-fixed-svc:1";
    env.build(&fixed, &dir, tag).unwrap_or_else(|e| panic!("the fixed file does not build: {e}\n{fixed}"));
    assert_eq!(env.config_user(tag).expect("config"), "svc");
    let run = env.run_in(tag, &["/usr/local/bin/app.sh"]).expect("run");
    assert_eq!((run.status, run.stdout.trim()), (0, "svc"), "the user resolves inside: {}", run.stderr);
    env.remove_image(tag);
    loud(
        "image facts build: the base's own account svc, read from the registry, resolves in the built image",
    );
}

#[test]
fn a_base_whose_config_runs_as_non_root_is_left_alone() {
    let Some(env) = build_support::env() else { return };
    let _serial = env.serialize();
    env.busybox_image("facts/runs-as-app:1", &[("app", 1001)], &["--user", "1001"])
        .unwrap_or_else(|e| panic!("base image: {e}"));
    let dir = env.fresh_dir("facts-runs-as").expect("work dir");
    let cache = dir.join("cache");
    std::fs::create_dir_all(cache.join("docker-config")).expect("cache dir");
    let dockerfile = dir.join("Dockerfile");
    let text = format!("FROM {}\nCMD [\"id\", \"-u\"]\n", env.image("facts/runs-as-app:1"));
    std::fs::write(&dockerfile, &text).expect("Dockerfile");

    let guessed = finding(env, &dockerfile, &cache, true);
    assert_eq!(guessed["fixed"], true, "offline, the name says nothing, so a USER is added: {guessed:#}");

    let known = finding(env, &dockerfile, &cache, false);
    assert_eq!(known["fixed"], false, "{known:#}");
    assert!(message(&known).contains("already runs as non-root"), "{known:#}");
    assert!(message(&known).contains("[facts read from the registry]"), "{known:#}");
    let fixed = fix_with_facts(env, &dockerfile, &cache);
    assert_eq!(fixed, text, "nothing to change");
    let tag = "facts-fixed-runs-as:1";
    env.build(&fixed, &dir, tag).unwrap_or_else(|e| panic!("does not build: {e}"));
    let run = env.run_in(tag, &["id", "-u"]).expect("run");
    assert_eq!((run.status, run.stdout.trim()), (0, "1001"), "{}", run.stderr);
    env.remove_image(tag);
}
