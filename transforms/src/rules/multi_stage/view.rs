//! What the recipes read: the final stage, with the working directory, environment and shell
//! commands at each instruction, its start command, health check and installed packages.

use crate::image::{stage_base, BaseFacts, ImageRef};
use crate::semantic::quoting::{escape_character, unquote_word};
use crate::semantic::shell::packages::{package_command, PackageAction, PackageCommand};
use crate::semantic::shell::{self, path, Command};
use crate::semantic::variables::{self, arg_declarations, env_assignments, global_arg_value};
use crate::syntax::{Dockerfile, Instruction, Stage};
use crate::transform::Context;

/// The command the container starts with.
#[derive(Debug, Clone)]
pub(super) struct Start {
    /// ENTRYPOINT then CMD, as the container runs them (`exec` dropped).
    pub(super) argv: Vec<String>,
    /// Written in shell form: the runtime image needs `/bin/sh`.
    pub(super) needs_shell: bool,
    /// The later of the two instructions (index in the stage).
    pub(super) index: usize,
}

/// A package the stage installs with the distro's package manager.
#[derive(Debug, Clone)]
pub(super) struct Package {
    pub(super) name: String,
    pub(super) line: usize,
    /// The `apk add --virtual NAME` group it was installed in.
    pub(super) group: Option<String>,
    /// Removed again later in the stage (`apk del`, `apt-get purge`).
    pub(super) removed: bool,
}

/// The final stage as the recipes read it.
pub(super) struct StageView<'a> {
    pub(super) text: &'a str,
    /// The stage's instructions; `[0]` is its `FROM`.
    pub(super) instructions: &'a [Instruction],
    /// The builder image, ARG defaults substituted where they could be.
    pub(super) image: ImageRef,
    pub(super) image_has_variable: bool,
    /// The working directory in effect at each instruction (after it, for a `WORKDIR`).
    pub(super) workdirs: Vec<Option<String>>,
    /// `ENV` and `ARG` values in effect at each instruction, later ones last.
    pub(super) envs: Vec<Vec<(String, String)>>,
    /// The shell commands of each `RUN` (empty for other instructions).
    pub(super) commands: Vec<Vec<Command>>,
    pub(super) start: Option<Start>,
    /// The last `HEALTHCHECK CMD`: its words and whether it is in shell form.
    pub(super) healthcheck: Option<(Vec<String>, bool)>,
    pub(super) packages: Vec<Package>,
    /// What is known of the builder's root base image, from facts or from its name.
    pub(super) base: BaseFacts,
}

impl<'a> StageView<'a> {
    pub(super) fn new(
        context: &Context<'a>,
        stage: &Stage,
        image: ImageRef,
        image_has_variable: bool,
        default_workdir: Option<&str>,
    ) -> StageView<'a> {
        let instructions = context.file.stage_instructions(stage);
        let mut workdirs = Vec::with_capacity(instructions.len());
        let mut envs = Vec::with_capacity(instructions.len());
        let mut workdir = default_workdir.map(str::to_string);
        let mut env: Vec<(String, String)> = Vec::new();
        let escape = escape_character(context.file);
        for instruction in instructions {
            if instruction.is("WORKDIR") {
                let written = substitute(instruction.args.trim(), &env);
                workdir = match (written, &workdir) {
                    (Some(dir), _) if dir.starts_with('/') => Some(path::normalize(&dir)),
                    (Some(dir), Some(current)) => Some(path::join(current, &dir)),
                    _ => None,
                };
            } else if instruction.is("ENV") || instruction.is("ARG") {
                for (name, value) in assignments(instruction, escape) {
                    let value = match value {
                        Some(value) => substitute(&value, &env).unwrap_or(value),
                        // `ARG NAME` in a stage takes the global default, if any.
                        None => match global_arg_value(context.file, &name) {
                            Some(value) => value,
                            None => continue,
                        },
                    };
                    env.push((name, value));
                }
            }
            workdirs.push(workdir.clone());
            envs.push(env.clone());
        }
        let commands = instructions
            .iter()
            .enumerate()
            .map(|(index, instruction)| {
                if !instruction.is("RUN") {
                    return Vec::new();
                }
                if let Some(argv) = &instruction.exec_form {
                    return shell::argv_commands_in(argv, workdirs[index].as_deref(), &envs[index]);
                }
                shell::commands_in(&instruction.command_text(), workdirs[index].as_deref(), &envs[index])
            })
            .collect::<Vec<_>>();
        let packages = packages(instructions, &commands);
        StageView {
            text: context.text,
            instructions,
            image,
            image_has_variable,
            start: start_command(instructions),
            healthcheck: healthcheck(instructions),
            workdirs,
            envs,
            commands,
            packages,
            base: stage_base(context.file, stage, context.options),
        }
    }

    /// The working directory at the container's start.
    pub(super) fn final_workdir(&self) -> Option<&str> {
        self.workdirs.last().and_then(|dir| dir.as_deref())
    }

    /// The value of `ENV`/`ARG` `name` in effect at instruction `index`.
    pub(super) fn env(&self, index: usize, name: &str) -> Option<&str> {
        self.envs.get(index)?.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The start command's program resolved to a path in the image, when it names one: a
    /// path as it is (relative ones from the final working directory), a bare name through
    /// `PATH` (the returned candidates, for the recipe to match with what it built).
    pub(super) fn start_program(&self) -> Option<Program> {
        let start = self.start.as_ref()?;
        let program = start.argv.first()?;
        Some(self.program(program))
    }

    pub(super) fn program(&self, word: &str) -> Program {
        if !word.contains('/') && !word.contains('$') {
            return Program::Name(word.to_string());
        }
        match self.path_in_image(word) {
            Some(path) => Program::Path(path),
            None => Program::Unknown(word.to_string()),
        }
    }

    /// A path the start command names, as a path in the image: relative ones from the final
    /// working directory. `None` behind a variable or from an unknown directory.
    pub(super) fn path_in_image(&self, word: &str) -> Option<String> {
        if word.contains('$') {
            return None;
        }
        if word.starts_with('/') {
            return Some(path::normalize(word));
        }
        self.final_workdir().map(|dir| path::join(dir, word))
    }

    /// The instruction text, as written.
    pub(super) fn source(&self, index: usize) -> &'a str {
        &self.text[self.instructions[index].span.clone()]
    }
}

