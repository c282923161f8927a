//! Recovery of what the whole-file parse misread: each opaque instruction read again on its
//! own, as written and then in a view of it the grammar reads as Docker does.

use std::collections::HashSet;
use std::ops::Range;

use super::grammar::{count_damage, new_parser, trimmed_end, PARSER};
use super::lexer::{is_blank, is_comment, strip_continuation};
use super::Instruction;

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
pub(super) fn recover_misread(text: &str, instructions: &mut [Instruction]) -> usize {
    PARSER.with(|cell| {
        let mut slot = cell.borrow_mut();
        let parser = slot.get_or_insert_with(new_parser);
        let mut damage = 0;
        for instruction in instructions.iter_mut().filter(|instruction| instruction.opaque) {
            let remaining = damage_alone(parser, text, instruction);
            instruction.opaque = remaining > 0;
            damage += remaining;
        }
        damage
    })
}

/// Whether `instruction` is written in a way the whole-file parse is known to misread (and
/// then everything after it): a legacy `LABEL key value`, a legacy `ENV` whose value is several
/// words, a flag without a value (`--link`) or a `--mount` with a bare option (`rw`), a comment
/// or blank line inside the continuation, blanks after the last argument, a shell-form `RUN`,
/// `CMD` or `ENTRYPOINT` with a line that starts with `[`. Only a guess of which way to parse
/// is cheaper: both ways give the same model. Over the 483 public corpus files it names 112 of
/// the 122 files the grammar misreads, and 47 it reads: reading those instruction by
/// instruction costs less, over the corpus, than the whole-file parses and error recoveries
/// the guess saves (callgrind, 483 files: 0.995 G -> 0.939 G instructions).
pub(super) fn whole_file_parse_misreads(text: &str, instruction: &Instruction) -> bool {
    let min_words = if instruction.is("LABEL") { 2 } else { 3 };
    let legacy_pair = (instruction.is("ENV") || instruction.is("LABEL"))
        && instruction.words.len() >= min_words
        && instruction.words.first().is_some_and(|word| !word.text.contains('='));
    if legacy_pair {
        return true;
    }
    // A flag without a value (`--link`), or a `--mount` with a bare option (`rw`).
    let bare_flag = instruction.flags.iter().any(|flag| match &flag.value {
        None => true,
        Some(value) => flag.name == "mount" && value.split(',').any(|option| !option.contains('=')),
    });
    if bare_flag {
        return true;
    }
    let continuation_lines = || text[instruction.line_span.clone()].lines().skip(1);
    if instruction.heredocs.is_empty() {
        // A comment or blank line inside the continuation, which Docker skips.
        if continuation_lines().any(|line| is_comment(line) || is_blank(line)) {
            return true;
        }
        // Blanks after the last argument, where the grammar expects one more.
        if text.get(instruction.span.clone()).is_some_and(|span| span.ends_with([' ', '\t'])) {
            return true;
        }
    }
    is_shell_form_command(instruction)
        && (instruction.args.trim_start().starts_with('[')
            || continuation_lines().any(|line| line.trim_start().starts_with('[')))
}

/// An instruction as the grammar reads it alone: its lines' text, and its span in them. Two
/// instructions with the same piece read alone the same way.
pub(super) type Piece<'a> = (&'a str, Range<usize>);

/// The [`Piece`] in `text` of an instruction with these line span and span.
pub(super) fn piece<'a>(text: &'a str, lines: &Range<usize>, span: &Range<usize>) -> Piece<'a> {
    (&text[lines.clone()], span.start.wrapping_sub(lines.start)..span.end.wrapping_sub(lines.start))
}

/// A shell-form `RUN`, `CMD` or `ENTRYPOINT`: where the grammar takes a `[` that starts a line
/// for a JSON array.
fn is_shell_form_command(instruction: &Instruction) -> bool {
    instruction.exec_form.is_none()
        && ["RUN", "CMD", "ENTRYPOINT"].iter().any(|keyword| instruction.is(keyword))
}

/// Whether the grammar reads every instruction on its own, as written or in its
/// [`grammar_view`]. Then the whole-file parse cannot change the model: whatever it misreads,
/// [`recover_misread`] reads again on its own and finds no damage. A file the whole-file parse
/// is guessed to misread asks this first, and is spared that parse and its error recovery; so
/// does a re-parse after edits. Instructions whose piece is in `known` (read alone in an
/// earlier text with the same directives, which the lexer's reading depends on) are not read
/// again.
pub(super) fn every_instruction_reads_alone(
    text: &str,
    instructions: &[Instruction],
    known: &HashSet<Piece<'_>>,
) -> bool {
    PARSER.with(|cell| {
        let mut slot = cell.borrow_mut();
        let parser = slot.get_or_insert_with(new_parser);
        instructions.iter().all(|instruction| {
            known.contains(&piece(text, &instruction.line_span, &instruction.span))
                || damage_alone(parser, text, instruction) == 0
        })
    })
}

