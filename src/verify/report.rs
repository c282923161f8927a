//! What `--verify` found for one file, and how the summary and the pull-request body show it.
//! The same types are the `verification` object of `--format json` (its schema is generated
//! from them).

use schemars::JsonSchema;
use serde::Serialize;

/// The verdict on a file's fixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every check passed (or was skipped for a stated reason).
    Verified,
    /// A check failed: the fixed image does not do what the original did.
    Failed,
    /// The file could not be verified (its original does not build, no builder): `reason`.
    Skipped,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Verified => "verified",
            Verdict::Failed => "failed",
            Verdict::Skipped => "skipped",
        }
    }
}

/// One check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Passed,
    Failed,
    Skipped,
}

/// A check on the fixed image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CheckName {
    /// The fixed Dockerfile builds.
    Builds,
    /// The configured user is not root and resolves inside the image.
    User,
    /// No setuid/setgid file in the final filesystem.
    Setuid,
    /// No secret value env-secrets moved is in the config, history or files.
    Secrets,
    /// The image starts and behaves as the original.
    Smoke,
}

impl CheckName {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckName::Builds => "builds",
            CheckName::User => "user",
            CheckName::Setuid => "setuid",
            CheckName::Secrets => "secrets",
            CheckName::Smoke => "smoke",
        }
    }

    /// The transforms whose fixes can make this check fail, likeliest first: the order in
    /// which a retry drops them.
    pub fn suspects(self) -> &'static [&'static str] {
        match self {
            CheckName::User => &["non-root-user"],
            CheckName::Setuid => &["strip-setuid"],
            // Dropping env-secrets would put the value back: no retry helps.
            CheckName::Secrets => &[],
            CheckName::Smoke => {
                &["non-root-user", "strip-setuid", "env-secrets", "multi-stage", "add-to-copy"]
            }
            CheckName::Builds => {
                &["multi-stage", "env-secrets", "non-root-user", "strip-setuid", "add-to-copy"]
            }
        }
    }
}

/// One check with its evidence (redacted, as every report text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Check {
    pub check: CheckName,
    pub status: Status,
    /// What was seen: the user and its passwd entry, the setuid files, the smoke run's
    /// commands and results, or the builder's output tail.
    pub evidence: String,
}

/// Figures before and after the fixes, for the pull-request body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Figures {
    /// The configured user of the original image (`""`: root).
    pub user_before: Option<String>,
    pub user_after: Option<String>,
    pub setuid_before: Option<usize>,
    pub setuid_after: Option<usize>,
    /// Bytes of the final filesystem's regular files.
    pub size_before: Option<u64>,
    pub size_after: Option<u64>,
    /// The smoke run, in a few words.
    pub smoke: Option<String>,
}

/// Where a verification's time went, in milliseconds, over every image it built (the
/// original, the fixed file, and each retry): what `--verify` costs beyond the builds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Timings {
    /// The builder's build commands.
    pub builds_ms: u64,
    /// Reading the images: inspect, mount or export, the filesystem scan, cleanup.
    pub inspection_ms: u64,
    /// The smoke runs.
    pub smoke_ms: u64,
}

/// A fix left out because the fixed image failed a check with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Dropped {
    /// The transform whose fixes were left out.
    pub transform: String,
    /// The check that failed with them.
    pub check: CheckName,
}

/// The verification of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Verification {
    pub verdict: Verdict,
    /// The builder used (`docker`, `podman`, `buildah`).
    pub builder: String,
    /// Why the file was skipped, or which check failed.
    pub reason: Option<String>,
    pub checks: Vec<Check>,
    pub figures: Figures,
    /// Fixes a retry left out so that the rest verifies (the file holds the rest).
    pub dropped: Vec<Dropped>,
    pub timings: Timings,
}

impl Verification {
    /// A file that could not be verified, and why.
    pub fn skipped(builder: &str, reason: String) -> Verification {
        Verification {
            verdict: Verdict::Skipped,
            builder: builder.to_string(),
            reason: Some(reason),
            checks: Vec::new(),
            figures: Figures::default(),
            dropped: Vec::new(),
            timings: Timings::default(),
        }
    }

