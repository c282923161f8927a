//! The shell commands of a `RUN`, `CMD`, `ENTRYPOINT` or entrypoint script, read once for
//! every transform: [`lexer`] cuts the text into simple commands, [`commands`] finds the
//! program each one runs (past assignments, shell keywords and wrappers such as `exec` or
//! `tini`, into `sh -c STRING`) and follows `cd` and `export`, and the tables of
//! [`packages`] and [`privilege`] recognise what a command does. Anything dockfix cannot
//! follow (a variable, a `cd` into one) is unknown (`None`), never a guess.

mod lexer;
pub mod packages;
pub mod path;
pub mod privilege;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::syntax::Instruction;
use lexer::Token;

/// Instructions that hold what the running container executes rather than the build: its
/// start command and its health check (Dockerfile reference: CMD, ENTRYPOINT, HEALTHCHECK).
/// A `USER` that is meant for the container goes before them; root work of the build goes
/// before them too.
pub const RUNTIME_COMMAND_KEYWORDS: &[&str] = &["CMD", "ENTRYPOINT", "HEALTHCHECK"];

/// Whether `instruction` is one of [`RUNTIME_COMMAND_KEYWORDS`].
pub fn is_runtime_command(instruction: &Instruction) -> bool {
    RUNTIME_COMMAND_KEYWORDS.iter().any(|keyword| instruction.is(keyword))
}

/// One simple command: the program it runs and its arguments, quotes removed. A word that
/// held a `$` keeps it: callers treat it as unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The program as written (`/usr/bin/supervisord`).
    pub path: String,
    pub args: Vec<String>,
    /// The line of the text the command starts on, from 1.
    pub line: usize,
    /// `NAME=value` assignments in effect: the environment the text starts with, exported
    /// earlier in the text, then those written before the command (later ones win).
    pub env: Vec<(String, String)>,
    /// The directory the command runs in, when known.
    pub cwd: Option<String>,
}

impl Command {
    /// The program's file name (`supervisord` for `/usr/bin/supervisord`).
    pub fn program(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }

    /// The arguments that are not options (`-y`, `--no-cache`).
    pub fn operands(&self) -> impl Iterator<Item = &str> {
        self.args.iter().map(String::as_str).filter(|arg| !arg.starts_with('-'))
    }

    /// The value of an environment variable set for this command.
    pub fn env(&self, name: &str) -> Option<&str> {
        self.env.iter().rev().find(|(n, _)| n == name).map(|(_, value)| value.as_str())
    }

    /// Whether the command is `program sub ...` (`go build`, `npm ci`, `apt-get -y install`).
    pub fn is(&self, program: &str, sub: &str) -> bool {
        self.program() == program && self.subcommand().is_some_and(|(_, first)| first == sub)
    }

    /// The first argument that is not an option, with its index in [`Command::args`]. Options
    /// before it are skipped (`apk --update add`), with the value of `-o`/`-c`.
    pub fn subcommand(&self) -> Option<(usize, &str)> {
        let mut index = 0;
        while let Some(arg) = self.args.get(index) {
            if !arg.starts_with('-') {
                return Some((index, arg));
            }
            index += if matches!(arg.as_str(), "-o" | "-c") { 2 } else { 1 };
        }
        None
    }
}

/// Programs that run the command that follows them and their own options: the command that
/// matters comes after them. `tini`/`dumb-init` are the init shims images start with.
const WRAPPERS: &[&str] =
    &["exec", "env", "nohup", "command", "time", "nice", "tini", "tini-static", "dumb-init"];

/// Shell keywords that may come before a command (`if cron; then ...`).
const KEYWORDS: &[&str] =
    &["then", "do", "else", "elif", "if", "while", "until", "!", "{", "}", "fi", "done"];

/// Shells whose `-c STRING` is itself a command line.
pub const SHELLS: &[&str] = &["sh", "bash", "ash", "dash", "zsh"];

/// The options of a shell that put the command line in the next word.
const SHELL_COMMAND_OPTIONS: &[&str] = &["-c", "-ec", "-xc"];

/// The simple commands of a shell text (a `RUN`, a shell-form `CMD`, a script), with no
/// known directory or environment.
pub fn commands(text: &str) -> Vec<Command> {
    commands_in(text, None, &[])
}

