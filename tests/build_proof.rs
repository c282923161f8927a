//! Build proof for `non-root-user`, `strip-setuid` and `env-secrets`: real images, built with `buildah`
//! from base images the harness makes offline and serves from a local `docker-registry`
//! (see `tests/build_support/mod.rs`).
//!
//! Each scenario is a directory `tests/build_scenarios/<name>/`: a `Dockerfile` whose `FROM`
//! lines name `{{REGISTRY}}/...` and its build context. For each one:
//!
//! 1. the original builds and its start command prints the scenario's message (so a later
//!    failure is the fix's, not the scenario's);
//! 2. `dockfix fix --write --select non-root-user,strip-setuid` rewrites a copy, and
//!    `--select non-root-user` alone changes the file exactly when it should; the stages
//!    before the final one stay as they were;
//! 3. the fixed file builds; its config `User` is the expected non-root user (root only for
//!    the declined case); `id -u` inside is not 0; the user resolves (`id -un`), or is numeric
//!    by design; the start command (ENTRYPOINT + CMD, as the image's user, in its working
//!    directory) still prints the message from the file it reads; no setuid/setgid file is left.
//!
//! The Alpine path (`addgroup -S`/`adduser -S`) is not build-proven here: there is no
//! offline Alpine base. User creation is proven on Debian (debootstrap) and on a BusyBox
//! without `adduser`/`addgroup` applets (Debian's busybox-static under the name `busybox`,
//! where the user is written into `/etc/passwd`); numeric and built-in users on BusyBox.
//!
//! `multi-stage` has its own scenario (`go-multi-stage`, see
//! [`multi_stage_split_runs_the_same_and_is_smaller`]): a Go program built with Debian's Go
//! toolchain, split into a builder and a distroless runtime; both images must run the same
//! command with the same output, and the split one must be smaller.
//!
//! Each scenario's Dockerfile says in its first comment what it stands for. The scenarios
//! run one at a time (2 shared cores); each writes a one-line result, or the full story
//! (Dockerfiles before and after, dockfix's summary, build output, command outputs) when it
//! fails. `cargo test --test build_proof -- NAME` runs one.

mod build_support;

use std::path::Path;
use std::time::Instant;

use build_support::{dockfix_fix, loud, prepare_scenario, Container, Env, RunOutput};

/// The runtime image multi-stage picks for a static Go binary, as the split Dockerfile names
/// it (the harness serves a stand-in for it).
const DISTROLESS: &str = "gcr.io/distroless/static-debian12:nonroot";

/// The user the fixed image must run as.
#[derive(Debug, Clone, Copy)]
enum User {
    /// A named user that resolves inside (`id -un`); the UID when the test knows it.
    Named { name: &'static str, uid: Option<u32> },
    /// `USER uid:gid`, no passwd entry by design.
    Numeric { uid: u32 },
    /// non-root-user declines: the image starts as root by design.
    DeclinedRoot,
}

struct Expect {
    user: User,
    /// Whether `--select non-root-user` alone must change the file.
    non_root_user_changes: bool,
    /// Text the fixed Dockerfile must contain.
    fixed_contains: &'static [&'static str],
    /// Text the start command must print besides the scenario's `message.txt`.
    also_prints: &'static [&'static str],
    /// Words put before commands run inside (`/bin/busybox` in a scratch image).
    exec_prefix: &'static [&'static str],
    /// Extra `dockfix fix` arguments (`--user-name www-data`).
    dockfix_args: &'static [&'static str],
}

const DEFAULT: Expect = Expect {
    user: User::Named { name: "app", uid: Some(10001) },
    non_root_user_changes: true,
    fixed_contains: &["USER app\n"],
    also_prints: &[],
    exec_prefix: &[],
    dockfix_args: &[],
};

fn is_root(user: &str) -> bool {
    matches!(user.split(':').next().unwrap_or("").trim(), "" | "root" | "0")
}

/// Removes the scenario's images when it ends, however it ends.
struct Images<'a> {
    env: &'a Env,
    tags: Vec<String>,
}

impl Drop for Images<'_> {
    fn drop(&mut self) {
        for tag in &self.tags {
            self.env.remove_image(tag);
        }
    }
}

fn scenario(name: &str, expect: Expect) {
    let Some(env) = build_support::env() else {
        return;
    };
    let _serial = env.serialize();
    let started = Instant::now();
    let mut story = String::new();
    let result = run_scenario(env, name, &expect, &mut story);
    let seconds = started.elapsed().as_secs_f64();
    match result {
        Ok(summary) => loud(&format!("build-proof {name}: ok in {seconds:.0}s: {summary}")),
        Err(failures) => {
            loud(&format!("build-proof {name}: FAILED in {seconds:.0}s"));
            panic!("build-proof scenario `{name}` failed:\n- {}\n\n{story}", failures.join("\n- "));
        }
    }
}

