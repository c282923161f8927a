//! # multi-stage
//!
//! ## What it does
//!
//! Splits a single-stage Dockerfile that builds an application and then runs it into a
//! builder stage and a slim runtime stage. The original stage becomes the builder
//! (`FROM golang:1.22 AS builder`, otherwise untouched); a new final stage starts from a
//! runtime image, copies what the start command needs out of the builder with
//! `COPY --from=builder`, and keeps every runtime setting of the original: the `CMD`,
//! `ENTRYPOINT`, `USER`, `EXPOSE`, `LABEL`, `HEALTHCHECK`, `STOPSIGNAL`, `VOLUME` and `SHELL`
//! after the last `RUN` move into it as they are (with their comments), and the `WORKDIR`,
//! `ENV`, `USER` and other settings declared before the build are declared again, in order
//! (with the `ARG`s they use). Keywords follow the file's casing.
//!
//! The recipes, by builder image:
//!
//! | builder | build step | runtime | copied |
//! |---|---|---|---|
//! | `golang` | `go build -o OUT` (or `go build ./cmd/NAME`, `go build main.go`) | `gcr.io/distroless/static-debian12:nonroot` when `CGO_ENABLED=0` and the command needs no shell; else `debian:<release>-slim` (or `alpine:<version>`) matching the builder | the binary the start command runs; the CA bundle and `tzdata` where the runtime lacks them |
//! | `rust` | `cargo build [--release] [--bin NAME]`, `cargo install --path` | `debian:<release>-slim` (or `alpine:<version>`) matching the builder | the binary the start command runs (named by `--bin` or the command); the CA bundle |
//! | `node` | `npm run build` (`yarn build`, `pnpm build`) | `node:<same version>-slim` (alpine stays alpine) | the package manifests, production dependencies installed again (`npm ci --omit=dev`), and the build output directory the command runs (`dist`, `build`, `out`, `.output`) |
//! | `python` | `pip install` after installing compilers or headers (`gcc`, `build-essential`, `*-dev`) | `python:<same version>-slim` (alpine stays alpine) | the virtualenv (`/opt/venv`, created in the builder before the first `pip install`, with `PATH` set in both stages) and the application's files |
//! | `maven`, `gradle` | `mvn package`, `gradle build` (wrappers too) | `eclipse-temurin:<same Java major>-jre` | the jar `java -jar` runs |
//!
//! The split is applied only when the recipe knows every path it copies and nothing else
//! the image needs at run time is in doubt. Otherwise the finding carries the proposed
//! change as a **suggestion** (shown, never written) and says what is in doubt: an output
//! path dockfix cannot read (`go build` without `-o`, a variable), a runtime image that must
//! match the builder's Debian release when the builder's tag does not name it, a package the
//! builder installs that the program may need at run time (`ffmpeg`, `libpq-dev`), a user
//! created in the builder, a `HEALTHCHECK` that runs `curl`, a start command that reads files
//! from the build context, a `RUN` after the build, `yarn`/`pnpm`, `npm start`.
//!
//! Left alone: files already multi-stage (the final stage copies `--from` another stage or
//! image, or is built `FROM` one), images that run no build step (a script on its
//! interpreter), images that start nothing of their own (no `CMD`/`ENTRYPOINT`), unknown
//! builder images, and Windows images. A start command set before the build, or an
//! instruction the parser did not understand where the split must move or repeat it, is
//! reported without a fix.
//!
//! Runs before `non-root-user` and `strip-setuid`, so that they work on the new runtime stage.
//!
//! ## Why
//!
//! A single-stage image that compiles its application ships the compiler, headers, package
//! caches and source code into production: a much bigger image, more packages with CVEs, and
//! tools an attacker can use. Separating build-time from run-time dependencies with a
//! multi-stage build is the standard remedy (Docker's build best practices; OWASP Docker
//! Security Cheat Sheet).
//!
//! ## Example
//!
//! ```dockerfile
//! FROM golang:1.22
//! WORKDIR /src
//! COPY . .
//! RUN CGO_ENABLED=0 go build -o /out/server ./cmd/server
//! EXPOSE 8080
//! CMD ["/out/server"]
//! ```
//!
//! becomes
//!
//! ```dockerfile
//! FROM golang:1.22 AS builder
//! WORKDIR /src
//! COPY . .
//! RUN CGO_ENABLED=0 go build -o /out/server ./cmd/server
//!
//! FROM gcr.io/distroless/static-debian12:nonroot
//! WORKDIR /src
//! COPY --from=builder /out/server /out/server
//! EXPOSE 8080
//! CMD ["/out/server"]
//! ```
//!
//! ## Fix safety
//!
//! Unsafe: the runtime image lacks the build tools, and whatever the program reads at run
//! time that the split does not copy (templates, static files, data directories, files
//! created by `RUN`, shared libraries, programs a script calls) is missing. The runtime
//! image's own environment replaces the builder's (`PATH`, `GOPATH`, ...). The distroless
//! `:nonroot` image runs as UID 65532 unless the file sets `USER`. Node dependencies are
//! installed again in the runtime image: native add-ons without prebuilt binaries would need
//! build tools there. Build and start the image once after the change.

