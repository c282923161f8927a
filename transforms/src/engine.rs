//! Runs the selected transforms to a fixed point.
//!
//! Each pass parses the text, asks every transform for findings, picks the fixes that may be
//! applied (selected applicability, not inside an opaque instruction, no overlap with a fix
//! already picked), applies them to the original bytes and starts again. A pass that picks
//! nothing ends the run. A result that parses worse than its input is never kept.

use std::collections::BTreeSet;

use serde::Serialize;
use thiserror::Error;

use crate::edit::{Applicability, Finding, Fix};
use crate::rules::{BuildContext, Context, Rule};
use crate::source::Source;
use crate::suppress::{is_suppressed, suppressions};
use crate::syntax::Dockerfile;

/// Passes before the engine gives up: each transform's fix must be stable after one pass, so
/// a well-behaved run needs two (fix, then confirm nothing is left).
const MAX_PASSES: usize = 4;

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Apply only fixes that cannot change behaviour.
    pub safe_only: bool,
}

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
}

#[derive(Debug, Clone)]
pub struct Outcome {
    /// The fixed file, byte-exact outside the edits.
    pub output: String,
    pub reports: Vec<Report>,
}

impl Outcome {
    pub fn changed(&self, input: &str) -> bool {
        self.output != input
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum EngineError {
    #[error("fixes did not converge after {MAX_PASSES} passes (transforms: {})", .transforms.join(", "))]
    NoFixedPoint { transforms: Vec<&'static str> },
}

/// Runs `rules` over `input` until nothing is left to fix.
pub fn run(
    input: &str,
    rules: &[&dyn Rule],
    build_context: &dyn BuildContext,
    options: &Options,
) -> Result<Outcome, EngineError> {
    let mut text = input.to_string();
    let mut applied: Vec<Report> = Vec::new();
    let mut passes = 0;
    loop {
        let pass = Pass::run(&text, rules, build_context, options);
        if pass.picked.is_empty() {
            applied.extend(pass.unfixed);
            return Ok(Outcome {
                output: text,
                reports: applied,
            });
        }
        passes += 1;
        if passes > MAX_PASSES {
            let transforms: BTreeSet<&'static str> = pass
                .picked
                .iter()
                .map(|(finding, _)| finding.transform)
                .collect();
            return Err(EngineError::NoFixedPoint {
                transforms: transforms.into_iter().collect(),
            });
        }
        applied.extend(
            pass.picked
                .iter()
                .map(|(finding, _)| report(finding, true, None)),
        );
        text = pass.output;
    }
}

/// One pass over a text.
struct Pass {
    picked: Vec<(Finding, Fix)>,
    unfixed: Vec<Report>,
    output: String,
}

impl Pass {
    fn run(
        text: &str,
        rules: &[&dyn Rule],
        build_context: &dyn BuildContext,
        options: &Options,
    ) -> Pass {
        let source = Source::new(text);
        let file = Dockerfile::parse(source.text());
        let context = Context {
            file: &file,
            text: source.text(),
            build_context,
        };
        let suppressed = suppressions(&file);
        let mut picked: Vec<(Finding, Fix)> = Vec::new();
        let mut unfixed = Vec::new();
        for rule in rules {
            for mut finding in rule.check(&context) {
                if is_suppressed(&suppressed, finding.transform, finding.line) {
                    continue;
                }
                let Some(fix) = finding.fix.take() else {
                    unfixed.push(report(&finding, false, None));
                    continue;
                };
                let refusal = refusal(&fix, &file, options).or_else(|| {
                    picked
                        .iter()
                        .any(|(_, other)| other.overlaps(&fix))
                        .then(|| OVERLAP.to_string())
                });
                finding.fix = Some(fix.clone());
                match refusal {
                    // An overlapping fix is only postponed: the next pass sees it again.
                    Some(reason) if reason == OVERLAP => {}
                    Some(reason) => unfixed.push(report(&finding, false, Some(reason))),
                    None => picked.push((finding, fix)),
                }
            }
        }
        let output = keep_what_parses(&source, &file, &mut picked, &mut unfixed);
        Pass {
            picked,
            unfixed,
            output,
        }
    }
}

const OVERLAP: &str = "overlaps another fix";

/// Why a fix may not be applied in this run, if it may not.
fn refusal(fix: &Fix, file: &Dockerfile, options: &Options) -> Option<String> {
    match fix.applicability {
        Applicability::Suggestion => {
            return Some("suggestion only: review and apply by hand".into())
        }
        Applicability::Unsafe if options.safe_only => {
            return Some("not applied with --safe-only: it can change behaviour".into())
        }
        _ => {}
    }
    let opaque = file
        .instructions
        .iter()
        .filter(|i| i.opaque)
        .find(|instruction| {
            fix.edits.iter().any(|edit| {
                let span = &instruction.span;
                edit.range.start < span.end && span.start < edit.range.end
                    || (edit.range.is_empty()
                        && span.start < edit.range.start
                        && edit.range.start < span.end)
            })
        });
    opaque.map(|instruction| {
        format!(
            "line {} is not understood by the parser; dockfix does not edit inside it",
            instruction.start_line
        )
    })
}

/// Applies the picked fixes. If the result parses worse than the input, keeps only the fixes
/// that do not make it worse on their own, and declines the rest.
fn keep_what_parses(
    source: &Source,
    file: &Dockerfile,
    picked: &mut Vec<(Finding, Fix)>,
    unfixed: &mut Vec<Report>,
) -> String {
    let apply = |fixes: &[&Fix]| -> String {
        let edits: Vec<_> = fixes
            .iter()
            .flat_map(|fix| fix.edits.iter().cloned())
            .collect();
        source.apply(&edits)
    };
    let parses_no_worse = |output: &str| {
        let after = Dockerfile::parse(Source::new(output).text());
        after.damage <= file.damage
            && (after.lexical_error.is_none() || file.lexical_error.is_some())
    };
    let all: Vec<&Fix> = picked.iter().map(|(_, fix)| fix).collect();
    let output = apply(&all);
    if parses_no_worse(&output) {
        return output;
    }
    let (good, bad): (Vec<_>, Vec<_>) = std::mem::take(picked)
        .into_iter()
        .partition(|(_, fix)| parses_no_worse(&apply(&[fix])));
    for (finding, _) in &bad {
        unfixed.push(report(
            finding,
            false,
            Some("the fixed text would parse worse than the original".into()),
        ));
    }
    let good_fixes: Vec<&Fix> = good.iter().map(|(_, fix)| fix).collect();
    let output = apply(&good_fixes);
    if parses_no_worse(&output) {
        *picked = good;
        return output;
    }
    for (finding, _) in &good {
        unfixed.push(report(
            finding,
            false,
            Some("the fixes together would parse worse than the original".into()),
        ));
    }
    source.original().to_string()
}

fn report(finding: &Finding, fixed: bool, declined: Option<String>) -> Report {
    Report {
        transform: finding.transform,
        line: finding.line,
        message: finding.message.clone(),
        risk: finding.risk.clone(),
        applicability: finding
            .fix
            .as_ref()
            .map_or(Applicability::Suggestion, |fix| fix.applicability),
        fixed,
        declined,
    }
}
