//! Just enough shell to read what a `RUN` does: its simple commands, their words with quotes
//! removed, the environment assignments before them, and the directory each one runs in (`cd`
//! followed). Anything dockfix cannot follow (a variable, a `cd` into one) is `None`, never a
//! guess.

/// One simple command of a shell text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The words, quotes removed. A word that held a `$` keeps it: callers treat it as unknown.
    pub words: Vec<String>,
    /// `NAME=value` assignments in effect: exported earlier in the text, then those written
    /// before the command (later ones win).
    pub env: Vec<(String, String)>,
    /// The directory the command runs in, when known.
    pub cwd: Option<String>,
}

impl Command {
    /// The program, without a leading `env`, `exec`, `sudo`, `nohup` or `time`.
    pub fn program(&self) -> Option<&str> {
        self.words.first().map(String::as_str)
    }

    /// The words after the program.
    pub fn args(&self) -> &[String] {
        self.words.get(1..).unwrap_or(&[])
    }

    /// The value of an environment variable set for this command.
    pub fn env(&self, name: &str) -> Option<&str> {
        self.env.iter().rev().find(|(n, _)| n == name).map(|(_, value)| value.as_str())
    }

    /// Whether the command is `program sub ...` (`go build`, `npm ci`, `apt-get -y install`).
    pub fn is(&self, program: &str, sub: &str) -> bool {
        self.program().is_some_and(|p| basename(p) == program)
            && self.subcommand().is_some_and(|(_, first)| first == sub)
    }

    /// The first argument that is not an option, with its index in [`Command::args`]. Options
    /// before it are skipped (`apk --update add`), with the value of `-o`/`-c`.
    pub fn subcommand(&self) -> Option<(usize, &str)> {
        let args = self.args();
        let mut index = 0;
        while let Some(arg) = args.get(index) {
            if !arg.starts_with('-') {
                return Some((index, arg));
            }
            index += if matches!(arg.as_str(), "-o" | "-c") { 2 } else { 1 };
        }
        None
    }
}

/// Words that run the rest of the command line as the command.
const PREFIXES: &[&str] = &["exec", "sudo", "nohup", "time", "command"];

/// Splits `text` into simple commands; `cwd` is the directory the text starts in, `env` the
/// environment it starts with.
pub fn commands(text: &str, cwd: Option<&str>, env: &[(String, String)]) -> Vec<Command> {
    let mut out = Vec::new();
    let mut exported: Vec<(String, String)> = env.to_vec();
    let mut cwd: Option<String> = cwd.map(str::to_string);
    // Directories to go back to when a subshell closes.
    let mut subshells: Vec<Option<String>> = Vec::new();
    for token in tokens(text) {
        let words = match token {
            Token::Open => {
                subshells.push(cwd.clone());
                continue;
            }
            Token::Close => {
                if let Some(saved) = subshells.pop() {
                    cwd = saved;
                }
                continue;
            }
            Token::Words(words) => words,
        };
        let mut env = exported.clone();
        let mut rest: &[String] = &words;
        loop {
            match rest.first() {
                Some(word) if assignment(word).is_some() => {
                    env.extend(assignment(word));
                    rest = &rest[1..];
                }
                Some(word) if word == "env" => {
                    rest = &rest[1..];
                    while rest.first().is_some_and(|w| w.starts_with('-')) {
                        rest = &rest[1..];
                    }
                }
                Some(word) if PREFIXES.contains(&word.as_str()) => rest = &rest[1..],
                _ => break,
            }
        }
        let command = Command { words: rest.to_vec(), env, cwd: cwd.clone() };
        match command.program() {
            Some("cd" | "pushd") => {
                cwd = match (command.args().first(), &cwd) {
                    (Some(dir), _) if dir.starts_with('/') && !dir.contains('$') => Some(normalize(dir)),
                    (Some(dir), Some(current)) if !dir.contains('$') && dir != "-" => {
                        Some(join(current, dir))
                    }
                    _ => None,
                };
            }
            Some("export") => exported.extend(command.args().iter().filter_map(|w| assignment(w))),
            _ => {}
        }
        if !command.words.is_empty() {
            out.push(command);
        }
    }
    out
}

/// `NAME=value` as (name, value).
fn assignment(word: &str) -> Option<(String, String)> {
    let (name, value) = word.split_once('=')?;
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then(|| (name.to_string(), value.to_string()))
}

enum Token {
    Words(Vec<String>),
    Open,
    Close,
}

