//! # add-to-copy
//!
//! ## What it does
//!
//! Rewrites `ADD` instructions that copy local files or directories into `COPY`. Only the
//! keyword changes, written in the casing the instruction already uses (`add` becomes `copy`);
//! flags both instructions accept (`--chown`, `--chmod`, `--link`, `--exclude`), the sources,
//! the destination, continuation lines, comments and heredocs are kept byte for byte.
//!
//! `ADD` is kept, with a finding that says why, when it does something `COPY` cannot:
//!
//! - a source is a URL (`http://`, `https://`, `ftp://`, any `scheme://`): ADD downloads it;
//! - a source is a git repository (`git@host:repo`, `*.git`, a `#ref` fragment,
//!   `github.com/...`): ADD clones it;
//! - a source is a local archive by its name (`.tar`, `.tar.gz`, `.tgz`, `.tar.bz2`, `.tbz2`,
//!   `.tar.xz`, `.txz`, `.tar.zst`, `.gz`, `.bz2`, `.xz`, `.zst`, ...) or, when the build
//!   context is available, by its content (a tar archive named `data.bin`): ADD unpacks it;
//! - the instruction has a flag COPY does not take (`--checksum`, `--keep-git-dir`,
//!   `--unpack`, or any flag dockfix does not know);
//! - a source uses a variable that cannot be resolved. `$NAME` and `${NAME}` are resolved
//!   from `ENV` and `ARG` defaults declared earlier in the stage (`ENV` also from the stages it
//!   builds on, `ARG` also from a global `ARG` re-declared in the stage); any other form
//!   (`${NAME:-default}`), an undeclared name (it may come from the base image) or a value
//!   that itself uses a variable keeps ADD.
//!
//! `ONBUILD ADD` is never rewritten: its sources come from the build context of the images
//! built *on* this one, which dockfix cannot see. When its sources look local the finding
//! carries the `ONBUILD COPY` edit as a suggestion (shown, never written); otherwise it says
//! why ADD is needed.
//!
//! ## Why
//!
//! `ADD` has two implicit behaviours besides copying: it fetches remote URLs and it unpacks
//! local tar archives (by content, whatever the file is called). Using it for plain files
//! hides those behaviours from the reader and invites surprises: a file that happens to be a
//! tarball gets unpacked, a path that becomes a URL gets downloaded without a checksum. `COPY`
//! only copies, so the instruction says what it does. This is hadolint's DL3020 and Docker's
//! best-practice advice ("prefer COPY").
//!
//! ## Example
//!
//! Before:
//!
//! ```dockerfile
//! FROM python:3.12-slim
//! ADD --chown=app:app requirements.txt /app/
//! ADD src/ /app/src/
//! ADD https://example.com/tool.tar.gz /opt/
//! ADD vendor.tar.gz /opt/vendor/
//! ```
//!
//! After:
//!
//! ```dockerfile
//! FROM python:3.12-slim
//! COPY --chown=app:app requirements.txt /app/
//! COPY src/ /app/src/
//! ADD https://example.com/tool.tar.gz /opt/
//! ADD vendor.tar.gz /opt/vendor/
//! ```
//!
//! The last two are kept: one is a URL, the other an archive that ADD unpacks.
//!
//! ## Fix safety
//!
//! - **safe** when every source was found in the build context and none of them is a tar
//!   archive (plain, gzip, bzip2, xz or zstd compressed), or when the sources are heredocs:
//!   ADD and COPY then produce the same layer.
//! - **unsafe** (applied, with the risk listed) when a source could not be checked (no build
//!   context, e.g. stdin, or a glob the shell could not resolve), is missing from the build
//!   context, or was resolved from an `ARG` default (a `--build-arg` can change it): if the
//!   file turns out to be a tar archive, ADD unpacked it and COPY will not.
//! - no fix for `ONBUILD ADD` beyond a suggestion, and none for the kept cases above.
//!
//! Suppress it for one instruction with `# dockfix: ignore=add-to-copy` (or
//! `# hadolint ignore=DL3020`) on the line above.

use std::cell::OnceCell;

use crate::edit::{Applicability, Edit, Finding, Fix};
use crate::semantic::names::is_variable_name;
use crate::semantic::quoting::{escape_character, unquote_word, DEFAULT_ESCAPE};
use crate::semantic::variables::reference_after_dollar;
use crate::semantic::visible::VisibleVariables;
use crate::syntax::{Dockerfile, Instruction};
use crate::transform::{module_docs, BuildContext, Context, NoBuildContext, Rule, SourceKind};

