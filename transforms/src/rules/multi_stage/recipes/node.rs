//! Node: a build script (`npm run build`), its output directory, and the production
//! dependencies installed again in a slim `node` runtime.

use super::{
    parse_tag, slim_variant, Artifact, Ecosystem::Node, Line, Packages, Plan, Runtime, RuntimeKind, StageView,
};
use crate::semantic::shell::{path, Command};

/// Directories a Node build writes its output to, relative to the project: the defaults of
/// Vite and webpack (`dist`), Create React App (`build`), Next.js static export (`out`) and
/// Nuxt (`.output`).
const NODE_OUTPUT_DIRS: &[&str] = &["dist", "build", "out", ".output"];

/// Package managers and the subcommands that install a project's dependencies (npm-ci(1),
/// npm-install(1) and its alias `i`; `yarn install`; `pnpm install` and its alias `i`).
const NODE_MANAGERS: &[(&str, &[&str])] =
    &[("npm", &["ci", "install", "i"]), ("yarn", &["install"]), ("pnpm", &["install", "i"])];

/// A build script: `npm run build`, `yarn build`, `pnpm run build:prod`.
fn node_build(command: &Command) -> bool {
    let program = path::basename(&command.path);
    let args: &[String] = &command.args;
    let script = match (program, args.first().map(String::as_str)) {
        ("npm", Some("run" | "run-script")) | ("yarn" | "pnpm", Some("run")) => args.get(1),
        ("yarn" | "pnpm", Some(_)) => args.first(),
        _ => None,
    };
    script.is_some_and(|s| s == "build" || s.starts_with("build:"))
}

/// A dependency install of the whole project (no package names): the manager's name.
fn node_install(command: &Command) -> Option<&'static str> {
    let program = path::basename(&command.path);
    let (manager, subcommands) = NODE_MANAGERS.iter().find(|(name, _)| *name == program)?;
    let args: &[String] = &command.args;
    let installs = match args.first() {
        None => *manager == "yarn",
        Some(sub) => subcommands.contains(&sub.as_str()) || (*manager == "yarn" && sub.starts_with('-')),
    };
    let names_packages = args.iter().skip(1).any(|arg| !arg.starts_with('-'));
    let global = args.iter().any(|arg| arg == "-g" || arg == "--global");
    (installs && !names_packages && !global).then_some(*manager)
}

pub(super) fn plan(view: &StageView) -> Option<Plan> {
    let (build_index, build) = view
        .commands
        .iter()
        .enumerate()
        .flat_map(|(index, commands)| commands.iter().map(move |c| (index, c)))
        .rfind(|(_, command)| node_build(command))?;
    let (runtime_image, alpine, tag_doubt) = slim_variant(view, Node);
    let runtime = Runtime { image: runtime_image, kind: RuntimeKind::Node { alpine } };
    let mut plan = Plan::new(runtime, Packages::Node, build_index);
    plan.doubts.extend(tag_doubt);
    plan.interpreters = &["node", "nodejs", "npm", "npx", "yarn"];
    plan.risks.push(
        "production dependencies are installed again in the runtime image: native add-ons without prebuilt binaries need build tools there".into(),
    );
    let project = build.cwd.clone();
    let install = view
        .commands
        .iter()
        .enumerate()
        .take(build_index + 1)
        .flat_map(|(index, commands)| commands.iter().map(move |c| (index, c)))
        .rev()
        .find_map(|(index, command)| node_install(command).map(|manager| (index, command, manager)));
    match install {
        Some((index, command, manager)) => node_runtime_install(&mut plan, view, index, command, manager),
        None => plan.doubts.push("dockfix finds no dependency install before the build".into()),
    }
    let output = node_started_output(view, project.as_deref());
    match output {
        Ok(dir) => {
            plan.what = format!("`{dir}` and the production dependencies");
            plan.artifacts.push(Artifact::same(&dir));
        }
        Err((doubt, guess)) => {
            plan.doubts.push(doubt);
            if let Some(dir) = guess {
                plan.what = format!("`{dir}` and the production dependencies");
                plan.artifacts.push(Artifact::same(&dir));
            }
        }
    }
    Some(plan)
}