/// Runs one scenario; `story` collects what happened for the failure message. `Ok` holds a
/// one-line summary, `Err` the failed checks.
fn run_scenario(env: &Env, name: &str, expect: &Expect, story: &mut String) -> Result<String, Vec<String>> {
    let fatal = |e: String| vec![e];
    let scenario = prepare_scenario(env, name).map_err(fatal)?;
    story.push_str(&format!("--- Dockerfile before\n{}\n", scenario.text));
    let mut prints = vec![message(name)];
    prints.extend(expect.also_prints.iter().map(|s| s.to_string()));
    let original_tag = format!("bp/{name}:original");
    let fixed_tag = format!("bp/{name}:fixed");
    let _images = Images { env, tags: vec![original_tag.clone(), fixed_tag.clone()] };

    // 1. The original builds and works.
    let t = Instant::now();
    env.build(&scenario.text, &scenario.context, &original_tag)
        .map_err(|e| fatal(format!("the ORIGINAL does not build (scenario or harness bug):\n{e}")))?;
    let original_build = t.elapsed().as_secs_f64();
    let start = env.start_command(&original_tag).map_err(fatal)?;
    let original = env.container(&original_tag).map_err(fatal)?;
    let run = run_start_command(&original, &start).map_err(fatal)?;
    if !run.ok() || !prints.iter().all(|s| run.stdout.contains(s.as_str())) {
        return Err(fatal(format!(
            "the ORIGINAL's start command {start:?} does not work (scenario or harness bug): {run}"
        )));
    }
    // What strip-setuid has to remove (the Debian base has su, passwd, mount, ...).
    let original_setuid = original.setuid_files().map_err(fatal)?.len();
    drop(original);

    // 2. dockfix.
    let fixed = dockfix_fix(&scenario.dockerfile, expect.dockfix_args).map_err(fatal)?;
    story
        .push_str(&format!("--- Dockerfile after\n{}\n--- dockfix summary\n{}\n", fixed.text, fixed.summary));
    let mut failures = Vec::new();
    let alone_args: Vec<&str> =
        ["--select", "non-root-user"].into_iter().chain(expect.dockfix_args.iter().copied()).collect();
    let alone = dockfix_fix(&scenario.dockerfile, &alone_args).map_err(fatal)?;
    match (expect.non_root_user_changes, alone.text != scenario.text) {
        (true, false) => failures
            .push(format!("non-root-user left the file unchanged; it said:\n{}", alone.summary.trim_end())),
        (false, true) => {
            failures.push(format!("non-root-user changed a file it must leave alone:\n{}", alone.text))
        }
        _ => {}
    }
    if before_final_stage(&fixed.text) != before_final_stage(&scenario.text) {
        failures.push("the fix changed a stage before the final one".into());
    }
    for text in expect.fixed_contains {
        if !fixed.text.contains(text) {
            failures.push(format!("the fixed Dockerfile lacks {text:?}"));
        }
    }

    // 3. The fixed file builds and runs as the user.
    let t = Instant::now();
    if let Err(e) = env.build(&fixed.text, &scenario.context, &fixed_tag) {
        failures.push("the FIXED Dockerfile does not build".into());
        story.push_str(&format!("--- build of the fixed Dockerfile\n{e}\n"));
        return Err(failures);
    }
    let fixed_build = t.elapsed().as_secs_f64();
    let config_user = env.config_user(&fixed_tag).map_err(fatal)?;
    let container = env.container(&fixed_tag).map_err(fatal)?;
    let in_image = |cmd: &[&str]| {
        let argv: Vec<&str> = expect.exec_prefix.iter().chain(cmd).copied().collect();
        container.run(&argv)
    };
    let uid = in_image(&["id", "-u"]).map_err(fatal)?;
    let uname = in_image(&["id", "-un"]).map_err(fatal)?;
    story
        .push_str(&format!("--- fixed image\nconfig User: {config_user:?}\nid -u: {uid}\nid -un: {uname}\n"));
    let uid_value: Option<u32> = uid.stdout.trim().parse().ok();
    if !uid.ok() || uid_value.is_none() {
        failures.push(format!("`id -u` does not work in the fixed image: {uid}"));
    }
    match expect.user {
        User::Named { name: user, uid: want_uid } => {
            if config_user != user {
                failures.push(format!("config User is {config_user:?}, expected {user:?}"));
            }
            if uid_value == Some(0) {
                failures.push("`id -u` is 0 in the fixed image".into());
            }
            if let (Some(want), Some(got)) = (want_uid, uid_value) {
                if want != got {
                    failures.push(format!("`id -u` is {got}, expected {want}"));
                }
            }
            if !uname.ok() || uname.stdout.trim() != user {
                failures.push(format!("the user does not resolve: `id -un`: {uname}"));
            }
        }
        User::Numeric { uid: want } => {
            if is_root(&config_user) || config_user != format!("{want}:{want}") {
                failures.push(format!("config User is {config_user:?}, expected \"{want}:{want}\""));
            }
            if uid_value != Some(want) {
                failures.push(format!("`id -u` is {:?}, expected {want}", uid.stdout.trim()));
            }
            // No passwd entry by design: `id -un` may fail; the numeric UID is what counts.
        }
        User::DeclinedRoot => {
            if !is_root(&config_user) {
                failures.push(format!("config User is {config_user:?}: the declined case must stay root"));
            }
            if uid_value != Some(0) {
                failures.push(format!(
                    "`id -u` is {:?}: the declined case must start as root",
                    uid.stdout.trim()
                ));
            }
        }
    }
    let start = env.start_command(&fixed_tag).map_err(fatal)?;
    let run = run_start_command(&container, &start).map_err(fatal)?;
    story.push_str(&format!("start command {start:?}: {run}\n"));
    if !run.ok() {
        failures.push(format!("the start command fails in the fixed image: {run}"));
    } else if let Some(missing) = prints.iter().find(|s| !run.stdout.contains(s.as_str())) {
        failures.push(format!("the start command did not print {missing:?}: {run}"));
    }
    let setuid = container.setuid_files().map_err(fatal)?;
    if !setuid.is_empty() {
        failures.push(format!("setuid/setgid files left: {setuid:?}"));
    }
    drop(container);
    if failures.is_empty() {
        Ok(format!(
            "User {config_user:?}, uid {}, name {}, setuid files {original_setuid} -> 0, builds {original_build:.0}s/{fixed_build:.0}s",
            uid.stdout.trim(),
            if uname.ok() { uname.stdout.trim() } else { "(none, numeric)" }
        ))
    } else {
        Err(failures)
    }
}

/// The text before the last `FROM` line: the stages a fix must not touch.
fn before_final_stage(text: &str) -> &str {
    let mut offset = 0;
    let mut last_from = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_start().to_ascii_uppercase().starts_with("FROM ") {
            last_from = offset;
        }
        offset += line.len();
    }
    &text[..last_from]
}