mod recipes;
mod shell;

use crate::edit::{Applicability, Edit, Finding, Fix};
use crate::image::{base_facts, resolve_args, stage_chain, windows_signs, ImageRef};
use crate::rules::env_secrets::{self, SecretOptions};
use crate::syntax::{Dockerfile, Instruction, Stage};
use crate::transform::{module_docs, Context, Rule};

use recipes::{Artifact, Line, Plan};
use shell::Command;

pub struct MultiStage;

const ID: &str = "multi-stage";

const RISK: &str = "the runtime image lacks build tools; files not copied will be missing";

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

/// Subcommands that only remove packages or caches.
const CLEANUPS: &[(&str, &str)] = &[
    ("apt-get", "purge"),
    ("apt-get", "remove"),
    ("apt-get", "autoremove"),
    ("apt-get", "clean"),
    ("apk", "del"),
    ("npm", "prune"),
    ("npm", "cache"),
    ("yarn", "cache"),
    ("pip", "cache"),
    ("go", "clean"),
    ("cargo", "clean"),
];

/// Directories in `PATH` of every runtime image dockfix picks.
const RUNTIME_PATH: &[&str] =
    &["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/// Paths every image has, that a start command may name.
const SYSTEM_PATHS: &[&str] = &["/dev", "/proc", "/sys", "/tmp", "/etc/hosts", "/etc/resolv.conf"];

/// Programs that install operating-system packages: (program, subcommand).
const PACKAGE_INSTALLS: &[(&str, &str)] = &[
    ("apt-get", "install"),
    ("apt", "install"),
    ("apk", "add"),
    ("yum", "install"),
    ("dnf", "install"),
    ("microdnf", "install"),
];

/// Package removals: (program, subcommand).
const PACKAGE_REMOVALS: &[(&str, &str)] =
    &[("apt-get", "purge"), ("apt-get", "remove"), ("apt", "purge"), ("apt", "remove"), ("apk", "del")];

/// Options of the package managers that take a value (`apk add --virtual .deps`).
const PACKAGE_VALUE_OPTIONS: &[&str] = &["--virtual", "-t", "-o", "--option", "--repository", "-X", "-c"];

impl Rule for MultiStage {
    fn id(&self) -> &'static str {
        ID
    }

    fn summary(&self) -> &'static str {
        "single stage that builds and runs -> builder + slim runtime stage"
    }

    fn documentation(&self) -> String {
        module_docs(include_str!("multi_stage.rs"))
    }

    fn reference(&self) -> &'static str {
        "Docker build best practices: use multi-stage builds; OWASP Docker Security Cheat Sheet"
    }

    fn check(&self, context: &Context) -> Vec<Finding> {
        let file = context.file;
        let Some(stage) = file.final_stage() else {
            return Vec::new();
        };
        if already_split(file, stage) {
            return Vec::new();
        }
        let Some((image, image_has_variable)) = builder_image(file, stage) else {
            return Vec::new();
        };
        let Some(ecosystem) = recipes::ecosystem(&image) else {
            return Vec::new();
        };
        let view =
            StageView::new(context, stage, image, image_has_variable, recipes::default_workdir(ecosystem));
        if view.start.is_none() {
            // It starts nothing of its own: a toolbox or base image, not an application.
            return Vec::new();
        }
        let Some(plan) = recipes::plan(ecosystem, &view) else {
            return Vec::new();
        };
        let from_line = view.instructions[0].start_line;
        let chain = stage_chain(file, stage);
        if base_facts(file, stage).is_windows() || windows_signs(file, &chain) {
            return vec![Finding::new(ID, from_line, "Windows image: dockfix does not split Windows images")];
        }
        if plan.artifacts.is_empty() {
            let message = format!("the build and run stages are not split: {}", plan.doubts.join("; "));
            return vec![Finding::new(ID, from_line, message)];
        }
        match Split::new(context, stage, &view, plan) {
            Ok(split) => vec![split.finding(context, &view)],
            Err(reason) => {
                vec![Finding::new(ID, from_line, format!("the build and run stages are not split: {reason}"))]
            }
        }
    }
}

