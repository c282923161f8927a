//! The lexical pass: Docker's own reading of a Dockerfile into parser directives, instructions
//! (keyword, flags, words, heredocs, spans) and comments, one logical line at a time. It decides
//! instruction boundaries; the grammar ([`super::grammar`]) only says which it understood.

use std::ops::Range;

use super::{Comment, Directive, Flag, Heredoc, Instruction, Word};
use crate::source::parse_directive;

/// The parser directives Docker knows; any other `# key=value` line is a comment.
const KNOWN_DIRECTIVES: [&str; 3] = ["syntax", "escape", "check"];

/// A physical line: `start..end` excludes the newline; `next` is the start of the next line.
#[derive(Debug, Clone, Copy)]
pub(super) struct Line {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) next: usize,
}

pub(super) fn physical_lines(text: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut start = 0;
    for (idx, byte) in text.bytes().enumerate() {
        if byte == b'\n' {
            lines.push(Line { start, end: idx, next: idx + 1 });
            start = idx + 1;
        }
    }
    if start < text.len() {
        lines.push(Line { start, end: text.len(), next: text.len() });
    }
    lines
}

pub(super) fn is_blank(s: &str) -> bool {
    s.trim_start_matches([' ', '\t']).is_empty()
}

pub(super) fn is_comment(s: &str) -> bool {
    s.trim_start_matches([' ', '\t']).starts_with('#')
}

/// Splits a line's content at a trailing escape (`\` plus optional blanks): the part before
/// it, and whether the line continues.
pub(super) fn strip_continuation(s: &str) -> (&str, bool) {
    let trimmed = s.trim_end_matches([' ', '\t']);
    match trimmed.strip_suffix('\\') {
        Some(head) => (head, true),
        None => (s, false),
    }
}

pub(super) struct Lexer<'a> {
    pub(super) text: &'a str,
    pub(super) lines: &'a [Line],
    pub(super) next: usize,
}

/// The logical line of an instruction, and where its pieces came from in the text.
struct Logical {
    text: String,
    /// Each non-empty piece: where it starts in `text`, and where in the source text. A piece
    /// is contiguous in both, so one entry maps all its bytes.
    pieces: Vec<(usize, usize)>,
}

impl Logical {
    fn push(&mut self, piece: &str, at: usize) {
        if !piece.is_empty() {
            self.pieces.push((self.text.len(), at));
        }
        self.text.push_str(piece);
    }

    /// The source offset of byte `index` of `text`, if there is such a byte.
    fn offset(&self, index: usize) -> Option<usize> {
        if index >= self.text.len() {
            return None;
        }
        let piece = self.pieces.partition_point(|(start, _)| *start <= index).checked_sub(1)?;
        let (start, at) = self.pieces[piece];
        Some(at + index - start)
    }

    fn span(&self, range: Range<usize>) -> Range<usize> {
        match (self.offset(range.start), range.end.checked_sub(1).and_then(|i| self.offset(i))) {
            (Some(start), Some(last)) if range.end > range.start => start..last + 1,
            (Some(start), _) => start..start,
            _ => {
                let end =
                    self.text.len().checked_sub(1).and_then(|i| self.offset(i)).map_or(0, |last| last + 1);
                end..end
            }
        }
    }
}

pub(super) type LexOutput = (Vec<Directive>, Vec<Instruction>, Vec<Comment>, Option<String>);

