//! The Dockerfile model: parser directives, instructions, stages and comments, with byte spans
//! into the canonical text.
//!
//! Two parsers cooperate. Instruction boundaries, keywords, flags and heredocs come from a
//! lexical pass that follows Docker's own rules (one instruction per logical line; comment and
//! blank lines inside a continuation are skipped; heredoc bodies belong to their instruction),
//! so the model agrees with Docker even where the grammar does not. The tree-sitter parse then
//! says which instructions the grammar understood: an instruction that overlaps an ERROR or
//! MISSING node, or that the grammar splits differently, is *opaque*. Transforms may read opaque
//! instructions but the engine never lets them edit inside one.
//!
//! The grammar misreads some lines Docker reads (a legacy `ENV NAME value with spaces`, a `#`
//! inside an argument, a comment line inside a continuation, a flag without a value), and its
//! error recovery can swallow every instruction after one. When the whole-file parse shows any
//! of that, each opaque instruction is read again on its own, as written and then in a view
//! that replaces what Docker reads as plain characters (see [`grammar_view`]); the file's
//! damage is then what the grammar still cannot read, instruction by instruction. A file the
//! grammar reads cleanly costs one parse, as before.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;

use serde::Serialize;

use crate::edit::Edit;
use crate::source::parse_directive;

/// One `--name[=value]` flag of an instruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flag {
    pub name: String,
    pub value: Option<String>,
    /// The flag's bytes, `--` to the end of its value.
    pub span: Range<usize>,
}

/// A whitespace-separated word of the arguments; quotes are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Word {
    pub text: String,
    pub span: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Heredoc {
    pub name: String,
    /// The body lines, without the terminator line.
    pub body: String,
}

