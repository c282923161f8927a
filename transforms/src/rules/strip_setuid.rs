//! # strip-setuid
//!
//! ## What it does
//!
//! Adds one `RUN` to the final stage that removes the setuid and setgid bits from every file
//! of the image's root filesystem, then checks that none is left:
//!
//! ```text
//! RUN find / -xdev -type f -perm -4000 -exec chmod a-s {} + \
//!       -o -type f -perm -2000 -exec chmod a-s {} + ; \
//!     find / -xdev -type f -perm -4000 -exec ls -l {} + -exec false {} + \
//!       -o -type f -perm -2000 -exec ls -l {} + -exec false {} +
//! ```
//!
//! The first `find` strips; a failure there (a file that vanished under it) only matters if it
//! left a bit behind, which the second `find` catches: it lists every setuid or setgid file
//! still on the image's filesystem and fails the build through `-exec false {} +` (a `+`
//! command that fails makes `find` fail), and it fails too when `find` itself cannot do its
//! work (it cannot search, it does not understand its arguments). Nothing is hidden behind
//! `|| true`. `-perm -4000` and `-perm -2000` are POSIX, so GNU `find` (Debian, RHEL) and
//! BusyBox `find` (Alpine) read them alike (older BusyBox lacks GNU's `-perm /6000`).
//!
//! It goes after the last package-installing `RUN` (apt-get, apk, dnf, yum, microdnf, zypper,
//! dpkg, rpm; options may sit before the subcommand: `apt-get -qqy install`) and before the first `USER`, `CMD`, `ENTRYPOINT` or `HEALTHCHECK` that follows
//! it, above the comments that describe that instruction and above the metadata (`EXPOSE`,
//! `LABEL`, `VOLUME`, `STOPSIGNAL`) that sits right before it. Keywords follow the file's casing.
//!
//! Only root can change root's files. When the stage already runs as a non-root user at that
//! point (a `USER` earlier in the file, or a base image that runs as one by its own
//! configuration, such as `jenkins/jenkins`), the strip is wrapped in `USER root` and a
//! `USER` back to exactly the user that was in effect (the `USER` value as written, or the
//! base image's user). When the instruction it goes before is the file's own `USER root`, it
//! goes right after that instead, with no switch of its own.
//!
//! Some designs depend on a setuid binary. The strip keeps (`! -name ...`) these, and only
//! when the file shows the design needs them; the finding names what it kept and why:
//!
//! | Binary | Kept when the file | Why |
//! |---|---|---|
//! | `sudo` | writes a sudoers entry (`/etc/sudoers`, `/etc/sudoers.d/`, `NOPASSWD`), builds on a dev-container image (whose user has passwordless sudo), or runs `sudo` in `CMD`/`ENTRYPOINT` or in the script they run (a `COPY` heredoc) | sudo needs its setuid bit to become root; installing `sudo` alone is no evidence, and it is stripped |
//! | `chrome-sandbox` | mentions `chrome-sandbox` or installs `google-chrome` or Chromium | Electron's and Chrome's sandbox helper must be setuid root where user namespaces are unavailable |
//! | `s6-overlay-suexec` | mentions `s6-overlay` or builds on a `linuxserver/` image | s6-overlay v3 starts its supervision tree through this setuid helper |
//!
//! ## Why
//!
//! A setuid-root binary (`su`, `passwd`, `mount`, `newgrp`, ...) is the classic way from a
//! compromised non-root process to root. Containers rarely need one: the CIS Docker Benchmark
//! (4.8) asks to remove setuid and setgid permissions from images. A strip that cannot fail
//! (`|| true`), or that runs as a non-root user, strips nothing and says nothing.
//!
//! ## Example
//!
//! ```dockerfile
//! FROM debian:12-slim
//! RUN apt-get update && apt-get install -y --no-install-recommends curl
//! USER app
//! CMD ["curl", "--version"]
//! ```
//!
//! becomes
//!
//! ```dockerfile
//! FROM debian:12-slim
//! RUN apt-get update && apt-get install -y --no-install-recommends curl
//! RUN find / -xdev -type f -perm -4000 -exec chmod a-s {} + \
//!       -o -type f -perm -2000 -exec chmod a-s {} + ; \
//!     find / -xdev -type f -perm -4000 -exec ls -l {} + -exec false {} + \
//!       -o -type f -perm -2000 -exec ls -l {} + -exec false {} +
//! USER app
//! CMD ["curl", "--version"]
//! ```
//!
//! Left alone, with a finding that says why: `scratch`, distroless and other shell-less bases
//! (no `find`, no shell to run it), Windows images (by name, by the `` # escape=` ``
//! directive, or by PowerShell, cmd or `.exe` commands), a base image behind an `ARG` without
//! a default when no `RUN` installs Linux packages (dockfix cannot tell what it is), and a
//! final stage whose user comes from an earlier stage's `USER $VARIABLE` (the variable is not
//! in scope to switch back to). A `RUN` that already does `find ... -perm ... chmod ...-s`
//! after the last package install counts as done.
//!
//! ## Fix safety
//!
//! Unsafe: a program that really needs its setuid bit (`ping` on old kernels, `su`, `sudo`
//! without the evidence above) stops working as it did. `-xdev` keeps the search on the
//! image's own filesystem. The build now fails where the strip cannot do its work (a `find`
//! too old for the expression, a file `chmod` cannot change): that failure is the point.
//! Binaries are kept by file name: any file named like a kept binary keeps its bit.

