//! Quoting by Docker's rules. Docker reads quotes differently by place, so each place has its
//! own reader; none pretends the others are the same:
//!
//! - A word Docker processes itself: the values of `ENV`, `ARG` and `LABEL`, the arguments of
//!   shell-form `ADD`, `COPY`, `WORKDIR`, `USER`, `VOLUME`, `EXPOSE`, ... : [`unquote_word`],
//!   with the file's escape character ([`escape_character`]).
//! - A JSON-form array (`RUN ["sh", "-c", "..."]`, `COPY ["a b", "/x"]`): JSON strings, read
//!   by the parser into [`crate::syntax::Instruction::exec_form`]; no Docker escape applies.
//! - A shell-form `RUN`, `CMD` or `ENTRYPOINT`: the command goes to `/bin/sh -c` as written,
//!   so its quotes are the shell's (POSIX), not Docker's.

use std::ops::Range;

use crate::syntax::{Dockerfile, Instruction};

/// The arguments of an instruction Docker processes itself (`COPY`, `ADD`, `VOLUME`, ...), as
/// values: its JSON-form array, or each shell-form word read by [`unquote_word`].
pub fn argument_values(instruction: &Instruction, escape: char) -> Vec<String> {
    match &instruction.exec_form {
        Some(argv) => argv.clone(),
        None => instruction.words.iter().map(|word| unquote_word(&word.text, escape)).collect(),
    }
}

/// Docker's escape character when a file declares none.
pub const DEFAULT_ESCAPE: char = '\\';

/// The escape character of a file: `` ` `` when its `# escape=` directive says so, else `\`.
pub fn escape_character(file: &Dockerfile) -> char {
    let backtick =
        file.directives.iter().any(|directive| directive.name == "escape" && directive.value.trim() == "`");
    if backtick {
        '`'
    } else {
        DEFAULT_ESCAPE
    }
}

/// A word as Docker's word processing reads it (BuildKit `frontend/dockerfile/shell/lex.go`):
/// single quotes keep everything up to the next `'`; double quotes keep everything but let the
/// escape character escape `"`, `$` and itself (before any other character it stays); outside
/// quotes the escape character makes the next character plain. Variables are left as written
/// (`$NAME` stays `$NAME`; substitute them with [`crate::semantic::variables`]), and an escaped
/// `$` comes out as a plain `$`, so a caller that substitutes looks at the raw word first.
/// An unclosed quote runs to the end of the word (Docker rejects the line).
pub fn unquote_word(raw: &str, escape: char) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut quote: Option<char> = None;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some('\'') if c == '\'' => quote = None,
            Some('\'') => out.push(c),
            Some(_) if c == '"' => quote = None,
            Some(_) if c == escape => match chars.peek() {
                Some(&next) if next == '"' || next == '$' || next == escape => {
                    out.push(next);
                    chars.next();
                }
                Some(_) => out.push(c),
                // A trailing escape inside an unclosed quote: Docker drops it.
                None => {}
            },
            Some(_) => out.push(c),
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == escape => out.extend(chars.next()),
            None => out.push(c),
        }
    }
    out
}

/// Where, inside `raw`, the word's value ([`unquote_word`]) is written byte for byte: all of
/// `raw` when it has no quotes or escapes, the inside of one pair of quotes around the whole
/// word, or `None` when quotes or escapes are mixed into the value (no one range holds it).
pub fn value_span(raw: &str, escape: char) -> Option<Range<usize>> {
    let value = unquote_word(raw, escape);
    if value == raw {
        return Some(0..raw.len());
    }
    let quoted = raw.len() >= 2 && ['"', '\''].iter().any(|&q| raw.starts_with(q) && raw.ends_with(q));
    (quoted && raw.get(1..raw.len() - 1) == Some(value.as_str())).then(|| 1..raw.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_lose_quotes_and_escapes_as_docker_reads_them() {
        assert_eq!(unquote_word("\"12\"", '\\'), "12");
        assert_eq!(unquote_word("'a b'", '\\'), "a b");
        assert_eq!(unquote_word("a\\ b", '\\'), "a b");
        assert_eq!(unquote_word("\"a\\\"b\"", '\\'), "a\"b");
        assert_eq!(unquote_word("\"C:\\path\"", '\\'), "C:\\path", "inside double quotes `\\p` stays");
        assert_eq!(unquote_word("'it\\'", '\\'), "it\\", "no escapes inside single quotes");
        assert_eq!(unquote_word("pre\"mid\"post", '\\'), "premidpost");
        assert_eq!(unquote_word("\"$HOME\"/x", '\\'), "$HOME/x", "variables are kept");
        assert_eq!(unquote_word("\\$HOME", '\\'), "$HOME");
    }

    #[test]
    fn a_backtick_escape_makes_backslashes_plain() {
        assert_eq!(unquote_word("C:\\app", '`'), "C:\\app");
        assert_eq!(unquote_word("a` b", '`'), "a b");
        assert_eq!(unquote_word("\"x`\"y\"", '`'), "x\"y");
    }

    #[test]
    fn value_spans_point_at_literal_values() {
        assert_eq!(value_span("python", '\\'), Some(0..6));
        assert_eq!(value_span("\"python\"", '\\'), Some(1..7));
        assert_eq!(value_span("'3.12'", '\\'), Some(1..5));
        assert_eq!(value_span("a\"b\"", '\\'), None);
        assert_eq!(value_span("\"a\\\"b\"", '\\'), None);
    }

    #[test]
    fn the_escape_directive_chooses_the_character() {
        assert_eq!(escape_character(&Dockerfile::parse("# escape=`\nFROM x\n")), '`');
        assert_eq!(escape_character(&Dockerfile::parse("FROM x\n")), '\\');
    }
}
