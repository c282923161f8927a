//! Python: packages compiled by pip into a virtualenv, copied with the application into a
//! slim `python` runtime.

use super::{
    slim_variant, Artifact, Ecosystem::Python, Line, Packages, Plan, Runtime, RuntimeKind, StageView,
};
use crate::rules::multi_stage::view::substitute;
use crate::semantic::shell::{path, Command};

/// Where the Python recipe puts the virtualenv.
const VENV: &str = "/opt/venv";

/// Python installers other than pip; dockfix does not know where they install.
const OTHER_PYTHON_INSTALLERS: &[&str] = &["poetry", "pipenv", "uv", "conda", "mamba", "pdm"];

/// `pip install ...`, `pip3 install`, `python -m pip install`: the program as written.
fn pip_install(command: &Command) -> Option<(&str, &[String])> {
    let program = command.path.as_str();
    let name = path::basename(program);
    let args: &[String] = &command.args;
    if name.starts_with("pip") {
        // Options may come first: `pip --no-cache-dir install`.
        let (at, sub) = command.subcommand()?;
        return (sub == "install").then(|| (program, &args[at + 1..]));
    }
    let module = name.starts_with("python") && args.len() >= 3 && args[0] == "-m" && args[1] == "pip";
    (module && args[2] == "install").then(|| (program, &args[3..]))
}

/// `python -m venv DIR` or `virtualenv DIR`: the directory as written.
fn creates_venv(command: &Command) -> Option<&str> {
    let program = path::basename(&command.path);
    let args: &[String] = &command.args;
    let rest = if program == "virtualenv" {
        args
    } else if program.starts_with("python")
        && args.len() >= 2
        && args[0] == "-m"
        && matches!(args[1].as_str(), "venv" | "virtualenv")
    {
        &args[2..]
    } else {
        return None;
    };
    rest.iter().find(|arg| !arg.starts_with('-')).map(String::as_str)
}

fn is_compiler_package(name: &str) -> bool {
    matches!(name, "gcc" | "g++" | "clang" | "build-essential" | "build-base" | "musl-dev")
        || name.ends_with("-dev")
        || name.ends_with("-devel")
}