    /// The verdict of `checks`: failed at the first failed check, else verified.
    pub fn of_checks(builder: &str, checks: Vec<Check>, figures: Figures) -> Verification {
        let failed = checks.iter().find(|check| check.status == Status::Failed);
        Verification {
            verdict: if failed.is_some() { Verdict::Failed } else { Verdict::Verified },
            builder: builder.to_string(),
            reason: failed.map(|check| format!("check `{}` failed", check.check.as_str())),
            checks,
            figures,
            dropped: Vec::new(),
            timings: Timings::default(),
        }
    }

    /// The first failed check.
    pub fn failed_check(&self) -> Option<&Check> {
        self.checks.iter().find(|check| check.status == Status::Failed)
    }

    /// A failed verification in one paragraph, for an error-level annotation or SARIF result:
    /// the failed check and the end of its evidence. `None` unless it failed.
    pub fn failure_message(&self) -> Option<String> {
        if self.verdict != Verdict::Failed {
            return None;
        }
        let mut message = format!("the fixed image failed to verify ({})", self.builder);
        if let Some(reason) = &self.reason {
            message.push_str(&format!(": {reason}"));
        }
        if let Some(check) = self.failed_check() {
            message.push_str(&format!("\n{}", check.evidence));
        }
        Some(message)
    }

    /// Every text it holds, passed through `redact` (the file's secret values out).
    pub fn redacted(mut self, redact: impl Fn(&str) -> String) -> Verification {
        self.reason = self.reason.as_deref().map(&redact);
        for check in &mut self.checks {
            check.evidence = redact(&check.evidence);
        }
        self.figures.smoke = self.figures.smoke.as_deref().map(&redact);
        self
    }

    /// The summary's lines for the file: the verdict, the figures, a failed check's evidence
    /// indented below.
    pub fn summary_lines(&self, path: &str) -> String {
        let mut out = format!("{path}: verify ({}): {}", self.builder, self.verdict.as_str());
        if let Some(reason) = &self.reason {
            out.push_str(&format!(": {reason}"));
        }
        let figures = self.figures_text();
        if !figures.is_empty() {
            out.push_str(&format!(" ({figures})"));
        }
        out.push('\n');
        for dropped in &self.dropped {
            out.push_str(&format!(
                "    dropped {}: the fixed image failed check `{}` with it\n",
                dropped.transform,
                dropped.check.as_str()
            ));
        }
        for check in self.checks.iter().filter(|check| check.status == Status::Failed) {
            out.push_str(&format!("    {} failed:\n", check.check.as_str()));
            for line in check.evidence.lines() {
                out.push_str(&format!("      {line}\n"));
            }
        }
        out
    }

    /// `user root → app, setuid files 11 → 0, size 80.1 MB → 80.0 MB, smoke: ...`
    pub fn figures_text(&self) -> String {
        let figures = &self.figures;
        let mut parts = Vec::new();
        if let (Some(before), Some(after)) = (&figures.user_before, &figures.user_after) {
            parts.push(format!("user {} → {}", shown_user(before), shown_user(after)));
        }
        if let (Some(before), Some(after)) = (figures.setuid_before, figures.setuid_after) {
            parts.push(format!("setuid files {before} → {after}"));
        }
        if let (Some(before), Some(after)) = (figures.size_before, figures.size_after) {
            parts.push(format!("size {} → {}", megabytes(before), megabytes(after)));
        }
        if let Some(smoke) = &figures.smoke {
            parts.push(format!("smoke: {smoke}"));
        }
        parts.join(", ")
    }

