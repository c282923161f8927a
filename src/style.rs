//! Colour for the human summary on stderr: only on a terminal, never when `NO_COLOR` is set
//! (<https://no-color.org>), unless `--color always` asks for it.

use std::io::IsTerminal;

/// Whether the summary is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Style {
    enabled: bool,
}

/// What the user asked for with `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set to something non-empty.
    Auto,
    Always,
    Never,
}

impl Style {
    /// No colour: for files, pipes, tests.
    pub const PLAIN: Style = Style { enabled: false };
    pub const COLORED: Style = Style { enabled: true };

    /// The style for stderr: `--color` wins over `NO_COLOR`, which wins over the terminal.
    pub fn for_stderr(choice: ColorChoice) -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        Style::decide(choice, no_color, std::io::stderr().is_terminal())
    }

    fn decide(choice: ColorChoice, no_color: bool, terminal: bool) -> Style {
        let enabled = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && !no_color,
        };
        Style { enabled }
    }

    pub fn is_colored(self) -> bool {
        self.enabled
    }

    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    pub fn error(self, text: &str) -> String {
        self.paint("1;31", text)
    }

    pub fn warning(self, text: &str) -> String {
        self.paint("1;33", text)
    }

    /// Safe fixes, and things done.
    pub fn good(self, text: &str) -> String {
        self.paint("32", text)
    }

    /// Unsafe fixes and risks: applied, but a reviewer must look.
    pub fn caution(self, text: &str) -> String {
        self.paint("33", text)
    }

    /// Transform ids.
    pub fn id(self, text: &str) -> String {
        self.paint("36", text)
    }

    /// Findings left alone, follow-up labels: secondary text.
    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.enabled && !text.is_empty() {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_where_asked_or_on_a_terminal_without_no_color() {
        assert!(Style::decide(ColorChoice::Auto, false, true).is_colored());
        assert!(!Style::decide(ColorChoice::Auto, true, true).is_colored());
        assert!(!Style::decide(ColorChoice::Auto, false, false).is_colored());
        assert!(Style::decide(ColorChoice::Always, true, false).is_colored());
        assert!(!Style::decide(ColorChoice::Never, false, true).is_colored());
    }

    #[test]
    fn plain_text_is_untouched() {
        assert_eq!(Style::PLAIN.error("error:"), "error:");
        assert_eq!(Style::COLORED.error("error:"), "\x1b[1;31merror:\x1b[0m");
        assert_eq!(Style::COLORED.bold(""), "");
    }
}
