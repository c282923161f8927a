//! The stage of a verification on a terminal: builds take minutes, so while a file is
//! verified one line says which file and what is happening (`Dockerfile: verify: building the
//! fixed file`). The line is redrawn in place and erased when the file is done, before its
//! summary lines are printed; off the terminal nothing is written.

use std::io::Write;
use std::sync::Mutex;

/// Erases the current terminal line: carriage return, then "erase in line".
const ERASE_LINE: &str = "\r\x1b[2K";

/// One redrawn line on a writer (stderr on a terminal), or nothing when disabled.
pub struct StageLine<W: Write> {
    out: Mutex<Option<W>>,
}

impl<W: Write> StageLine<W> {
    /// A line on `out`; `None` draws nothing.
    pub fn new(out: Option<W>) -> StageLine<W> {
        StageLine { out: Mutex::new(out) }
    }

    /// Shows `path: verify: stage` in place of what the line showed.
    pub fn show(&self, path: &str, stage: &str) {
        self.write(&format!("{ERASE_LINE}{path}: verify: {stage}"));
    }

    /// Erases the line.
    pub fn clear(&self) {
        self.write(ERASE_LINE);
    }

    fn write(&self, text: &str) {
        let mut out = self.out.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(out) = out.as_mut() {
            // A terminal that went away must not stop the run.
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
    }

    /// The writer, for tests.
    pub fn into_inner(self) -> Option<W> {
        self.out.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_redraw_one_line_and_end_erased() {
        let line = StageLine::new(Some(Vec::new()));
        line.show("Dockerfile", "building the original");
        line.show("Dockerfile", "building the fixed file");
        line.clear();
        let written = String::from_utf8(line.into_inner().unwrap_or_default()).expect("UTF-8");
        assert_eq!(
            written,
            "\r\x1b[2KDockerfile: verify: building the original\r\x1b[2KDockerfile: verify: building the fixed file\r\x1b[2K"
        );
    }

    #[test]
    fn off_the_terminal_nothing_is_written() {
        let line: StageLine<Vec<u8>> = StageLine::new(None);
        line.show("Dockerfile", "building the original");
        line.clear();
        assert!(line.into_inner().is_none());
    }
}