/// About how much text of consecutive instructions [`instructions_read_in_chunks`] parses at
/// once: enough that a parse's start-up is noise, little enough that its tree is small.
const CHUNK_BYTES: usize = 64 * 1024;

/// Whether the grammar reads `instructions` in chunks of consecutive instructions' lines (the
/// comment and blank lines between them left out), each chunk without damage and with exactly
/// its instructions, span for span. Then each instruction reads alone: a clean derivation of a
/// sequence of instructions holds a clean derivation of each, as a clean whole-file tree does.
/// A large file is read so with one small tree at a time instead of its whole tree.
pub(super) fn instructions_read_in_chunks(text: &str, instructions: &[Instruction]) -> bool {
    PARSER.with(|cell| {
        let mut slot = cell.borrow_mut();
        let parser = slot.get_or_insert_with(new_parser);
        let mut rest = instructions;
        while !rest.is_empty() {
            let mut bytes = 0;
            let taken = rest
                .iter()
                .take_while(|instruction| {
                    let more = bytes < CHUNK_BYTES;
                    bytes += instruction.line_span.len();
                    more
                })
                .count();
            let (chunk, after) = rest.split_at(taken);
            if !read_together(parser, text, chunk) {
                return false;
            }
            rest = after;
        }
        true
    })
}

/// Whether the grammar reads `instructions` (consecutive, in text order), their lines joined,
/// as exactly these instructions and without damage.
fn read_together(parser: &mut tree_sitter::Parser, text: &str, instructions: &[Instruction]) -> bool {
    let mut together = String::new();
    let mut spans = Vec::with_capacity(instructions.len());
    for instruction in instructions {
        let (lines, span) = (&instruction.line_span, &instruction.span);
        if !(lines.start <= span.start && span.end <= lines.end) {
            return false;
        }
        // Only the file's last line may lack its newline: pieces are joined line to line.
        if !together.is_empty() && !together.ends_with('\n') {
            return false;
        }
        let offset = together.len();
        together.push_str(&text[lines.clone()]);
        spans.push(offset + (span.start - lines.start)..offset + (span.end - lines.start));
    }
    let Some(tree) = parser.parse(&together, None) else {
        return false;
    };
    let root = tree.root_node();
    if root.has_error() {
        return false;
    }
    let mut cursor = root.walk();
    let mut expected = spans.iter();
    let all_match =
        root.children(&mut cursor).filter(|node| node.kind().ends_with("_instruction")).all(|node| {
            let node = node.start_byte()..node.end_byte();
            expected.next().is_some_and(|span| {
                node.start == span.start && trimmed_end(&together, &node) == trimmed_end(&together, span)
            })
        });
    all_match && expected.next().is_none()
}

/// The damage of one instruction read on its own: none when it reads as written or in its
/// [`grammar_view`], else the view's. An instruction written in a way the grammar is known to
/// misread is read in its view first: as written it would most likely fail, a parse for
/// nothing. Either order gives the same answer.
fn damage_alone(parser: &mut tree_sitter::Parser, text: &str, instruction: &Instruction) -> usize {
    let lines = instruction.line_span.clone();
    let span = &instruction.span;
    // An instruction without a keyword (a lone `\` at the end of the file) has no span on
    // its lines; the grammar cannot read it.
    if !(lines.start <= span.start && span.end <= lines.end) {
        return 1;
    }
    let span = span.start - lines.start..span.end - lines.start;
    let written = &text[lines];
    if whole_file_parse_misreads(text, instruction) {
        let view = read_alone(parser, &grammar_view(text, instruction), &span).unwrap_or(1);
        if view == 0 || read_alone(parser, written, &span) == Some(0) {
            return 0;
        }
        return view;
    }
    match read_alone(parser, written, &span) {
        Some(0) => 0,
        _ => read_alone(parser, &grammar_view(text, instruction), &span).unwrap_or(1),
    }
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
pub(super) fn grammar_view(text: &str, instruction: &Instruction) -> String {
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
    let shell_form = is_shell_form_command(instruction);
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