/// What a start command's program is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Program {
    /// An absolute path in the image.
    Path(String),
    /// A bare name, looked up in `PATH`.
    Name(String),
    /// Behind a variable, or relative to an unknown directory.
    Unknown(String),
}

/// `NAME=value` pairs of an `ENV` or `ARG` (`ENV NAME value` too), values unquoted; `None`
/// for an `ARG` without a default.
pub(super) fn assignments(instruction: &Instruction, escape: char) -> Vec<(String, Option<String>)> {
    if instruction.is("ENV") {
        return env_assignments(instruction)
            .into_iter()
            .map(|(name, raw)| (name.to_string(), Some(unquote_word(raw, escape))))
            .collect();
    }
    arg_declarations(instruction)
        .into_iter()
        .map(|arg| (arg.name.to_string(), arg.raw_default.map(|raw| unquote_word(raw, escape))))
        .collect()
}

/// `text` with its variables replaced by their values in `env` (a later entry wins).
pub(super) fn substitute(text: &str, env: &[(String, String)]) -> Option<String> {
    variables::substitute(text, |name| {
        env.iter().rev().find(|(n, _)| n == name).map(|(_, value)| value.clone())
    })
}

/// The words of a CMD/ENTRYPOINT and whether they are in shell form.
fn command_words(instruction: &Instruction) -> (Vec<String>, bool) {
    (shell::command_words(instruction), instruction.exec_form.is_none())
}

fn start_command(instructions: &[Instruction]) -> Option<Start> {
    let entrypoint = instructions.iter().rposition(|i| i.is("ENTRYPOINT"));
    let cmd = instructions.iter().rposition(|i| i.is("CMD"));
    let (mut argv, needs_shell) = match (entrypoint, cmd) {
        (Some(e), cmd) => {
            let (mut argv, shell_form) = command_words(&instructions[e]);
            // A shell-form ENTRYPOINT ignores CMD; an exec-form one takes CMD as arguments.
            let mut needs_shell = shell_form;
            if let (false, Some(c)) = (shell_form, cmd) {
                let (args, cmd_shell) = command_words(&instructions[c]);
                needs_shell |= cmd_shell && !args.is_empty();
                argv.extend(args);
            }
            (argv, needs_shell)
        }
        (None, Some(c)) => command_words(&instructions[c]),
        (None, None) => return None,
    };
    if argv.first().is_some_and(|first| first == "exec") {
        argv.remove(0);
    }
    let index = entrypoint.max(cmd)?;
    (!argv.is_empty()).then_some(Start { argv, needs_shell, index })
}

fn healthcheck(instructions: &[Instruction]) -> Option<(Vec<String>, bool)> {
    let check = instructions.iter().rfind(|i| i.is("HEALTHCHECK"))?;
    let rest = check.args.trim();
    let (keyword, command) = rest.split_once(char::is_whitespace)?;
    if !keyword.eq_ignore_ascii_case("CMD") {
        return None;
    }
    // Read the exec form with the model's own JSON reader.
    let parsed = Dockerfile::parse(&format!("CMD {}\n", command.trim()));
    let instruction = parsed.instructions.first()?;
    Some(command_words(instruction))
}

/// The packages installed by the stage's RUNs, in order.
fn packages(instructions: &[Instruction], commands: &[Vec<Command>]) -> Vec<Package> {
    let mut found: Vec<Package> = Vec::new();
    for (index, run) in commands.iter().enumerate() {
        for command in run {
            let Some(PackageCommand { action, packages: names, group }) = package_command(command) else {
                continue;
            };
            if action == PackageAction::Remove {
                for package in &mut found {
                    let by_group = package.group.as_ref().is_some_and(|g| names.contains(g));
                    package.removed |= by_group || names.contains(&package.name);
                }
                continue;
            }
            let line = instructions[index].start_line;
            found.extend(names.into_iter().map(|name| Package {
                name,
                line,
                group: group.clone(),
                removed: false,
            }));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_variables() {
        let env = vec![("A".to_string(), "x".to_string())];
        assert_eq!(substitute("/$A/${A}y", &env).as_deref(), Some("/x/xy"));
        assert_eq!(substitute("${B}", &env), None);
    }
}
