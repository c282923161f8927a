//! `dockfix fix --verify` for real: buildah builds the original and the fixed file from base
//! images in the build-proof harness's local registry (`tests/build_support/mod.rs`; missing
//! tools fail under `CI=true`, skip loudly otherwise). dockfix runs buildah with the harness's
//! storage and registries through buildah's own environment variables
//! (`CONTAINERS_STORAGE_CONF`, `CONTAINERS_REGISTRIES_CONF`, `BUILDAH_ISOLATION`).
//!
//! The Docker and Podman paths are not exercised here (CI has no Docker daemon and no
//! Podman): their command lines are unit-tested in `src/verify/builder.rs`.

mod build_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use build_support::{loud, prepare_scenario, Env};
use serde_json::Value;

/// A scenario written here: a Dockerfile (with `{{REGISTRY}}`) and its context files.
fn scenario_dir(env: &Env, name: &str, dockerfile: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = env.fresh_dir(name).expect("scenario directory").join("context");
    fs::create_dir_all(&dir).expect("context");
    let text = dockerfile.replace(build_support::REGISTRY_PLACEHOLDER, &env.registry.host);
    fs::write(dir.join("Dockerfile"), text).expect("Dockerfile");
    for (name, content) in files {
        fs::write(dir.join(name), content).expect("context file");
    }
    dir
}

/// The storage.conf that points buildah at the harness's private storage.
fn storage_conf(env: &Env) -> PathBuf {
    let path = env.work.join("verify-storage.conf");
    let conf = format!(
        "[storage]\ndriver = \"vfs\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n",
        env.work.join("storage").display(),
        env.work.join("runroot").display()
    );
    fs::write(&path, conf).expect("storage.conf");
    path
}

/// Runs `dockfix fix --verify --builder buildah --format json ARGS Dockerfile` in `dir`.
fn dockfix_verify(env: &Env, dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> (Output, Value) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_dockfix"))
        .args(["fix", "--verify", "--builder", "buildah", "--offline", "--format", "json"])
        .args(args)
        .arg("Dockerfile")
        .current_dir(dir)
        .env("CONTAINERS_STORAGE_CONF", storage_conf(env))
        .env("CONTAINERS_REGISTRIES_CONF", env.work.join("registries.conf"))
        .env("BUILDAH_ISOLATION", "chroot")
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("dockfix runs");
    loud(&format!(
        "verify {}: dockfix took {:.1}s; its summary:\n{}",
        dir.display(),
        started.elapsed().as_secs_f64(),
        stderr(&out)
    ));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|error| {
        panic!("stdout is not JSON ({error}):\n{}\nstderr:\n{}", stdout(&out), stderr(&out))
    });
    (out, doc)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn verification(doc: &Value) -> &Value {
    &doc["files"][0]["verification"]
}

fn check<'a>(doc: &'a Value, name: &str) -> &'a Value {
    verification(doc)["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|check| check["check"] == name))
        .unwrap_or_else(|| panic!("no `{name}` check in {doc:#}"))
}

/// No throwaway image is left in the builder's storage.
fn assert_no_images_left(env: &Env) {
    let images = env.buildah_out(&["images", "--all", "--format", "{{.Name}}"]).expect("buildah images");
    assert!(!images.contains("dockfix-verify"), "throwaway images left:\n{images}");
    let containers =
        env.buildah_out(&["containers", "--all", "--format", "{{.ContainerName}}"]).unwrap_or_default();
    assert!(!containers.contains("dockfix-verify"), "working containers left:\n{containers}");
}

/// The document matches the committed schema of `--format json`.
fn assert_matches_schema(doc: &Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/dockfix-output.schema.json");
    let schema: Value =
        serde_json::from_str(&fs::read_to_string(path).expect("schema")).expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator.iter_errors(doc).map(|error| error.to_string()).collect();
    assert!(errors.is_empty(), "the document does not match its schema: {errors:?}\n{doc:#}");
}

