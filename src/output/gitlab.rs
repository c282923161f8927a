//! `--format gitlab`: a GitLab Code Quality report (the subset of the Code Climate issue
//! format GitLab reads), for `artifacts: reports: codequality:` in `.gitlab-ci.yml`.
//!
//! One JSON array of issues: each finding is an issue at its line of the input (`check_name`
//! = transform id, severity `minor`, as SARIF's level `warning`); a file dockfix could not
//! process, or whose fixes failed `--verify`, is a `major` issue on its line 1 (`check_name`
//! `dockfix` or `verify`, as SARIF's `error`). Schema: `schema/gitlab-code-quality.schema.json`.
//!
//! GitLab matches issues between the base and the head of a merge request by `fingerprint`,
//! so it must not change when the file changes elsewhere: it is a SHA-256 of the path, the
//! check, the instruction the finding is about (its text with whitespace collapsed and secret
//! values masked) and which occurrence of that check on that text it is, never a line number.

use std::collections::HashMap;
use std::io::{self, Write};

use dockfix_transforms::{Dockerfile, Report, Source};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{annotation, Emitter};
use crate::file_result::FileResult;

/// The `check_name` of a file dockfix could not process.
const ERROR_CHECK: &str = "dockfix";
/// The `check_name` of a file whose fixes failed `--verify` (as SARIF's `ruleId`).
const VERIFY_CHECK: &str = "verify";

/// Keeps the issues, not the files, until the report is written at the end.
#[derive(Default)]
pub struct Gitlab {
    issues: Vec<Issue>,
}

impl Emitter for Gitlab {
    fn file(&mut self, result: FileResult, _stdout: &mut dyn Write) -> io::Result<()> {
        self.issues.extend(issues(&result));
        Ok(())
    }

    fn finish(&mut self, stdout: &mut dyn Write) -> io::Result<()> {
        // Plain data of strings and numbers: serialization cannot fail.
        let text = serde_json::to_string_pretty(&self.issues).unwrap_or_default();
        writeln!(stdout, "{text}")
    }

    fn streams(&self) -> bool {
        false
    }
}

#[derive(Serialize)]
struct Issue {
    description: String,
    check_name: String,
    fingerprint: String,
    severity: &'static str,
    location: Location,
}

#[derive(Serialize)]
struct Location {
    path: String,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: usize,
}

/// One file's issues: its error, its findings in line order, its failed verification.
fn issues(result: &FileResult) -> Vec<Issue> {
    let path = annotation::repo_path(&result.path);
    let mut occurrences: HashMap<(String, String), usize> = HashMap::new();
    let mut issue = |description: String, check: &str, subject: String, line: usize, severity| {
        let occurrence = occurrences.entry((check.to_string(), subject.clone())).or_insert(0);
        let fingerprint = fingerprint(&path, check, &subject, *occurrence);
        *occurrence += 1;
        Issue {
            description,
            check_name: check.to_string(),
            fingerprint,
            severity,
            location: Location { path: path.clone(), lines: Lines { begin: line.max(1) } },
        }
    };
    let mut out = Vec::new();
    if let Some(error) = &result.error {
        out.push(issue(error.clone(), ERROR_CHECK, String::new(), 1, "major"));
    }
    let subjects = Subjects::new(result);
    for report in &result.reports {
        out.push(issue(
            description(report),
            report.transform,
            subjects.of(report.line),
            report.line,
            "minor",
        ));
    }
    if let Some(message) =
        result.verification.as_ref().and_then(|verification| verification.failure_message())
    {
        out.push(issue(message, VERIFY_CHECK, String::new(), 1, "major"));
    }
    out
}

/// The finding's message, with the risk of its fix or why it was not applied; on one line,
/// which is how GitLab shows it.
fn description(report: &Report) -> String {
    annotation::message(report).replace('\n', ". ")
}

/// What a finding on a line is about, for its fingerprint: the instruction starting on that
/// line (all its lines), whitespace collapsed, secret values masked; else the line itself.
struct Subjects<'a> {
    result: &'a FileResult,
    text: String,
    /// Each instruction's first line and byte span in `text`.
    instructions: Vec<(usize, std::ops::Range<usize>)>,
}

impl<'a> Subjects<'a> {
    fn new(result: &'a FileResult) -> Self {
        let source = Source::new(&result.input);
        let text = source.text().to_string();
        let instructions = Dockerfile::parse(&text)
            .instructions
            .iter()
            .map(|instruction| (instruction.start_line, instruction.span.clone()))
            .collect();
        Subjects { result, text, instructions }
    }

    fn of(&self, line: usize) -> String {
        let span = self
            .instructions
            .iter()
            .find(|(start, _)| *start == line)
            .and_then(|(_, span)| self.text.get(span.clone()));
        let text = span.or_else(|| self.text.lines().nth(line.saturating_sub(1))).unwrap_or_default();
        let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
        self.result.input_text(&collapsed)
    }
}

/// SHA-256, in hex, of the fields separated by NUL (which none of them holds).
fn fingerprint(path: &str, check: &str, subject: &str, occurrence: usize) -> String {
    let mut hasher = Sha256::new();
    for field in [path, check, subject, &occurrence.to_string()] {
        hasher.update(field.as_bytes());
        hasher.update([0u8]);
    }
    hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_tell_every_field_apart() {
        let base = fingerprint("Dockerfile", "add-to-copy", "ADD x /x", 0);
        assert_eq!(base.len(), 64);
        assert!(base.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(base, fingerprint("Dockerfile", "add-to-copy", "ADD x /x", 0), "stable");
        for other in [
            fingerprint("a/Dockerfile", "add-to-copy", "ADD x /x", 0),
            fingerprint("Dockerfile", "pin-images", "ADD x /x", 0),
            fingerprint("Dockerfile", "add-to-copy", "ADD y /x", 0),
            fingerprint("Dockerfile", "add-to-copy", "ADD x /x", 1),
        ] {
            assert_ne!(base, other);
        }
    }
}
