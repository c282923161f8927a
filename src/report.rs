//! What the user sees: the diff, the JSON document and the human summary.

use std::collections::BTreeMap;
use std::path::{Component, Path};

use dockfix_transforms::engine::SuppressionNote;
use dockfix_transforms::rules::env_secrets::SecretOptions;
use dockfix_transforms::{Applicability, FollowUp, Report};
use schemars::JsonSchema;
use serde::Serialize;
use similar::TextDiff;

use crate::redact::Redactor;
use crate::style::Style;

/// The result of one file.
///
/// Built only by its constructors, which take every report text through the file's
/// [`Redactor`]: the renderers of every output format read results, so none can print a
/// secret value (see [`crate::redact`]). Fields stay readable; `input` and `output` are the
/// file itself, which leaves the program only as a fixed file or through [`FileResult::diff`].
#[derive(Default)]
pub struct FileResult {
    pub path: String,
    pub input: String,
    pub output: Option<String>,
    pub reports: Vec<Report>,
    pub error: Option<String>,
    /// Problems with its `# dockfix:` suppression comments worth a warning.
    pub suppression_notes: Vec<SuppressionNote>,
    /// The file's secret values; private, so that no result is made without it.
    redactor: Redactor,
}

impl FileResult {
    /// A file that was fixed (or found to need nothing): its reports redacted.
    pub fn fixed(
        path: String,
        input: String,
        output: String,
        reports: Vec<Report>,
        suppression_notes: Vec<SuppressionNote>,
        secrets: &SecretOptions,
    ) -> FileResult {
        let redactor = Redactor::for_file(&input, secrets);
        let reports = reports.into_iter().map(|report| redactor.report(report)).collect();
        let suppression_notes = suppression_notes
            .into_iter()
            .map(|note| SuppressionNote { message: redactor.text(&note.message), ..note })
            .collect();
        FileResult { path, input, output: Some(output), reports, error: None, suppression_notes, redactor }
    }

    /// A file that could not be processed: why, and its text when it was read.
    pub fn failed(path: String, input: String, error: String, secrets: &SecretOptions) -> FileResult {
        let redactor = Redactor::for_file(&input, secrets);
        let error = Some(redactor.text(&error));
        FileResult { path, input, error, redactor, ..FileResult::default() }
    }

    /// The file could not be finished (written): nothing of it counts as fixed.
    pub fn fail(&mut self, error: String) {
        self.error = Some(self.redactor.text(&error));
        self.output = None;
        for report in self.reports.iter_mut().filter(|report| report.fixed) {
            report.fixed = false;
            report.declined = Some("the file could not be written".to_string());
        }
    }

    pub fn changed(&self) -> bool {
        self.output.as_ref().is_some_and(|output| *output != self.input)
    }

    /// The fixed file as a diff against the input, for stdout: no added line shows a secret
    /// value (see [`Redactor::diff_of_file`]).
    pub fn diff(&self) -> String {
        let output = self.output.as_deref().unwrap_or(&self.input);
        self.redactor.diff_of_file(&unified_diff(&self.path, &self.input, output))
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
pub fn diff_path(path: &str) -> String {
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

/// The `docker build` command a file's applied fixes now need, when they need one: every
/// build secret and build argument, each once, in the order first reported.
pub fn build_command(reports: &[Report]) -> Option<String> {
    let mut flags: Vec<String> = Vec::new();
    for follow_up in reports.iter().filter(|report| report.fixed).flat_map(|report| &report.follow_ups) {
        let flag = match follow_up {
            FollowUp::BuildSecret { id, env } => format!("--secret id={id},env={env}"),
            FollowUp::BuildArg { name } => format!("--build-arg {name}"),
            FollowUp::RuntimeEnv { .. } | FollowUp::Rotate { .. } => continue,
        };
        if !flags.contains(&flag) {
            flags.push(flag);
        }
    }
    (!flags.is_empty()).then(|| format!("docker build {} .", flags.join(" ")))
}

/// Version 2 added `follow_ups` to findings, `build_command` and `warnings` to files.
pub const JSON_VERSION: u32 = 2;

/// The `--format json` document.
#[derive(Serialize, JsonSchema)]
#[schemars(
    title = "dockfix fix --format json",
    description = "Findings and results of `dockfix fix`, per file"
)]
struct JsonDocument<'a> {
    /// The document's format version; a change that can break a reader raises it.
    version: u32,
    files: &'a [JsonFile],
}

