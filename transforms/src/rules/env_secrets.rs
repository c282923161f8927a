//! # env-secrets
//!
//! ## What it does
//!
//! Finds secrets written into `ENV` and `ARG` instructions and takes them out of the image.
//!
//! A pair is a secret when its **name** matches BuildKit's own rule (split on `_`, any part is
//! `apikey`, `auth`, `credential(s)`, `key`, `password`, `pword`, `passwd`, `secret` or
//! `token`, and no part is `public`, `file` or `version`), or one of the names that rule misses
//! (`*_PASS`, `*_PWD`, `*PASSWORD` such as `PGPASSWORD`, `*_PASSPHRASE`, `PRIVATEKEY`,
//! `SECRETKEY`, `ACCESSKEY`, `APITOKEN`, ...), or when its **value** looks like a credential
//! whatever the name: an AWS access key id (`AKIA...`/`ASIA...`), a GitHub token (`ghp_`,
//! `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`), a GitLab token (`glpat-`), a Slack token
//! (`xoxb-`, `xoxp-`, ...), a Stripe live key (`sk_live_`, `rk_live_`), a
//! `-----BEGIN ... PRIVATE KEY-----` block, or a URL with `user:password@`.
//!
//! Not secrets, left alone: a value that is empty or uses a variable (`$TOKEN`, `${TOKEN}`,
//! `Bearer $TOKEN`: a reference is not a literal), `ARG NAME` without a value, a `*_KEY`
//! holding a hex key fingerprint or key id (`GPG_KEY`, 40 or 16 hex digits, spaces allowed),
//! `*_KEY_ID`, names that describe a secret rather than hold one (`*_FILE`, `*_PATH`,
//! `*_URL`, `*_HOST`, `*_PORT`, `*_NAME`, `*_TYPE`, `*_USER`, `*_ENABLED`, ...), names of
//! who may do something (`*_ADMIN`, `*_ADMINS`, `*_ADMIN_LIST`, `*_USERS`: `HUBOT_AUTH_ADMIN`
//! holds user names), a `*_KEY` or `*_AUTH` holding a URL (a public key to download, an
//! endpoint), and values that are a path, a boolean, or a placeholder: a name or template in
//! brackets (`<password>`, `[your-password]`, `{token}`, `{{ .token }}`, `**None**`,
//! `%TOKEN%`, `__TOKEN__`), a word that asks for the real value (`changeme`, `changeit`,
//! `example`, `dummy`, `placeholder`, ...), a describing prefix (`your-...`, `my-...`,
//! `insert-...`), or one character repeated (`xxxxxxxx`, an all-zero token, `0000-0000`). An
//! entrypoint may compare against a placeholder: removing it would change what it does.
//!
//! What happens to a secret depends on who needs it:
//!
//! - **A `RUN` uses it at build time** (`$NAME` or `${NAME}` in a later `RUN` of the stage,
//!   or, for `ENV`, of a stage built `FROM` it): the pair is removed, and each such `RUN` gets
//!   `--mount=type=secret,id=<id>` right after its keyword (other flags are kept; `<id>` is
//!   the name in lower case with `-` for `_`) and reads the secret file into the variable
//!   first: its command starts with `export NAME="$(cat /run/secrets/<id>)" && `, or, for a
//!   `RUN <<EOF` script, the script's first line is `export NAME="$(cat /run/secrets/<id>)"`.
//!   The value lives only in that command's environment: nothing is written to the layer.
//!   This form builds on Docker (BuildKit) and on buildah/Podman 1.24 or later, with no
//!   `# syntax=` directive (an old `# syntax=docker/dockerfile:1.0`/`1.1` is raised to 1.2,
//!   the first with `RUN --mount`). The finding gives the build command that must now pass
//!   the secret: `docker build --secret id=<id>,env=<NAME> ...` (`buildah build` takes the
//!   same option).
//! - **Only the running container needs it** (`ENV` that no `RUN` names): the pair is
//!   removed; the finding says it must be supplied at run time (`docker run -e NAME`, a
//!   compose or Kubernetes secret).
//! - **`ARG` that no `RUN` names**: the default value is removed and `ARG NAME` stays, so a
//!   `--build-arg NAME=...` (or a `RUN` that reads it from its environment) still works.
//!
//! Other forms (`--secrets MODE`, or `mode` under `[env-secrets]` in `dockfix.toml`):
//!
//! - `--secrets file` (the default): as above. Reading the file needs a POSIX shell (`sh`,
//!   `bash`, `dash`, BusyBox `ash`, ...): declined for exec-form `RUN`s, a heredoc fed to a
//!   command or with its own `#!` interpreter, and after a `SHELL` that is not such a shell
//!   with `-c`.
//! - `--secrets env`: `RUN --mount=type=secret,id=<id>,env=<NAME>`, shorter and for any
//!   `RUN` form, but it needs BuildKit's dockerfile 1.10 frontend: the file gets a
//!   `# syntax=docker/dockerfile:1.10` directive (BuildKit pulls that frontend from Docker Hub
//!   at build time), added as the first line (after any other parser directive, never above
//!   one) or raised from an older `docker/dockerfile:1.x`; buildah/Podman releases older
//!   than `env=` support (Debian 12's 1.28, Ubuntu 24.04's 1.33) cannot build the result.
//!   `--secrets mount`, its earlier name (when it was the default), is still accepted.
//! - `--secrets arg`, for builders without secret mounts: an `ENV` that a `RUN` uses becomes a
//!   value-less `ARG NAME` (in its place, and after the `FROM` of each stage built on it that
//!   uses it), and the build passes `--build-arg NAME`. `docker history` records build
//!   arguments: the value still ends up in the image's history, only no longer in the
//!   repository or the image config.
//!
//! More names can be declared secret, and names declared never secret, with regular
//! expressions over the whole name (any case): `extra-names` and `allow-names` under
//! `[env-secrets]` in `dockfix.toml`.
//!
//! Removing a pair keeps the rest of the instruction byte for byte (`ENV A=1 B=secret`
//! becomes `ENV A=1`; a pair on a continuation line goes with its line break); the legacy
//! `ENV NAME value` form, or an instruction left with nothing, is deleted with its lines.
//!
//! Every finding says that the literal value was already exposed (to everyone who can read
//! the repository or pull the image, through its layers and history) and must be rotated.
//! No message ever shows a value: it writes `NAME=****`; and no output of dockfix shows one
//! (every report format redacts the values this transform recognises, whichever transform's
//! text holds them).
//!
//! Reported but not rewritten, with the reason: a secret that another instruction reads at
//! build time (`COPY`, `LABEL`, `ENV X=$SECRET`, `FROM`, `ONBUILD`, ...: a secret mount only
//! reaches `RUN`); a secret in an `ONBUILD ENV`/`ONBUILD ARG` trigger (it acts in images built
//! from this one); one read by a `RUN` or held by an instruction the parser did not
//! understand; build-time secrets in a file whose `# syntax=` pins an older frontend by
//! digest (or, with `--secrets env`, names another frontend); build-time secrets of Windows
//! images (dockfix cannot tell whether their builder supports secret mounts); a secret on the
//! same line as one of those (rewriting the line would print the other's value in the diff).
//!
//! ## Why
//!
//! `ENV` values are stored in the image config (`docker inspect` shows them) and in every
//! container's environment; `ARG` values are recorded in `docker history`. Docker's build
//! check `SecretsUsedInArgOrEnv` warns about this, but does not fix it. A BuildKit secret
//! mount hands the value to the one `RUN` that needs it and leaves no trace in the image.
//!
//! ## Example
//!
//! ```dockerfile
//! FROM node:22-slim
//! ENV NODE_ENV=production NPM_TOKEN=hunter2
//! RUN npm ci --registry "https://npm.example.com/?token=$NPM_TOKEN"
//! ```
//!
//! becomes
//!
//! ```dockerfile
//! FROM node:22-slim
//! ENV NODE_ENV=production
//! RUN --mount=type=secret,id=npm-token export NPM_TOKEN="$(cat /run/secrets/npm-token)" && npm ci --registry "https://npm.example.com/?token=$NPM_TOKEN"
//! ```
//!
//! and must be built with `NPM_TOKEN=... docker build --secret id=npm-token,env=NPM_TOKEN .`
//! (or `buildah build` with the same option). With `--secrets env` the `RUN` becomes
//! `RUN --mount=type=secret,id=npm-token,env=NPM_TOKEN npm ci ...` under a
//! `# syntax=docker/dockerfile:1.10` first line.
//!
//! ## Fix safety
//!
//! Unsafe: the build or run command changes. A build that does not pass
//! `--secret id=<id>,env=<NAME>` runs the `RUN` without the secret (the variable empty, or
//! unset with `--secrets env`); a container whose
//! environment no longer has the secret must get it from `docker run -e` or its orchestrator.
//! A `RUN` that reads the variable without naming it (a tool that looks it up itself, an
//! `.npmrc` with `${NPM_TOKEN}`) is not found: give it the mount by hand. The fix needs
//! secret mounts: Docker 23+ (BuildKit by default) or buildah/Podman 1.24+; `--secrets env`
//! needs BuildKit with the 1.10 frontend or a buildah that knows `env=`.
//!
//! Suppress it for one instruction with `# dockfix: ignore=env-secrets` on the line above.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::edit::{Applicability, Edit, Finding, Fix, FollowUp};
use crate::image::stage_base;
use crate::semantic::quoting::{escape_character, unquote_word};
use crate::semantic::stages::{chain_instructions, children, stage_chain};
use crate::source::apply_in_order;
use crate::suppress::is_suppressed;
use crate::syntax::{Dockerfile, Instruction};
use crate::transform::{module_docs, Context, Rule};