use crate::edit::{Applicability, Edit, Finding, Fix};
use crate::image::{stage_base, windows_signs, BaseFacts};
use crate::semantic::shell::packages::run_installs_packages;
use crate::semantic::shell::privilege::run_strips_setuid;
use crate::semantic::shell::{commands, instruction_commands, is_runtime_command, Command};
use crate::semantic::stages::{chain_instructions, stage_chain};
use crate::syntax::{Dockerfile, Instruction, Stage};
use crate::transform::{module_docs, Context, Rule};

pub struct StripSetuid;

const ID: &str = "strip-setuid";

/// Instructions that only describe the image; they stay next to the `CMD` they go with.
const METADATA_KEYWORDS: &[&str] = &["EXPOSE", "LABEL", "STOPSIGNAL", "VOLUME", "MAINTAINER"];

/// A setuid binary a design can depend on, and what in a Dockerfile shows that it does.
struct KeptBinary {
    /// The file name the strip skips (`! -name NAME`).
    name: &'static str,
    /// Text that, anywhere in the final image's instructions (arguments and heredoc bodies,
    /// compared case-insensitively), shows the design needs the bit.
    written: &'static [&'static str],
    /// Program names that, run by `CMD`/`ENTRYPOINT` or by a script they run, show it.
    run: &'static [&'static str],
    /// Why the design needs the bit, for the finding.
    why: &'static str,
}

/// Sources: sudo(8) and sudoers(5) (sudo runs as root through its setuid bit, its policy is
/// in `/etc/sudoers` and `/etc/sudoers.d/`); Chromium's Linux SUID sandbox documentation
/// (`chrome-sandbox` must be owned by root with mode 4755 when user namespaces are not
/// available; Electron ships it as `chrome-sandbox`, Google's Chrome package and Ubuntu's
/// `chromium-browser` install it setuid); s6-overlay v3's README (`s6-overlay-suexec` starts the supervision tree and is
/// installed setuid root; linuxserver.io images are built on s6-overlay).
const KEPT_BINARIES: &[KeptBinary] = &[
    KeptBinary {
        name: "sudo",
        // Dev-container images (`mcr.microsoft.com/devcontainers/...`, and the older
        // `vscode/devcontainers/`) give their user passwordless sudo (the common-utils script).
        written: &["/etc/sudoers", "nopasswd", "devcontainers/"],
        run: &["sudo"],
        why: "sudo needs its setuid bit to run commands as root",
    },
    KeptBinary {
        name: "chrome-sandbox",
        // Ubuntu's `chromium-browser` package (and Debian's older `chromium`) install
        // `chrome-sandbox` setuid root as Google's package does.
        written: &["chrome-sandbox", "google-chrome", "chromium"],
        run: &[],
        why:
            "the Chromium/Electron sandbox helper needs its setuid bit where user namespaces are unavailable",
    },
    KeptBinary {
        name: "s6-overlay-suexec",
        written: &["s6-overlay", "linuxserver/"],
        run: &[],
        why: "s6-overlay starts its supervision tree through this setuid helper",
    },
];

