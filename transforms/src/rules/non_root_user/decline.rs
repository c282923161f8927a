//! When non-root-user must not change the file: each decline is a finding without fix whose
//! message names the signal it saw, where, and why it means the container must start as
//! root (or why the file is not the place for a `USER`), with how to silence it where that
//! is useful. The checks run in [`declined`]'s order: a design that needs root first (the
//! base image's, then what the file and its entrypoint script start, install and write),
//! then the author's own `USER root`, then `ONBUILD` triggers, then images built to be used
//! in `FROM`.

mod base_image;
mod callers_files;
mod entrypoint;
mod root_home;
mod signals;
mod unpacked_tree;

use std::cell::OnceCell;

use crate::edit::Finding;
use crate::image::BaseFacts;
use crate::semantic::quoting::{argument_values, DEFAULT_ESCAPE};
use crate::semantic::shell::privilege::{self, PRIVILEGE_DROPPERS, PRIVILEGE_DROP_FRAGMENTS};
use crate::semantic::shell::{
    commands, instruction_commands, packages, redirect_targets, text_pieces, Command,
};
use crate::semantic::stages::chain_instructions;
use crate::syntax::{Dockerfile, Instruction, Stage};
use crate::transform::BuildContext;

use super::choose::{created_users, runtime_user_created};
use super::paths::{resolve_variables, start_instructions};
use super::{is_root, ID};
use crate::image::HELPER_ACCOUNTS;
use base_image::{base_for_other_images, check_stage, files_given_to_base_user, is_interactive_program};
use callers_files::{keeps_alive, works_on_callers_files, CALLERS_MOUNT};
use entrypoint::{scripts, Script};
use root_home::works_in_root_home;
use signals::{
    callers_directory_mount, exposed_signal, host_access, image_signal, path_signal, root_home_mount,
    run_signal, started_signal, step_down_argument, user_root_argument, volume_signal, Seen, ROOT_HOME_MOUNT,
    STEP_DOWN_ARGUMENT, USER_ROOT_ARGUMENT,
};
use unpacked_tree::started_in_unpacked_tree;

/// How to keep a finding from coming back, for the declines a user may disagree with.
fn silence_hint(line: usize) -> String {
    format!("`# dockfix: ignore=non-root-user` above line {line} silences this")
}

/// A finding without fix when the final image must start as root, or is not the place for a
/// `USER`.
pub(super) fn declined(
    file: &Dockerfile,
    chain: &[&Stage],
    facts: &BaseFacts,
    context: &dyn BuildContext,
) -> Option<Finding> {
    let stage = chain.last()?;
    let from_line = file.instructions[stage.from].start_line;
    if let Some((why, from_facts)) = facts.drops_privileges() {
        let image = facts.image.as_deref().unwrap_or_default();
        return Some(Finding::new(
            ID,
            from_line,
            format!("`{image}` starts as root by design: {why}; left as is{}", facts.note(from_facts)),
        ));
    }
    let instructions = chain_instructions(file, chain);
    // Read from the build context once, for the two checks that ask, and only if one does.
    let found_scripts = OnceCell::new();
    let read_scripts = || found_scripts.get_or_init(|| scripts(&instructions, context)).as_slice();
    // Each check runs only when those before it found nothing: the first signal wins.
    privilege_drop_signal(&instructions)
        .or_else(|| base_image_signal(facts, from_line))
        .or_else(|| root_signal(&instructions))
        .or_else(|| host_access_signal(file, &instructions))
        .or_else(|| entrypoint_script_needs_root(read_scripts()))
        .or_else(|| unread_script_with_unused_user(&instructions, read_scripts()))
        .or_else(|| works_in_root_home(&instructions))
        .or_else(|| explicit_root_user(&instructions))
        .or_else(|| files_given_to_base_user(&instructions, facts))
        .or_else(|| started_in_unpacked_tree(&instructions))
        .or_else(|| onbuild_needs_root(&instructions))
        .or_else(|| check_stage(chain, &instructions, from_line))
        .or_else(|| base_for_other_images(&instructions, facts, from_line))
        .or_else(|| onbuild_base(file.stage_instructions(stage)))
        .or_else(|| interactive_start(&instructions))
        .or_else(|| works_on_callers_files(&instructions))
        .or_else(|| keeps_alive(&instructions))
}

/// A finding for the first instruction that installs or runs a privilege-dropping tool.
fn privilege_drop_signal(instructions: &[&Instruction]) -> Option<Finding> {
    instructions.iter().find_map(|instruction| {
        let tool = privilege_dropper(instruction)?;
        Some(Finding::new(
            ID,
            instruction.start_line,
            format!("`{tool}` drops privileges at run time, so the container must start as root: left as is"),
        ))
    })
}

/// A finding when the base image itself is a root signal (`r.j3ss.co/masscan`).
fn base_image_signal(facts: &BaseFacts, from_line: usize) -> Option<Finding> {
    let image = facts.image.as_deref()?;
    let signal = image_signal(image)?;
    Some(Finding::new(
        ID,
        from_line,
        format!(
            "`{image}` {} (line {from_line}): {}: left as is; if it does not need root at run time, add a `USER` by hand ({})",
            signal.seen.describe(),
            signal.why,
            silence_hint(from_line)
        ),
    ))
}

/// A finding when the file documents running the container with host access only root has
/// (`--privileged`, the Docker socket: a `docker run` line in a comment or a `LABEL`), or its
/// start command or ENV names such access (`qemu:///system`, `DOCKER_HOST=unix:///var/run/docker.sock`).
fn host_access_signal(file: &Dockerfile, instructions: &[&Instruction]) -> Option<Finding> {
    let documented = file
        .comments
        .iter()
        .filter(|comment| {
            // A `docker run` line, or one of its continued option lines (`#   --device /dev/snd \`).
            let text = comment.text.trim_start_matches('#').trim_start();
            text.contains("docker run") || text.contains("-v ") || text.starts_with('-')
        })
        .map(|comment| (comment.line, comment.text.as_str(), "in the documented run command"));
    let written = instructions
        .iter()
        .filter(|i| ["LABEL", "ENV", "CMD", "ENTRYPOINT"].iter().any(|keyword| i.is(keyword)))
        .map(|i| {
            (
                i.start_line,
                i.args.as_str(),
                if i.is("LABEL") { "in a LABEL" } else { "given to the container" },
            )
        });
    documented.chain(written).find_map(|(line, text, place)| {
        let (what, why) = host_access(text)
            .map(|(what, why)| (what.to_string(), why))
            .or_else(|| Some((root_home_mount(text)?, ROOT_HOME_MOUNT)))
            .or_else(|| Some((callers_directory_mount(text)?, CALLERS_MOUNT)))?;
        Some(Finding::new(
            ID,
            line,
            format!(
                "`{what}` {place} (line {line}): {why}: left as is; if it does not need root at run time, add a `USER` by hand ({})",
                silence_hint(line)
            ),
        ))
    })
}

