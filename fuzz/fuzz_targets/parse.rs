//! Parses any UTF-8 text: the model must never panic, and every span it hands to the
//! transforms must be a valid slice of the text, in order, so no transform can panic slicing it.
#![no_main]

use std::ops::Range;

use dockfix_transforms::{Dockerfile, Source};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let source = Source::new(input);
    let text = source.text();
    let file = Dockerfile::parse(text);
    let valid = |what: &str, span: &Range<usize>| {
        assert!(
            span.start <= span.end && text.get(span.clone()).is_some(),
            "{what} span {span:?} is not a slice of the {}-byte text",
            text.len()
        );
    };
    let mut previous_end = 0;
    for instruction in &file.instructions {
        valid("instruction", &instruction.span);
        valid("keyword", &instruction.keyword_span);
        valid("line", &instruction.line_span);
        assert!(instruction.line_span.start >= previous_end, "instructions overlap or go backwards");
        previous_end = instruction.line_span.end;
        assert!(instruction.start_line <= instruction.end_line);
        for flag in &instruction.flags {
            valid("flag", &flag.span);
        }
        for word in &instruction.words {
            valid("word", &word.span);
        }
        if let Some(stage) = instruction.stage {
            assert!(stage < file.stages.len(), "stage index {stage} out of range");
        }
    }
    for stage in &file.stages {
        assert!(stage.from < file.instructions.len());
        assert!(stage.instructions.end <= file.instructions.len());
        assert!(stage.instructions.contains(&stage.from));
    }
    for comment in &file.comments {
        valid("comment", &comment.span);
    }
    for directive in &file.directives {
        valid("directive", &directive.line_span);
    }
    // The CLI's cheap "is this a Dockerfile at all" check must agree with the model.
    assert_eq!(
        Dockerfile::has_instructions(text),
        !file.instructions.is_empty(),
        "has_instructions disagrees with the parse"
    );
    // The damage count is what the engine compares; a parse must be deterministic.
    assert_eq!(Dockerfile::parse(text).damage, file.damage, "two parses of one text disagree");
});
