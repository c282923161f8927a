//! Just enough of the shell to read commands word by word: a `RUN`, a `CMD`/`ENTRYPOINT`, an
//! `ONBUILD RUN` or an entrypoint script is split into simple commands, each with the program
//! it runs. Signals are matched on programs and their arguments, never on substrings of the
//! text, so that `curl https://example.com/cron` is not cron.

/// One simple command: the program it runs and its arguments, quotes removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Command {
    /// The program as written (`/usr/bin/supervisord`).
    pub path: String,
    pub args: Vec<String>,
    /// The line of the text the command starts on, from 1.
    pub line: usize,
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
}

/// Programs that run the command that follows them: the command that matters comes after
/// them and their options. `tini`/`dumb-init` are the init shims images start with.
const WRAPPERS: &[&str] =
    &["exec", "env", "nohup", "command", "time", "nice", "tini", "tini-static", "dumb-init"];

/// Shell keywords that may come before a command (`if cron; then ...`).
const KEYWORDS: &[&str] =
    &["then", "do", "else", "elif", "if", "while", "until", "!", "{", "}", "fi", "done"];

/// Shells whose `-c STRING` is itself a command line.
const SHELLS: &[&str] = &["sh", "bash", "ash", "dash", "zsh"];

/// The simple commands of a shell text (a `RUN`, a shell-form `CMD`, a script).
pub(crate) fn commands(text: &str) -> Vec<Command> {
    let mut out = Vec::new();
    for (words, line) in simple_commands(text) {
        push_command(words, line, &mut out);
    }
    out
}

/// The commands of an exec-form argument list (`["tini", "--", "/entry.sh"]`).
pub(crate) fn argv_commands(argv: &[String]) -> Vec<Command> {
    let mut out = Vec::new();
    push_command(argv.to_vec(), 1, &mut out);
    out
}

/// Skips assignments, keywords and wrappers to the program; a shell's `-c STRING` is read as
/// the command line it is.
fn push_command(words: Vec<String>, line: usize, out: &mut Vec<Command>) {
    let mut rest = words.into_iter().peekable();
    while let Some(word) = rest.next() {
        let is_assignment = word.split_once('=').is_some_and(|(name, _)| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        if is_assignment || KEYWORDS.contains(&word.as_str()) {
            continue;
        }
        let program = word.rsplit('/').next().unwrap_or(&word).to_string();
        if WRAPPERS.contains(&program.as_str()) {
            // The wrapper's own options, and `--` that ends them.
            while rest.peek().is_some_and(|next| next.starts_with('-')) {
                rest.next();
            }
            continue;
        }
        let args: Vec<String> = rest.collect();
        if SHELLS.contains(&program.as_str()) {
            if let Some(position) = args.iter().position(|arg| arg == "-c" || arg == "-ec" || arg == "-xc") {
                if let Some(script) = args.get(position + 1) {
                    for (inner, inner_line) in simple_commands(script) {
                        push_command(inner, line + inner_line - 1, out);
                    }
                    return;
                }
            }
        }
        out.push(Command { path: word, args, line });
        return;
    }
}

/// Splits a text into the words of its simple commands (quotes removed, comments dropped),
/// each with the line it starts on. Separators: newlines, `;`, `&`, `|`, `(`, `)`, and the
/// backquote and `$(` of command substitution, so that a command inside one is read too.
fn simple_commands(text: &str) -> Vec<(Vec<String>, usize)> {
    let mut commands = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut line = 1;
    let mut start_line = 1;
    let mut chars = text.chars().peekable();
    let finish_word = |word: &mut String, in_word: &mut bool, words: &mut Vec<String>| {
        if *in_word {
            words.push(std::mem::take(word));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\n') => line += 1,
                Some(escaped) => {
                    word.push(escaped);
                    in_word = true;
                }
                None => {}
            },
            '\'' => {
                in_word = true;
                for quoted in chars.by_ref() {
                    if quoted == '\'' {
                        break;
                    }
                    line += usize::from(quoted == '\n');
                    word.push(quoted);
                }
            }
            '"' => {
                in_word = true;
                while let Some(quoted) = chars.next() {
                    match quoted {
                        '"' => break,
                        '\\' => {
                            if let Some(escaped) = chars.next() {
                                line += usize::from(escaped == '\n');
                                word.push(escaped);
                            }
                        }
                        other => {
                            line += usize::from(other == '\n');
                            word.push(other);
                        }
                    }
                }
            }
            '#' if !in_word => {
                for skipped in chars.by_ref() {
                    if skipped == '\n' {
                        line += 1;
                        break;
                    }
                }
                finish_word(&mut word, &mut in_word, &mut words);
                if !words.is_empty() {
                    commands.push((std::mem::take(&mut words), start_line));
                }
                start_line = line;
            }
            '$' if chars.peek() == Some(&'(') => {
                chars.next();
                finish_word(&mut word, &mut in_word, &mut words);
                if !words.is_empty() {
                    commands.push((std::mem::take(&mut words), start_line));
                }
                start_line = line;
            }
            '\n' | ';' | '&' | '|' | '(' | ')' | '`' => {
                finish_word(&mut word, &mut in_word, &mut words);
                if !words.is_empty() {
                    commands.push((std::mem::take(&mut words), start_line));
                }
                line += usize::from(c == '\n');
                start_line = line;
            }
            c if c.is_whitespace() => finish_word(&mut word, &mut in_word, &mut words),
            other => {
                if !in_word && words.is_empty() {
                    start_line = line;
                }
                word.push(other);
                in_word = true;
            }
        }
    }
    finish_word(&mut word, &mut in_word, &mut words);
    if !words.is_empty() {
        commands.push((words, start_line));
    }
    commands
}