    /// The pull-request body's "Verified" part for one file.
    pub fn markdown(&self) -> String {
        let figures = &self.figures;
        let mut out = format!("**Verified** (`{}`): **{}**", self.builder, self.verdict.as_str());
        if let Some(reason) = &self.reason {
            out.push_str(&format!(": {reason}"));
        }
        out.push_str("\n\n");
        let mut rows = Vec::new();
        if let (Some(before), Some(after)) = (&figures.user_before, &figures.user_after) {
            rows.push(("User", format!("`{}`", shown_user(before)), format!("`{}`", shown_user(after))));
        }
        if let (Some(before), Some(after)) = (figures.setuid_before, figures.setuid_after) {
            rows.push(("Setuid/setgid files", before.to_string(), after.to_string()));
        }
        if let (Some(before), Some(after)) = (figures.size_before, figures.size_after) {
            rows.push(("Image size", megabytes(before), megabytes(after)));
        }
        if !rows.is_empty() {
            out.push_str("| | Before | After |\n|---|---|---|\n");
            for (name, before, after) in rows {
                out.push_str(&format!("| {name} | {before} | {after} |\n"));
            }
            out.push('\n');
        }
        if let Some(smoke) = &figures.smoke {
            out.push_str(&format!("Smoke run: {smoke}\n\n"));
        }
        for dropped in &self.dropped {
            out.push_str(&format!(
                "- Dropped `{}`: the fixed image failed the `{}` check with it.\n",
                dropped.transform,
                dropped.check.as_str()
            ));
        }
        for check in self.checks.iter().filter(|check| check.status == Status::Failed) {
            out.push_str(&format!(
                "\n`{}` failed:\n\n```text\n{}\n```\n",
                check.check.as_str(),
                check.evidence.trim_end()
            ));
        }
        out
    }
}

fn shown_user(user: &str) -> &str {
    if user.is_empty() {
        "root"
    } else {
        user
    }
}

/// `12.3 MB` (decimal megabytes, one decimal).
fn megabytes(bytes: u64) -> String {
    // Display only: an image's byte count fits an f64's exact range many times over.
    #[allow(clippy::cast_precision_loss)]
    let megabytes = bytes as f64 / 1e6;
    format!("{megabytes:.1} MB")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verification() -> Verification {
        let checks = vec![
            Check { check: CheckName::Builds, status: Status::Passed, evidence: "built".into() },
            Check { check: CheckName::User, status: Status::Passed, evidence: "app (uid 10001)".into() },
            Check {
                check: CheckName::Smoke,
                status: Status::Failed,
                evidence: "exit 1: cannot write /srv/x".into(),
            },
        ];
        let figures = Figures {
            user_before: Some(String::new()),
            user_after: Some("app".into()),
            setuid_before: Some(11),
            setuid_after: Some(0),
            size_before: Some(80_100_000),
            size_after: Some(80_000_000),
            smoke: Some("exit 0 → exit 1".into()),
        };
        Verification::of_checks("buildah", checks, figures)
    }

    #[test]
    fn the_first_failed_check_decides() {
        let verification = verification();
        assert_eq!(verification.verdict, Verdict::Failed);
        assert_eq!(verification.reason.as_deref(), Some("check `smoke` failed"));
        let passed =
            Verification::of_checks("buildah", verification.checks[..2].to_vec(), Figures::default());
        assert_eq!((passed.verdict, passed.reason), (Verdict::Verified, None));
    }

    #[test]
    fn summary_and_markdown_show_the_figures_and_the_failure() {
        let verification = verification();
        let summary = verification.summary_lines("Dockerfile");
        assert!(summary.starts_with(
            "Dockerfile: verify (buildah): failed: check `smoke` failed (user root → app, setuid files 11 → 0, \
             size 80.1 MB → 80.0 MB, smoke: exit 0 → exit 1)\n"
        ), "{summary}");
        assert!(summary.contains("    smoke failed:\n      exit 1: cannot write /srv/x\n"), "{summary}");
        let markdown = verification.markdown();
        assert!(markdown.contains("| User | `root` | `app` |"), "{markdown}");
        assert!(markdown.contains("| Setuid/setgid files | 11 | 0 |"), "{markdown}");
        assert!(markdown.contains("| Image size | 80.1 MB | 80.0 MB |"), "{markdown}");
        assert!(markdown.contains("Smoke run: exit 0 → exit 1"), "{markdown}");
    }

    #[test]
    fn only_a_failure_has_a_failure_message() {
        let message = verification().failure_message().expect("failed");
        assert_eq!(
            message,
            "the fixed image failed to verify (buildah): check `smoke` failed\nexit 1: cannot write /srv/x"
        );
        assert_eq!(Verification::skipped("buildah", "no builder".into()).failure_message(), None);
    }

    #[test]
    fn redaction_reaches_every_text() {
        let redacted = verification().redacted(|text| text.replace("/srv/x", "****"));
        assert!(redacted.checks.iter().all(|check| !check.evidence.contains("/srv/x")));
    }
}
