//! Go: `go build` and `go install`, and a distroless or Debian runtime for the binary.

use super::outputs::{follow_copies, guessed_artifact, started_artifact, Output, Produced};
use super::{binary_plan, native_runtime, Ecosystem::Go, Packages, Plan, Runtime, RuntimeKind, StageView};
use crate::semantic::shell::{path, Command};

/// `$GOPATH` of the golang images (`ENV GOPATH /go` in docker-library/golang).
const GOPATH: &str = "/go";

/// The runtime of a static Go binary whose start command needs no shell.
const STATIC_RUNTIME: &str = "gcr.io/distroless/static-debian12:nonroot";
/// The runtime of a static binary whose start command needs a shell.
const STATIC_SHELL_RUNTIME: &str = "debian:bookworm-slim";

/// `go build` flags that take a value (`go help build`; `go install` takes the same).
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

pub(super) fn plan(view: &StageView) -> Option<Plan> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_package_names() {
        assert_eq!(package_name("./cmd/server"), Some("server"));
        assert_eq!(package_name("example.com/app/v2"), Some("app"));
        assert_eq!(package_name("./v2/"), None);
        assert_eq!(package_name("."), None);
    }
}
