//! What the user sees: the diff, the JSON document and the human summary.

use std::path::{Component, Path};

use dockfix_transforms::{Applicability, Report};
use serde::Serialize;
use similar::TextDiff;

/// The result of one file.
pub struct FileResult {
    pub path: String,
    pub input: String,
    pub output: Option<String>,
    pub reports: Vec<Report>,
    pub error: Option<String>,
}

impl FileResult {
    /// The file could not be finished (written): nothing of it counts as fixed.
    pub fn fail(&mut self, error: String) {
        self.error = Some(error);
        self.output = None;
        for report in self.reports.iter_mut().filter(|report| report.fixed) {
            report.fixed = false;
            report.declined = Some("the file could not be written".to_string());
        }
    }

    pub fn changed(&self) -> bool {
        self.output.as_ref().is_some_and(|output| *output != self.input)
    }
}

/// A git-style unified diff (`--- a/PATH`, `+++ b/PATH`) that `git apply` accepts.
pub fn unified_diff(path: &str, before: &str, after: &str) -> String {
    let path = diff_path(path);
    let diff = TextDiff::from_lines(before, after);
    let body =
        diff.unified_diff().context_radius(3).header(&format!("a/{path}"), &format!("b/{path}")).to_string();
    format!("diff --git a/{path} b/{path}\n{body}")
}

/// The path as `git apply` wants it: relative, `/`-separated, without `./`.
fn diff_path(path: &str) -> String {
    let path = Path::new(path);
    let relative = std::env::current_dir().ok().and_then(|cwd| path.strip_prefix(cwd).ok()).unwrap_or(path);
    let mut parts: Vec<String> = Vec::new();
    for component in relative.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            // `git apply` refuses `..` in paths: resolve it lexically.
            Component::ParentDir if parts.pop().is_some() => {}
            Component::ParentDir => parts.push("..".to_string()),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    parts.join("/")
}

pub const JSON_VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonDocument<'a> {
    version: u32,
    files: Vec<JsonFile<'a>>,
}

#[derive(Serialize)]
struct JsonFile<'a> {
    path: &'a str,
    changed: bool,
    error: Option<&'a str>,
    findings: Vec<JsonFinding<'a>>,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    transform: &'a str,
    line: usize,
    message: &'a str,
    applicability: Applicability,
    fixed: bool,
    declined: Option<&'a str>,
    risk: Option<&'a str>,
    /// A suggestion's proposed change, as a unified diff against the fixed file; only on
    /// suggestions.
    #[serde(skip_serializing_if = "Option::is_none")]
    suggestion: Option<String>,
}

pub fn json(results: &[FileResult]) -> String {
    let files = results
        .iter()
        .map(|result| JsonFile {
            path: &result.path,
            changed: result.changed(),
            error: result.error.as_deref(),
            findings: result
                .reports
                .iter()
                .map(|report| JsonFinding {
                    transform: report.transform,
                    line: report.line,
                    message: &report.message,
                    applicability: report.applicability,
                    fixed: report.fixed,
                    declined: report.declined.as_deref(),
                    risk: report.risk.as_deref(),
                    suggestion: suggestion_diff(result, report),
                })
                .collect(),
        })
        .collect();
    let document = JsonDocument { version: JSON_VERSION, files };
    // Plain data of strings and numbers: serialization cannot fail.
    serde_json::to_string_pretty(&document).unwrap_or_default() + "\n"
}

/// The human summary for stderr: one line per finding, then totals.
pub fn summary(results: &[FileResult], written: bool) -> String {
    let mut out = String::new();
    let (mut fixes, mut safe, mut unfixed, mut errors, mut changed) = (0, 0, 0, 0, 0);
    for result in results {
        if let Some(error) = &result.error {
            errors += 1;
            out.push_str(&format!("error: {error}\n"));
        }
        changed += usize::from(result.changed());
        for report in &result.reports {
            let status = match (report.fixed, written) {
                (true, true) => format!("fixed, {}", report.applicability.as_str()),
                (true, false) => format!("would fix, {}", report.applicability.as_str()),
                (false, _) => match &report.declined {
                    Some(reason) => format!("not fixed: {reason}"),
                    None => "no fix".to_string(),
                },
            };
            out.push_str(&format!(
                "{}:{}: {}: {} [{status}]\n",
                result.path, report.line, report.transform, report.message
            ));
            if let (true, Some(risk)) = (report.fixed, &report.risk) {
                out.push_str(&format!("    risk: {risk}\n"));
            }
            if let Some(diff) = suggestion_diff(result, report) {
                out.push_str("    suggested change (not applied):\n");
                out.extend(diff.lines().map(|line| format!("    {line}\n")));
            }
            if report.fixed {
                fixes += 1;
                safe += usize::from(report.applicability == Applicability::Safe);
            } else {
                unfixed += 1;
            }
        }
    }
    let verb = if written { "changed" } else { "would change" };
    out.push_str(&format!(
        "{} file{} checked, {changed} {verb}; {fixes} fix{} ({safe} safe, {} unsafe), {unfixed} finding{} not fixed, {errors} error{}\n",
        results.len(),
        plural(results.len(), "s"),
        plural(fixes, "es"),
        fixes - safe,
        plural(unfixed, "s"),
        plural(errors, "s"),
    ));
    out
}

/// A suggestion's proposed change as a diff against the file as fixed (or as read).
pub fn suggestion_diff(result: &FileResult, report: &Report) -> Option<String> {
    let suggested = report.suggestion.as_deref()?;
    let base = result.output.as_deref().unwrap_or(&result.input);
    Some(unified_diff(&result.path, base, suggested))
}

fn plural(count: usize, suffix: &str) -> &str {
    if count == 1 {
        ""
    } else {
        suffix
    }
}