pub struct AddToCopy;

const ID: &str = "add-to-copy";

const CONVERT_MESSAGE: &str =
    "ADD copies local files only: COPY does the same without ADD's implicit unpacking and URL fetching";

const ONBUILD_MESSAGE: &str =
    "ONBUILD ADD copies local files only: ONBUILD COPY would do the same, but the files \
     come from the build context of images built on this one, which dockfix cannot check";

const ONBUILD_RISK: &str =
    "a downstream build context could hold a tar archive at that path: ADD unpacks it, COPY will not";

/// Flags ADD and COPY both accept, with the same meaning.
const SHARED_FLAGS: [&str; 4] = ["chown", "chmod", "link", "exclude"];

/// Flags only ADD accepts.
const ADD_ONLY_FLAGS: [&str; 3] = ["checksum", "keep-git-dir", "unpack"];

/// Flags only COPY accepts: on ADD they are an error that COPY would turn into a meaning.
const COPY_ONLY_FLAGS: [&str; 2] = ["from", "parents"];

/// Names ADD would unpack if the file is a tar archive (compressed or not). `.gz` and friends
/// alone cover `.tar.gz` and the like; they are listed for the reader.
const ARCHIVE_SUFFIXES: [&str; 20] = [
    ".tar",
    ".tar.gz",
    ".tgz",
    ".taz",
    ".tar.bz2",
    ".tbz2",
    ".tbz",
    ".tar.xz",
    ".txz",
    ".tar.zst",
    ".tar.zstd",
    ".tzst",
    ".tar.lzma",
    ".tlz",
    ".gz",
    ".bz2",
    ".xz",
    ".zst",
    ".zstd",
    ".lzma",
];

/// Hosts whose `host/owner/repo` paths BuildKit has read as git repositories.
const GIT_HOSTS: [&str; 3] = ["github.com/", "gitlab.com/", "bitbucket.org/"];

impl Rule for AddToCopy {
    fn id(&self) -> &'static str {
        ID
    }

    fn summary(&self) -> &'static str {
        "ADD of local files and directories becomes COPY"
    }

    fn documentation(&self) -> String {
        module_docs(include_str!("add_to_copy.rs"))
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["DL3020"]
    }

    fn reference(&self) -> &'static str {
        "hadolint DL3020; Docker best practices: prefer COPY"
    }

    fn check(&self, context: &Context) -> Vec<Finding> {
        let instructions = &context.file.instructions;
        instructions
            .iter()
            .enumerate()
            .filter_map(|(index, instruction)| match instruction.keyword.as_str() {
                "ADD" => check_add(context, index, instruction),
                "ONBUILD" => check_onbuild(context, instruction),
                _ => None,
            })
            .collect()
    }
}

/// What an ADD's flags and sources allow.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// ADD must stay; the reason completes "ADD kept: ".
    Keep(String),
    /// COPY does the same. Each entry is a risk that could not be ruled out; none means safe.
    Convert(Vec<String>),
}

/// Where the sources of an ADD are looked up.
struct Lookup<'a> {
    /// The ADD whose variables are looked up: `None` for an ONBUILD trigger, which sees the
    /// downstream build's.
    at: Option<(&'a Dockerfile, usize)>,
    /// Worked out on first use: most sources name no variable, and working them out reads
    /// every instruction before the ADD.
    scope: OnceCell<VisibleVariables>,
    build_context: &'a dyn BuildContext,
    /// The file's escape character (`` ` `` makes a backslash a plain character).
    escape: char,
}

impl Lookup<'_> {
    fn scope(&self) -> &VisibleVariables {
        self.scope.get_or_init(|| match self.at {
            Some((file, index)) => VisibleVariables::at(file, index),
            None => VisibleVariables::default(),
        })
    }
}