/// Runs the image's ENTRYPOINT + CMD in `container`.
fn run_start_command(container: &Container, start: &[String]) -> Result<RunOutput, String> {
    if start.is_empty() {
        return Err("the image has neither ENTRYPOINT nor CMD".into());
    }
    let argv: Vec<&str> = start.iter().map(String::as_str).collect();
    container.run(&argv)
}

fn message(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/build_scenarios").join(name);
    ["message.txt", "state/message.txt"]
        .iter()
        .find_map(|file| std::fs::read_to_string(path.join(file)).ok())
        .unwrap_or_else(|| panic!("{}: no message.txt", path.display()))
        .trim()
        .to_string()
}

#[test]
fn debian_single_stage_creates_a_user() {
    scenario("debian-single", DEFAULT);
}

#[test]
fn multi_stage_keeps_the_root_builder() {
    scenario("multi-stage-root-builder", DEFAULT);
}

#[test]
fn existing_non_root_user_stays() {
    scenario(
        "existing-user",
        Expect {
            user: User::Named { name: "svc", uid: None },
            non_root_user_changes: false,
            fixed_contains: &["USER svc\n"],
            ..DEFAULT
        },
    );
}

#[test]
fn built_in_user_of_the_base() {
    scenario(
        "builtin-user",
        Expect {
            user: User::Named { name: "node", uid: Some(1000) },
            fixed_contains: &["USER node\n"],
            ..DEFAULT
        },
    );
}

#[test]
fn scratch_gets_a_numeric_user() {
    scenario(
        "scratch-numeric",
        Expect {
            user: User::Numeric { uid: 65532 },
            fixed_contains: &["USER 65532:65532\n"],
            exec_prefix: &["/bin/busybox"],
            ..DEFAULT
        },
    );
}

#[test]
fn unknown_base_gets_a_numeric_user() {
    scenario(
        "unknown-base-numeric",
        Expect { user: User::Numeric { uid: 65532 }, fixed_contains: &["USER 65532:65532\n"], ..DEFAULT },
    );
}

#[test]
fn copied_files_are_owned_by_the_user() {
    scenario("copy-chown", DEFAULT);
}

#[test]
fn workdir_the_app_writes_to() {
    scenario("workdir-writes", DEFAULT);
}

#[test]
fn workdir_declared_after_the_last_copy() {
    scenario("workdir-after-copy", DEFAULT);
}

#[test]
fn workdir_under_var_lib() {
    scenario("workdir-var-lib", DEFAULT);
}

#[test]
fn inherited_stage_gives_the_distro() {
    scenario("inherited-stage", DEFAULT);
}

#[test]
fn privilege_dropping_entrypoint_is_declined() {
    scenario(
        "declined-gosu",
        Expect {
            user: User::DeclinedRoot,
            non_root_user_changes: false,
            fixed_contains: &[],
            also_prints: &["running as app"],
            ..DEFAULT
        },
    );
}

// ---------------------------------------------------------------------------------------------
// env-secrets
// ---------------------------------------------------------------------------------------------

/// The literal values in `tests/build_scenarios/secret-build-time/Dockerfile`.
const LEAKED_TOKEN: &str = "build-token-0123456789abcdef";
const LEAKED_PASSWORD: &str = "runtime-password-abcdef";
/// The rotated token the fixed build gets as a build secret.
const ROTATED_TOKEN: &str = "rotated-token-fedcba9876543210";

/// env-secrets, built for real: the original leaks both values into the image (the check can
/// see a leak); the fixed file builds with the token passed as a build secret, its RUN sees
/// the token (it stores the token's SHA-256), and neither value is anywhere in the image's
/// config or history, nor is the secret file left in the image.
///
/// The default mode writes `--mount=type=secret,...,env=NAME`. buildah before 1.3x rejects
/// `env=` ("secret should have syntax id=id[,target=path,...]"); when it does, the test says
/// so loudly and proves the `--secrets file` form (`target`-less file mount read into the
/// variable) instead, which is what such builders need.
#[test]
fn secrets_leave_the_image() {
    let Some(env) = build_support::env() else {
        return;
    };
    let _serial = env.serialize();
    let started = Instant::now();
    let mut story = String::new();
    match secret_scenario(env, &mut story) {
        Ok(summary) => loud(&format!(
            "build-proof secret-build-time: ok in {:.0}s: {summary}",
            started.elapsed().as_secs_f64()
        )),
        Err(failure) => panic!("build-proof scenario `secret-build-time` failed: {failure}\n\n{story}"),
    }
}

