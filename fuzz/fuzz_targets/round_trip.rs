//! Byte-exactness: normalizing a text and applying no edit gives back the original bytes, the
//! engine with no transform returns the input unchanged, and an edit applied through the
//! normalization touches only its own bytes.
#![no_main]

use dockfix_transforms::engine::{self, Options};
use dockfix_transforms::{Edit, NoBuildContext, Source};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let source = Source::new(input);
    assert_eq!(source.apply(&[]), input, "no edit must give the original bytes");
    let text = source.text();
    assert!(text.is_empty() || text.ends_with('\n'), "the canonical text ends with a newline");
    if source.escape() == '\\' {
        let canonical: Vec<&str> = text.split_terminator('\n').collect();
        assert_eq!(canonical, docker_lines(input), "the canonical lines are not Docker's");
    }

    let outcome = engine::run(input, &[], &NoBuildContext, &Options::default())
        .unwrap_or_else(|error| panic!("no transform, yet an engine error: {error}"));
    assert_eq!(outcome.output, input, "no transform must give the input byte for byte");
    assert!(outcome.reports.is_empty());

    // Insert a marker at the start of each line, once: the original must be recoverable by
    // deleting the markers again, whatever the line endings, BOM or escape character.
    let marker = "#~\n";
    let edits: Vec<Edit> = line_starts(text).map(|at| Edit::insert(at, marker)).collect();
    let edited = source.apply(&edits);
    let written_marker = if edited.contains("#~\r\n") { "#~\r\n" } else { "#~\n" };
    let restored = edited.replace(written_marker, "");
    if !input.contains("#~") {
        assert_eq!(restored, input, "an insert changed bytes outside itself");
    }
});

/// The lines Docker's parser reads (Go's `bufio.ScanLines` after the BOM): split at `\n`,
/// one `\r` dropped from the end of each line, the last line's too.
fn docker_lines(input: &str) -> Vec<&str> {
    let body = input.strip_prefix('\u{feff}').unwrap_or(input);
    body.split_terminator('\n').map(|line| line.strip_suffix('\r').unwrap_or(line)).collect()
}

/// Offsets where the canonical text's lines start (not the end of the text).
fn line_starts(text: &str) -> impl Iterator<Item = usize> + '_ {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(at, _)| at + 1))
        .filter(move |at| *at < text.len())
}