/// Package managers and the subcommand that installs: (program, subcommands).
const PACKAGE_INSTALLS: &[(&str, &[&str])] = &[
    ("apt-get", &["install"]),
    ("apt", &["install"]),
    ("aptitude", &["install"]),
    ("apk", &["add"]),
    ("yum", &["install"]),
    ("dnf", &["install"]),
    ("microdnf", &["install"]),
    ("tdnf", &["install"]),
    ("zypper", &["install", "in"]),
    ("pacman", &["-S", "-Sy", "-Syu"]),
];

/// The packages a command installs with the system package manager, version and
/// architecture suffixes removed (`nginx=1.24*` -> `nginx`).
pub(crate) fn installed_packages(command: &Command) -> Vec<String> {
    let Some(position) = install_position(command) else {
        return Vec::new();
    };
    command.args[position + 1..]
        .iter()
        .filter(|arg| !arg.starts_with('-'))
        .map(|arg| arg.split(['=', ':', '<', '>']).next().unwrap_or(arg).to_string())
        .filter(|package| !package.is_empty())
        .collect()
}

/// Whether the command installs system packages, whatever it installs (the list may come
/// from a command substitution).
pub(crate) fn installs_packages(command: &Command) -> bool {
    install_position(command).is_some()
}

/// Where the package manager's install subcommand is in the arguments.
fn install_position(command: &Command) -> Option<usize> {
    let (_, subcommands) = PACKAGE_INSTALLS.iter().find(|(program, _)| *program == command.program())?;
    command.args.iter().position(|arg| subcommands.contains(&arg.as_str()))
}

/// The paths a command writes through a redirection (`> /etc/x`, `>>/etc/x`, `tee /etc/x`).
pub(crate) fn redirect_targets(command: &Command) -> Vec<&str> {
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

    #[test]
    fn splits_commands_and_finds_programs() {
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
        let lines: Vec<(String, usize)> = found.iter().map(|c| (c.program().to_string(), c.line)).collect();
        assert_eq!(lines, [("set".into(), 2), ("chown".into(), 4), ("gosu".into(), 6)]);
    }

    #[test]
    fn installed_packages_by_word() {
        let found = commands("apt-get update && apt-get install -y --no-install-recommends openssh-server nginx=1.22* && apk add --no-cache cron curl");
        let packages: Vec<String> = found.iter().flat_map(installed_packages).collect();
        assert_eq!(packages, ["openssh-server", "nginx", "cron", "curl"]);
        assert!(commands("pip install cron-descriptor").iter().all(|c| installed_packages(c).is_empty()));
    }

    #[test]
    fn redirections() {
        let found = commands("echo 'app ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/app && echo x >>/etc/crontab | tee -a /etc/a /etc/b");
        let targets: Vec<&str> = found.iter().flat_map(redirect_targets).collect();
        assert_eq!(targets, ["/etc/sudoers.d/app", "/etc/crontab", "/etc/a", "/etc/b"]);
    }
}