fn check_add(context: &Context, index: usize, instruction: &Instruction) -> Option<Finding> {
    let lookup = Lookup {
        at: Some((context.file, index)),
        scope: OnceCell::new(),
        build_context: context.build_context,
        escape: escape_character(context.file),
    };
    let line = instruction.start_line;
    let risks = match verdict(instruction, &lookup)? {
        Verdict::Keep(reason) => return Some(Finding::new(ID, line, format!("ADD kept: {reason}"))),
        Verdict::Convert(risks) => risks,
    };
    let written = context.text.get(instruction.keyword_span.clone())?;
    let edit = Edit::new(instruction.keyword_span.clone(), copy_keyword(context, written));
    if risks.is_empty() {
        return Some(
            Finding::new(ID, line, CONVERT_MESSAGE).with_fix(Fix::new(Applicability::Safe, vec![edit])),
        );
    }
    let fix = Fix::new(Applicability::Unsafe, vec![edit]);
    Some(Finding::new(ID, line, CONVERT_MESSAGE).with_fix(fix).with_risk(risks.join("; ")))
}

/// `ONBUILD ADD ...`: the sources belong to a downstream build, so at most a suggestion.
fn check_onbuild(context: &Context, instruction: &Instruction) -> Option<Finding> {
    let trigger = instruction.words.first()?;
    if !trigger.text.eq_ignore_ascii_case("ADD") {
        return None;
    }
    // The trigger is an instruction of its own; parse it alone to read its flags and sources.
    let inner = Dockerfile::parse(&format!("{}\n", instruction.args));
    let add = inner.instructions.first().filter(|inner| inner.is("ADD"))?;
    // The child build parses each trigger's text as a Dockerfile of its own, so with the
    // default escape character, whatever `# escape=` this file declares.
    let lookup =
        Lookup { at: None, scope: OnceCell::new(), build_context: &NoBuildContext, escape: DEFAULT_ESCAPE };
    let line = instruction.start_line;
    if let Verdict::Keep(reason) = verdict(add, &lookup)? {
        return Some(Finding::new(ID, line, format!("ONBUILD ADD kept: {reason}")));
    }
    let edit = Edit::new(trigger.span.clone(), copy_keyword(context, &trigger.text));
    let fix = Fix::new(Applicability::Suggestion, vec![edit]);
    Some(Finding::new(ID, line, ONBUILD_MESSAGE).with_fix(fix).with_risk(ONBUILD_RISK))
}

/// Decides for one ADD; `None` when it is not a well-formed ADD (fewer than two arguments).
fn verdict(instruction: &Instruction, lookup: &Lookup) -> Option<Verdict> {
    let sources = sources(instruction, lookup.escape)?;
    let mut resolved = Vec::with_capacity(sources.len());
    for source in &sources {
        let path = match resolve(source, lookup) {
            Ok(path) => path,
            Err(reason) => return Some(Verdict::Keep(reason)),
        };
        if let Some(reason) = remote_or_archive(&path.text) {
            return Some(Verdict::Keep(format!("`{}` {reason}", display(source))));
        }
        resolved.push((source, path));
    }
    if let Some(reason) = flag_reason(instruction) {
        return Some(Verdict::Keep(reason));
    }
    let mut risks = Vec::new();
    for (source, path) in &resolved {
        match context_risk(source, &path.text, lookup.build_context) {
            Err(reason) => return Some(Verdict::Keep(reason)),
            Ok(Some(risk)) => risks.push(risk),
            Ok(None) => {}
        }
        risks.extend(path.args.iter().map(|name| arg_risk(source, name)));
    }
    Some(Verdict::Convert(risks))
}

/// The sources of an ADD (heredoc sources left out: they are inline text), or `None` when
/// there is no destination.
fn sources(instruction: &Instruction, escape: char) -> Option<Vec<String>> {
    let args: Vec<String> = match &instruction.exec_form {
        Some(items) => items.clone(),
        None => instruction.words.iter().map(|word| unquote_word(&word.text, escape)).collect(),
    };
    let (_destination, sources) = args.split_last()?;
    if sources.is_empty() {
        return None;
    }
    let heredoc =
        |source: &&String| instruction.exec_form.is_none() && is_heredoc_marker(instruction, source);
    Some(sources.iter().filter(|source| !heredoc(source)).cloned().collect())
}

/// `<<EOF`, `<<-EOF`, `<<"EOF"`, `2<<EOF` naming one of the instruction's heredocs.
fn is_heredoc_marker(instruction: &Instruction, word: &str) -> bool {
    let Some(rest) = word.trim_start_matches(|c: char| c.is_ascii_digit()).strip_prefix("<<") else {
        return false;
    };
    let name = rest.trim_start_matches('-');
    instruction.heredocs.iter().any(|heredoc| heredoc.name == name)
}

