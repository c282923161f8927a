//! Secret values never leave dockfix in a report: the one place that takes them out.
//!
//! A [`Redactor`] knows the literal secret values of one Dockerfile (every value env-secrets
//! recognises, with the run's `[env-secrets]` name settings, whether env-secrets runs or not)
//! and replaces each with `****` wherever it occurs. [`crate::file_result::FileResult`] holds one
//! and cannot be built without it: its constructors pass every report text through it
//! (messages, risks, reasons, the text of applied edits) and its suggestion and fix diffs come
//! out through it, so every output format (JSON, SARIF, markdown, GitHub annotations, the
//! summary), including one written later, shows only redacted text.
//!
//! The diff of the fixed file on stdout may show the file's own lines (removed and context
//! lines) with their values: `git apply` needs them, and they are what the repository already
//! holds. An added line never shows a value: env-secrets does not rewrite a line that keeps
//! a secret it could not move, and should a fix still leave a value on a line it changed, the
//! diff writes `****` there (and `--write` the value).
//!
//! Text that must stay byte-exact to apply (added lines of that diff, the text SARIF fixes
//! insert) keeps a value the file also writes outside its secret pairs (`ENV PASSWORD
//! shadowsocks` in a file that copies `shadowsocks.init`): masking it there would break the
//! fix and hide nothing the file's other lines do not show. Reports mask it all the same.

use dockfix_transforms::rules::env_secrets::{literal_secrets, SecretOptions};
use dockfix_transforms::{Dockerfile, Report, Source};

/// What a secret value is replaced with.
pub const MASK: &str = "****";

/// Values shorter than this are replaced only as whole words: a short value (`root`,
/// `admin`) inside another word is more likely that word than the secret.
const SHORT_VALUE: usize = 8;

/// The literal secret values of one file, and how to take them out of text.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Longest first, so that a value containing another is replaced whole.
    values: Vec<Value>,
}

#[derive(Debug, Clone)]
struct Value {
    text: String,
    /// The file writes it only in secret pairs: masked in byte-exact text too.
    only_in_secrets: bool,
}

impl Redactor {
    /// The redactor of a Dockerfile's text (as read: a BOM and CRLF line ends are fine).
    pub fn for_file(input: &str, options: &SecretOptions) -> Redactor {
        let source = Source::new(input);
        Redactor::for_parsed(input, &Dockerfile::parse(source.text()), options)
    }

    /// [`Redactor::for_file`] from the parse the engine runs on, so that a file is parsed once:
    /// `file` must be `Dockerfile::parse(Source::new(input).text())`.
    pub fn for_parsed(input: &str, file: &Dockerfile, options: &SecretOptions) -> Redactor {
        let source = Source::new(input);
        let text = source.text();
        let secrets = literal_secrets(file, options);
        // The file with its secret values blanked: where else it writes them.
        let mut elsewhere = text.to_string();
        for secret in &secrets {
            if let Some(span) = elsewhere.get(secret.value_span.clone()) {
                let blank = " ".repeat(span.len());
                elsewhere.replace_range(secret.value_span.clone(), &blank);
            }
        }
        let mut values: Vec<Value> = Vec::new();
        for secret in secrets {
            // The value as Docker reads it and as the file writes it (quotes, escapes).
            let written = text.get(secret.value_span.clone()).unwrap_or_default().to_string();
            for value in [secret.value, written] {
                let trimmed = value.trim();
                if !trimmed.is_empty() && !values.iter().any(|known| known.text == trimmed) {
                    let only_in_secrets = !occurs(&elsewhere, trimmed);
                    values.push(Value { text: trimmed.to_string(), only_in_secrets });
                }
            }
        }
        values.sort_by(|a, b| b.text.len().cmp(&a.text.len()).then_with(|| a.text.cmp(&b.text)));
        Redactor { values }
    }

    /// Whether the file has no secret value to hide.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `text` with every secret value replaced by [`MASK`].
    pub fn text(&self, text: &str) -> String {
        self.mask(text, |_| true)
    }

    /// Text that must stay byte-exact to apply: the values the file writes only in secret
    /// pairs replaced by [`MASK`] (see the module documentation).
    pub fn exact(&self, text: &str) -> String {
        self.mask(text, |value| value.only_in_secrets)
    }

    fn mask(&self, text: &str, pick: impl Fn(&Value) -> bool) -> String {
        let mut out = text.to_string();
        for value in self.values.iter().filter(|value| pick(value)) {
            let value = value.text.as_str();
            if value.len() < SHORT_VALUE {
                out = replace_whole_words(&out, value);
            } else if out.contains(value) {
                out = out.replace(value, MASK);
            }
        }
        out
    }

    /// A unified diff that goes into a report: every line redacted.
    pub fn diff_for_report(&self, diff: &str) -> String {
        self.text(diff)
    }

