//! The progress line of a long run on a terminal: files checked so far, how many would change,
//! errors, and the rate. Files are found while they are fixed (the run streams), so the total
//! is not known in advance: the line counts rather than fills a bar.
//!
//! It appears only after the run has taken a second, is redrawn at most ten times a second,
//! and is erased before any other line is printed and at the end, so a short run (an editor,
//! a pre-commit hook) never shows it and the summary above it stays clean.
//! `DOCKFIX_PROGRESS_AFTER_MS` changes that second (the tests set 0).

use std::io::Write;
use std::time::{Duration, Instant};

/// Runs shorter than this never show a progress line.
const SHOW_AFTER: Duration = Duration::from_secs(1);
const SHOW_AFTER_VARIABLE: &str = "DOCKFIX_PROGRESS_AFTER_MS";
const REDRAW_EVERY: Duration = Duration::from_millis(100);

/// Erases the current terminal line: carriage return, then "erase in line".
const ERASE_LINE: &str = "\r\x1b[2K";

pub struct Progress {
    enabled: bool,
    show_after: Duration,
    started: Instant,
    last_drawn: Option<Instant>,
    visible: bool,
}

/// What the line reports.
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    pub files: usize,
    pub changed: usize,
    pub errors: usize,
    pub written: bool,
}

impl Progress {
    /// `enabled` only when stderr is a terminal that understands cursor movement.
    pub fn new(enabled: bool) -> Progress {
        let show_after = std::env::var(SHOW_AFTER_VARIABLE)
            .ok()
            .and_then(|millis| millis.parse().ok())
            .map_or(SHOW_AFTER, Duration::from_millis);
        Progress { enabled, show_after, started: Instant::now(), last_drawn: None, visible: false }
    }

    /// Whether stderr is a terminal worth drawing on (not `TERM=dumb`).
    pub fn terminal_can_draw() -> bool {
        use std::io::IsTerminal;
        std::io::stderr().is_terminal() && std::env::var_os("TERM").is_none_or(|term| term != "dumb")
    }

    /// Redraws the line after a file, when it is time to.
    pub fn update(&mut self, out: &mut impl Write, counts: Counts) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        let elapsed = now.duration_since(self.started);
        if elapsed < self.show_after
            || self.last_drawn.is_some_and(|last| now.duration_since(last) < REDRAW_EVERY)
        {
            return;
        }
        self.last_drawn = Some(now);
        self.visible = true;
        // A terminal that went away must not stop the run.
        let _ = write!(out, "{ERASE_LINE}{}", line(counts, elapsed));
        let _ = out.flush();
    }

    /// Erases the line, so that what is printed next starts on a clean line.
    pub fn clear(&mut self, out: &mut impl Write) {
        if self.visible {
            let _ = out.write_all(ERASE_LINE.as_bytes());
            self.visible = false;
        }
    }
}

fn line(counts: Counts, elapsed: Duration) -> String {
    let verb = if counts.written { "changed" } else { "would change" };
    let seconds = elapsed.as_secs_f64();
    let rate = if seconds > 0.0 { counts.files as f64 / seconds } else { 0.0 };
    format!(
        "checking: {} file{}, {} {verb}, {} error{} ({rate:.0} files/s, {seconds:.0} s)",
        counts.files,
        if counts.files == 1 { "" } else { "s" },
        counts.changed,
        counts.errors,
        if counts.errors == 1 { "" } else { "s" },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts() -> Counts {
        Counts { files: 1500, changed: 3, errors: 1, written: false }
    }

    #[test]
    fn a_short_run_draws_nothing() {
        let mut out = Vec::new();
        let mut progress = Progress::new(true);
        progress.show_after = SHOW_AFTER;
        progress.update(&mut out, counts());
        progress.clear(&mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn a_long_run_draws_and_erases_the_line() {
        let mut out = Vec::new();
        let mut progress = Progress::new(true);
        progress.show_after = SHOW_AFTER;
        progress.started -= SHOW_AFTER * 3;
        progress.update(&mut out, counts());
        // Too soon to redraw.
        progress.update(&mut out, counts());
        progress.clear(&mut out);
        let text = String::from_utf8(out).unwrap_or_default();
        assert_eq!(
            text,
            format!(
                "{ERASE_LINE}checking: 1500 files, 3 would change, 1 error (500 files/s, 3 s){ERASE_LINE}"
            )
        );
    }

    #[test]
    fn disabled_draws_nothing() {
        let mut out = Vec::new();
        let mut progress = Progress::new(false);
        progress.started -= SHOW_AFTER * 3;
        progress.update(&mut out, counts());
        assert!(out.is_empty());
    }
}
