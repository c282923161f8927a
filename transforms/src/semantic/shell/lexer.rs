//! The one shell splitter: a command line cut into simple commands and their words, quotes
//! removed, each command with the line it starts on. It reads as far as dockfix needs and no
//! further: quotes, backslashes and line continuations, comments, the operators that end a
//! simple command (`&&`, `||`, `;`, `|`, `&`, newlines), subshells, and command substitution
//! (`$(...)` and backquotes), whose commands are read as commands of their own. Expansions
//! are not performed: a word that held a `$` keeps it, so that callers can treat it as
//! unknown.

/// A piece of a shell text, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    /// The words of one simple command and the line (from 1) its first word is on.
    Command { words: Vec<String>, line: usize },
    /// A subshell starts (`(`, or a command substitution): a `cd` inside it stays inside.
    Open,
    /// The subshell ends.
    Close,
}

/// The tokens of `text`. A command substitution stays in its word as written (`$(pwd)/bin`)
/// and its commands follow the command that holds it, between [`Token::Open`] and
/// [`Token::Close`].
pub(crate) fn tokens(text: &str) -> Vec<Token> {
    let mut lexer = Lexer {
        text,
        at: 0,
        line: 0,
        tokens: Vec::new(),
        words: Vec::new(),
        word: String::new(),
        in_word: false,
        start_line: 0,
        substitutions: Vec::new(),
    };
    lexer.run();
    lexer.tokens
}

/// Whether a byte is read into a word as it is, whatever comes before or after it: ASCII
/// and printable, and none of the shell's quotes, escapes, expansions or operators (nor `#`
/// outside a word, which is why a run of these only continues a word already begun). A run
/// of them is copied at once rather than char by char.
fn is_plain(byte: u8) -> bool {
    byte.is_ascii_graphic()
        && !matches!(byte, b'\\' | b'\'' | b'"' | b'$' | b'`' | b'(' | b')' | b';' | b'&' | b'|')
}

struct Lexer<'a> {
    text: &'a str,
    /// The byte offset of the next char.
    at: usize,
    /// The line `at` is on, from 0.
    line: usize,
    tokens: Vec<Token>,
    words: Vec<String>,
    word: String,
    in_word: bool,
    /// The line the command being read starts on, from 0.
    start_line: usize,
    /// Command substitutions of the command being read: their text and the line it starts on.
    substitutions: Vec<(String, usize)>,
}

