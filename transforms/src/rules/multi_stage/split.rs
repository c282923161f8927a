//! The split: where the parts of the original stage go (the builder keeps it, the runtime
//! stage gets the settings, the recipe's steps and the artifacts), why the result is only a
//! suggestion, and the edits that write it.

use super::known_packages::{apt_install, runtime_package};
use super::recipes::{Artifact, Line, Plan};
use super::view::{Program, StageView};
use crate::edit::Edit;
use crate::rules::env_secrets::{self, SecretOptions};
use crate::semantic::shell::packages::removes_packages;
use crate::semantic::shell::{self, path};
use crate::semantic::stages::names_a_stage;
use crate::semantic::variables::arg_declarations;
use crate::syntax::{Dockerfile, Stage};
use crate::transform::Context;

/// Instructions that say how the image runs. Those before the split are declared again in
/// the runtime stage; those after it move there as they are.
const RUNTIME_SETTINGS: &[&str] = &[
    "CMD",
    "ENTRYPOINT",
    "WORKDIR",
    "USER",
    "EXPOSE",
    "ENV",
    "LABEL",
    "HEALTHCHECK",
    "STOPSIGNAL",
    "VOLUME",
    "SHELL",
    "MAINTAINER",
];

/// Besides the settings, what may follow the last `RUN` and move into the runtime stage:
/// `ARG`, and `COPY`/`ADD` from the build context (they work the same in any stage).
const ALSO_MOVABLE: &[&str] = &["ARG", "COPY", "ADD"];

/// Programs a `RUN` after the build may run without making anything the runtime needs: they
/// touch the artifacts, print, or clean up.
const AFTER_BUILD_PROGRAMS: &[&str] =
    &["chmod", "strip", "upx", "cp", "mv", "install", "ls", "echo", "true", "rm"];

/// Subcommands that only clear caches or drop what nothing needs any more, besides the
/// package removals of the system package managers (their table is
/// `semantic::shell::packages`).
const CLEANUPS: &[(&str, &str)] = &[
    ("apt-get", "autoremove"),
    ("apt-get", "clean"),
    ("npm", "prune"),
    ("npm", "cache"),
    ("yarn", "cache"),
    ("pip", "cache"),
    ("go", "clean"),
    ("cargo", "clean"),
];

/// Paths every image has, that a start command may name.
const SYSTEM_PATHS: &[&str] = &["/dev", "/proc", "/sys", "/tmp", "/etc/hosts", "/etc/resolv.conf"];

/// A split the rule can propose: the plan and where its parts go.
pub(super) struct Split {
    pub(super) plan: Plan,
    /// Index (in the stage) of the last `RUN`: everything after it moves.
    pub(super) last_run: usize,
    /// The name the original stage gets (`builder`, unless the file uses it).
    builder_name: String,
    /// The original stage's name, given to the runtime stage.
    final_name: Option<String>,
    pub(super) doubts: Vec<String>,
    /// Development packages the builder installs and the runtime package the runtime stage
    /// installs for each, read from the builder base's package database.
    pub(super) runtime_packages: Vec<(String, String)>,
}

