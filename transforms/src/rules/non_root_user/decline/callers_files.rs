//! Command-line tools that work on the caller's files: run as `docker run -v "$PWD":/src ...`,
//! they read and write files the host user owns. A fixed UID baked into the image cannot
//! write those (a host directory is typically `0755` and owned by the caller), and the
//! caller's own UID is only known at run time, where `--user "$(id -u):$(id -g)"` gives it.
//! So these images are left as they are, with that advice.

use crate::edit::Finding;
use crate::semantic::quoting::{argument_values, DEFAULT_ESCAPE};
use crate::semantic::shell::privilege::run_strips_setuid;
use crate::syntax::Instruction;

use super::super::ID;
use super::signals::path_matches;
use super::{silence_hint, started_program};

/// Programs whose job is to write the files the caller hands them: editors (vi/vim(1),
/// nvim, nano(1), micro, emacs, kakoune `kak`, helix `hx`, joe, mcedit) save the files they
/// open; terraform keeps `.terraform/` and its state in the working directory (Terraform
/// docs, "terraform init"); packer writes its artifacts under the working directory
/// (`output_directory`); pyinstaller writes `build/` and `dist/` beside the sources.
const CALLERS_FILES_PROGRAMS: &[&str] = &[
    "vi",
    "vim",
    "nvim",
    "nano",
    "micro",
    "emacs",
    "kak",
    "hx",
    "joe",
    "mcedit",
    "terraform",
    "packer",
    "pyinstaller",
];

/// Why a documented bind mount of the caller's own directory means the caller's user.
pub(super) const CALLERS_MOUNT: &str = "the container writes into a directory of the caller's, mounted from the host: a fixed UID in the image cannot write files the caller owns, and the caller's own UID is known only at run time, where `docker run --user \"$(id -u):$(id -g)\"` gives it";

const ADVICE: &str = "a fixed UID in the image cannot write files the caller owns, and the caller's own UID is known only at run time, where `docker run --user \"$(id -u):$(id -g)\"` gives it";

/// A finding when the container starts a program that works on the caller's files, or starts
/// one with `ENTRYPOINT` in a working directory the build leaves empty (where the caller
/// mounts them), and publishes no port.
pub(super) fn works_on_callers_files(instructions: &[&Instruction]) -> Option<Finding> {
    if instructions.iter().any(|instruction| instruction.is("EXPOSE")) {
        return None;
    }
    let (command, line) = started_program(instructions)?;
    let program = command.program();
    if CALLERS_FILES_PROGRAMS.contains(&program) {
        return Some(Finding::new(
            ID,
            line,
            format!(
                "the container starts `{}` (line {line}), a tool that writes the files the caller hands it, mounted from the host (`docker run -v \"$PWD\":/work ...`): {ADVICE}. Left as is; if it writes nothing it is given, add a `USER` by hand ({})",
                command.path,
                silence_hint(line)
            ),
        ));
    }
    if !instructions.iter().any(|instruction| instruction.is("ENTRYPOINT")) {
        return None;
    }
    let (directory, workdir_line) = empty_working_directory(instructions)?;
    Some(Finding::new(
        ID,
        workdir_line,
        format!(
            "the working directory {directory} (line {workdir_line}) receives nothing from the build and the container starts `{}` with ENTRYPOINT, publishing no port: this reads as a tool run on files the caller mounts there (`docker run -v \"$PWD\":{directory} ...`), a judgement from the file: {ADVICE}. Left as is; if it is a service that owns {directory}, add a `USER` by hand ({})",
            command.path,
            silence_hint(workdir_line)
        ),
    ))
}