// Owns its strings and holds no file text: a run over many files keeps only these.
/// One file: what became of it and its findings.
#[derive(Serialize, JsonSchema)]
pub struct JsonFile {
    /// The file as given or found (`-` input is `<stdin>`).
    path: String,
    /// Whether the fixed file differs from the input (written with `--write`).
    changed: bool,
    /// Why the file could not be processed; nothing was changed then.
    error: Option<String>,
    /// The build command the applied fixes need (secret mounts, build arguments).
    build_command: Option<String>,
    findings: Vec<JsonFinding>,
    /// Suppression comments that name unknown transforms (and, with
    /// `--warn-unused-suppressions`, that suppress nothing).
    warnings: Vec<JsonWarning>,
}

#[derive(Serialize, JsonSchema)]
struct JsonWarning {
    line: usize,
    /// `unknown-id` or `unused`.
    kind: &'static str,
    message: String,
}

#[derive(Serialize, JsonSchema)]
struct JsonFinding {
    /// The transform's id (`dockfix explain ID`).
    transform: &'static str,
    /// 1-based line of the instruction.
    line: usize,
    /// What is changed and why, or why nothing is changed. Never holds a secret value.
    message: String,
    /// `suggestion` when the finding has no fix to apply.
    applicability: Applicability,
    /// Whether the fix is in the output.
    fixed: bool,
    /// Why a fix was not applied, when it was not.
    declined: Option<String>,
    /// What could behave differently once the fix is applied.
    risk: Option<String>,
    /// What must happen outside the Dockerfile.
    follow_ups: Vec<FollowUp>,
    /// A suggestion's proposed change, as a unified diff against the fixed file; only on
    /// suggestions.
    #[serde(skip_serializing_if = "Option::is_none")]
    suggestion: Option<String>,
}

/// The JSON Schema of the `--format json` document (`schema/dockfix-output.schema.json`).
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(JsonDocument<'static>);
    // A schema of plain structs: serialization cannot fail.
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}

impl JsonFile {
    pub fn of(result: &FileResult) -> JsonFile {
        JsonFile {
            path: result.path.clone(),
            changed: result.changed(),
            error: result.error.clone(),
            build_command: build_command(&result.reports),
            warnings: result
                .suppression_notes
                .iter()
                .map(|note| JsonWarning {
                    line: note.line,
                    kind: note.kind.as_str(),
                    message: note.message.clone(),
                })
                .collect(),
            findings: result
                .reports
                .iter()
                .map(|report| JsonFinding {
                    transform: report.transform,
                    line: report.line,
                    message: report.message.clone(),
                    applicability: report.applicability,
                    fixed: report.fixed,
                    declined: report.declined.clone(),
                    risk: report.risk.clone(),
                    follow_ups: report.follow_ups.clone(),
                    suggestion: suggestion_diff(result, report),
                })
                .collect(),
        }
    }
}

pub fn json(results: &[FileResult]) -> String {
    json_document(&results.iter().map(JsonFile::of).collect::<Vec<_>>())
}

pub fn json_document(files: &[JsonFile]) -> String {
    let document = JsonDocument { version: JSON_VERSION, files };
    // Plain data of strings and numbers: serialization cannot fail.
    serde_json::to_string_pretty(&document).unwrap_or_default() + "\n"
}

/// The human summary for stderr, uncoloured: one line per finding, then totals.
pub fn summary(results: &[FileResult], written: bool) -> String {
    let mut summary = Summary::new(written, Style::PLAIN);
    let mut out: String = results.iter().map(|result| summary.file(result)).collect();
    out.push_str(&summary.totals());
    out
}

