//! Property tests of the edit engine: random edit sets, overlapping or not, on random texts.
//!
//! - `Source::apply` applies a compatible set exactly as specified (checked against a plain
//!   model: splice the edits in from the back);
//! - `compatible_fixes` takes a set no two of which overlap, and postpones only fixes that
//!   overlap one it took;
//! - the engine, fed any fixes (overlapping, malformed, inside text it does not understand),
//!   applies exactly the fixes it reports as fixed, or refuses the whole file: a conflict
//!   never garbles the text.

use std::ops::Range;

use dockfix_transforms::engine::{self, compatible_fixes};
use dockfix_transforms::Options;
use dockfix_transforms::{Applicability, Context, Edit, Finding, Fix, NoBuildContext, Rule, Source};
use proptest::prelude::*;

/// Texts with Dockerfile-ish pieces and multi-byte characters, LF only and ending in a
/// newline, so the canonical text is the text itself.
fn text() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "FROM a", "RUN b", "COPY x y", " ", "\\", "é", "ß", "#", "\"", "<<E", "\n",
    ]);
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat() + "\n")
}

/// Offsets anywhere, including off character boundaries and past the end.
fn raw_edit(len_hint: usize) -> impl Strategy<Value = Edit> {
    let replacement = prop::sample::select(vec!["", "x", "USER app\n", "é", "\\\n", "COPY"]);
    (0..len_hint + 3, 0..len_hint + 3, any::<bool>(), replacement).prop_map(|(a, b, insert, replacement)| {
        let range = if insert { a..a } else { a.min(b)..a.max(b) };
        Edit::new(range, replacement)
    })
}

/// Only edits that are valid in `text`: ordered, on character boundaries.
fn valid_in(text: &str, edit: &Edit) -> bool {
    let Range { start, end } = edit.range;
    start <= end && text.is_char_boundary(start) && text.is_char_boundary(end)
}

/// The model: splice the edits in, last first. Needs a compatible set.
fn model_apply(text: &str, edits: &[&Edit]) -> String {
    let mut sorted: Vec<&Edit> = edits.to_vec();
    sorted.sort_by_key(|edit| (edit.range.start, edit.range.end));
    let mut out = text.to_string();
    for edit in sorted.into_iter().rev() {
        out.replace_range(edit.range.clone(), &edit.replacement);
    }
    out
}

fn single(edit: Edit) -> Fix {
    Fix::new(Applicability::Safe, vec![edit])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn compatible_sets_apply_as_specified(
        (text, edits) in text().prop_flat_map(|text| {
            let len = text.len();
            (Just(text), prop::collection::vec(raw_edit(len), 0..12))
        })
    ) {
        let edits: Vec<Edit> = edits.into_iter().filter(|edit| valid_in(&text, edit)).collect();
        let fixes: Vec<Fix> = edits.into_iter().map(single).collect();
        let taken = compatible_fixes(&fixes);
        let chosen: Vec<&Edit> = taken.iter().map(|&i| &fixes[i].edits[0]).collect();
        let owned: Vec<Edit> = chosen.iter().map(|edit| (*edit).clone()).collect();
        prop_assert_eq!(Source::new(&text).apply(&owned), model_apply(&text, &chosen));
    }

    #[test]
    fn compatible_fixes_take_no_overlap_and_postpone_only_conflicts(
        (text, fixes) in text().prop_flat_map(|text| {
            let len = text.len();
            let fix = prop::collection::vec(raw_edit(len), 1..4)
                .prop_map(|edits| Fix::new(Applicability::Safe, edits));
            (Just(text), prop::collection::vec(fix, 0..10))
        })
    ) {
        let _ = text;
        let taken = compatible_fixes(&fixes);
        for (n, &a) in taken.iter().enumerate() {
            for &b in &taken[n + 1..] {
                prop_assert!(!fixes[a].overlaps(&fixes[b]), "took overlapping fixes {} and {}", a, b);
            }
        }
        for (index, fix) in fixes.iter().enumerate().filter(|(index, _)| !taken.contains(index)) {
            let blocker = taken.iter().any(|&t| t < index && fixes[t].overlaps(fix));
            prop_assert!(blocker, "fix {} was postponed without a conflict", index);
        }
    }

    #[test]
    fn the_engine_applies_exactly_what_it_reports_or_nothing(
        (text, fixes) in text().prop_flat_map(|text| {
            let len = text.len();
            let fix = prop::collection::vec(raw_edit(len), 1..4)
                .prop_map(|edits| Fix::new(Applicability::Safe, edits));
            (Just(text), prop::collection::vec(fix, 0..8))
        })
    ) {
        let rule = Proposes { text: text.clone(), fixes: fixes.clone() };
        let Ok(outcome) = engine::run(&text, &[&rule], &NoBuildContext, &Options::default()) else {
            // Refused whole (it would parse worse): the caller keeps the file as it was.
            return Ok(());
        };
        let applied: Vec<usize> = outcome
            .reports
            .iter()
            .filter(|report| report.fixed)
            .map(|report| report.message.parse().expect("the message is the fix's index"))
            .collect();
        for &index in &applied {
            prop_assert!(fixes[index].malformed_for(&text).is_none(), "applied malformed fix {}", index);
        }
        let edits: Vec<&Edit> = applied.iter().flat_map(|&index| fixes[index].edits.iter()).collect();
        for (n, a) in edits.iter().enumerate() {
            for b in &edits[n + 1..] {
                prop_assert!(!a.overlaps(b), "applied overlapping edits {:?} and {:?}", a, b);
            }
        }
        prop_assert_eq!(outcome.output, model_apply(&text, &edits));
    }
}

/// A transform that proposes the given fixes on the original text and nothing afterwards;
/// each finding's message is its fix's index.
struct Proposes {
    text: String,
    fixes: Vec<Fix>,
}

impl Rule for Proposes {
    fn id(&self) -> &'static str {
        "proposes"
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
        if context.text != self.text {
            return Vec::new();
        }
        self.fixes
            .iter()
            .enumerate()
            .map(|(index, fix)| Finding::new("proposes", 1, index.to_string()).with_fix(fix.clone()))
            .collect()
    }
}