mod detect;
mod options;

#[cfg(test)]
use detect::{credential_kind, detect, secret_name_parts};
use detect::{legacy_value, pair_keyword, secrets_of};
pub use options::{
    EnvSecretsConfig, InvalidNamePattern, NamePatterns, PatternError, SecretMode, SecretOptions,
};

pub struct EnvSecrets;

const ID: &str = "env-secrets";

/// The dockerfile frontend `--secrets env` needs: secret mounts with `env=` came in 1.10.
const SYNTAX_IMAGE: &str = "docker/dockerfile:1.10";
const ENV_MOUNT_MINOR: u32 = 10;
/// `RUN --mount` became stable in dockerfile 1.2: an older pinned frontend is raised to it
/// in `--secrets file` (source: the dockerfile frontend's release notes, 1.2.0).
const FILE_MOUNT_MINOR: u32 = 2;

/// Instructions in which Docker does not replace variables at build time: the running
/// container (or the shell they name) reads them, so a secret they mention is not read by
/// the build (Dockerfile reference, "Environment replacement": not among the instructions
/// that support it).
const NOT_EXPANDED_AT_BUILD: &[&str] = &["CMD", "ENTRYPOINT", "HEALTHCHECK", "SHELL"];

impl Rule for EnvSecrets {
    fn id(&self) -> &'static str {
        ID
    }

    fn summary(&self) -> &'static str {
        "secrets in ENV/ARG -> BuildKit secret mounts or the run-time environment"
    }

    fn documentation(&self) -> String {
        module_docs(include_str!("env_secrets.rs"))
    }

    fn reference(&self) -> &'static str {
        "BuildKit check SecretsUsedInArgOrEnv; CIS Docker Benchmark 4.10"
    }

    fn check(&self, context: &Context) -> Vec<Finding> {
        let file = context.file;
        let (suppressed, secrets): (Vec<Secret>, Vec<Secret>) = file
            .instructions
            .iter()
            .enumerate()
            .filter(|(_, i)| pair_keyword(i).is_some())
            .flat_map(|(index, instruction)| {
                secrets_of(index, instruction, &context.options.get::<SecretOptions>())
            })
            .partition(|secret| {
                is_suppressed(context.suppressed, ID, file.instructions[secret.instruction].start_line)
            });
        // Suppressed secrets stay out of every fix (a RUN's mounts serve several secrets), and
        // are still reported, for the engine to drop: so it sees the suppression was used.
        let mut findings: Vec<Finding> = suppressed
            .iter()
            .map(|secret| {
                let line = file.instructions[secret.instruction].start_line;
                Finding::new(ID, line, format!("{} (suppressed)", redacted(secret)))
            })
            .collect();
        if secrets.is_empty() {
            return findings;
        }
        let mode = context.options.get::<SecretOptions>().mode;
        let mut actions: Vec<Action> = secrets.iter().map(|secret| action(context, secret)).collect();
        let syntax = match mode {
            SecretMode::Env => syntax_need(file, context.text),
            SecretMode::File => file_mount_syntax(file, context.text),
            SecretMode::Arg => Syntax::Ready,
        };
        if let Syntax::Blocked(reason) = &syntax {
            for action in actions.iter_mut().filter(|a| matches!(a, Action::Mount(_))) {
                *action = Action::Decline(reason.clone());
            }
        }
        keep_lines_that_keep_a_secret(context, &secrets, &mut actions);
        let run_edits = mount_edits(file, context.text, &secrets, &actions, mode);
        let plan = Plan {
            context,
            secrets: &secrets,
            actions: &actions,
            run_edits: &run_edits,
            syntax: &syntax,
            mode,
        };
        findings.extend(plan.findings());
        findings
    }
}

/// One secret pair of an `ENV` or `ARG`.
#[derive(Debug)]
struct Secret {
    /// Index of the instruction in [`Dockerfile::instructions`].
    instruction: usize,
    /// Index of the pair's word; `None` for the legacy `ENV NAME value` form (the whole
    /// instruction is the pair).
    word: Option<usize>,
    name: String,
    /// What the value looks like, when the value (not the name) gave it away.
    looks_like: Option<&'static str>,
}

/// What the fix does with one secret.
#[derive(Debug, Clone)]
enum Action {
    /// Remove the pair; the RUNs (instruction indices) that use it get a secret mount.
    Mount(Vec<usize>),
    /// `ENV` that RUNs use, in [`SecretMode::Arg`]: the pair becomes a value-less `ARG` in
    /// each stage whose RUNs (instruction indices) use it.
    Arg(Vec<usize>),
    /// `ENV` only the running container needs: remove the pair.
    Remove,
    /// `ARG` no RUN names: drop the default value, keep `ARG NAME`.
    DropDefault,
    /// Not rewritten, for this reason.
    Decline(String),
}

/// Whether the file's `# syntax=` directive allows `env=` secret mounts.
enum Syntax {
    Ready,
    Edit(Edit),
    Blocked(String),
}

/// A literal secret held by an `ENV` or `ARG`, as the harnesses check for it: it must be
/// fixed or explained, and its value must never be printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiteralSecret {
    pub line: usize,
    pub name: String,
    /// The value, unquoted.
    pub value: String,
    /// Where the value is written (quotes included) in the text the file was parsed from.
    pub value_span: Range<usize>,
}

/// Every literal secret of a file's `ENV` and `ARG` instructions.
pub fn literal_secrets(file: &Dockerfile, options: &SecretOptions) -> Vec<LiteralSecret> {
    let mut found = Vec::new();
    for (index, instruction) in file.instructions.iter().enumerate() {
        if pair_keyword(instruction).is_none() {
            continue;
        }
        for secret in secrets_of(index, instruction, options) {
            let name_word = pair_keyword(instruction).map_or(0, |(_, first)| first);
            let (raw, value_span) = match secret.word.and_then(|word| instruction.words.get(word)) {
                Some(word) => {
                    let raw = word.text.split_once('=').map_or("", |(_, value)| value);
                    (raw, word.span.end.saturating_sub(raw.len())..word.span.end)
                }
                None => {
                    let words = &instruction.words;
                    let start = words.get(name_word + 1).map_or(instruction.span.end, |w| w.span.start);
                    let end = words.last().map_or(instruction.span.end, |w| w.span.end).max(start);
                    (legacy_value(instruction, name_word).trim(), start..end)
                }
            };
            found.push(LiteralSecret {
                line: instruction.start_line,
                name: secret.name,
                value: unquote_word(raw, escape_character(file)),
                value_span,
            });
        }
    }
    found
}

/// The literal secrets of an `ENV` or `ARG` instruction, for other transforms that copy such
/// instructions (multi-stage declares settings again in a new stage): each secret's name and
/// the index of its pair word, `None` when the legacy `ENV NAME value` form makes the whole
/// instruction the pair.
pub(crate) fn secret_pairs(
    instruction: &Instruction,
    options: &SecretOptions,
) -> Vec<(String, Option<usize>)> {
    secrets_of(0, instruction, options).into_iter().map(|secret| (secret.name, secret.word)).collect()
}

// ---------------------------------------------------------------------------------------
// Who uses a secret

