//! What the review formats (SARIF, GitHub annotations) say about a finding and where: one
//! message per finding, paths relative to the repository, and positions in the input text.

use std::path::{Component, Path, PathBuf};

use dockfix_transforms::Report;

/// A finding as one message: what the transform says, then the risk of its fix or why it was
/// not applied. Results are redacted when they are made ([`crate::redact`]), so this holds no
/// secret value.
pub fn message(report: &Report) -> String {
    let mut text = report.message.clone();
    if let (true, Some(risk)) = (report.fixed, &report.risk) {
        text.push_str("\nRisk: ");
        text.push_str(risk);
    }
    if let Some(reason) = &report.declined {
        text.push_str("\nNot fixed: ");
        text.push_str(reason);
    }
    text
}

/// The path as code review tools want it: relative to the current directory (the root of
/// the checkout in CI), `/`-separated, without `./`, `..` resolved lexically. A path outside
/// the current directory stays absolute.
pub fn repo_path(path: &str) -> String {
    let path = Path::new(path);
    let cwd = std::env::current_dir().unwrap_or_default();
    let relative = path.strip_prefix(&cwd).unwrap_or(path);
    let mut parts: Vec<String> = Vec::new();
    let mut absolute = false;
    for component in relative.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::ParentDir if parts.last().is_some_and(|last| last != "..") => {
                parts.pop();
            }
            Component::ParentDir if !absolute => parts.push("..".to_string()),
            Component::RootDir => absolute = true,
            Component::ParentDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    let joined = parts.join("/");
    if absolute {
        PathBuf::from("/").join(joined).to_string_lossy().into_owned()
    } else {
        joined
    }
}

/// Positions in a text as SARIF counts them: 1-based lines (a line ends at `\n`), 1-based
/// columns and 0-based offsets in UTF-16 code units, a leading BOM not counted.
pub struct TextIndex<'a> {
    text: &'a str,
    bom_len: usize,
    /// Byte offset where each line starts.
    line_starts: Vec<usize>,
}

/// A position in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
    /// UTF-16 code units before the position.
    pub offset: usize,
}

impl<'a> TextIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let bom_len = if text.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
        let line_starts =
            std::iter::once(bom_len).chain(text.match_indices('\n').map(|(at, _)| at + 1)).collect();
        TextIndex { text, bom_len, line_starts }
    }

    /// The position of a byte offset (clamped to the text, moved back to a char boundary).
    pub fn position(&self, byte: usize) -> Position {
        let mut byte = byte.clamp(self.bom_len, self.text.len());
        while !self.text.is_char_boundary(byte) {
            byte -= 1;
        }
        let line_index = self.line_starts.partition_point(|start| *start <= byte) - 1;
        let line_start = self.line_starts[line_index];
        Position {
            line: line_index + 1,
            column: 1 + utf16_len(&self.text[line_start..byte]),
            offset: utf16_len(&self.text[self.bom_len..byte]),
        }
    }

    /// The position of a byte offset as the Reviewdog Diagnostic Format counts it: 1-based
    /// line and 1-based column in UTF-8 bytes from the start of the line (a BOM is bytes of
    /// line 1). Clamped to the text.
    pub fn byte_position(&self, byte: usize) -> (usize, usize) {
        let byte = byte.min(self.text.len());
        let line_index = self.line_starts.partition_point(|start| *start <= byte).max(1) - 1;
        let line_start = if line_index == 0 { 0 } else { self.line_starts[line_index] };
        (line_index + 1, 1 + byte - line_start)
    }

    /// The 1-based line a byte offset is on.
    pub fn line_of(&self, byte: usize) -> usize {
        self.byte_position(byte).0
    }

    /// The number of lines: a text ending with a newline has an empty last line after it.
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// The byte range of a 1-based line, without its line ending (`\n` or `\r\n`).
    pub fn line_range(&self, line: usize) -> std::ops::Range<usize> {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return self.text.len()..self.text.len();
        };
        let end = self.line_starts.get(line).map_or(self.text.len(), |next| next - 1);
        let content = self.text[start..end].trim_end_matches('\r');
        start..start + content.len()
    }
}

fn utf16_len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_utf16_units_after_the_bom() {
        let index = TextIndex::new("\u{feff}FROM a\r\nLABEL x=\"é𝄞\"\nCMD b");
        assert_eq!(index.position(3), Position { line: 1, column: 1, offset: 0 });
        let label = "\u{feff}FROM a\r\n".len();
        assert_eq!(index.position(label), Position { line: 2, column: 1, offset: 8 });
        let after_clef = label + "LABEL x=\"é𝄞".len();
        assert_eq!(index.position(after_clef), Position { line: 2, column: 13, offset: 20 });
        let end = "\u{feff}FROM a\r\nLABEL x=\"é𝄞\"\nCMD b".len();
        assert_eq!(index.position(end), Position { line: 3, column: 6, offset: 27 });
    }

    #[test]
    fn line_ranges_leave_the_line_ending_out() {
        let text = "FROM a\r\nCMD b\n\nRUN c";
        let index = TextIndex::new(text);
        assert_eq!(&text[index.line_range(1)], "FROM a");
        assert_eq!(&text[index.line_range(2)], "CMD b");
        assert_eq!(&text[index.line_range(3)], "");
        assert_eq!(&text[index.line_range(4)], "RUN c");
        assert_eq!(index.line_range(9), text.len()..text.len());
    }

    #[test]
    fn repo_paths_are_relative_and_slash_separated() {
        assert_eq!(repo_path("./a/../b/Dockerfile"), "b/Dockerfile");
        assert_eq!(repo_path("../x/Dockerfile"), "../x/Dockerfile");
        assert_eq!(repo_path("/nonexistent-root/x/../Dockerfile"), "/nonexistent-root/Dockerfile");
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(repo_path(&cwd.join("sub/Dockerfile").to_string_lossy()), "sub/Dockerfile");
    }
}