/// The program the container starts and its arguments: the `ENTRYPOINT`'s first command with
/// the `CMD` after it (exec form), or the `CMD` alone. An entrypoint wrapper script
/// (`docker-entrypoint.sh`, `mvn-entrypoint.sh`) hands over to the `CMD`, so the `CMD` is
/// what it starts.
fn started_program(instructions: &[&Instruction]) -> Option<(Command, usize)> {
    let starts = start_instructions(instructions);
    let find = |keyword: &str| starts.iter().find(|(_, i)| i.is(keyword)).map(|(_, i)| *i);
    let (entrypoint, cmd) = (find("ENTRYPOINT"), find("CMD"));
    let first = |instruction: &Instruction| instruction_commands(instruction).first().cloned();
    let entry = entrypoint.and_then(first);
    let wrapper = entry.as_ref().is_some_and(|command| command.program().contains("entrypoint"));
    match (entry, cmd) {
        (Some(_), Some(cmd)) if wrapper => Some((first(cmd)?, cmd.start_line)),
        (Some(mut entry), cmd) => {
            let line = entrypoint.map_or(0, |i| i.start_line);
            if let (Some(cmd), true) = (cmd, entrypoint.is_some_and(|i| i.exec_form.is_some())) {
                if let Some(argv) = &cmd.exec_form {
                    entry.args.extend(argv.iter().cloned());
                } else {
                    entry.args.extend(cmd.command_text().split_whitespace().map(str::to_string));
                }
            }
            Some((entry, line))
        }
        (None, Some(cmd)) => Some((first(cmd)?, cmd.start_line)),
        (None, None) => None,
    }
}

/// A finding when the file creates a user it never switches to and starts a script from the
/// build context that could not be read (no context, stdin): images built this way (the
/// official postgres and redis images among them) usually start as root and step down to
/// that user in the script (`gosu`, `su-exec`) or through the daemon's own configuration
/// (`User clamav`), which a `USER` would break. Only the script can tell, so dockfix does not
/// guess; with the script readable, [`entrypoint_script_needs_root`] decides.
fn unread_script_with_unused_user(instructions: &[&Instruction], scripts: &[Script]) -> Option<Finding> {
    let script = scripts.iter().find(|script| script.commands.is_none() && script.looks_like_a_script())?;
    // The user the fix would choose; else one whose name is a variable (`adduser $TOR_USER`).
    let user = runtime_user_created(instructions).map(|chosen| chosen.name).or_else(|| {
        instructions.iter().filter(|i| i.is("RUN")).rev().find_map(|run| {
            let resolved = resolve_variables(instructions, &run.command_text(), run.span.start)?;
            let user = created_users(&resolved)
                .into_iter()
                .rev()
                .find(|user| !HELPER_ACCOUNTS.contains(&user.name.as_str()))?;
            Some(user.name)
        })
    })?;
    let line = script.copied_by.start_line;
    Some(Finding::new(
        ID,
        line,
        format!(
            "the image creates user `{user}` but never switches to it, and starts `{}` (from `{}`, copied on line {line}), which could not be read from the build context: images built this way usually start as root and step down to `{user}` in that script (gosu, su-exec) or through the daemon's own configuration, which a `USER` would break. Left as is; run dockfix with the build context, or check the script and add `USER {user}` by hand if it does not need root ({})",
            script.image_path,
            script.context_path,
            silence_hint(line)
        ),
    ))
}

/// A finding when the container starts a shell, a language REPL or a build tool with nothing
/// to run (only options): a toolchain or interactive image, which users run with their own
/// command or build upon (`FROM` it, then `RUN apt-get ...`). A `USER` here would be
/// inherited by every image built from it.
fn interactive_start(instructions: &[&Instruction]) -> Option<Finding> {
    let (command, line) = started_program(instructions)?;
    if !is_interactive_program(command.program()) || command.args.iter().any(|arg| !arg.starts_with('-')) {
        return None;
    }
    Some(Finding::new(
        ID,
        line,
        format!(
            "the container starts `{}` with nothing to run: a shell, REPL or build tool, so this reads as a toolchain or interactive image that users run with their own command or build upon (a judgement from the file). A `USER` here would apply to every image built FROM it, whose `RUN apt-get`/`apk add` and build steps then fail as non-root: it belongs in those images. Left as is; if this image is run by itself as a service, add a `USER` by hand ({})",
            command.path,
            silence_hint(line)
        ),
    ))
}

/// What the fix's risk should add about the entrypoint: a script from the build context that
/// could not be read (no build context, stdin), so whether it drops privileges is unknown.
pub(super) fn unchecked_entrypoint(
    file: &Dockerfile,
    chain: &[&Stage],
    context: &dyn BuildContext,
) -> Option<String> {
    let instructions = chain_instructions(file, chain);
    let unread: Vec<String> = scripts(&instructions, context)
        .into_iter()
        .filter(|script| script.commands.is_none() && script.looks_like_a_script())
        .map(|script| format!("`{}` (from `{}`)", script.image_path, script.context_path))
        .collect();
    if unread.is_empty() {
        return None;
    }
    Some(format!(
        "the entrypoint script {} was not checked (it could not be read from the build context, or there was none, as with stdin): if it drops privileges itself (gosu, su-exec, setpriv, ...) it needs to start as root",
        unread.join(", ")
    ))
}

/// What the fix's risk should add about `ONBUILD RUN` triggers that do not plainly need root:
/// they run as the new user in every image built from this one.
pub(super) fn onbuild_runs(file: &Dockerfile, chain: &[&Stage], user: &str) -> Option<String> {
    let lines: Vec<String> = chain_instructions(file, chain)
        .into_iter()
        .filter(|instruction| instruction.is("ONBUILD"))
        .filter(|onbuild| {
            let trigger = onbuild.args.trim_start();
            trigger.get(..3).is_some_and(|keyword| keyword.eq_ignore_ascii_case("RUN"))
        })
        .map(|onbuild| onbuild.start_line.to_string())
        .collect();
    if lines.is_empty() {
        return None;
    }
    Some(format!(
        "the ONBUILD RUN on line {} runs as `{user}` in every image built FROM this one: it must be able to write where it works",
        lines.join(", ")
    ))
}

