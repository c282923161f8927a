//! The Dockerfile model: parser directives, instructions, stages and comments, with byte spans
//! into the canonical text.
//!
//! Two parsers cooperate. Instruction boundaries, keywords, flags and heredocs come from a
//! lexical pass that follows Docker's own rules (one instruction per logical line; comment and
//! blank lines inside a continuation are skipped; heredoc bodies belong to their instruction),
//! so the model agrees with Docker even where the grammar does not. The tree-sitter parse then
//! says which instructions the grammar understood: an instruction that overlaps an ERROR or
//! MISSING node, or that the grammar splits differently, is *opaque*. Transforms may read opaque
//! instructions but the engine never lets them edit inside one.
//!
//! The grammar misreads some lines Docker reads (a legacy `ENV NAME value with spaces`, a `#`
//! inside an argument, a comment line inside a continuation, a flag without a value), and its
//! error recovery can swallow every instruction after one. When the whole-file parse shows any
//! of that, each opaque instruction is read again on its own, as written and then in a view
//! that replaces what Docker reads as plain characters (see [`recover::grammar_view`]); the file's
//! damage is then what the grammar still cannot read, instruction by instruction. A file the
//! grammar reads cleanly costs one parse, as before.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use serde::Serialize;

mod grammar;
mod lexer;
mod recover;

use grammar::{grammar_tree, mark_opaque};
use lexer::{is_blank, is_comment, physical_lines, Lexer};
use recover::recover_misread;

/// One `--name[=value]` flag of an instruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flag {
    pub name: String,
    pub value: Option<String>,
    /// The flag's bytes, `--` to the end of its value.
    pub span: Range<usize>,
}

/// A whitespace-separated word of the arguments; quotes are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Word {
    pub text: String,
    pub span: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Heredoc {
    pub name: String,
    /// The body lines, without the terminator line.
    pub body: String,
}