/// A comment line (not a parser directive), outside any instruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comment {
    pub line: usize,
    /// The whole line without its newline.
    pub span: Range<usize>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Directive {
    pub line: usize,
    pub name: String,
    pub value: String,
    /// The whole line including its newline.
    pub line_span: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Instruction {
    /// Upper-cased keyword (`RUN`).
    pub keyword: String,
    /// The keyword as written, for matching the file's casing.
    pub keyword_span: Range<usize>,
    /// From the keyword to the end of the instruction's last line (heredoc terminator
    /// included), without the final newline.
    pub span: Range<usize>,
    /// Whole physical lines: from the start of the first line to after the last newline.
    pub line_span: Range<usize>,
    pub start_line: usize,
    pub end_line: usize,
    pub flags: Vec<Flag>,
    /// The arguments after the flags, continuations joined (Docker's "logical line").
    pub args: String,
    /// Arguments split into words, with spans in the text.
    pub words: Vec<Word>,
    /// The arguments as a JSON string array (exec form), when they are one.
    pub exec_form: Option<Vec<String>>,
    pub heredocs: Vec<Heredoc>,
    /// Index into [`Dockerfile::stages`]; `None` before the first `FROM`.
    pub stage: Option<usize>,
    /// The grammar did not understand this instruction: read it, never edit inside it.
    pub opaque: bool,
}

impl Instruction {
    pub fn is(&self, keyword: &str) -> bool {
        self.keyword.eq_ignore_ascii_case(keyword)
    }

    pub fn flag(&self, name: &str) -> Option<&Flag> {
        self.flags.iter().find(|flag| flag.name.eq_ignore_ascii_case(name))
    }

    /// The command text of a `RUN` (or any instruction): its arguments, then its heredoc
    /// bodies, each on lines of its own.
    pub fn command_text(&self) -> String {
        let mut text = self.args.clone();
        for heredoc in &self.heredocs {
            text.push('\n');
            text.push_str(&heredoc.body);
        }
        text
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stage {
    pub index: usize,
    /// Index of the stage's `FROM` in [`Dockerfile::instructions`].
    pub from: usize,
    /// Instructions of the stage (its `FROM` included), as indices.
    pub instructions: Range<usize>,
    /// The base image as written (`python:3.12-slim`, `${BASE}`, an earlier stage's name).
    pub base: String,
    /// `AS name`, lower-cased as Docker treats stage names.
    pub name: Option<String>,
    /// The base names an earlier stage (by name or index).
    pub base_stage: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dockerfile {
    pub directives: Vec<Directive>,
    pub instructions: Vec<Instruction>,
    pub stages: Vec<Stage>,
    pub comments: Vec<Comment>,
    /// ERROR and MISSING nodes in the grammar's tree, plus lexical errors (an unterminated
    /// heredoc). The engine refuses results with more damage than the input.
    pub damage: usize,
    /// Why the lexical pass thinks Docker would reject the file, if it does.
    pub lexical_error: Option<String>,
    /// Byte offset at which each line starts.
    #[serde(skip)]
    line_starts: Vec<usize>,
    /// The grammar's tree, kept when it has no errors: what [`Dockerfile::reparse`] reuses.
    #[serde(skip)]
    tree: Option<tree_sitter::Tree>,
}

impl Dockerfile {
    pub fn parse(text: &str) -> Dockerfile {
        Dockerfile::parse_with(text, None)
    }

    /// Parses `text`, which is `previous`'s text `previous_text` with `edits` applied (in
    /// order of position, not overlapping, as [`crate::source::apply_in_order`] takes them).
    /// The same model as [`Dockerfile::parse`], sooner: the grammar reparses only what the
    /// edits touched. When the edits do not describe `text`, it is parsed from scratch.
    pub fn reparse(previous: &Dockerfile, previous_text: &str, edits: &[Edit], text: &str) -> Dockerfile {
        let edited = previous
            .tree
            .as_ref()
            .filter(|_| edits_describe(previous_text, edits, text))
            .map(|tree| edited_tree(tree, previous, previous_text, edits));
        Dockerfile::parse_with(text, edited)
    }

    fn parse_with(text: &str, edited: Option<tree_sitter::Tree>) -> Dockerfile {
        let lines = physical_lines(text);
        let mut lexer = Lexer { text, lines: &lines, next: 0 };
        let (directives, instructions, comments, lexical_error) = lexer.run();
        let mut file = Dockerfile {
            directives,
            instructions,
            stages: Vec::new(),
            comments,
            damage: usize::from(lexical_error.is_some()),
            lexical_error,
            line_starts: lines.iter().map(|line| line.start).collect(),
            tree: None,
        };
        file.assign_stages();
        let tree = grammar_tree(text, edited);
        let whole_file_damage = mark_opaque(text, tree.as_ref(), &mut file.instructions);
        let misread = whole_file_damage > 0 || file.instructions.iter().any(|i| i.opaque);
        if tree.is_some() && misread {
            // Only files the grammar misread pay for the recovery: a clean file's parse is
            // the one pass above.
            file.damage += recover_misread(text, &mut file.instructions);
        } else {
            file.damage += whole_file_damage;
            file.tree = tree.filter(|tree| !tree.root_node().has_error());
        }
        file
    }

    /// Whether two parses agree on everything a transform can see.
    pub fn same_model(&self, other: &Dockerfile) -> bool {
        self.directives == other.directives
            && self.instructions == other.instructions
            && self.stages == other.stages
            && self.comments == other.comments
            && self.damage == other.damage
            && self.lexical_error == other.lexical_error
            && self.line_starts == other.line_starts
    }

    /// The row and byte column of `offset` in the parsed `text`, as tree-sitter counts them.
    fn point(&self, text: &str, offset: usize) -> tree_sitter::Point {
        let row = self.line_starts.partition_point(|start| *start <= offset).saturating_sub(1);
        let line_start = self.line_starts.get(row).copied().unwrap_or(0);
        // The end of a text that ends with a newline starts a row of its own, which has no
        // entry in `line_starts`.
        if offset > line_start && text.as_bytes().get(offset - 1) == Some(&b'\n') {
            return tree_sitter::Point { row: row + 1, column: 0 };
        }
        tree_sitter::Point { row, column: offset - line_start }
    }

    /// Whether `text` holds an instruction: what `parse(text).instructions.is_empty()` says,
    /// without building the model or running the grammar.
    pub fn has_instructions(text: &str) -> bool {
        text.split('\n').any(|line| !is_blank(line) && !is_comment(line))
    }

    pub fn final_stage(&self) -> Option<&Stage> {
        self.stages.last()
    }

    pub fn stage_instructions(&self, stage: &Stage) -> &[Instruction] {
        &self.instructions[stage.instructions.clone()]
    }

    /// Byte offset where 1-based `line` starts.
    pub fn line_start(&self, line: usize) -> Option<usize> {
        self.line_starts.get(line.checked_sub(1)?).copied()
    }

    /// Where a new instruction goes right above `instruction`: before the comment block that
    /// describes it, so the comments stay with what they describe.
    pub fn insertion_point_above(&self, instruction: &Instruction) -> usize {
        self.comments_above(instruction)
            .last()
            .and_then(|comment| self.line_start(comment.line))
            .unwrap_or(instruction.line_span.start)
    }

    /// The comment lines directly above an instruction (no blank line in between),
    /// nearest first.
    pub fn comments_above(&self, instruction: &Instruction) -> impl Iterator<Item = &Comment> {
        let start_line = instruction.start_line;
        let mut expected = start_line;
        self.comments.iter().rev().skip_while(move |c| c.line >= start_line).take_while(move |c| {
            let adjacent = c.line + 1 == expected;
            expected = c.line;
            adjacent
        })
    }

    fn assign_stages(&mut self) {
        let mut current: Option<usize> = None;
        // The first stage of each name: what a later `FROM name` refers to.
        let mut named: HashMap<String, usize> = HashMap::new();
        for idx in 0..self.instructions.len() {
            if self.instructions[idx].is("FROM") {
                let (base, name) = from_base_and_name(&self.instructions[idx]);
                let index = self.stages.len();
                let by_name = named.get(base.to_ascii_lowercase().as_str()).copied();
                let by_index = stage_number(&base).filter(|number| *number < index);
                let base_stage = by_name.into_iter().chain(by_index).min();
                if let Some(name) = &name {
                    named.entry(name.clone()).or_insert(index);
                }
                if let Some(prev) = current {
                    self.stages[prev].instructions.end = idx;
                }
                self.stages.push(Stage {
                    index,
                    from: idx,
                    instructions: idx..self.instructions.len(),
                    base,
                    name,
                    base_stage,
                });
                current = Some(index);
            }
            self.instructions[idx].stage = current;
        }
    }
}

/// A stage referred to by number (`FROM 0`), written as Docker prints it: digits, no leading zero.
fn stage_number(base: &str) -> Option<usize> {
    let canonical = !base.is_empty()
        && base.bytes().all(|b| b.is_ascii_digit())
        && (base == "0" || !base.starts_with('0'));
    canonical.then(|| base.parse().ok()).flatten()
}

fn from_base_and_name(from: &Instruction) -> (String, Option<String>) {
    let words: Vec<&str> = from.words.iter().map(|word| word.text.as_str()).collect();
    let base = words.first().map(|word| word.to_string()).unwrap_or_default();
    let name = match words.as_slice() {
        [_, kw, name, ..] if kw.eq_ignore_ascii_case("as") => Some(name.to_ascii_lowercase()),
        _ => None,
    };
    (base, name)
}

/// The parser directives Docker knows; any other `# key=value` line is a comment.
const KNOWN_DIRECTIVES: [&str; 3] = ["syntax", "escape", "check"];

/// A physical line: `start..end` excludes the newline; `next` is the start of the next line.
#[derive(Debug, Clone, Copy)]
struct Line {
    start: usize,
    end: usize,
    next: usize,
}

fn physical_lines(text: &str) -> Vec<Line> {
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

fn is_blank(s: &str) -> bool {
    s.trim_start_matches([' ', '\t']).is_empty()
}

fn is_comment(s: &str) -> bool {
    s.trim_start_matches([' ', '\t']).starts_with('#')
}

/// Splits a line's content at a trailing escape (`\` plus optional blanks): the part before
/// it, and whether the line continues.
fn strip_continuation(s: &str) -> (&str, bool) {
    let trimmed = s.trim_end_matches([' ', '\t']);
    match trimmed.strip_suffix('\\') {
        Some(head) => (head, true),
        None => (s, false),
    }
}

struct Lexer<'a> {
    text: &'a str,
    lines: &'a [Line],
    next: usize,
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

type LexOutput = (Vec<Directive>, Vec<Instruction>, Vec<Comment>, Option<String>);

impl<'a> Lexer<'a> {
    fn content(&self, line: usize) -> &'a str {
        let l = self.lines[line];
        &self.text[l.start..l.end]
    }

    fn run(&mut self) -> LexOutput {
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

thread_local! {
    static PARSER: RefCell<Option<tree_sitter::Parser>> = const { RefCell::new(None) };
}

/// Whether applying `edits` to `previous` gives `text`, checked without building it.
fn edits_describe(previous: &str, edits: &[Edit], text: &str) -> bool {
    let mut cursor = 0;
    let mut rest = text;
    for edit in edits {
        let range = &edit.range;
        if range.start < cursor || range.end < range.start || range.end > previous.len() {
            return false;
        }
        let Some(after) = rest
            .strip_prefix(&previous[cursor..range.start])
            .and_then(|after| after.strip_prefix(edit.replacement.as_str()))
        else {
            return false;
        };
        rest = after;
        cursor = range.end;
    }
    rest == &previous[cursor..]
}

/// `previous`'s grammar tree told about `edits`, ready to be reparsed. The edits go in from
/// the last one back, so the offsets of each are still those of `previous_text`.
fn edited_tree(
    tree: &tree_sitter::Tree,
    previous: &Dockerfile,
    previous_text: &str,
    edits: &[Edit],
) -> tree_sitter::Tree {
    let mut tree = tree.clone();
    for edit in edits.iter().rev() {
        let start = previous.point(previous_text, edit.range.start);
        let inserted = edit.replacement.as_str();
        let new_end = match inserted.rfind('\n') {
            Some(last_newline) => tree_sitter::Point {
                row: start.row + inserted.bytes().filter(|byte| *byte == b'\n').count(),
                column: inserted.len() - last_newline - 1,
            },
            None => tree_sitter::Point { row: start.row, column: start.column + inserted.len() },
        };
        tree.edit(&tree_sitter::InputEdit {
            start_byte: edit.range.start,
            old_end_byte: edit.range.end,
            new_end_byte: edit.range.start + inserted.len(),
            start_position: start,
            old_end_position: previous.point(previous_text, edit.range.end),
            new_end_position: new_end,
        });
    }
    tree
}

fn new_parser() -> tree_sitter::Parser {
    let mut parser = tree_sitter::Parser::new();
    // The grammar is compiled in; a version mismatch is a build error, not input.
    parser
        .set_language(&arborium_dockerfile::language().into())
        .expect("the Dockerfile grammar matches the pinned tree-sitter");
    parser
}

/// The grammar's tree of `text`. An `edited` tree of an earlier text is reused where the
/// edits left it intact, but only a result without errors is kept: there the tree is a
/// derivation of `text` by a grammar that declares no conflicts, which a parse from scratch
/// reproduces (tree-sitter checks the lexer's context before reusing a subtree). Error
/// recovery has no such argument: with any error, `text` is parsed anew.
fn grammar_tree(text: &str, edited: Option<tree_sitter::Tree>) -> Option<tree_sitter::Tree> {
    PARSER.with(|cell| {
        let mut slot = cell.borrow_mut();
        let parser = slot.get_or_insert_with(new_parser);
        if let Some(edited) = edited {
            if let Some(tree) = parser.parse(text, Some(&edited)) {
                if !tree.root_node().has_error() {
                    return Some(tree);
                }
            }
        }
        parser.parse(text, None)
    })
}

/// Marks every instruction the grammar did not understand as opaque, and returns the number
/// of ERROR/MISSING nodes in `tree` (1 when there is no tree).
fn mark_opaque(text: &str, tree: Option<&tree_sitter::Tree>, instructions: &mut [Instruction]) -> usize {
    let Some(tree) = tree else {
        instructions.iter_mut().for_each(|instruction| instruction.opaque = true);
        return 1;
    };
    let mut damaged: Vec<Range<usize>> = Vec::new();
    let mut understood: Vec<Range<usize>> = Vec::new();
    let root = tree.root_node();
    let mut cursor = root.walk();
    for node in root.children(&mut cursor) {
        if node.kind().ends_with("_instruction") && !node.has_error() {
            understood.push(node.start_byte()..node.end_byte());
        } else if node.is_error() || node.has_error() || node.is_missing() {
            damaged.push(node.start_byte()..node.end_byte());
        }
    }
    let damage = count_damage(root);
    // Both lists hold sibling nodes, so they are sorted and do not overlap: binary searches
    // keep a file of 200,000 instructions from taking minutes.
    for instruction in instructions.iter_mut() {
        let span = &instruction.span;
        let first_reaching = damaged.partition_point(|d| d.end <= span.start);
        let hit = damaged.get(first_reaching).is_some_and(|d| d.start < span.end.max(span.start + 1));
        let same_start = understood.partition_point(|u| u.start < span.start);
        let matched = understood[same_start..]
            .iter()
            .take_while(|u| u.start == span.start)
            .any(|u| trimmed_end(text, u) == trimmed_end(text, span));
        instruction.opaque = hit || !matched;
    }
    damage
}

/// The grammar's nodes sometimes end after the newline; compare content ends.
fn trimmed_end(text: &str, range: &Range<usize>) -> usize {
    range.start + text[range.clone()].trim_end_matches(['\n', ' ', '\t']).len()
}

/// The ERROR and MISSING nodes under `root`. A node can have an error that no visible node
/// under it shows (a MISSING token inside a hidden rule: `--chown=` with no value): such a
/// node counts once itself.
fn count_damage(root: tree_sitter::Node) -> usize {
    let mut count = 0;
    let mut pending = vec![root];
    while let Some(node) = pending.pop() {
        if node.is_error() || node.is_missing() {
            count += 1;
        }
        if !node.has_error() {
            continue;
        }
        let mut cursor = node.walk();
        let before = pending.len();
        pending.extend(node.children(&mut cursor).filter(|child| child.has_error() || child.is_missing()));
        if pending.len() == before && !node.is_error() && !node.is_missing() {
            count += 1;
        }
    }
    count
}

/// Re-reads the instructions the whole-file parse left opaque, one at a time, and returns the
/// damage that remains: the ERROR and MISSING nodes of the instructions the grammar still
/// cannot read.
///
/// Docker reads a Dockerfile one logical line at a time, and so does the lexical pass; the
/// grammar reads the whole file, so one line it misreads (a legacy `ENV NAME value with
/// spaces`) can swallow every instruction after it. Each opaque instruction is therefore
/// parsed on its own, first as written, then in its [`grammar_view`]: the same instruction with
/// the constructs Docker reads but the grammar does not (a `#` inside an argument, a comment
/// line inside a continuation, a flag without a value) replaced by text the grammar reads the
/// same way. An instruction the grammar reads either way is not opaque: the lexical pass reads
/// its keyword, flags and words exactly, as it does everywhere. Damage outside every
/// instruction (comments and blank lines, which Docker skips) is not counted.
fn recover_misread(text: &str, instructions: &mut [Instruction]) -> usize {
    PARSER.with(|cell| {
        let mut slot = cell.borrow_mut();
        let parser = slot.get_or_insert_with(new_parser);
        let mut damage = 0;
        for instruction in instructions.iter_mut().filter(|instruction| instruction.opaque) {
            let lines = instruction.line_span.clone();
            let span = &instruction.span;
            // An instruction without a keyword (a lone `\` at the end of the file) has no span
            // on its lines; the grammar cannot read it.
            let remaining = if lines.start <= span.start && span.end <= lines.end {
                let span = span.start - lines.start..span.end - lines.start;
                match read_alone(parser, &text[lines.clone()], &span) {
                    Some(0) => 0,
                    _ => read_alone(parser, &grammar_view(text, instruction), &span).unwrap_or(1),
                }
            } else {
                1
            };
            instruction.opaque = remaining > 0;
            damage += remaining;
        }
        damage
    })
}

/// Parses `piece`, the lines of one instruction whose span in `piece` is `span`, and returns
/// its damage: the ERROR and MISSING nodes, or 1 when there are none but the grammar does not
/// read `piece` as that one instruction. `None` when the parser gave no tree.
fn read_alone(parser: &mut tree_sitter::Parser, piece: &str, span: &Range<usize>) -> Option<usize> {
    let tree = parser.parse(piece, None)?;
    let root = tree.root_node();
    let damage = count_damage(root);
    if damage > 0 {
        return Some(damage);
    }
    let mut cursor = root.walk();
    let instructions: Vec<Range<usize>> = root
        .children(&mut cursor)
        .filter(|node| node.kind().ends_with("_instruction"))
        .map(|node| node.start_byte()..node.end_byte())
        .collect();
    let one = matches!(instructions.as_slice(), [node]
        if node.start == span.start && trimmed_end(piece, node) == trimmed_end(piece, span));
    Some(usize::from(!one))
}

/// One instruction's lines (`line_span`) as the grammar should see them to read them as Docker
/// does. The text keeps its length and the instruction's first and last bytes, so the
/// instruction's span is the same; only what Docker's parser reads as plain characters, or
/// skips, is replaced:
///
/// - a comment or blank line inside a continuation, which Docker skips, becomes a line of
///   blanks ending in `\` (an empty line moves the previous line's `\` onto its newline);
/// - in the argument lines, a `#` (Docker's comments start a line; the grammar's start
///   anywhere) and a `\` with the character it escapes (a Windows path `C:\dir`) become `x`;
/// - a flag without a value (`--link`) becomes blanks, and a flag's value `x`s (`--mount`'s
///   `x=xx..`): the grammar knows only `--name=value`, and `--mount` values as `key=value`
///   lists, where Docker also takes `rw`;
/// - what Docker takes as one string, the rest of the logical line, becomes `x`s: the value
///   of a legacy `ENV NAME value with spaces` or `LABEL key value` (no `=` in the first word;
///   the label's key is moved up against a `=`), the path of a `WORKDIR` (`"C:\\Program
///   Files"`) and the user of a `USER` (`_signer`, `"${UID}"`);
/// - a `[` that starts the arguments or a continuation line of a shell-form `RUN`, `CMD` or
///   `ENTRYPOINT` (`RUN [ -f x ] && y`, `\t[ -s "$f" ]; \`, a PowerShell
///   `[Net.ServicePointManager]`), which the grammar takes for a JSON array, becomes `x`;
/// - blanks after the last argument, where the grammar expects one more, become `x`s.
///
/// Heredoc bodies are left as they are.
fn grammar_view(text: &str, instruction: &Instruction) -> String {
    let base = instruction.line_span.start;
    let piece = &text[instruction.line_span.clone()];
    let mut view = piece.as_bytes().to_vec();
    let arguments = continuation_lines(piece, &mut view);
    for argument in &arguments {
        mask_escapes_and_hashes(&mut view, argument.clone());
    }
    for flag in &instruction.flags {
        mask_flag(&mut view, flag.span.start - base..flag.span.end - base);
    }
    mask_single_string_arguments(piece, &mut view, instruction);
    let shell_form = instruction.exec_form.is_none()
        && ["RUN", "CMD", "ENTRYPOINT"].iter().any(|keyword| instruction.is(keyword));
    let first_argument = instruction.words.first().map(|word| word.span.start - base);
    for argument in &arguments {
        let line = &piece[argument.clone()];
        let first = argument.start + (line.len() - line.trim_start_matches([' ', '\t']).len());
        // The keyword's line: the first byte of the arguments.
        let first = if argument.start == 0 { first_argument.unwrap_or(first) } else { first };
        if shell_form && view.get(first) == Some(&b'[') {
            view[first] = b'x';
        }
    }
    // Trailing blanks after the last argument: the grammar expects another one.
    if let Some(last) = arguments.last() {
        let line = &piece[last.clone()];
        let blanks = line.len() - line.trim_end_matches([' ', '\t']).len();
        if blanks < line.len() && !piece[last.end..].starts_with('\\') {
            view[last.end - blanks..last.end].fill(b'x');
        }
    }
    // Only ASCII bytes replaced whole characters (every byte of a multi-byte one), so the view
    // is UTF-8; a lossy conversion cannot change it.
    String::from_utf8_lossy(&view).into_owned()
}

/// Walks the logical line of the instruction in `piece` as the lexical pass does, neutralises
/// in `view` the comment and blank lines Docker skips inside it, and returns the argument part
/// of each of its other physical lines (without the continuation `\`).
fn continuation_lines(piece: &str, view: &mut [u8]) -> Vec<Range<usize>> {
    let mut lines = Vec::new();
    let mut start = 0;
    for (idx, byte) in piece.bytes().enumerate() {
        if byte == b'\n' {
            lines.push(start..idx);
            start = idx + 1;
        }
    }
    if start < piece.len() {
        lines.push(start..piece.len());
    }
    let mut arguments = Vec::new();
    let mut continues = true;
    for (idx, line) in lines.iter().enumerate() {
        if !continues {
            // Heredoc bodies.
            break;
        }
        let content = &piece[line.clone()];
        if idx > 0 && (is_comment(content) || is_blank(content)) {
            neutralise_skipped_line(view, line.clone());
            continue;
        }
        let (head, more) = strip_continuation(content);
        arguments.push(line.start..line.start + head.len());
        continues = more;
    }
    arguments
}

/// A comment or blank line inside a continuation, as a line the grammar reads as one more
/// continuation: blanks ending in `\`. An empty line has no byte to hold the `\`: the previous
/// line's `\` (always the last non-blank of that line: it continued) moves onto the newline
/// that ends that line, which joins the two lines into one that ends in `\`.
fn neutralise_skipped_line(view: &mut [u8], line: Range<usize>) {
    if line.end > line.start {
        view[line.start..line.end].fill(b' ');
        view[line.end - 1] = b'\\';
        return;
    }
    let Some(previous_newline) = line.start.checked_sub(1) else {
        return;
    };
    let escape = view[..previous_newline].iter().rposition(|byte| !matches!(byte, b' ' | b'\t'));
    if let Some(escape) = escape.filter(|escape| view[*escape] == b'\\') {
        view[escape] = b' ';
        view[previous_newline] = b'\\';
    }
}

/// In an argument line: `#` becomes `x`, and so does a `\` with the ASCII character after it.
fn mask_escapes_and_hashes(view: &mut [u8], range: Range<usize>) {
    let mut idx = range.start;
    while idx < range.end {
        match view[idx] {
            b'#' => view[idx] = b'x',
            b'\\' => {
                view[idx] = b'x';
                if idx + 1 < range.end && view[idx + 1].is_ascii() {
                    idx += 1;
                    view[idx] = b'x';
                }
            }
            _ => {}
        }
        idx += 1;
    }
}

/// A flag on one physical line: without a value, blanks; with one, `--name=` and `x`s, a
/// `--mount` value as `x=xx..`.
fn mask_flag(view: &mut [u8], span: Range<usize>) {
    let Some(flag) = view.get(span.clone()) else {
        return;
    };
    if flag.contains(&b'\n') {
        return;
    }
    let Some(equals) = flag.iter().position(|byte| *byte == b'=') else {
        view[span].fill(b' ');
        return;
    };
    let is_mount = flag[..equals].eq_ignore_ascii_case(b"--mount");
    let value = span.start + equals + 1..span.end;
    view[value.clone()].fill(b'x');
    if is_mount && value.len() >= 3 {
        view[value.start + 1] = b'=';
    }
}

/// The arguments Docker takes as one string, the rest of the logical line: `WORKDIR`'s path,
/// and the value of the legacy form `ENV NAME value with spaces` / `LABEL key value`. They
/// become `x`s (continuations kept); a label's key is moved right, against a `=` in place of
/// the last blank before the value, when both are on one line.
fn mask_single_string_arguments(piece: &str, view: &mut [u8], instruction: &Instruction) {
    let base = instruction.line_span.start;
    let is_label = instruction.is("LABEL");
    let (key, string) = match instruction.words.as_slice() {
        [first, ..] if instruction.is("WORKDIR") || instruction.is("USER") => (None, first),
        [key, value, ..] if (is_label || instruction.is("ENV")) && !key.text.contains('=') => {
            (Some(key), value)
        }
        _ => return,
    };
    let string_start = string.span.start - base;
    let mut scratch = view.to_vec();
    for argument in continuation_lines(piece, &mut scratch) {
        let from = argument.start.max(string_start);
        if from < argument.end {
            view[from..argument.end].fill(b'x');
        }
    }
    let Some(key) = key.filter(|_| is_label) else {
        return;
    };
    let key_range = key.span.start - base..key.span.end - base;
    let gap = key_range.end..string_start;
    if gap.is_empty() || piece[gap.clone()].contains('\n') {
        return;
    }
    let key_bytes = view[key_range.clone()].to_vec();
    let moved_to = key_range.start + gap.len() - 1;
    view[key_range.start..moved_to].fill(b' ');
    view[moved_to..moved_to + key_bytes.len()].copy_from_slice(&key_bytes);
    view[string_start - 1] = b'=';
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keywords(file: &Dockerfile) -> Vec<(String, usize, usize)> {
        file.instructions.iter().map(|i| (i.keyword.clone(), i.start_line, i.end_line)).collect()
    }

    #[test]
    fn continuation_skips_comment_and_blank_lines() {
        let file = Dockerfile::parse("FROM a\nRUN a \\\n# note\n\n  && b\nCMD c\n");
        assert_eq!(keywords(&file), vec![("FROM".into(), 1, 1), ("RUN".into(), 2, 5), ("CMD".into(), 6, 6)]);
        let run = &file.instructions[1];
        assert_eq!(run.args, "a   && b");
    }

    #[test]
    fn keyword_may_follow_a_line_of_only_a_backslash() {
        let file = Dockerfile::parse("FROM a\nRUN x\n\t\\\n\tdo-thing gd \\\n\t--flag\n");
        assert_eq!(keywords(&file)[2], ("DO-THING".into(), 3, 5));
    }

    #[test]
    fn continuation_cut_off_by_the_end_of_the_file_ends_on_the_last_line() {
        let file = Dockerfile::parse("FROM a\nRUN a \\\n\n# c\n");
        assert_eq!(keywords(&file)[1], ("RUN".into(), 2, 4));
    }

    #[test]
    fn heredoc_body_belongs_to_its_instruction() {
        let file = Dockerfile::parse("FROM a\nRUN <<EOF\necho hi\nFROM x\nEOF\nCMD c\n");
        assert_eq!(keywords(&file), vec![("FROM".into(), 1, 1), ("RUN".into(), 2, 5), ("CMD".into(), 6, 6)]);
        assert_eq!(file.instructions[1].heredocs[0].body, "echo hi\nFROM x\n");
        assert_eq!(file.stages.len(), 1);
    }

    #[test]
    fn unterminated_heredoc_is_damage() {
        let file = Dockerfile::parse("FROM a\nRUN <<EOF\necho hi\n");
        assert!(file.lexical_error.is_some());
        assert!(file.damage > 0);
    }

    #[test]
    fn flags_and_words_have_spans() {
        let text = "FROM a\nCOPY --chown=1:1 --link src/ /dst\n";
        let file = Dockerfile::parse(text);
        let copy = &file.instructions[1];
        assert_eq!(copy.flags.len(), 2);
        assert_eq!(&text[copy.flags[0].span.clone()], "--chown=1:1");
        assert_eq!(copy.flags[1].value, None);
        assert_eq!(copy.words.iter().map(|w| &text[w.span.clone()]).collect::<Vec<_>>(), ["src/", "/dst"]);
    }

    #[test]
    fn stages_follow_from_and_names() {
        let file = Dockerfile::parse("ARG V=1\nFROM golang AS build\nRUN x\nFROM build\nCMD y\n");
        assert_eq!(file.instructions[0].stage, None);
        assert_eq!(file.stages.len(), 2);
        assert_eq!(file.stages[0].name.as_deref(), Some("build"));
        assert_eq!(file.stages[1].base_stage, Some(0));
        assert_eq!(file.stages[1].instructions, 3..5);
    }

    #[test]
    fn stages_refer_to_earlier_stages_by_first_name_or_number() {
        let file = Dockerfile::parse(
            "FROM a AS one\nFROM b AS One\nFROM one\nFROM 1\nFROM 01\nFROM 9\nFROM c AS self\nFROM self AS self\n",
        );
        let bases: Vec<Option<usize>> = file.stages.iter().map(|stage| stage.base_stage).collect();
        assert_eq!(bases, [None, None, Some(0), Some(1), None, None, None, Some(6)]);
    }

    #[test]
    fn exec_form_is_read_as_json() {
        let file = Dockerfile::parse("FROM a\nCMD [\"a\", \"b c\"]\nRUN [ -f x ]\n");
        assert_eq!(file.instructions[1].exec_form, Some(vec!["a".into(), "b c".into()]));
        assert_eq!(file.instructions[2].exec_form, None);
    }

    #[test]
    fn clean_file_has_no_opaque_instructions() {
        let file = Dockerfile::parse("FROM debian:12\nRUN apt-get update\nCOPY a /b\nCMD [\"x\"]\n");
        assert_eq!(file.damage, 0);
        assert!(file.instructions.iter().all(|i| !i.opaque));
    }

    #[test]
    fn has_instructions_agrees_with_the_parse() {
        for text in ["", "\n", "# c\n  \t\n", "# syntax=x\nFROM a\n", "\t# c\n\\\n", "\r\n", "x"] {
            let parsed = !Dockerfile::parse(text).instructions.is_empty();
            assert_eq!(Dockerfile::has_instructions(text), parsed, "{text:?}");
        }
    }

    /// The start lines of the opaque instructions of `text`, and its damage.
    fn misread(text: &str) -> (Vec<usize>, usize) {
        let file = Dockerfile::parse(text);
        let opaque = file.instructions.iter().filter(|i| i.opaque).map(|i| i.start_line).collect();
        (opaque, file.damage)
    }

    #[test]
    fn legacy_env_with_spaces_is_read_and_does_not_hide_what_follows() {
        assert_eq!(misread("FROM a\nENV NAME value with spaces\nADD a /b\nCMD c\n"), (vec![], 0));
        assert_eq!(misread("FROM a\nENV NAME value \\\n  more \"x y\"\nADD a /b\n"), (vec![], 0));
        // Without a value Docker rejects it: still opaque, still damage.
        let (opaque, damage) = misread("FROM a\nENV PATH\nADD a /b\n");
        assert_eq!(opaque, [2]);
        assert!(damage > 0);
    }

    #[test]
    fn legacy_label_is_read() {
        assert_eq!(misread("FROM a\nLABEL maintainer \"J F <j@example.com>\"\nRUN x\n"), (vec![], 0));
        assert_eq!(misread("FROM a\nLABEL maintainer   docker <d@example.com>\nRUN x\n"), (vec![], 0));
        assert_eq!(misread("FROM a\nLABEL maintainer = \"M <m@example.com>\"\nRUN x\n"), (vec![], 0));
    }

    #[test]
    fn hash_inside_an_argument_is_not_a_comment() {
        assert_eq!(misread("FROM a\nCOPY b#x /b2\nRUN chmod 1 /b2\n"), (vec![], 0));
        assert_eq!(misread("FROM a\nRUN echo a#b \\\n  c#d\nCMD [\"#x\"]\n"), (vec![], 0));
        // A `#` that starts a line is a comment, inside a continuation too.
        let file = Dockerfile::parse("FROM a\n# note\nCOPY b /c\n");
        assert_eq!(file.comments.len(), 1);
        assert_eq!(file.damage, 0);
    }

    #[test]
    fn comment_and_blank_lines_inside_a_continuation_are_read() {
        let text = "FROM a\nENV A=1 \\\n# why B\n    B=2 \\\n\n    C=3\nEXPOSE 1\nCOPY a /b\n";
        assert_eq!(misread(text), (vec![], 0));
        assert_eq!(misread("FROM a\nRUN a \\\n\n\n  && b \\\n  \t\n  && c\nCMD d\n"), (vec![], 0));
    }

    #[test]
    fn flags_docker_reads_are_read() {
        assert_eq!(misread("FROM a\nCOPY --link --from=b / /usr/bin/\nADD --link x /y\n"), (vec![], 0));
        assert_eq!(misread("FROM a\nRUN --mount=type=bind,target=.,rw make\n"), (vec![], 0));
        assert_eq!(misread("FROM a\nRUN --mount=target=.,rw <<EOT\n  set -e\nEOT\nCMD x\n"), (vec![], 0));
    }

    #[test]
    fn windows_paths_and_shell_form_brackets_are_read() {
        assert_eq!(misread("FROM a\nENV LIBPATH C:\\libressl\nENV B=C:\\tools\\bin\nRUN x\n"), (vec![], 0));
        assert_eq!(misread("FROM a\nWORKDIR \"C:\\\\Program Files\\\\x\"\nRUN x\n"), (vec![], 0));
        assert_eq!(misread("FROM a\nRUN [ -e /etc/x ] && sed -i x /etc/x || true\nCMD y\n"), (vec![], 0));
        assert_eq!(
            misread("FROM a\nRUN [Net.SPM]::Protocol = 'Tls12' ; \\\n    iwr x\nCMD y\n"),
            (vec![], 0)
        );
        assert_eq!(misread("FROM a\nRUN set -e; \\\n\t\t[ -s \"$f\" ]; \\\n\tdone\nCMD y\n"), (vec![], 0));
        // A JSON array is still read as one.
        assert_eq!(misread("FROM a\nCMD [\"a\", \"b\"]\n"), (vec![], 0));
    }

    #[test]
    fn user_names_docker_takes_are_read() {
        assert_eq!(misread("FROM a\nUSER _dnscrypt-signer\nUSER \"${NB_UID}\"\nRUN x\n"), (vec![], 0));
    }

    #[test]
    fn trailing_blanks_do_not_make_an_instruction_opaque() {
        assert_eq!(misread("FROM a \nUSER twitter \t\nRUN x  \n"), (vec![], 0));
        assert_eq!(misread("FROM a\nCOPY . /app \nENTRYPOINT [\"python3\"] \n"), (vec![], 0));
    }

    #[test]
    fn what_docker_rejects_stays_opaque_and_counts_as_damage_alone() {
        // An unknown instruction: opaque, with damage; the instructions after it are read.
        let (opaque, damage) = misread("FROM a\nFOO bar\nRUN x\nADD a /b\n");
        assert_eq!(opaque, [2]);
        assert!(damage > 0);
        let (opaque, damage) = misread("FROM a\nHEALTHCHECK\nRUN x\n");
        assert_eq!(opaque, [2]);
        assert!(damage > 0);
        // A fix that breaks a second instruction adds damage.
        let (_, more) = misread("FROM a\nFOO bar\nRUN x\nADD a /b\nFOO baz\n");
        assert!(more > damage, "{more} > {damage}");
    }

    #[test]
    fn what_the_view_does_not_cover_stays_opaque_with_its_own_damage() {
        // Docker reads an ARG with two pairs; the grammar does not, and no view covers it.
        let (opaque, damage) = misread("FROM a\nARG VERSION=1 COMMIT=none\nRUN x\nCMD y\n");
        assert_eq!(opaque, [2]);
        assert!(damage > 0);
        let (_, with_more) = misread("FROM a\nARG VERSION=1 COMMIT=none\nRUN x\nRUN y\nCMD y\n");
        assert_eq!(with_more, damage, "an instruction the grammar reads adds no damage");
    }

    #[test]
    fn a_missing_token_the_tree_does_not_show_is_damage() {
        // The grammar's MISSING value of `--chown=` sits in a hidden rule no cursor visits.
        let (opaque, damage) = misread("FROM a\nADD --chown= a b\n");
        assert_eq!(opaque, [2]);
        assert_eq!(damage, 1);
    }

    #[test]
    fn the_grammar_view_keeps_the_length_and_the_ends_of_an_instruction() {
        for text in [
            "FROM a\nLABEL key  \"v w\"\n",
            "FROM a\nENV A=1 \\\n# c\n\n  B=2\n",
            "FROM a\nCOPY --link --chown=é:é b#\\x /b2\n",
            "FROM a\nRUN [ x ] \\\n  y\n",
        ] {
            let file = Dockerfile::parse(text);
            let instruction = &file.instructions[1];
            let view = grammar_view(text, instruction);
            let lines = &text[instruction.line_span.clone()];
            assert_eq!(view.len(), lines.len(), "{text:?}");
            let span = instruction.span.start - instruction.line_span.start;
            assert_eq!(view.as_bytes()[span], lines.as_bytes()[span], "{view:?}");
            assert_eq!(view.trim_end().len(), lines.trim_end().len(), "{view:?}");
        }
    }

    #[test]
    fn directives_are_read_only_at_the_top() {
        let file = Dockerfile::parse("# syntax=docker/dockerfile:1\n# escape=\\\nFROM a\n# syntax=late\n");
        assert_eq!(file.directives.len(), 2);
        assert_eq!(file.comments.len(), 1);
    }
}