fn secret_scenario(env: &Env, story: &mut String) -> Result<String, String> {
    let name = "secret-build-time";
    let scenario = prepare_scenario(env, name)?;
    let tags = ["bp/secret:original", "bp/secret:default", "bp/secret:env"].map(String::from);
    let _images = Images { env, tags: tags.to_vec() };

    env.build(&scenario.text, &scenario.context, &tags[0])
        .map_err(|e| format!("the ORIGINAL does not build (scenario or harness bug):\n{e}"))?;
    let original = env.inspect(&tags[0])?.to_string();
    if !(original.contains(LEAKED_TOKEN) && original.contains(LEAKED_PASSWORD)) {
        return Err(
            "the original image does not show the literal values: the leak check below could not see a leak"
                .into(),
        );
    }

    let secret_flag = ["--secret", "id=api-token,env=API_TOKEN"];
    let secret_env = [("API_TOKEN", ROTATED_TOKEN)];
    let mut proven = Vec::new();
    // The default (a file mount the RUN reads, no `# syntax=` directive) must build with
    // buildah; `--secrets env` is checked where this buildah knows `env=`.
    for (mode, tag) in [("default", &tags[1]), ("env", &tags[2])] {
        let args: &[&str] = if mode == "env" {
            &["--select", "env-secrets", "--secrets", "env"]
        } else {
            &["--select", "env-secrets"]
        };
        let fixed = dockfix_fix(&scenario.dockerfile, args)?;
        story.push_str(&format!(
            "--- Dockerfile after --secrets {mode}\n{}\n--- dockfix\n{}\n",
            fixed.text, fixed.summary
        ));
        let expected_flag = if mode == "env" {
            "--mount=type=secret,id=api-token,env=API_TOKEN"
        } else {
            "--mount=type=secret,id=api-token export API_TOKEN=\"$(cat /run/secrets/api-token)\" && "
        };
        if mode == "default" && fixed.text.contains("# syntax=") {
            return Err(
                "the default form added a `# syntax=` directive, which builders must then pull".into()
            );
        }
        if !fixed.text.contains(expected_flag) {
            return Err(format!("--secrets {mode}: the fixed file lacks `{expected_flag}`"));
        }
        if fixed.text.contains(LEAKED_TOKEN) || fixed.text.contains(LEAKED_PASSWORD) {
            return Err(format!("--secrets {mode}: a literal value is still in the fixed file"));
        }
        if !fixed.summary.contains("docker build --secret id=api-token,env=API_TOKEN") {
            return Err(format!("--secrets {mode}: the summary does not give the build command"));
        }
        match env.build_with(&fixed.text, &scenario.context, tag, &secret_flag, &secret_env) {
            Ok(_) => {}
            Err(output) if mode == "env" && output.contains("secret should have syntax") => {
                let version = env.buildah_out(&["--version"]).unwrap_or_default();
                loud(&format!(
                    "\n*** build-proof secret-build-time: {version} cannot build `env=` secret mounts (--secrets env); the default file form is proven ***\n"
                ));
                continue;
            }
            Err(output) => return Err(format!("--secrets {mode}: the fixed file does not build:\n{output}")),
        }
        let inspect = env.inspect(tag)?.to_string();
        for (what, value) in
            [("token", LEAKED_TOKEN), ("rotated token", ROTATED_TOKEN), ("password", LEAKED_PASSWORD)]
        {
            if inspect.contains(value) {
                return Err(format!("--secrets {mode}: the {what} is in the image's config or history"));
            }
        }
        let container = env.container(tag)?;
        let seen = container.run(&["cat", "/opt/app/token.sha256"])?;
        let expected = sha256_hex(ROTATED_TOKEN)?;
        if seen.stdout.trim() != expected {
            return Err(format!(
                "--secrets {mode}: the RUN did not see the build secret (stored hash {:?}, expected {expected})",
                seen.stdout.trim()
            ));
        }
        let leftover = container.run(&["sh", "-c", "ls -A /run/secrets 2>/dev/null; env"])?;
        if leftover.stdout.contains("api-token")
            || leftover.stdout.contains("API_TOKEN")
            || leftover.stdout.contains("ADMIN_PASSWORD")
        {
            return Err(format!("--secrets {mode}: the container still has the secret: {}", leftover.stdout));
        }
        // The layers: no file of the image holds the value (the RUN kept it in its environment).
        // `searched` last: the run prints something even when grep finds nothing (see
        // `Container::run`), and a lost output is not taken for a clean image.
        let search = format!(
            "grep -rlsF --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev -e '{ROTATED_TOKEN}' /; echo searched"
        );
        let searched = container.run(&["sh", "-c", &search])?;
        let files_with_value: Vec<&str> =
            searched.stdout.lines().filter(|line| !line.trim().is_empty() && *line != "searched").collect();
        if !searched.stdout.contains("searched") || !files_with_value.is_empty() {
            return Err(format!(
                "--secrets {mode}: the value is in the image's files (or the search failed): {:?}",
                searched.stdout
            ));
        }
        proven.push(mode);
    }
    if !proven.contains(&"default") {
        return Err("the default secrets form was not built".into());
    }
    Ok(format!("built and checked with --secrets {}", proven.join(", ")))
}

/// SHA-256 of `text` in hex, by the host's `sha256sum`.
fn sha256_hex(text: &str) -> Result<String, String> {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("sha256sum: {e}"))?;
    child.stdin.take().ok_or("sha256sum stdin")?.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let hex = String::from_utf8_lossy(&out.stdout);
    Ok(hex.split_whitespace().next().unwrap_or_default().to_string())
}

// ---------------------------------------------------------------------------------------------
// multi-stage
// ---------------------------------------------------------------------------------------------

#[test]
fn multi_stage_split_runs_the_same_and_is_smaller() {
    let name = "go-multi-stage";
    let Some(env) = build_support::env() else {
        return;
    };
    let _serial = env.serialize();
    let started = Instant::now();
    let mut story = String::new();
    let result = run_multi_stage(env, name, &mut story);
    let seconds = started.elapsed().as_secs_f64();
    match result {
        Ok(summary) => loud(&format!("build-proof {name}: ok in {seconds:.0}s: {summary}")),
        Err(failures) => {
            loud(&format!("build-proof {name}: FAILED in {seconds:.0}s"));
            panic!("build-proof scenario `{name}` failed:\n- {}\n\n{story}", failures.join("\n- "));
        }
    }
}

