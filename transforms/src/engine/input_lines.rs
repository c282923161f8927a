//! Lines of a pass's text as lines of the input, for the reports.

use crate::provenance::{OriginalOffsets, Provenance};

/// The line of the input that a line of a pass's text (which a [`Provenance`] leads back to
/// the input) stands for; a line that a fix inserted stands for the line it was inserted at.
/// Built once per pass, each answer in logarithmic time: a file with thousands of findings
/// asks thousands of times.
pub(super) struct InputLines {
    /// Where each line of the pass's text starts; a line past the last starts at its end.
    text_line_starts: Vec<usize>,
    text_len: usize,
    /// Where each newline of the input is.
    input_newlines: Vec<usize>,
    offsets: OriginalOffsets,
}

impl InputLines {
    pub(super) fn new(input: &str, text: &str, provenance: &Provenance) -> Self {
        let text_line_starts = std::iter::once(0)
            .chain(newlines(text).map(|at| at + 1).filter(|start| *start < text.len()))
            .collect();
        InputLines {
            text_line_starts,
            text_len: text.len(),
            input_newlines: newlines(input).collect(),
            offsets: provenance.original_offsets(),
        }
    }

    pub(super) fn get(&self, line: usize) -> usize {
        let line_start = self.text_line_starts.get(line.saturating_sub(1)).copied().unwrap_or(self.text_len);
        let offset = self.offsets.to_original(line_start);
        1 + self.input_newlines.partition_point(|newline| *newline < offset)
    }
}

fn newlines(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.bytes().enumerate().filter(|(_, byte)| *byte == b'\n').map(|(at, _)| at)
}
