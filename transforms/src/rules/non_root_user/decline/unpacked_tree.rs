//! Programs started from a tree the build unpacked as root (`tar -xzf server.tar.gz -C
//! /opt`, `unzip app.zip -d /srv`): self-contained server distributions (an application
//! bundled with its Tomcat, game servers, BI suites) write logs, temporary files, caches and
//! updates inside their own tree, in directories the file does not name. A non-root user
//! could write none of them, and which ones it needs is not in the file, so the image is
//! left as it is, with the tree named.

use crate::edit::Finding;
use crate::semantic::quoting::{argument_values, DEFAULT_ESCAPE};
use crate::semantic::shell::Command;
use crate::syntax::Instruction;

use super::super::paths::start_instructions;
use super::super::ID;
use super::{instruction_commands, silence_hint};

/// A finding when a program the container starts (or a log the start command follows with
/// `tail -f`) lies in a directory a `RUN` unpacked an archive into.
pub(super) fn started_in_unpacked_tree(instructions: &[&Instruction]) -> Option<Finding> {
    let starts: Vec<(&Instruction, Vec<String>)> = start_instructions(instructions)
        .into_iter()
        .map(|(_, start)| (start, started_paths(&instruction_commands(start))))
        .filter(|(_, paths)| !paths.is_empty())
        .collect();
    // The RUNs are read only when the start command names a path: this runs per pass.
    if starts.is_empty() {
        return None;
    }
    let trees = unpacked_trees(instructions);
    if trees.is_empty() {
        return None;
    }
    starts.into_iter().find_map(|(start, paths)| {
        let (path, tree) = paths
            .into_iter()
            .find_map(|path| Some((path.clone(), trees.iter().find_map(|target| application_tree(target, &path))?)))?;
        let line = start.start_line;
        Some(Finding::new(
            ID,
            line,
            format!(
                "the container starts from {tree}, a tree the build unpacked as root (`{path}`, line {line}): a server distribution writes logs, temporary files and state inside its own tree, in directories the file does not name, which a non-root user could not write. Left as is; give the user the directories it writes (`chown -R` where it must) and add a `USER` by hand ({})",
                silence_hint(line)
            ),
        ))
    })
}

/// The tree of `path` when it lies in what was unpacked into `target`: the target itself, or
/// for a shared parent (`/opt`, `/usr/src`) the directory the archive made in it
/// (`/usr/src/saiku-server` for `/usr/src/saiku-server/start.sh`).
fn application_tree(target: &str, path: &str) -> Option<String> {
    let rest = path.strip_prefix(target)?.strip_prefix('/')?;
    if !SHARED_PARENTS.contains(&target) {
        return Some(target.to_string());
    }
    let (first, _) = rest.split_once('/')?;
    Some(format!("{}/{first}", target.trim_end_matches('/')))
}

/// Directories that hold many applications: what is unpacked there makes a tree of its own.
const SHARED_PARENTS: &[&str] = &["/opt", "/usr/src", "/srv", "/usr/share", "/var/lib", "/home"];

/// The directories `RUN`s unpack archives into: `tar` extracting (`-C DIR` or the working
/// directory), `unzip` (`-d DIR` or the working directory). System trees (`/`, `/usr`, ...)
/// are left out: unpacking a tool there is an install, not an application's own tree.
fn unpacked_trees(instructions: &[&Instruction]) -> Vec<String> {
    let mut workdir = String::from("/");
    let mut trees = Vec::new();
    for instruction in instructions {
        if instruction.is("WORKDIR") {
            let Some(dir) = argument_values(instruction, DEFAULT_ESCAPE).pop() else { continue };
            workdir =
                if dir.starts_with('/') { dir } else { format!("{}/{dir}", workdir.trim_end_matches('/')) };
            continue;
        }
        if !instruction.is("RUN") {
            continue;
        }
        let mut cwd = workdir.clone();
        for command in instruction_commands(instruction).iter() {
            if command.program() == "cd" {
                if let Some(dir) = command.operands().next().filter(|dir| dir.starts_with('/')) {
                    cwd = dir.to_string();
                }
                continue;
            }
            if !is_extraction(command) {
                continue;
            }
            let target = extraction_directory(command).unwrap_or_else(|| cwd.clone());
            let target = target.trim_end_matches('/').to_string();
            if target.starts_with('/')
                && !target.contains('$')
                && !is_system_tree(&target)
                && !trees.contains(&target)
            {
                trees.push(target);
            }
        }
    }
    trees
}