impl<'a> Lexer<'a> {
    fn content(&self, line: usize) -> &'a str {
        let l = self.lines[line];
        &self.text[l.start..l.end]
    }

    pub(super) fn run(&mut self) -> LexOutput {
        let directives = self.directives();
        let mut instructions = Vec::new();
        let mut comments = Vec::new();
        let mut error = None;
        while self.next < self.lines.len() {
            let first = self.next;
            self.next += 1;
            let content = self.content(first);
            if is_comment(content) {
                let l = self.lines[first];
                comments.push(Comment { line: first + 1, span: l.start..l.end, text: content.to_string() });
                continue;
            }
            if is_blank(content) {
                continue;
            }
            let (instruction, lexical_error) = self.instruction(first);
            if let Some(message) = lexical_error {
                error.get_or_insert(message);
            }
            instructions.push(instruction);
        }
        (directives, instructions, comments, error)
    }

    fn directives(&mut self) -> Vec<Directive> {
        let mut directives = Vec::new();
        while self.next < self.lines.len() {
            let content = self.content(self.next);
            let Some((name, value)) = parse_directive(content) else {
                break;
            };
            if !KNOWN_DIRECTIVES.iter().any(|known| known.eq_ignore_ascii_case(name)) {
                break;
            }
            let l = self.lines[self.next];
            directives.push(Directive {
                line: self.next + 1,
                name: name.to_ascii_lowercase(),
                value: value.to_string(),
                line_span: l.start..l.next,
            });
            self.next += 1;
        }
        directives
    }

    /// Reads one instruction starting at physical line `first` (not blank, not a comment),
    /// with the reason Docker would reject it, if it would.
    fn instruction(&mut self, first: usize) -> (Instruction, Option<String>) {
        let mut logical = Logical { text: String::new(), pieces: Vec::new() };
        let first_line = self.lines[first];
        let raw = self.content(first);
        let indent = raw.len() - raw.trim_start_matches([' ', '\t']).len();
        let (piece, mut continues) = strip_continuation(&raw[indent..]);
        logical.push(piece, first_line.start + indent);
        let mut last = first;
        while continues && self.next < self.lines.len() {
            let idx = self.next;
            self.next += 1;
            let content = self.content(idx);
            if is_comment(content) || is_blank(content) {
                continue;
            }
            last = idx;
            let (piece, more) = strip_continuation(content);
            logical.push(piece, self.lines[idx].start);
            continues = more;
        }
        if continues {
            // Docker ends a continuation cut off by the end of the file on the file's last
            // line, even when that line is a comment or blank.
            last = self.lines.len() - 1;
        }

        // A first line of only `\` leaves the keyword on a later line, after blanks.
        let keyword_start = skip_blanks(&logical.text, 0);
        let keyword_end = logical.text[keyword_start..]
            .find([' ', '\t'])
            .map_or(logical.text.len(), |len| keyword_start + len);
        let keyword = logical.text[keyword_start..keyword_end].to_ascii_uppercase();
        let keyword_span = logical.span(keyword_start..keyword_end);
        let (flags, args_start) = parse_flags(&logical, keyword_end);
        let args = logical.text[args_start..].trim().to_string();
        let words = split_words(&logical, args_start);
        let exec_form = parse_exec_form(&args);

        let mut heredocs = Vec::new();
        let mut error = None;
        if matches!(keyword.as_str(), "RUN" | "COPY" | "ADD") && exec_form.is_none() {
            for (name, strip_tabs) in heredoc_markers(&words) {
                match self.heredoc_body(&name, strip_tabs) {
                    Some((body, end_line)) => {
                        last = end_line;
                        heredocs.push(Heredoc { name, body });
                    }
                    None => {
                        last = self.lines.len().saturating_sub(1).max(last);
                        error = Some(format!("unterminated heredoc <<{name}"));
                        break;
                    }
                }
            }
        }

        let last_line = self.lines[last];
        let instruction = Instruction {
            keyword,
            keyword_span: keyword_span.clone(),
            span: keyword_span.start.min(last_line.end)..last_line.end,
            line_span: first_line.start..last_line.next,
            start_line: first + 1,
            end_line: last + 1,
            flags,
            args,
            words,
            exec_form,
            heredocs,
            stage: None,
            opaque: false,
        };
        (instruction, error)
    }

    /// Consumes a heredoc body up to its terminator; returns the body and the terminator's
    /// line index, or `None` (everything consumed) when there is no terminator.
    fn heredoc_body(&mut self, name: &str, strip_tabs: bool) -> Option<(String, usize)> {
        let mut body = String::new();
        while self.next < self.lines.len() {
            let idx = self.next;
            self.next += 1;
            let content = self.content(idx);
            let candidate = if strip_tabs { content.trim_start_matches('\t') } else { content };
            if candidate == name {
                return Some((body, idx));
            }
            body.push_str(content);
            body.push('\n');
        }
        None
    }
}