impl Lexer<'_> {
    fn next(&mut self) -> Option<char> {
        let byte = *self.text.as_bytes().get(self.at)?;
        // Nearly every char of a command is ASCII: one byte, nothing to decode.
        let c = if byte.is_ascii() { char::from(byte) } else { self.text[self.at..].chars().next()? };
        self.at += c.len_utf8();
        self.line += usize::from(c == '\n');
        Some(c)
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.text[self.at..].chars().nth(ahead)
    }

    /// Reads the text up to the first byte `stop` accepts (or to the end) into the word,
    /// counting its lines. `stop` accepts only ASCII bytes, or every byte that is not ASCII:
    /// either way the copy ends on a char boundary.
    fn copy_until(&mut self, stop: impl Fn(u8) -> bool) {
        let rest = &self.text.as_bytes()[self.at..];
        let length = rest.iter().position(|&byte| stop(byte)).unwrap_or(rest.len());
        let copied = &self.text[self.at..self.at + length];
        self.line += copied.bytes().filter(|&byte| byte == b'\n').count();
        self.word.push_str(copied);
        self.at += length;
    }

    /// Marks that a word has begun (a quote begins one even when it turns out empty).
    fn begin_word(&mut self) {
        if !self.in_word {
            if self.words.is_empty() {
                self.start_line = self.line;
            }
            self.in_word = true;
        }
    }

    fn push(&mut self, c: char) {
        self.begin_word();
        self.word.push(c);
    }

    fn finish_word(&mut self) {
        if self.in_word {
            self.words.push(std::mem::take(&mut self.word));
            self.in_word = false;
        }
    }

    /// Ends the simple command being read; the commands of its substitutions follow it.
    fn finish_command(&mut self) {
        self.finish_word();
        if !self.words.is_empty() {
            let words = std::mem::take(&mut self.words);
            self.tokens.push(Token::Command { words, line: self.start_line + 1 });
        }
        for (inner, line) in std::mem::take(&mut self.substitutions) {
            self.tokens.push(Token::Open);
            self.tokens.extend(tokens(&inner).into_iter().map(|token| match token {
                Token::Command { words, line: inner_line } => {
                    Token::Command { words, line: line + inner_line }
                }
                other => other,
            }));
            self.tokens.push(Token::Close);
        }
    }

    fn run(&mut self) {
        while let Some(c) = self.next() {
            match c {
                '\\' => match self.next() {
                    // A line continuation joins the lines.
                    Some('\n') | None => {}
                    Some(escaped) => self.push(escaped),
                },
                '\'' => {
                    self.begin_word();
                    // Everything up to the closing quote is the word's, as written.
                    self.copy_until(|byte| byte == b'\'');
                    self.next();
                }
                '"' => self.double_quoted(),
                '$' if self.peek(0) == Some('(') => self.substitution(),
                '`' => self.backquoted(),
                '#' if !self.in_word => {
                    while let Some(skipped) = self.next() {
                        if skipped == '\n' {
                            break;
                        }
                    }
                    self.finish_command();
                }
                '\n' | ';' | '&' | '|' => self.finish_command(),
                '(' | ')' => {
                    self.finish_command();
                    self.tokens.push(if c == '(' { Token::Open } else { Token::Close });
                }
                c if c.is_whitespace() => self.finish_word(),
                other => {
                    self.push(other);
                    self.copy_until(|byte| !is_plain(byte));
                }
            }
        }
        self.finish_command();
    }

    /// The rest of a `"..."`: a backslash escapes only `"`, `\`, `$`, a backquote and a
    /// newline (which it removes); a command substitution inside is read as outside.
    fn double_quoted(&mut self) {
        self.begin_word();
        loop {
            // Up to the next byte with a meaning inside double quotes (all ASCII).
            self.copy_until(|byte| matches!(byte, b'"' | b'\\' | b'$' | b'`'));
            let Some(quoted) = self.next() else { break };
            match quoted {
                '"' => break,
                '\\' => match self.next() {
                    Some('\n') | None => {}
                    Some(escaped @ ('"' | '\\' | '$' | '`')) => self.word.push(escaped),
                    Some(other) => {
                        self.word.push('\\');
                        self.word.push(other);
                    }
                },
                '$' if self.peek(0) == Some('(') => self.substitution(),
                '`' => self.backquoted(),
                other => self.word.push(other),
            }
        }
    }

    /// `$(...)` (the `$` read): kept in the word as written, its text kept for its commands.
    /// `$((...))` is arithmetic: kept, with no commands.
    fn substitution(&mut self) {
        let line = self.line;
        let arithmetic = self.peek(1) == Some('(');
        self.next();
        let inner = self.until_closing_parenthesis();
        self.push('$');
        self.word.push('(');
        self.word.push_str(&inner);
        self.word.push(')');
        if !arithmetic {
            self.substitutions.push((inner, line));
        }
    }

    /// The text up to the `)` that closes the one just read, which is read too; quotes and
    /// nested parentheses inside are skipped over.
    fn until_closing_parenthesis(&mut self) -> String {
        let mut inner = String::new();
        let mut depth = 1;
        while let Some(c) = self.next() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                '\\' => {
                    inner.push(c);
                    match self.next() {
                        Some(escaped) => inner.push(escaped),
                        None => break,
                    }
                    continue;
                }
                '\'' | '"' => {
                    inner.push(c);
                    while let Some(quoted) = self.next() {
                        inner.push(quoted);
                        if quoted == c {
                            break;
                        }
                        if quoted == '\\' && c == '"' {
                            if let Some(escaped) = self.next() {
                                inner.push(escaped);
                            }
                        }
                    }
                    continue;
                }
                _ => {}
            }
            inner.push(c);
        }
        inner
    }

    /// `` `...` `` (the first backquote read): kept in the word as written, its text kept
    /// for its commands.
    fn backquoted(&mut self) {
        let line = self.line;
        let mut inner = String::new();
        while let Some(c) = self.next() {
            match c {
                '`' => break,
                '\\' => match self.next() {
                    Some(escaped @ ('`' | '\\' | '$')) => inner.push(escaped),
                    Some(other) => {
                        inner.push('\\');
                        inner.push(other);
                    }
                    None => {}
                },
                other => inner.push(other),
            }
        }
        self.push('`');
        self.word.push_str(&inner);
        self.word.push('`');
        self.substitutions.push((inner, line));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each command's words joined by spaces, `(`/`)` for subshells.
    fn read(text: &str) -> Vec<String> {
        tokens(text)
            .into_iter()
            .map(|token| match token {
                Token::Command { words, .. } => words.join(" "),
                Token::Open => "(".to_string(),
                Token::Close => ")".to_string(),
            })
            .collect()
    }

    fn lines(text: &str) -> Vec<usize> {
        tokens(text)
            .into_iter()
            .filter_map(|token| match token {
                Token::Command { line, .. } => Some(line),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn operators_end_commands() {
        assert_eq!(read("a && b || c; d | e & f\ng"), ["a", "b", "c", "d", "e", "f", "g"]);
        assert_eq!(read("(cd /tmp && make) && pwd"), ["(", "cd /tmp", "make", ")", "pwd"]);
    }

    #[test]
    fn quotes_and_backslashes() {
        assert_eq!(read(r#"echo 'a && b' "c \"d\" \x" e\ f"#), [r#"echo a && b c "d" \x e f"#]);
        assert_eq!(read("echo '' \"\""), ["echo  "], "empty quotes are words");
        assert_eq!(read("apt-get install \\\n  curl"), ["apt-get install curl"]);
        assert_eq!(read("echo \"a\\\nb\""), ["echo ab"], "a continuation inside double quotes");
    }

    #[test]
    fn comments() {
        assert_eq!(read("# cron\nls # not cron\necho a#b"), ["ls", "echo a#b"]);
    }

    #[test]
    fn substitutions_stay_in_their_word_and_are_read_after_it() {
        assert_eq!(read("go build -o $(pwd)/bin ."), ["go build -o $(pwd)/bin .", "(", "pwd", ")"]);
        assert_eq!(
            read("echo `id -u` \"$(whoami)\""),
            ["echo `id -u` $(whoami)", "(", "id -u", ")", "(", "whoami", ")"]
        );
        assert_eq!(read("x $(a \"b)\" $(c))"), ["x $(a \"b)\" $(c))", "(", "a b) $(c)", "(", "c", ")", ")"]);
        assert_eq!(read("echo $((1 + 2))"), ["echo $((1 + 2))"], "arithmetic runs nothing");
    }

    #[test]
    fn lines_of_commands() {
        assert_eq!(
            lines("#!/bin/sh\nset -e\n\nchown -R app /data \\\n  /logs\nexec gosu app \"$@\"\n"),
            [2, 4, 6]
        );
        assert_eq!(lines("echo 'a\nb' && c\nd $(\ne)"), [1, 2, 3, 4]);
    }
}