/// Words grouped into simple commands, split at `&&`, `||`, `;`, `|`, `&`, newlines and
/// parentheses outside quotes. `#` at the start of a word comments out the rest of its line;
/// a backslash before a newline joins the lines.
fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars().peekable();
    let end_word = |word: &mut String, in_word: &mut bool, words: &mut Vec<String>| {
        if *in_word {
            words.push(std::mem::take(word));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(next) => {
                    word.push(next);
                    in_word = true;
                }
                None => {}
            },
            '\'' => {
                in_word = true;
                for inner in chars.by_ref() {
                    if inner == '\'' {
                        break;
                    }
                    word.push(inner);
                }
            }
            '"' => {
                in_word = true;
                while let Some(inner) = chars.next() {
                    match inner {
                        '"' => break,
                        '\\' => {
                            if let Some(escaped) = chars.next() {
                                if !matches!(escaped, '"' | '\\' | '$' | '`') {
                                    word.push('\\');
                                }
                                if escaped != '\n' {
                                    word.push(escaped);
                                }
                            }
                        }
                        _ => word.push(inner),
                    }
                }
            }
            '#' if !in_word => {
                for skipped in chars.by_ref() {
                    if skipped == '\n' {
                        break;
                    }
                }
                end_word(&mut word, &mut in_word, &mut words);
                out.push(Token::Words(std::mem::take(&mut words)));
            }
            ' ' | '\t' => end_word(&mut word, &mut in_word, &mut words),
            '\n' | ';' | '&' | '|' | '(' | ')' => {
                end_word(&mut word, &mut in_word, &mut words);
                if !words.is_empty() {
                    out.push(Token::Words(std::mem::take(&mut words)));
                }
                match c {
                    '(' => out.push(Token::Open),
                    ')' => out.push(Token::Close),
                    _ => {}
                }
            }
            _ => {
                word.push(c);
                in_word = true;
            }
        }
    }
    end_word(&mut word, &mut in_word, &mut words);
    if !words.is_empty() {
        out.push(Token::Words(words));
    }
    out
}

/// Words of an instruction's shell-form text or exec form, for reading a start command.
pub fn split_words(text: &str) -> Vec<String> {
    tokens(text)
        .into_iter()
        .filter_map(|token| match token {
            Token::Words(words) => Some(words),
            _ => None,
        })
        .flatten()
        .collect()
}

/// `path` resolved against the directory `base`, `.` and `..` removed.
pub fn join(base: &str, path: &str) -> String {
    if path.starts_with('/') {
        return normalize(path);
    }
    normalize(&format!("{base}/{path}"))
}

/// An absolute path with `.`, `..` and repeated or trailing slashes removed.
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The last component of a path.
pub fn basename(path: &str) -> &str {
    path.trim_end_matches('/').rsplit('/').next().unwrap_or(path)
}

/// The directory part of an absolute path (`/` for `/app`).
pub fn dirname(path: &str) -> String {
    match path.trim_end_matches('/').rsplit_once('/') {
        Some(("", _)) | None => "/".to_string(),
        Some((dir, _)) => dir.to_string(),
    }
}

/// Whether `path` is `dir` or lies under it.
pub fn is_under(path: &str, dir: &str) -> bool {
    dir == "/" || path == dir || path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(command: &Command) -> Vec<&str> {
        command.words.iter().map(String::as_str).collect()
    }

    #[test]
    fn splits_commands_and_follows_cd() {
        let found = commands("cd src && CGO_ENABLED=0 go build -o ../bin/app . ; ls", Some("/work"), &[]);
        assert_eq!(found.len(), 3);
        assert_eq!(words(&found[1]), ["go", "build", "-o", "../bin/app", "."]);
        assert_eq!(found[1].cwd.as_deref(), Some("/work/src"));
        assert_eq!(found[1].env("CGO_ENABLED"), Some("0"));
        assert_eq!(found[2].env("CGO_ENABLED"), None);
    }

    #[test]
    fn quotes_comments_continuations_and_subshells() {
        let found = commands(
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
    fn exports_prefixes_and_unknown_directories() {
        let found =
            commands("export CGO_ENABLED=0 && env GOOS=linux go build && cd $HOME && ls", Some("/"), &[]);
        assert_eq!(words(&found[1]), ["go", "build"]);
        assert_eq!(found[1].env("CGO_ENABLED"), Some("0"));
        assert_eq!(found[1].env("GOOS"), Some("linux"));
        assert_eq!(found[3].cwd, None);
    }

    #[test]
    fn paths() {
        assert_eq!(join("/app", "./dist/../build/"), "/app/build");
        assert_eq!(join("/app", "/abs"), "/abs");
        assert_eq!(basename("/a/b/"), "b");
        assert_eq!(dirname("/app"), "/");
        assert_eq!(dirname("/a/b"), "/a");
        assert!(is_under("/app/dist/x", "/app/dist"));
        assert!(!is_under("/app/distx", "/app/dist"));
    }
}
