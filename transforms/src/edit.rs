//! What a transform proposes: findings, and fixes made of byte-range edits.

use std::ops::Range;

use schemars::JsonSchema;
use serde::Serialize;

/// Replace `range` of the canonical text (see [`crate::source::Source::text`]) with
/// `replacement`. An empty range inserts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edit {
    pub range: Range<usize>,
    pub replacement: String,
}

impl Edit {
    pub fn new(range: Range<usize>, replacement: impl Into<String>) -> Self {
        Edit { range, replacement: replacement.into() }
    }

    pub fn insert(at: usize, text: impl Into<String>) -> Self {
        Edit::new(at..at, text)
    }

    pub fn delete(range: Range<usize>) -> Self {
        Edit::new(range, "")
    }

    /// Two edits conflict when their ranges share bytes, or when both insert at one point
    /// (their order would be arbitrary).
    pub fn overlaps(&self, other: &Edit) -> bool {
        let (a, b) = (&self.range, &other.range);
        match (a.is_empty(), b.is_empty()) {
            (true, true) => a.start == b.start,
            (true, false) => b.start < a.start && a.start < b.end,
            (false, true) => a.start < b.start && b.start < a.end,
            (false, false) => a.start < b.end && b.start < a.end,
        }
    }
}

/// How safe it is to apply a fix without a human looking at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    /// Cannot change what the image does (ADD -> COPY of a verified plain file).
    Safe,
    /// An intended hardening that can change behaviour; applied, with the risk stated.
    Unsafe,
    /// Shown, never written: the tool is not certain enough.
    Suggestion,
}

impl Applicability {
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::Safe => "safe",
            Applicability::Unsafe => "unsafe",
            Applicability::Suggestion => "suggestion",
        }
    }
}

/// A set of edits that must be applied together or not at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    pub applicability: Applicability,
    pub edits: Vec<Edit>,
}

impl Fix {
    pub fn new(applicability: Applicability, edits: Vec<Edit>) -> Self {
        Fix { applicability, edits }
    }

    pub fn overlaps(&self, other: &Fix) -> bool {
        self.edits.iter().any(|a| other.edits.iter().any(|b| a.overlaps(b)))
    }

    /// Why the fix cannot be applied to `text` without garbling it, if it cannot: an edit
    /// backwards, past the end or off a character boundary, or two of its edits overlapping.
    /// Either is a transform's bug; the engine refuses the fix rather than apply it.
    pub fn malformed_for(&self, text: &str) -> Option<String> {
        if let Some(edit) = self.edits.iter().find(|edit| {
            let Range { start, end } = edit.range;
            start > end || !text.is_char_boundary(start) || !text.is_char_boundary(end)
        }) {
            return Some(format!(
                "bad edit {:?} in a {}-byte text (a transform bug)",
                edit.range,
                text.len()
            ));
        }
        let overlapping =
            self.edits.iter().enumerate().any(|(i, a)| self.edits[i + 1..].iter().any(|b| a.overlaps(b)));
        overlapping.then(|| "two of its edits overlap (a transform bug)".to_string())
    }
}

/// One thing a transform noticed, with the fix it proposes, if any. The message must never
/// contain a secret value: it feeds every output format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The transform's stable id (`add-to-copy`).
    pub transform: &'static str,
    /// 1-based line of the instruction the finding is about (in the text it was found in).
    pub line: usize,
    /// One line: what is changed and why, or why nothing is changed.
    pub message: String,
    /// What could behave differently once the fix is applied.
    pub risk: Option<String>,
    pub fix: Option<Fix>,
    /// What someone must do outside the Dockerfile once the fix is applied (pass a build
    /// secret, rotate a leaked value). Structured so every output format can list them.
    pub follow_ups: Vec<FollowUp>,
}

/// Work the fix leaves for people or pipelines outside the Dockerfile. Never holds a secret
/// value: only names and ids.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum FollowUp {
    /// The build must pass a BuildKit secret: `docker build --secret id=<id>,env=<env>`.
    BuildSecret { id: String, env: String },
    /// The build must pass a build argument: `docker build --build-arg <name>`.
    BuildArg { name: String },
    /// The running container must get the variable from its runtime (`docker run -e`).
    RuntimeEnv { name: String },
    /// The value was exposed in the repository and image history: replace it.
    Rotate { name: String },
}

impl FollowUp {
    /// Whether it is needed even when the fix is not applied: a leaked value must be rotated
    /// whatever happens; the build and run changes only come with the fix.
    pub fn needed_without_fix(&self) -> bool {
        matches!(self, FollowUp::Rotate { .. })
    }

    /// One line for humans.
    pub fn describe(&self) -> String {
        match self {
            FollowUp::BuildSecret { id, env } => {
                format!("build with `--secret id={id},env={env}` ({env} set in the build's environment)")
            }
            FollowUp::BuildArg { name } => {
                format!("build with `--build-arg {name}` ({name} set in the build's environment)")
            }
            FollowUp::RuntimeEnv { name } => {
                format!("supply {name} at run time (`docker run -e {name}`, a compose or Kubernetes secret)")
            }
            FollowUp::Rotate { name } => {
                format!("rotate {name}: its value was exposed in the repository and image history")
            }
        }
    }
}

impl Finding {
    pub fn new(transform: &'static str, line: usize, message: impl Into<String>) -> Self {
        Finding { transform, line, message: message.into(), risk: None, fix: None, follow_ups: Vec::new() }
    }

    pub fn with_fix(mut self, fix: Fix) -> Self {
        self.fix = Some(fix);
        self
    }

    pub fn with_risk(mut self, risk: impl Into<String>) -> Self {
        self.risk = Some(risk.into());
        self
    }

    pub fn with_follow_ups(mut self, follow_ups: Vec<FollowUp>) -> Self {
        self.follow_ups = follow_ups;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_rules() {
        let replace = Edit::new(2..5, "x");
        assert!(replace.overlaps(&Edit::new(4..8, "y")));
        assert!(!replace.overlaps(&Edit::new(5..8, "y")), "adjacent ranges do not overlap");
        assert!(replace.overlaps(&Edit::insert(3, "y")), "insert inside a replaced range");
        assert!(!replace.overlaps(&Edit::insert(5, "y")), "insert right after a replaced range");
        assert!(!replace.overlaps(&Edit::insert(2, "y")), "insert right before a replaced range");
        assert!(Edit::insert(3, "a").overlaps(&Edit::insert(3, "b")), "two inserts at one point");
    }
}