/// Builds the original and the split Dockerfile of a multi-stage scenario, runs both start
/// commands and compares outputs and sizes.
fn run_multi_stage(env: &Env, name: &str, story: &mut String) -> Result<String, Vec<String>> {
    let fatal = |e: String| vec![e];
    env.go_images().map_err(|e| fatal(format!("cannot make the Go images: {e}")))?;
    let scenario = prepare_scenario(env, name).map_err(fatal)?;
    story.push_str(&format!("--- Dockerfile before\n{}\n", scenario.text));
    let original_tag = format!("bp/{name}:original");
    let split_tag = format!("bp/{name}:split");
    let _images = Images { env, tags: vec![original_tag.clone(), split_tag.clone()] };

    // 1. The original builds and prints the message.
    let t = Instant::now();
    env.build(&scenario.text, &scenario.context, &original_tag)
        .map_err(|e| fatal(format!("the ORIGINAL does not build (scenario or harness bug):\n{e}")))?;
    let original_build = t.elapsed().as_secs_f64();
    let start = env.start_command(&original_tag).map_err(fatal)?;
    let original = env.container(&original_tag).map_err(fatal)?;
    let original_run = run_start_command(&original, &start).map_err(fatal)?;
    let original_bytes = original.bytes().map_err(fatal)?;
    drop(original);
    story.push_str(&format!("original start command {start:?}: {original_run}\n"));
    if !original_run.ok() || !original_run.stdout.contains(&message(name)) {
        return Err(fatal(format!(
            "the ORIGINAL's start command does not work (scenario or harness bug): {original_run}"
        )));
    }

    // 2. dockfix splits it; with the other final-stage transforms, nothing more changes
    //    (distroless `:nonroot` runs as non-root already and has no shell for a RUN).
    let split = dockfix_fix(&scenario.dockerfile, &["--select", "multi-stage"]).map_err(fatal)?;
    story
        .push_str(&format!("--- Dockerfile after\n{}\n--- dockfix summary\n{}\n", split.text, split.summary));
    let mut failures = Vec::new();
    let from = scenario.text.lines().find(|l| l.starts_with("FROM ")).unwrap_or_default();
    for expected in [
        format!("{from} AS builder\n"),
        format!("\nFROM {DISTROLESS}\nWORKDIR /src\nCOPY --from=builder /out/hello /out/hello\n"),
    ] {
        if !split.text.contains(&expected) {
            failures.push(format!("the split Dockerfile lacks {expected:?}"));
        }
    }
    let all = dockfix_fix(&scenario.dockerfile, &["--select", "multi-stage,non-root-user,strip-setuid"])
        .map_err(fatal)?;
    if all.text != split.text {
        failures.push(format!("with non-root-user and strip-setuid the result differs:\n{}", all.text));
    }

    // 3. The split builds, starts the same command, prints the same, and is smaller.
    let t = Instant::now();
    if let Err(e) = env.build(&split.text, &scenario.context, &split_tag) {
        failures.push("the SPLIT Dockerfile does not build".into());
        story.push_str(&format!("--- build of the split Dockerfile\n{e}\n"));
        return Err(failures);
    }
    let split_build = t.elapsed().as_secs_f64();
    let split_start = env.start_command(&split_tag).map_err(fatal)?;
    if split_start != start {
        failures.push(format!("the start command changed: {start:?} -> {split_start:?}"));
    }
    let split_container = env.container(&split_tag).map_err(fatal)?;
    let split_run = run_start_command(&split_container, &split_start).map_err(fatal)?;
    let split_bytes = split_container.bytes().map_err(fatal)?;
    drop(split_container);
    story.push_str(&format!("split start command {split_start:?}: {split_run}\n"));
    if (split_run.status, &split_run.stdout) != (original_run.status, &original_run.stdout) {
        failures.push(format!("the split image runs differently: {split_run}, the original: {original_run}"));
    }
    let user = env.config_user(&split_tag).map_err(fatal)?;
    if user != "65532" {
        failures.push(format!("the split image runs as {user:?}, not distroless' nonroot 65532"));
    }
    if split_bytes >= original_bytes {
        failures.push(format!(
            "the split image is not smaller: {split_bytes} bytes, the original {original_bytes}"
        ));
    }
    if !failures.is_empty() {
        return Err(failures);
    }
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    Ok(format!(
        "same output {:?}; {:.1} MiB -> {:.1} MiB; builds {original_build:.0}s/{split_build:.0}s",
        split_run.stdout.trim(),
        mib(original_bytes),
        mib(split_bytes)
    ))
}

// ---- strip-setuid ----

/// The strip as dockfix wrote it before it checked its own work: run as whoever the stage
/// runs as, every failure hidden. The control the base-user scenario compares with.
const UNCHECKED_STRIP: &str = "RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} + || true\n";

/// A base image whose own config runs as a non-root user (`jenkins/jenkins`, which dockfix's
/// tables know as running as `jenkins`): the strip must run as root and give the image back
/// to `jenkins`. The unchecked strip of before, run as `jenkins`, leaves every bit in place.
#[test]
fn strip_setuid_switches_to_root_under_a_non_root_base() {
    let Some(env) = build_support::env() else {
        return;
    };
    let _serial = env.serialize();
    let name = "setuid-base-non-root";
    let started = Instant::now();
    let mut story = String::new();
    match strip_under_non_root_base(env, name, &mut story) {
        Ok(summary) => {
            loud(&format!("build-proof {name}: ok in {:.0}s: {summary}", started.elapsed().as_secs_f64()))
        }
        Err(failures) => {
            panic!("build-proof scenario `{name}` failed:\n- {}\n\n{story}", failures.join("\n- "))
        }
    }
}