/// Decides what to do with a secret from the instructions that can see it.
fn action(context: &Context, secret: &Secret) -> Action {
    let file = context.file;
    let instruction = &file.instructions[secret.instruction];
    if instruction.opaque {
        return Action::Decline(format!(
            "{}; dockfix does not edit inside it",
            not_understood(file, secret.instruction, "the instruction")
        ));
    }
    if instruction.is("ONBUILD") {
        return Action::Decline(
            "an `ONBUILD` trigger runs in the images built FROM this one, which dockfix cannot see"
                .to_string(),
        );
    }
    let is_env = instruction.is("ENV");
    let mut runs = Vec::new();
    for index in visible_to(file, secret.instruction, &secret.name, is_env) {
        let other = &file.instructions[index];
        if other.is("RUN") {
            if !references(&other.command_text(), &secret.name) {
                continue;
            }
            if other.opaque {
                return Action::Decline(not_understood(file, index, "the RUN that reads it"));
            }
            runs.push(index);
            continue;
        }
        if NOT_EXPANDED_AT_BUILD.iter().any(|keyword| other.is(keyword)) {
            continue;
        }
        let rest = context.text.get(other.keyword_span.end..other.span.end).unwrap_or("");
        if references(rest, &secret.name) {
            return Action::Decline(format!(
                "`{}` on line {} reads it at build time, and a secret mount only reaches RUN",
                other.keyword, other.start_line
            ));
        }
    }
    let windows_run = runs.iter().find(|&&run| {
        let stage = file.instructions[run].stage.and_then(|stage| file.stages.get(stage));
        stage.is_some_and(|stage| stage_base(file, stage, context.options).is_windows())
    });
    if let Some(&run) = windows_run {
        return Action::Decline(format!(
            "the RUN on line {} builds a Windows image, where dockfix cannot tell whether the builder supports secret mounts",
            file.instructions[run].start_line
        ));
    }
    if runs.is_empty() {
        return if is_env { Action::Remove } else { Action::DropDefault };
    }
    match context.options.get::<SecretOptions>().mode {
        SecretMode::Env => Action::Mount(runs),
        SecretMode::File => match runs.iter().find_map(|&run| read_point(file, context.text, run).err()) {
            Some(reason) => Action::Decline(reason),
            None => Action::Mount(runs),
        },
        // A build argument reaches the RUNs of its stage without a mount.
        SecretMode::Arg if is_env => Action::Arg(runs),
        SecretMode::Arg => Action::DropDefault,
    }
}

/// Declines the secrets of an instruction whose removal would rewrite a line that holds a
/// secret that stays (declined): the diff of that line would print the value (or, redacted,
/// not apply to what `--write` writes). Coarse on purpose: every secret of the instruction
/// stays then, with the reason.
fn keep_lines_that_keep_a_secret(context: &Context, secrets: &[Secret], actions: &mut [Action]) {
    let mut by_instruction: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (at, secret) in secrets.iter().enumerate() {
        by_instruction.entry(secret.instruction).or_default().push(at);
    }
    for (index, members) in by_instruction {
        let (staying, moving): (Vec<usize>, Vec<usize>) =
            members.into_iter().partition(|&at| matches!(actions[at], Action::Decline(_)));
        if staying.is_empty() || moving.is_empty() {
            continue;
        }
        let instruction = &context.file.instructions[index];
        let plan = Plan {
            context,
            secrets,
            actions,
            run_edits: &BTreeMap::new(),
            syntax: &Syntax::Ready,
            mode: context.options.get::<SecretOptions>().mode,
        };
        let mut edits = plan.removal_edits(instruction, &moving);
        edits.sort_by_key(|edit| edit.range.start);
        let overlapping = edits.windows(2).any(|pair| pair[0].range.end > pair[1].range.start);
        let after = if overlapping { String::new() } else { apply_in_order(context.text, &edits) };
        let after_lines: Vec<&str> = after.lines().collect();
        let region = context.text.get(instruction.line_span.clone()).unwrap_or_default();
        let held: Vec<&str> = staying
            .iter()
            .filter_map(|&at| secrets[at].word.and_then(|word| instruction.words.get(word)))
            .map(|word| word.text.as_str())
            .collect();
        let rewritten = region
            .lines()
            .filter(|line| held.iter().any(|pair| line.contains(pair)))
            .any(|line| !after_lines.contains(&line));
        if !rewritten {
            continue;
        }
        for at in moving {
            actions[at] = Action::Decline(
                "taking it out would rewrite a line of this instruction that keeps a secret that stays; move that one first (or put each pair on its own line)"
                    .to_string(),
            );
        }
    }
}

/// Why the instruction at `index` cannot be edited, naming where the parser lost its way: an
/// instruction the grammar misreads can take the ones after it along (`LABEL a b` on line 6
/// leaves the `RUN` on line 10 opaque too), so the message names the first of the opaque
/// instructions that lead up to it, not only its own line.
fn not_understood(file: &Dockerfile, index: usize, what: &str) -> String {
    let instruction = &file.instructions[index];
    let first =
        (0..index).rev().take_while(|&before| file.instructions[before].opaque).last().unwrap_or(index);
    if first == index {
        return format!("{what} (line {}) is not understood by the parser", instruction.start_line);
    }
    let start = &file.instructions[first];
    format!(
        "{what} (line {}) is not understood by the parser, which misreads lines {} to {} from the `{}` on line {}",
        instruction.start_line, start.start_line, instruction.end_line, start.keyword, start.start_line
    )
}

/// Where, in [`SecretMode::File`], the command that reads the secret files into their
/// variables goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadPoint {
    /// In front of the RUN's shell command (the byte offset of its first word), joined to it
    /// with `&&`.
    BeforeCommand(usize),
    /// As the first line of the shell script a `RUN <<EOF` runs (the byte offset where the
    /// heredoc's body starts).
    HeredocBody(usize),
}

/// Where the RUN at `run` can read a secret file into its variable, or why it cannot: the
/// command that reads it is shell code put in front of the RUN's own, so the RUN must run a
/// POSIX shell.
fn read_point(file: &Dockerfile, text: &str, run: usize) -> Result<ReadPoint, String> {
    let instruction = &file.instructions[run];
    let line = instruction.start_line;
    if instruction.exec_form.is_some() {
        return Err(format!("the RUN on line {line} is in exec form, with no shell to read the secret file; use `--secrets env`"));
    }
    if let Some(shell) = non_posix_shell(file, instruction) {
        return Err(format!(
            "the SHELL on line {} is not a POSIX shell, which reading the secret file needs; use `--secrets env`",
            shell.start_line
        ));
    }
    let Some(first) = instruction.words.first() else {
        return Err(format!("the RUN on line {line} has no command"));
    };
    if instruction.heredocs.is_empty() {
        return Ok(ReadPoint::BeforeCommand(first.span.start));
    }
    heredoc_script_start(instruction, text).map(ReadPoint::HeredocBody).ok_or_else(|| {
        format!("the RUN on line {line} feeds a heredoc to a command or runs it with `#!`, so there is no shell script to read the secret file in; use `--secrets env`")
    })
}

/// Where the body of a `RUN <<EOF` starts when the RUN is only that heredoc, which BuildKit
/// and buildah run as a `/bin/sh` script; `None` for a heredoc fed to a command
/// (`RUN python3 <<EOF`), several heredocs, or a body that names its own interpreter (`#!`).
fn heredoc_script_start(instruction: &Instruction, text: &str) -> Option<usize> {
    let [heredoc] = instruction.heredocs.as_slice() else {
        return None;
    };
    let [word] = instruction.words.as_slice() else {
        return None;
    };
    if !word.text.starts_with("<<") || heredoc.body.trim_start().starts_with("#!") {
        return None;
    }
    let first_line_end = text.get(word.span.end..instruction.span.end)?.find('\n')?;
    Some(word.span.end + first_line_end + 1)
}

/// Shells that run `export NAME="$(cat FILE)" && ...` as POSIX sh does, by program name.
/// Source: each is a POSIX-conforming sh or a superset of it (bash, dash, BusyBox ash, ksh,
/// mksh, zsh's sh emulation reads this line the same way).
const POSIX_SHELLS: &[&str] = &["sh", "bash", "dash", "ash", "ksh", "mksh", "zsh"];

/// The `SHELL` in effect for `instruction` when it is not a POSIX shell given its command
/// with `-c` (cmd, PowerShell, a form dockfix cannot read).
fn non_posix_shell<'f>(file: &'f Dockerfile, instruction: &Instruction) -> Option<&'f Instruction> {
    let stage = instruction.stage.and_then(|stage| file.stages.get(stage))?;
    let chain = stage_chain(file, stage);
    // The last SHELL before the RUN is the one in effect.
    let shell = chain_instructions(file, &chain)
        .into_iter()
        .rev()
        .find(|other| other.is("SHELL") && other.start_line < instruction.start_line)?;
    let argv = shell.exec_form.as_deref().unwrap_or_default();
    let program = argv.first().map(|program| program.rsplit(['/', '\\']).next().unwrap_or(program));
    let posix = program.is_some_and(|name| POSIX_SHELLS.contains(&name));
    // `-c`, or flags ending in it (`-ec`, `-euxc`): the RUN's text is the script.
    let takes_script = argv.last().is_some_and(|last| last.starts_with('-') && last.ends_with('c'));
    (!(posix && takes_script)).then_some(shell)
}