/// A kept binary and the evidence found for it.
struct Kept {
    binary: &'static KeptBinary,
    evidence: String,
}

/// The command the fix adds after `RUN`: strip, then fail the build, listing them, when
/// setuid/setgid files are left, or when `find` fails. `kept` are file names the strip skips.
/// POSIX `-perm -MODE` (all of MODE's bits), one branch per bit, rather than GNU's
/// `-perm /6000`, which older BusyBox lacks. No parentheses, `$`, `[` or `{ ...; }`: in a file
/// the Dockerfile grammar already misreads, they add parse errors (seen on the public corpus),
/// and the engine then refuses every fix of the file.
fn strip_command(kept: &[&str]) -> String {
    let skip: String = kept.iter().map(|name| format!(" ! -name {name}")).collect();
    let (setuid, setgid) = (format!("-type f -perm -4000{skip}"), format!("-type f -perm -2000{skip}"));
    format!(
        "find / -xdev {setuid} -exec chmod a-s {{}} + \\\n      -o {setgid} -exec chmod a-s {{}} + ; \\\n    find / -xdev {setuid} -exec ls -l {{}} + -exec false {{}} + \\\n      -o {setgid} -exec ls -l {{}} + -exec false {{}} +\n"
    )
}

impl Rule for StripSetuid {
    fn id(&self) -> &'static str {
        ID
    }

    fn summary(&self) -> &'static str {
        "final stage: remove setuid/setgid bits after the last package install"
    }

    fn documentation(&self) -> String {
        module_docs(include_str!("strip_setuid.rs"))
    }

    fn reference(&self) -> &'static str {
        "CIS Docker Benchmark 4.8"
    }

    fn check(&self, context: &Context) -> Vec<Finding> {
        let file = context.file;
        let Some(stage) = file.final_stage() else {
            return Vec::new();
        };
        let from = &file.instructions[stage.from];
        let facts = stage_base(file, stage, context.options);
        let chain = stage_chain(file, stage);
        if facts.is_windows() || windows_signs(file, &chain) {
            return vec![Finding::new(ID, from.start_line, "Windows image: setuid bits do not apply")];
        }
        // Reading every RUN's commands costs; only an unresolved base image needs the answer.
        let installs_linux_packages =
            || chain_instructions(file, &chain).into_iter().any(run_installs_packages);
        if facts.image.is_none() && !installs_linux_packages() {
            return vec![Finding::new(
                ID,
                from.start_line,
                format!(
                    "cannot resolve the base image `{}`, and nothing in the file shows a Linux shell: add the strip by hand if it is one",
                    stage.base
                ),
            )];
        }
        if facts.has_shell == Some(false) {
            let image = facts.image.as_deref().unwrap_or("the base image");
            return vec![Finding::new(
                ID,
                from.start_line,
                format!(
                    "`{image}` has no shell to run `find`: nothing to strip with a RUN{}",
                    facts.files_note()
                ),
            )];
        }
        let instructions = file.stage_instructions(stage);
        let last_install = instructions.iter().rposition(run_installs_packages).unwrap_or(0);
        if instructions[last_install..].iter().any(run_strips_setuid) {
            return Vec::new();
        }
        let runtime = instructions[last_install + 1..]
            .iter()
            // The part of the stage where root work belongs ends at the container's commands, or at a
            // `USER` before them.
            .position(|instruction| instruction.is("USER") || is_runtime_command(instruction))
            .map(|offset| last_install + 1 + offset);
        let before = runtime.map(|index| above_metadata(instructions, index, last_install + 1));
        let (mut at, mut line, preceding) = match before {
            Some(index) => {
                let instruction = &instructions[index];
                (
                    context.file.insertion_point_above(instruction),
                    instruction.start_line,
                    &instructions[..index],
                )
            }
            None => {
                let last = &instructions[instructions.len() - 1];
                (last.line_span.end, last.end_line, instructions)
            }
        };
        let (mut runs_as, mut base_note) = match user_in_effect(file, &chain, preceding, &facts) {
            Ok((user, note)) => (user.filter(|user| !is_root(user)), note),
            Err(declined) => return vec![Finding::new(ID, from.start_line, declined)],
        };
        // The stage switches to root itself right there: strip after that `USER`, rather than
        // switch to root, back, and to root again.
        let switches_to_root = runtime
            .map(|index| &instructions[index])
            .filter(|instruction| instruction.is("USER") && is_root(instruction.args.trim()));
        if let (Some(_), Some(user_root)) = (&runs_as, switches_to_root) {
            (at, line, runs_as, base_note) =
                (user_root.line_span.end, user_root.start_line, None, String::new());
        }
        let kept = kept_binaries(file, &chain, facts.image.as_deref());
        let names: Vec<&str> = kept.iter().map(|kept| kept.binary.name).collect();
        let run = context.keyword("RUN");
        let mut text = format!("{run} {}", strip_command(&names));
        // Whether the base has a shell decided the RUN: from facts read from the image (its
        // files) when the run has them, else from its name; say which, when facts were asked.
        let mut message =
            format!("remove setuid/setgid bits from the final image (CIS 4.8){}", facts.files_note());
        if let Some(user) = &runs_as {
            let keyword = context.keyword("USER");
            text = format!("{keyword} root\n{text}{keyword} {user}\n");
            message.push_str(&format!(
                "; the stage runs as `{user}` there{base_note}, so the strip switches to root and back to `{user}`"
            ));
        }
        for kept in &kept {
            message.push_str(&format!(
                "; keeps the setuid bit of `{}` ({}: {})",
                kept.binary.name, kept.evidence, kept.binary.why
            ));
        }
        vec![Finding::new(ID, line, message)
            .with_risk("programs that need setuid (su, sudo, passwd, ping on old kernels) lose it; the build fails if a setuid/setgid file is left")
            .with_fix(Fix::new(Applicability::Unsafe, vec![Edit::insert(at, text)]))]
    }
}