fn strip_under_non_root_base(env: &Env, name: &str, story: &mut String) -> Result<String, Vec<String>> {
    let fatal = |e: String| vec![e];
    // The stand-in base: Debian (su, passwd, mount, ... are setuid) plus one setuid file of
    // its own, running as `jenkins`, served by the registry under the name dockfix knows.
    let base_tag = "bp/jenkins-standin:lts";
    let base_file = format!(
        "FROM {}\nRUN useradd --create-home --uid 1000 jenkins && cp /bin/true /usr/local/bin/helper && chmod 4755 /usr/local/bin/helper\nUSER jenkins\n",
        env.image(build_support::DEBIAN)
    );
    let scenario = prepare_scenario(env, name).map_err(fatal)?;
    let (original_tag, unchecked_tag, fixed_tag) =
        (format!("bp/{name}:original"), format!("bp/{name}:unchecked"), format!("bp/{name}:fixed"));
    let _images = Images {
        env,
        tags: vec![base_tag.to_string(), original_tag.clone(), unchecked_tag.clone(), fixed_tag.clone()],
    };
    env.build(&base_file, &scenario.context, base_tag).map_err(fatal)?;
    let pushed = format!("docker://{}", env.image("jenkins/jenkins:lts"));
    env.buildah_out(&["push", "--tls-verify=false", &format!("localhost/{base_tag}"), &pushed])
        .map_err(fatal)?;
    story.push_str(&format!("--- Dockerfile before\n{}\n", scenario.text));

    env.build(&scenario.text, &scenario.context, &original_tag)
        .map_err(|e| fatal(format!("the ORIGINAL does not build (scenario or harness bug):\n{e}")))?;
    let original_setuid = env.setuid_files(&original_tag).map_err(fatal)?;
    if !original_setuid.iter().any(|file| file == "/usr/local/bin/helper") {
        return Err(fatal(format!("the base's own setuid file is missing: {original_setuid:?}")));
    }

    let mut failures = Vec::new();
    let unchecked = format!("{}{UNCHECKED_STRIP}", scenario.text);
    env.build(&unchecked, &scenario.context, &unchecked_tag).map_err(fatal)?;
    let unchecked_left = env.setuid_files(&unchecked_tag).map_err(fatal)?;
    if unchecked_left.len() != original_setuid.len() {
        failures.push(format!(
            "control: the unchecked strip run as jenkins was expected to strip nothing, it left {unchecked_left:?} of {original_setuid:?}"
        ));
    }

    let fixed = dockfix_fix(&scenario.dockerfile, &["--select", "strip-setuid"]).map_err(fatal)?;
    story
        .push_str(&format!("--- Dockerfile after\n{}\n--- dockfix summary\n{}\n", fixed.text, fixed.summary));
    for wanted in ["USER root\nRUN find / ", "USER jenkins\nCMD"] {
        if !fixed.text.contains(wanted) {
            failures.push(format!("the fixed Dockerfile lacks {wanted:?}"));
        }
    }
    if let Err(e) = env.build(&fixed.text, &scenario.context, &fixed_tag) {
        failures.push("the FIXED Dockerfile does not build".into());
        story.push_str(&format!("--- build of the fixed Dockerfile\n{e}\n"));
        return Err(failures);
    }
    let config_user = env.config_user(&fixed_tag).map_err(fatal)?;
    if config_user != "jenkins" {
        failures.push(format!("config User is {config_user:?}, expected the base's \"jenkins\""));
    }
    let container = env.container(&fixed_tag).map_err(fatal)?;
    let uname = container.run(&["id", "-un"]).map_err(fatal)?;
    if uname.stdout.trim() != "jenkins" {
        failures.push(format!("the image does not run as jenkins: `id -un`: {uname}"));
    }
    let start = env.start_command(&fixed_tag).map_err(fatal)?;
    let run = run_start_command(&container, &start).map_err(fatal)?;
    if !run.ok() || !run.stdout.contains(&message(name)) {
        failures.push(format!("the start command {start:?} does not work: {run}"));
    }
    let left = container.setuid_files().map_err(fatal)?;
    if !left.is_empty() {
        failures.push(format!("setuid/setgid files left: {left:?}"));
    }
    if !failures.is_empty() {
        return Err(failures);
    }
    Ok(format!(
        "User {config_user:?}; setuid files {} -> 0 (the unchecked strip as jenkins: {} left)",
        original_setuid.len(),
        unchecked_left.len()
    ))
}

/// A user that runs its command through `sudo` with a sudoers NOPASSWD entry: the strip keeps
/// sudo's setuid bit (and only that one), and the command still works.
#[test]
fn strip_setuid_keeps_sudo_for_a_sudoers_design() {
    let Some(env) = build_support::env() else {
        return;
    };
    let _serial = env.serialize();
    let name = "setuid-sudoers-cmd";
    let started = Instant::now();
    let mut story = String::new();
    match strip_keeping_sudo(env, name, &mut story) {
        Ok(summary) => {
            loud(&format!("build-proof {name}: ok in {:.0}s: {summary}", started.elapsed().as_secs_f64()))
        }
        Err(failures) => {
            panic!("build-proof scenario `{name}` failed:\n- {}\n\n{story}", failures.join("\n- "))
        }
    }
}