/// The instructions that see the definition at `def`, in order: the rest of its stage up to
/// a redefinition and, for `ENV`, the stages built on it; for a global `ARG`, the `FROM`s
/// and the stages that declare `ARG NAME` again.
fn visible_to(file: &Dockerfile, def: usize, name: &str, is_env: bool) -> Vec<usize> {
    let mut out = Vec::new();
    let Some(stage) = file.instructions[def].stage else {
        for (index, instruction) in file.instructions.iter().enumerate().skip(def + 1) {
            if instruction.stage.is_none() || instruction.is("FROM") {
                out.push(index);
            }
        }
        for stage in &file.stages {
            let range = stage.instructions.clone();
            let redeclared = range.clone().find(|&i| declares_bare_arg(&file.instructions[i], name));
            if let Some(at) = redeclared {
                scan(file, at + 1..range.end, name, false, &mut out);
            }
        }
        return out;
    };
    let end = file.stages.get(stage).map_or(def + 1, |s| s.instructions.end);
    if !scan(file, def + 1..end, name, is_env, &mut out) && is_env {
        descend(file, stage, name, &mut out);
    }
    out
}

/// Adds the instructions of the stages built `FROM` `parent` (transitively) to `out`.
fn descend(file: &Dockerfile, parent: usize, name: &str, out: &mut Vec<usize>) {
    for child in children(file, parent) {
        let range = child.instructions.clone();
        if !scan(file, range.start + 1..range.end, name, true, out) {
            descend(file, child.index, name, out);
        }
    }
}

/// Adds `range` to `out` up to and including an instruction that redefines `name`; returns
/// whether one did.
fn scan(file: &Dockerfile, range: Range<usize>, name: &str, is_env: bool, out: &mut Vec<usize>) -> bool {
    for index in range {
        out.push(index);
        if redefines(&file.instructions[index], name, is_env) {
            return true;
        }
    }
    false
}

/// An `ENV` that sets `name` (hides any earlier value), or for an `ARG` definition an
/// `ARG name=value`.
fn redefines(instruction: &Instruction, name: &str, is_env: bool) -> bool {
    let pair_names =
        || instruction.words.iter().filter_map(|w| w.text.split_once('=').map(|(n, _)| n.to_string()));
    if instruction.is("ENV") {
        let legacy = instruction.words.first().is_some_and(|w| !w.text.contains('=') && w.text == name);
        return legacy || pair_names().any(|n| n == name);
    }
    !is_env && instruction.is("ARG") && pair_names().any(|n| n == name)
}

fn declares_bare_arg(instruction: &Instruction, name: &str) -> bool {
    instruction.is("ARG") && instruction.words.iter().any(|w| w.text == name)
}

/// Whether `text` uses the variable `name`: `$NAME`, `${NAME}`, `${NAME:-...}`, `${#NAME}`,
/// and on Windows `%NAME%` or `$env:NAME`.
fn references(text: &str, name: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let lower_name = name.to_ascii_lowercase();
    let windows = lower.contains(&format!("%{lower_name}%"))
        || lower.match_indices("$env:").any(|(at, _)| {
            let rest = &lower[at + 5..];
            let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            rest[..len] == lower_name
        });
    windows
        || text.match_indices('$').any(|(at, _)| {
            let rest = &text[at + 1..];
            let ident = match rest.strip_prefix('{') {
                Some(inner) => inner.strip_prefix(['#', '!']).unwrap_or(inner),
                None => rest,
            };
            let len = ident.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(ident.len());
            &ident[..len] == name
        })
}

/// Whether a RUN already gets the secret in the variable `name`: a secret mount with
/// `env=NAME`, or one with the secret's id whose file the command reads into `NAME` (an
/// earlier pass, or an earlier run, of the file form).
fn mounts_secret(run: &Instruction, name: &str) -> bool {
    let read = format!("{name}=\"$(cat {})\"", secret_path(name));
    let id = secret_id(name);
    run.flags.iter().filter(|flag| flag.name == "mount").filter_map(|flag| flag.value.as_deref()).any(
        |value| {
            let fields: Vec<(&str, &str)> =
                value.split(',').filter_map(|field| field.split_once('=')).collect();
            let field = |key: &str| fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| *v);
            if field("type") != Some("secret") {
                return false;
            }
            field("env") == Some(name)
                || (field("id") == Some(id.as_str()) && run.command_text().contains(&read))
        },
    )
}

/// The secret's id: the name in lower case, `-` for `_`.
fn secret_id(name: &str) -> String {
    name.to_ascii_lowercase().replace('_', "-")
}

// ---------------------------------------------------------------------------------------
// The syntax directive

/// What the file's parser directives need for `env=` secret mounts.
fn syntax_need(file: &Dockerfile, text: &str) -> Syntax {
    frontend_need(file, text, ENV_MOUNT_MINOR, true)
}

/// What the file's parser directives need for file secret mounts: nothing without a
/// directive (every builder's own frontend has them), an old `docker/dockerfile:1.x` raised.
fn file_mount_syntax(file: &Dockerfile, text: &str) -> Syntax {
    frontend_need(file, text, FILE_MOUNT_MINOR, false)
}

/// What the file's parser directives need for a dockerfile frontend `1.<min_minor>` or later.
/// `strict` (`env=` mounts, which builders' own frontends may lack): a file without a
/// `# syntax=` directive gets one, and another frontend or an unknown tag blocks the fix;
/// otherwise only an old `docker/dockerfile` pinned by digest blocks it.
fn frontend_need(file: &Dockerfile, text: &str, min_minor: u32, strict: bool) -> Syntax {
    let needed = format!("docker/dockerfile:1.{min_minor}");
    let Some(directive) = file.directives.iter().find(|d| d.name == "syntax") else {
        if !strict {
            return Syntax::Ready;
        }
        // Never above another parser directive: right after the last one.
        let at = file.directives.last().map_or(0, |d| d.line_span.end);
        return Syntax::Edit(Edit::insert(at, format!("# syntax={SYNTAX_IMAGE}\n")));
    };
    let value = directive.value.trim();
    let (reference, pinned) = match value.split_once('@') {
        Some((reference, _digest)) => (reference, true),
        None => (value, false),
    };
    let (image, tag) = match reference.rsplit_once(':') {
        Some((image, tag)) if !tag.contains('/') => (image, Some(tag)),
        _ => (reference, None),
    };
    let image = image.to_ascii_lowercase();
    let known = ["docker/dockerfile", "docker/dockerfile-upstream"]
        .iter()
        .any(|name| image == *name || image.ends_with(&format!("/{name}")));
    if !known && !strict {
        return Syntax::Ready;
    }
    if !known {
        return Syntax::Blocked(format!(
            "the `# syntax=` directive (line {}) names another frontend; dockfix cannot tell whether it supports `env=` secret mounts",
            directive.line
        ));
    }
    let Some(tag) = tag else {
        return Syntax::Ready;
    };
    let version_len = tag.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(tag.len());
    let version = &tag[..version_len];
    if version.is_empty() {
        let lower = tag.to_ascii_lowercase();
        let known_tag = ["latest", "labs", "master", "main"].iter().any(|known| lower.starts_with(known));
        return match known_tag || !strict {
            true => Syntax::Ready,
            false => Syntax::Blocked(format!(
                "the `# syntax=` directive (line {}) uses a tag dockfix does not know; secret mounts with `env=` need {needed} or later",
                directive.line
            )),
        };
    }
    let mut numbers = version.split('.').map(|n| n.parse::<u32>().ok());
    let major = numbers.next().flatten();
    let minor = numbers.next().flatten();
    let recent = match (major, minor) {
        (Some(major), _) if major > 1 => true,
        (Some(1), None) => true,
        (Some(1), Some(minor)) => minor >= min_minor,
        _ => false,
    };
    if recent {
        return Syntax::Ready;
    }
    if pinned {
        return Syntax::Blocked(format!(
            "the `# syntax=` directive (line {}) pins an older frontend by digest; these secret mounts need {needed} or later",
            directive.line
        ));
    }
    let line = text.get(directive.line_span.clone()).unwrap_or("");
    let value_at = line.find('=').and_then(|eq| line[eq..].find(value).map(|at| eq + at));
    let Some(value_at) = value_at else {
        return Syntax::Blocked(format!(
            "the `# syntax=` directive (line {}) could not be read",
            directive.line
        ));
    };
    let tag_at = directive.line_span.start + value_at + reference.len() - tag.len();
    Syntax::Edit(Edit::new(tag_at..tag_at + version_len, format!("1.{min_minor}")))
}

// ---------------------------------------------------------------------------------------
// Edits and findings

