//! The output formats of `dockfix fix --format`, one file each, behind one trait.
//!
//! A format is an [`Emitter`]: it is handed each file's [`FileResult`] in input order and
//! writes to stdout what belongs to that file (the diff, GitHub annotations), or keeps what its
//! document needs and writes the document when the run is over (JSON, markdown, SARIF).
//! [`Format::emitter`] is the one place that maps a `--format` value to its emitter.
//!
//! Adding a format: a file here implementing [`Emitter`] (or, for a document about every
//! file, a function from all results to its text, behind [`Document`]), a variant of [`Format`] (its doc
//! comment is the `--help` text) and its line in [`Format::emitter`].
//!
//! Every format reads results only, and a [`FileResult`] is redacted when it is made
//! ([`crate::redact`]): no format can print a secret value, and none needs to redact.

pub mod annotation;
pub mod diff;
pub mod github;
pub mod gitlab;
pub mod json;
pub mod markdown;
pub mod rdjson;
pub mod sarif;
pub mod summary;

use std::io::{self, Write};

use clap::ValueEnum;

use crate::file_result::FileResult;

/// What a format does with the results of a run.
pub trait Emitter {
    /// One file's result, in input order: write what belongs to it to `stdout` now, or keep
    /// what the document written at the end needs.
    fn file(&mut self, result: FileResult, stdout: &mut dyn Write) -> io::Result<()>;

    /// After the last file: write the document, for a format that is one.
    fn finish(&mut self, stdout: &mut dyn Write) -> io::Result<()>;

    /// Whether stdout gets text file after file, which a progress line on the same terminal
    /// would tangle with.
    fn streams(&self) -> bool;

    /// Whether the human summary goes to stderr beside this format.
    fn prints_summary(&self) -> bool {
        true
    }
}

/// A format that is one document rendered from every file's result when the run is over
/// (markdown, SARIF): keeps the results until then and prints nothing before.
pub struct Document {
    results: Vec<FileResult>,
    render: fn(&[FileResult]) -> String,
}

impl Document {
    /// The emitter whose document is `render` of all the run's results.
    pub fn new(render: fn(&[FileResult]) -> String) -> Self {
        Document { results: Vec::new(), render }
    }
}

impl Emitter for Document {
    fn file(&mut self, result: FileResult, _stdout: &mut dyn Write) -> io::Result<()> {
        self.results.push(result);
        Ok(())
    }

    fn finish(&mut self, stdout: &mut dyn Write) -> io::Result<()> {
        stdout.write_all((self.render)(&self.results).as_bytes())
    }

    fn streams(&self) -> bool {
        false
    }
}

/// `--format`: what dockfix prints on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Unified diff (git-style a/ b/ paths, `git apply` accepts it).
    Diff,
    /// One versioned JSON document (schema: schema/dockfix-output.schema.json).
    Json,
    /// A pull-request body: a title line, then per file the changes, risks, build command
    /// changes and what was declined.
    Markdown,
    /// SARIF 2.1.0 for code scanning, with each applied fix as replacements.
    Sarif,
    /// GitHub Actions annotations (`::warning file=...,line=...::`), one per finding.
    Github,
    /// Reviewdog Diagnostic Format, one diagnostic per line (`reviewdog -f=rdjsonl`), each
    /// applied fix as a suggestion.
    Rdjsonl,
    /// Reviewdog Diagnostic Format, one document (`reviewdog -f=rdjson`).
    Rdjson,
    /// GitLab Code Quality report (`artifacts: reports: codequality:`).
    Gitlab,
}

/// What becomes of the fixed files, which decides what the diff format prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fixed {
    /// Files are previewed: their diffs are the output.
    Previewed,
    /// Files are rewritten in place (`--write`): there is no diff to print.
    Written,
    /// Standard input: the fixed file itself is the output.
    Piped,
}

impl Format {
    /// The emitter of this format.
    pub fn emitter(self, fixed: Fixed) -> Box<dyn Emitter> {
        match self {
            Format::Diff => Box::new(diff::Diff::new(fixed)),
            Format::Json => Box::new(json::Json::default()),
            Format::Markdown => Box::new(Document::new(markdown::pull_request)),
            Format::Sarif => Box::new(Document::new(sarif::render)),
            Format::Github => Box::new(github::Github),
            Format::Rdjsonl => Box::new(rdjson::Rdjson::lines()),
            Format::Rdjson => Box::new(rdjson::Rdjson::document()),
            Format::Gitlab => Box::new(gitlab::Gitlab::default()),
        }
    }

    /// The value `--format` takes for this format.
    pub fn name(self) -> String {
        self.to_possible_value().map(|value| value.get_name().to_string()).unwrap_or_default()
    }
}

/// Everything `format` prints for `results`, as one text (for tests and checks over every
/// format).
pub fn render(format: Format, fixed: Fixed, results: Vec<FileResult>) -> String {
    let mut out = Vec::new();
    let mut emitter = format.emitter(fixed);
    // Writing to a Vec cannot fail.
    for result in results {
        let _ = emitter.file(result, &mut out);
    }
    let _ = emitter.finish(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}