impl Split {
    pub(super) fn new(
        context: &Context,
        stage: &Stage,
        view: &StageView,
        plan: Plan,
    ) -> Result<Split, String> {
        let instructions = view.instructions;
        let last_run = instructions.iter().rposition(|i| i.is("RUN")).ok_or("the stage has no RUN")?;
        let start = view.start.as_ref().ok_or("no start command")?;
        if start.index < last_run {
            return Err(format!(
                "the start command (line {}) comes before the last RUN (line {}); move it to the end first",
                instructions[start.index].start_line, instructions[last_run].start_line
            ));
        }
        for instruction in &instructions[last_run + 1..] {
            let movable = RUNTIME_SETTINGS.iter().chain(ALSO_MOVABLE).any(|k| instruction.is(k));
            if !movable {
                return Err(format!(
                    "line {}: `{}` after the last RUN cannot move into the runtime stage",
                    instruction.start_line, instruction.keyword
                ));
            }
        }
        let repeated = (1..last_run).filter(|&i| RUNTIME_SETTINGS.iter().any(|k| instructions[i].is(k)));
        let steps = plan.runtime_steps.iter().filter_map(|(_, line)| match line {
            Line::Verbatim(index) => Some(*index),
            Line::New(..) => None,
        });
        let moved = last_run + 1..instructions.len();
        if let Some(opaque) = repeated.chain(steps).chain(moved).map(|i| &instructions[i]).find(|i| i.opaque)
        {
            return Err(format!(
                "line {} is not understood by the parser, and the split would have to move or repeat it",
                opaque.start_line
            ));
        }
        let from = &instructions[0];
        let final_name = stage.name.as_ref().map(|_| {
            // The name as written: `--target NAME` keeps selecting the image that runs.
            from.words.get(2).map_or_else(String::new, |word| word.text.clone())
        });
        if final_name.is_some() && from.opaque {
            return Err(format!("line {} is not understood by the parser", from.start_line));
        }
        let mut split = Split {
            builder_name: builder_name(context.file),
            final_name,
            last_run,
            doubts: Vec::new(),
            runtime_packages: Vec::new(),
            plan,
        };
        split.runtime_packages = split.known_runtime_packages(view);
        split.doubts = split.doubts(view);
        Ok(split)
    }

    /// The development packages the runtime needs the library of, with that library's
    /// package where the builder base's package database names it.
    fn known_runtime_packages(&self, view: &StageView) -> Vec<(String, String)> {
        let mut known: Vec<(String, String)> = Vec::new();
        for package in view.packages.iter().filter(|p| !p.removed) {
            if self.plan.packages.needed_at_run_time(&package.name).is_none() {
                continue;
            }
            let Some(runtime) = runtime_package(&view.base, self.plan.runtime.kind, &package.name) else {
                continue;
            };
            if !known.iter().any(|(dev, _)| *dev == package.name) {
                known.push((package.name.clone(), runtime));
            }
        }
        known
    }

    /// Why the split is only a suggestion: the recipe's doubts, then the general ones.
    fn doubts(&self, view: &StageView) -> Vec<String> {
        let mut doubts = self.plan.doubts.clone();
        let instructions = view.instructions;
        let after_build = self.plan.build_index + 1..=self.last_run;
        let later_run = after_build.filter(|&index| instructions[index].is("RUN")).find(|&index| {
            !view.commands[index].iter().all(|command| {
                let program = path::basename(&command.path);
                AFTER_BUILD_PROGRAMS.contains(&program)
                    || removes_packages(command)
                    || CLEANUPS.iter().any(|(p, s)| command.is(p, s))
            })
        });
        if let Some(index) = later_run {
            doubts.push(format!(
                "line {} runs after the build, and what it makes would not be in the runtime image",
                instructions[index].start_line
            ));
        }
        let installed = |name: &str| self.runtime_packages.iter().any(|(dev, _)| dev == name);
        for package in view.packages.iter().filter(|p| !p.removed && !installed(&p.name)) {
            if let Some(why) = self.plan.packages.needed_at_run_time(&package.name) {
                doubts.push(format!("`{}` (installed on line {}) {why}", package.name, package.line));
            }
        }
        doubts.extend(self.user_doubts(view));
        doubts.extend(self.command_doubts(view));
        doubts
    }