/// Moves an insertion point at `index` up over the metadata instructions right above it
/// (`EXPOSE 8000` belongs with its `CMD`), but not above `floor`.
fn above_metadata(instructions: &[Instruction], mut index: usize, floor: usize) -> usize {
    while index > floor && METADATA_KEYWORDS.iter().any(|keyword| instructions[index - 1].is(keyword)) {
        index -= 1;
    }
    index
}

/// The user in effect after `preceding` (the final stage's instructions before the strip),
/// as written: the last `USER` there, else the last one of the stages the final stage builds
/// on, else the base image's own non-root user (with the note that says where dockfix knows
/// it from, [`BaseFacts::note`]). `Ok(None)`: root. `Err`: why the strip cannot switch back (a
/// `USER` with a variable from another stage, where it is not in scope).
fn user_in_effect(
    file: &Dockerfile,
    chain: &[&Stage],
    preceding: &[Instruction],
    base: &BaseFacts,
) -> Result<(Option<String>, String), String> {
    if let Some(user) = last_user(preceding.iter()) {
        return Ok((Some(user.args.trim().to_string()), String::new()));
    }
    let ancestors = &chain[..chain.len().saturating_sub(1)];
    if let Some(user) = last_user(chain_instructions(file, ancestors).into_iter()) {
        let written = user.args.trim();
        if written.contains('$') && !is_root(written) {
            return Err(format!(
                "the final stage runs as `{written}` (line {}), a variable of an earlier stage: a `USER` back to it after the strip would not see the variable; add the strip by hand",
                user.start_line
            ));
        }
        return Ok((Some(written.to_string()), String::new()));
    }
    Ok(match base.runs_as() {
        Some((user, from_facts)) => (Some(user), base.note(from_facts)),
        None => (None, String::new()),
    })
}

fn last_user<'a>(instructions: impl DoubleEndedIterator<Item = &'a Instruction>) -> Option<&'a Instruction> {
    instructions.rev().find(|instruction| instruction.is("USER"))
}