/// A finding for the first signal of the root-signal table: what the container starts (or
/// `--user root` given to it), then what the `RUN`s install, run or write, what `COPY`/`ADD`
/// write, and the `VOLUME`s.
fn root_signal(instructions: &[&Instruction]) -> Option<Finding> {
    let decline = |line: usize, what: &str, seen: &str, why: &str| {
        Finding::new(
            ID,
            line,
            format!(
                "`{what}` {seen} (line {line}): {why}: left as is; if it does not need root at run time, add a `USER` by hand ({})",
                silence_hint(line)
            ),
        )
    };
    for (_, start) in start_instructions(instructions) {
        let started = instruction_commands(start);
        if let Some((signal, written)) = started_signal(&started) {
            return Some(decline(start.start_line, &written, signal.seen.describe(), signal.why));
        }
        if let Some(argument) = user_root_argument(&started) {
            return Some(decline(start.start_line, &argument, "given to the program", USER_ROOT_ARGUMENT));
        }
        if let Some(argument) = step_down_argument(&started) {
            return Some(decline(start.start_line, &argument, "given to the program", STEP_DOWN_ARGUMENT));
        }
        if let Some(argument) = package_account_argument(&started, instructions) {
            return Some(decline(
                start.start_line,
                &argument,
                "given to the program",
                PACKAGE_ACCOUNT_ARGUMENT,
            ));
        }
    }
    // Opaque instructions are read too: reading is safe, only editing inside them is not.
    for instruction in instructions {
        if instruction.is("RUN") {
            if let Some((signal, written)) = run_signal(&instruction_commands(instruction)) {
                return Some(decline(instruction.start_line, &written, signal.seen.describe(), signal.why));
            }
        }
        if instruction.is("COPY") || instruction.is("ADD") {
            let destination = argument_values(instruction, DEFAULT_ESCAPE).pop();
            if let Some(signal) = destination.as_deref().and_then(path_signal) {
                return Some(decline(instruction.start_line, signal.what, Seen::Path.describe(), signal.why));
            }
        }
        if instruction.is("EXPOSE") {
            let exposed = instruction.words.iter().find_map(|word| exposed_signal(&word.text));
            if let Some(signal) = exposed {
                return Some(decline(
                    instruction.start_line,
                    signal.what,
                    signal.seen.describe(),
                    signal.why,
                ));
            }
        }
        if instruction.is("VOLUME") {
            let paths = argument_values(instruction, DEFAULT_ESCAPE);
            if let Some(signal) = paths.iter().find_map(|path| volume_signal(path)) {
                return Some(decline(
                    instruction.start_line,
                    signal.what,
                    signal.seen.describe(),
                    signal.why,
                ));
            }
        }
    }
    None
}

/// Why `-u NAME` naming an installed package means root.
const PACKAGE_ACCOUNT_ARGUMENT: &str = "the program is told to step down to the account of the package the file installs (distribution packages of daemons create one for them), which it does itself only when started as root, so the container must start as root";

/// `-u NAME` or `--user NAME` where `NAME` is also a package the file installs (`bareos-dir
/// -u bareos` after `apt-get install bareos`): a daemon told to step down to its package's
/// own account. A lone `-u` means other things to other programs (`python -u`), so only this
/// coincidence counts.
fn package_account_argument(started: &[Command], instructions: &[&Instruction]) -> Option<String> {
    let named_user =
        |command: &Command| command.args.windows(2).any(|pair| matches!(pair[0].as_str(), "-u" | "--user"));
    // The packages are read only for a start command that names a user: this runs per pass.
    if !started.iter().any(named_user) {
        return None;
    }
    let installed: Vec<String> = instructions
        .iter()
        .filter(|instruction| instruction.is("RUN"))
        .flat_map(|instruction| {
            instruction_commands(instruction)
                .iter()
                .flat_map(packages::installed_packages)
                .collect::<Vec<_>>()
        })
        .collect();
    started.iter().find_map(|command| {
        command.args.windows(2).find_map(|pair| {
            let named = matches!(pair[0].as_str(), "-u" | "--user") && installed.contains(&pair[1]);
            named.then(|| format!("{} {}", pair[0], pair[1]))
        })
    })
}

/// A finding when the entrypoint script, read from the build context, drops privileges
/// itself or starts a service that needs root.
fn entrypoint_script_needs_root(scripts: &[Script]) -> Option<Finding> {
    scripts.iter().find_map(|script| {
        let commands = script.commands.as_ref()?;
        let origin = format!(
            "the entrypoint script `{}` (`{}` in the build context, copied on line {})",
            script.image_path, script.context_path, script.copied_by.start_line
        );
        let line = script.copied_by.start_line;
        if let Some((dropper, at)) = commands.iter().find_map(|command| Some((privilege::dropper(command)?, command.line))) {
            let chowns = commands.iter().any(|command| command.line < at && command.program() == "chown");
            let what = if chowns { "changes the owner of its files (`chown`) and then drops" } else { "drops" };
            return Some(Finding::new(
                ID,
                line,
                format!(
                    "{origin} {what} privileges with `{dropper}` (its line {at}), so the container must start as root: left as is"
                ),
            ));
        }
        if let Some((signal, written)) = started_signal(commands) {
            return Some(Finding::new(
                ID,
                line,
                format!("{origin} starts `{written}`: {}, so the container must start as root: left as is", signal.why),
            ));
        }
        // Only root may give files to another user (chown(2)): a script that does so at
        // start (volumes handed to a service account) needs root even without stepping down.
        if let Some(chown) = commands.iter().find(|command| command.program() == "chown") {
            return Some(Finding::new(
                ID,
                line,
                format!(
                    "{origin} changes the owner of files with `chown` (its line {}), which only root may do, so the container must start as root: left as is",
                    chown.line
                ),
            ));
        }
        // What plainly needs root at build time needs it at start too: installing packages,
        // creating users, writing system directories.
        let (why, at) = commands.iter().find_map(|command| Some((needs_root(command)?, command.line)))?;
        Some(Finding::new(
            ID,
            line,
            format!("{origin} {why} (its line {at}), which needs root, so the container must start as root: left as is"),
        ))
    })
}