    /// Users the runtime stage would switch to or give files to, that its image lacks.
    fn user_doubts(&self, view: &StageView) -> Vec<String> {
        let instructions = view.instructions;
        let repeated_steps: Vec<usize> = self
            .plan
            .runtime_steps
            .iter()
            .filter_map(|(_, line)| match line {
                Line::Verbatim(index) => Some(*index),
                Line::New(..) => None,
            })
            .collect();
        let mut users: Vec<(String, usize)> = Vec::new();
        for (index, instruction) in instructions.iter().enumerate().skip(1) {
            // Every USER ends up in the runtime stage: moved, or declared again.
            if instruction.is("USER") {
                users.push((instruction.args.trim().to_string(), instruction.start_line));
            }
            let in_runtime = index > self.last_run || repeated_steps.contains(&index);
            if let (true, Some(owner)) =
                (in_runtime, instruction.flag("chown").and_then(|flag| flag.value.clone()))
            {
                users.push((owner, instruction.start_line));
            }
        }
        let mut doubts = Vec::new();
        for (user, line) in users {
            let name = user.split(':').next().unwrap_or(&user);
            if name.is_empty() || name.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            if name.contains('$') || !self.plan.runtime.kind.has_user(name) {
                doubts.push(format!(
                    "the user `{name}` (line {line}) does not exist in `{}`: create it in the runtime stage",
                    self.plan.runtime.image
                ));
            }
        }
        doubts
    }

    /// The start command and health check must find what they run and read in the runtime
    /// image: a shell for the shell form, programs, and the paths they name.
    fn command_doubts(&self, view: &StageView) -> Vec<String> {
        let mut doubts = Vec::new();
        let runtime = &self.plan.runtime;
        let provided = self.provided_paths(view);
        let start = view.start.as_ref();
        if start.is_some_and(|start| start.needs_shell) && !runtime.kind.has_shell() {
            doubts.push(format!("the start command is in shell form, and `{}` has no shell", runtime.image));
        }
        let mut arguments: Vec<&String> =
            start.map(|start| start.argv.iter().skip(1).collect()).unwrap_or_default();
        if let Some((words, shell_form)) = &view.healthcheck {
            if *shell_form && !runtime.kind.has_shell() {
                doubts
                    .push(format!("the HEALTHCHECK is in shell form, and `{}` has no shell", runtime.image));
            }
            if let Some(program) = words.first() {
                let known = match view.program(program) {
                    Program::Path(path) => provided.iter().any(|p| path::is_under(&path, p)),
                    Program::Name(name) => {
                        self.plan.interpreters.contains(&name.as_str())
                            || (runtime.kind.has_shell() && SHELL_COMMANDS.contains(&name.as_str()))
                            || self.plan.artifacts.iter().any(|a| path::basename(&a.destination) == name)
                    }
                    Program::Unknown(_) => false,
                };
                if !known {
                    doubts.push(format!(
                        "the HEALTHCHECK runs `{program}`, which `{}` may not have",
                        runtime.image
                    ));
                }
            }
            arguments.extend(words.iter().skip(1));
        }
        for argument in arguments {
            let value = match argument.split_once('=') {
                Some((flag, value)) if flag.starts_with('-') => value,
                _ => argument.as_str(),
            };
            if !value.contains('/') || value.contains("://") || value.starts_with('-') {
                continue;
            }
            let path = match view.program(value) {
                Program::Path(path) => path,
                _ => continue,
            };
            let in_tree = provided
                .iter()
                .map(String::as_str)
                .chain(SYSTEM_PATHS.iter().copied())
                .any(|dir| path::is_under(&path, dir));
            // A working directory exists in the runtime stage, but not what the build put in it.
            let is_workdir = view.workdirs.iter().flatten().any(|dir| *dir == path);
            let known = in_tree || is_workdir;
            if !known {
                doubts.push(format!("the command reads `{value}`, which the runtime stage would not have"));
            }
        }
        doubts
    }

    /// Paths the runtime stage has, with everything under them: the copied artifacts, what
    /// the recipe installs, the destinations of the moved `COPY`/`ADD`, and the volumes.
    fn provided_paths(&self, view: &StageView) -> Vec<String> {
        let mut provided: Vec<String> = self.plan.artifacts.iter().map(|a| a.destination.clone()).collect();
        provided.extend(self.plan.provides.iter().cloned());
        for (index, instruction) in view.instructions.iter().enumerate() {
            let workdir = view.workdirs[index].as_deref();
            if instruction.is("VOLUME") {
                // The runtime creates mount points; they are empty in the original image too.
                let paths =
                    instruction.exec_form.clone().unwrap_or_else(|| shell::split_words(&instruction.args));
                provided.extend(paths.iter().filter(|p| p.starts_with('/')).map(|p| path::normalize(p)));
            } else if index > self.last_run && (instruction.is("COPY") || instruction.is("ADD")) {
                if let (Some(dest), Some(dir)) = (instruction.words.last(), workdir) {
                    provided.push(path::join(dir, &dest.text));
                }
            }
        }
        provided
    }

