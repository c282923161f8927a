//! The entrypoint script, read from the build context: the `ENTRYPOINT` (or, without one, the
//! `CMD`) runs a file that a `COPY`/`ADD` of the final image took from the build context; the
//! shell reads it for dockfix ([`BuildContext::read_text`]) and its commands are looked at
//! word by word.

use std::cell::OnceCell;

use crate::syntax::Instruction;
use crate::transform::BuildContext;

use super::super::paths::start_instructions;
use crate::semantic::quoting::{argument_values, DEFAULT_ESCAPE};
use crate::semantic::shell::{commands, instruction_commands, Command};

/// The entrypoint script as found: where it runs from, where it came from, what it holds.
pub(crate) struct Script<'a> {
    /// The path the container runs (`/usr/local/bin/entrypoint.sh`).
    pub image_path: String,
    /// The path in the build context it was copied from.
    pub context_path: String,
    /// The `COPY`/`ADD` that copied it.
    pub copied_by: &'a Instruction,
    /// Started as a shell's argument (`sh /start`).
    pub started_by_shell: bool,
    /// The script's commands, or `None` when it could not be read (no build context, stdin,
    /// too large, not text).
    pub commands: Option<Vec<Command>>,
}

impl Script<'_> {
    /// Named as a script (`*.sh`, `*entrypoint*`, `*start*`, `*run*`) or started by a shell:
    /// a file that could not be read is worth a warning only then, not for a program binary
    /// copied from the build context.
    pub fn looks_like_a_script(&self) -> bool {
        let name = self.image_path.rsplit('/').next().unwrap_or_default().to_ascii_lowercase();
        self.started_by_shell
            || name.ends_with(".sh")
            || name.ends_with(".bash")
            || ["entrypoint", "start", "run", "init"].iter().any(|word| name.contains(word))
    }
}

/// The scripts the container starts that come from the build context, in the order they
/// are started.
pub(crate) fn scripts<'a>(instructions: &[&'a Instruction], context: &dyn BuildContext) -> Vec<Script<'a>> {
    let workdirs = working_directories(instructions);
    // Every candidate path is looked for among the same copies: each is read once.
    let copies = OnceCell::new();
    let mut found = Vec::new();
    for (index, start) in start_instructions(instructions) {
        if start.opaque {
            continue;
        }
        let started = instruction_commands(start);
        let cwd = workdirs[index].as_deref();
        let image_paths = started.iter().flat_map(|command| {
            let by_shell = matches!(command.program(), "sh" | "bash" | "ash" | "dash" | "zsh");
            script_candidates(command, cwd).into_iter().map(move |path| (path, by_shell))
        });
        for (image_path, started_by_shell) in image_paths {
            if found.iter().any(|script: &Script| script.image_path == image_path) {
                continue;
            }
            let copies = copies.get_or_init(|| context_copies(instructions, &workdirs));
            if let Some((copied_by, sources)) = copied_from_context(&copies[..index], &image_path) {
                let read =
                    sources.iter().find_map(|source| Some((source.clone(), context.read_text(source)?)));
                let (context_path, commands) = match read {
                    Some((source, text)) => (source, Some(commands(&text))),
                    None => (sources.first().cloned().unwrap_or_default(), None),
                };
                found.push(Script { image_path, context_path, copied_by, started_by_shell, commands });
            }
        }
        // The ENTRYPOINT's script runs first; a CMD after it is its arguments.
        if start.is("ENTRYPOINT") && !found.is_empty() {
            break;
        }
    }
    found
}

/// The directories of the default `PATH` of Linux images, where a program named without a
/// slash (`entrypoint.sh`) is looked up.
const PATH_DIRS: &[&str] = &["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/// The image paths a start command may run a script from: the program itself (looked up on
/// `PATH` when named without a slash), and for a shell started with a file (`sh entry.sh`)
/// or any `*.sh` operand, that file (relative to the working directory).
fn script_candidates(command: &Command, cwd: Option<&str>) -> Vec<String> {
    let mut candidates: Vec<String> = if command.path.contains('/') {
        absolute(&command.path, cwd).into_iter().collect()
    } else {
        PATH_DIRS.iter().map(|dir| format!("{dir}/{}", command.path)).collect()
    };
    if let Some(file) = command.operands().next() {
        if matches!(command.program(), "sh" | "bash" | "ash" | "dash" | "zsh") || file.ends_with(".sh") {
            candidates.extend(absolute(file, cwd));
        }
    }
    candidates
}

/// The working directory in effect at each instruction (`None` when a `WORKDIR` holds a
/// variable). Starts at `/`; a stage built `FROM` an earlier one keeps its directory.
fn working_directories(instructions: &[&Instruction]) -> Vec<Option<String>> {
    let mut current = Some("/".to_string());
    instructions
        .iter()
        .map(|instruction| {
            if instruction.is("WORKDIR") {
                let dir = instruction.args.trim().trim_matches('"');
                current = if dir.contains('$') {
                    None
                } else {
                    current.as_deref().and_then(|cwd| absolute(dir, Some(cwd)))
                };
            }
            current.clone()
        })
        .collect()
}

/// `path` made absolute against `cwd`, `.` and `..` resolved; `None` for a path with a
/// variable, or a relative one where the working directory is not known.
fn absolute(path: &str, cwd: Option<&str>) -> Option<String> {
    if path.contains('$') || path.is_empty() {
        return None;
    }
    let joined = if path.starts_with('/') { path.to_string() } else { format!("{}/{path}", cwd?) };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

/// A `COPY`/`ADD` as [`copied_from_context`] reads it: its sources and destination as
/// written, and the destination made absolute.
struct Copied<'a> {
    instruction: &'a Instruction,
    sources: Vec<String>,
    destination: String,
    dest: String,
}

/// Each instruction read as a [`Copied`]: `None` for those that are not a `COPY`/`ADD`, or
/// whose destination is not known (a variable, no working directory).
fn context_copies<'a>(
    instructions: &[&'a Instruction],
    workdirs: &[Option<String>],
) -> Vec<Option<Copied<'a>>> {
    instructions
        .iter()
        .zip(workdirs)
        .map(|(copy, workdir)| {
            if !(copy.is("COPY") || copy.is("ADD")) {
                return None;
            }
            let mut sources = argument_values(copy, DEFAULT_ESCAPE);
            let destination = sources.pop()?;
            let dest = absolute_destination(&destination, workdir.as_deref())?;
            Some(Copied { instruction: copy, sources, destination, dest })
        })
        .collect()
}