/// The simple commands of a shell text that starts in directory `cwd` with environment `env`.
pub fn commands_in(text: &str, cwd: Option<&str>, env: &[(String, String)]) -> Vec<Command> {
    let mut walk = Walk { out: Vec::new(), exported: env.to_vec(), cwd: cwd.map(str::to_string) };
    let mut subshells: Vec<Option<String>> = Vec::new();
    for token in lexer::tokens(text) {
        match token {
            Token::Open => subshells.push(walk.cwd.clone()),
            Token::Close => {
                if let Some(saved) = subshells.pop() {
                    walk.cwd = saved;
                }
            }
            Token::Command { words, line } => walk.command(words, line),
        }
    }
    walk.out
}

/// The commands an instruction runs (a `RUN`, `CMD` or `ENTRYPOINT`, exec or shell form), with
/// no known directory or environment.
///
/// Several transforms ask this of the same instruction, and every pass asks again, so a
/// shell-form text is read once and its commands shared: [`commands`] is a function of the
/// text alone, so the answer cannot go stale.
pub fn instruction_commands(instruction: &Instruction) -> Rc<[Command]> {
    if let Some(argv) = &instruction.exec_form {
        return argv_commands(argv).into();
    }
    text_commands(instruction)
}

/// [`commands`] of an instruction's [`Instruction::command_text`], whatever its form (an
/// exec-form array is read as the shell text it is written as), shared as
/// [`instruction_commands`] shares them.
pub fn text_commands(instruction: &Instruction) -> Rc<[Command]> {
    READ_TEXTS.with(|read| {
        let mut read = read.borrow_mut();
        // Most instructions have no heredoc: their text is their arguments, looked up as
        // they are rather than copied into a new `String` for every ask.
        if instruction.heredocs.is_empty() {
            if let Some(found) = read.commands_by_text.get(instruction.args.as_str()) {
                return Rc::clone(found);
            }
        }
        read.commands(instruction.command_text())
    })
}

/// The pieces of an instruction's [`Instruction::command_text`], in order: its arguments,
/// then each heredoc body. That text joins them with newlines, so a search for something
/// without a newline (a word, a fragment) finds it in the text exactly when it finds it in
/// one of the pieces, with no text built for the search.
pub fn text_pieces(instruction: &Instruction) -> impl Iterator<Item = &str> {
    std::iter::once(instruction.args.as_str())
        .chain(instruction.heredocs.iter().map(|heredoc| heredoc.body.as_str()))
}

/// Lets go of the texts this thread has read: the engine calls it as it starts on a file, so
/// the reads are shared by one file's rules and passes, and a run over many files holds one
/// file's at a time.
pub fn forget_texts_read() {
    READ_TEXTS.with(|read| *read.borrow_mut() = ReadTexts::default());
}

thread_local! {
    static READ_TEXTS: RefCell<ReadTexts> = RefCell::new(ReadTexts::default());
}

/// The shell texts one thread has read lately, with their commands.
#[derive(Default)]
struct ReadTexts {
    commands_by_text: HashMap<String, Rc<[Command]>>,
    /// The bytes of the texts held: past [`ReadTexts::MAX_BYTES`] they are all let go, so a
    /// large file's texts are not all held at once.
    bytes: usize,
}

impl ReadTexts {
    const MAX_BYTES: usize = 1 << 20;

    fn commands(&mut self, text: String) -> Rc<[Command]> {
        if let Some(found) = self.commands_by_text.get(&text) {
            return Rc::clone(found);
        }
        if self.bytes + text.len() > Self::MAX_BYTES {
            self.commands_by_text.clear();
            self.bytes = 0;
        }
        let found: Rc<[Command]> = commands(&text).into();
        self.bytes += text.len();
        self.commands_by_text.insert(text, Rc::clone(&found));
        found
    }
}

/// The command of an exec-form argument list (`["tini", "--", "/entry.sh"]`), with no known
/// directory or environment.
pub fn argv_commands(argv: &[String]) -> Vec<Command> {
    argv_commands_in(argv, None, &[])
}

/// The command of an exec-form argument list run in directory `cwd` with environment `env`.
pub fn argv_commands_in(argv: &[String], cwd: Option<&str>, env: &[(String, String)]) -> Vec<Command> {
    let mut walk = Walk { out: Vec::new(), exported: env.to_vec(), cwd: cwd.map(str::to_string) };
    walk.command(argv.to_vec(), 1);
    walk.out
}