/// The summary built one file at a time, so it can be printed as files are done.
#[derive(Debug, Default)]
pub struct Summary {
    written: bool,
    style: Style,
    files: usize,
    changed: usize,
    errors: usize,
    /// Per transform, over all files.
    counts: TransformCounts,
    /// `PATH: build it with: ...` lines, printed before the totals.
    build_commands: Vec<String>,
}

/// Findings counted per transform, in id order.
#[derive(Debug, Default)]
struct TransformCounts(BTreeMap<&'static str, Count>);

#[derive(Debug, Default, Clone, Copy)]
struct Count {
    safe: usize,
    unsafe_: usize,
    not_fixed: usize,
}

impl TransformCounts {
    fn of(reports: &[Report]) -> TransformCounts {
        let mut counts = TransformCounts::default();
        for report in reports {
            counts.add(report);
        }
        counts
    }

    fn add(&mut self, report: &Report) {
        let count = self.0.entry(report.transform).or_default();
        match (report.fixed, report.applicability) {
            (true, Applicability::Safe) => count.safe += 1,
            (true, _) => count.unsafe_ += 1,
            (false, _) => count.not_fixed += 1,
        }
    }

    fn merge(&mut self, other: &TransformCounts) {
        for (transform, count) in &other.0 {
            let total = self.0.entry(transform).or_default();
            total.safe += count.safe;
            total.unsafe_ += count.unsafe_;
            total.not_fixed += count.not_fixed;
        }
    }

    fn total(&self) -> Count {
        self.0.values().fold(Count::default(), |total, count| Count {
            safe: total.safe + count.safe,
            unsafe_: total.unsafe_ + count.unsafe_,
            not_fixed: total.not_fixed + count.not_fixed,
        })
    }

    /// `add-to-copy 2, non-root-user 1`: the transforms with a non-zero `pick`.
    fn list(&self, style: Style, pick: impl Fn(&Count) -> usize) -> String {
        let items: Vec<String> = self
            .0
            .iter()
            .filter(|(_, count)| pick(count) > 0)
            .map(|(transform, count)| format!("{} {}", style.id(transform), pick(count)))
            .collect();
        items.join(", ")
    }
}

impl Summary {
    pub fn new(written: bool, style: Style) -> Summary {
        Summary { written, style, ..Summary::default() }
    }

    /// The lines of one file (its error, warnings, each finding, then its counts per
    /// transform), counted into the totals.
    pub fn file(&mut self, result: &FileResult) -> String {
        let style = self.style;
        let mut out = String::new();
        self.files += 1;
        if let Some(error) = &result.error {
            self.errors += 1;
            out.push_str(&format!("{} {error}\n", style.error("error:")));
        }
        self.changed += usize::from(result.changed());
        for note in &result.suppression_notes {
            let location = style.bold(&format!("{}:{}:", result.path, note.line));
            out.push_str(&format!("{} {location} {}\n", style.warning("warning:"), note.message));
        }
        for report in &result.reports {
            out.push_str(&self.finding(result, report));
        }
        let counts = TransformCounts::of(&result.reports);
        if !counts.0.is_empty() {
            out.push_str(&self.file_counts(&result.path, &counts));
        }
        self.counts.merge(&counts);
        if let Some(command) = build_command(&result.reports) {
            self.build_commands.push(format!("{}: build it with: {command}\n", style.bold(&result.path)));
        }
        out
    }

    fn finding(&self, result: &FileResult, report: &Report) -> String {
        let style = self.style;
        let status = match (report.fixed, self.written, report.applicability) {
            (true, true, Applicability::Safe) => style.good("[fixed, safe]"),
            (true, false, Applicability::Safe) => style.good("[would fix, safe]"),
            (true, true, _) => style.caution("[fixed, unsafe]"),
            (true, false, _) => style.caution("[would fix, unsafe]"),
            (false, _, _) => match &report.declined {
                Some(reason) => style.dim(&format!("[not fixed: {reason}]")),
                None => style.dim("[no fix]"),
            },
        };
        let location = style.bold(&format!("{}:{}:", result.path, report.line));
        let mut out = format!("{location} {}: {} {status}\n", style.id(report.transform), report.message);
        if let (true, Some(risk)) = (report.fixed, &report.risk) {
            out.push_str(&format!("    {} {risk}\n", style.caution("risk:")));
        }
        for follow_up in &report.follow_ups {
            out.push_str(&format!("    {} {}\n", style.dim("then:"), follow_up.describe()));
        }
        if let Some(diff) = suggestion_diff(result, report) {
            out.push_str("    suggested change (not applied):\n");
            out.extend(diff.lines().map(|line| format!("    {line}\n")));
        }
        out
    }

    /// `PATH: would change: add-to-copy 2, strip-setuid 1 (1 safe, 2 unsafe); not fixed: pin-images 1`
    fn file_counts(&self, path: &str, counts: &TransformCounts) -> String {
        let style = self.style;
        let total = counts.total();
        let fixes = total.safe + total.unsafe_;
        let mut parts = Vec::new();
        if fixes > 0 {
            let verb = if self.written { "changed" } else { "would change" };
            parts.push(format!(
                "{verb}: {} ({} safe, {} unsafe)",
                counts.list(style, |count| count.safe + count.unsafe_),
                total.safe,
                total.unsafe_
            ));
        }
        if total.not_fixed > 0 {
            parts.push(format!("not fixed: {}", counts.list(style, |count| count.not_fixed)));
        }
        format!("{} {}\n", style.bold(&format!("{path}:")), parts.join("; "))
    }

    pub fn errors(&self) -> usize {
        self.errors
    }

    pub fn changed(&self) -> usize {
        self.changed
    }

    pub fn files(&self) -> usize {
        self.files
    }

    /// The build commands that must change, the fixes per transform over several files, what
    /// `--safe-only` would skip, then the closing line: files, changes, fixes, findings and
    /// errors.
    pub fn totals(&self) -> String {
        let style = self.style;
        let total = self.counts.total();
        let fixes = total.safe + total.unsafe_;
        let mut out: String = self.build_commands.concat();
        if self.files > 1 && fixes > 0 {
            let fixed = self.counts.list(style, |count| count.safe + count.unsafe_);
            out.push_str(&format!("fixes by transform: {fixed}\n"));
        }
        if self.files > 1 && total.not_fixed > 0 {
            let not_fixed = self.counts.list(style, |count| count.not_fixed);
            out.push_str(&format!("not fixed by transform: {not_fixed}\n"));
        }
        if total.unsafe_ > 0 {
            out.push_str(&format!(
                "{} would skip {} unsafe fix{}: {}\n",
                style.caution("--safe-only"),
                total.unsafe_,
                plural(total.unsafe_, "es"),
                self.counts.list(style, |count| count.unsafe_)
            ));
        }
        let verb = if self.written { "changed" } else { "would change" };
        let line = format!(
            "{} file{} checked, {} {verb}; {} fix{} ({} safe, {} unsafe), {} finding{} not fixed, {} error{}",
            self.files,
            plural(self.files, "s"),
            self.changed,
            fixes,
            plural(fixes, "es"),
            total.safe,
            total.unsafe_,
            total.not_fixed,
            plural(total.not_fixed, "s"),
            self.errors,
            plural(self.errors, "s"),
        );
        out.push_str(&style.bold(&line));
        out.push('\n');
        out
    }
}

/// A suggestion's proposed change as a diff against the file as fixed (or as read), for a
/// report: every line redacted.
pub fn suggestion_diff(result: &FileResult, report: &Report) -> Option<String> {
    let suggested = report.suggestion.as_deref()?;
    let base = result.output.as_deref().unwrap_or(&result.input);
    Some(result.redactor.diff_for_report(&unified_diff(&result.path, base, suggested)))
}

fn plural(count: usize, suffix: &str) -> &str {
    if count == 1 {
        ""
    } else {
        suffix
    }
}
