//! Rust: `cargo build` and `cargo install`, and a Debian or Alpine runtime for the binary.

use super::outputs::{follow_copies, guessed_artifact, started_artifact, Output, Produced};
use super::{binary_plan, native_runtime, Ecosystem::Rust, Packages, Plan, StageView};
use crate::semantic::shell::{path, Command};

/// `$CARGO_HOME` of the rust images (`ENV CARGO_HOME` in docker-library/rust).
const CARGO_HOME: &str = "/usr/local/cargo";

/// `cargo build` and `cargo install` options that take a value (The Cargo Book:
/// cargo-build(1), cargo-install(1)).
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

pub(super) fn plan(view: &StageView) -> Option<Plan> {
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