/// A comment line (not a parser directive), outside any instruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comment {
    pub line: usize,
    /// The whole line without its newline.
    pub span: Range<usize>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Directive {
    pub line: usize,
    pub name: String,
    pub value: String,
    /// The whole line including its newline.
    pub line_span: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Instruction {
    /// Upper-cased keyword (`RUN`).
    pub keyword: String,
    /// The keyword as written, for matching the file's casing.
    pub keyword_span: Range<usize>,
    /// From the keyword to the end of the instruction's last line (heredoc terminator
    /// included), without the final newline.
    pub span: Range<usize>,
    /// Whole physical lines: from the start of the first line to after the last newline.
    pub line_span: Range<usize>,
    pub start_line: usize,
    pub end_line: usize,
    pub flags: Vec<Flag>,
    /// The arguments after the flags, continuations joined (Docker's "logical line").
    pub args: String,
    /// Arguments split into words, with spans in the text.
    pub words: Vec<Word>,
    /// The arguments as a JSON string array (exec form), when they are one.
    pub exec_form: Option<Vec<String>>,
    pub heredocs: Vec<Heredoc>,
    /// Index into [`Dockerfile::stages`]; `None` before the first `FROM`.
    pub stage: Option<usize>,
    /// The grammar did not understand this instruction: read it, never edit inside it.
    pub opaque: bool,
}

impl Instruction {
    pub fn is(&self, keyword: &str) -> bool {
        self.keyword.eq_ignore_ascii_case(keyword)
    }

    pub fn flag(&self, name: &str) -> Option<&Flag> {
        self.flags.iter().find(|flag| flag.name.eq_ignore_ascii_case(name))
    }

    /// The command text of a `RUN` (or any instruction): its arguments, then its heredoc
    /// bodies, each on lines of its own.
    pub fn command_text(&self) -> String {
        let mut text = self.args.clone();
        for heredoc in &self.heredocs {
            text.push('\n');
            text.push_str(&heredoc.body);
        }
        text
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stage {
    pub index: usize,
    /// Index of the stage's `FROM` in [`Dockerfile::instructions`].
    pub from: usize,
    /// Instructions of the stage (its `FROM` included), as indices.
    pub instructions: Range<usize>,
    /// The base image as written (`python:3.12-slim`, `${BASE}`, an earlier stage's name).
    pub base: String,
    /// `AS name`, lower-cased as Docker treats stage names.
    pub name: Option<String>,
    /// The base names an earlier stage (by name or index).
    pub base_stage: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dockerfile {
    pub directives: Vec<Directive>,
    pub instructions: Vec<Instruction>,
    pub stages: Vec<Stage>,
    pub comments: Vec<Comment>,
    /// ERROR and MISSING nodes in the grammar's tree, plus lexical errors (an unterminated
    /// heredoc). The engine refuses results with more damage than the input.
    pub damage: usize,
    /// Why the lexical pass thinks Docker would reject the file, if it does.
    pub lexical_error: Option<String>,
    /// Byte offset at which each line starts.
    #[serde(skip)]
    line_starts: Vec<usize>,
    /// Every instruction is known to read alone (see [`recover::every_instruction_reads_alone`]):
    /// the grammar read the whole text cleanly, or each instruction on its own. A re-parse then
    /// reads alone only the instructions that changed.
    #[serde(skip)]
    reads_alone: bool,
}

/// Texts longer than this are read by the grammar in chunks of instructions, not whole.
const READ_IN_CHUNKS_ABOVE: usize = 1 << 20;

/// What [`Dockerfile::reparse`] reads of an earlier parse (see [`Dockerfile::into_reparse_base`]).
#[derive(Debug, Clone)]
pub struct ReparseBase {
    pub damage: usize,
    pub lexical_error: Option<String>,
    directives: Vec<Directive>,
    reads_alone: bool,
    /// Each instruction's line span and span, when every instruction read alone.
    pieces: Vec<(Range<usize>, Range<usize>)>,
}

impl Dockerfile {
    pub fn parse(text: &str) -> Dockerfile {
        let file = Dockerfile::lexical(text);
        if file.instructions.iter().any(|instruction| recover::whole_file_parse_misreads(text, instruction)) {
            return file.read_alone_or_whole(text, &HashSet::new());
        }
        // A large file's whole tree would take more memory than its model (about ten bytes a
        // byte of text): it is read in chunks of instructions, the same model when each
        // chunk reads cleanly.
        if text.len() > READ_IN_CHUNKS_ABOVE && recover::instructions_read_in_chunks(text, &file.instructions)
        {
            return file.known_to_read_alone(text);
        }
        file.with_grammar(text)
    }

    /// Parses `text`, an edit of `previous`'s text `previous_text`: the same model as
    /// [`Dockerfile::parse`], sooner. When every instruction of `previous` read alone (and the
    /// directives, which the lexer's reading depends on, are the same), only the instructions
    /// the edits changed are read by the grammar, each alone; the grammar's whole-file parse
    /// runs only when one of them does not read alone.
    pub fn reparse(previous: &ReparseBase, previous_text: &str, text: &str) -> Dockerfile {
        let file = Dockerfile::lexical(text);
        if previous.directives != file.directives {
            return Dockerfile::parse(text);
        }
        if !previous.reads_alone {
            // The grammar misread the previous text, and most likely misreads this one the
            // same way.
            return file.read_alone_or_whole(text, &HashSet::new());
        }
        let known: HashSet<recover::Piece> =
            previous.pieces.iter().map(|(lines, span)| recover::piece(previous_text, lines, span)).collect();
        file.read_alone_or_whole(text, &known)
    }

    /// The model of `text` when every instruction reads alone (those in `known`, instructions
    /// of an earlier text with the same directives, are not read again): then it is known
    /// without the whole-file parse (the same model: see
    /// [`recover::every_instruction_reads_alone`]). Otherwise the whole-file parse and its
    /// recovery decide.
    fn read_alone_or_whole(self, text: &str, known: &HashSet<recover::Piece>) -> Dockerfile {
        if recover::every_instruction_reads_alone(text, &self.instructions, known) {
            return self.known_to_read_alone(text);
        }
        self.with_grammar(text)
    }

    /// The lexical model of `text` when every instruction is known to read alone: no damage
    /// beyond the lexer's, nothing opaque, which is what the whole-file parse and its recovery
    /// would find.
    fn known_to_read_alone(mut self, text: &str) -> Dockerfile {
        self.reads_alone = true;
        // Test builds check the shortcut against the whole-file parse, file after file.
        debug_assert!(
            self.same_model(&self.clone().with_grammar(text)),
            "reading every instruction alone differs from the whole-file parse:\n{text}"
        );
        self
    }

    /// The lexical pass's model of `text`: instructions, stages and comments, not yet checked
    /// against the grammar.
    fn lexical(text: &str) -> Dockerfile {
        let lines = physical_lines(text);
        let mut lexer = Lexer { text, lines: &lines, next: 0 };
        let (directives, instructions, comments, lexical_error) = lexer.run();
        let mut file = Dockerfile {
            directives,
            instructions,
            stages: Vec::new(),
            comments,
            damage: usize::from(lexical_error.is_some()),
            lexical_error,
            line_starts: lines.iter().map(|line| line.start).collect(),
            reads_alone: false,
        };
        file.assign_stages();
        file
    }

    /// The lexical model checked against the grammar's tree of `text`, with what the tree
    /// misreads read again alone.
    fn with_grammar(self, text: &str) -> Dockerfile {
        let mut file = self;
        let tree = grammar_tree(text);
        let whole_file_damage = mark_opaque(text, tree.as_ref(), &mut file.instructions);
        let misread = whole_file_damage > 0 || file.instructions.iter().any(|i| i.opaque);
        if tree.is_some() && misread {
            // Only files the grammar misread pay for the recovery: a clean file's parse is
            // the one pass above.
            file.damage += recover_misread(text, &mut file.instructions);
        } else {
            file.damage += whole_file_damage;
            // A clean tree of the whole text is a sequence of instructions (and comments and
            // blank lines), each derived from its own lines from the grammar's start state: so
            // each reads alone. The tree itself is not kept.
            file.reads_alone = tree.is_some() && !misread;
        }
        file
    }

    /// Whether two parses agree on everything a transform can see.
    pub fn same_model(&self, other: &Dockerfile) -> bool {
        self.directives == other.directives
            && self.instructions == other.instructions
            && self.stages == other.stages
            && self.comments == other.comments
            && self.damage == other.damage
            && self.lexical_error == other.lexical_error
            && self.line_starts == other.line_starts
    }

    /// This parse as the base of a [`Dockerfile::reparse`] and nothing else: without its
    /// instructions' words, its stages and comments, which are most of a model's memory and
    /// which the reparse does not read. A caller done with the model drops the rest before the
    /// next one is built.
    pub fn into_reparse_base(self) -> ReparseBase {
        let pieces = match self.reads_alone {
            true => self.instructions.iter().map(|i| (i.line_span.clone(), i.span.clone())).collect(),
            false => Vec::new(),
        };
        ReparseBase {
            damage: self.damage,
            lexical_error: self.lexical_error,
            directives: self.directives,
            reads_alone: self.reads_alone,
            pieces,
        }
    }

    /// Whether `text` holds an instruction: what `parse(text).instructions.is_empty()` says,
    /// without building the model or running the grammar.
    pub fn has_instructions(text: &str) -> bool {
        text.split('\n').any(|line| !is_blank(line) && !is_comment(line))
    }

    pub fn final_stage(&self) -> Option<&Stage> {
        self.stages.last()
    }

    pub fn stage_instructions(&self, stage: &Stage) -> &[Instruction] {
        &self.instructions[stage.instructions.clone()]
    }

    /// Byte offset where 1-based `line` starts.
    pub fn line_start(&self, line: usize) -> Option<usize> {
        self.line_starts.get(line.checked_sub(1)?).copied()
    }

    /// Where a new instruction goes right above `instruction`: before the comment block that
    /// describes it, so the comments stay with what they describe.
    pub fn insertion_point_above(&self, instruction: &Instruction) -> usize {
        self.comments_above(instruction)
            .last()
            .and_then(|comment| self.line_start(comment.line))
            .unwrap_or(instruction.line_span.start)
    }

    /// The comment lines directly above an instruction (no blank line in between),
    /// nearest first.
    pub fn comments_above(&self, instruction: &Instruction) -> impl Iterator<Item = &Comment> {
        let start_line = instruction.start_line;
        let mut expected = start_line;
        self.comments.iter().rev().skip_while(move |c| c.line >= start_line).take_while(move |c| {
            let adjacent = c.line + 1 == expected;
            expected = c.line;
            adjacent
        })
    }

    fn assign_stages(&mut self) {
        let mut current: Option<usize> = None;
        // The first stage of each name: what a later `FROM name` refers to.
        let mut named: HashMap<String, usize> = HashMap::new();
        for idx in 0..self.instructions.len() {
            if self.instructions[idx].is("FROM") {
                let (base, name) = from_base_and_name(&self.instructions[idx]);
                let index = self.stages.len();
                let by_name = named.get(base.to_ascii_lowercase().as_str()).copied();
                let by_index = stage_number(&base).filter(|number| *number < index);
                let base_stage = by_name.into_iter().chain(by_index).min();
                if let Some(name) = &name {
                    named.entry(name.clone()).or_insert(index);
                }
                if let Some(prev) = current {
                    self.stages[prev].instructions.end = idx;
                }
                self.stages.push(Stage {
                    index,
                    from: idx,
                    instructions: idx..self.instructions.len(),
                    base,
                    name,
                    base_stage,
                });
                current = Some(index);
            }
            self.instructions[idx].stage = current;
        }
    }
}

/// A stage referred to by number (`FROM 0`), written as Docker prints it: digits, no leading zero.
fn stage_number(base: &str) -> Option<usize> {
    let canonical = !base.is_empty()
        && base.bytes().all(|b| b.is_ascii_digit())
        && (base == "0" || !base.starts_with('0'));
    canonical.then(|| base.parse().ok()).flatten()
}

fn from_base_and_name(from: &Instruction) -> (String, Option<String>) {
    let words: Vec<&str> = from.words.iter().map(|word| word.text.as_str()).collect();
    let base = words.first().map(|word| word.to_string()).unwrap_or_default();
    let name = match words.as_slice() {
        [_, kw, name, ..] if kw.eq_ignore_ascii_case("as") => Some(name.to_ascii_lowercase()),
        _ => None,
    };
    (base, name)
}

#[cfg(test)]
mod tests {
    use super::recover::grammar_view;
    use super::*;
    use crate::edit::Edit;

    fn keywords(file: &Dockerfile) -> Vec<(String, usize, usize)> {
        file.instructions.iter().map(|i| (i.keyword.clone(), i.start_line, i.end_line)).collect()
    }

    #[test]
    fn continuation_skips_comment_and_blank_lines() {
        let file = Dockerfile::parse("FROM a\nRUN a \\\n# note\n\n  && b\nCMD c\n");
        assert_eq!(keywords(&file), vec![("FROM".into(), 1, 1), ("RUN".into(), 2, 5), ("CMD".into(), 6, 6)]);
        let run = &file.instructions[1];
        assert_eq!(run.args, "a   && b");
    }

    #[test]
    fn keyword_may_follow_a_line_of_only_a_backslash() {
        let file = Dockerfile::parse("FROM a\nRUN x\n\t\\\n\tdo-thing gd \\\n\t--flag\n");
        assert_eq!(keywords(&file)[2], ("DO-THING".into(), 3, 5));
    }

    #[test]
    fn continuation_cut_off_by_the_end_of_the_file_ends_on_the_last_line() {
        let file = Dockerfile::parse("FROM a\nRUN a \\\n\n# c\n");
        assert_eq!(keywords(&file)[1], ("RUN".into(), 2, 4));
    }

    #[test]
    fn heredoc_body_belongs_to_its_instruction() {
        let file = Dockerfile::parse("FROM a\nRUN <<EOF\necho hi\nFROM x\nEOF\nCMD c\n");
        assert_eq!(keywords(&file), vec![("FROM".into(), 1, 1), ("RUN".into(), 2, 5), ("CMD".into(), 6, 6)]);
        assert_eq!(file.instructions[1].heredocs[0].body, "echo hi\nFROM x\n");
        assert_eq!(file.stages.len(), 1);
    }

    #[test]
    fn unterminated_heredoc_is_damage() {
        let file = Dockerfile::parse("FROM a\nRUN <<EOF\necho hi\n");
        assert!(file.lexical_error.is_some());
        assert!(file.damage > 0);
    }

    #[test]
    fn flags_and_words_have_spans() {
        let text = "FROM a\nCOPY --chown=1:1 --link src/ /dst\n";
        let file = Dockerfile::parse(text);
        let copy = &file.instructions[1];
        assert_eq!(copy.flags.len(), 2);
        assert_eq!(&text[copy.flags[0].span.clone()], "--chown=1:1");
        assert_eq!(copy.flags[1].value, None);
        assert_eq!(copy.words.iter().map(|w| &text[w.span.clone()]).collect::<Vec<_>>(), ["src/", "/dst"]);
    }

    #[test]
    fn stages_follow_from_and_names() {
        let file = Dockerfile::parse("ARG V=1\nFROM golang AS build\nRUN x\nFROM build\nCMD y\n");
        assert_eq!(file.instructions[0].stage, None);
        assert_eq!(file.stages.len(), 2);
        assert_eq!(file.stages[0].name.as_deref(), Some("build"));
        assert_eq!(file.stages[1].base_stage, Some(0));
        assert_eq!(file.stages[1].instructions, 3..5);
    }

    #[test]
    fn stages_refer_to_earlier_stages_by_first_name_or_number() {
        let file = Dockerfile::parse(
            "FROM a AS one\nFROM b AS One\nFROM one\nFROM 1\nFROM 01\nFROM 9\nFROM c AS self\nFROM self AS self\n",
        );
        let bases: Vec<Option<usize>> = file.stages.iter().map(|stage| stage.base_stage).collect();
        assert_eq!(bases, [None, None, Some(0), Some(1), None, None, None, Some(6)]);
    }

    #[test]
    fn exec_form_is_read_as_json() {
        let file = Dockerfile::parse("FROM a\nCMD [\"a\", \"b c\"]\nRUN [ -f x ]\n");
        assert_eq!(file.instructions[1].exec_form, Some(vec!["a".into(), "b c".into()]));
        assert_eq!(file.instructions[2].exec_form, None);
    }

    #[test]
    fn clean_file_has_no_opaque_instructions() {
        let file = Dockerfile::parse("FROM debian:12\nRUN apt-get update\nCOPY a /b\nCMD [\"x\"]\n");
        assert_eq!(file.damage, 0);
        assert!(file.instructions.iter().all(|i| !i.opaque));
    }

    #[test]
    fn has_instructions_agrees_with_the_parse() {
        for text in ["", "\n", "# c\n  \t\n", "# syntax=x\nFROM a\n", "\t# c\n\\\n", "\r\n", "x"] {
            let parsed = !Dockerfile::parse(text).instructions.is_empty();
            assert_eq!(Dockerfile::has_instructions(text), parsed, "{text:?}");
        }
    }

    /// The start lines of the opaque instructions of `text`, and its damage.
    fn misread(text: &str) -> (Vec<usize>, usize) {
        let file = Dockerfile::parse(text);
        let opaque = file.instructions.iter().filter(|i| i.opaque).map(|i| i.start_line).collect();
        (opaque, file.damage)
    }

    #[test]
    fn legacy_env_with_spaces_is_read_and_does_not_hide_what_follows() {
        assert_eq!(misread("FROM a\nENV NAME value with spaces\nADD a /b\nCMD c\n"), (vec![], 0));
        assert_eq!(misread("FROM a\nENV NAME value \\\n  more \"x y\"\nADD a /b\n"), (vec![], 0));
        // Without a value Docker rejects it: still opaque, still damage.
        let (opaque, damage) = misread("FROM a\nENV PATH\nADD a /b\n");
        assert_eq!(opaque, [2]);
        assert!(damage > 0);
    }

    #[test]
    fn reparse_is_the_parse_from_scratch() {
        let edit = |range: std::ops::Range<usize>, replacement: &str| Edit {
            range,
            replacement: replacement.into(),
        };
        // A file the grammar reads as a whole, and one it misreads (the legacy ENV) but reads
        // instruction by instruction.
        for before in [
            "FROM a\nENV NAME=value\nADD a /b\nCMD c\n",
            "FROM a\nENV NAME value with spaces\nADD a /b\nCMD c\n",
        ] {
            let previous = Dockerfile::parse(before);
            assert!(previous.reads_alone, "every instruction reads alone:\n{before}");
            let at = before.find("CMD").unwrap();
            let add = before.find("ADD").unwrap();
            let cases = [
                // Every instruction still reads alone: no whole-file parse, the same model.
                (vec![edit(at..at, "USER app\n")], 0),
                (vec![edit(add..add + 3, "COPY"), edit(at..at, "USER app\n")], 0),
                // An instruction Docker rejects: the whole-file parse and its recovery decide.
                (vec![edit(at..at, "FOO bar\n")], 1),
                // A different escape directive: parsed from scratch.
                (vec![edit(0..0, "# escape=`\n")], 0),
            ];
            for (edits, opaque) in cases {
                let text = crate::source::apply_in_order(before, &edits);
                let reparsed = Dockerfile::reparse(&previous.clone().into_reparse_base(), before, &text);
                let fresh = Dockerfile::parse(&text);
                assert!(reparsed.same_model(&fresh), "{text}");
                assert_eq!(reparsed.instructions.iter().filter(|i| i.opaque).count(), opaque, "{text}");
                assert_eq!(reparsed.reads_alone, opaque == 0, "{text}");
            }
        }
        // A file with an instruction Docker rejects: not every instruction reads alone, and
        // its re-parse is the parse from scratch too.
        let before = "FROM a\nFOO bar\nCMD c\n";
        let previous = Dockerfile::parse(before);
        assert!(!previous.reads_alone);
        let text = format!("{before}USER app\n");
        let base = previous.into_reparse_base();
        assert!(Dockerfile::reparse(&base, before, &text).same_model(&Dockerfile::parse(&text)));
    }

    #[test]
    fn parse_reading_instructions_alone_first_is_the_whole_file_parse() {
        let texts = [
            // Guessed misread, and every instruction reads alone.
            "FROM a\nENV NAME value with spaces\nADD a /b\nCMD c\n",
            "FROM a\nRUN [ -f x ] && y\nCMD c\n",
            "FROM a\nLABEL maintainer \"A B <a@b.c>\"\nCOPY --link x /y\n",
            "FROM a\nRUN --mount=type=bind,target=.,rw make\n",
            "FROM a\nRUN set -e; \\\n  [ -s \"$f\" ] && z\n",
            // Guessed misread, but one instruction Docker rejects: the whole-file parse decides.
            "FROM a\nLABEL key value with spaces\nFOO bar\nCMD c\n",
            "FROM a\nENV A b c\nHEALTHCHECK\n",
        ];
        for text in texts {
            let lexical = Dockerfile::lexical(text);
            assert!(
                lexical.instructions.iter().any(|i| recover::whole_file_parse_misreads(text, i)),
                "{text}"
            );
            let whole = Dockerfile::lexical(text).with_grammar(text);
            assert!(Dockerfile::parse(text).same_model(&whole), "{text}");
        }
        let rejected = Dockerfile::parse(texts[5]);
        assert_eq!(rejected.instructions.iter().filter(|i| i.opaque).count(), 1);
        assert!(rejected.damage > 0);
    }

    #[test]
    fn a_large_file_read_in_chunks_is_the_whole_file_parse() {
        let block =
            "# a comment\nRUN apt-get update && \\\n    apt-get install -y curl\n\nCOPY a /b\nENV A=b\n";
        let mut text = String::from("FROM debian:12\n");
        while text.len() <= READ_IN_CHUNKS_ABOVE {
            text.push_str(block);
        }
        text.push_str("CMD [\"x\"]\n");
        let chunked = Dockerfile::parse(&text);
        assert!(chunked.reads_alone);
        assert!(chunked.same_model(&Dockerfile::lexical(&text).with_grammar(&text)));
        // An instruction Docker rejects: its chunk does not read, and the whole-file parse decides.
        let rejected = format!("{text}FOO bar\n");
        let parsed = Dockerfile::parse(&rejected);
        assert!(!parsed.reads_alone);
        assert_eq!(parsed.instructions.iter().filter(|i| i.opaque).count(), 1);
        assert!(parsed.same_model(&Dockerfile::lexical(&rejected).with_grammar(&rejected)));
    }

    #[test]
    fn legacy_label_is_read() {
        assert_eq!(misread("FROM a\nLABEL maintainer \"J F <j@example.com>\"\nRUN x\n"), (vec![], 0));
        assert_eq!(misread("FROM a\nLABEL maintainer   docker <d@example.com>\nRUN x\n"), (vec![], 0));
        assert_eq!(misread("FROM a\nLABEL maintainer = \"M <m@example.com>\"\nRUN x\n"), (vec![], 0));
    }

    #[test]
    fn hash_inside_an_argument_is_not_a_comment() {
        assert_eq!(misread("FROM a\nCOPY b#x /b2\nRUN chmod 1 /b2\n"), (vec![], 0));
        assert_eq!(misread("FROM a\nRUN echo a#b \\\n  c#d\nCMD [\"#x\"]\n"), (vec![], 0));
        // A `#` that starts a line is a comment, inside a continuation too.
        let file = Dockerfile::parse("FROM a\n# note\nCOPY b /c\n");
        assert_eq!(file.comments.len(), 1);
        assert_eq!(file.damage, 0);
    }

    #[test]
    fn comment_and_blank_lines_inside_a_continuation_are_read() {
        let text = "FROM a\nENV A=1 \\\n# why B\n    B=2 \\\n\n    C=3\nEXPOSE 1\nCOPY a /b\n";
        assert_eq!(misread(text), (vec![], 0));
        assert_eq!(misread("FROM a\nRUN a \\\n\n\n  && b \\\n  \t\n  && c\nCMD d\n"), (vec![], 0));
    }

    #[test]
    fn flags_docker_reads_are_read() {
        assert_eq!(misread("FROM a\nCOPY --link --from=b / /usr/bin/\nADD --link x /y\n"), (vec![], 0));
        assert_eq!(misread("FROM a\nRUN --mount=type=bind,target=.,rw make\n"), (vec![], 0));
        assert_eq!(misread("FROM a\nRUN --mount=target=.,rw <<EOT\n  set -e\nEOT\nCMD x\n"), (vec![], 0));
    }

    #[test]
    fn windows_paths_and_shell_form_brackets_are_read() {
        assert_eq!(misread("FROM a\nENV LIBPATH C:\\libressl\nENV B=C:\\tools\\bin\nRUN x\n"), (vec![], 0));
        assert_eq!(misread("FROM a\nWORKDIR \"C:\\\\Program Files\\\\x\"\nRUN x\n"), (vec![], 0));
        assert_eq!(misread("FROM a\nRUN [ -e /etc/x ] && sed -i x /etc/x || true\nCMD y\n"), (vec![], 0));
        assert_eq!(
            misread("FROM a\nRUN [Net.SPM]::Protocol = 'Tls12' ; \\\n    iwr x\nCMD y\n"),
            (vec![], 0)
        );
        assert_eq!(misread("FROM a\nRUN set -e; \\\n\t\t[ -s \"$f\" ]; \\\n\tdone\nCMD y\n"), (vec![], 0));
        // A JSON array is still read as one.
        assert_eq!(misread("FROM a\nCMD [\"a\", \"b\"]\n"), (vec![], 0));
    }

    #[test]
    fn user_names_docker_takes_are_read() {
        assert_eq!(misread("FROM a\nUSER _dnscrypt-signer\nUSER \"${NB_UID}\"\nRUN x\n"), (vec![], 0));
    }

    #[test]
    fn trailing_blanks_do_not_make_an_instruction_opaque() {
        assert_eq!(misread("FROM a \nUSER twitter \t\nRUN x  \n"), (vec![], 0));
        assert_eq!(misread("FROM a\nCOPY . /app \nENTRYPOINT [\"python3\"] \n"), (vec![], 0));
    }

    #[test]
    fn what_docker_rejects_stays_opaque_and_counts_as_damage_alone() {
        // An unknown instruction: opaque, with damage; the instructions after it are read.
        let (opaque, damage) = misread("FROM a\nFOO bar\nRUN x\nADD a /b\n");
        assert_eq!(opaque, [2]);
        assert!(damage > 0);
        let (opaque, damage) = misread("FROM a\nHEALTHCHECK\nRUN x\n");
        assert_eq!(opaque, [2]);
        assert!(damage > 0);
        // A fix that breaks a second instruction adds damage.
        let (_, more) = misread("FROM a\nFOO bar\nRUN x\nADD a /b\nFOO baz\n");
        assert!(more > damage, "{more} > {damage}");
    }

    #[test]
    fn what_the_view_does_not_cover_stays_opaque_with_its_own_damage() {
        // Docker reads an ARG with two pairs; the grammar does not, and no view covers it.
        let (opaque, damage) = misread("FROM a\nARG VERSION=1 COMMIT=none\nRUN x\nCMD y\n");
        assert_eq!(opaque, [2]);
        assert!(damage > 0);
        let (_, with_more) = misread("FROM a\nARG VERSION=1 COMMIT=none\nRUN x\nRUN y\nCMD y\n");
        assert_eq!(with_more, damage, "an instruction the grammar reads adds no damage");
    }

    #[test]
    fn a_missing_token_the_tree_does_not_show_is_damage() {
        // The grammar's MISSING value of `--chown=` sits in a hidden rule no cursor visits.
        let (opaque, damage) = misread("FROM a\nADD --chown= a b\n");
        assert_eq!(opaque, [2]);
        assert_eq!(damage, 1);
    }

    #[test]
    fn the_grammar_view_keeps_the_length_and_the_ends_of_an_instruction() {
        for text in [
            "FROM a\nLABEL key  \"v w\"\n",
            "FROM a\nENV A=1 \\\n# c\n\n  B=2\n",
            "FROM a\nCOPY --link --chown=é:é b#\\x /b2\n",
            "FROM a\nRUN [ x ] \\\n  y\n",
        ] {
            let file = Dockerfile::parse(text);
            let instruction = &file.instructions[1];
            let view = grammar_view(text, instruction);
            let lines = &text[instruction.line_span.clone()];
            assert_eq!(view.len(), lines.len(), "{text:?}");
            let span = instruction.span.start - instruction.line_span.start;
            assert_eq!(view.as_bytes()[span], lines.as_bytes()[span], "{view:?}");
            assert_eq!(view.trim_end().len(), lines.trim_end().len(), "{view:?}");
        }
    }

    #[test]
    fn directives_are_read_only_at_the_top() {
        let file = Dockerfile::parse("# syntax=docker/dockerfile:1\n# escape=\\\nFROM a\n# syntax=late\n");
        assert_eq!(file.directives.len(), 2);
        assert_eq!(file.comments.len(), 1);
    }
}