/// Whether a `USER` value means root.
fn is_root(user: &str) -> bool {
    let uid = user.split(':').next().unwrap_or(user).trim();
    matches!(uid, "" | "root" | "0")
}

/// The binaries of [`KEPT_BINARIES`] the final image's instructions show a need for, or its
/// base image as resolved (`FROM ${BASE}` with `ARG BASE=mcr.microsoft.com/devcontainers/...`).
fn kept_binaries(file: &Dockerfile, chain: &[&Stage], base: Option<&str>) -> Vec<Kept> {
    let instructions = chain_instructions(file, chain);
    let runtime: Vec<&Instruction> =
        instructions.iter().copied().filter(|i| i.is("CMD") || i.is("ENTRYPOINT")).collect();
    // Each text lower-cased once, for every binary's markers.
    let texts: Vec<String> = instructions
        .iter()
        .map(|instruction| {
            let mut text = instruction.command_text();
            text.make_ascii_lowercase();
            text
        })
        .collect();
    KEPT_BINARIES
        .iter()
        .filter_map(|binary| {
            let written = instructions.iter().zip(&texts).find_map(|(instruction, text)| {
                let marker = binary.written.iter().find(|marker| text.contains(*marker))?;
                Some(format!("line {} mentions `{marker}`", instruction.start_line))
            });
            let base_named = || {
                let base = base?.to_ascii_lowercase();
                let marker = binary.written.iter().find(|marker| base.contains(*marker))?;
                Some(format!("the base image `{}` names `{marker}`", base))
            };
            let written = written.or_else(base_named);
            let run = || {
                runtime.iter().find_map(|instruction| {
                    let program = runs_program(instruction, &instructions, binary.run)?;
                    Some(format!(
                        "the {} on line {} runs `{program}`",
                        instruction.keyword, instruction.start_line
                    ))
                })
            };
            let evidence = written.or_else(run)?;
            Some(Kept { binary, evidence })
        })
        .collect()
}