/// Whether the final stage already comes out of a multi-stage build: built `FROM` an
/// earlier stage, copying `--from` a stage or an image, mounting one, or deferring work to
/// downstream builds with `ONBUILD`.
fn already_split(file: &Dockerfile, stage: &Stage) -> bool {
    stage.base_stage.is_some()
        || file.stage_instructions(stage).iter().any(|instruction| {
            instruction.flag("from").is_some()
                || instruction.is("ONBUILD")
                || instruction.flags.iter().any(|flag| {
                    flag.name == "mount" && flag.value.as_deref().is_some_and(|v| v.contains("from="))
                })
        })
}

/// The builder image, with ARG defaults substituted (or as written when they cannot be), and
/// whether it holds a variable.
fn builder_image(file: &Dockerfile, stage: &Stage) -> Option<(ImageRef, bool)> {
    let has_variable = stage.base.contains('$');
    let resolved = resolve_args(file, &stage.base).unwrap_or_else(|| stage.base.clone());
    ImageRef::parse(&resolved).map(|image| (image, has_variable))
}

// ---------------------------------------------------------------------------------------------
// What the recipes read: the final stage, with directories, environment and commands
// ---------------------------------------------------------------------------------------------

/// The command the container starts with.
#[derive(Debug, Clone)]
struct Start {
    /// ENTRYPOINT then CMD, as the container runs them (`exec` dropped).
    argv: Vec<String>,
    /// Written in shell form: the runtime image needs `/bin/sh`.
    needs_shell: bool,
    /// The later of the two instructions (index in the stage).
    index: usize,
}

/// A package the stage installs with the distro's package manager.
#[derive(Debug, Clone)]
struct Package {
    name: String,
    line: usize,
    /// The `apk add --virtual NAME` group it was installed in.
    group: Option<String>,
    /// Removed again later in the stage (`apk del`, `apt-get purge`).
    removed: bool,
}

/// The final stage as the recipes read it.
struct StageView<'a> {
    text: &'a str,
    /// The stage's instructions; `[0]` is its `FROM`.
    instructions: &'a [Instruction],
    /// The builder image, ARG defaults substituted where they could be.
    image: ImageRef,
    image_has_variable: bool,
    /// The working directory in effect at each instruction (after it, for a `WORKDIR`).
    workdirs: Vec<Option<String>>,
    /// `ENV` and `ARG` values in effect at each instruction, later ones last.
    envs: Vec<Vec<(String, String)>>,
    /// The shell commands of each `RUN` (empty for other instructions).
    commands: Vec<Vec<Command>>,
    start: Option<Start>,
    /// The last `HEALTHCHECK CMD`: its words and whether it is in shell form.
    healthcheck: Option<(Vec<String>, bool)>,
    packages: Vec<Package>,
}

