//! Runs every transform (offline, no build context) over any UTF-8 text. Properties: never
//! panics; a result parses no worse than its input; fixing the result again changes nothing
//! (idempotence); and when no fix was applied, the output is the input byte for byte.
#![no_main]

use dockfix_transforms::engine::{self, Options};
use dockfix_transforms::{rules, Dockerfile, NoBuildContext, Source};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the options, so both --safe-only and the default are fuzzed.
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(input) = std::str::from_utf8(rest) else {
        return;
    };
    let options = Options { safe_only: selector & 1 == 1, ..Options::default() };
    let Ok(outcome) = engine::run(input, rules::all(), &NoBuildContext, &options) else {
        // Declining a file (it would parse worse, or does not settle) is allowed.
        return;
    };
    if !outcome.reports.iter().any(|report| report.fixed) {
        assert_eq!(outcome.output, input, "nothing was fixed, yet the bytes changed");
    }
    let before = Dockerfile::parse(Source::new(input).text());
    let after = Dockerfile::parse(Source::new(&outcome.output).text());
    assert!(after.damage <= before.damage, "parses worse: {} -> {}", before.damage, after.damage);
    assert!(
        after.lexical_error.is_none() || before.lexical_error.is_some(),
        "the fix introduced a lexical error: {:?}",
        after.lexical_error
    );
    let again = engine::run(&outcome.output, rules::all(), &NoBuildContext, &options)
        .unwrap_or_else(|error| panic!("fixing the fixed output failed: {error}"));
    assert_eq!(again.output, outcome.output, "not idempotent");
});