/// The words of a `CMD`/`ENTRYPOINT` (or exec-form `RUN`): its JSON-form array, or its
/// shell-form text split by [`split_words`].
pub fn command_words(instruction: &Instruction) -> Vec<String> {
    match &instruction.exec_form {
        Some(argv) => argv.clone(),
        None => split_words(&instruction.args),
    }
}

/// The words of an instruction's shell-form text, all commands' together, for reading a
/// start command.
pub fn split_words(text: &str) -> Vec<String> {
    lexer::tokens(text)
        .into_iter()
        .filter_map(|token| match token {
            Token::Command { words, .. } => Some(words),
            _ => None,
        })
        .flatten()
        .collect()
}

/// The state of reading a text command by command: what it has found, and what `export`
/// and `cd` have changed so far.
struct Walk {
    out: Vec<Command>,
    exported: Vec<(String, String)>,
    cwd: Option<String>,
}

impl Walk {
    /// Reads one simple command's words: assignments, keywords and wrappers are skipped to
    /// the program; a shell's `-c STRING` is read as the command line it is.
    fn command(&mut self, words: Vec<String>, line: usize) {
        let mut env = self.exported.clone();
        let mut rest = words.into_iter().peekable();
        while let Some(word) = rest.next() {
            if let Some(pair) = assignment(&word) {
                env.push(pair);
                continue;
            }
            if KEYWORDS.contains(&word.as_str()) {
                continue;
            }
            let program = word.rsplit('/').next().unwrap_or(&word);
            if WRAPPERS.contains(&program) {
                // The wrapper's own options, and `--` that ends them.
                while rest.peek().is_some_and(|next| next.starts_with('-')) {
                    rest.next();
                }
                continue;
            }
            let args: Vec<String> = rest.collect();
            if SHELLS.contains(&program) {
                let script = args
                    .iter()
                    .position(|arg| SHELL_COMMAND_OPTIONS.contains(&arg.as_str()))
                    .and_then(|position| args.get(position + 1));
                if let Some(script) = script {
                    for mut inner in commands_in(script, self.cwd.as_deref(), &env) {
                        inner.line += line - 1;
                        self.out.push(inner);
                    }
                    return;
                }
            }
            let command = Command { path: word, args, line, env, cwd: self.cwd.clone() };
            self.follow(&command);
            self.out.push(command);
            return;
        }
    }

    /// What a command changes for those after it: `cd`/`pushd` the directory, `export` the
    /// environment.
    fn follow(&mut self, command: &Command) {
        match command.path.as_str() {
            "cd" | "pushd" => {
                self.cwd = match (command.args.first(), &self.cwd) {
                    (Some(dir), _) if dir.starts_with('/') && !dir.contains('$') => {
                        Some(path::normalize(dir))
                    }
                    (Some(dir), Some(current)) if !dir.contains('$') && dir != "-" => {
                        Some(path::join(current, dir))
                    }
                    _ => None,
                };
            }
            "export" => self.exported.extend(command.args.iter().filter_map(|w| assignment(w))),
            _ => {}
        }
    }
}

/// `NAME=value` as (name, value).
fn assignment(word: &str) -> Option<(String, String)> {
    let (name, value) = word.split_once('=')?;
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then(|| (name.to_string(), value.to_string()))
}