/// For each RUN (instruction index), the edits that give it every planned secret it lacks:
/// the mount flags after its keyword and, in [`SecretMode::File`], the command that reads the
/// secret files into their variables in front of its own.
fn mount_edits(
    file: &Dockerfile,
    text: &str,
    secrets: &[Secret],
    actions: &[Action],
    mode: SecretMode,
) -> BTreeMap<usize, Vec<Edit>> {
    let mut names: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for (secret, action) in secrets.iter().zip(actions) {
        let Action::Mount(runs) = action else {
            continue;
        };
        for &run in runs {
            let list = names.entry(run).or_default();
            if !list.contains(&secret.name.as_str()) && !mounts_secret(&file.instructions[run], &secret.name)
            {
                list.push(&secret.name);
            }
        }
    }
    names
        .into_iter()
        .filter(|(_, list)| !list.is_empty())
        .map(|(run, list)| {
            let instruction = &file.instructions[run];
            let flags: String = list.iter().map(|name| mount_flag(name, mode)).collect();
            let mut edits = vec![Edit::insert(instruction.keyword_span.end, flags)];
            if mode != SecretMode::File {
                return (run, edits);
            }
            // `export NAME="$(cat FILE)"`: the value reaches the RUN's process environment only;
            // nothing is written to the layer. `export` succeeds even when the secret was not
            // passed (cat fails, NAME is empty), as an `env=` mount leaves NAME unset then.
            let reads = list.iter().map(|name| format!("export {name}=\"$(cat {})\"", secret_path(name)));
            match read_point(file, text, run) {
                Ok(ReadPoint::BeforeCommand(at)) => {
                    edits.push(Edit::insert(at, reads.map(|read| read + " && ").collect::<String>()));
                }
                Ok(ReadPoint::HeredocBody(at)) => {
                    edits.push(Edit::insert(at, reads.map(|read| read + "\n").collect::<String>()));
                }
                // `action` declined every secret of such a RUN.
                Err(_) => {}
            }
            (run, edits)
        })
        .collect()
}

fn mount_flag(name: &str, mode: SecretMode) -> String {
    match mode {
        SecretMode::File => format!(" --mount=type=secret,id={}", secret_id(name)),
        SecretMode::Env | SecretMode::Arg => {
            format!(" --mount=type=secret,id={},env={name}", secret_id(name))
        }
    }
}

/// Where a secret mount without `target=` puts the secret.
fn secret_path(name: &str) -> String {
    format!("/run/secrets/{}", secret_id(name))
}

struct Plan<'a> {
    context: &'a Context<'a>,
    secrets: &'a [Secret],
    actions: &'a [Action],
    run_edits: &'a BTreeMap<usize, Vec<Edit>>,
    syntax: &'a Syntax,
    mode: SecretMode,
}

impl Plan<'_> {
    /// One finding with a fix per instruction (all its secrets that can be moved), one without
    /// a fix per secret that cannot.
    ///
    /// Each fix carries every edit it needs (the RUN mounts, the syntax directive), so it is
    /// right on its own; two fixes that share an edit overlap, and the engine applies the
    /// second one in its next pass, when only its own removal is left.
    fn findings(&self) -> Vec<Finding> {
        let mut findings = Vec::new();
        let mut by_instruction: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (at, secret) in self.secrets.iter().enumerate() {
            by_instruction.entry(secret.instruction).or_default().push(at);
        }
        for (instruction, members) in by_instruction {
            let (fixable, declined): (Vec<usize>, Vec<usize>) =
                members.into_iter().partition(|&at| !matches!(self.actions[at], Action::Decline(_)));
            if !fixable.is_empty() {
                findings.push(self.fixed_finding(instruction, &fixable));
            }
            for at in declined {
                findings.push(self.declined_finding(at));
            }
        }
        findings
    }

    fn fixed_finding(&self, index: usize, members: &[usize]) -> Finding {
        let file = self.context.file;
        let instruction = &file.instructions[index];
        let mut edits = self.removal_edits(instruction, members);
        let mut runs: Vec<usize> = Vec::new();
        for &at in members {
            match &self.actions[at] {
                Action::Mount(list) => runs.extend(list.iter().copied()),
                Action::Arg(list) => edits.extend(self.arg_edits(index, &self.secrets[at].name, list)),
                _ => {}
            }
        }
        runs.sort_unstable();
        runs.dedup();
        edits.extend(runs.iter().filter_map(|run| self.run_edits.get(run)).flatten().cloned());
        if let (false, Syntax::Edit(edit)) = (runs.is_empty(), self.syntax) {
            edits.push(edit.clone());
        }

        let plural = members.len() > 1;
        let parts: Vec<String> = members.iter().map(|&at| self.message_part(at)).collect();
        let risks: Vec<String> = members.iter().map(|&at| self.risk_part(at)).collect();
        let subject = if instruction.is("ENV") {
            "`ENV` bakes {what} into the image config (`docker inspect` shows it)"
        } else {
            "`ARG` records {what} in the image history (`docker history` shows it)"
        };
        let what = if plural { "secrets" } else { "a secret" };
        let message =
            format!("{}: {}; {}", subject.replace("{what}", what), parts.join("; "), rotate_advice(plural));
        let follow_ups = members.iter().flat_map(|&at| self.follow_ups(at)).collect();
        Finding::new(ID, instruction.start_line, message)
            .with_risk(risks.join("; "))
            .with_fix(Fix::new(Applicability::Unsafe, edits))
            .with_follow_ups(follow_ups)
    }

    /// What the people building and running the image must do about one secret.
    fn follow_ups(&self, at: usize) -> Vec<FollowUp> {
        let name = self.secrets[at].name.clone();
        let mut follow_ups = match &self.actions[at] {
            Action::Mount(_) => vec![FollowUp::BuildSecret { id: secret_id(&name), env: name.clone() }],
            Action::Arg(_) | Action::DropDefault => vec![FollowUp::BuildArg { name: name.clone() }],
            Action::Remove => vec![FollowUp::RuntimeEnv { name: name.clone() }],
            Action::Decline(_) => Vec::new(),
        };
        follow_ups.push(FollowUp::Rotate { name });
        follow_ups
    }

    /// `ARG NAME` where the RUNs that used the `ENV` at `env` can see it: in place of the
    /// `ENV` when they are in its stage, after the `FROM` of each stage built on it that has
    /// such RUNs (a build argument does not cross stages).
    fn arg_edits(&self, env: usize, name: &str, runs: &[usize]) -> Vec<Edit> {
        let file = self.context.file;
        let declaration = format!("{} {name}\n", self.context.keyword("ARG"));
        let own_stage = file.instructions[env].stage;
        let mut stages: Vec<usize> = runs.iter().filter_map(|&run| file.instructions[run].stage).collect();
        stages.sort_unstable();
        stages.dedup();
        stages
            .into_iter()
            .filter_map(|stage| {
                let at = if Some(stage) == own_stage {
                    file.instructions[env].line_span.start
                } else {
                    file.instructions[file.stages.get(stage)?.from].line_span.end
                };
                Some(Edit::insert(at, declaration.clone()))
            })
            .collect()
    }

    fn declined_finding(&self, at: usize) -> Finding {
        let secret = &self.secrets[at];
        let instruction = &self.context.file.instructions[secret.instruction];
        let reason = match &self.actions[at] {
            Action::Decline(reason) => reason.as_str(),
            _ => "",
        };
        Finding::new(
            ID,
            instruction.start_line,
            format!(
                "`{}` holds a secret, {}: not moved: {reason}; move it by hand to a build secret mount or the run-time environment; {}",
                instruction.keyword,
                redacted(secret),
                rotate_advice(false)
            ),
        )
        .with_follow_ups(vec![FollowUp::Rotate { name: secret.name.clone() }])
    }

    fn message_part(&self, at: usize) -> String {
        let secret = &self.secrets[at];
        let name = &secret.name;
        match &self.actions[at] {
            Action::Mount(runs) => format!(
                "{} moves to a secret {}mount on the RUN{} at line{} {}{}; the build command now needs `--secret id={},env={name}` (`docker build --secret id={},env={name} ...`, with {name} set in its environment)",
                redacted(secret),
                if self.mode == SecretMode::File { "file " } else { "" },
                if runs.len() > 1 { "s" } else { "" },
                if runs.len() > 1 { "s" } else { "" },
                self.lines(runs),
                if self.mode == SecretMode::File {
                    format!(", which read{} {} into {name}", if runs.len() > 1 { "" } else { "s" }, secret_path(name))
                } else {
                    String::new()
                },
                secret_id(name),
                secret_id(name),
            ),
            Action::Arg(runs) => format!(
                "{} becomes a value-less `ARG {name}` for the RUN{} at line{} {}: the build passes it with `--build-arg {name}` (with {name} set in its environment)",
                redacted(secret),
                if runs.len() > 1 { "s" } else { "" },
                if runs.len() > 1 { "s" } else { "" },
                self.lines(runs),
            ),
            Action::Remove => format!(
                "{} is removed: it must be supplied at run time (`docker run -e {name}`, an orchestrator secret)",
                redacted(secret)
            ),
            Action::DropDefault => format!(
                "{} loses its default: pass it to the build (`--build-arg {name}` still records it in the history; a secret mount on the RUN that reads it does not)",
                redacted(secret)
            ),
            Action::Decline(reason) => format!("{} is not moved: {reason}", redacted(secret)),
        }
    }

    fn risk_part(&self, at: usize) -> String {
        let secret = &self.secrets[at];
        let name = &secret.name;
        let is_env = self.context.file.instructions[secret.instruction].is("ENV");
        match &self.actions[at] {
            Action::Mount(_) => format!(
                "the build command must now pass `--secret id={},env={name}` (`docker build` and `buildah build` alike) or the RUN runs without {name}{}",
                secret_id(name),
                if is_env {
                    format!("; the running container no longer has {name}: pass it with `docker run -e {name}` if it needs it")
                } else {
                    String::new()
                }
            ),
            Action::Arg(_) => format!(
                "builds must now pass `--build-arg {name}` or the RUN sees {name} unset; build arguments are recorded in the image history (`docker history`), so the value still leaks into the image: use secret mounts (`--secrets file`) where the builder has them (BuildKit, buildah); the running container no longer has {name}: pass it with `docker run -e {name}` if it needs it"
            ),
            Action::Remove => format!(
                "the run command must now pass {name} (`docker run -e {name}`, a compose or Kubernetes secret); a RUN that reads {name} without naming it no longer gets it"
            ),
            Action::DropDefault => {
                format!("builds that relied on the default must now pass `--build-arg {name}=...` (or a secret mount)")
            }
            Action::Decline(_) => String::new(),
        }
    }

    fn lines(&self, runs: &[usize]) -> String {
        let lines: Vec<String> =
            runs.iter().map(|&run| self.context.file.instructions[run].start_line.to_string()).collect();
        lines.join(", ")
    }

    /// The edits that take the members' pairs out of the instruction, keeping the rest of it
    /// byte for byte; an instruction left without pairs is deleted with its lines.
    fn removal_edits(&self, instruction: &Instruction, members: &[usize]) -> Vec<Edit> {
        let mut removed = Vec::new();
        let mut stripped = Vec::new();
        for &at in members {
            let secret = &self.secrets[at];
            let Some(word) = secret.word else {
                return vec![Edit::delete(instruction.line_span.clone())];
            };
            match self.actions[at] {
                Action::DropDefault => stripped.push((word, secret.name.len())),
                _ => removed.push(word),
            }
        }
        let words = &instruction.words;
        if removed.len() == words.len() {
            return vec![Edit::delete(instruction.line_span.clone())];
        }
        let mut edits = Vec::new();
        for &word in &removed {
            let leading = (0..word).all(|before| removed.contains(&before));
            let range = if leading {
                // Nothing kept before it: take it and the blanks up to the next word.
                words[word].span.start
                    ..words.get(word + 1).map_or(words[word].span.end, |next| next.span.start)
            } else {
                // Take it and the blanks (or line break) since the word before it.
                words[word - 1].span.end..words[word].span.end
            };
            edits.push(Edit::delete(range));
        }
        for (word, name_len) in stripped {
            let span = &words[word].span;
            edits.push(Edit::delete(span.start + name_len..span.end));
        }
        edits
    }
}