impl<'a> StageView<'a> {
    fn new(
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
        let globals = global_args(context.file);
        for instruction in instructions {
            if instruction.is("WORKDIR") {
                let written = substitute(instruction.args.trim(), &env);
                workdir = match (written, &workdir) {
                    (Some(dir), _) if dir.starts_with('/') => Some(shell::normalize(&dir)),
                    (Some(dir), Some(current)) => Some(shell::join(current, &dir)),
                    _ => None,
                };
            } else if instruction.is("ENV") || instruction.is("ARG") {
                for (name, value) in assignments(instruction) {
                    let value = match value {
                        Some(value) => substitute(&value, &env).unwrap_or(value),
                        // `ARG NAME` in a stage takes the global default, if any.
                        None => match globals.iter().rev().find(|(n, _)| *n == name) {
                            Some((_, value)) => value.clone(),
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
                    let env = envs[index].clone();
                    return vec![Command { words: argv.clone(), env, cwd: workdirs[index].clone() }];
                }
                shell::commands(&instruction.command_text(), workdirs[index].as_deref(), &envs[index])
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
        }
    }

    /// The working directory at the container's start.
    fn final_workdir(&self) -> Option<&str> {
        self.workdirs.last().and_then(|dir| dir.as_deref())
    }

    /// The value of `ENV`/`ARG` `name` in effect at instruction `index`.
    fn env(&self, index: usize, name: &str) -> Option<&str> {
        self.envs.get(index)?.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The start command's program resolved to a path in the image, when it names one: a
    /// path as it is (relative ones from the final working directory), a bare name through
    /// `PATH` (the returned candidates, for the recipe to match with what it built).
    fn start_program(&self) -> Option<Program> {
        let start = self.start.as_ref()?;
        let program = start.argv.first()?;
        Some(self.program(program))
    }

    fn program(&self, word: &str) -> Program {
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
    fn path_in_image(&self, word: &str) -> Option<String> {
        if word.contains('$') {
            return None;
        }
        if word.starts_with('/') {
            return Some(shell::normalize(word));
        }
        self.final_workdir().map(|dir| shell::join(dir, word))
    }

    /// The instruction text, as written.
    fn source(&self, index: usize) -> &'a str {
        &self.text[self.instructions[index].span.clone()]
    }
}

/// What a start command's program is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Program {
    /// An absolute path in the image.
    Path(String),
    /// A bare name, looked up in `PATH`.
    Name(String),
    /// Behind a variable, or relative to an unknown directory.
    Unknown(String),
}

/// `NAME=value` pairs of an `ENV` or `ARG` (`ENV NAME value` too); `None` for an `ARG`
/// without a default.
fn assignments(instruction: &Instruction) -> Vec<(String, Option<String>)> {
    let words: Vec<&str> = instruction.words.iter().map(|word| word.text.as_str()).collect();
    if instruction.is("ENV") && words.first().is_some_and(|first| !first.contains('=')) {
        let value = words[1..].join(" ");
        return vec![(words[0].to_string(), Some(unquote(&value).to_string()))];
    }
    words
        .iter()
        .map(|word| match word.split_once('=') {
            Some((name, value)) => (name.to_string(), Some(unquote(value).to_string())),
            None => (word.to_string(), None),
        })
        .collect()
}

fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value.strip_prefix(quote).and_then(|v| v.strip_suffix(quote)) {
            return inner;
        }
    }
    value
}

/// The defaults of the ARGs declared before the first `FROM`.
fn global_args(file: &Dockerfile) -> Vec<(String, String)> {
    file.instructions
        .iter()
        .take_while(|instruction| !instruction.is("FROM"))
        .filter(|instruction| instruction.is("ARG"))
        .flat_map(assignments)
        .filter_map(|(name, value)| Some((name, value?)))
        .collect()
}

/// `$NAME` and `${NAME}` replaced with values from `env`; `None` when one has none or the
/// text uses other expansions.
fn substitute(text: &str, env: &[(String, String)]) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos + 1..];
        let (name, consumed) = match rest.strip_prefix('{') {
            Some(inner) => {
                let end = inner.find('}')?;
                (&inner[..end], end + 2)
            }
            None => {
                let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
                (&rest[..len], len)
            }
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        out.push_str(&env.iter().rev().find(|(n, _)| n == name)?.1);
        rest = &rest[consumed..];
    }
    out.push_str(rest);
    Some(out)
}