#[test]
fn a_debian_file_verifies_and_is_written() {
    let Some(env) = build_support::env() else { return };
    let _serial = env.serialize();
    let scenario = prepare_scenario(env, "debian-single").expect("scenario");
    let (out, doc) =
        dockfix_verify(env, &scenario.context, &["--write", "--select", "non-root-user,strip-setuid"], &[]);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", stderr(&out));
    assert_matches_schema(&doc);
    let verification = verification(&doc);
    assert_eq!(verification["verdict"], "verified", "{doc:#}");
    assert_eq!(verification["builder"], "buildah");
    assert_eq!(check(&doc, "builds")["status"], "passed");
    assert_eq!(check(&doc, "user")["status"], "passed", "{doc:#}");
    assert!(
        check(&doc, "user")["evidence"].as_str().is_some_and(|text| text.contains("UID 10001")),
        "{doc:#}"
    );
    assert_eq!(check(&doc, "setuid")["status"], "passed");
    assert_eq!(check(&doc, "secrets")["status"], "skipped", "no secret in the file: {doc:#}");
    assert_eq!(check(&doc, "smoke")["status"], "passed", "{doc:#}");
    let figures = &verification["figures"];
    assert_eq!(figures["user_before"], "");
    assert_eq!(figures["user_after"], "app");
    assert!(figures["setuid_before"].as_u64().is_some_and(|count| count > 0), "{figures:#}");
    assert_eq!(figures["setuid_after"], 0);
    assert!(figures["size_after"].as_u64().is_some_and(|bytes| bytes > 1_000_000), "{figures:#}");
    assert_eq!(figures["smoke"], "exit 0 → exit 0");
    let written = fs::read_to_string(&scenario.dockerfile).expect("Dockerfile");
    assert!(written.contains("USER app\n"), "a verified file is written:\n{written}");
    assert!(
        stderr(&out).contains("Dockerfile: verify (buildah): verified (user root → app, setuid files"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("verify: 1 verified, 0 failed, 0 skipped"), "{}", stderr(&out));
    assert_no_images_left(env);
}

const WRITES_ROOT_OWNED: &str = "\
# An app that writes to a directory root created: as a non-root user it cannot.
FROM {{REGISTRY}}/bbox:1
RUN mkdir -p /srv/state
CMD [\"sh\", \"-c\", \"echo started > /srv/state/log && sleep 60\"]
";

#[test]
fn a_fix_that_breaks_the_smoke_run_is_dropped_and_the_rest_verifies() {
    let Some(env) = build_support::env() else { return };
    let _serial = env.serialize();
    let dir = scenario_dir(env, "verify-writes-root-owned", WRITES_ROOT_OWNED, &[]);
    let args = ["--write", "--select", "non-root-user,strip-setuid", "--verify-timeout", "3"];
    let (out, doc) = dockfix_verify(env, &dir, &args, &[]);
    assert_eq!(out.status.code(), Some(0), "the retry verified; stderr:\n{}", stderr(&out));
    assert_matches_schema(&doc);
    let verification = verification(&doc);
    assert_eq!(verification["verdict"], "verified", "{doc:#}");
    assert_eq!(
        verification["dropped"],
        serde_json::json!([{"transform": "non-root-user", "check": "smoke"}])
    );
    assert_eq!(verification["figures"]["smoke"], "still running → still running", "{doc:#}");
    let findings = doc["files"][0]["findings"].as_array().expect("findings");
    let user = findings
        .iter()
        .find(|finding| finding["transform"] == "non-root-user")
        .expect("non-root-user finding");
    assert_eq!(user["fixed"], false);
    let declined = user["declined"].as_str().unwrap_or_default();
    assert!(declined.contains("dropped by --verify") && declined.contains("`smoke`"), "{declined}");
    assert!(
        declined.contains("still running") && declined.contains("exit"),
        "the evidence is named: {declined}"
    );
    let strip =
        findings.iter().find(|finding| finding["transform"] == "strip-setuid").expect("strip-setuid finding");
    assert_eq!(strip["fixed"], true, "only the fix that broke the run is dropped");
    let written = fs::read_to_string(dir.join("Dockerfile")).expect("Dockerfile");
    assert!(!written.contains("USER"), "the dropped fix is not written:\n{written}");
    assert!(written.contains("chmod a-s"), "the other fix is written:\n{written}");
    assert!(
        stderr(&out).contains("dropped non-root-user: the fixed image failed check `smoke` with it"),
        "{}",
        stderr(&out)
    );
    assert_no_images_left(env);
}

#[test]
fn a_failed_verification_is_not_written_and_exits_2() {
    let Some(env) = build_support::env() else { return };
    let _serial = env.serialize();
    let dir = scenario_dir(env, "verify-fails", WRITES_ROOT_OWNED, &[]);
    // non-root-user alone: nothing is left once it is dropped, so the verification fails.
    let args = ["--write", "--select", "non-root-user", "--verify-timeout", "3"];
    let (out, doc) = dockfix_verify(env, &dir, &args, &[]);
    assert_eq!(out.status.code(), Some(2), "stderr:\n{}", stderr(&out));
    let verification = verification(&doc);
    assert_eq!(verification["verdict"], "failed", "{doc:#}");
    assert_eq!(check(&doc, "smoke")["status"], "failed");
    let evidence = check(&doc, "smoke")["evidence"].as_str().unwrap_or_default();
    assert!(evidence.contains("original still running, fixed exit"), "{evidence}");
    let unchanged = fs::read_to_string(dir.join("Dockerfile")).expect("Dockerfile");
    assert!(!unchanged.contains("USER"), "a file that failed to verify is not written:\n{unchanged}");
    assert!(stderr(&out).contains("not written (--keep-unverified writes it)"), "{}", stderr(&out));

    let args = ["--write", "--keep-unverified", "--select", "non-root-user", "--verify-timeout", "3"];
    let (out, _) = dockfix_verify(env, &dir, &args, &[]);
    assert_eq!(out.status.code(), Some(2), "stderr:\n{}", stderr(&out));
    let kept = fs::read_to_string(dir.join("Dockerfile")).expect("Dockerfile");
    assert!(kept.contains("USER 65532:65532"), "--keep-unverified writes it:\n{kept}");
    assert_no_images_left(env);
}

#[test]
fn an_original_that_does_not_build_is_skipped() {
    let Some(env) = build_support::env() else { return };
    let _serial = env.serialize();
    let dockerfile = "FROM {{REGISTRY}}/bbox:1\nCOPY not-in-the-context.txt /srv/\nCMD [\"sleep\", \"60\"]\n";
    let dir = scenario_dir(env, "verify-original-broken", dockerfile, &[]);
    let (out, doc) = dockfix_verify(env, &dir, &["--select", "non-root-user"], &[]);
    assert_eq!(out.status.code(), Some(0), "a skipped file is no failure; stderr:\n{}", stderr(&out));
    assert_matches_schema(&doc);
    let verification = verification(&doc);
    assert_eq!(verification["verdict"], "skipped", "{doc:#}");
    let reason = verification["reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with("the original does not build"), "{reason}");
    assert!(reason.contains("not-in-the-context.txt"), "the builder's error is given: {reason}");
    assert!(stderr(&out).contains("verify: 0 verified, 0 failed, 1 skipped"), "{}", stderr(&out));
    assert_no_images_left(env);
}

/// The literal values in `tests/build_scenarios/secret-build-time/Dockerfile`.
const LEAKED: [&str; 2] = ["build-token-0123456789abcdef", "runtime-password-abcdef"];

#[test]
fn a_secret_mount_is_built_with_the_secret_from_the_environment() {
    let Some(env) = build_support::env() else { return };
    let _serial = env.serialize();
    let scenario = prepare_scenario(env, "secret-build-time").expect("scenario");
    let rotated = "rotated-token-value-42";
    let (out, doc) =
        dockfix_verify(env, &scenario.context, &["--select", "env-secrets"], &[("API_TOKEN", rotated)]);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", stderr(&out));
    assert_matches_schema(&doc);
    assert_eq!(verification(&doc)["verdict"], "verified", "{doc:#}");
    assert_eq!(check(&doc, "builds")["status"], "passed");
    let secrets = check(&doc, "secrets");
    assert_eq!(secrets["status"], "passed", "{secrets:#}");
    assert_eq!(secrets["evidence"], "no moved secret value in the config, the history or the files");
    for text in [stdout(&out), stderr(&out)] {
        for value in LEAKED.iter().chain([&rotated]) {
            assert!(!text.contains(value), "a secret value is printed:\n{text}");
        }
    }
    assert_no_images_left(env);
}

const SHELL_LESS: &str = "\
# A scratch final stage with a setuid copy of busybox and no /bin/sh: strip-setuid cannot
# run, the filesystem is read all the same.
FROM {{REGISTRY}}/bbox:1 AS tools
RUN cp /bin/busybox /tool && chmod 4755 /tool

FROM scratch
COPY --from=tools /tool /usr/bin/tool
COPY --from=tools /bin/busybox /bin/busybox
ENTRYPOINT [\"/bin/busybox\"]
CMD [\"sleep\", \"60\"]
";

#[test]
fn a_shell_less_image_has_its_setuid_files_counted() {
    let Some(env) = build_support::env() else { return };
    let _serial = env.serialize();
    let dir = scenario_dir(env, "verify-shell-less", SHELL_LESS, &[]);
    let (out, doc) =
        dockfix_verify(env, &dir, &["--select", "non-root-user,strip-setuid", "--verify-timeout", "3"], &[]);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", stderr(&out));
    let figures = &verification(&doc)["figures"];
    assert_eq!(
        (figures["setuid_before"].as_u64(), figures["setuid_after"].as_u64()),
        (Some(1), Some(1)),
        "{doc:#}"
    );
    let setuid = check(&doc, "setuid");
    assert_eq!(setuid["status"], "skipped", "strip-setuid cannot run without a shell: {doc:#}");
    assert!(setuid["evidence"].as_str().is_some_and(|text| text.ends_with("/usr/bin/tool")), "{setuid:#}");
    assert_eq!(figures["user_after"], "65532:65532", "{doc:#}");
    assert_eq!(check(&doc, "user")["status"], "passed");
    assert_eq!(check(&doc, "smoke")["status"], "passed", "{doc:#}");
    assert_eq!(figures["smoke"], "still running → still running", "{doc:#}");
    assert_no_images_left(env);
}

const HEALTHCHECK_STATE: &str = "\
# The server writes its health file into a directory root created; the HEALTHCHECK reads it.
FROM {{REGISTRY}}/bbox:1
RUN mkdir -p /srv/state
CMD [\"sh\", \"-c\", \"echo ok > /srv/state/health; sleep 60\"]
HEALTHCHECK CMD [\"cat\", \"/srv/state/health\"]
";

#[test]
fn the_healthcheck_runs_beside_the_start_command() {
    let Some(env) = build_support::env() else { return };
    let _serial = env.serialize();
    let dir = scenario_dir(env, "verify-healthcheck", HEALTHCHECK_STATE, &[]);
    let args = ["--select", "non-root-user", "--verify-timeout", "6"];
    let (out, doc) = dockfix_verify(env, &dir, &args, &[]);
    // As the non-root user the server cannot write its health file: the health check fails
    // where the original's passes; without non-root-user nothing is left to verify.
    assert_eq!(out.status.code(), Some(2), "stderr:\n{}", stderr(&out));
    let smoke = check(&doc, "smoke");
    assert_eq!(smoke["status"], "failed", "{doc:#}");
    let evidence = smoke["evidence"].as_str().unwrap_or_default();
    assert!(
        evidence.starts_with("`HEALTHCHECK cat /srv/state/health`: original exit 0, fixed exit 1"),
        "{evidence}"
    );
    assert_no_images_left(env);
}

/// The build-proof scenarios the overhead is measured on (the Go ones and those that need
/// their own base images left out).
const OVERHEAD_SCENARIOS: &[&str] = &[
    "builtin-user",
    "busybox-without-applets",
    "copy-chown",
    "debian-single",
    "declined-gosu",
    "existing-system-user",
    "inherited-stage",
    "multi-stage-root-builder",
    "scratch-numeric",
    "unknown-base-numeric",
    "volume-writes",
    "workdir-after-copy",
    "workdir-var-lib",
    "workdir-writes",
];

/// What `--verify` costs beyond the two builds, on the build-proof scenarios: the time spent
/// reading the images (inspect, mount, filesystem scan, cleanup) and in smoke runs, from the
/// `timings` of each verification. A measurement, run on demand:
/// `cargo test --test verify -- --ignored --nocapture overhead`.
#[test]
#[ignore = "a measurement of several minutes; run on demand"]
fn overhead_on_the_build_proof_scenarios() {
    let Some(env) = build_support::env() else { return };
    let _serial = env.serialize();
    let mut rows =
        vec!["scenario | verdict | builds s | inspection s | smoke s | inspection/builds".to_string()];
    let (mut builds, mut inspection, mut smoke) = (0u64, 0u64, 0u64);
    for name in OVERHEAD_SCENARIOS {
        let scenario = prepare_scenario(env, name).expect("scenario");
        let args = ["--select", "non-root-user,strip-setuid", "--verify-timeout", "3"];
        let (_, doc) = dockfix_verify(env, &scenario.context, &args, &[]);
        let verification = verification(&doc);
        if verification.is_null() {
            rows.push(format!("{name} | unchanged | | | |"));
            continue;
        }
        let timings = &verification["timings"];
        let ms = |key: &str| timings[key].as_u64().unwrap_or_else(|| panic!("no {key} in {timings:#}"));
        let (b, i, s) = (ms("builds_ms"), ms("inspection_ms"), ms("smoke_ms"));
        assert!(b > 0, "{name}: no build time: {doc:#}");
        (builds, inspection, smoke) = (builds + b, inspection + i, smoke + s);
        #[allow(clippy::cast_precision_loss)]
        let share = i as f64 / b.max(1) as f64 * 100.0;
        rows.push(format!(
            "{name} | {} | {:.1} | {:.1} | {:.1} | {share:.0}%",
            verification["verdict"].as_str().unwrap_or_default(),
            b as f64 / 1000.0,
            i as f64 / 1000.0,
            s as f64 / 1000.0
        ));
    }
    #[allow(clippy::cast_precision_loss)]
    rows.push(format!(
        "total | | {:.1} | {:.1} | {:.1} | {:.0}%",
        builds as f64 / 1000.0,
        inspection as f64 / 1000.0,
        smoke as f64 / 1000.0,
        inspection as f64 / builds.max(1) as f64 * 100.0
    ));
    loud(&format!("--verify overhead on the build-proof scenarios:\n{}", rows.join("\n")));
    assert_no_images_left(env);
}