    pub(super) fn edits(&self, context: &Context, view: &StageView) -> Vec<Edit> {
        let instructions = view.instructions;
        let from = &instructions[0];
        let mut edits = Vec::new();
        // The original stage becomes the builder.
        match (&self.final_name, from.words.get(2)) {
            (Some(_), Some(name)) => edits.push(Edit::new(name.span.clone(), self.builder_name.clone())),
            _ => edits.push(Edit::insert(
                from.span.end,
                format!(" {} {}", context.keyword("AS"), self.builder_name),
            )),
        }
        for (index, lines) in &self.plan.builder_inserts {
            let at = context.file.insertion_point_above(&instructions[*index]);
            let text: String = lines.iter().map(|line| self.render(context, view, line)).collect();
            edits.push(Edit::insert(at, text));
        }
        // The runtime stage goes between the last RUN and what follows it. The edit replaces
        // everything after the RUN's text with the new stage followed by that same text, so
        // that a fix another transform aims at the old final stage overlaps it and waits for
        // the next pass, which sees the new final stage.
        let last_run = &instructions[self.last_run];
        let end = instructions.last().map_or(last_run.span.end, |last| last.span.end);
        let moved = &view.text[last_run.span.end..end];
        let (newline, rest) = moved.split_at(moved.find('\n').map_or(0, |at| at + 1));
        let stage = self.runtime_stage(context, view);
        edits.push(Edit::new(last_run.span.end..end, format!("{newline}\n{stage}{rest}")));
        edits
    }

    /// The runtime stage's own lines, each ending in a newline.
    fn runtime_stage(&self, context: &Context, view: &StageView) -> String {
        let instructions = view.instructions;
        let mut from = format!("{} ", context.keyword("FROM"));
        if let Some(platform) = instructions[0].flag("platform") {
            let value = platform.value.as_deref().unwrap_or_default();
            // A build-platform builder cross-compiles for the target: the runtime is the target.
            if !value.contains("BUILDPLATFORM") {
                from.push_str(&view.text[platform.span.clone()]);
                from.push(' ');
            }
        }
        from.push_str(&self.plan.runtime.image);
        if let Some(name) = &self.final_name {
            from.push_str(&format!(" {} {name}", context.keyword("AS")));
        }
        from.push('\n');

        // Settings declared before the split, and the recipe's steps, in the original order.
        let mut lines: Vec<(usize, Line)> = (1..self.last_run)
            .filter(|&i| RUNTIME_SETTINGS.iter().any(|k| instructions[i].is(k)))
            .map(|i| (i, Line::Verbatim(i)))
            .collect();
        lines.extend(self.plan.runtime_steps.iter().cloned());
        if !self.runtime_packages.is_empty() {
            // The libraries first, right after FROM: what follows may need them.
            let packages: Vec<String> =
                self.runtime_packages.iter().map(|(_, runtime)| runtime.clone()).collect();
            lines.push((0, Line::New("RUN", apt_install(&packages))));
        }
        let copies: Vec<Line> = self.plan.artifacts.iter().map(|artifact| self.copy_line(artifact)).collect();
        let mut body: String = String::new();
        let tail =
            &view.text[instructions[self.last_run].span.end..instructions.last().map_or(0, |i| i.span.end)];
        // ARGs the new stage uses are declared again where they were.
        let mut used = tail.to_string();
        for line in lines.iter().map(|(_, line)| line).chain(&copies).chain(&self.plan.runtime_env) {
            used.push_str(&self.render(context, view, line));
        }
        for (index, arg) in instructions.iter().enumerate().take(self.last_run).skip(1) {
            let used_here = arg.is("ARG")
                && arg_declarations(arg).iter().any(|declared| uses_variable(&used, declared.name));
            if used_here {
                lines.push((index, Line::Verbatim(index)));
            }
        }
        lines.sort_by_key(|(index, _)| *index);
        for (_, line) in &lines {
            if let Some(line) = without_secrets(context, view, line) {
                body.push_str(&self.render(context, view, &line));
            }
        }
        for line in copies.iter().chain(&self.plan.runtime_env) {
            body.push_str(&self.render(context, view, line));
        }
        format!("{from}{body}")
    }