fn strip_keeping_sudo(env: &Env, name: &str, story: &mut String) -> Result<String, Vec<String>> {
    let fatal = |e: String| vec![e];
    let scenario = prepare_scenario(env, name).map_err(fatal)?;
    let deb = sudo_deb().map_err(fatal)?;
    std::fs::copy(&deb, scenario.context.join("sudo.deb"))
        .map_err(|e| fatal(format!("{}: {e}", deb.display())))?;
    story.push_str(&format!("--- Dockerfile before\n{}\n", scenario.text));
    let (original_tag, fixed_tag) = (format!("bp/{name}:original"), format!("bp/{name}:fixed"));
    let _images = Images { env, tags: vec![original_tag.clone(), fixed_tag.clone()] };

    env.build(&scenario.text, &scenario.context, &original_tag)
        .map_err(|e| fatal(format!("the ORIGINAL does not build (scenario or harness bug):\n{e}")))?;
    let start = env.start_command(&original_tag).map_err(fatal)?;
    let original = env.container(&original_tag).map_err(fatal)?;
    let run = run_start_command(&original, &start).map_err(fatal)?;
    if !run.ok() || !run.stdout.contains(&message(name)) {
        return Err(fatal(format!(
            "the ORIGINAL's start command {start:?} does not work (scenario or harness bug): {run}"
        )));
    }
    let original_setuid = original.setuid_files().map_err(fatal)?;
    drop(original);

    let mut failures = Vec::new();
    let fixed = dockfix_fix(&scenario.dockerfile, &["--select", "strip-setuid"]).map_err(fatal)?;
    story
        .push_str(&format!("--- Dockerfile after\n{}\n--- dockfix summary\n{}\n", fixed.text, fixed.summary));
    if !fixed.text.contains("! -name sudo") {
        failures.push("the fixed Dockerfile does not keep sudo".into());
    }
    if !fixed.summary.contains("keeps the setuid bit of `sudo`") {
        failures.push("the finding does not say it keeps sudo".into());
    }
    if let Err(e) = env.build(&fixed.text, &scenario.context, &fixed_tag) {
        failures.push("the FIXED Dockerfile does not build".into());
        story.push_str(&format!("--- build of the fixed Dockerfile\n{e}\n"));
        return Err(failures);
    }
    let config_user = env.config_user(&fixed_tag).map_err(fatal)?;
    if config_user != "app" {
        failures.push(format!("config User is {config_user:?}, expected \"app\""));
    }
    let container = env.container(&fixed_tag).map_err(fatal)?;
    let run = run_start_command(&container, &start).map_err(fatal)?;
    story.push_str(&format!("start command {start:?}: {run}\n"));
    if !run.ok() || !run.stdout.contains(&message(name)) {
        failures.push(format!("the sudo CMD fails after the strip: {run}"));
    }
    let left = container.setuid_files().map_err(fatal)?;
    if left != ["/usr/bin/sudo"] {
        failures.push(format!("expected only /usr/bin/sudo to keep its bit, found {left:?}"));
    }
    if !failures.is_empty() {
        return Err(failures);
    }
    Ok(format!("setuid files {} -> {left:?}; the sudo CMD still prints its message", original_setuid.len()))
}