    /// A unified diff of the file on stdout: its added lines redacted, the file's own removed
    /// and context lines kept (see the module documentation).
    pub fn diff_of_file(&self, diff: &str) -> String {
        if self.is_empty() {
            return diff.to_string();
        }
        diff.split_inclusive('\n')
            .map(|line| match line.strip_prefix('+') {
                Some(rest) if !line.starts_with("+++ ") => format!("+{}", self.exact(rest)),
                _ => line.to_string(),
            })
            .collect()
    }

    /// A report with its texts redacted: message, risk, reason, and (byte-exact) the text its
    /// applied edits insert. The suggestion (a whole file) is kept for [`Redactor::diff_for_report`] to
    /// redact once it is a diff: redacted first, its diff would show the value it replaced.
    pub fn redacted_report(&self, mut report: Report) -> Report {
        if self.is_empty() {
            return report;
        }
        report.message = self.text(&report.message);
        report.risk = report.risk.map(|risk| self.text(&risk));
        report.declined = report.declined.map(|reason| self.text(&reason));
        for edit in &mut report.edits {
            edit.replacement = self.exact(&edit.replacement);
        }
        report
    }
}

/// Whether `text` holds `value` (a short one as a whole word).
fn occurs(text: &str, value: &str) -> bool {
    if value.len() >= SHORT_VALUE {
        return text.contains(value);
    }
    replace_whole_words(text, value) != text
}

/// `text` with `value` replaced where it is not part of a longer word.
fn replace_whole_words(text: &str, value: &str) -> String {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut before: Option<char> = None;
    while let Some(at) = rest.find(value) {
        let prefix = &rest[..at];
        let after = rest[at + value.len()..].chars().next();
        let previous = prefix.chars().next_back().or(before);
        out.push_str(prefix);
        if previous.is_some_and(is_word) || after.is_some_and(is_word) {
            out.push_str(value);
        } else {
            out.push_str(MASK);
        }
        before = value.chars().next_back();
        rest = &rest[at + value.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor(dockerfile: &str) -> Redactor {
        Redactor::for_file(dockerfile, &SecretOptions::default())
    }

    #[test]
    fn every_value_the_transform_recognises_is_masked() {
        let redactor = redactor(
            "FROM a\nENV DB_PASSWORD=\"hunter 2\" S3=AKIAIOSFODNN7EXAMPLE\nONBUILD ENV API_TOKEN=onbuild-token-1\nARG PIN=pa\\$\\$word\n",
        );
        let text = "x hunter 2 y AKIAIOSFODNN7EXAMPLE onbuild-token-1";
        assert_eq!(redactor.text(text), "x **** y **** ****");
        assert_eq!(redactor.text("ENV DB_PASSWORD=\"hunter 2\""), "ENV DB_PASSWORD=****", "quotes and all");
    }

    #[test]
    fn short_values_only_as_whole_words() {
        let redactor = redactor("FROM a\nENV DB_PASSWORD=root\n");
        assert_eq!(redactor.text("root, rootless, non-root, (root)"), "****, rootless, non-****, (****)");
    }

    #[test]
    fn file_diffs_keep_the_files_own_lines() {
        let redactor = redactor("FROM a\nENV A_TOKEN=hunter2 B_TOKEN=hunter3\n");
        let diff = "--- a/D\n+++ b/D\n@@ -1,2 +1,2 @@\n FROM a\n-ENV A_TOKEN=hunter2 B_TOKEN=hunter3\n+ENV A_TOKEN=hunter2\n";
        assert_eq!(
            redactor.diff_of_file(diff),
            "--- a/D\n+++ b/D\n@@ -1,2 +1,2 @@\n FROM a\n-ENV A_TOKEN=hunter2 B_TOKEN=hunter3\n+ENV A_TOKEN=****\n"
        );
        assert!(!redactor.diff_for_report(diff).contains("hunter"));
    }

    #[test]
    fn byte_exact_text_keeps_values_the_file_writes_elsewhere() {
        let redactor = redactor(
            "FROM a\nENV PASSWORD shadowsocks\nENV API_TOKEN=hunter2\nCOPY shadowsocks.init /etc/\n",
        );
        let added = "COPY --chown=app shadowsocks.init /etc/ hunter2";
        assert_eq!(redactor.exact(added), "COPY --chown=app shadowsocks.init /etc/ ****");
        assert_eq!(redactor.text(added), "COPY --chown=app ****.init /etc/ ****");
    }

    #[test]
    fn a_file_without_secrets_changes_nothing() {
        let redactor = redactor("FROM a\nENV A=1\n");
        assert!(redactor.is_empty());
        assert_eq!(redactor.text("A=1"), "A=1");
    }
}