/// The words of a CMD/ENTRYPOINT and whether they are in shell form.
fn command_words(instruction: &Instruction) -> (Vec<String>, bool) {
    match &instruction.exec_form {
        Some(argv) => (argv.clone(), false),
        None => (shell::split_words(&instruction.args), true),
    }
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
            let named = |table: &[(&str, &str)]| table.iter().any(|(program, sub)| command.is(program, sub));
            let removes = named(PACKAGE_REMOVALS);
            if !named(PACKAGE_INSTALLS) && !removes {
                continue;
            }
            let mut names = Vec::new();
            let mut group = None;
            let after = command.subcommand().map_or(0, |(index, _)| index + 1);
            let mut args = command.args()[after..].iter();
            while let Some(arg) = args.next() {
                if PACKAGE_VALUE_OPTIONS.contains(&arg.as_str()) {
                    let value = args.next();
                    if arg == "--virtual" || arg == "-t" {
                        group = value.cloned();
                    }
                } else if !arg.starts_with('-') {
                    names.push(arg.split(['=', '>', '<', '~']).next().unwrap_or(arg).to_string());
                }
            }
            if removes {
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

// ---------------------------------------------------------------------------------------------
// The split
// ---------------------------------------------------------------------------------------------

/// A split the rule can propose: the plan and where its parts go.
struct Split {
    plan: Plan,
    /// Index (in the stage) of the last `RUN`: everything after it moves.
    last_run: usize,
    /// The name the original stage gets (`builder`, unless the file uses it).
    builder_name: String,
    /// The original stage's name, given to the runtime stage.
    final_name: Option<String>,
    doubts: Vec<String>,
}

impl Split {
    fn new(context: &Context, stage: &Stage, view: &StageView, plan: Plan) -> Result<Split, String> {
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
            plan,
        };
        split.doubts = split.doubts(view);
        Ok(split)
    }

    /// Why the split is only a suggestion: the recipe's doubts, then the general ones.
    fn doubts(&self, view: &StageView) -> Vec<String> {
        let mut doubts = self.plan.doubts.clone();
        let instructions = view.instructions;
        let after_build = self.plan.build_index + 1..=self.last_run;
        let later_run = after_build.filter(|&index| instructions[index].is("RUN")).find(|&index| {
            !view.commands[index].iter().all(|command| {
                let program = command.program().map(shell::basename).unwrap_or("");
                AFTER_BUILD_PROGRAMS.contains(&program) || CLEANUPS.iter().any(|(p, s)| command.is(p, s))
            })
        });
        if let Some(index) = later_run {
            doubts.push(format!(
                "line {} runs after the build, and what it makes would not be in the runtime image",
                instructions[index].start_line
            ));
        }
        for package in view.packages.iter().filter(|p| !p.removed) {
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
                    Program::Path(path) => provided.iter().any(|p| shell::is_under(&path, p)),
                    Program::Name(name) => {
                        self.plan.interpreters.contains(&name.as_str())
                            || (runtime.kind.has_shell() && SHELL_COMMANDS.contains(&name.as_str()))
                            || self.plan.artifacts.iter().any(|a| shell::basename(&a.destination) == name)
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
                .any(|dir| shell::is_under(&path, dir));
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
                provided.extend(paths.iter().filter(|p| p.starts_with('/')).map(|p| shell::normalize(p)));
            } else if index > self.last_run && (instruction.is("COPY") || instruction.is("ADD")) {
                if let (Some(dest), Some(dir)) = (instruction.words.last(), workdir) {
                    provided.push(shell::join(dir, &dest.text));
                }
            }
        }
        provided
    }

    /// The finding: an unsafe fix when nothing is in doubt, a suggestion otherwise.
    fn finding(&self, context: &Context, view: &StageView) -> Finding {
        let edits = self.edits(context, view);
        let runtime = &self.plan.runtime.image;
        let from_line = view.instructions[0].start_line;
        let mut risk = RISK.to_string();
        for extra in &self.plan.risks {
            risk.push_str("; ");
            risk.push_str(extra);
        }
        let left_behind: Vec<String> = view.instructions[1..self.last_run]
            .iter()
            .filter(|instruction| instruction.is("ENV"))
            .flat_map(|instruction| {
                env_secrets::secret_pairs(instruction, &context.options.get::<SecretOptions>())
            })
            .map(|(name, _)| name)
            .collect();
        if !left_behind.is_empty() {
            let (them, names) = if left_behind.len() > 1 { ("them", "secrets") } else { ("it", "secret") };
            risk.push_str(&format!(
                "; the runtime stage does not declare the {names} ENV {} again: the running container must get {them} at run time (`docker run -e`)",
                left_behind.join(", ")
            ));
        }
        if self.doubts.is_empty() {
            let message = format!(
                "split into a builder stage and a runtime stage on `{runtime}` that copies {}: the build tools stay out of the final image",
                self.plan.what
            );
            return Finding::new(ID, from_line, message)
                .with_risk(risk)
                .with_fix(Fix::new(Applicability::Unsafe, edits));
        }
        let message = format!(
            "could split into a builder stage and a runtime stage on `{runtime}` that copies {}, but {}",
            self.plan.what,
            self.doubts.join("; ")
        );
        Finding::new(ID, from_line, message)
            .with_risk(risk)
            .with_fix(Fix::new(Applicability::Suggestion, edits))
    }

    fn edits(&self, context: &Context, view: &StageView) -> Vec<Edit> {
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
            let used_here =
                arg.is("ARG") && assignments(arg).iter().any(|(name, _)| uses_variable(&used, name));
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
    let taken = |name: &str| file.stages.iter().any(|stage| stage.name.as_deref() == Some(name));
    if !taken("builder") {
        return "builder".to_string();
    }
    (2..).map(|n| format!("builder-{n}")).find(|name| !taken(name)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::run;
    use crate::options::Options;
    use crate::transform::NoBuildContext;

    fn fix(input: &str) -> String {
        run(input, &[&MultiStage], &NoBuildContext, &Options::default()).unwrap().output
    }

    #[test]
    fn go_static_split() {
        let input = "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /out/server ./cmd/server\nEXPOSE 8080\nCMD [\"/out/server\"]\n";
        let out = fix(input);
        assert_eq!(
            out,
            "FROM golang:1.22 AS builder\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /out/server ./cmd/server\n\nFROM gcr.io/distroless/static-debian12:nonroot\nWORKDIR /src\nCOPY --from=builder /out/server /out/server\nEXPOSE 8080\nCMD [\"/out/server\"]\n"
        );
        assert_eq!(fix(&out), out, "idempotent");
    }

    #[test]
    fn substitutes_and_detects_variables() {
        let env = vec![("A".to_string(), "x".to_string())];
        assert_eq!(substitute("/$A/${A}y", &env).as_deref(), Some("/x/xy"));
        assert_eq!(substitute("${B}", &env), None);
        assert!(uses_variable("ENV X=${VERSION}", "VERSION"));
        assert!(uses_variable("LABEL v=$VERSION", "VERSION"));
        assert!(!uses_variable("LABEL v=$VERSION_2", "VERSION"));
    }

    #[test]
    fn leaves_multi_stage_and_scripts_alone() {
        for input in [
            "FROM golang:1.22 AS b\nRUN go build -o /a .\nFROM scratch\nCOPY --from=b /a /a\nCMD [\"/a\"]\n",
            "FROM python:3.12\nCOPY app.py /app/\nCMD [\"python\", \"/app/app.py\"]\n",
            "FROM golang:1.22\nRUN go build -o /a .\n",
        ] {
            assert_eq!(fix(input), input, "{input}");
        }
    }
}