/// The last `COPY`/`ADD` from the build context (of `copies`, those before the start
/// command) that puts a file at `target`, and the context paths that file may come from (a
/// directory copied whole, or a file copied into a directory).
fn copied_from_context<'a>(
    copies: &[Option<Copied<'a>>],
    target: &str,
) -> Option<(&'a Instruction, Vec<String>)> {
    for Copied { instruction: copy, sources, destination, dest } in copies.iter().rev().flatten() {
        let (copy, dest) = (*copy, dest.as_str());
        let into_directory = destination.ends_with('/') || sources.len() > 1 || destination == ".";
        // What lies below the destination, as a path without its leading `/` (`/` itself is
        // every absolute path's prefix).
        let below = |target: &'_ str| -> Option<String> {
            let rest = if dest == "/" {
                target.strip_prefix('/')
            } else {
                target.strip_prefix(dest)?.strip_prefix('/')
            };
            rest.filter(|rest| !rest.is_empty()).map(str::to_string)
        };
        let covers = target == dest || below(target).is_some();
        if covers && (copy.flag("from").is_some() || !copy.heredocs.is_empty()) {
            // The file the container starts may come from another stage or an inline
            // heredoc, not from the build context.
            return None;
        }
        let local = sources.iter().filter(|source| !source.contains("://") && !source.contains('$'));
        let mut candidates = Vec::new();
        for source in local {
            let source = context_path(source);
            let name = source.rsplit('/').next().unwrap_or(&source);
            if target == dest && !into_directory {
                candidates.push(source.clone());
            } else if let Some(rest) = below(target) {
                if !rest.contains('/') && rest == name {
                    candidates.push(source.clone());
                    continue;
                }
                // A name with an extension (`config.txt`) is taken for a file: only a
                // directory's contents land below the destination.
                let file_like = name.rfind('.').is_some_and(|dot| dot > 0);
                if file_like {
                    continue;
                }
                candidates.push(if source.is_empty() {
                    rest.to_string()
                } else {
                    format!("{source}/{rest}")
                });
            }
        }
        if !candidates.is_empty() {
            return Some((copy, candidates));
        }
    }
    None
}

/// A `COPY` destination made absolute (a directory destination keeps no trailing `/`).
fn absolute_destination(destination: &str, cwd: Option<&str>) -> Option<String> {
    if destination.contains('$') {
        return None;
    }
    if destination.starts_with('/') {
        return absolute(destination, None);
    }
    absolute(&format!("./{destination}"), cwd)
}

/// A source as a path from the context root: no leading `./` or `/`, `.` is the root.
fn context_path(source: &str) -> String {
    let trimmed = source.trim_start_matches("./").trim_start_matches('/').trim_end_matches('/');
    if trimmed == "." {
        String::new()
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_against_the_working_directory() {
        assert_eq!(absolute("./entry.sh", Some("/app")).as_deref(), Some("/app/entry.sh"));
        assert_eq!(absolute("entry.sh", Some("/app")).as_deref(), Some("/app/entry.sh"));
        assert_eq!(absolute("bin/../run", Some("/srv")).as_deref(), Some("/srv/run"));
        assert_eq!(absolute("/usr/local/bin/x", None).as_deref(), Some("/usr/local/bin/x"));
        assert_eq!(absolute("run", None), None, "relative, and no known working directory");
        assert_eq!(absolute("$HOME/x", Some("/app")), None);
        assert_eq!(absolute_destination(".", Some("/app")).as_deref(), Some("/app"));
        let on_path = script_candidates(&commands("entrypoint.sh start")[0], Some("/app"));
        assert!(on_path.contains(&"/usr/local/bin/entrypoint.sh".to_string()), "{on_path:?}");
        assert!(!on_path.contains(&"/app/entrypoint.sh".to_string()), "PATH has no working directory");
        let by_shell = script_candidates(&commands("sh run.sh")[0], Some("/app"));
        assert!(by_shell.contains(&"/app/run.sh".to_string()), "{by_shell:?}");
        assert_eq!(context_path("./scripts/"), "scripts");
        assert_eq!(context_path("."), "");
    }
}
