//! `--format rdjsonl` and `--format rdjson`: the Reviewdog Diagnostic Format, for
//! `reviewdog -f=rdjsonl` (one `Diagnostic` per line, printed file after file) and
//! `reviewdog -f=rdjson` (one `DiagnosticResult` document at the end).
//!
//! Each finding is a diagnostic at its line of the input (`code` = transform id, severity
//! `WARNING`, as SARIF's level `warning`); a file dockfix could not process, or whose fixes
//! failed `--verify`, is an `ERROR` diagnostic on the file. Positions are 1-based lines and
//! 1-based columns in UTF-8 bytes; ranges end exclusively.
//!
//! A finding whose fix dockfix applied (or would apply, in a preview) carries it as one
//! suggestion on the original file, made of whole lines: from the start of the first line
//! the fix edits to the end of the last (line endings left out), with those lines as fixed.
//! reviewdog's `github-pr-review` turns it into a GitHub suggested change, which replaces
//! whole lines: a fix that inserts a line (a `USER`, a `RUN`) is the line at the insertion
//! point with the new line before it, or at the end of the file the last line with the new
//! line after it, never an empty range GitHub cannot apply. Applied on their own, the
//! suggestions of a file whose fixes do not share lines give exactly the fixed file.
//!
//! The replacement text is made from the input and the fixes' edits, both of a result
//! ([`FileResult`]), and must come out of redaction ([`FileResult::proposed_text`]) as it
//! went in: whole lines that hold a secret value (a kept `ENV` next to an inserted line) give
//! way to exactly the span of the edits, and a fix whose edits hold one (masked in the
//! result) has no suggestion. No suggestion writes `****` into a file.

use std::io::{self, Write};
use std::ops::Range;

use dockfix_transforms::{Edit, Report};
use serde::Serialize;

use super::annotation::{self, TextIndex};
use super::Emitter;
use crate::file_result::FileResult;
use crate::redact::MASK;

/// Where the README documents each transform: `HOMEPAGE#<id>`.
const HOMEPAGE: &str = env!("CARGO_PKG_REPOSITORY");

/// The `code` of a file whose fixes failed `--verify` (as SARIF's `ruleId`).
const VERIFY_CODE: &str = "verify";

/// `rdjsonl` prints each file's diagnostics when the file is done; `rdjson` keeps them for
/// the document.
pub struct Rdjson {
    lines: bool,
    diagnostics: Vec<Diagnostic>,
}

impl Rdjson {
    /// `--format rdjsonl`.
    pub fn lines() -> Self {
        Rdjson { lines: true, diagnostics: Vec::new() }
    }

    /// `--format rdjson`.
    pub fn document() -> Self {
        Rdjson { lines: false, diagnostics: Vec::new() }
    }
}

impl Emitter for Rdjson {
    fn file(&mut self, result: FileResult, stdout: &mut dyn Write) -> io::Result<()> {
        let diagnostics = diagnostics(&result);
        if !self.lines {
            self.diagnostics.extend(diagnostics);
            return Ok(());
        }
        for diagnostic in diagnostics {
            // Plain data of strings and numbers: serialization cannot fail.
            let line = serde_json::to_string(&diagnostic).unwrap_or_default();
            writeln!(stdout, "{line}")?;
        }
        Ok(())
    }

    fn finish(&mut self, stdout: &mut dyn Write) -> io::Result<()> {
        if self.lines {
            return Ok(());
        }
        let document = DiagnosticResult { source: source(), diagnostics: &self.diagnostics };
        let text = serde_json::to_string_pretty(&document).unwrap_or_default();
        writeln!(stdout, "{text}")
    }

    fn streams(&self) -> bool {
        self.lines
    }
}

#[derive(Serialize)]
struct DiagnosticResult<'a> {
    source: Source,
    diagnostics: &'a [Diagnostic],
}

#[derive(Serialize)]
struct Diagnostic {
    message: String,
    location: Location,
    severity: &'static str,
    source: Source,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<Code>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suggestions: Vec<Suggestion>,
}

#[derive(Serialize)]
struct Source {
    name: &'static str,
    url: &'static str,
}

