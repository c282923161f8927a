//! Byte-exact normalization of a Dockerfile and the way back.
//!
//! The parser and the transforms see one canonical text: no BOM, `\n` line endings, a final
//! newline, and `\` as the escape character. Edits are made against that text and mapped back
//! onto the original bytes, so everything a transform did not touch comes out exactly as it came
//! in: CRLF (even mixed), the BOM, a missing final newline, a `` # escape=` `` directive.

use std::ops::Range;

use crate::edit::Edit;

const BOM: &str = "\u{feff}";

/// The original text plus its canonical form and what it takes to map between them. It
/// borrows the original: a large file is not copied to be read.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    original: &'a str,
    /// The canonical text, when it differs from `original`: most files are canonical already,
    /// and a second copy of a large one is memory for nothing.
    normalized: Option<String>,
    bom_len: usize,
    /// Normalized offsets of the `\n`s that were `\r\n` in the original, ascending.
    crlf_at: Vec<usize>,
    /// The original did not end with a newline; `normalized` has one added.
    added_final_newline: bool,
    /// The escape character declared by the `# escape=` directive (`\` unless declared).
    escape: char,
    /// Most line endings of the original are CRLF: inserted text gets CRLF too.
    prefers_crlf: bool,
    /// The original ends with a `\r` and no `\n`: Docker drops it (Go's `ScanLines`), so it is
    /// not part of the canonical text and stays last in the output.
    trailing_cr: bool,
}

impl<'a> Source<'a> {
    pub fn new(original: &'a str) -> Self {
        let (bom_len, body) = match original.strip_prefix(BOM) {
            Some(rest) => (BOM.len(), rest),
            None => (0, original),
        };
        // No BOM, no `\r` at all and a final newline: the line-end rules below change nothing.
        let canonical_line_ends =
            bom_len == 0 && !body.contains('\r') && (body.is_empty() || body.ends_with('\n'));
        if canonical_line_ends && escape_directive(body) != '`' {
            return Source {
                original,
                normalized: None,
                bom_len,
                crlf_at: Vec::new(),
                added_final_newline: false,
                escape: '\\',
                prefers_crlf: false,
                trailing_cr: false,
            };
        }
        let (mut normalized, crlf_at, trailing_cr) = without_carriage_returns(body);
        // Only a file with CRLF line ends can prefer them; most files have none to count.
        let prefers_crlf =
            !crlf_at.is_empty() && crlf_at.len() * 2 > normalized.bytes().filter(|b| *b == b'\n').count();
        // The dropped `\r` ended a line, maybe an empty one: its newline is added back.
        let added_final_newline = trailing_cr || (!normalized.is_empty() && !normalized.ends_with('\n'));
        if added_final_newline {
            normalized.push('\n');
        }
        let escape = escape_directive(&normalized);
        if escape == '`' {
            normalized = swap_line_end_escapes(&normalized);
        }
        Source {
            original,
            prefers_crlf,
            normalized: Some(normalized),
            bom_len,
            crlf_at,
            added_final_newline,
            escape,
            trailing_cr,
        }
    }

    pub fn original(&self) -> &str {
        self.original
    }

    /// The canonical text the parser and the transforms work on.
    pub fn text(&self) -> &str {
        self.normalized.as_deref().unwrap_or(self.original)
    }

    /// The escape character the file declares (`\` or `` ` ``).
    pub fn escape(&self) -> char {
        self.escape
    }

    /// Maps a normalized offset to the original's. An offset on a `\n` that was `\r\n` maps
    /// before the `\r`, so replacing a line ending replaces all of it.
    fn to_original(&self, offset: usize) -> usize {
        let crs_before = self.crlf_at.partition_point(|&lf| lf < offset);
        (self.bom_len + offset + crs_before).min(self.original.len() - usize::from(self.trailing_cr))
    }

    /// Applies edits made against [`Source::text`] to the original bytes. Edits must not
    /// overlap (the engine guarantees it); they are applied in order of position.
    pub fn apply(&self, edits: &[Edit]) -> String {
        apply_in_order(self.original, self.original_edits(edits).iter().map(|(_, edit)| edit))
    }

