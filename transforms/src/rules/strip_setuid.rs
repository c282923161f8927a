//! # strip-setuid
//!
//! ## What it does
//!
//! Adds one `RUN` to the final stage that removes the setuid and setgid bits from every file
//! of the image's root filesystem:
//!
//! ```text
//! RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} + || true
//! ```
//!
//! It goes after the last package-installing `RUN` (apt-get, apk, dnf, yum, microdnf, zypper,
//! dpkg, rpm) and before the first `USER`, `CMD`, `ENTRYPOINT` or `HEALTHCHECK` that follows
//! it, above the comments that describe that instruction and above the metadata (`EXPOSE`,
//! `LABEL`, `VOLUME`, `STOPSIGNAL`) that sits right before it. Keywords follow the file's casing.
//!
//! ## Why
//!
//! A setuid-root binary (`su`, `passwd`, `mount`, `newgrp`, ...) is the classic way from a
//! compromised non-root process to root. Containers rarely need one: the CIS Docker Benchmark
//! (4.8) asks to remove setuid and setgid permissions from images.
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
//! RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} + || true
//! USER app
//! CMD ["curl", "--version"]
//! ```
//!
//! Left alone, with a finding that says why: `scratch`, distroless and other shell-less bases
//! (no `find`, no shell to run it), Windows images (by name, by the `` # escape=` ``
//! directive, or by PowerShell, cmd or `.exe` commands), a base image behind an `ARG` without
//! a default when no `RUN` installs Linux packages (dockfix cannot tell what it is), and a
//! final stage that already runs as a non-root user at that point (the `chmod` could not
//! work). A `RUN` that already does
//! `find ... -perm ... chmod ...-s` after the last package install counts as done.
//!
//! ## Fix safety
//!
//! Unsafe: a program that really needs its setuid bit (`ping` on old kernels, `sudo`, `su`)
//! stops working as it did. `-xdev` keeps the search on the image's own filesystem and
//! `|| true` keeps a build going where `find` lacks `-perm /MODE` (old BusyBox): check the
//! image for setuid files once after the change.

use crate::edit::{Applicability, Edit, Finding, Fix};
use crate::image::{base_facts, chain_instructions, stage_chain, windows_signs};
use crate::rules::{module_docs, Context, Rule};
use crate::syntax::Instruction;

pub struct StripSetuid;

const ID: &str = "strip-setuid";

/// The command the fix adds, after the keyword.
const STRIP_COMMAND: &str = "find / -xdev -perm /6000 -type f -exec chmod a-s {} + || true";

/// Words of a RUN that install operating-system packages (and so may add setuid files).
const PACKAGE_INSTALLS: &[&str] = &[
    "apt-get install",
    "apt install",
    "aptitude install",
    "apk add",
    "dnf install",
    "yum install",
    "microdnf install",
    "zypper install",
    "zypper in ",
    "dpkg -i",
    "rpm -i",
    "rpm -U",
    "tdnf install",
];

/// Instructions that only describe the image; they stay next to the `CMD` they go with.
const METADATA_KEYWORDS: &[&str] = &["EXPOSE", "LABEL", "STOPSIGNAL", "VOLUME", "MAINTAINER"];

/// Instructions that end the part of the stage where root work belongs.
const RUNTIME_KEYWORDS: &[&str] = &["USER", "CMD", "ENTRYPOINT", "HEALTHCHECK"];

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
        let facts = base_facts(file, stage);
        let chain = stage_chain(file, stage);
        if facts.is_windows() || windows_signs(file, &chain) {
            return vec![Finding::new(ID, from.start_line, "Windows image: setuid bits do not apply")];
        }
        let installs_linux_packages = chain_instructions(file, &chain).into_iter().any(installs_packages);
        if facts.image.is_none() && !installs_linux_packages {
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
                format!("`{image}` has no shell to run `find`: nothing to strip with a RUN"),
            )];
        }
        let instructions = file.stage_instructions(stage);
        let last_install = instructions.iter().rposition(installs_packages).unwrap_or(0);
        if instructions[last_install..].iter().any(strips_setuid) {
            return Vec::new();
        }
        if let Some(user) = non_root_user_before(instructions, last_install) {
            return vec![Finding::new(
                ID,
                from.start_line,
                format!("the final stage runs as `{user}` after its last package install: a RUN there could not change root's files"),
            )];
        }
        let before = instructions[last_install + 1..]
            .iter()
            .position(|instruction| RUNTIME_KEYWORDS.iter().any(|keyword| instruction.is(keyword)))
            .map(|offset| above_metadata(instructions, last_install + 1 + offset, last_install + 1));
        let (at, line) = match before.map(|index| &instructions[index]) {
            Some(instruction) => (context.file.insertion_point_above(instruction), instruction.start_line),
            None => {
                let last = &instructions[instructions.len() - 1];
                (last.line_span.end, last.end_line)
            }
        };
        let run = format!("{} {STRIP_COMMAND}\n", context.keyword("RUN"));
        vec![Finding::new(ID, line, "remove setuid/setgid bits from the final image (CIS 4.8)")
            .with_risk("programs that need setuid (su, sudo, passwd, ping on old kernels) lose it")
            .with_fix(Fix::new(Applicability::Unsafe, vec![Edit::insert(at, run)]))]
    }
}