pub(super) fn plan(view: &StageView) -> Option<Plan> {
    let installs: Vec<(usize, &Command)> = view
        .commands
        .iter()
        .enumerate()
        .flat_map(|(index, commands)| commands.iter().map(move |c| (index, c)))
        .filter(|(_, command)| {
            pip_install(command).is_some()
                || OTHER_PYTHON_INSTALLERS.contains(&path::basename(&command.path))
                || (path::basename(&command.path).starts_with("python")
                    && command.args.windows(2).any(|w| w[0] == "setup.py" && w[1] == "install"))
        })
        .collect();
    let compiles = view.packages.iter().any(|p| is_compiler_package(&p.name));
    if installs.is_empty() || !compiles {
        return None;
    }
    let build_index = installs.last().map(|(index, _)| *index)?;
    let (runtime_image, alpine, tag_doubt) = slim_variant(view, Python);
    let runtime = Runtime { image: runtime_image, kind: RuntimeKind::Python { alpine } };
    let mut plan = Plan::new(runtime, Packages::Python, build_index);
    plan.doubts.extend(tag_doubt);
    plan.interpreters = &["python", "python3"];
    plan.risks.push("files the build writes outside the application's directories are not copied".into());

    let own_venv = view.commands.iter().enumerate().find_map(|(index, commands)| {
        commands.iter().find_map(|command| {
            let dir = creates_venv(command)?;
            let cwd = command.cwd.as_deref()?;
            (!dir.contains('$'))
                .then(|| path::join(cwd, dir))
                .or_else(|| substitute(dir, &view.envs[index]).map(|d| path::join(cwd, &d)))
        })
    });
    let venv = own_venv.clone().unwrap_or_else(|| VENV.to_string());
    for (index, command) in &installs {
        let line = view.instructions[*index].start_line;
        let Some((program, args)) = pip_install(command) else {
            let name = path::basename(&command.path);
            plan.doubts.push(format!(
                "line {line} installs with `{name}`, and dockfix knows only where pip installs"
            ));
            continue;
        };
        if program.starts_with('/') && !path::is_under(program, &venv) {
            plan.doubts.push(format!("line {line} runs `{program}`, which installs outside the virtualenv"));
        }
        if let Some(flag) = args.iter().find(|a| {
            matches!(a.as_str(), "--user" | "--target" | "-t" | "--prefix" | "--root")
                || a.starts_with("--target=")
                || a.starts_with("--prefix=")
                || a.starts_with("--root=")
        }) {
            plan.doubts.push(format!("`pip install {flag}` on line {line} installs outside a virtualenv"));
        }
    }
    if own_venv.is_none() {
        let first = installs[0].0;
        let user =
            view.instructions[..first].iter().rfind(|i| i.is("USER")).map(|u| u.args.trim().to_string());
        if let Some(user) = user.filter(|u| !matches!(u.split(':').next(), Some("root" | "0" | ""))) {
            plan.doubts
                .push(format!("the virtualenv would be created as `{user}`, who may not write to {VENV}"));
        }
        let path = format!("PATH=\"{VENV}/bin:$PATH\"");
        plan.builder_inserts.push((
            first,
            vec![Line::New("RUN", format!("python -m venv {VENV}")), Line::New("ENV", path.clone())],
        ));
        plan.runtime_env.push(Line::New("ENV", path));
    }
    let app = application_paths(view, build_index, &mut plan.doubts);
    let mut copied = vec![format!("the virtualenv `{venv}`")];
    // A virtualenv inside the application's directory comes with it.
    if !app.iter().any(|path| path::is_under(&venv, path)) {
        plan.artifacts.push(Artifact::same(&venv));
    }
    for path in app.into_iter().filter(|path| !path::is_under(path, &venv)) {
        copied.push(format!("`{path}`"));
        plan.artifacts.push(Artifact::same(&path));
    }
    plan.what = copied.join(", ");
    Some(plan)
}

/// The paths the builder's `COPY`/`ADD` write to, those under the final working directory
/// as that directory.
fn application_paths(view: &StageView, before: usize, doubts: &mut Vec<String>) -> Vec<String> {
    let last_run = view.instructions.iter().rposition(|i| i.is("RUN")).unwrap_or(before);
    let workdir = view.final_workdir().filter(|dir| *dir != "/");
    let mut paths: Vec<String> = Vec::new();
    for index in 1..last_run {
        let instruction = &view.instructions[index];
        if !(instruction.is("COPY") || instruction.is("ADD")) || instruction.flag("from").is_some() {
            continue;
        }
        let (Some((dest, sources)), Some(dir)) =
            (instruction.words.split_last(), view.workdirs[index].as_deref())
        else {
            doubts.push(format!("where line {} copies to is not known", instruction.start_line));
            continue;
        };
        if instruction.exec_form.is_some() || dest.text.contains('$') {
            doubts.push(format!("where line {} copies to is not known", instruction.start_line));
            continue;
        }
        let dest_path = path::join(dir, &dest.text);
        let into_dir = dest.text.ends_with('/') || sources.len() > 1;
        let path = match sources {
            [source]
                if into_dir && !matches!(source.text.as_str(), "." | "./") && !source.text.ends_with('/') =>
            {
                format!("{}/{}", dest_path.trim_end_matches('/'), path::basename(&source.text))
            }
            _ => dest_path,
        };
        let path = match workdir {
            Some(dir) if path::is_under(&path, dir) => dir.to_string(),
            _ => path,
        };
        if path == "/" {
            doubts.push(format!("line {} copies into `/`", instruction.start_line));
            continue;
        }
        if !paths.iter().any(|p| path::is_under(&path, p)) {
            paths.retain(|p| !path::is_under(p, &path));
            paths.push(path);
        }
    }
    paths
}