/// A finding when the container starts nothing but a command that keeps it alive
/// (`sleep infinity`, `tail -f /dev/null`), alone or after an init script: it waits for users
/// to `docker exec` into it, as dev containers and toolboxes do, and is usually a base that
/// dev tooling builds on and runs as a user of its own choosing (`remoteUser`). A `USER`
/// here would also apply to every image built FROM it.
pub(super) fn keeps_alive(instructions: &[&Instruction]) -> Option<Finding> {
    let (command, line) = started_program(instructions)?;
    let words: Vec<&str> =
        std::iter::once(command.program()).chain(command.args.iter().map(String::as_str)).collect();
    let waits = words.windows(2).any(|pair| pair == ["sleep", "infinity"])
        || words.windows(3).any(|triple| triple == ["tail", "-f", "/dev/null"]);
    if !waits {
        return None;
    }
    Some(Finding::new(
        ID,
        line,
        format!(
            "the container only keeps itself alive (`{}` on line {line}): it waits for users to `docker exec` into it, as dev containers and toolboxes do, which pick their user when they run it (a dev container's `remoteUser`) or build on it; a `USER` here would apply to every image built FROM it. Left as is; if it is run by itself as a service, add a `USER` by hand ({})",
            words.join(" "),
            silence_hint(line)
        ),
    ))
}

/// The last `WORKDIR` (absolute, without variables, not `/`) when nothing is put in it: no
/// `COPY`/`ADD` writes under it (or over it), no `RUN` names it, and no `RUN` or relative
/// `COPY`/`ADD` comes after it (a `RUN` that only strips setuid bits aside).
fn empty_working_directory(instructions: &[&Instruction]) -> Option<(String, usize)> {
    let (at, workdir) =
        instructions.iter().enumerate().rev().find(|(_, instruction)| instruction.is("WORKDIR"))?;
    let directory = argument_values(workdir, DEFAULT_ESCAPE).pop()?;
    let directory = directory.trim_end_matches('/');
    if !directory.starts_with('/') || directory.contains('$') || directory.is_empty() {
        return None;
    }
    let inside = |path: &str| {
        path_matches(path, &format!("{directory}/"))
            || path_matches(directory, &format!("{}/", path.trim_end_matches('/')))
    };
    for (index, instruction) in instructions.iter().enumerate() {
        if instruction.is("COPY") || instruction.is("ADD") {
            let destination = argument_values(instruction, DEFAULT_ESCAPE).pop().unwrap_or_default();
            if (index > at && !destination.starts_with('/')) || inside(&destination) {
                return None;
            }
        }
        // A strip of setuid bits (strip-setuid's own, or the author's) writes no file there.
        let writes = instruction.is("RUN") && !run_strips_setuid(instruction);
        if writes && (index > at || instruction.args.contains(directory)) {
            return None;
        }
    }
    Some((directory.to_string(), workdir.start_line))
}

#[cfg(test)]
mod tests {
    use crate::engine::run;
    use crate::options::Options;
    use crate::rules::non_root_user::NonRootUser;
    use crate::rules::strip_setuid::StripSetuid;
    use crate::transform::NoBuildContext;

    const EMPTY_WORKDIR_TOOL: &str =
        "FROM alpine:3.20\nRUN apk add --no-cache upx\nWORKDIR /src\nENTRYPOINT [\"/usr/local/bin/pack.sh\"]\n";

    #[test]
    fn the_strip_of_setuid_bits_put_after_the_workdir_does_not_fill_it() {
        let outcome =
            run(EMPTY_WORKDIR_TOOL, &[&StripSetuid, &NonRootUser], &NoBuildContext, &Options::default())
                .unwrap();
        assert!(outcome.output.contains("chmod a-s"), "strip-setuid still fixes: {}", outcome.output);
        let non_root: Vec<_> =
            outcome.reports.iter().filter(|report| report.transform == "non-root-user").collect();
        assert_eq!(non_root.len(), 1, "{non_root:?}");
        assert!(!non_root[0].fixed && non_root[0].message.contains("working directory /src"), "{non_root:?}");
    }

    #[test]
    fn a_run_after_the_workdir_fills_it() {
        let input =
            EMPTY_WORKDIR_TOOL.replace("ENTRYPOINT", "RUN git clone https://example.com/x.git .\nENTRYPOINT");
        let outcome = run(&input, &[&NonRootUser], &NoBuildContext, &Options::default()).unwrap();
        assert!(outcome.reports.iter().all(|report| report.fixed), "{:?}", outcome.reports);
    }
}