/// The first of `programs` that a `CMD`/`ENTRYPOINT` runs: in its own words, or in the body
/// of a `COPY` heredoc written to a path it names (its entrypoint script).
fn runs_program<'a>(
    runtime: &Instruction,
    instructions: &[&Instruction],
    programs: &[&'a str],
) -> Option<&'a str> {
    // Nothing to look for (most binaries name no program): no script is read.
    if programs.is_empty() {
        return None;
    }
    let wanted = |command: &Command| programs.iter().copied().find(|wanted| *wanted == command.program());
    let started = instruction_commands(runtime);
    if let Some(program) = started.iter().find_map(wanted) {
        return Some(program);
    }
    let named: Vec<&str> =
        started.iter().flat_map(|command| command.args.iter()).map(String::as_str).collect();
    let scripts = instructions.iter().filter(|i| i.is("COPY") && !i.heredocs.is_empty()).filter(|copy| {
        let destination = copy.words.last().map(|word| word.text.as_str()).unwrap_or("");
        started.iter().any(|command| command.path == destination) || named.contains(&destination)
    });
    scripts.flat_map(|copy| commands(&copy.command_text())).find_map(|command| wanted(&command))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::run;
    use crate::options::Options;
    use crate::transform::NoBuildContext;

    fn fix(input: &str) -> String {
        run(input, &[&StripSetuid], &NoBuildContext, &Options::default()).unwrap().output
    }

    /// The strip as inserted, keeping nothing, ending with its newline.
    fn strip() -> String {
        strip_command(&[])
    }

    #[test]
    fn inserts_after_last_install_before_user() {
        let out = fix("FROM debian\nRUN apt-get install -y curl\nCOPY a /a\nUSER app\nCMD x\n");
        assert_eq!(
            out,
            format!("FROM debian\nRUN apt-get install -y curl\nCOPY a /a\nRUN {}USER app\nCMD x\n", strip())
        );
        assert_eq!(fix(&out), out, "idempotent");
    }

    #[test]
    fn the_command_checks_what_is_left_and_hides_no_failure() {
        let command = strip();
        assert!(!command.contains("|| true"), "{command}");
        assert!(command.contains("-exec false {} +"), "a setuid file left fails the build: {command}");
        assert!(!command.contains("-perm /"), "GNU-only syntax: {command}");
        let kept = strip_command(&["sudo"]);
        assert_eq!(kept.matches("! -name sudo").count(), 4, "every branch of both finds skips it: {kept}");
    }

    #[test]
    fn appends_when_nothing_follows() {
        let out = fix("from alpine\nrun apk add curl\n");
        assert_eq!(out, format!("from alpine\nrun apk add curl\nrun {}", strip()));
    }

    #[test]
    fn goes_above_the_comment_of_the_next_instruction() {
        let out = fix("FROM debian\nRUN apt-get install -y x\n\n# start\nCMD x\n");
        assert_eq!(out, format!("FROM debian\nRUN apt-get install -y x\n\nRUN {}# start\nCMD x\n", strip()));
    }

    #[test]
    fn leaves_shell_less_windows_and_done_stages_alone() {
        for input in [
            "FROM golang AS b\nRUN go build\nFROM scratch\nCOPY --from=b /a /a\n",
            "FROM gcr.io/distroless/static-debian12\nCMD [\"/a\"]\n",
            "FROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN echo\n",
            "ARG BASE\nFROM $BASE\nCOPY . /app\nENTRYPOINT [\"app.exe\"]\n",
            "ARG BASE\nFROM $BASE\nCOPY . /app\nCMD [\"/app/run\"]\n",
            "FROM debian\nRUN apt-get install -y x && find / -xdev -perm /6000 -type f -exec chmod a-s {} +\n",
        ] {
            assert_eq!(fix(input), input, "{input}");
        }
    }

    #[test]
    fn without_installs_it_goes_before_the_first_user() {
        let out = fix("FROM node\nUSER node\nRUN npm ci\n");
        assert_eq!(out, format!("FROM node\nRUN {}USER node\nRUN npm ci\n", strip()));
    }

    #[test]
    fn switches_to_root_and_back_when_a_user_is_in_effect() {
        let input =
            "FROM debian\nRUN apt-get install -y x\nUSER app:staff\nRUN apt-get install -y y\nCMD x\n";
        let out = fix(input);
        assert_eq!(
            out,
            format!(
                "FROM debian\nRUN apt-get install -y x\nUSER app:staff\nRUN apt-get install -y y\nUSER root\nRUN {}USER app:staff\nCMD x\n",
                strip()
            )
        );
        assert_eq!(fix(&out), out, "idempotent");
    }

    #[test]
    fn switches_back_to_the_base_images_own_user() {
        let out = fix("from jenkins/jenkins:lts\ncopy plugins.txt /p\n");
        assert_eq!(
            out,
            format!(
                "from jenkins/jenkins:lts\ncopy plugins.txt /p\nuser root\nrun {}user jenkins\n",
                strip()
            )
        );
    }

    #[test]
    fn a_root_user_needs_no_switch() {
        let out = fix("FROM jenkins/jenkins\nUSER root\nRUN apt-get install -y x\nUSER 0:0\nCMD x\n");
        assert!(!out.contains("USER root\nRUN find"), "{out}");
        assert!(out.contains(&format!("RUN apt-get install -y x\nRUN {}USER 0:0", strip())), "{out}");
    }

    #[test]
    fn strips_after_the_files_own_switch_to_root() {
        let out = fix("FROM jenkins/jenkins\nCOPY a /a\nUSER root\nRUN echo\nUSER jenkins\n");
        assert_eq!(
            out,
            format!("FROM jenkins/jenkins\nCOPY a /a\nUSER root\nRUN {}RUN echo\nUSER jenkins\n", strip())
        );
        assert_eq!(fix(&out), out, "idempotent");
    }

    #[test]
    fn declines_a_variable_user_of_an_earlier_stage() {
        let input = "FROM debian AS base\nARG U=app\nUSER $U\nFROM base\nCOPY a /a\n";
        assert_eq!(fix(input), input);
    }

    #[test]
    fn keeps_sudo_only_with_evidence() {
        let with_sudoers = fix(
            "FROM debian\nRUN apt-get install -y sudo && echo 'app ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/app\nUSER app\nCMD [\"sudo\", \"id\"]\n",
        );
        assert!(with_sudoers.contains(&strip_command(&["sudo"])), "{with_sudoers}");
        let run_by_cmd = fix("FROM debian\nRUN apt-get install -y sudo\nCMD sudo -u app /bin/run\n");
        assert!(run_by_cmd.contains(&strip_command(&["sudo"])), "{run_by_cmd}");
        let entrypoint_script = fix(
            "FROM debian\nRUN apt-get install -y sudo\nCOPY --chmod=755 <<EOF /start.sh\n#!/bin/sh\nexec sudo /bin/app\nEOF\nENTRYPOINT [\"/start.sh\"]\n",
        );
        assert!(entrypoint_script.contains(&strip_command(&["sudo"])), "{entrypoint_script}");
        let installed_only = fix("FROM debian\nRUN apt-get install -y sudo\nCMD [\"bash\"]\n");
        assert!(installed_only.contains(&strip()), "{installed_only}");
        // The base named through an ARG: the resolved name is the evidence.
        let dev_container_base = fix(
            "ARG BASE=mcr.microsoft.com/vscode/devcontainers/universal:1\nFROM ${BASE}\nRUN apt-get update && apt-get install -y moby-cli\n",
        );
        assert!(dev_container_base.contains(&strip_command(&["sudo"])), "{dev_container_base}");
    }

    #[test]
    fn keeps_chrome_sandbox_and_s6_helpers() {
        let electron = fix("FROM node:20\nRUN apt-get install -y libgtk-3-0\nRUN chmod 4755 /app/node_modules/electron/dist/chrome-sandbox\nCMD x\n");
        assert!(electron.contains("! -name chrome-sandbox"), "{electron}");
        let chromium = fix(
            "FROM ubuntu:16.04\nRUN apt-get install -y chromium-browser\nENTRYPOINT [\"sh\", \"/launch\"]\n",
        );
        assert!(chromium.contains("! -name chrome-sandbox"), "{chromium}");
        let s6 = fix("FROM alpine\nADD https://example.com/s6-overlay-noarch.tar.xz /tmp\nRUN apk add xz\nENTRYPOINT [\"/init\"]\n");
        assert!(s6.contains("! -name s6-overlay-suexec"), "{s6}");
    }

    #[test]
    fn the_evidence_is_the_first_text_naming_a_marker_and_its_first_marker() {
        let message = |input: &str| {
            let outcome = run(input, &[&StripSetuid], &NoBuildContext, &Options::default()).unwrap();
            outcome.reports.iter().map(|report| report.message.clone()).collect::<Vec<_>>().join("\n")
        };
        // The earlier RUN wins, though its marker comes later in the table.
        let earlier =
            message("FROM debian\nRUN apt-get install -y Chromium\nRUN echo chrome-sandbox\nCMD x\n");
        assert!(earlier.contains("line 2 mentions `chromium`"), "{earlier}");
        // Within one text, the table's order.
        let one = message("FROM debian\nRUN apt-get install -y chromium google-chrome-stable\nCMD x\n");
        assert!(one.contains("line 2 mentions `google-chrome`"), "{one}");
    }

    #[test]
    fn keeps_expose_next_to_cmd() {
        let out = fix("FROM debian\nRUN apt-get install -y x\nEXPOSE 80\nLABEL a=b\nCMD x\n");
        assert_eq!(
            out,
            format!("FROM debian\nRUN apt-get install -y x\nRUN {}EXPOSE 80\nLABEL a=b\nCMD x\n", strip())
        );
    }

    #[test]
    fn only_the_final_stage() {
        let input = "FROM debian AS build\nRUN apt-get install -y gcc\nFROM debian\nCOPY --from=build /a /a\nCMD /a\n";
        let out = fix(input);
        assert_eq!(
            out,
            format!(
                "FROM debian AS build\nRUN apt-get install -y gcc\nFROM debian\nCOPY --from=build /a /a\nRUN {}CMD /a\n",
                strip()
            )
        );
    }
}
