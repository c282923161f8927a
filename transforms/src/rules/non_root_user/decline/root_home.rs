//! Root's home: an image that starts in, runs a program from, or configures a tool in
//! `/root` (a COPY there, a RUN writing there, an `ENV` pointing a tool's home there) works
//! only as root, because no other user may enter it (base-passwd and alpine-baselayout make
//! it 0700; RHEL's `setup` 0550).

use crate::edit::Finding;
use crate::semantic::shell::redirect_targets;
use crate::syntax::Instruction;

use super::super::paths::{copy_destination, start_instructions};
use super::super::ID;
use super::{instruction_commands, silence_hint};

/// A finding when the image starts in, runs a program from, or copies files into root's home
/// directory, which no other user may enter.
pub(super) fn works_in_root_home(instructions: &[&Instruction]) -> Option<Finding> {
    let in_root_home = |path: &str| path == "/root" || path.starts_with("/root/");
    let workdir = instructions.iter().rev().find(|i| i.is("WORKDIR"));
    if let Some(workdir) = workdir.filter(|w| in_root_home(w.args.trim())) {
        return Some(Finding::new(
            ID,
            workdir.start_line,
            format!(
                "the image works in `{}`, inside root's home, which a non-root user cannot enter: left as is",
                workdir.args.trim()
            ),
        ));
    }
    let started = start_instructions(instructions).into_iter().find_map(|(_, instruction)| {
        let text = instruction.command_text();
        let words = text.split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '[' | ']'));
        let path = words.into_iter().find(|word| in_root_home(word))?;
        Some(Finding::new(
            ID,
            instruction.start_line,
            format!("the container starts `{path}`, inside root's home, which a non-root user cannot read: left as is"),
        ))
    });
    started.or_else(|| configured_in_root_home(instructions))
}

/// A `COPY`/`ADD` (from the build context, not from another stage) into root's home: a tool's
/// configuration (`/root/.m2/settings.xml`, `/root/.npmrc`, `/root/.ssh/config`) is looked
/// for in the home of the user the tool runs as, and root's home is closed to other users
/// (base-passwd and alpine-baselayout make it 0700; RHEL's `setup` 0550).
fn configured_in_root_home(instructions: &[&Instruction]) -> Option<Finding> {
    // Only a RUN whose text names `/root/` is read as commands: this runs per pass.
    let written = instructions.iter().filter(|i| i.is("RUN") && i.args.contains("/root/")).find_map(|run| {
        let path = instruction_commands(run).iter().find_map(|command| {
            let targets: Vec<String> = redirect_targets(command).into_iter().map(str::to_string).collect();
            // Shell startup files serve interactive shells, not the program.
            let shell_startup = |path: &str| {
                [".bashrc", ".zshrc", ".profile", ".bash_profile", ".bash_aliases", ".inputrc"]
                    .iter()
                    .any(|name| path.rsplit('/').next() == Some(*name))
            };
            targets.into_iter().find(|path| path.starts_with("/root/") && !shell_startup(path))
        })?;
        Some(Finding::new(
            ID,
            run.start_line,
            format!(
                "a RUN writes `{path}` in root's home (line {}), which a non-root user cannot enter (it is 0700 on Debian and Alpine, 0550 on RHEL), and where tools look for their configuration only when they run as root: left as is; to fix by hand, write it to the new user's home ({})",
                run.start_line,
                silence_hint(run.start_line)
            ),
        ))
    });
    if written.is_some() {
        return written;
    }
    let copies = instructions.iter().filter(|i| (i.is("COPY") || i.is("ADD")) && i.flag("from").is_none());
    copies.into_iter().find_map(|copy| {
        let destination = copy_destination(instructions, copy)?;
        destination.starts_with("/root/").then(|| {
            Finding::new(
                ID,
                copy.start_line,
                format!(
                    "{} puts `{destination}` in root's home (line {}), which a non-root user cannot enter (it is 0700 on Debian and Alpine, 0550 on RHEL), and where tools look for their configuration only when they run as root: left as is; to fix by hand, put it in the new user's home",
                    copy.keyword.to_ascii_uppercase(),
                    copy.start_line
                ),
            )
        })
    })
}