fn is_extraction(command: &Command) -> bool {
    match command.program() {
        "unzip" => true,
        "tar" => command.args.iter().any(|arg| {
            arg == "--extract"
                || arg == "-x"
                || (!arg.starts_with("--")
                    && arg.trim_start_matches('-').starts_with(|c: char| c.is_ascii_alphabetic())
                    && arg.len() <= 6
                    && arg.trim_start_matches('-').contains('x'))
        }),
        _ => false,
    }
}

/// `tar -C DIR` / `--directory=DIR`, `unzip -d DIR`.
fn extraction_directory(command: &Command) -> Option<String> {
    let flag = match command.program() {
        "tar" => "-C",
        "unzip" => "-d",
        _ => return None,
    };
    let args = &command.args;
    args.iter().enumerate().find_map(|(index, arg)| {
        // A bundle of tar's one-letter options ending in `C` takes the directory next
        // (`-xzC DIR`).
        let bundle = flag == "-C"
            && arg.len() > 2
            && arg.starts_with('-')
            && !arg.starts_with("--")
            && arg.ends_with('C');
        if arg == flag || arg == "--directory" || bundle {
            return args.get(index + 1).cloned();
        }
        arg.strip_prefix("--directory=").map(str::to_string)
    })
}

/// Trees that belong to the system: a program unpacked there is installed, not bundled.
fn is_system_tree(dir: &str) -> bool {
    matches!(
        dir,
        "/" | "/usr" | "/usr/local" | "/usr/bin" | "/usr/local/bin" | "/bin" | "/sbin" | "/usr/sbin" | "/tmp"
    )
}

/// The absolute paths a start command names as programs (`/opt/x/run.sh`, `./run` after
/// `cd DIR`) and the files it follows with `tail -f`.
fn started_paths(commands: &[Command]) -> Vec<String> {
    let mut cwd: Option<String> = None;
    let mut paths = Vec::new();
    for command in commands {
        match command.program() {
            "cd" => cwd = command.operands().next().filter(|dir| dir.starts_with('/')).map(str::to_string),
            "tail" => {
                paths.extend(command.operands().filter(|file| file.starts_with('/')).map(str::to_string))
            }
            _ if command.path.starts_with('/') => paths.push(command.path.clone()),
            _ => {
                if let (Some(dir), Some(relative)) = (&cwd, command.path.strip_prefix("./")) {
                    paths.push(format!("{}/{relative}", dir.trim_end_matches('/')));
                }
            }
        }
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantic::shell::commands;

    #[test]
    fn archives_unpacked_into_application_trees() {
        let file = crate::syntax::Dockerfile::parse(
            "FROM ubuntu\nWORKDIR /usr/src\nRUN tar xvfz saiku.tar.gz\nRUN curl -L x | tar vxz -C /steam\nRUN unzip -q a.zip -d /srv/app && tar -xzf b.tgz -C /usr/local\nRUN tar -czf /backup.tgz /etc/x\nRUN curl x | tar -xzC /usr/src/bench --strip-components 2\n",
        );
        let instructions: Vec<&Instruction> = file.instructions.iter().collect();
        assert_eq!(
            unpacked_trees(&instructions),
            ["/usr/src", "/steam", "/srv/app", "/usr/src/bench"],
            "/usr/local is a system tree; -c creates"
        );
        assert_eq!(
            application_tree("/usr/src", "/usr/src/saiku-server/start.sh").as_deref(),
            Some("/usr/src/saiku-server")
        );
        assert_eq!(application_tree("/usr/src", "/usr/src/start.sh"), None);
        assert_eq!(application_tree("/steam", "/steam/tf2/srcds_run").as_deref(), Some("/steam"));
        assert_eq!(application_tree("/steam", "/steamcmd/run"), None);
    }

    #[test]
    fn paths_a_start_command_names() {
        let found = started_paths(&commands(
            "cd /steam/tf2 && ./srcds_run -port 1 && /opt/x/start.sh && tail -f /opt/x/logs/out.log",
        ));
        assert_eq!(found, ["/steam/tf2/srcds_run", "/opt/x/start.sh", "/opt/x/logs/out.log"]);
    }
}
