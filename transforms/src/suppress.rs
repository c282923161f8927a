//! Inline suppressions: `# dockfix: ignore=ID[,ID]` on the comment lines right above an
//! instruction, `# dockfix: ignore-file=ID[,ID]` anywhere, and hadolint's
//! `# hadolint ignore=DL3020` through the transforms' aliases.

use crate::syntax::{Dockerfile, Instruction};

/// One suppression comment, resolved to transform ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// 1-based line of the comment.
    pub line: usize,
    /// The instruction line it covers; `None` for the whole file.
    pub covers: Option<usize>,
    pub ids: Vec<String>,
    /// Ids that name no transform (kept for warnings).
    pub unknown: Vec<String>,
    /// A `# hadolint ignore=` comment: hadolint's own codes are not dockfix's to judge.
    pub hadolint: bool,
}

/// Reads every suppression comment of a file. `transform_of` gives the id of the transform
/// an id or alias names (the engine knows them all; a transform on its own, only itself).
pub fn suppressions(
    file: &Dockerfile,
    transform_of: &dyn Fn(&str) -> Option<&'static str>,
) -> Vec<Suppression> {
    let mut out = Vec::new();
    for comment in &file.comments {
        let Some((scope, ids, hadolint)) = parse(&comment.text) else {
            continue;
        };
        let covers = match scope {
            Scope::File => None,
            Scope::Next => match instruction_below(file, comment.line) {
                Some(instruction) => Some(instruction.start_line),
                None => continue,
            },
        };
        let (ids, unknown) = resolve(&ids, transform_of);
        out.push(Suppression { line: comment.line, covers, ids, unknown, hadolint });
    }
    out
}

/// True when `transform` is suppressed for the instruction starting at `line`.
pub fn is_suppressed(suppressions: &[Suppression], transform: &str, line: usize) -> bool {
    suppressions.iter().any(|s| s.suppresses(transform, line))
}

impl Suppression {
    /// Whether this comment suppresses `transform` for the instruction starting at `line`.
    pub fn suppresses(&self, transform: &str, line: usize) -> bool {
        self.covers.is_none_or(|covered| covered == line)
            && self.ids.iter().any(|id| id == transform || id == "all")
    }
}

enum Scope {
    Next,
    File,
}

/// The scope and ids of a suppression comment, and whether it is hadolint's.
fn parse(comment: &str) -> Option<(Scope, Vec<String>, bool)> {
    let body = comment.trim_start().strip_prefix('#')?.trim();
    let (scope, list, hadolint) = if let Some(rest) = body.strip_prefix("dockfix:") {
        let rest = rest.trim();
        if let Some(list) = rest.strip_prefix("ignore-file=") {
            (Scope::File, list, false)
        } else {
            (Scope::Next, rest.strip_prefix("ignore=")?, false)
        }
    } else {
        (Scope::Next, body.strip_prefix("hadolint")?.trim().strip_prefix("ignore=")?, true)
    };
    let list = list.split_whitespace().next().unwrap_or("");
    let ids = list.split(',').map(str::trim).filter(|id| !id.is_empty()).map(String::from).collect();
    Some((scope, ids, hadolint))
}

fn resolve(
    ids: &[String],
    transform_of: &dyn Fn(&str) -> Option<&'static str>,
) -> (Vec<String>, Vec<String>) {
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for id in ids {
        if id.eq_ignore_ascii_case("all") {
            known.push("all".to_string());
            continue;
        }
        match transform_of(id) {
            Some(transform) => known.push(transform.to_string()),
            None => unknown.push(id.clone()),
        }
    }
    (known, unknown)
}

/// The instruction a `# ... ignore=` comment applies to: the next one, with only comment
/// lines in between.
fn instruction_below(file: &Dockerfile, comment_line: usize) -> Option<&Instruction> {
    let next = file.instructions.iter().find(|i| i.start_line > comment_line)?;
    let only_comments_between =
        (comment_line + 1..next.start_line).all(|line| file.comments.iter().any(|c| c.line == line));
    only_comments_between.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_instruction_and_file_scopes() {
        let file = Dockerfile::parse(
            "FROM a\n# dockfix: ignore=add-to-copy\n# why: needs unpacking\nADD a.tar /x\n\n# hadolint ignore=DL3020\n\nADD b /y\n# dockfix: ignore-file=strip-setuid,nope\n",
        );
        let found = suppressions(&file, &crate::rules::transform_id);
        assert_eq!(found.len(), 2, "the hadolint comment is cut off by a blank line");
        assert!(is_suppressed(&found, "add-to-copy", 4));
        assert!(!is_suppressed(&found, "add-to-copy", 8), "a blank line breaks the link");
        assert!(is_suppressed(&found, "strip-setuid", 1));
        assert_eq!(found[1].unknown, vec!["nope".to_string()]);
    }
}