/// A finding when the last `USER` of the image is root: the author wrote it, so it is
/// intent (a service that needs root, work left for the entrypoint), not an omission, even
/// when root work follows it.
fn explicit_root_user(instructions: &[&Instruction]) -> Option<Finding> {
    let last_user = instructions.iter().rfind(|instruction| instruction.is("USER"))?;
    if !is_root(&last_user.args) {
        return None;
    }
    let line = last_user.start_line;
    Some(Finding::new(
        ID,
        line,
        format!(
            "the image switches back to root on purpose (`USER {}` on line {line} is its last USER): left as is; if the root work after it is done, add a `USER` by hand at the end ({})",
            last_user.args.trim(),
            silence_hint(line)
        ),
    ))
}

/// A finding when the final stage declares `ONBUILD` triggers of its own: they run only in
/// images built FROM this one, so it is a base for other images (whatever its `CMD`), and a
/// `USER` here would apply to all of them and to their builds.
fn onbuild_base(own_instructions: &[Instruction]) -> Option<Finding> {
    let onbuild = own_instructions.iter().find(|instruction| instruction.is("ONBUILD"))?;
    let line = onbuild.start_line;
    Some(Finding::new(
        ID,
        line,
        format!(
            "the image declares ONBUILD triggers (line {line}), which run only in images built FROM it: it is a base for other images, and a `USER` here would apply to all of them and to their builds. Left as is; the images built from it should add the `USER` ({})",
            silence_hint(line)
        ),
    ))
}

/// Package managers and installers whose install needs root (system paths).
const ROOT_INSTALLERS: &[&str] =
    &["pip", "pip3", "npm", "gem", "docker-php-ext-install", "docker-php-ext-enable", "pecl"];

/// Directories only root may write.
const ROOT_OWNED_DIRS: &[&str] = &["/usr", "/etc", "/opt", "/var", "/bin", "/sbin", "/lib"];