/// The paths a command writes through a redirection (`> /etc/x`, `>>/etc/x`, `tee /etc/x`).
pub fn redirect_targets(command: &Command) -> Vec<&str> {
    let mut targets = Vec::new();
    let mut after_redirect = command.program() == "tee";
    for arg in &command.args {
        let stripped = arg.trim_start_matches(['1', '2']).trim_start_matches('>');
        if stripped.len() < arg.len() && arg.contains('>') {
            if stripped.is_empty() {
                after_redirect = true;
                continue;
            }
            targets.push(stripped);
            continue;
        }
        if after_redirect && !arg.starts_with('-') {
            targets.push(arg.as_str());
            after_redirect = command.program() == "tee";
        }
    }
    targets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn programs(text: &str) -> Vec<String> {
        commands(text).iter().map(|command| command.program().to_string()).collect()
    }

    fn words(command: &Command) -> Vec<&str> {
        std::iter::once(command.path.as_str()).chain(command.args.iter().map(String::as_str)).collect()
    }

    #[test]
    fn finds_programs_past_wrappers_keywords_and_shells() {
        assert_eq!(
            programs("apt-get update && apt-get install -y cron \\\n && rm -rf /x; echo 'a && b' | tee /y"),
            ["apt-get", "apt-get", "rm", "echo", "tee"]
        );
        assert_eq!(programs("exec tini -- /usr/bin/supervisord -n"), ["supervisord"]);
        assert_eq!(programs("FOO=1 env -i BAR=2 nginx -g 'daemon off;'"), ["nginx"]);
        assert_eq!(programs("sh -c \"chown -R app /data && exec gosu app server\""), ["chown", "gosu"]);
        assert_eq!(
            programs("# a comment with cron\nif [ -x /x ]; then\n  su-exec app x\nfi\n"),
            ["[", "su-exec"]
        );
        assert_eq!(programs("echo $(whoami) `id -u`"), ["echo", "whoami", "id"]);
        assert_eq!(programs("curl -fsSL https://example.com/cron/crond -o /tmp/x"), ["curl"]);
    }

    #[test]
    fn lines_of_a_script() {
        let found = commands("#!/bin/sh\nset -e\n\nchown -R app /data \\\n  /logs\nexec gosu app \"$@\"\n");
        let lines: Vec<(&str, usize)> = found.iter().map(|c| (c.program(), c.line)).collect();
        assert_eq!(lines, [("set", 2), ("chown", 4), ("gosu", 6)]);
    }

    #[test]
    fn follows_cd_and_the_environment() {
        let found = commands_in("cd src && CGO_ENABLED=0 go build -o ../bin/app . ; ls", Some("/work"), &[]);
        assert_eq!(found.len(), 3);
        assert_eq!(words(&found[1]), ["go", "build", "-o", "../bin/app", "."]);
        assert_eq!(found[1].cwd.as_deref(), Some("/work/src"));
        assert_eq!(found[1].env("CGO_ENABLED"), Some("0"));
        assert_eq!(found[2].env("CGO_ENABLED"), None);
    }

    #[test]
    fn subshells_keep_their_cd() {
        let found = commands_in(
            "go build -ldflags \"-s -w\" -o '/out/my app' \\\n  ./cmd/x # build\n(cd /tmp && make) && pwd",
            Some("/"),
            &[],
        );
        assert_eq!(words(&found[0]), ["go", "build", "-ldflags", "-s -w", "-o", "/out/my app", "./cmd/x"]);
        assert_eq!(found[2].cwd.as_deref(), Some("/tmp"));
        assert_eq!(words(&found[3]), ["pwd"]);
        assert_eq!(found[3].cwd.as_deref(), Some("/"), "a subshell's cd does not leak");
    }

    #[test]
    fn exports_and_unknown_directories() {
        let found =
            commands_in("export CGO_ENABLED=0 && env GOOS=linux go build && cd $HOME && ls", Some("/"), &[]);
        assert_eq!(words(&found[1]), ["go", "build"]);
        assert_eq!(found[1].env("CGO_ENABLED"), Some("0"));
        assert_eq!(found[1].env("GOOS"), Some("linux"));
        assert_eq!(found[3].cwd, None);
    }

    #[test]
    fn redirections() {
        let found = commands(
            "echo 'app ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/app && echo x >>/etc/crontab | tee -a /etc/a /etc/b",
        );
        let targets: Vec<&str> = found.iter().flat_map(redirect_targets).collect();
        assert_eq!(targets, ["/etc/sudoers.d/app", "/etc/crontab", "/etc/a", "/etc/b"]);
    }

    #[test]
    fn read_texts_answer_as_a_fresh_read_and_let_go_past_their_bound() {
        let mut read = ReadTexts::default();
        let text = "cd /src && make install; exec app".to_string();
        let first = read.commands(text.clone());
        assert_eq!(*first, *commands(&text));
        assert!(Rc::ptr_eq(&first, &read.commands(text.clone())), "the second ask is the first answer");
        let long = format!("echo {}", "x".repeat(ReadTexts::MAX_BYTES));
        assert_eq!(*read.commands(long.clone()), *commands(&long));
        assert_eq!(read.commands_by_text.len(), 1, "the bound let the earlier texts go");
        assert_eq!(read.bytes, long.len());
        assert_eq!(*read.commands(text.clone()), *commands(&text));
    }
}