/// The runtime stage's manifests and production install, in the place of the builder's.
fn node_runtime_install(plan: &mut Plan, view: &StageView, index: usize, command: &Command, manager: &str) {
    let line = view.instructions[index].start_line;
    if command.cwd.is_none() || command.cwd != view.workdirs[index] {
        plan.doubts.push(format!("the install on line {line} runs in a directory of its own (`cd`)"));
    }
    if let Some(dir) = &command.cwd {
        plan.provides.push(dir.clone());
    }
    // The COPY that brought the manifests, repeated as it is; else the manifests alone.
    let manifests = (1..index).rev().find(|&i| {
        let instruction = &view.instructions[i];
        let sources = instruction.words.split_last().map_or(&[][..], |(_, sources)| sources);
        (instruction.is("COPY") || instruction.is("ADD"))
            && instruction.flag("from").is_none()
            && sources.iter().any(|s| path::basename(&s.text).starts_with("package"))
            && !sources.iter().any(|s| matches!(s.text.as_str(), "." | "./"))
    });
    match manifests {
        Some(at) => plan.runtime_steps.push((at, Line::Verbatim(at))),
        None => plan.runtime_steps.push((index, Line::New("COPY", "package*.json ./".into()))),
    }
    let major: Option<u32> = parse_tag(view.image.tag.as_deref())
        .version
        .and_then(|v| v.split('.').next().and_then(|m| m.parse().ok()));
    let omit = match major {
        Some(major) if major < 15 => "--production",
        _ => "--omit=dev",
    };
    let simple = |word: &&String| word.chars().all(|c| c.is_ascii_alphanumeric() || "-_=./@:".contains(c));
    let kept: Vec<&String> = command.args[1.min(command.args.len())..]
        .iter()
        .filter(|w| w.starts_with("--") && simple(w))
        .filter(|w| !w.starts_with("--omit") && !w.starts_with("--include") && *w != "--production")
        .collect();
    let sub = command.args.first().map_or("install", String::as_str);
    let run = match manager {
        "npm" => {
            let flags: String = kept.iter().map(|w| format!(" {w}")).collect();
            format!("npm {sub}{flags} {omit}")
        }
        "yarn" => {
            plan.doubts.push(
                "dockfix installs production dependencies again only with npm (yarn 1 and yarn 2+ differ)"
                    .into(),
            );
            "yarn install --production --frozen-lockfile".into()
        }
        _ => {
            plan.doubts.push("dockfix installs production dependencies again only with npm".into());
            "pnpm install --prod --frozen-lockfile".into()
        }
    };
    plan.runtime_steps.push((index, Line::New("RUN", run)));
}

/// The build output directory the start command runs from, or a doubt and a guess.
fn node_started_output(view: &StageView, project: Option<&str>) -> Result<String, (String, Option<String>)> {
    let project =
        project.ok_or_else(|| ("the directory the build runs in is not known".to_string(), None))?;
    let guess = Some(format!("{}/{}", project.trim_end_matches('/'), NODE_OUTPUT_DIRS[0]));
    let start = view.start.as_ref().ok_or_else(|| ("the image starts nothing".to_string(), guess.clone()))?;
    let program = start.argv.first().map(|p| path::basename(p)).unwrap_or("");
    if program != "node" && program != "nodejs" {
        return Err((
            format!("the start command runs `{}`, so dockfix cannot tell which files it needs (`npm start` runs a script of package.json)", start.argv.join(" ")),
            guess,
        ));
    }
    let mut args = start.argv.iter().skip(1);
    let mut script = None;
    while let Some(arg) = args.next() {
        if matches!(arg.as_str(), "-r" | "--require" | "--import" | "--loader") {
            args.next();
        } else if !arg.starts_with('-') {
            script = Some(arg);
            break;
        }
    }
    let script =
        script.ok_or_else(|| ("the start command runs no script file".to_string(), guess.clone()))?;
    let Some(path) = view.path_in_image(script) else {
        return Err((format!("the start command runs `{script}`, which dockfix cannot resolve"), guess));
    };
    NODE_OUTPUT_DIRS
        .iter()
        .map(|dir| format!("{}/{dir}", project.trim_end_matches('/')))
        .find(|dir| path::is_under(&path, dir) && path != *dir)
        .ok_or_else(|| {
            (
                format!(
                    "the start command runs `{script}`, which is not in a build output directory ({})",
                    NODE_OUTPUT_DIRS.join(", ")
                ),
                guess,
            )
        })
}