    fn copy_line(&self, artifact: &Artifact) -> Line {
        let paths = [artifact.source.as_str(), artifact.destination.as_str()];
        let plain = paths.iter().all(|p| !p.contains(|c: char| c.is_whitespace() || c == '"' || c == '\\'));
        let from = format!("--from={}", self.builder_name);
        let args = if plain {
            format!("{from} {} {}", paths[0], paths[1])
        } else {
            format!("{from} [\"{}\", \"{}\"]", paths[0].replace('"', "\\\""), paths[1].replace('"', "\\\""))
        };
        Line::New("COPY", args)
    }

    fn render(&self, context: &Context, view: &StageView, line: &Line) -> String {
        match line {
            Line::Verbatim(index) => format!("{}\n", view.source(*index)),
            Line::New(keyword, args) => format!("{} {args}\n", context.keyword(keyword)),
        }
    }
}

/// `line` as the runtime stage declares it again: an `ENV` or `ARG` without the literal
/// secrets env-secrets recognises (an `ENV` pair left out, an `ARG` keeping only its name), or
/// `None` when nothing is left. The secret stays where it was, for env-secrets to report; a
/// copy would put it in the final image a second time, and in the suggested diff.
fn without_secrets(context: &Context, view: &StageView, line: &Line) -> Option<Line> {
    let Line::Verbatim(index) = line else {
        return Some(line.clone());
    };
    let instruction = &view.instructions[*index];
    let keyword = ["ENV", "ARG"].into_iter().find(|keyword| instruction.is(keyword));
    let Some(keyword) = keyword else {
        return Some(line.clone());
    };
    let secrets = env_secrets::secret_pairs(instruction, &context.options.get::<SecretOptions>());
    if secrets.is_empty() {
        return Some(line.clone());
    }
    let mut kept = Vec::new();
    for (at, word) in instruction.words.iter().enumerate() {
        let secret = secrets.iter().find(|(_, pair)| pair.is_none_or(|pair| pair == at));
        match secret {
            None => kept.push(word.text.clone()),
            Some((name, _)) if keyword == "ARG" => kept.push(name.clone()),
            Some(_) => {}
        }
    }
    (!kept.is_empty()).then(|| Line::New(keyword, kept.join(" ")))
}

/// Programs a shell-carrying runtime image has for a health check.
const SHELL_COMMANDS: &[&str] = &["sh", "test", "true", "false", "cat", "kill", "exit", "["];

/// Whether `text` expands `$name` or `${name...}`.
fn uses_variable(text: &str, name: &str) -> bool {
    text.match_indices('$').any(|(at, _)| {
        let rest = &text[at + 1..];
        let rest = rest.strip_prefix('{').unwrap_or(rest);
        rest.strip_prefix(name)
            .is_some_and(|after| !after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
    })
}

/// A stage name no stage of the file uses: `builder`, else `builder-2`, ...
fn builder_name(file: &Dockerfile) -> String {
    let taken = |name: &str| names_a_stage(file, name);
    if !taken("builder") {
        return "builder".to_string();
    }
    (2..).map(|n| format!("builder-{n}")).find(|name| !taken(name)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_variables() {
        assert!(uses_variable("ENV X=${VERSION}", "VERSION"));
        assert!(uses_variable("LABEL v=$VERSION", "VERSION"));
        assert!(!uses_variable("LABEL v=$VERSION_2", "VERSION"));
    }
}
