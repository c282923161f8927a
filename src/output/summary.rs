//! The human summary on stderr, beside every format: one line per finding, each file's counts
//! per transform, then the totals of the run.

use std::collections::BTreeMap;

use dockfix_transforms::{Applicability, Report};

use crate::file_result::{build_command, suggestion_diff, FileResult};
use crate::style::Style;
use crate::verify::report::Verdict;

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
    /// Files `--verify` verified, failed and skipped.
    verified: [usize; 3],
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
        if let Some(verification) = &result.verification {
            self.verified[verification.verdict as usize] += 1;
            out.push_str(&verification.summary_lines(&result.path));
        }
        out
    }

    /// Files whose verification failed.
    pub fn verify_failed(&self) -> usize {
        self.verified[Verdict::Failed as usize]
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
        if self.verified.iter().sum::<usize>() > 0 {
            let [verified, failed, skipped] = self.verified;
            let failed = format!("{failed} failed");
            let failed = if self.verify_failed() > 0 { style.error(&failed) } else { failed };
            out.push_str(&format!("verify: {verified} verified, {failed}, {skipped} skipped\n"));
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

fn plural(count: usize, suffix: &str) -> &str {
    if count == 1 {
        ""
    } else {
        suffix
    }
}