#[derive(Serialize)]
struct Code {
    value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

#[derive(Serialize)]
struct Location {
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    range: Option<RdRange>,
}

#[derive(Serialize, Debug, PartialEq, Eq)]
struct RdRange {
    start: Position,
    end: Position,
}

#[derive(Serialize, Debug, PartialEq, Eq)]
struct Position {
    line: usize,
    column: usize,
}

#[derive(Serialize, Debug, PartialEq, Eq)]
struct Suggestion {
    range: RdRange,
    text: String,
}

fn source() -> Source {
    Source { name: "dockfix", url: HOMEPAGE }
}

/// One file's diagnostics: its error, its findings in line order, its failed verification.
fn diagnostics(result: &FileResult) -> Vec<Diagnostic> {
    let path = annotation::repo_path(&result.path);
    let on_file = |message: String, code: Option<Code>| Diagnostic {
        message,
        location: Location { path: path.clone(), range: None },
        severity: "ERROR",
        source: source(),
        code,
        suggestions: Vec::new(),
    };
    let mut out = Vec::new();
    if let Some(error) = &result.error {
        out.push(on_file(error.clone(), None));
    }
    let index = TextIndex::new(&result.input);
    for report in &result.reports {
        let line = index.line_range(report.line);
        let suggestions = if report.fixed {
            suggestions(&result.input, &index, &report.edits, |text| shows_no_secret(result, text))
                .into_iter()
                .map(|(range, text)| Suggestion {
                    range: rd_range(&index, range),
                    text: result.proposed_text(&text),
                })
                .collect()
        } else {
            Vec::new()
        };
        out.push(Diagnostic {
            message: annotation::message(report),
            location: Location { path: path.clone(), range: Some(rd_range(&index, line)) },
            severity: "WARNING",
            source: source(),
            code: Some(code(report)),
            suggestions,
        });
    }
    if let Some(message) =
        result.verification.as_ref().and_then(|verification| verification.failure_message())
    {
        out.push(on_file(message, Some(Code { value: VERIFY_CODE.to_string(), url: None })));
    }
    out
}

fn code(report: &Report) -> Code {
    Code { value: report.transform.to_string(), url: Some(format!("{HOMEPAGE}#{}", report.transform)) }
}

fn rd_range(index: &TextIndex, range: Range<usize>) -> RdRange {
    let position = |byte| {
        let (line, column) = index.byte_position(byte);
        Position { line, column }
    };
    RdRange { start: position(range.start), end: position(range.end) }
}

/// Whether `text`, made from a result's input and edits, can be proposed as it is: redacting
/// it changes nothing, and it holds no mask the input does not (an edit's text redacted).
fn shows_no_secret(result: &FileResult, text: &str) -> bool {
    result.proposed_text(text) == text && (!text.contains(MASK) || result.input.contains(MASK))
}

/// A fix as replacements of the input: the byte range each replaces and its text, whose
/// texts `proposable` accepts. One replacement where it can be: whole lines (see the module
/// documentation), else exactly the span of the edits. Where neither can be proposed (lines
/// between the edits hold a secret value), one per edit, each whole lines or exactly the
/// edit. None without edits, with edits that do not fit the input (overlapping, out of
/// range), or when an edit cannot be proposed: a fix is applied whole or not at all.
fn suggestions(
    input: &str,
    index: &TextIndex,
    edits: &[Edit],
    proposable: impl Fn(&str) -> bool,
) -> Vec<(Range<usize>, String)> {
    let mut edits: Vec<&Edit> = edits.iter().collect();
    edits.sort_by_key(|edit| (edit.range.start, edit.range.end));
    edits.dedup();
    if let Some(one) = suggestion(input, index, &edits, &proposable) {
        return vec![one];
    }
    if edits.len() < 2 || apply(input, &edits).is_none() {
        return Vec::new();
    }
    let each: Option<Vec<_>> =
        edits.iter().map(|edit| suggestion(input, index, &[edit], &proposable)).collect();
    let overlap = |all: &[(Range<usize>, String)]| all.windows(2).any(|pair| pair[1].0.start < pair[0].0.end);
    match each {
        Some(each) if !overlap(&each) => each,
        _ => {
            let exact = edits.iter().map(|edit| (edit.range.clone(), edit.replacement.clone()));
            let exact: Vec<_> = exact.collect();
            if exact.iter().all(|(_, text)| proposable(text)) {
                exact
            } else {
                Vec::new()
            }
        }
    }
}

/// Edits (sorted, without duplicates) as one replacement: whole lines, else exactly their
/// span; the first whose text `proposable` accepts.
fn suggestion(
    input: &str,
    index: &TextIndex,
    edits: &[&Edit],
    proposable: &impl Fn(&str) -> bool,
) -> Option<(Range<usize>, String)> {
    let fixed = apply(input, edits)?;
    let start = edits.first()?.range.start;
    let end = edits.iter().map(|edit| edit.range.end).max()?;
    let lines = whole_lines(index, input.len(), start..end);
    [lines, start..end]
        .into_iter()
        .filter_map(|range| replacement(input, &fixed, range))
        .find(|(_, text)| proposable(text))
}

/// `input` with `edits` (sorted by position) applied; `None` when two overlap or one does
/// not fit the text.
fn apply(input: &str, edits: &[&Edit]) -> Option<String> {
    let mut out = String::with_capacity(input.len());
    let mut cursor = 0;
    for edit in edits {
        let Range { start, end } = edit.range;
        if start < cursor || end < start {
            return None;
        }
        out.push_str(input.get(cursor..start)?);
        out.push_str(&edit.replacement);
        cursor = end;
    }
    out.push_str(input.get(cursor..)?);
    Some(out)
}

/// From the start of the line `span` starts on to the end of the line it ends on, line
/// endings left out. At the end of a file that ends with a newline there is no line to end
/// on: the range is the last line then.
fn whole_lines(index: &TextIndex, len: usize, span: Range<usize>) -> Range<usize> {
    let mut first = index.line_of(span.start);
    let mut last = index.line_of(span.end);
    let past_the_end = |line: usize| line == index.line_count() && index.line_range(line).start == len;
    if past_the_end(last) && last > 1 {
        last -= 1;
        first = first.min(last);
    }
    if past_the_end(first) && first > 1 {
        first -= 1;
    }
    index.line_range(first).start..index.line_range(last).end
}

/// The text that replaces `range` of `input` to give `fixed`, when the edits all fall in
/// `range` (the text outside it is the same in both).
fn replacement(input: &str, fixed: &str, range: Range<usize>) -> Option<(Range<usize>, String)> {
    let (before, after) = (input.get(..range.start)?, input.get(range.end..)?);
    if !fixed.starts_with(before) || !fixed.ends_with(after) || fixed.len() < before.len() + after.len() {
        return None;
    }
    let text = fixed.get(before.len()..fixed.len() - after.len())?.to_string();
    Some((range, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The suggestion of `edits` on `input`, as (replaced text, replacement), and checks that
    /// applying it gives what the edits give.
    fn suggested(input: &str, edits: &[Edit]) -> (String, String) {
        let index = TextIndex::new(input);
        let found = suggestions(input, &index, edits, |_| true);
        assert_eq!(found.len(), 1, "one suggestion: {found:?}");
        let (range, text) = found.into_iter().next().expect("a suggestion");
        let mut refs: Vec<&Edit> = edits.iter().collect();
        refs.dedup();
        let expected = apply(input, &refs).expect("edits apply");
        let mut applied = input.to_string();
        applied.replace_range(range.clone(), &text);
        assert_eq!(applied, expected, "the suggestion gives what the edits give");
        (input[range].to_string(), text)
    }

    fn only(mut found: Vec<(Range<usize>, String)>) -> (Range<usize>, String) {
        assert_eq!(found.len(), 1, "{found:?}");
        found.remove(0)
    }

    #[test]
    fn a_change_inside_a_line_replaces_the_whole_line() {
        let input = "FROM a\nADD x /x\nCMD b\n";
        let (old, new) = suggested(input, &[Edit::new(7..10, "COPY")]);
        assert_eq!((old.as_str(), new.as_str()), ("ADD x /x", "COPY x /x"));
    }

    #[test]
    fn an_inserted_line_comes_with_the_line_at_the_insertion_point() {
        let input = "FROM a\nRUN b\nCMD c\n";
        let (old, new) = suggested(input, &[Edit::insert(13, "USER app\n")]);
        assert_eq!((old.as_str(), new.as_str()), ("CMD c", "USER app\nCMD c"));
        // At the end of the file: the last line, then the new one.
        let (old, new) = suggested(input, &[Edit::insert(input.len(), "USER app\n")]);
        assert_eq!((old.as_str(), new.as_str()), ("CMD c", "CMD c\nUSER app"));
        // Several edits: one range from the first to the last line they touch.
        let (old, new) = suggested(input, &[Edit::insert(7, "# x\n"), Edit::new(17..18, "d")]);
        assert_eq!((old.as_str(), new.as_str()), ("RUN b\nCMD c", "# x\nRUN b\nCMD d"));
    }

    #[test]
    fn positions_are_utf8_bytes_and_line_endings_stay_out() {
        let input = "\u{feff}FROM a\r\nLABEL x=\"é\" y=1\r\nCMD b";
        let index = TextIndex::new(input);
        let at = input.find("y=1").expect("y");
        let (range, text) = only(suggestions(input, &index, &[Edit::new(at..at + 3, "y=2")], |_| true));
        assert_eq!(text, "LABEL x=\"é\" y=2");
        let rd = rd_range(&index, range);
        assert_eq!(rd.start, Position { line: 2, column: 1 });
        assert_eq!(rd.end, Position { line: 2, column: 1 + "LABEL x=\"é\" y=1".len() });
        // Line 1 starts after the BOM, whose bytes count in its columns.
        let (range, _) = only(suggestions(input, &index, &[Edit::new(8..9, "b")], |_| true));
        assert_eq!(rd_range(&index, range).start, Position { line: 1, column: 4 });
        // No final newline: the last line ends at the end of the text.
        let (old, new) = suggested(input, &[Edit::insert(input.len(), "\r\nUSER app")]);
        assert_eq!((old.as_str(), new.as_str()), ("CMD b", "CMD b\r\nUSER app"));
    }

    #[test]
    fn edits_that_do_not_fit_give_no_suggestion() {
        let input = "FROM a\n";
        let index = TextIndex::new(input);
        assert_eq!(suggestions(input, &index, &[], |_| true), []);
        assert_eq!(suggestions(input, &index, &[Edit::new(2..40, "x")], |_| true), []);
        assert_eq!(suggestions(input, &index, &[Edit::new(0..4, "x"), Edit::new(2..5, "y")], |_| true), []);
        // The same edit twice (shared by two fixes) counts once.
        let twice = [Edit::new(0..4, "from"), Edit::new(0..4, "from")];
        assert_eq!(suggested(input, &twice), ("FROM a".to_string(), "from a".to_string()));
    }

    #[test]
    fn suggestions_never_show_a_secret_value() {
        use dockfix_transforms::rules::env_secrets::SecretOptions;
        use dockfix_transforms::Applicability;

        let value = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
        let input = format!("FROM a\nENV GITHUB_TOKEN={value}\nLABEL t=$GITHUB_TOKEN\n");
        let at = input.find("ENV").expect("ENV");
        let result_with = |output: String, edits: Vec<Edit>| {
            let report = Report {
                transform: "strip-setuid",
                line: 2,
                message: format!("inserted before GITHUB_TOKEN={value}"),
                risk: None,
                applicability: Applicability::Unsafe,
                fixed: true,
                declined: None,
                follow_ups: Vec::new(),
                edits,
                suggestion: None,
            };
            let secrets = SecretOptions::default();
            FileResult::fixed("Dockerfile".into(), input.clone(), output, vec![report], Vec::new(), &secrets)
        };
        // A fix inserting `inserted` before the ENV: its whole-line suggestion holds the ENV.
        let result_of = |inserted: String| {
            let mut output = input.clone();
            output.insert_str(at, &inserted);
            result_with(output, vec![Edit::insert(at, inserted)])
        };
        let found = diagnostics(&result_of("RUN true\n".into()));
        // Not the whole lines, which hold the value (masked, the suggestion would write
        // `****` into the file): exactly the insertion.
        let suggestion = &found[0].suggestions[0];
        assert_eq!(suggestion.text, "RUN true\n");
        let start = Position { line: 2, column: 1 };
        assert_eq!(suggestion.range, RdRange { start, end: Position { line: 2, column: 1 } });
        let json = serde_json::to_string(&found[0]).expect("JSON");
        assert!(!json.contains(value), "{json}");
        assert!(json.contains("GITHUB_TOKEN=****"), "the message masks it: {json}");

        // An edit whose own text holds the value (masked in the result): no suggestion.
        let found = diagnostics(&result_of(format!("RUN echo {value}\n")));
        assert!(found[0].suggestions.is_empty());
        assert!(!serde_json::to_string(&found[0]).expect("JSON").contains(value));

        // Edits on both sides of the value: one suggestion each, the one by the value exactly
        // its edit, the other whole lines; together, the fix.
        let end = input.len();
        let output = format!("{}RUN true\n{}USER app\n", &input[..at], &input[at..]);
        let found = diagnostics(&result_with(
            output,
            vec![Edit::insert(at, "RUN true\n"), Edit::insert(end, "USER app\n")],
        ));
        let texts: Vec<&str> = found[0].suggestions.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["RUN true\n", "LABEL t=$GITHUB_TOKEN\nUSER app"]);
    }

    #[test]
    fn an_empty_file_gets_the_exact_span() {
        let (old, new) = suggested("", &[Edit::insert(0, "FROM a\n")]);
        assert_eq!((old.as_str(), new.as_str()), ("", "FROM a\n"));
    }
}
