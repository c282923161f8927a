//! When starting as root is the design: non-root-user declines with the reason.

use crate::edit::Finding;
use crate::image::{chain_instructions, drops_privileges, BaseFacts};
use crate::syntax::{Dockerfile, Instruction, Stage};

use super::ID;

/// Commands that start as root and switch user themselves: whole words of a command.
pub(super) const PRIVILEGE_DROPPERS: &[&str] =
    &["gosu", "su-exec", "setpriv", "runuser", "s6-setuidgid", "setuidgid"];

/// Fragments of a command that mean the same, where a word is not enough.
pub(super) const PRIVILEGE_DROP_FRAGMENTS: &[&str] = &["--userspec", "s6-overlay", "chpst -u"];

/// A finding without fix when starting as root is what the image is built for.
pub(super) fn declined_by_design(file: &Dockerfile, chain: &[&Stage], facts: &BaseFacts) -> Option<Finding> {
    let stage = chain.last()?;
    let from_line = file.instructions[stage.from].start_line;
    if let Some(why) = facts.image.as_deref().and_then(drops_privileges) {
        let image = facts.image.as_deref().unwrap_or_default();
        return Some(Finding::new(
            ID,
            from_line,
            format!("`{image}` starts as root by design: {why}; left as is"),
        ));
    }
    let instructions = chain_instructions(file, chain);
    let dropper = instructions.iter().find_map(|instruction| {
        let tool = privilege_dropper(instruction)?;
        Some(Finding::new(
            ID,
            instruction.start_line,
            format!("`{tool}` drops privileges at run time, so the container must start as root: left as is"),
        ))
    });
    dropper.or_else(|| root_service(&instructions)).or_else(|| works_in_root_home(&instructions))
}

/// Programs that run as root by design: they start services as the services' own users.
pub(super) const ROOT_SERVICES: &[&str] = &[
    "supervisord",
    "systemd",
    "/sbin/init",
    "/usr/sbin/init",
    "sshd",
    "cron",
    "crond",
    "runsvdir",
    "s6-svscan",
];

/// The effective `ENTRYPOINT` and `CMD` of the image.
pub(super) fn start_commands<'a>(instructions: &[&'a Instruction]) -> Vec<&'a Instruction> {
    ["ENTRYPOINT", "CMD"]
        .iter()
        .filter_map(|keyword| instructions.iter().rev().find(|i| i.is(keyword)).copied())
        .collect()
}

/// A finding when the container starts a service manager or daemon that must be root.
pub(super) fn root_service(instructions: &[&Instruction]) -> Option<Finding> {
    start_commands(instructions).into_iter().find_map(|instruction| {
        let text = instruction.command_text();
        let words = text.split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '[' | ']' | ';' | '&'));
        let service = words.filter(|word| !word.is_empty()).find_map(|word| {
            ROOT_SERVICES.iter().find(|service| {
                if service.starts_with('/') {
                    word == **service
                } else {
                    word.rsplit('/').next() == Some(**service)
                }
            })
        })?;
        Some(Finding::new(
            ID,
            instruction.start_line,
            format!("the container starts `{service}`, which runs as root and starts its services as their own users: left as is"),
        ))
    })
}

/// A finding when the image starts in, or runs a program from, root's home directory, which
/// no other user may enter.
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
    start_commands(instructions).into_iter().find_map(|instruction| {
        let text = instruction.command_text();
        let words = text.split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '[' | ']'));
        let path = words.into_iter().find(|word| in_root_home(word))?;
        Some(Finding::new(
            ID,
            instruction.start_line,
            format!("the container starts `{path}`, inside root's home, which a non-root user cannot read: left as is"),
        ))
    })
}

/// The privilege-dropping tool an instruction installs or runs, if any.
pub(super) fn privilege_dropper(instruction: &Instruction) -> Option<&'static str> {
    if !["RUN", "COPY", "ADD", "ENTRYPOINT", "CMD"].iter().any(|k| instruction.is(k)) {
        return None;
    }
    if (instruction.is("ENTRYPOINT") || instruction.is("CMD")) && runs_s6_init(instruction) {
        return Some("/init");
    }
    let text = instruction.command_text();
    if let Some(fragment) = PRIVILEGE_DROP_FRAGMENTS.iter().find(|f| text.contains(*f)) {
        return Some(fragment);
    }
    let words = text.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')));
    for word in words {
        if let Some(tool) = PRIVILEGE_DROPPERS.iter().find(|tool| names_tool(word, tool)) {
            return Some(tool);
        }
    }
    None
}

/// `word` is `tool`, or a path ending in `/tool`, or holds `/tool/` or `/tool-`. Checked
/// without building strings: this runs for every word of every command.
pub(super) fn names_tool(word: &str, tool: &str) -> bool {
    word == tool
        || word.match_indices('/').any(|(slash, _)| {
            word[slash + 1..]
                .strip_prefix(tool)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '-']))
        })
}

/// s6-overlay's `/init` as the process the container starts.
pub(super) fn runs_s6_init(instruction: &Instruction) -> bool {
    match &instruction.exec_form {
        Some(argv) => argv.first().is_some_and(|first| first == "/init"),
        None => instruction.args.split_whitespace().next() == Some("/init"),
    }
}