/// Debian 12's `sudo` package, from the cache or fetched with `apt-get download` (the host's
/// apt lists must be bookworm's, as for the harness's Go images).
fn sudo_deb() -> Result<std::path::PathBuf, String> {
    let dir = build_support::cache_dir().join("sudo-deb");
    let find = |dir: &Path| {
        std::fs::read_dir(dir).ok()?.filter_map(|entry| entry.ok().map(|entry| entry.path())).find(|path| {
            path.extension().is_some_and(|ext| ext == "deb")
                && path.file_name().is_some_and(|name| name.to_string_lossy().starts_with("sudo_"))
        })
    };
    if let Some(deb) = find(&dir) {
        return Ok(deb);
    }
    // Fetched aside and renamed, so that a half-done download is never taken for the cache.
    let partial = build_support::cache_dir().join(format!("sudo-deb.{}.partial", std::process::id()));
    std::fs::create_dir_all(&partial).map_err(|e| format!("{}: {e}", partial.display()))?;
    let out = std::process::Command::new("apt-get")
        .args(["download", "sudo"])
        .current_dir(&partial)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run apt-get: {e}"))?;
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(format!(
            "cannot fetch Debian's sudo (apt-get update first?): {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    std::fs::rename(&partial, &dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    find(&dir).ok_or_else(|| format!("apt-get download sudo left no sudo_*.deb in {}", dir.display()))
}

// ---- non-root-user: when to decline (H1) ----

/// Pushes a locally built image (`localhost/TAG`) to the harness's registry as
/// `REGISTRY/NAME`, so that a Dockerfile can name it in `FROM` as it would a published base.
fn h1_push(env: &Env, tag: &str, name: &str) -> Result<String, String> {
    let target = env.image(name);
    env.buildah_out(&[
        "push",
        "--quiet",
        "--disable-compression",
        "--tls-verify=false",
        &format!("localhost/{tag}"),
        &format!("docker://{target}"),
    ])?;
    Ok(target)
}

/// A base image for other images (no CMD, toolchain ENV) is left alone, and an image built
/// FROM the original does root work (creates a user, writes under /usr) and builds. The same
/// base with the `USER` dockfix used to add makes that child build fail: the decline is what
/// keeps the images built from it working.
#[test]
fn h1_base_image_without_cmd_is_left_to_the_images_built_from_it() {
    let Some(env) = build_support::env() else {
        return;
    };
    let _serial = env.serialize();
    let name = "h1-toolchain-base";
    let mut story = String::new();
    let result = (|| -> Result<String, String> {
        let scenario = prepare_scenario(env, name)?;
        story.push_str(&format!("--- base Dockerfile\n{}\n", scenario.text));
        let alone = dockfix_fix(&scenario.dockerfile, &["--select", "non-root-user"])?;
        story.push_str(&format!("--- dockfix summary\n{}\n", alone.summary));
        if alone.text != scenario.text {
            return Err(format!("non-root-user changed the base image:\n{}", alone.text));
        }
        if !alone.summary.contains("base for other images") || !alone.summary.contains("toolchain ENV") {
            return Err("the summary does not say why the base was left alone".into());
        }
        let base_tag = format!("bp/{name}:original");
        let with_user_tag = format!("bp/{name}:with-user");
        let child_tag = format!("bp/{name}:child");
        let broken_child_tag = format!("bp/{name}:broken-child");
        let _images = Images {
            env,
            tags: vec![base_tag.clone(), with_user_tag.clone(), child_tag.clone(), broken_child_tag.clone()],
        };
        env.build(&scenario.text, &scenario.context, &base_tag)?;
        let base = h1_push(env, &base_tag, "bp/h1-toolchain-base:original")?;
        let child_template =
            std::fs::read_to_string(scenario.context.join("Child.Dockerfile")).map_err(|e| e.to_string())?;
        let child = child_template.replace("{{BASE}}", &base);
        env.build(&child, &scenario.context, &child_tag)
            .map_err(|e| format!("the child of the base dockfix left alone does not build:\n{e}"))?;
        let start = env.start_command(&child_tag)?;
        let container = env.container(&child_tag)?;
        let run = run_start_command(&container, &start)?;
        drop(container);
        if !run.ok() || !run.stdout.contains(&message(name)) {
            return Err(format!("the child's start command does not work: {run}"));
        }
        // What dockfix did before: a user created in the base and `USER` at its end.
        let with_user = format!(
            "{}RUN groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid app --no-log-init --create-home app\nUSER app\n",
            scenario.text
        );
        env.build(&with_user, &scenario.context, &with_user_tag)?;
        let based_on_user = h1_push(env, &with_user_tag, "bp/h1-toolchain-base:with-user")?;
        let broken = child_template.replace("{{BASE}}", &based_on_user);
        match env.build(&broken, &scenario.context, &broken_child_tag) {
            Ok(()) => Err("the child of the base with USER app built: the scenario shows nothing".into()),
            Err(_) => Ok(format!(
                "base untouched; child builds and prints {:?}; with USER app in the base the child fails",
                run.stdout.trim()
            )),
        }
    })();
    match result {
        Ok(summary) => loud(&format!("build-proof {name}: ok: {summary}")),
        Err(failure) => panic!("build-proof `{name}` failed: {failure}\n\n{story}"),
    }
}

/// An ENTRYPOINT script from the build context that chowns a directory and drops privileges
/// with `setpriv`: with the build context, non-root-user reads the script and declines, and
/// the original runs (as `app`, after root prepared the directory). Without the context it
/// declines too (a user created and never switched to, a script it could not read), and the
/// image with the `USER app` such a fix would add fails at start.
#[test]
fn h1_setpriv_entrypoint_script_is_read_and_declined() {
    let Some(env) = build_support::env() else {
        return;
    };
    let _serial = env.serialize();
    let name = "h1-setpriv-entrypoint";
    let mut story = String::new();
    let result = (|| -> Result<String, String> {
        let scenario = prepare_scenario(env, name)?;
        story.push_str(&format!("--- Dockerfile\n{}\n", scenario.text));
        let context = scenario.context.to_string_lossy().into_owned();
        let declined =
            dockfix_fix(&scenario.dockerfile, &["--select", "non-root-user", "--context", &context])?;
        story.push_str(&format!("--- dockfix summary (with the context)\n{}\n", declined.summary));
        if declined.text != scenario.text {
            return Err(format!(
                "non-root-user changed the file although its entrypoint drops privileges:\n{}",
                declined.text
            ));
        }
        if !declined.summary.contains("drops privileges with `setpriv`") {
            return Err("the summary does not name the script's setpriv".into());
        }
        let original_tag = format!("bp/{name}:original");
        let unchecked_tag = format!("bp/{name}:unchecked");
        let _images = Images { env, tags: vec![original_tag.clone(), unchecked_tag.clone()] };
        env.build(&scenario.text, &scenario.context, &original_tag)?;
        let start = env.start_command(&original_tag)?;
        let container = env.container(&original_tag)?;
        let run = run_start_command(&container, &start)?;
        drop(container);
        if !run.ok()
            || !run.stdout.contains(&message(name))
            || !run.stdout.contains("running as app, data owned by app")
        {
            return Err(format!("the original does not run as designed: {run}"));
        }
        // Without the build context (the Dockerfile alone, as from stdin): the file creates
        // `app` and never switches to it, and starts a script dockfix cannot read: declined.
        let unchecked = dockfix_fix(&scenario.dockerfile, &["--select", "non-root-user"])?;
        story.push_str(&format!("--- without the context\n{}\n{}\n", unchecked.text, unchecked.summary));
        if unchecked.text != scenario.text
            || !unchecked.summary.contains("could not be read from the build context")
        {
            return Err("without the context the fix should be declined, naming the unread script".into());
        }
        // What that decline prevents: the `USER app` a fix without the check would add.
        let forced = scenario.text.replacen("ENTRYPOINT [", "USER app\nENTRYPOINT [", 1);
        story.push_str(&format!("--- with USER app added by hand\n{forced}\n"));
        env.build(&forced, &scenario.context, &unchecked_tag)?;
        let container = env.container(&unchecked_tag)?;
        let broken = run_start_command(&container, &env.start_command(&unchecked_tag)?)?;
        drop(container);
        story.push_str(&format!("--- with USER app it runs: {broken}\n"));
        if broken.ok() {
            return Err(format!("the image with USER added still starts: {broken}"));
        }
        Ok(format!(
            "declined with and without the context; original prints {:?}; with USER app added it fails at start",
            run.stdout.trim()
        ))
    })();
    match result {
        Ok(summary) => loud(&format!("build-proof {name}: ok: {summary}")),
        Err(failure) => panic!("build-proof `{name}` failed: {failure}\n\n{story}"),
    }
}

// ---- non-root-user: who to run as, and how ----

#[test]
fn a_user_the_base_has_is_switched_to_not_created() {
    scenario(
        "existing-system-user",
        Expect {
            user: User::Named { name: "www-data", uid: Some(33) },
            fixed_contains: &["USER www-data\n"],
            dockfix_args: &["--user-name", "www-data"],
            ..DEFAULT
        },
    );
}

#[test]
fn busybox_without_user_applets_still_gets_a_named_user() {
    scenario(
        "busybox-without-applets",
        Expect { fixed_contains: &["USER app\n", ">> /etc/passwd"], also_prints: &["home ok"], ..DEFAULT },
    );
}

#[test]
fn the_process_writes_its_volume() {
    // Declared above the last RUN: given numerically by a RUN above the VOLUME (buildah keeps
    // nothing a later RUN changes in a volume: giving it after the VOLUME was measured to fail).
    scenario(
        "volume-writes",
        Expect {
            fixed_contains: &["RUN mkdir -p /data/db && chown 10001:10001 /data/db\nVOLUME /data/db\n"],
            ..DEFAULT
        },
    );
}
