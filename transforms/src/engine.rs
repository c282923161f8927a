//! Runs the selected transforms to a fixed point.
//!
//! Each pass parses the text, asks every transform for findings, picks the fixes that may be
//! applied (selected applicability, not inside an opaque instruction, no overlap with a fix
//! already picked), applies them to the original bytes and starts again. A pass that picks
//! nothing ends the run. A result that parses worse than its input is never kept: the whole
//! file is left untouched and the error names the transforms.

mod compatible;
mod input_lines;

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde::Serialize;
use thiserror::Error;

use crate::edit::{Applicability, Edit, Finding, Fix, FollowUp};
use crate::options::Options;
use crate::provenance::{FixId, Provenance};
use crate::rules;
use crate::source::{apply_in_order, Source};
use crate::suppress::{suppressions, Suppression};
use crate::syntax::{Dockerfile, Instruction, ReparseBase};
use crate::transform::{BuildContext, Context, Rule};
use crate::verdict::{self, Generated, Verdict};
pub use compatible::compatible_fixes;
use input_lines::InputLines;

/// Passes before the engine gives up: each transform's fix must be stable after one pass, so
/// a well-behaved run needs two (fix, then confirm nothing is left).
const MAX_PASSES: usize = 4;

/// A finding as reported to the user, with what became of its fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub transform: &'static str,
    pub line: usize,
    pub message: String,
    pub risk: Option<String>,
    /// The fix's applicability; `suggestion` when the finding had no fix.
    pub applicability: Applicability,
    pub fixed: bool,
    /// Why a fix was not applied, when it was not.
    pub declined: Option<String>,
    /// What must happen outside the Dockerfile (see [`FollowUp`]).
    pub follow_ups: Vec<FollowUp>,
    /// When `fixed`: what the fix changed in the input, as edits of the input's bytes with
    /// the final text. An edit is shared with other reports when their fixes edited the same
    /// text (a later pass rewriting an earlier fix's line).
    pub edits: Vec<Edit>,
    /// A suggestion's result: the whole text with its edits applied on top of the fixes, for
    /// showing the proposed change as a diff. Never written.
    pub suggestion: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    /// The fixed file, byte-exact outside the edits.
    pub output: String,
    pub reports: Vec<Report>,
    /// What is wrong with the file's `# dockfix:` suppression comments, by line of the output.
    pub suppression_notes: Vec<SuppressionNote>,
    /// What was decided about the file as a whole, when something was: a template or a build
    /// that always fails (left unchanged), or a generated file.
    pub verdict: Option<Verdict>,
}

/// A `# dockfix: ignore=` comment that names an unknown id, or that suppresses nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SuppressionNote {
    pub line: usize,
    pub kind: SuppressionNoteKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SuppressionNoteKind {
    /// Names no transform (a typo suppresses nothing, silently).
    UnknownId,
    /// Suppressed no finding of the transforms that ran.
    Unused,
}