    /// Edits made against [`Source::text`] as they apply to the original bytes: ranges in
    /// [`Source::original`], replacements in the file's line endings and escape character.
    /// Each comes with the index of the edit it was made from; they are in order of position
    /// and do not overlap.
    pub fn original_edits(&self, edits: &[Edit]) -> Vec<(usize, Edit)> {
        let mut sorted: Vec<(usize, &Edit)> = edits.iter().enumerate().collect();
        sorted.sort_by_key(|(_, edit)| (edit.range.start, edit.range.end));
        let mut cursor = 0usize;
        sorted
            .into_iter()
            .map(|(index, edit)| {
                let range = self.original_range(&edit.range);
                let range = range.start.max(cursor)..range.end.max(cursor);
                cursor = range.end;
                (index, Edit::new(range, self.original_replacement(edit)))
            })
            .collect()
    }

    fn original_range(&self, range: &Range<usize>) -> Range<usize> {
        self.to_original(range.start)..self.to_original(range.end)
    }

    /// The replacement as it must appear in the original: its line endings in the file's
    /// style, and the synthetic final newline taken back out.
    fn original_replacement(&self, edit: &Edit) -> String {
        let mut text = edit.replacement.clone();
        let end = self.text().len();
        if self.added_final_newline && edit.range.end == end {
            if edit.range.start == end {
                // Appending after the synthetic newline: the original's last line has no
                // newline, so the new text must start on a line of its own.
                text.insert(0, '\n');
            }
            if text.ends_with('\n') {
                text.pop();
            }
        }
        if self.escape == '`' {
            text = swap_line_end_escapes(&text);
        }
        if self.prefers_crlf {
            text = text.replace('\n', "\r\n");
        }
        text
    }
}

/// Applies edits that are in order of position and do not overlap to `text`.
pub fn apply_in_order<'e>(text: &str, edits: impl IntoIterator<Item = &'e Edit>) -> String {
    let edits: Vec<&Edit> = edits.into_iter().collect();
    // The exact length: a large file's output never reallocates (nor ends at twice its size).
    let grown: usize = edits.iter().map(|edit| edit.replacement.len()).sum();
    let mut out = String::with_capacity(text.len() + grown);
    let mut cursor = 0usize;
    for edit in edits {
        out.push_str(&text[cursor..edit.range.start]);
        out.push_str(&edit.replacement);
        cursor = edit.range.end;
    }
    out.push_str(&text[cursor..]);
    out
}

/// Reads the `# escape=` parser directive. Directives are `# key=value` comment lines at the
/// very top of the file, before any blank line, other comment or instruction.
/// `body` with each `\r\n` made `\n` and a final lone `\r` dropped; where each of those
/// `\n` is in the result; whether the `\r` was dropped.
fn without_carriage_returns(body: &str) -> (String, Vec<usize>, bool) {
    let mut normalized = String::with_capacity(body.len() + 1);
    let mut crlf_at = Vec::new();
    let mut rest = body;
    while let Some(pos) = rest.find("\r\n") {
        normalized.push_str(&rest[..pos]);
        crlf_at.push(normalized.len());
        normalized.push('\n');
        rest = &rest[pos + 2..];
    }
    let trailing_cr = rest.ends_with('\r');
    normalized.push_str(rest.strip_suffix('\r').unwrap_or(rest));
    (normalized, crlf_at, trailing_cr)
}

pub fn escape_directive(text: &str) -> char {
    for line in text.lines() {
        let Some((key, value)) = parse_directive(line) else {
            break;
        };
        if key.eq_ignore_ascii_case("escape") {
            return match value {
                "`" => '`',
                _ => '\\',
            };
        }
    }
    '\\'
}

/// `# key=value` with optional spaces, as Docker's parser reads a directive line.
pub fn parse_directive(line: &str) -> Option<(&str, &str)> {
    let body = line.trim_start().strip_prefix('#')?.trim();
    let (key, value) = body.split_once('=')?;
    let key = key.trim();
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return None;
    }
    Some((key, value.trim()))
}

