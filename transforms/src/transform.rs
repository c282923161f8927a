//! What a transform is to the engine: the [`Rule`] trait, the [`Context`] it looks at, and
//! the [`BuildContext`] through which the shell answers questions about files. Transforms
//! (in [`crate::rules`]) and the engine both depend on this; it depends on neither.

use crate::edit::Finding;
use crate::options::Options;
use crate::suppress::Suppression;
use crate::syntax::Dockerfile;

/// What a file in the build context turned out to be. The core does no I/O: the shell looks
/// at the build context and answers through [`BuildContext`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// Exists, and nothing it matches is an archive ADD would unpack.
    Plain,
    /// At least one matched file is a tar archive (plain or compressed) by its content.
    Archive,
    /// Nothing in the build context matches.
    Missing,
    /// Could not be checked (no build context, unreadable, outside the context).
    Unknown,
}

/// The largest file [`BuildContext::read_text`] returns: entrypoint scripts are small, and a
/// bigger file is not one dockfix should read whole.
pub const MAX_TEXT_FILE_BYTES: u64 = 64 * 1024;

/// The build context as the shell sees it.
pub trait BuildContext: Sync {
    /// Classifies an ADD/COPY source path (relative to the context root, may be a glob).
    fn classify(&self, source: &str) -> SourceKind;

    /// The text of a small file of the context (a path relative to the context root, no
    /// glob): `None` when there is no context, or the file is missing, unreadable, a
    /// directory, outside the context, larger than [`MAX_TEXT_FILE_BYTES`], or not UTF-8
    /// text (binary).
    fn read_text(&self, _path: &str) -> Option<String> {
        None
    }
}

/// A build context that knows nothing (stdin, tests without files).
pub struct NoBuildContext;

impl BuildContext for NoBuildContext {
    fn classify(&self, _source: &str) -> SourceKind {
        SourceKind::Unknown
    }
}

/// Everything a transform may look at.
pub struct Context<'a> {
    pub file: &'a Dockerfile,
    pub text: &'a str,
    pub build_context: &'a dyn BuildContext,
    pub options: &'a Options,
    /// The file's suppression comments. The engine drops suppressed findings itself; a
    /// transform whose fix spans instructions (one RUN mount for several secrets) reads them
    /// to leave suppressed parts out.
    pub suppressed: &'a [Suppression],
}

impl Context<'_> {
    /// The keyword written the way the file writes its keywords (`COPY` or `copy`): follows
    /// the casing of the first instruction.
    pub fn keyword(&self, keyword: &str) -> String {
        let lower = self
            .file
            .instructions
            .first()
            .map(|first| &self.text[first.keyword_span.clone()])
            .is_some_and(|written| written.chars().all(|c| !c.is_ascii_uppercase()));
        if lower {
            keyword.to_ascii_lowercase()
        } else {
            keyword.to_ascii_uppercase()
        }
    }
}

/// A transform: looks at a parsed Dockerfile, reports findings with optional fixes.
pub trait Rule: Sync {
    /// Stable id users type (`add-to-copy`).
    fn id(&self) -> &'static str;
    /// One line for `dockfix rules`.
    fn summary(&self) -> &'static str;
    /// The transform's documentation: the `//!` comment of its file.
    fn documentation(&self) -> String;
    /// Codes of other tools (hadolint) that mean this transform, accepted in `--select`,
    /// `--ignore` and `# hadolint ignore=`.
    fn aliases(&self) -> &'static [&'static str] {
        &[]
    }
    /// Where the practice is written down (CIS Docker Benchmark, hadolint rule, ...).
    fn reference(&self) -> &'static str;
    fn check(&self, context: &Context) -> Vec<Finding>;

    /// Whether `id` names this transform: its id or an alias, in any case.
    fn answers_to(&self, id: &str) -> bool {
        self.id().eq_ignore_ascii_case(id)
            || self.aliases().iter().any(|alias| alias.eq_ignore_ascii_case(id))
    }
}

/// Extracts the leading `//!` comment of a Rust source file.
pub fn module_docs(source: &str) -> String {
    let mut out = String::new();
    for line in source.lines() {
        let Some(doc) = line.strip_prefix("//!") else {
            break;
        };
        out.push_str(doc.strip_prefix(' ').unwrap_or(doc));
        out.push('\n');
    }
    out
}