impl SuppressionNoteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressionNoteKind::UnknownId => "unknown-id",
            SuppressionNoteKind::Unused => "unused",
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum EngineError {
    #[error(
        "the fixes of {} would leave the file parsing worse ({before} -> {after} parse errors); nothing was changed",
        .transforms.join(", ")
    )]
    WouldDamage { transforms: Vec<&'static str>, before: usize, after: usize },
    /// Docker rejects the file as a Dockerfile (see [`crate::verdict`]).
    #[error("not a Dockerfile: {reason}")]
    NotADockerfile { reason: String },
    #[error("fixes did not converge after {MAX_PASSES} passes (transforms: {})", .transforms.join(", "))]
    NoFixedPoint { transforms: Vec<&'static str> },
}

/// Runs `rules` over `input` until nothing is left to fix, unless the file as a whole is
/// judged otherwise first (see [`crate::verdict`]): not a Dockerfile (an error), not
/// buildable (left unchanged, with one finding) or generated (findings, fixes not applied
/// unless `options.fix_generated`).
pub fn run(
    input: &str,
    rules: &[&dyn Rule],
    build_context: &dyn BuildContext,
    options: &Options,
) -> Result<Outcome, EngineError> {
    run_parsed(input, Dockerfile::parse(Source::new(input).text()), rules, build_context, options)
}

/// [`run`] on a parse the caller made (and read) already: `file` must be
/// `Dockerfile::parse(Source::new(input).text())`.
pub fn run_parsed(
    input: &str,
    file: Dockerfile,
    rules: &[&dyn Rule],
    build_context: &dyn BuildContext,
    options: &Options,
) -> Result<Outcome, EngineError> {
    // What the shell layer read for an earlier file is of no use here; a file's own passes
    // and rules share their reads.
    crate::semantic::shell::forget_texts_read();
    // The canonical text only for the verdict: the passes make their own.
    let verdict = verdict::judge(&file, Source::new(input).text());
    match verdict {
        Some(Verdict::NotADockerfile { reason }) => Err(EngineError::NotADockerfile { reason }),
        Some(Verdict::NotBuildable { line, reason }) => Ok(left_unchanged(input, line, reason)),
        Some(Verdict::Generated(generated)) if !options.fix_generated => {
            let outcome = fix_to_fixed_point(input, file, rules, build_context, options)?;
            Ok(left_for_the_generator(input, outcome, generated))
        }
        verdict => {
            let outcome = fix_to_fixed_point(input, file, rules, build_context, options)?;
            Ok(Outcome { verdict, ..outcome })
        }
    }
}

/// A file that is not buildable: unchanged, with the verdict as its one finding.
fn left_unchanged(input: &str, line: usize, reason: String) -> Outcome {
    let report = whole_file_report(line, verdict::not_buildable_message(&reason));
    Outcome {
        output: input.to_string(),
        reports: vec![report],
        suppression_notes: Vec::new(),
        verdict: Some(Verdict::NotBuildable { line, reason }),
    }
}

/// A generated file's outcome: every finding stays, no fix is applied, and a finding on the
/// marker line says why and where the source probably is.
fn left_for_the_generator(input: &str, outcome: Outcome, generated: Generated) -> Outcome {
    let declined = generated.declined();
    let mut reports: Vec<Report> = outcome
        .reports
        .into_iter()
        .map(|report| {
            if !report.fixed {
                return report;
            }
            let follow_ups = report.follow_ups.into_iter().filter(FollowUp::needed_without_fix).collect();
            Report { fixed: false, declined: Some(declined.clone()), follow_ups, edits: Vec::new(), ..report }
        })
        .collect();
    reports.push(whole_file_report(generated.line, generated.message(&[])));
    reports.sort_by(|a, b| (a.line, a.transform).cmp(&(b.line, b.transform)));
    Outcome {
        output: input.to_string(),
        reports,
        suppression_notes: outcome.suppression_notes,
        verdict: Some(Verdict::Generated(generated)),
    }
}

/// A finding about the whole file: it has no fix.
fn whole_file_report(line: usize, message: String) -> Report {
    Report {
        transform: verdict::ID,
        line,
        message,
        risk: None,
        applicability: Applicability::Suggestion,
        fixed: false,
        declined: None,
        follow_ups: Vec::new(),
        edits: Vec::new(),
        suggestion: None,
    }
}

/// The passes: fix, re-parse, repeat until a pass picks nothing. `file` is `input` parsed.
fn fix_to_fixed_point(
    input: &str,
    file: Dockerfile,
    rules: &[&dyn Rule],
    build_context: &dyn BuildContext,
    options: &Options,
) -> Result<Outcome, EngineError> {
    // Borrowed until a pass changes it: a large file is not copied for nothing.
    let mut text = Cow::Borrowed(input);
    // Reports of applied fixes; a report's index is its fix's id in `provenance`.
    let mut applied: Vec<Report> = Vec::new();
    let mut provenance = Provenance::new(input.len());
    let mut passes = 0;
    // The parse of `text` made before the pass (the input's, then the previous pass's damage
    // check's), reused.
    let mut parsed: Option<Dockerfile> = Some(file);
    loop {
        let pass = Pass::run(&text, parsed.take(), rules, build_context, options)?;
        // Built on first use: a pass with nothing to report needs no map.
        let input_lines = std::cell::OnceCell::new();
        let unchanged = text == input;
        let to_input_line =
            |line| input_lines.get_or_init(|| InputLines::new(input, &text, &provenance)).get(line);
        let Some(changed) = pass.changed else {
            for change in provenance.changes() {
                for fix in change.fixes {
                    applied[fix].edits.push(change.edit.clone());
                }
            }
            applied.extend(
                pass.unfixed.into_iter().map(|report| on_input_lines(report, unchanged, &to_input_line)),
            );
            applied.sort_by(|a, b| (a.line, a.transform).cmp(&(b.line, b.transform)));
            let suppression_notes = suppression_notes(&pass.suppressions, &pass.used_suppressions, rules)
                .into_iter()
                .map(|note| SuppressionNote { line: to_input_line(note.line), ..note })
                .collect();
            return Ok(Outcome {
                output: text.into_owned(),
                reports: applied,
                suppression_notes,
                verdict: None,
            });
        };
        passes += 1;
        if passes > MAX_PASSES {
            let transforms: BTreeSet<&'static str> =
                pass.picked.iter().map(|(finding, _)| finding.transform).collect();
            return Err(EngineError::NoFixedPoint { transforms: transforms.into_iter().collect() });
        }
        let first: FixId = applied.len();
        applied.extend(
            pass.picked
                .iter()
                .map(|(finding, _)| on_input_lines(report(finding, true, None), unchanged, &to_input_line)),
        );
        let mut original_edits = changed.original_edits;
        for (fix, _) in &mut original_edits {
            *fix += first;
        }
        provenance.record(&original_edits);
        text = Cow::Owned(changed.output);
        parsed = Some(changed.parsed);
    }
}

/// One pass over a text.
struct Pass {
    picked: Vec<(Finding, Fix)>,
    unfixed: Vec<Report>,
    /// The text's suppression comments, and which of them suppressed a finding.
    suppressions: Vec<Suppression>,
    used_suppressions: Vec<bool>,
    /// The picked fixes applied, when there were any.
    changed: Option<Applied>,
}

impl Pass {
    fn run(
        text: &str,
        parsed: Option<Dockerfile>,
        rules: &[&dyn Rule],
        build_context: &dyn BuildContext,
        options: &Options,
    ) -> Result<Pass, EngineError> {
        let source = Source::new(text);
        let file = parsed.unwrap_or_else(|| Dockerfile::parse(source.text()));
        let suppressed = suppressions(&file, &rules::transform_id);
        let context =
            Context { file: &file, text: source.text(), build_context, options, suppressed: &suppressed };
        let mut candidates: Vec<(Finding, Fix)> = Vec::new();
        let mut unfixed = Vec::new();
        let mut used = vec![false; suppressed.len()];
        // Asked for every finding: worked out once, not per finding.
        let opaque: Vec<&Instruction> = file.instructions.iter().filter(|i| i.opaque).collect();
        let terminator_ends: BTreeSet<usize> = file
            .instructions
            .iter()
            .filter(|instruction| !instruction.heredocs.is_empty())
            .map(|instruction| instruction.line_span.end)
            .collect();
        for rule in rules {
            // The transform's own id, whatever string the rule wrote: suppression, selection
            // and every output go by it.
            let stamped =
                rule.check(&context).into_iter().map(|finding| Finding { transform: rule.id(), ..finding });
            for finding in stamped.map(|finding| apart_from_heredocs(&terminator_ends, finding)) {
                let mut suppressed_here = false;
                for (index, suppression) in suppressed.iter().enumerate() {
                    if suppression.suppresses(finding.transform, finding.line) {
                        used[index] = true;
                        suppressed_here = true;
                    }
                }
                if suppressed_here {
                    continue;
                }
                let Some(fix) = finding.fix.clone() else {
                    unfixed.push(report(&finding, false, None));
                    continue;
                };
                match refusal(&fix, &opaque, source.text(), options) {
                    Some(reason) => {
                        let mut declined = report(&finding, false, Some(reason));
                        let well_formed = fix.malformed_for(source.text()).is_none();
                        if fix.applicability == Applicability::Suggestion && well_formed {
                            declined.suggestion = Some(source.apply(&fix.edits));
                        }
                        unfixed.push(declined);
                    }
                    None => candidates.push((finding, fix)),
                }
            }
        }
        // A fix that overlaps one taken before it is only postponed: the next pass sees it again.
        let mut taken = compatible_fixes(candidates.iter().map(|(_, fix)| fix)).into_iter().peekable();
        let picked: Vec<(Finding, Fix)> = candidates
            .into_iter()
            .enumerate()
            .filter(|(index, _)| taken.next_if_eq(index).is_some())
            .map(|(_, candidate)| candidate)
            .collect();
        let changed = if picked.is_empty() {
            None
        } else {
            // Only the re-parse reads the model from here on: the rest of it goes before the
            // next model is built, so a large file's two models are never held at once.
            Some(apply_checked(&source, file.into_reparse_base(), &picked)?)
        };
        Ok(Pass { picked, unfixed, suppressions: suppressed, used_suppressions: used, changed })
    }
}

/// Makes text inserted right after a heredoc's terminator line start with a blank line, for
/// every transform alike: hadolint (2.15) cannot parse an instruction on the line right after
/// a terminator (`EOT` then `RUN ...`), although Docker can, so without it a file other
/// linters read before would become unreadable to them.
/// `terminator_ends` are where the instructions with heredocs end.
fn apart_from_heredocs(terminator_ends: &BTreeSet<usize>, mut finding: Finding) -> Finding {
    let Some(fix) = finding.fix.as_mut() else {
        return finding;
    };
    for edit in &mut fix.edits {
        let at = edit.range.start;
        let inserts = edit.range.is_empty() && !edit.replacement.is_empty();
        if !inserts || edit.replacement.starts_with('\n') {
            continue;
        }
        if terminator_ends.contains(&at) {
            edit.replacement.insert(0, '\n');
        }
    }
    finding
}

/// Notes on the `# dockfix:` comments of the final text: unknown ids, and comments that
/// suppressed nothing although a transform they name ran.
fn suppression_notes(
    suppressions: &[Suppression],
    used: &[bool],
    rules: &[&dyn Rule],
) -> Vec<SuppressionNote> {
    let mut notes = Vec::new();
    for (suppression, used) in suppressions.iter().zip(used) {
        if suppression.hadolint {
            continue;
        }
        for id in &suppression.unknown {
            notes.push(SuppressionNote {
                line: suppression.line,
                kind: SuppressionNoteKind::UnknownId,
                message: format!(
                    "`{id}` names no transform; it suppresses nothing (`dockfix rules` lists them)"
                ),
            });
        }
        let ran = suppression.ids.iter().any(|id| id == "all" || rules.iter().any(|rule| rule.id() == id));
        if !used && ran && !suppression.ids.is_empty() {
            notes.push(SuppressionNote {
                line: suppression.line,
                kind: SuppressionNoteKind::Unused,
                message: format!("`ignore={}` suppresses nothing here; remove it", suppression.ids.join(",")),
            });
        }
    }
    notes
}

/// Why a fix may not be applied in this run, if it may not.
/// `opaque` are the instructions the parser did not understand.
fn refusal(fix: &Fix, opaque: &[&Instruction], text: &str, options: &Options) -> Option<String> {
    if let Some(reason) = fix.malformed_for(text) {
        return Some(reason);
    }
    match fix.applicability {
        Applicability::Suggestion => return Some("suggestion only: review and apply by hand".into()),
        Applicability::Unsafe if options.safe_only => {
            return Some("not applied with --safe-only: it can change behaviour".into())
        }
        _ => {}
    }
    let inside =
        opaque.iter().find(|instruction| fix.edits.iter().any(|edit| edits_inside(edit, instruction)));
    inside.map(|instruction| {
        format!(
            "line {} is not understood by the parser; dockfix does not edit inside it",
            instruction.start_line
        )
    })
}

/// Whether an edit changes bytes inside an instruction. Replacing exactly the keyword does
/// not count: keywords come from the lexical pass, which agrees with Docker's parser even
/// where the grammar does not (`ADD --link src dst`).
fn edits_inside(edit: &Edit, instruction: &Instruction) -> bool {
    let (range, span) = (&edit.range, &instruction.span);
    if *range == instruction.keyword_span {
        return false;
    }
    if range.is_empty() {
        return span.start < range.start && range.start < span.end;
    }
    range.start < span.end && span.start < range.end
}

/// The picked fixes of a pass, applied.
struct Applied {
    /// The edits of the picked fixes on the bytes of the pass's text, in order of position,
    /// each with the index of its fix in `picked`.
    original_edits: Vec<(usize, Edit)>,
    output: String,
    parsed: Dockerfile,
}

/// Applies the picked fixes and parses the result, or refuses when it would parse worse than
/// the input: then nothing of the file is changed. `file` is what the re-parse reads of the
/// pass's text parsed.
fn apply_checked(
    source: &Source,
    file: ReparseBase,
    picked: &[(Finding, Fix)],
) -> Result<Applied, EngineError> {
    let fix_of_edit: Vec<usize> = picked
        .iter()
        .enumerate()
        .flat_map(|(fix, (_, found))| found.edits.iter().map(move |_| fix))
        .collect();
    let edits: Vec<Edit> = picked.iter().flat_map(|(_, fix)| fix.edits.iter().cloned()).collect();
    let original_edits: Vec<(usize, Edit)> =
        source.original_edits(&edits).into_iter().map(|(index, edit)| (fix_of_edit[index], edit)).collect();
    let output = apply_in_order(source.original(), original_edits.iter().map(|(_, edit)| edit));
    let after = parse_output(source, &file, &output);
    let new_lexical_error = after.lexical_error.is_some() && file.lexical_error.is_none();
    if after.damage <= file.damage && !new_lexical_error {
        return Ok(Applied { original_edits, output, parsed: after });
    }
    let transforms: BTreeSet<&'static str> = picked.iter().map(|(finding, _)| finding.transform).collect();
    Err(EngineError::WouldDamage {
        transforms: transforms.into_iter().collect(),
        before: file.damage,
        after: after.damage,
    })
}

/// `output` parsed, reading again only what the edits changed where it can.
fn parse_output(source: &Source, file: &ReparseBase, output: &str) -> Dockerfile {
    let after = Source::new(output);
    let parsed = Dockerfile::reparse(file, source.text(), after.text());
    // Test builds check the reparse against a parse from scratch, file after file.
    debug_assert!(
        parsed.same_model(&Dockerfile::parse(after.text())),
        "the reparse differs from a parse from scratch:\n{}",
        after.text()
    );
    parsed
}

fn report(finding: &Finding, fixed: bool, declined: Option<String>) -> Report {
    Report {
        transform: finding.transform,
        line: finding.line,
        message: finding.message.clone(),
        risk: finding.risk.clone(),
        applicability: finding.fix.as_ref().map_or(Applicability::Suggestion, |fix| fix.applicability),
        fixed,
        declined,
        follow_ups: finding
            .follow_ups
            .iter()
            .filter(|follow_up| fixed || follow_up.needed_without_fix())
            .cloned()
            .collect(),
        edits: Vec::new(),
        suggestion: None,
    }
}

/// A report of a pass, with its line and the lines its texts name (`line 12`, `above line 12`)
/// turned into the input's: a rule writes the lines of the text it sees, which an earlier
/// pass's fixes may have moved. An `unchanged` text is the input.
fn on_input_lines(report: Report, unchanged: bool, to_input_line: &dyn Fn(usize) -> usize) -> Report {
    let line = to_input_line(report.line);
    if unchanged {
        return Report { line, ..report };
    }
    let mentions = |written: String| input_line_mentions(&written, to_input_line);
    Report {
        line,
        message: mentions(report.message),
        risk: report.risk.map(mentions),
        declined: report.declined.map(mentions),
        ..report
    }
}

/// `text` with each `line N` turned into the input's line.
fn input_line_mentions(text: &str, to_input_line: &dyn Fn(usize) -> usize) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("line ") {
        let after = &rest[at + "line ".len()..];
        let digits = after.find(|c: char| !c.is_ascii_digit()).unwrap_or(after.len());
        let word_start = at == 0 || !rest[..at].ends_with(|c: char| c.is_alphanumeric());
        out.push_str(&rest[..at + "line ".len()]);
        match after[..digits].parse::<usize>() {
            Ok(line) if word_start => out.push_str(&to_input_line(line).to_string()),
            _ => out.push_str(&after[..digits]),
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::NoBuildContext;

    /// A test rule: proposes the edits `make` returns for each pass's context.
    struct TestRule(fn(&Context) -> Vec<Edit>);

    impl Rule for TestRule {
        fn id(&self) -> &'static str {
            "test-rule"
        }
        fn summary(&self) -> &'static str {
            "test"
        }
        fn documentation(&self) -> String {
            String::new()
        }
        fn reference(&self) -> &'static str {
            ""
        }
        fn check(&self, context: &Context) -> Vec<Finding> {
            (self.0)(context)
                .into_iter()
                .map(|edit| {
                    // Another transform's id: the engine stamps the rule's own.
                    Finding::new("add-to-copy", 1, "t").with_fix(Fix::new(Applicability::Safe, vec![edit]))
                })
                .collect()
        }
    }

    #[test]
    fn findings_carry_the_id_of_the_transform_that_made_them() {
        let outcome = run_rule("FROM a\n", adds_a_comment_once).unwrap();
        let ids: Vec<&str> = outcome.reports.iter().map(|report| report.transform).collect();
        assert_eq!(ids, ["test-rule"], "not the id its findings were written with");
        let suppressed = "FROM a\n# dockfix: ignore-file=add-to-copy\n";
        let outcome = run_rule(suppressed, adds_a_comment_once).unwrap();
        assert_eq!(outcome.reports.len(), 1, "another transform's suppression does not apply");
    }

    fn run_rule(input: &str, make: fn(&Context) -> Vec<Edit>) -> Result<Outcome, EngineError> {
        run(input, &[&TestRule(make)], &NoBuildContext, &Options::default())
    }

    #[test]
    fn result_that_parses_worse_leaves_the_file_untouched() {
        let error = run_rule("FROM a\nCMD b\n", |_| vec![Edit::insert(0, "RUN <<EOF\n")]).unwrap_err();
        assert!(matches!(error, EngineError::WouldDamage { .. }), "{error}");
    }

    #[test]
    fn a_fix_that_never_settles_is_an_error() {
        let error = run_rule("FROM a\n", |c| vec![Edit::insert(c.text.len(), "RUN x\n")]).unwrap_err();
        assert_eq!(error, EngineError::NoFixedPoint { transforms: vec!["test-rule"] });
    }

    #[test]
    fn opaque_instructions_are_not_edited_except_their_keyword() {
        let input = "FROM a\nADD --chown= a b\n";
        let file = Dockerfile::parse(input);
        assert!(file.instructions[1].opaque, "the grammar does not read a flag with an empty value");
        let outcome = run_rule(input, |c| {
            let add = &c.file.instructions[1];
            if !add.is("ADD") {
                return Vec::new();
            }
            vec![Edit::new(add.keyword_span.end + 1..add.keyword_span.end + 7, "--x")]
        })
        .unwrap();
        assert_eq!(outcome.output, input);
        assert!(outcome.reports[0].declined.as_deref().unwrap().contains("not understood"));
        let outcome = run_rule(input, |c| {
            let add = &c.file.instructions[1];
            if !add.is("ADD") {
                return Vec::new();
            }
            vec![Edit::new(add.keyword_span.clone(), "COPY")]
        })
        .unwrap();
        assert_eq!(outcome.output, "FROM a\nCOPY --chown= a b\n");
    }

    #[test]
    fn malformed_fixes_are_refused_not_applied() {
        // Found by the edit-engine property test: a fix with an edit off a character boundary
        // made the engine panic slicing the text; one whose edits overlap each other garbled it.
        let cases: [fn(&Context) -> Vec<Edit>; 3] = [
            |c| vec![Edit::new(c.text.len() - 2..c.text.len() - 1, "x")],
            |c| vec![Edit::new(5..c.text.len() + 4, "x")],
            |_| vec![Edit::new(std::ops::Range { start: 3, end: 2 }, "x")],
        ];
        for make in cases {
            let outcome = run_rule("FROM é\n", make).unwrap();
            assert_eq!(outcome.output, "FROM é\n");
            assert!(outcome.reports[0].declined.as_deref().unwrap().contains("a transform bug"));
        }
        struct TwoEdits;
        impl Rule for TwoEdits {
            fn id(&self) -> &'static str {
                "two-edits"
            }
            fn summary(&self) -> &'static str {
                ""
            }
            fn documentation(&self) -> String {
                String::new()
            }
            fn reference(&self) -> &'static str {
                ""
            }
            fn check(&self, _: &Context) -> Vec<Finding> {
                let fix = Fix::new(Applicability::Safe, vec![Edit::new(0..4, "ab"), Edit::new(2..6, "cd")]);
                vec![Finding::new("two-edits", 1, "t").with_fix(fix)]
            }
        }
        let outcome = run("FROM a\n", &[&TwoEdits], &NoBuildContext, &Options::default()).unwrap();
        assert_eq!(outcome.output, "FROM a\n");
        assert!(outcome.reports[0].declined.as_deref().unwrap().contains("overlap"));
    }

    #[test]
    fn overlapping_fixes_wait_for_the_next_pass() {
        let outcome = run_rule("FROM a\nCMD b\n", |c| {
            if c.text.contains("CMD c") {
                return Vec::new();
            }
            let cmd = &c.file.instructions[1];
            vec![Edit::new(cmd.span.clone(), "CMD c"), Edit::new(cmd.span.clone(), "CMD d")]
        })
        .unwrap();
        assert_eq!(outcome.output, "FROM a\nCMD c\n");
    }

    #[test]
    fn unsafe_fixes_wait_with_safe_only() {
        struct Unsafe;
        impl Rule for Unsafe {
            fn id(&self) -> &'static str {
                "unsafe-rule"
            }
            fn summary(&self) -> &'static str {
                ""
            }
            fn documentation(&self) -> String {
                String::new()
            }
            fn reference(&self) -> &'static str {
                ""
            }
            fn check(&self, _: &Context) -> Vec<Finding> {
                let fix = Fix::new(Applicability::Unsafe, vec![Edit::insert(0, "# x\n")]);
                vec![Finding::new("unsafe-rule", 1, "u").with_fix(fix)]
            }
        }
        let options = Options { safe_only: true, ..Options::default() };
        let outcome = run("FROM a\n", &[&Unsafe], &NoBuildContext, &options).unwrap();
        assert_eq!(outcome.output, "FROM a\n");
        assert!(!outcome.reports[0].fixed);
        assert_eq!(outcome.reports[0].applicability, Applicability::Unsafe);
    }

    #[test]
    fn whole_file_verdicts_come_before_the_transforms() {
        let adds_a_comment = |_: &Context| vec![Edit::insert(0, "# x\n")];
        let error = run_rule("CMD b\n", adds_a_comment).unwrap_err();
        assert!(matches!(error, EngineError::NotADockerfile { .. }), "{error}");

        let outcome = run_rule("FROM {{ .Base }}\nCMD b\n", adds_a_comment).unwrap();
        assert_eq!(outcome.output, "FROM {{ .Base }}\nCMD b\n");
        assert_eq!(outcome.reports.len(), 1, "only the verdict: {:?}", outcome.reports);
        assert_eq!(outcome.reports[0].transform, verdict::ID);

        let generated = "# Code generated by gen.sh. DO NOT EDIT.\nFROM a\nCMD b\n";
        let outcome = run_rule(generated, adds_a_comment_once).unwrap();
        assert_eq!(outcome.output, generated, "reported, not applied");
        let fix = outcome.reports.iter().find(|report| report.transform == "test-rule").unwrap();
        assert!(!fix.fixed && fix.edits.is_empty());
        assert!(fix.declined.as_deref().unwrap().contains("--fix-generated"));
        assert!(outcome.reports.iter().any(|report| report.transform == verdict::ID && report.line == 1));

        let options = Options { fix_generated: true, ..Options::default() };
        let outcome = run(generated, &[&TestRule(adds_a_comment_once)], &NoBuildContext, &options).unwrap();
        assert_eq!(outcome.output, format!("# x\n{generated}"));
    }

    fn adds_a_comment_once(context: &Context) -> Vec<Edit> {
        if context.text.starts_with("# x\n") {
            return Vec::new();
        }
        vec![Edit::insert(0, "# x\n")]
    }

    /// Reports a fix-less finding on the line of `CMD`, in whatever text the pass sees.
    struct ReportsCmd;

    impl Rule for ReportsCmd {
        fn id(&self) -> &'static str {
            "reports-cmd"
        }
        fn summary(&self) -> &'static str {
            ""
        }
        fn documentation(&self) -> String {
            String::new()
        }
        fn reference(&self) -> &'static str {
            ""
        }
        fn check(&self, context: &Context) -> Vec<Finding> {
            let cmd = context.file.instructions.iter().find(|i| i.is("CMD"));
            let found = |cmd: &crate::syntax::Instruction| {
                let line = cmd.start_line;
                Finding::new(
                    "reports-cmd",
                    line,
                    format!("cmd on line {line} (not in an online {line} word)"),
                )
            };
            cmd.map(found).into_iter().collect()
        }
    }

    #[test]
    fn lines_and_edits_are_those_of_the_input_whatever_the_pass() {
        // Pass 1 adds a line at the top (CRLF file: the edits are in the file's own bytes);
        // pass 2 rewrites the line pass 1 added; the final pass reports on CMD, which moved.
        let input = "FROM a\r\nCMD b\r\n";
        let rules: [&dyn Rule; 2] = [
            &TestRule(|c| match c.text {
                t if t.starts_with("# x\n") => vec![Edit::new(2..3, "y")],
                t if t.starts_with("# y\n") => Vec::new(),
                _ => vec![Edit::insert(0, "# x\n")],
            }),
            &ReportsCmd,
        ];
        let outcome = run(input, &rules, &NoBuildContext, &Options::default()).unwrap();
        assert_eq!(outcome.output, "# y\r\nFROM a\r\nCMD b\r\n");
        let lines: Vec<(&str, usize, bool)> =
            outcome.reports.iter().map(|r| (r.transform, r.line, r.fixed)).collect();
        assert_eq!(lines, [("test-rule", 1, true), ("test-rule", 1, true), ("reports-cmd", 2, false)]);
        let expected = vec![Edit::insert(0, "# y\r\n")];
        assert_eq!(outcome.reports[0].edits, expected, "one change, made by both fixes");
        assert_eq!(outcome.reports[1].edits, expected);
        assert!(outcome.reports[2].edits.is_empty());
        assert_eq!(
            outcome.reports[2].message, "cmd on line 2 (not in an online 3 word)",
            "the line the message names is the input's too"
        );
    }

    #[test]
    fn text_inserted_after_a_heredoc_terminator_starts_with_a_blank_line() {
        // Inserts `USER x` after the first RUN, once.
        fn after_first_run(context: &Context) -> Vec<Edit> {
            if context.file.instructions.iter().any(|i| i.is("USER")) {
                return Vec::new();
            }
            let run = context.file.instructions.iter().find(|i| i.is("RUN")).expect("a RUN");
            vec![Edit::insert(run.line_span.end, "USER x\n")]
        }
        let heredoc = run_rule("FROM a\nRUN <<EOT\necho\nEOT\nCMD b\n", after_first_run).unwrap();
        assert_eq!(heredoc.output, "FROM a\nRUN <<EOT\necho\nEOT\n\nUSER x\nCMD b\n");
        assert_eq!(run_rule(&heredoc.output, after_first_run).unwrap().output, heredoc.output, "idempotent");
        let plain = run_rule("FROM a\nRUN echo\nCMD b\n", after_first_run).unwrap();
        assert_eq!(plain.output, "FROM a\nRUN echo\nUSER x\nCMD b\n", "no heredoc, no blank line");
        let crlf = run_rule("FROM a\r\nRUN <<EOT\r\necho\r\nEOT\r\n", after_first_run).unwrap();
        assert_eq!(crlf.output, "FROM a\r\nRUN <<EOT\r\necho\r\nEOT\r\n\r\nUSER x\r\n");
    }
}