/// A `RUN` that installs operating-system packages.
pub(crate) fn installs_packages(instruction: &Instruction) -> bool {
    if !instruction.is("RUN") {
        return false;
    }
    let command = instruction.command_text();
    let words = command.split_whitespace().collect::<Vec<_>>().join(" ");
    PACKAGE_INSTALLS.iter().any(|install| words.contains(install.trim_end()))
}

/// A `RUN` that removes setuid/setgid bits with `find ... -perm ... chmod ...-s`.
pub(crate) fn strips_setuid(instruction: &Instruction) -> bool {
    if !instruction.is("RUN") {
        return false;
    }
    let command = instruction.command_text();
    command.contains("find") && command.contains("-perm") && command.contains("chmod") && {
        let modes = ["a-s", "u-s", "ug-s", "-s ", "u-s,g-s"];
        modes.iter().any(|mode| command.contains(mode))
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

/// The user the stage runs as at `index`, when the file switched to a non-root one.
fn non_root_user_before(instructions: &[Instruction], index: usize) -> Option<String> {
    let user = instructions[..=index].iter().rev().find(|instruction| instruction.is("USER"))?;
    let name = user.args.trim();
    let uid = name.split(':').next().unwrap_or(name);
    (!uid.is_empty() && uid != "root" && uid != "0").then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{run, Options};
    use crate::rules::NoBuildContext;

    fn fix(input: &str) -> String {
        run(input, &[&StripSetuid], &NoBuildContext, &Options::default()).unwrap().output
    }

    #[test]
    fn inserts_after_last_install_before_user() {
        let out = fix("FROM debian\nRUN apt-get install -y curl\nCOPY a /a\nUSER app\nCMD x\n");
        assert_eq!(
            out,
            format!(
                "FROM debian\nRUN apt-get install -y curl\nCOPY a /a\nRUN {STRIP_COMMAND}\nUSER app\nCMD x\n"
            )
        );
        assert_eq!(fix(&out), out, "idempotent");
    }

    #[test]
    fn appends_when_nothing_follows() {
        let out = fix("from alpine\nrun apk add curl\n");
        assert_eq!(out, format!("from alpine\nrun apk add curl\nrun {STRIP_COMMAND}\n"));
    }

    #[test]
    fn goes_above_the_comment_of_the_next_instruction() {
        let out = fix("FROM debian\nRUN apt-get install -y x\n\n# start\nCMD x\n");
        assert_eq!(
            out,
            format!("FROM debian\nRUN apt-get install -y x\n\nRUN {STRIP_COMMAND}\n# start\nCMD x\n")
        );
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
        assert_eq!(out, format!("FROM node\nRUN {STRIP_COMMAND}\nUSER node\nRUN npm ci\n"));
    }

    #[test]
    fn declines_when_already_non_root_after_the_install() {
        let input = "FROM debian\nRUN apt-get install -y x\nUSER app\nRUN apt-get install -y y\n";
        assert_eq!(fix(input), input);
    }

    #[test]
    fn keeps_expose_next_to_cmd() {
        let out = fix("FROM debian\nRUN apt-get install -y x\nEXPOSE 80\nLABEL a=b\nCMD x\n");
        assert_eq!(
            out,
            format!(
                "FROM debian\nRUN apt-get install -y x\nRUN {STRIP_COMMAND}\nEXPOSE 80\nLABEL a=b\nCMD x\n"
            )
        );
    }

    #[test]
    fn only_the_final_stage() {
        let input = "FROM debian AS build\nRUN apt-get install -y gcc\nFROM debian\nCOPY --from=build /a /a\nCMD /a\n";
        let out = fix(input);
        assert_eq!(
            out,
            format!("FROM debian AS build\nRUN apt-get install -y gcc\nFROM debian\nCOPY --from=build /a /a\nRUN {STRIP_COMMAND}\nCMD /a\n")
        );
    }
}