/// `NAME=****`, with what the value looks like when that gave it away.
fn redacted(secret: &Secret) -> String {
    match secret.looks_like {
        Some(kind) => format!("`{}=****` (the value looks like {kind})", secret.name),
        None => format!("`{}=****`", secret.name),
    }
}

fn rotate_advice(plural: bool) -> &'static str {
    if plural {
        "the values were already exposed, in the repository and in the history of every image built from it: rotate them"
    } else {
        "the value was already exposed, in the repository and in the history of every image built from it: rotate it"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{run, Outcome};
    use crate::options::Options;
    use crate::transform::NoBuildContext;

    fn outcome_in(input: &str, mode: SecretMode) -> Outcome {
        let options = Options::default().with(SecretOptions { mode, ..SecretOptions::default() });
        run(input, &[&EnvSecrets], &NoBuildContext, &options).unwrap()
    }

    fn outcome(input: &str) -> Outcome {
        outcome_in(input, SecretMode::default())
    }

    fn fix_in(input: &str, mode: SecretMode) -> String {
        let out = outcome_in(input, mode).output;
        assert_eq!(outcome_in(&out, mode).output, out, "idempotent");
        out
    }

    fn fix(input: &str) -> String {
        fix_in(input, SecretMode::default())
    }

    /// `--secrets env`: the `env=` mount and its syntax directive.
    fn fix_env(input: &str) -> String {
        fix_in(input, SecretMode::Env)
    }

    #[test]
    fn names_follow_buildkit_plus_extras() {
        for name in [
            "DB_PASSWORD",
            "API_KEY",
            "NPM_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "GITHUB_AUTH",
            "APIKEY",
            "db_password",
            "MYSQL_PWD",
            "SMTP_PASS",
            "PASSWD",
            "SSH_PRIVATE_KEY",
            "PGPASSWORD",
            "GPG_PASSPHRASE",
            "SECRET_KEY_BASE",
        ] {
            assert!(secret_name_parts(name).is_some(), "{name}");
        }
        for name in [
            "PYTHON_VERSION",
            "NODE_AUTH_TOKEN_FILE",
            "AWS_ACCESS_KEY_ID",
            "PUBLIC_KEY",
            "PWD",
            "PATH",
            "MONKEY",
            "KEYCLOAK_AUTH_URL",
            "AUTH_USER",
            "GPG_KEY_FINGERPRINT",
            "TOKENIZER",
            "PASSENGER_VERSION",
            "SECRET_NAME",
        ] {
            assert!(secret_name_parts(name).is_none(), "{name}");
        }
    }

    #[test]
    fn values_that_look_like_credentials() {
        assert_eq!(credential_kind("AKIAIOSFODNN7EXAMPLE"), Some("an AWS access key id"));
        assert_eq!(credential_kind("id=AKIAIOSFODNN7EXAMPLE;x"), Some("an AWS access key id"));
        assert_eq!(credential_kind("AKIAIOSFODNN7EXAMPLEX"), None, "too long");
        assert_eq!(credential_kind("ghp_ExampleExampleExampleExample000000"), Some("a GitHub token"));
        assert_eq!(credential_kind("github_pat_EXAMPLE0000000000000000_abc"), Some("a GitHub token"));
        assert_eq!(credential_kind("glpat-EXAMPLEexample000000"), Some("a GitLab token"));
        assert_eq!(credential_kind("xoxb-000000000000-EXAMPLE"), Some("a Slack token"));
        assert_eq!(credential_kind("sk_live_EXAMPLE0000000000000"), Some("a Stripe live key"));
        assert_eq!(
            credential_kind("-----BEGIN OPENSSH PRIVATE KEY-----\\nabc\\n-----END OPENSSH PRIVATE KEY-----"),
            Some("a private key")
        );
        assert_eq!(
            credential_kind("https://deploy:hunter2@git.example.com/repo.git"),
            Some("a URL with a password")
        );
        assert_eq!(credential_kind("https://deploy:${PASS}@git.example.com/"), None);
        assert_eq!(credential_kind("https://git@github.com/a/b"), None);
        assert_eq!(credential_kind("ghp_short"), None);
        assert_eq!(credential_kind("3.12.4"), None);
    }

    #[test]
    fn literal_values_only() {
        assert!(detect("DB_PASSWORD", Some("hunter2"), &SecretOptions::default()).is_some());
        assert!(detect("DB_PASSWORD", Some("\"hunter 2\""), &SecretOptions::default()).is_some());
        for value in [
            "",
            "\"\"",
            "$DB_PASSWORD",
            "${DB_PASSWORD}",
            "Bearer ${T}",
            "/run/secrets/db",
            "true",
            "**None**",
            "<pw>",
        ] {
            assert!(detect("DB_PASSWORD", Some(value), &SecretOptions::default()).is_none(), "{value}");
        }
        assert!(detect("DB_PASSWORD", None, &SecretOptions::default()).is_none(), "ARG without a value");
        assert!(detect(
            "GPG_KEY",
            Some("A035C8C19219BA821ECEA86B64E628F8D684696D"),
            &SecretOptions::default()
        )
        .is_none());
        assert!(detect(
            "GPG_KEY",
            Some("\"A035 C8C1 9219 BA82 1ECE  A86B 64E6 28F8 D684 696D\""),
            &SecretOptions::default()
        )
        .is_none());
        assert!(
            detect("API_KEY", Some("0123456789abcdef0123"), &SecretOptions::default()).is_some(),
            "20 hex digits are no fingerprint"
        );
        assert!(detect(
            "API_TOKEN",
            Some("A035C8C19219BA821ECEA86B64E628F8D684696D"),
            &SecretOptions::default()
        )
        .is_some());
        assert!(
            detect("PASSWORD", Some("pa\\$\\$word"), &SecretOptions::default()).is_some(),
            "escaped dollars are literal"
        );
        assert!(
            detect("APT_KEY", Some("https://download.example.com/gpg"), &SecretOptions::default()).is_none(),
            "a public key's address"
        );
        assert!(detect(
            "WEBHOOK_SECRET",
            Some("https://hooks.example.com/services/T0/B0/x"),
            &SecretOptions::default()
        )
        .is_some());
    }

    #[test]
    fn runtime_only_env_is_removed_and_others_kept() {
        let out = fix("FROM a\nENV A=1 DB_PASSWORD=hunter2 B=\"x y\"\nCMD run\n");
        assert_eq!(out, "FROM a\nENV A=1 B=\"x y\"\nCMD run\n");
        let out = fix("FROM a\nENV DB_PASSWORD=hunter2 A=1\n");
        assert_eq!(out, "FROM a\nENV A=1\n");
        let out = fix("FROM a\nENV DB_PASSWORD \"hunter2 and more\"\nCMD x\n");
        assert_eq!(out, "FROM a\nCMD x\n");
    }

    #[test]
    fn multi_line_env_keeps_the_continuations() {
        let out = fix("FROM a\nENV A=1 \\\n    DB_PASSWORD=hunter2 \\\n    C=3\nCMD x\n");
        assert_eq!(out, "FROM a\nENV A=1 \\\n    C=3\nCMD x\n");
        let out = fix("FROM a\nENV A=1 \\\n    DB_PASSWORD=hunter2\nCMD x\n");
        assert_eq!(out, "FROM a\nENV A=1\nCMD x\n");
        let out = fix("FROM a\nENV DB_PASSWORD=hunter2 \\\n    API_TOKEN=hunter3\nCMD x\n");
        assert_eq!(out, "FROM a\nCMD x\n");
    }

    #[test]
    fn build_time_use_becomes_a_secret_mount() {
        let input =
            "FROM a\nENV NPM_TOKEN=hunter2\nRUN --mount=type=cache,target=/c npm ci --token=$NPM_TOKEN\n";
        let out = fix(input);
        assert_eq!(
            out,
            "FROM a\nRUN --mount=type=secret,id=npm-token --mount=type=cache,target=/c export NPM_TOKEN=\"$(cat /run/secrets/npm-token)\" && npm ci --token=$NPM_TOKEN\n"
        );
        assert_eq!(Dockerfile::parse(&out).damage, 0);
        assert!(!Dockerfile::parse(&out).instructions[1].opaque);
        let out = fix_env(input);
        assert_eq!(
            out,
            "# syntax=docker/dockerfile:1.10\nFROM a\nRUN --mount=type=secret,id=npm-token,env=NPM_TOKEN --mount=type=cache,target=/c npm ci --token=$NPM_TOKEN\n"
        );
        assert_eq!(Dockerfile::parse(&out).damage, 0);
    }

    #[test]
    fn heredoc_and_exec_form_runs_get_the_mount() {
        let heredoc = "FROM a\nENV API_TOKEN=hunter2\nRUN <<EOF\ncurl -H \"$API_TOKEN\" x\nEOF\n";
        assert_eq!(
            fix_env(heredoc),
            "# syntax=docker/dockerfile:1.10\nFROM a\nRUN --mount=type=secret,id=api-token,env=API_TOKEN <<EOF\ncurl -H \"$API_TOKEN\" x\nEOF\n"
        );
        assert_eq!(
            fix(heredoc),
            "FROM a\nRUN --mount=type=secret,id=api-token <<EOF\nexport API_TOKEN=\"$(cat /run/secrets/api-token)\"\ncurl -H \"$API_TOKEN\" x\nEOF\n"
        );
        let exec = "FROM a\nENV API_TOKEN=hunter2\nRUN [\"sh\", \"-c\", \"curl $API_TOKEN\"]\n";
        assert!(fix_env(exec).contains("RUN --mount=type=secret,id=api-token,env=API_TOKEN [\"sh\""));
        let declined = outcome(exec);
        assert_eq!(declined.output, exec);
        assert!(declined.reports[0].message.contains("exec form"), "{}", declined.reports[0].message);
        for not_a_script in [
            "FROM a\nENV API_TOKEN=hunter2\nRUN python3 <<EOF\nprint('$API_TOKEN')\nEOF\n",
            "FROM a\nENV API_TOKEN=hunter2\nRUN <<EOF\n#!/usr/bin/env python3\nprint('$API_TOKEN')\nEOF\n",
        ] {
            assert_eq!(outcome(not_a_script).output, not_a_script);
        }
    }

    #[test]
    fn file_mode_needs_a_posix_shell_with_c() {
        let run = "ENV API_TOKEN=hunter2\nRUN curl $API_TOKEN\n";
        for shell in ["[\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]", "[\"/bin/ash\", \"-ec\"]"] {
            let out = fix(&format!("FROM a\nSHELL {shell}\n{run}"));
            assert!(out.contains("export API_TOKEN="), "{shell}: {out}");
        }
        for shell in ["[\"pwsh\", \"-Command\"]", "[\"cmd\", \"/S\", \"/C\"]", "[\"/bin/bash\"]"] {
            let input = format!("FROM a\nSHELL {shell}\n{run}");
            assert_eq!(outcome(&input).output, input, "{shell}");
        }
        // The last SHELL counts.
        let out = fix(&format!("FROM a\nSHELL [\"pwsh\", \"-Command\"]\nSHELL [\"/bin/sh\", \"-c\"]\n{run}"));
        assert!(out.contains("export API_TOKEN="), "{out}");
    }

    #[test]
    fn placeholders_and_people_lists_are_not_secrets() {
        for value in [
            "[your-password]",
            "{token}",
            "\"{{ .Values.token }}\"",
            "%TOKEN%",
            "__TOKEN__",
            "changeme",
            "CHANGE_ME",
            "changeit",
            "example",
            "your-api-key",
            "YOUR_TOKEN_HERE",
            "my-secret",
            "xxxxxxxx",
            "00000000-0000-0000-0000-000000000000",
            "0",
        ] {
            assert!(detect("API_TOKEN", Some(value), &SecretOptions::default()).is_none(), "{value}");
        }
        for value in ["{\"auth\":\"abc\"}", "mysecretpassword", "yourself1", "x1x1x1x1", "[a:b]"] {
            assert!(detect("API_TOKEN", Some(value), &SecretOptions::default()).is_some(), "{value}");
        }
        for name in
            ["HUBOT_AUTH_ADMIN", "KEYCLOAK_ADMIN", "GITEA_AUTH_ADMINS", "SECRET_ADMIN_LIST", "AUTH_USERS"]
        {
            assert!(secret_name_parts(name).is_none(), "{name}");
        }
        assert!(secret_name_parts("KEYCLOAK_ADMIN_PASSWORD").is_some());
    }

    #[test]
    fn an_existing_secret_mount_only_needs_the_literal_gone() {
        let input = "# syntax=docker/dockerfile:1.12\nFROM a\nENV API_TOKEN=hunter2\nRUN --mount=type=secret,id=t,env=API_TOKEN x $API_TOKEN\n";
        assert_eq!(
            fix(input),
            "# syntax=docker/dockerfile:1.12\nFROM a\nRUN --mount=type=secret,id=t,env=API_TOKEN x $API_TOKEN\n"
        );
    }

    #[test]
    fn two_secrets_one_run() {
        let input = "FROM a\nARG A_TOKEN=hunter2\nARG B_TOKEN=hunter3\nRUN x ${A_TOKEN} ${B_TOKEN}\n";
        assert_eq!(
            fix(input),
            "FROM a\nRUN --mount=type=secret,id=a-token --mount=type=secret,id=b-token export A_TOKEN=\"$(cat /run/secrets/a-token)\" && export B_TOKEN=\"$(cat /run/secrets/b-token)\" && x ${A_TOKEN} ${B_TOKEN}\n"
        );
        let result = outcome_in(input, SecretMode::Env);
        assert_eq!(
            result.output,
            "# syntax=docker/dockerfile:1.10\nFROM a\nRUN --mount=type=secret,id=a-token,env=A_TOKEN --mount=type=secret,id=b-token,env=B_TOKEN x ${A_TOKEN} ${B_TOKEN}\n"
        );
        assert_eq!(result.reports.len(), 2);
        assert!(result.reports.iter().all(|r| r.fixed));
    }

    #[test]
    fn arg_without_run_keeps_a_bare_arg() {
        assert_eq!(fix("FROM a\nARG NPM_TOKEN=hunter2\nRUN npm ci\n"), "FROM a\nARG NPM_TOKEN\nRUN npm ci\n");
        let input = "FROM a\nARG NPM_TOKEN\nRUN npm ci --token $NPM_TOKEN\n";
        assert_eq!(fix(input), input);
    }

    #[test]
    fn syntax_directive_is_raised_or_placed_after_other_directives() {
        let run = "FROM a\nENV API_KEY=hunter2\nRUN curl -H \"$API_KEY\" x\n";
        let expected_body = "FROM a\nRUN --mount=type=secret,id=api-key,env=API_KEY curl -H \"$API_KEY\" x\n";
        assert_eq!(
            fix_env(&format!("# syntax=docker/dockerfile:1.4\n{run}")),
            format!("# syntax=docker/dockerfile:1.10\n{expected_body}")
        );
        assert_eq!(
            fix_env(&format!("#syntax = docker.io/docker/dockerfile:1.2.1-labs\n{run}")),
            format!("#syntax = docker.io/docker/dockerfile:1.10-labs\n{expected_body}")
        );
        for kept in
            ["docker/dockerfile:1", "docker/dockerfile:1.12", "docker/dockerfile", "docker/dockerfile:labs"]
        {
            assert_eq!(
                fix_env(&format!("# syntax={kept}\n{run}")),
                format!("# syntax={kept}\n{expected_body}")
            );
        }
        assert_eq!(
            fix_env(&format!("# escape=\\\n{run}")),
            format!("# escape=\\\n# syntax=docker/dockerfile:1.10\n{expected_body}")
        );
        for blocked in ["example.com/frontend:1", "docker/dockerfile:1.4@sha256:0000"] {
            let input = format!("# syntax={blocked}\n{run}");
            let result = outcome_in(&input, SecretMode::Env);
            assert_eq!(result.output, input);
            assert!(result.reports[0].message.contains("not moved"), "{}", result.reports[0].message);
        }
        // The file mount: no directive added; one older than RUN --mount (1.2) raised to it;
        // another frontend is fine; an old one pinned by digest is not.
        assert!(!fix(run).contains("# syntax"));
        assert!(fix(&format!("# syntax=docker/dockerfile:1.0\n{run}"))
            .starts_with("# syntax=docker/dockerfile:1.2\n"));
        assert!(fix(&format!("# syntax=docker/dockerfile:1.1.7\n{run}"))
            .starts_with("# syntax=docker/dockerfile:1.2\n"));
        let other = format!("# syntax=example.com/frontend:1\n{run}");
        assert!(fix(&other).contains("export API_KEY="));
        let pinned = format!("# syntax=docker/dockerfile:1.1@sha256:0000\n{run}");
        assert_eq!(outcome(&pinned).output, pinned);
    }

    #[test]
    fn env_reaches_stages_built_from_it_but_arg_does_not() {
        let out = fix_env("FROM a AS base\nENV GH_TOKEN=hunter2\nFROM base AS build\nRUN git clone https://$GH_TOKEN@x\nFROM build\nCMD y\n");
        assert_eq!(
            out,
            "# syntax=docker/dockerfile:1.10\nFROM a AS base\nFROM base AS build\nRUN --mount=type=secret,id=gh-token,env=GH_TOKEN git clone https://$GH_TOKEN@x\nFROM build\nCMD y\n"
        );
        let out = fix("FROM a AS base\nARG GH_TOKEN=hunter2\nFROM base\nRUN echo $GH_TOKEN\n");
        assert_eq!(out, "FROM a AS base\nARG GH_TOKEN\nFROM base\nRUN echo $GH_TOKEN\n");
    }

    #[test]
    fn global_arg_reaches_stages_that_declare_it_again() {
        let out = fix_env("ARG NPM_TOKEN=hunter2\nFROM a\nARG NPM_TOKEN\nRUN npm ci $NPM_TOKEN\n");
        assert_eq!(
            out,
            "# syntax=docker/dockerfile:1.10\nFROM a\nARG NPM_TOKEN\nRUN --mount=type=secret,id=npm-token,env=NPM_TOKEN npm ci $NPM_TOKEN\n"
        );
    }

    #[test]
    fn other_build_time_readers_are_declined() {
        for input in [
            "FROM a\nENV API_TOKEN=hunter2\nENV URL=https://x/?t=$API_TOKEN\n",
            "FROM a\nARG API_TOKEN=hunter2\nLABEL t=${API_TOKEN}\n",
            "ARG REGISTRY_PASSWORD=hunter2\nFROM ${REGISTRY_PASSWORD}/x\n",
        ] {
            let result = outcome(input);
            assert_eq!(result.output, input);
            assert_eq!(result.reports.len(), 1);
            assert!(result.reports[0].message.contains("a secret mount only reaches RUN"));
            assert!(result.reports[0].message.contains("rotate it"));
        }
    }

    #[test]
    fn a_line_that_keeps_a_secret_is_not_rewritten() {
        // B_TOKEN is read by a LABEL (declined). Removing A_TOKEN would rewrite B's line, and so
        // would removing C_TOKEN (the line break before it goes too): all three stay.
        let input = "FROM a\nENV A_TOKEN=hunter2 B_TOKEN=hunter3 \\\n    C_TOKEN=hunter4\nLABEL b=$B_TOKEN\n";
        let result = outcome(input);
        assert_eq!(result.output, input);
        assert_eq!(result.reports.iter().filter(|r| r.message.contains("would rewrite a line")).count(), 2);
        // A pair on a line between kept ones goes with its line only: B's line is unchanged.
        let input = "FROM a\nENV B_TOKEN=hunter3 \\\n    C_TOKEN=hunter4 \\\n    D=1\nLABEL b=$B_TOKEN\n";
        assert_eq!(outcome(input).output, "FROM a\nENV B_TOKEN=hunter3 \\\n    D=1\nLABEL b=$B_TOKEN\n");
    }

    #[test]
    fn a_redefinition_hides_the_secret() {
        let out = fix("FROM a\nENV API_TOKEN=hunter2\nENV API_TOKEN=$OTHER\nRUN use $API_TOKEN\n");
        assert!(out.contains("ENV API_TOKEN=$OTHER\nRUN use"), "{out}");
    }

    #[test]
    fn messages_redact_and_say_what_to_do() {
        let result = outcome("FROM a\nENV S3_CFG=AKIAIOSFODNN7EXAMPLE DB_PASSWORD=hunter2\nRUN s3 $S3_CFG\n");
        assert_eq!(result.reports.len(), 1);
        let report = &result.reports[0];
        let risk = report.risk.as_deref().unwrap_or("");
        for text in [&report.message, risk] {
            assert!(!text.contains("AKIAIOSFODNN7EXAMPLE") && !text.contains("hunter2"), "{text}");
        }
        assert!(report.message.contains("`S3_CFG=****` (the value looks like an AWS access key id)"));
        assert!(report.message.contains("--secret id=s3-cfg,env=S3_CFG"));
        assert!(report.message.contains("docker run -e DB_PASSWORD"));
        assert!(report.message.contains("rotate them"));
        assert!(risk.contains("must now pass"));
        assert_eq!(report.applicability, Applicability::Unsafe);
    }

    #[test]
    fn instructions_the_grammar_does_not_understand_are_reported_not_edited() {
        // Docker accepts it; the grammar does not (the instruction is opaque). A legacy
        // `ENV NAME value with spaces` is read: fixture env-secrets/50.
        for input in ["FROM a\nARG V=1 NPM_TOKEN=hunter2\n", "FROM a\nARG NPM_TOKEN=hunter2 V=1\n"] {
            let result = outcome(input);
            assert_eq!(result.output, input);
            assert!(result.reports[0].message.contains("not understood by the parser"));
            assert!(!result.reports[0].message.contains("hunter2"));
        }
    }

    #[test]
    fn suppressed_instructions_are_left_alone() {
        let input = "FROM a\n# dockfix: ignore=env-secrets\nENV DB_PASSWORD=hunter2\n";
        assert_eq!(outcome(input).output, input);
        assert!(outcome(input).reports.is_empty());
    }

    #[test]
    fn literal_secrets_gives_lines_names_and_unquoted_values() {
        let file = Dockerfile::parse(
            "FROM a\nENV A=1 DB_PASSWORD=\"hunter 2\"\nENV API_TOKEN hunter3\nARG NPM_TOKEN\nENV GPG_KEY=$K\n",
        );
        let found: Vec<_> = literal_secrets(&file, &SecretOptions::default())
            .into_iter()
            .map(|s| (s.line, s.name, s.value))
            .collect();
        assert_eq!(
            found,
            vec![(2, "DB_PASSWORD".into(), "hunter 2".into()), (3, "API_TOKEN".into(), "hunter3".into())]
        );
    }
}