/// In a file whose escape character is a backtick, swaps the characters that end a line
/// (before optional blanks): `` ` `` becomes `\` and `\` becomes `` ` ``. Both are one byte,
/// so offsets do not move, and the parser sees continuations where Docker sees them.
fn swap_line_end_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        // Comment lines (the escape directive among them) are never continuations.
        if line.trim_start().starts_with('#') {
            out.push_str(line);
            continue;
        }
        let body = line.trim_end_matches(['\n']);
        let content = body.trim_end_matches([' ', '\t']);
        let (head, last) = match content.char_indices().last() {
            Some((idx, c @ ('`' | '\\'))) => (&content[..idx], Some(c)),
            _ => (content, None),
        };
        out.push_str(head);
        match last {
            Some('`') => out.push('\\'),
            Some(_) => out.push('`'),
            None => {}
        }
        out.push_str(&line[content.len()..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(range: Range<usize>, text: &str) -> Edit {
        Edit::new(range, text)
    }

    #[test]
    fn untouched_text_round_trips_byte_for_byte() {
        for input in [
            "",
            "FROM a\n",
            "FROM a",
            "\u{feff}FROM a\r\nRUN b\r\n",
            "FROM a\r\nRUN b\nCMD c",
            "# escape=`\nFROM a\nRUN b `\n  c\nCOPY x C:\\dir\\\n",
        ] {
            assert_eq!(Source::new(input).apply(&[]), input, "{input:?}");
        }
    }

    #[test]
    fn crlf_file_gets_crlf_in_inserted_text() {
        let source = Source::new("FROM a\r\nCMD b\r\n");
        assert_eq!(source.text(), "FROM a\nCMD b\n");
        let out = source.apply(&[edit(7..7, "USER x\n")]);
        assert_eq!(out, "FROM a\r\nUSER x\r\nCMD b\r\n");
    }

    #[test]
    fn replacing_a_line_ending_replaces_the_whole_crlf() {
        let source = Source::new("FROM a\r\nCMD b\r\n");
        let out = source.apply(&[edit(6..7, " ")]);
        assert_eq!(out, "FROM a CMD b\r\n");
    }

    #[test]
    fn appending_to_a_file_without_final_newline_keeps_it_without() {
        let source = Source::new("FROM a\nCMD b");
        let end = source.text().len();
        assert_eq!(source.apply(&[edit(end..end, "USER x\n")]), "FROM a\nCMD b\nUSER x");
    }

    #[test]
    fn replacing_the_last_line_of_a_file_without_final_newline() {
        let source = Source::new("FROM a\nADD b c");
        let end = source.text().len();
        assert_eq!(source.apply(&[edit(7..end, "COPY b c\n")]), "FROM a\nCOPY b c");
    }

    #[test]
    fn a_carriage_return_ending_the_file_is_a_line_end_that_stays_last() {
        // Regression (fuzz target round_trip): a file ending in a lone `\r` got a canonical
        // text ending in `\r\n`, so its last line held a `\r` Docker drops.
        let source = Source::new("FROM a\nCMD b\r");
        assert_eq!(source.text(), "FROM a\nCMD b\n");
        assert_eq!(source.apply(&[]), "FROM a\nCMD b\r");
        let end = source.text().len();
        assert_eq!(source.apply(&[edit(end..end, "USER x\n")]), "FROM a\nCMD b\nUSER x\r");
        assert_eq!(source.apply(&[edit(7..12, "CMD c")]), "FROM a\nCMD c\r");
        // Only one `\r` is dropped, as Docker drops one; it may end an empty line.
        assert_eq!(Source::new("a\r\r").text(), "a\r\n");
        assert_eq!(Source::new("a\n\r").text(), "a\n\n");
        assert_eq!(Source::new("\r").text(), "\n");
        assert_eq!(Source::new("\r").apply(&[]), "\r");
    }

    #[test]
    fn bom_stays_in_front() {
        let source = Source::new("\u{feff}FROM a\n");
        assert_eq!(source.apply(&[edit(0..0, "# syntax=x\n")]), "\u{feff}# syntax=x\nFROM a\n");
    }

    #[test]
    fn backtick_escape_is_swapped_for_the_parser_and_back() {
        let input = "# escape=`\nRUN a `\n  b\nCOPY x C:\\dir\\\n";
        let source = Source::new(input);
        assert_eq!(source.escape(), '`');
        assert_eq!(source.text(), "# escape=`\nRUN a \\\n  b\nCOPY x C:\\dir`\n");
        let out = source.apply(&[edit(source.text().len()..source.text().len(), "RUN c \\\n  d\n")]);
        assert_eq!(out, format!("{input}RUN c `\n  d\n"));
    }

    #[test]
    fn directive_parsing_stops_at_first_non_directive() {
        assert_eq!(escape_directive("# syntax=x\n# escape=`\nFROM a\n"), '`');
        assert_eq!(escape_directive("FROM a\n# escape=`\n"), '\\');
        assert_eq!(escape_directive("# comment\n# escape=`\n"), '\\');
    }
}