/// Flags are the `--name[=value]` words right after the keyword, as Docker reads them.
fn parse_flags(logical: &Logical, keyword_len: usize) -> (Vec<Flag>, usize) {
    let text = &logical.text;
    let mut flags = Vec::new();
    let mut pos = keyword_len;
    loop {
        let word_start = skip_blanks(text, pos);
        if !text[word_start..].starts_with("--") {
            return (flags, word_start);
        }
        let word_end = word_end(text, word_start);
        let word = &text[word_start + 2..word_end];
        let (name, value) = match word.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (word, None),
        };
        flags.push(Flag { name: name.to_ascii_lowercase(), value, span: logical.span(word_start..word_end) });
        pos = word_end;
    }
}

fn skip_blanks(text: &str, pos: usize) -> usize {
    pos + text[pos..].len() - text[pos..].trim_start_matches([' ', '\t']).len()
}

/// End of a word starting at `start`: the next unquoted blank.
fn word_end(text: &str, start: usize) -> usize {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (idx, c) in text[start..].char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match (quote, c) {
            (_, '\\') if quote != Some('\'') => escaped = true,
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, ' ' | '\t') => return start + idx,
            _ => {}
        }
    }
    text.len()
}

fn split_words(logical: &Logical, from: usize) -> Vec<Word> {
    let text = &logical.text;
    let mut words = Vec::new();
    let mut pos = skip_blanks(text, from);
    while pos < text.len() {
        let end = word_end(text, pos);
        words.push(Word { text: text[pos..end].to_string(), span: logical.span(pos..end) });
        pos = skip_blanks(text, end);
    }
    // Kept as long as the model: without the slack of growing, which is a third of a large
    // file's words.
    if words.capacity() > words.len() {
        let mut exact = Vec::with_capacity(words.len());
        exact.append(&mut words);
        return exact;
    }
    words
}

/// A JSON array of strings, as Docker accepts it for the exec form.
fn parse_exec_form(args: &str) -> Option<Vec<String>> {
    if !args.starts_with('[') {
        return None;
    }
    serde_json_lite::string_array(args)
}

/// `<<EOF`, `<<-EOF`, `<<"EOF"`, `2<<EOF` words, in order: (name, strip leading tabs).
fn heredoc_markers(words: &[Word]) -> Vec<(String, bool)> {
    let mut markers = Vec::new();
    for word in words {
        let text = word.text.trim_start_matches(|c: char| c.is_ascii_digit());
        let Some(rest) = text.strip_prefix("<<") else {
            continue;
        };
        let (strip_tabs, rest) = match rest.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, rest),
        };
        if rest.contains('<') {
            continue;
        }
        let name: String = rest.chars().filter(|c| *c != '"' && *c != '\'').collect();
        if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            markers.push((name, strip_tabs));
        }
    }
    markers
}

/// Just enough JSON to read Docker's exec form: an array of strings, nothing else.
mod serde_json_lite {
    pub fn string_array(input: &str) -> Option<Vec<String>> {
        let mut chars = input.trim().chars().peekable();
        if chars.next()? != '[' {
            return None;
        }
        let mut items = Vec::new();
        skip_ws(&mut chars);
        if chars.peek() == Some(&']') {
            chars.next();
            return chars.all(char::is_whitespace).then_some(items);
        }
        loop {
            skip_ws(&mut chars);
            items.push(string(&mut chars)?);
            skip_ws(&mut chars);
            match chars.next()? {
                ',' => continue,
                ']' => break,
                _ => return None,
            }
        }
        chars.all(char::is_whitespace).then_some(items)
    }

    fn skip_ws(chars: &mut std::iter::Peekable<std::str::Chars>) {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
    }

    fn string(chars: &mut std::iter::Peekable<std::str::Chars>) -> Option<String> {
        if chars.next()? != '"' {
            return None;
        }
        let mut out = String::new();
        loop {
            match chars.next()? {
                '"' => return Some(out),
                '\\' => match chars.next()? {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'u' => {
                        let hex: String = (0..4).filter_map(|_| chars.next()).collect();
                        out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                    }
                    c @ ('"' | '\\' | '/') => out.push(c),
                    _ => return None,
                },
                c => out.push(c),
            }
        }
    }
}
