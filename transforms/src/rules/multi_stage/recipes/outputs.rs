//! What build steps write, where copies take it, and which output the start command runs.

use super::{Artifact, Ecosystem, StageView, BUILDER_PATH, RUNTIME_PATH};
use crate::rules::multi_stage::view::Program;
use crate::semantic::shell::path;

/// Where a build step writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Output {
    /// This file.
    File(String),
    /// Some file directly in this directory, named by what is built.
    Dir(String),
}

/// An output of a build step (or a copy of one), with what dockfix knows about it.
#[derive(Debug, Clone)]
pub(super) struct Produced {
    pub(super) output: Output,
    /// The binary is statically linked (Go with `CGO_ENABLED=0`).
    pub(super) is_static: bool,
    /// Why dockfix is not sure of it, if it is not.
    pub(super) doubt: Option<String>,
}

impl Produced {
    fn matches(&self, path: &str) -> bool {
        match &self.output {
            Output::File(file) => file == path,
            Output::Dir(dir) => path::dirname(path) == *dir,
        }
    }
}

/// Adds what `cp`, `mv` and `install` make of the outputs, in the RUNs from `from` on.
pub(super) fn follow_copies(view: &StageView, from: usize, produced: &mut Vec<Produced>) {
    for commands in view.commands.iter().skip(from) {
        for command in commands {
            let program = path::basename(&command.path);
            if !matches!(program, "cp" | "mv" | "install" | "ln") {
                continue;
            }
            let Some(cwd) = command.cwd.as_deref() else {
                continue;
            };
            let mut paths: Vec<&str> = Vec::new();
            let mut args = command.args.iter();
            while let Some(arg) = args.next() {
                if program == "install" && matches!(arg.as_str(), "-m" | "-o" | "-g" | "--mode" | "-t") {
                    args.next();
                } else if !arg.starts_with('-') {
                    paths.push(arg);
                }
            }
            let Some((dest, sources)) = paths.split_last() else {
                continue;
            };
            if sources.is_empty() || dest.contains('$') {
                continue;
            }
            let dest_is_dir = dest.ends_with('/')
                || sources.len() > 1
                || RUNTIME_PATH.contains(&path::normalize(dest).as_str());
            let dest = path::join(cwd, dest);
            for source in sources.iter().filter(|s| !s.contains('$')) {
                let source = path::join(cwd, source);
                let Some(origin) = produced.iter().find(|p| p.matches(&source)).cloned() else {
                    continue;
                };
                let glob = path::basename(&source).contains(['*', '?', '[']);
                let output = match (dest_is_dir, glob) {
                    (true, false) => {
                        Output::File(format!("{}/{}", dest.trim_end_matches('/'), path::basename(&source)))
                    }
                    (true, true) => Output::Dir(dest.clone()),
                    (false, _) => Output::File(dest.clone()),
                };
                produced.push(Produced { output, ..origin });
            }
        }
    }
}

/// The `PATH` directories of the builder: the stage's own `ENV PATH`, else the image's.
fn builder_path(view: &StageView, ecosystem: Ecosystem) -> Vec<String> {
    let last = view.instructions.len() - 1;
    if let Some(path) = view.env(last, "PATH").filter(|p| !p.contains('$')) {
        return path.split(':').map(str::to_string).collect();
    }
    let extra = BUILDER_PATH.iter().find(|(e, _)| *e == ecosystem).map_or(&[][..], |(_, dirs)| *dirs);
    extra.iter().chain(RUNTIME_PATH).map(|dir| dir.to_string()).collect()
}

/// The output the start command runs, as the artifact to copy: (artifact, its output).
pub(super) fn started_artifact<'p>(
    view: &StageView,
    ecosystem: Ecosystem,
    produced: &'p [Produced],
) -> Result<(Artifact, &'p Produced), String> {
    let program = view.start_program().ok_or("the image starts nothing")?;
    match program {
        Program::Path(path) => {
            let found = produced.iter().rev().find(|p| p.matches(&path));
            found.map(|p| (Artifact::same(&path), p)).ok_or_else(|| {
                format!("the start command runs `{path}`, which dockfix does not see a build step produce")
            })
        }
        Program::Name(name) => {
            for dir in builder_path(view, ecosystem) {
                let path = format!("{}/{name}", dir.trim_end_matches('/'));
                if let Some(found) = produced.iter().rev().find(|p| p.matches(&path)) {
                    // Keep it on the runtime image's PATH.
                    let destination = if RUNTIME_PATH.contains(&dir.as_str()) {
                        path.clone()
                    } else {
                        format!("/usr/local/bin/{name}")
                    };
                    return Ok((Artifact { source: path, destination }, found));
                }
            }
            Err(format!("the start command runs `{name}`, which dockfix does not see a build step produce"))
        }
        Program::Unknown(word) => {
            Err(format!("the start command runs `{word}`, which dockfix cannot resolve"))
        }
    }
}

/// A best guess of the artifact for a suggestion: the last file a build step names.
pub(super) fn guessed_artifact(produced: &[Produced]) -> Option<Artifact> {
    produced.iter().rev().find_map(|p| match &p.output {
        Output::File(path) => Some(Artifact::same(path)),
        Output::Dir(_) => None,
    })
}