/// A flag that makes ADD necessary, as the reason to keep it.
fn flag_reason(instruction: &Instruction) -> Option<String> {
    let flag = instruction.flags.iter().find(|flag| !SHARED_FLAGS.contains(&flag.name.as_str()))?;
    if ADD_ONLY_FLAGS.contains(&flag.name.as_str()) {
        return Some(format!("`--{}` is a flag of ADD only (COPY has no equivalent)", flag.name));
    }
    if COPY_ONLY_FLAGS.contains(&flag.name.as_str()) {
        return Some(format!(
            "`--{}` is not a flag of ADD (Docker rejects it); as COPY it would take a meaning the file does not have",
            flag.name
        ));
    }
    Some(format!(
        "dockfix does not know the flag `--{}`, so it cannot tell whether COPY accepts it",
        flag.name
    ))
}

/// Why a (resolved) source needs ADD by its text alone: remote, git or archive by name.
fn remote_or_archive(path: &str) -> Option<&'static str> {
    if is_git(path) {
        return Some("is a git repository (COPY cannot clone)");
    }
    if path.contains("://") {
        return Some("is a URL (COPY cannot fetch)");
    }
    let lower = path.to_ascii_lowercase();
    if ARCHIVE_SUFFIXES.iter().any(|suffix| lower.ends_with(suffix)) {
        return Some(
            "is an archive by its name: ADD unpacks local tar archives, COPY would copy the file as is",
        );
    }
    None
}

/// Git sources as BuildKit reads them, plus a `#ref` on anything that is not a URL.
fn is_git(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let without_fragment = lower.split('#').next().unwrap_or(&lower);
    let git = lower.starts_with("git@")
        || lower.starts_with("git://")
        || lower.starts_with("ssh://")
        || without_fragment.trim_end_matches('/').ends_with(".git")
        || GIT_HOSTS.iter().any(|host| lower.starts_with(host));
    git || (!lower.contains("://") && lower.contains('#'))
}

/// What the build context says about a source: `Err` keeps ADD, `Ok(Some)` is a risk.
fn context_risk(
    source: &str,
    path: &str,
    build_context: &dyn BuildContext,
) -> Result<Option<String>, String> {
    let shown = display(source);
    match build_context.classify(path) {
        SourceKind::Plain => Ok(None),
        SourceKind::Archive => Err(format!(
            "`{shown}` is a tar archive in the build context (by its content): ADD unpacks it, COPY would copy the file as is"
        )),
        SourceKind::Missing => Ok(Some(format!(
            "`{shown}` is missing from the build context, so it could not be checked: if it is a tar archive, \
             ADD unpacked it and COPY will not"
        ))),
        SourceKind::Unknown => Ok(Some(format!(
            "`{shown}` could not be checked in the build context: if it is a tar archive, ADD unpacked it and \
             COPY will not"
        ))),
    }
}

fn arg_risk(source: &str, name: &str) -> String {
    format!(
        "`{}` takes its value from the default of ARG {name}: a `--build-arg {name}=...` could point it at a tar \
         archive, which ADD unpacked and COPY will not",
        display(source)
    )
}

/// A source as shown in messages: a URL loses its credentials and its query (they may hold
/// tokens); anything else, a git `#ref` included, is shown as written.
fn display(source: &str) -> String {
    let Some((scheme, rest)) = source.split_once("://") else {
        return source.to_string();
    };
    let (rest, fragment) = match rest.split_once('#') {
        Some((rest, fragment)) => (rest, format!("#{fragment}")),
        None => (rest, String::new()),
    };
    let rest = rest.split('?').next().unwrap_or(rest);
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let redacted = if host.len() < authority.len() { "***@" } else { "" };
    format!("{scheme}://{redacted}{host}{path}{fragment}")
}

/// `COPY` written like the `ADD` it replaces: lower-case for `add`, upper-case for `ADD`,
/// the file's casing for anything mixed.
fn copy_keyword(context: &Context, written: &str) -> String {
    if written.bytes().all(|b| !b.is_ascii_uppercase()) {
        return "copy".to_string();
    }
    if written.bytes().all(|b| !b.is_ascii_lowercase()) {
        return "COPY".to_string();
    }
    context.keyword("COPY")
}

/// A source with its variables replaced by known values.
#[derive(Debug)]
struct Resolved {
    text: String,
    /// ARGs whose default was used: a build argument can change them.
    args: Vec<String>,
}