/// Why a command needs root, if it plainly does: it installs packages, creates users, or
/// writes under a root-owned directory.
fn needs_root(command: &Command) -> Option<String> {
    let program = command.program();
    if packages::installs_packages(command) {
        return Some(format!("installs packages (`{program}`)"));
    }
    let installs = command.operands().next().is_some_and(|sub| sub == "install");
    let user_install = command.args.iter().any(|arg| arg == "--user");
    if ROOT_INSTALLERS.contains(&program)
        && (installs || program.starts_with("docker-php-ext"))
        && !user_install
    {
        return Some(format!("installs system-wide (`{program}`)"));
    }
    if privilege::creates_users(command) {
        return Some(format!("creates users (`{program}`)"));
    }
    let writers = ["mkdir", "cp", "mv", "ln", "touch", "chmod", "chown", "install", "rm", "sed"];
    let under_root_dir = |path: &str| {
        ROOT_OWNED_DIRS.iter().any(|dir| path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/')))
    };
    let written = if writers.contains(&program) {
        command.operands().find(|path| under_root_dir(path))
    } else {
        redirect_targets(command).into_iter().find(|path| under_root_dir(path))
    };
    written.map(|path| format!("writes `{path}`"))
}

/// A finding when an `ONBUILD RUN` needs root: it runs in every image built from this one,
/// after this image's `USER`, so adding one breaks their builds.
fn onbuild_needs_root(instructions: &[&Instruction]) -> Option<Finding> {
    instructions.iter().filter(|instruction| instruction.is("ONBUILD")).find_map(|onbuild| {
        let trigger = onbuild.command_text();
        let (keyword, rest) = trigger.trim_start().split_once(char::is_whitespace)?;
        if !keyword.eq_ignore_ascii_case("RUN") {
            return None;
        }
        let rest = rest.trim_start();
        // An exec-form trigger (`ONBUILD RUN ["apk", "add", "x"]`) read as its words: the
        // JSON punctuation is no part of the command.
        let triggered = if rest.starts_with('[') {
            commands(&rest.replace(['[', ']', ',', '"'], " "))
        } else {
            commands(rest)
        };
        let why = triggered.iter().find_map(needs_root)?;
        let line = onbuild.start_line;
        Some(Finding::new(
            ID,
            line,
            format!(
                "the `ONBUILD RUN` on line {line} {why}: it runs in every image built FROM this one, after this image's last USER, so a non-root `USER` here breaks their builds: left as is; the images built from it should add the `USER`"
            ),
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
    // No fragment holds a newline, and a newline ends a word: the pieces of the text answer
    // as the whole text would, and no text is built for every instruction of every pass.
    let fragment = PRIVILEGE_DROP_FRAGMENTS
        .iter()
        .find(|fragment| text_pieces(instruction).any(|piece| piece.contains(**fragment)));
    if let Some(fragment) = fragment {
        return Some(fragment);
    }
    // A word names a tool only if the text holds the tool's name: most texts hold none, and
    // are not cut into words at all.
    text_pieces(instruction)
        .filter(|piece| PRIVILEGE_DROPPERS.iter().any(|tool| piece.contains(tool)))
        .flat_map(tool_words)
        .find_map(dropper_named)
}

/// The words a tool's name is looked for in: runs of ASCII letters, digits, `-`, `_`, `.`
/// and `/`. Cut by bytes, as every byte of a word is ASCII: no char is decoded, and each word
/// ends on a char boundary.
fn tool_words(text: &str) -> impl Iterator<Item = &str> {
    let in_word = |byte: &u8| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'/');
    let bytes = text.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        let start = at + bytes[at..].iter().position(in_word)?;
        at = bytes[start..]
            .iter()
            .position(|byte| !in_word(byte))
            .map_or(bytes.len(), |length| start + length);
        text.get(start..at)
    })
}

/// The first of [`PRIVILEGE_DROPPERS`] that `word` names ([`names_tool`]). A word without a
/// slash names a tool only by being it, which spares the other checks for most words.
fn dropper_named(word: &str) -> Option<&'static str> {
    if !word.contains('/') {
        return PRIVILEGE_DROPPERS.iter().find(|tool| **tool == word).copied();
    }
    PRIVILEGE_DROPPERS.iter().find(|tool| names_tool(word, tool)).copied()
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use crate::engine::{run, Report};
    use crate::options::Options;
    use crate::rules::non_root_user::NonRootUser;
    use crate::transform::{BuildContext, NoBuildContext, SourceKind};

    /// A build context of files held in memory.
    struct Files(HashMap<&'static str, &'static str>);

    impl BuildContext for Files {
        fn classify(&self, _source: &str) -> SourceKind {
            SourceKind::Unknown
        }

        fn read_text(&self, path: &str) -> Option<String> {
            self.0.get(path).map(|text| text.to_string())
        }
    }

    fn outcome_in(input: &str, context: &dyn BuildContext) -> (String, Vec<Report>) {
        let outcome = run(input, &[&NonRootUser], context, &Options::default()).unwrap();
        let again = run(&outcome.output, &[&NonRootUser], context, &Options::default()).unwrap();
        assert_eq!(again.output, outcome.output, "idempotent");
        (outcome.output, outcome.reports)
    }

    /// The file is left as is, with one finding without fix whose message holds `reason`.
    fn assert_declined(input: &str, context: &dyn BuildContext, reason: &str) -> String {
        let (out, reports) = outcome_in(input, context);
        assert_eq!(out, input, "{input}");
        assert_eq!(reports.len(), 1, "{input}: {reports:?}");
        assert!(!reports[0].fixed, "{input}");
        assert!(reports[0].message.contains(reason), "{input}: {}", reports[0].message);
        reports[0].message.clone()
    }

    /// The file gets its `USER`; returns the risk.
    fn assert_fixed(input: &str, context: &dyn BuildContext) -> String {
        let (out, reports) = outcome_in(input, context);
        assert_ne!(out, input, "{input}: {reports:?}");
        assert!(reports.iter().all(|report| report.fixed), "{input}: {reports:?}");
        reports[0].risk.clone().unwrap_or_default()
    }

    fn files(entries: &[(&'static str, &'static str)]) -> Files {
        Files(entries.iter().copied().collect())
    }

    const GOSU_SCRIPT: &str =
        "#!/bin/sh\nset -e\nif [ \"$(id -u)\" = 0 ]; then\n  exec gosu app \"$@\"\nfi\nexec \"$@\"\n";

    #[test]
    fn entrypoint_scripts_that_drop_privileges_are_read_from_the_context() {
        let context = files(&[
            ("docker-entrypoint.sh", GOSU_SCRIPT),
            (
                "scripts/start.sh",
                "chown -R app /data\nexec setpriv --reuid=app --regid=app --init-groups \"$@\"\n",
            ),
            ("bin/run", "#!/bin/sh\nsu app -c 'exec server'\n"),
            ("s6.sh", "exec s6-setuidgid app server\n"),
            ("chroot.sh", "exec chroot --userspec=app:app / server\n"),
        ]);
        for (input, reason) in [
            ("FROM debian\nCOPY docker-entrypoint.sh /usr/local/bin/\nENTRYPOINT [\"docker-entrypoint.sh\"]\nCMD [\"server\"]\n", "with `gosu` (its line 4)"),
            ("FROM debian\nWORKDIR /app\nCOPY scripts/ ./bin/\nENTRYPOINT [\"bin/start.sh\"]\n", "(`chown`) and then drops privileges with `setpriv`"),
            ("FROM debian\nWORKDIR /srv\nCOPY . .\nCMD [\"./bin/run\"]\n", "`su -c`"),
            ("FROM debian\nCOPY s6.sh /s6.sh\nCMD /s6.sh --flag\n", "`s6-setuidgid`"),
            ("FROM debian\nCOPY chroot.sh /usr/bin/start\nENTRYPOINT [\"tini\", \"--\", \"start\"]\n", "`chroot --userspec`"),
            ("FROM debian\nCOPY [\"scripts/start.sh\", \"/start.sh\"]\nCMD [\"bash\", \"/start.sh\"]\n", "`setpriv`"),
            // An explicit `USER root` just before it is intent: the script's reason is given.
            ("FROM debian\nUSER app\nUSER root\nCOPY docker-entrypoint.sh /e.sh\nENTRYPOINT [\"/e.sh\"]\n", "`gosu`"),
        ] {
            let message = assert_declined(input, &context, reason);
            assert!(message.contains("in the build context, copied on line"), "{message}");
        }
    }

    #[test]
    fn entrypoint_scripts_that_need_root_without_stepping_down_decline() {
        let context = files(&[
            ("chown.sh", "#!/bin/sh\nset -e\nchown -R www-data:www-data /web/data\nexec \"$@\"\n"),
            ("install.sh", "#!/bin/sh\napk add --no-cache tzdata\nexec \"$@\"\n"),
            ("own.sh", "#!/bin/sh\nchmod 600 /app/key\nmkdir -p /app/cache\nexec \"$@\"\n"),
        ]);
        for (script, reason) in [
            ("chown.sh", "changes the owner of files with `chown` (its line 3)"),
            ("install.sh", "installs packages (`apk`) (its line 2)"),
        ] {
            let input = format!(
                "FROM alpine\nCOPY {script} /entry.sh\nENTRYPOINT [\"/entry.sh\"]\nCMD [\"php-fpm\"]\n"
            );
            let message = assert_declined(&input, &context, reason);
            assert!(message.contains("the entrypoint script `/entry.sh`"), "{message}");
        }
        assert_fixed(
            "FROM alpine\nCOPY own.sh /entry.sh\nENTRYPOINT [\"/entry.sh\"]\nCMD [\"x\"]\n",
            &context,
        );
    }

    #[test]
    fn entrypoint_scripts_that_do_not_drop_privileges_are_fixed() {
        let context = files(&[
            ("entry.sh", "#!/bin/sh\n# gosu is not used here: https://github.com/tianon/gosu\necho 'no su-exec' setpriv\nexec \"$@\"\n"),
            ("other.sh", GOSU_SCRIPT),
        ]);
        for input in [
            "FROM debian\nCOPY entry.sh /entry.sh\nENTRYPOINT [\"/entry.sh\"]\n",
            // The script that drops is copied somewhere the container does not start from.
            "FROM debian\nCOPY other.sh /opt/tools/other.sh\nCOPY entry.sh /entry.sh\nENTRYPOINT [\"/entry.sh\"]\n",
            // A later COPY from another stage replaces the context's file.
            "FROM debian AS b\nRUN true\nFROM debian\nCOPY other.sh /e.sh\nCOPY --from=b /bin/true /e.sh\nENTRYPOINT [\"/e.sh\"]\n",
        ] {
            let risk = assert_fixed(input, &context);
            assert!(!risk.contains("not checked"), "{input}: {risk}");
        }
    }

    #[test]
    fn an_unread_entrypoint_script_is_named_in_the_risk() {
        let input =
            "FROM debian\nCOPY docker-entrypoint.sh /usr/local/bin/\nENTRYPOINT [\"docker-entrypoint.sh\"]\n";
        let risk = assert_fixed(input, &NoBuildContext);
        assert!(
            risk.contains("the entrypoint script `/usr/local/bin/docker-entrypoint.sh` (from `docker-entrypoint.sh`) was not checked"),
            "{risk}"
        );
        let risk = assert_fixed(
            "FROM debian\nCOPY app /app\nCMD [\"python3\", \"/app/main.py\"]\n",
            &NoBuildContext,
        );
        assert!(!risk.contains("entrypoint script"), "not a script from the context: {risk}");
        let config_file =
            "FROM debian\nWORKDIR /srv/app\nCOPY config.txt /srv/app/\nCMD [\"/srv/app/run\"]\n";
        let risk = assert_fixed(config_file, &NoBuildContext);
        assert!(!risk.contains("entrypoint script"), "a file copied into the directory is not `run`: {risk}");
        let into_root = "FROM debian\nADD entrypoint.sh /\nENTRYPOINT [\"/entrypoint.sh\"]\n";
        let risk = assert_fixed(into_root, &NoBuildContext);
        assert!(
            risk.contains("`/entrypoint.sh` (from `entrypoint.sh`) was not checked"),
            "copied into `/`: {risk}"
        );
        let binary = "FROM debian\nCOPY build/server /usr/local/bin/server\nCMD [\"server\"]\n";
        let risk = assert_fixed(binary, &NoBuildContext);
        assert!(!risk.contains("entrypoint script"), "a program, not named as a script: {risk}");
    }

    #[test]
    fn root_signals_are_declined_with_their_name() {
        for (input, reason) in [
            (
                "FROM debian\nRUN apt-get update && apt-get install -y cron\nCMD [\"python3\", \"x.py\"]\n",
                "`cron` installed (line 2)",
            ),
            ("FROM alpine\nCOPY crontab /etc/crontabs/root\nCMD [\"x\"]\n", "`/etc/crontabs/` written"),
            ("FROM debian\nCMD cron && tail -f /var/log/cron.log\n", "`cron` started by the container"),
            (
                "FROM debian\nRUN apt-get install -y openssh-server\nCMD [\"/usr/sbin/sshd\", \"-D\"]\n",
                "`/usr/sbin/sshd` started",
            ),
            ("FROM debian\nRUN apt-get install -y runit\nCMD [\"x\"]\n", "`runit` installed"),
            ("FROM debian\nCOPY svc/ /etc/service/app/\nCMD [\"x\"]\n", "`/etc/service/` written"),
            ("FROM debian\nCOPY [\"jobs\", \"/etc/cron.d/jobs\"]\nCMD [\"x\"]\n", "`/etc/cron.d/` written"),
            ("FROM debian\nCMD [\"s6-svscan\", \"/etc/s6\"]\n", "`s6-svscan`"),
            ("FROM debian\nRUN apt-get install -y postfix\nCMD x\n", "`postfix` installed"),
            ("FROM ubuntu:24.04\nRUN /bd_build/prepare.sh\nCMD [\"/sbin/my_init\"]\n", "`/sbin/my_init` started"),
            ("FROM ubuntu:14.04\nRUN apt-get install -y mumble-server\nCMD /usr/sbin/murmurd\n", "`mumble-server` installed"),
            (
                "FROM alpine\nRUN apk add py3-pip && pip install awscli && mkdir -p /root/.aws && echo '[default]' > /root/.aws/config\nENTRYPOINT [\"aws\"]\n",
                "a RUN writes `/root/.aws/config` in root's home",
            ),
            (
                "FROM centos:7\nRUN yum -y install mongodb-server && mkdir -p /data/db\nENTRYPOINT [\"/usr/bin/mongod\"]\n",
                "`mongodb-server` installed (line 2): the distribution's server package",
            ),
            (
                "FROM debian\nCMD [\"sh\", \"-c\", \"service nginx start && tail -f /dev/null\"]\n",
                "`service nginx` started",
            ),
            (
                "FROM debian\nRUN echo 'app ALL=(ALL) NOPASSWD:ALL' >> /etc/sudoers\nCMD x\n",
                "`/etc/sudoers` written",
            ),
            ("FROM debian\nRUN apt-get install -y iptables\nCMD x\n", "CAP_NET_ADMIN"),
            (
                "FROM debian\nRUN mkdir -p /dev/net && mknod /dev/net/tun c 10 200\nCMD x\n",
                "`mknod` run at build time",
            ),
            ("FROM debian\nVOLUME [\"/var/lib/docker\"]\nCMD x\n", "Docker-in-Docker"),
            (
                "FROM r.j3ss.co/masscan\nCOPY k8scan /usr/bin/k8scan\nENTRYPOINT [\"k8scan\"]\n",
                "`r.j3ss.co/masscan` is the base image (line 1): it sends raw packets, which needs CAP_NET_RAW",
            ),
            ("FROM alpine\nRUN apk add masscan\nENTRYPOINT [\"scan.sh\"]\n", "`masscan` installed"),
            (
                "FROM debian\n# docker run -d -v /var/run/docker.sock:/var/run/docker.sock img\nCMD [\"agent\"]\n",
                "`/var/run/docker.sock` in the documented run command (line 2)",
            ),
            (
                "FROM centos:7\nLABEL RUN=\"docker run -d --privileged --net=host IMAGE\"\nCMD [\"kubelet\"]\n",
                "`--privileged` in a LABEL (line 2)",
            ),
            ("FROM alpine\nENTRYPOINT [\"virsh\", \"-c\", \"qemu:///system\"]\n", "`qemu:///system` given to the container"),
            (
                "FROM alpine\n# docker run -d \\\n#\t-v $HOME/slides:/root/slides \\\n#\tjess/libreoffice\nENTRYPOINT [\"libreoffice\"]\n",
                "`-v $HOME/slides:/root/slides` in the documented run command (line 3): the files are mounted into root's home",
            ),
            ("FROM centos:7\nEXPOSE 22/tcp 8080\nCMD [\"sh\", \"/start.sh\"]\n", "`22` exposed (line 2): sshd"),
            ("FROM debian\nENTRYPOINT [\"dockerd-entrypoint.sh\"]\n", "Docker-in-Docker"),
            ("FROM debian\nENTRYPOINT [\"agent\", \"--user=root\"]\n", "`--user root` given to the program"),
            (
                "FROM debian\nRUN apt-get install -y nginx\nCMD [\"nginx\", \"-g\", \"daemon off;\"]\n",
                "`nginx` started",
            ),
            ("FROM centos:7\nCMD [\"/usr/sbin/httpd\", \"-DFOREGROUND\"]\n", "`/usr/sbin/httpd` started"),
            ("FROM debian\nRUN apt-get install -y apache2\nCOPY run.sh /run.sh\nCMD [\"/run.sh\"]\n", "`apache2` installed"),
            ("FROM alpine\nRUN apk add php7 php7-apache2\nCMD [\"/run.sh\"]\n", "`php7-apache2` installed"),
            (
                "FROM debian\nCMD [\"/usr/bin/rspamd\", \"-f\", \"-u\", \"_rspamd\", \"-g\", \"_rspamd\"]\n",
                "`-u _rspamd -g _rspamd` given to the program",
            ),
            ("FROM debian\nCMD agent --user=nobody --group nogroup\n", "`--user nobody --group nogroup` given to the program"),
            ("FROM alpine\nRUN apk add nginx\nCOPY site.conf /etc/nginx/http.d/\nCMD [\"/start\"]\n", "`/etc/nginx/` written"),
            (
                "FROM debian\n# docker run -d \\\n#\t--device /dev/snd \\\n#\timg\nCMD [\"game\"]\n",
                "`--device` in the documented run command (line 3)",
            ),
        ] {
            let message = assert_declined(input, &NoBuildContext, reason);
            assert!(message.contains("ignore=non-root-user` above line"), "{message}");
        }
    }

    #[test]
    fn words_that_only_look_like_signals_are_not_signals() {
        for input in [
            "FROM debian\nRUN curl -fsSL https://example.com/cron/install.sh -o /tmp/cron.sh\nCMD [\"x\"]\n",
            "FROM python:3.12\nRUN pip install python-crontab sshd-config\nCMD [\"python\", \"cron.py\"]\n",
            "FROM debian\nRUN apt-get install -y nginx\nCMD [\"python3\", \"app.py\"]\n",
            "FROM debian\nRUN echo nginx cron sshd > /tmp/names\nCMD [\"/app/cron-runner\", \"--user\", \"app\"]\n",
            "FROM debian\nCOPY etc/service.conf /srv/etc/service/x\nCMD x\n",
            "FROM debian\nVOLUME /var/lib/docker-data\nCMD x\n",
            "FROM debian\nEXPOSE 2222 8022/tcp\nCMD x\n",
            // Shell startup files serve interactive shells, not the program.
            "FROM debian\nRUN echo 'alias ll=\"ls -l\"' >> /root/.bashrc\nCMD [\"x\"]\n",
            // A lone `-u` means other things: unbuffered Python, memcached's optional user.
            "FROM python:3.12\nCMD [\"python\", \"-u\", \"app.py\"]\n",
            "FROM debian\nCMD [\"memcached\", \"-u\", \"daemon\"]\n",
            // A run line without host access, and a comment that is not a run line.
            "FROM debian\n# docker run -d -p 8080:8080 -v data:/data img\n# see /var/run/docker.sock docs\nCMD x\n",
            "FROM debian\n# docker run -v $HOME/.rootrc:/rootless/x -v data:/root2 img\nCMD x\n",
            // BusyBox's one-process httpd on a port of its own runs as anyone.
            "FROM busybox:1.36\nCOPY site /www\nCMD [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n",
        ] {
            assert_fixed(input, &NoBuildContext);
        }
    }

    #[test]
    fn check_stages_that_start_nothing_are_left_alone() {
        for (input, name) in [
            ("FROM golang:1.22 AS lint\nRUN go vet ./...\nFROM lint\n", "`lint`"),
            ("FROM alpine AS validate-docs\nCOPY . .\nRUN ./check.sh\n", "`validate-docs`"),
        ] {
            assert_declined(input, &NoBuildContext, name);
        }
        // A stage named like a check that starts a program is an image to run.
        assert_fixed(
            "FROM python:3.12 AS test\nCOPY . /app\nCMD [\"python\", \"/app/x.py\"]\n",
            &NoBuildContext,
        );
        // `testing` is not `test`.
        let (_, reports) = outcome_in("FROM alpine AS testing\nCOPY app /app\n", &NoBuildContext);
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert!(!reports[0].message.contains("check stage"), "{}", reports[0].message);
    }

    #[test]
    fn a_final_user_root_is_intent() {
        for (input, line) in [
            ("FROM debian\nUSER app\nUSER root\nCMD x\n", 3),
            ("FROM debian\nRUN useradd app\nUSER app\nRUN make\nUSER 0:0\nRUN apt-get install -y x\nCMD x\n", 5),
            // Root work after it and then nothing: still explicit.
            ("FROM debian\nUSER root\nRUN apt-get install -y x\n", 2),
            ("FROM debian AS base\nUSER root\nFROM base\nCOPY a /a\nCMD x\n", 2),
        ] {
            let message = assert_declined(input, &NoBuildContext, "switches back to root on purpose");
            assert!(message.contains(&format!("above line {line} silences")), "{message}");
        }
        let suppressed = "FROM debian\nUSER app\n# dockfix: ignore=non-root-user\nUSER root\nCMD x\n";
        let (out, reports) = outcome_in(suppressed, &NoBuildContext);
        assert_eq!(out, suppressed);
        assert!(reports.is_empty(), "{reports:?}");
        // Not written: the base's root is an omission, fixed.
        assert_fixed("FROM debian\nRUN apt-get install -y x\nCMD x\n", &NoBuildContext);
    }

    #[test]
    fn onbuild_triggers_that_need_root_decline() {
        for (input, why) in [
            (
                "FROM debian\nONBUILD RUN apt-get update && apt-get install -y $(cat pkgs)\nCMD x\n",
                "installs packages (`apt-get`)",
            ),
            (
                "FROM node:20\nONBUILD RUN [\"npm\", \"install\", \"-g\", \"pm2\"]\nCMD x\n",
                "installs system-wide (`npm`)",
            ),
            (
                "FROM php:8.3-cli\nONBUILD RUN docker-php-ext-install pdo_mysql\nCMD x\n",
                "`docker-php-ext-install`",
            ),
            ("FROM node:20\nONBUILD RUN mkdir -p /usr/src/app\nCMD x\n", "writes `/usr/src/app`"),
            ("FROM debian\nONBUILD RUN useradd svc\nCMD x\n", "creates users"),
        ] {
            let message = assert_declined(input, &NoBuildContext, why);
            assert!(message.contains("every image built FROM this one"), "{message}");
        }
        // Triggers that do not need root still make the image a base for other images.
        for input in [
            "FROM node:20\nWORKDIR /app\nONBUILD COPY . .\nONBUILD RUN npm run build\nCMD x\n",
            "FROM node:20\nONBUILD ENV NODE_ENV=production\nCMD x\n",
        ] {
            assert_declined(input, &NoBuildContext, "declares ONBUILD triggers");
        }
    }

    #[test]
    fn base_images_for_other_images_decline_with_their_evidence() {
        for (input, evidence) in [
            (
                "FROM golang:1.22\nRUN go install example.com/tool@latest\n",
                "`golang:1.22` is a toolchain or OS image whose own CMD is `bash`",
            ),
            ("FROM rust:1.80\nRUN cargo install cargo-chef\n", "own CMD is `bash`"),
            ("FROM ruby:3.3\nRUN gem install bundler\nENV BUNDLE_PATH=/usr/local/bundle\n", "`irb`"),
            ("FROM php:8.3-cli\nRUN docker-php-ext-install pdo\n", "`php -a`"),
            (
                "FROM lukemathwalker/cargo-chef:latest-rust-1\nRUN cargo install sccache\n",
                "toolchain or OS image",
            ),
            ("FROM ubuntu:24.04\nRUN apt-get update && apt-get install -y build-essential\n", "`/bin/bash`"),
            ("FROM example/base\nENV GOPATH=/go\nRUN go install x@latest\n", "toolchain ENV (GOPATH)"),
            ("FROM example/base\nENV JAVA_HOME /opt/java\nRUN x\n", "toolchain ENV (JAVA_HOME)"),
            ("FROM example/base\nONBUILD COPY . /src\n", "ONBUILD triggers (line 2)"),
            ("FROM debian:12\n", "own CMD is `bash`"),
            ("FROM scratch\nCOPY certs /etc/ssl/certs\n", "`scratch` has no CMD at all"),
        ] {
            let message = assert_declined(input, &NoBuildContext, evidence);
            assert!(message.contains("judgement from the file, not a fact"), "{message}");
            assert!(message.contains("in the images built from it"), "{message}");
        }
    }

    #[test]
    fn application_images_without_their_own_cmd_are_fixed() {
        for input in [
            // The base's CMD is a server: inherited.
            "FROM tomcat:10\nCOPY app.war /usr/local/tomcat/webapps/\n",
            "FROM php:8.3-apache\nCOPY src/ /var/www/html/\n",
            "FROM php:8.3-fpm\nRUN docker-php-ext-install pdo\n",
            // An application copied in, run with a command.
            "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n",
            "FROM golang:1.22 AS build\nRUN go build -o /out/app\nFROM debian:12\nCOPY --from=build /out/app /app\n",
            "FROM node:20\nCOPY server.js ./\n",
        ] {
            assert_fixed(input, &NoBuildContext);
        }
    }

    #[test]
    fn unknown_bases_without_a_command_and_scratch_without_a_command_decline() {
        assert_declined(
            "FROM example/app-base\nRUN apt-get install -y x\n",
            &NoBuildContext,
            "does not know what",
        );
        // An application copied into an unknown base that sets no command: an app that
        // inherits the base's CMD, or a base for others; its entrypoint and users unknown.
        assert_declined(
            "FROM example/app-base\nCOPY app /srv/app\n",
            &NoBuildContext,
            "cannot tell an application that inherits that image's CMD from a base for other images (this file copies files in on line 2",
        );
        assert_declined(
            "FROM nextcloud:fpm\nRUN apt-get install -y smbclient\n",
            &NoBuildContext,
            "nextcloud",
        );
        assert_declined(
            "FROM alpine AS gen\nRUN make\nFROM scratch\nCOPY --from=gen /out /\n",
            &NoBuildContext,
            "nothing runs in it by itself",
        );
    }

    #[test]
    fn toolchain_start_commands_decline_and_programs_with_work_are_fixed() {
        for (input, program) in [
            ("FROM openjdk:8-jdk-alpine\nRUN apk add bash\nENTRYPOINT /bin/bash\n", "/bin/bash"),
            ("FROM ubuntu:14.04\nRUN apt-get install -y python3.4\nCMD []\nENTRYPOINT [\"/usr/bin/python3.4\"]\n", "/usr/bin/python3.4"),
            (
                "FROM eclipse-temurin:17\nCOPY mvn-entrypoint.sh /usr/local/bin/\nENTRYPOINT [\"/usr/local/bin/mvn-entrypoint.sh\"]\nCMD [\"mvn\"]\n",
                "mvn",
            ),
            ("FROM debian\nCMD [\"bash\", \"-l\"]\n", "bash"),
        ] {
            assert_declined(input, &NoBuildContext, &format!("starts `{program}` with nothing to run"));
        }
        for input in [
            "FROM python:3.12\nCOPY app.py /app/\nCMD [\"python\", \"/app/app.py\"]\n",
            "FROM debian\nCMD [\"bash\", \"-c\", \"exec /srv/run\"]\n",
            "FROM node:20\nCOPY . /app\nENTRYPOINT [\"node\"]\nCMD [\"/app/server.js\"]\n",
            "FROM debian\nRUN apt-get install -y telnet\nENTRYPOINT [\"telnet\"]\n",
        ] {
            assert_fixed(input, &NoBuildContext);
        }
    }

    #[test]
    fn dev_container_bases_decline_even_with_files_copied() {
        assert_declined(
            "FROM mcr.microsoft.com/vscode/devcontainers/base:0-bullseye\nCOPY --from=upstream /opt /opt/\n",
            &NoBuildContext,
            "dev-container base",
        );
    }

    #[test]
    fn daemons_that_step_down_themselves_decline() {
        assert_declined(
            "FROM alpine\nRUN apk add freeradius\nENTRYPOINT [\"radiusd\"]\nCMD [\"-f\"]\n",
            &NoBuildContext,
            "radiusd",
        );
        assert_declined(
            "FROM centos:7\nRUN yum install -y vsftpd\nCMD [\"/usr/sbin/run.sh\"]\n",
            &NoBuildContext,
            "vsftpd",
        );
        assert_declined(
            "FROM alpine\nRUN apk add shorewall\nENTRYPOINT [\"/usr/sbin/shorewall\"]\n",
            &NoBuildContext,
            "shorewall",
        );
    }
}