/// Replaces `$NAME` and `${NAME}` from the ADD's scope; `Err` is the reason to keep ADD.
fn resolve(source: &str, lookup: &Lookup) -> Result<Resolved, String> {
    let unresolvable = || {
        format!(
            "`{}` uses a variable dockfix cannot resolve, so it could be a URL or an archive",
            display(source)
        )
    };
    let mut resolved = Resolved { text: String::with_capacity(source.len()), args: Vec::new() };
    let mut rest = source;
    while let Some(dollar) = rest.find('$') {
        resolved.text.push_str(&rest[..dollar]);
        let (name, after) = variable_name(&rest[dollar + 1..]).ok_or_else(unresolvable)?;
        let visible = lookup.scope().value(name).ok_or_else(unresolvable)?;
        resolved.text.push_str(visible.value);
        if visible.from_arg && !resolved.args.iter().any(|known| known == name) {
            resolved.args.push(name.to_string());
        }
        rest = after;
    }
    resolved.text.push_str(rest);
    Ok(resolved)
}

/// The name of `NAME...` or `{NAME}...` (the text after a `$`) and what follows it; `None`
/// for any other form (`${NAME:-x}`, `$1`, a lone `$`).
fn variable_name(text: &str) -> Option<(&str, &str)> {
    let reference = reference_after_dollar(text)?;
    let plain = reference.modifier.is_empty() && is_variable_name(reference.name);
    plain.then(|| (reference.name, &text[reference.len..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Options;
    use crate::source::Source;

    /// A build context that knows a few paths; everything else is `default`.
    struct FakeContext {
        known: Vec<(&'static str, SourceKind)>,
        default: SourceKind,
    }

    impl BuildContext for FakeContext {
        fn classify(&self, source: &str) -> SourceKind {
            self.known.iter().find(|(path, _)| *path == source).map_or(self.default, |(_, kind)| *kind)
        }
    }

    fn plain(paths: &[&'static str]) -> FakeContext {
        FakeContext {
            known: paths.iter().map(|path| (*path, SourceKind::Plain)).collect(),
            default: SourceKind::Unknown,
        }
    }

    fn findings(text: &str, build_context: &dyn BuildContext) -> Vec<Finding> {
        let file = Dockerfile::parse(text);
        AddToCopy.check(&Context {
            file: &file,
            text,
            build_context,
            options: &Options::default(),
            suppressed: &[],
        })
    }

    fn only(text: &str, build_context: &dyn BuildContext) -> Finding {
        let mut all = findings(text, build_context);
        assert_eq!(all.len(), 1, "{all:#?}");
        all.remove(0)
    }

    /// Applies every fix, as the engine would in one pass (canonical text in, original out).
    fn fixed(original: &str, build_context: &dyn BuildContext) -> String {
        let source = Source::new(original);
        let file = Dockerfile::parse(source.text());
        let context = Context {
            file: &file,
            text: source.text(),
            build_context,
            options: &Options::default(),
            suppressed: &[],
        };
        let edits: Vec<Edit> = AddToCopy
            .check(&context)
            .into_iter()
            .filter_map(|finding| finding.fix)
            .filter(|fix| fix.applicability != Applicability::Suggestion)
            .flat_map(|fix| fix.edits)
            .collect();
        source.apply(&edits)
    }

    fn applicability(finding: &Finding) -> Option<Applicability> {
        finding.fix.as_ref().map(|fix| fix.applicability)
    }

    fn assert_kept(text: &str, build_context: &dyn BuildContext, says: &str) {
        let finding = only(text, build_context);
        assert!(finding.fix.is_none(), "{finding:#?}");
        assert!(finding.message.starts_with("ADD kept: "), "{}", finding.message);
        assert!(finding.message.contains(says), "{:?} should contain {says:?}", finding.message);
    }

    #[test]
    fn verified_plain_file_is_safe() {
        let text = "FROM alpine\nADD app.py /app/\n";
        let finding = only(text, &plain(&["app.py"]));
        assert_eq!(finding.transform, "add-to-copy");
        assert_eq!(finding.line, 2);
        assert_eq!(finding.message, CONVERT_MESSAGE);
        assert_eq!(applicability(&finding), Some(Applicability::Safe));
        assert_eq!(finding.risk, None);
        assert_eq!(fixed(text, &plain(&["app.py"])), "FROM alpine\nCOPY app.py /app/\n");
    }

    #[test]
    fn unchecked_source_is_unsafe_with_a_risk() {
        let finding = only("FROM alpine\nADD app.py /app/\n", &NoBuildContext);
        assert_eq!(applicability(&finding), Some(Applicability::Unsafe));
        let risk = finding.risk.unwrap_or_default();
        assert!(risk.contains("`app.py` could not be checked in the build context"), "{risk}");
        assert!(risk.contains("ADD unpacked it and COPY will not"), "{risk}");
    }

    #[test]
    fn missing_source_is_unsafe_and_says_missing() {
        let missing = FakeContext { known: vec![], default: SourceKind::Missing };
        let finding = only("FROM alpine\nADD app.py /app/\n", &missing);
        assert_eq!(applicability(&finding), Some(Applicability::Unsafe));
        assert!(finding.risk.unwrap_or_default().contains("`app.py` is missing from the build context"));
    }

    #[test]
    fn one_unchecked_source_among_plain_ones_makes_it_unsafe() {
        let finding = only("FROM alpine\nADD a.py b.py /app/\n", &plain(&["a.py"]));
        assert_eq!(applicability(&finding), Some(Applicability::Unsafe));
        let risk = finding.risk.unwrap_or_default();
        assert!(risk.contains("`b.py`") && !risk.contains("`a.py`"), "{risk}");
    }

    #[test]
    fn urls_are_kept_and_credentials_are_not_shown() {
        for url in ["https://example.com/app.py", "http://example.com/x", "ftp://example.com/pub/file.txt"] {
            assert_kept(
                &format!("FROM alpine\nADD {url} /app/\n"),
                &NoBuildContext,
                "is a URL (COPY cannot fetch)",
            );
        }
        let finding =
            only("FROM alpine\nADD https://user:s3cret@example.com/f.txt?token=abc /f\n", &NoBuildContext);
        assert!(
            !finding.message.contains("s3cret") && !finding.message.contains("abc"),
            "{}",
            finding.message
        );
        assert!(finding.message.contains("`https://***@example.com/f.txt`"), "{}", finding.message);
    }

    #[test]
    fn git_sources_are_kept() {
        for source in [
            "git@github.com:moby/buildkit.git",
            "https://github.com/moby/buildkit.git",
            "https://github.com/moby/buildkit.git#v0.12.0",
            "git://example.com/repo",
            "github.com/moby/buildkit",
            "vendor/lib.git",
            "repo#main",
        ] {
            assert_kept(
                &format!("FROM alpine\nADD {source} /src/\n"),
                &NoBuildContext,
                "is a git repository",
            );
        }
        let tagged =
            only("FROM alpine\nADD https://github.com/moby/buildkit.git#v0.12.0 /src/\n", &NoBuildContext);
        assert!(
            tagged.message.contains("`https://github.com/moby/buildkit.git#v0.12.0`"),
            "{}",
            tagged.message
        );
        assert_kept(
            "FROM alpine\nADD --keep-git-dir=true https://github.com/moby/buildkit.git /src\n",
            &NoBuildContext,
            "git repository",
        );
    }

    #[test]
    fn archives_by_name_are_kept() {
        for name in [
            "vendor.tar",
            "vendor.tar.gz",
            "v.tgz",
            "v.tar.bz2",
            "v.tbz2",
            "v.tar.xz",
            "v.txz",
            "v.TAR.ZST",
            "v.gz",
            "v.bz2",
            "v.xz",
            "v.zst",
        ] {
            assert_kept(
                &format!("FROM alpine\nADD {name} /opt/\n"),
                &plain(&[]),
                "is an archive by its name",
            );
        }
    }

    #[test]
    fn archive_by_content_is_kept() {
        let context =
            FakeContext { known: vec![("data.bin", SourceKind::Archive)], default: SourceKind::Plain };
        assert_kept(
            "FROM alpine\nADD data.bin /data/\n",
            &context,
            "`data.bin` is a tar archive in the build context",
        );
        assert_kept("FROM alpine\nADD app.py data.bin /data/\n", &context, "`data.bin`");
    }

    #[test]
    fn add_only_and_unknown_flags_are_kept() {
        for flag in ["--checksum=sha256:abc", "--keep-git-dir", "--unpack=true"] {
            assert_kept(
                &format!("FROM alpine\nADD {flag} app.py /app/\n"),
                &plain(&["app.py"]),
                "is a flag of ADD only",
            );
        }
        assert_kept(
            "FROM alpine\nADD --from=build app.py /app/\n",
            &plain(&["app.py"]),
            "`--from` is not a flag of ADD",
        );
        assert_kept(
            "FROM alpine\nADD --newflag app.py /app/\n",
            &plain(&["app.py"]),
            "does not know the flag `--newflag`",
        );
    }

    #[test]
    fn shared_flags_are_kept_byte_for_byte() {
        let text = "FROM alpine\nADD --chown=app:app  --chmod=644 --link --exclude=*.md src/ /app/\n";
        let finding = only(text, &plain(&["src/"]));
        assert_eq!(applicability(&finding), Some(Applicability::Safe));
        assert_eq!(
            fixed(text, &plain(&["src/"])),
            "FROM alpine\nCOPY --chown=app:app  --chmod=644 --link --exclude=*.md src/ /app/\n"
        );
    }

    #[test]
    fn unresolvable_variables_are_kept() {
        for source in ["$SRC", "${SRC}/app.py", "${SRC:-app.py}", "$1"] {
            assert_kept(
                &format!("FROM alpine\nADD {source} /app/\n"),
                &plain(&[]),
                "uses a variable dockfix cannot resolve",
            );
        }
        assert_kept("FROM alpine\nARG SRC\nADD $SRC /app/\n", &plain(&[]), "`$SRC` uses a variable");
        assert_kept("FROM alpine\nENV SRC=$HOME/x\nADD $SRC /app/\n", &plain(&[]), "`$SRC` uses a variable");
        // Declared after the ADD: not visible to it.
        assert_kept("FROM alpine\nADD $SRC /app/\nENV SRC=app.py\n", &plain(&[]), "uses a variable");
    }

    #[test]
    fn env_variables_are_resolved_and_safe() {
        let text = "FROM alpine\nENV APP_DIR=service\nADD ${APP_DIR}/main.py /app/\n";
        let finding = only(text, &plain(&["service/main.py"]));
        assert_eq!(applicability(&finding), Some(Applicability::Safe));
        let legacy = "FROM alpine\nENV APP_DIR service\nADD $APP_DIR/main.py /app/\n";
        assert_eq!(applicability(&only(legacy, &plain(&["service/main.py"]))), Some(Applicability::Safe));
    }

    #[test]
    fn env_of_a_parent_stage_is_seen() {
        let text = "FROM alpine AS base\nENV DIR=svc\nFROM base\nADD $DIR/app.py /app/\n";
        assert_eq!(applicability(&only(text, &plain(&["svc/app.py"]))), Some(Applicability::Safe));
    }

    #[test]
    fn resolved_variables_that_name_an_archive_are_kept() {
        assert_kept(
            "FROM alpine\nENV TARBALL=vendor.tgz\nADD $TARBALL /opt/\n",
            &plain(&[]),
            "`$TARBALL` is an archive",
        );
    }

    #[test]
    fn arg_defaults_are_resolved_but_unsafe() {
        let text = "ARG SRC=app.py\nFROM alpine\nARG SRC\nADD ${SRC} /app/\n";
        let finding = only(text, &plain(&["app.py"]));
        assert_eq!(applicability(&finding), Some(Applicability::Unsafe));
        assert!(finding.risk.unwrap_or_default().contains("`--build-arg SRC=...`"));
        // A global ARG not re-declared in the stage is not visible.
        assert_kept(
            "ARG SRC=app.py\nFROM alpine\nADD ${SRC} /app/\n",
            &plain(&["app.py"]),
            "uses a variable",
        );
    }

    #[test]
    fn lower_case_add_becomes_lower_case_copy() {
        let text = "from alpine\nadd app.py /app/\n";
        assert_eq!(fixed(text, &plain(&["app.py"])), "from alpine\ncopy app.py /app/\n");
        let mixed = "FROM alpine\nAdd app.py /app/\n";
        assert_eq!(fixed(mixed, &plain(&["app.py"])), "FROM alpine\nCOPY app.py /app/\n");
    }

    #[test]
    fn exec_form_sources_are_read_as_json() {
        let text = "FROM alpine\nADD [\"my file.txt\", \"/dst/\"]\n";
        let finding = only(text, &plain(&["my file.txt"]));
        assert_eq!(applicability(&finding), Some(Applicability::Safe));
        assert_eq!(fixed(text, &plain(&["my file.txt"])), "FROM alpine\nCOPY [\"my file.txt\", \"/dst/\"]\n");
        assert_kept(
            "FROM alpine\nADD [\"https://example.com/a b\", \"/dst/\"]\n",
            &NoBuildContext,
            "is a URL",
        );
    }

    #[test]
    fn quoted_shell_form_sources_are_unquoted() {
        let text = "FROM alpine\nADD \"my file.txt\" /dst/\n";
        assert_eq!(applicability(&only(text, &plain(&["my file.txt"]))), Some(Applicability::Safe));
    }

    #[test]
    fn heredoc_add_is_safe_without_a_build_context() {
        let text = "FROM alpine\nADD <<EOF /etc/motd\nhello.tar.gz\nEOF\n";
        let finding = only(text, &NoBuildContext);
        assert_eq!(applicability(&finding), Some(Applicability::Safe));
        assert_eq!(fixed(text, &NoBuildContext), "FROM alpine\nCOPY <<EOF /etc/motd\nhello.tar.gz\nEOF\n");
    }

    #[test]
    fn continuation_with_a_comment_inside_changes_only_the_keyword() {
        let text = "FROM alpine\nADD --chown=1000:1000 \\\n    # the sources\n    app.py \\\n    config/ \\\n    /app/\nCMD [\"x\"]\n";
        let finding = only(text, &plain(&["app.py", "config/"]));
        assert_eq!(finding.line, 2);
        assert_eq!(applicability(&finding), Some(Applicability::Safe));
        assert_eq!(fixed(text, &plain(&["app.py", "config/"])), text.replacen("ADD", "COPY", 1));
    }

    #[test]
    fn crlf_and_missing_final_newline_are_kept() {
        let text = "FROM alpine\r\nADD app.py /app/\r\nCMD [\"x\"]";
        assert_eq!(fixed(text, &plain(&["app.py"])), "FROM alpine\r\nCOPY app.py /app/\r\nCMD [\"x\"]");
    }

    #[test]
    fn copy_and_malformed_add_are_ignored() {
        assert!(findings("FROM alpine\nCOPY app.py /app/\nADD onlyone\n", &NoBuildContext).is_empty());
    }

    #[test]
    fn onbuild_add_is_a_suggestion_or_kept() {
        let finding = only("FROM alpine\nONBUILD ADD . /app/src\n", &plain(&["."]));
        assert_eq!(applicability(&finding), Some(Applicability::Suggestion));
        let edit = &finding.fix.as_ref().map(|fix| fix.edits.clone()).unwrap_or_default()[0];
        assert_eq!(edit.range, 20..23);
        assert_eq!(edit.replacement, "COPY");
        let kept = only("FROM alpine\nONBUILD ADD https://example.com/x /x\n", &NoBuildContext);
        assert!(
            kept.message.starts_with("ONBUILD ADD kept: `https://example.com/x` is a URL"),
            "{}",
            kept.message
        );
        assert!(kept.fix.is_none());
        assert!(findings("FROM alpine\nONBUILD RUN echo\n", &NoBuildContext).is_empty());
    }

    #[test]
    fn fix_is_idempotent_through_the_engine() {
        let text = "FROM alpine\nADD app.py /app/\nadd --link=true config/ /etc/app/\nADD v.tgz /opt/\n";
        let context = plain(&["app.py", "config/"]);
        let once = crate::engine::run(text, &[&AddToCopy], &context, &Default::default()).map(|o| o.output);
        let once = once.unwrap_or_default();
        assert_eq!(
            once,
            "FROM alpine\nCOPY app.py /app/\ncopy --link=true config/ /etc/app/\nADD v.tgz /opt/\n"
        );
        let twice = crate::engine::run(&once, &[&AddToCopy], &context, &Default::default()).map(|o| o.output);
        assert_eq!(twice.unwrap_or_default(), once);
    }

    #[test]
    fn documentation_has_the_required_sections() {
        let docs = AddToCopy.documentation();
        for section in ["## What it does", "## Why", "## Example", "## Fix safety"] {
            assert!(docs.contains(section), "missing {section}");
        }
    }

    #[test]
    fn bare_link_flag_is_found_even_where_the_grammar_fails() {
        // The grammar does not know a value-less `--link`; the lexical pass reads it, and so
        // does the recovery of misread lines: the finding and its fix are proposed.
        let finding = only("FROM alpine\nADD --link app.py /app/\n", &plain(&["app.py"]));
        assert_eq!(applicability(&finding), Some(Applicability::Safe));
    }
}
