//! The result model of a run: what became of one file ([`FileResult`]), its diff, and the
//! facts every output format reads from it (the build command its fixes need, a suggestion's
//! diff). The formats themselves are in [`crate::output`].

use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use dockfix_transforms::engine::SuppressionNote;
use dockfix_transforms::rules::env_secrets::SecretOptions;
use dockfix_transforms::{Edit, FollowUp, Report};

use crate::line_diff;
use crate::redact::Redactor;
use crate::verify::report::Verification;

/// The result of one file.
///
/// Built only by its constructors, which take every report text through the file's
/// [`Redactor`]: the renderers of every output format read results, so none can print a
/// secret value (see [`crate::redact`]). Fields stay readable; `input` and `output` are the
/// file itself, which leaves the program only as a fixed file or through [`FileResult::diff`].
#[derive(Default, Clone)]
pub struct FileResult {
    pub path: String,
    pub input: String,
    pub output: Option<String>,
    pub reports: Vec<Report>,
    pub error: Option<String>,
    /// Problems with its `# dockfix:` suppression comments worth a warning.
    pub suppression_notes: Vec<SuppressionNote>,
    /// What `--verify` found, when it ran on the file (redacted).
    pub verification: Option<Box<Verification>>,
    /// The file's secret values; private, so that no result is made without it.
    redactor: Redactor,
}

impl FileResult {
    /// A file that was fixed (or found to need nothing): its reports redacted.
    pub fn fixed(
        path: String,
        input: String,
        output: String,
        reports: Vec<Report>,
        suppression_notes: Vec<SuppressionNote>,
        secrets: &SecretOptions,
    ) -> FileResult {
        let redactor = Redactor::for_file(&input, secrets);
        FileResult::fixed_redacted_by(redactor, path, input, output, reports, suppression_notes)
    }

    /// [`FileResult::fixed`] with the input's redactor already made (from the engine's parse,
    /// [`Redactor::for_parsed`]).
    pub fn fixed_redacted_by(
        redactor: Redactor,
        path: String,
        input: String,
        output: String,
        reports: Vec<Report>,
        suppression_notes: Vec<SuppressionNote>,
    ) -> FileResult {
        let reports = reports.into_iter().map(|report| redactor.redacted_report(report)).collect();
        let suppression_notes = suppression_notes
            .into_iter()
            .map(|note| SuppressionNote { message: redactor.text(&note.message), ..note })
            .collect();
        FileResult {
            path,
            input,
            output: Some(output),
            reports,
            error: None,
            suppression_notes,
            verification: None,
            redactor,
        }
    }

    /// A file that could not be processed: why, and its text when it was read.
    pub fn failed(path: String, input: String, error: String, secrets: &SecretOptions) -> FileResult {
        let redactor = Redactor::for_file(&input, secrets);
        let error = Some(redactor.text(&error));
        FileResult { path, input, error, redactor, ..FileResult::default() }
    }

    /// The file could not be finished (written): nothing of it counts as fixed.
    pub fn fail(&mut self, error: String) {
        self.error = Some(self.redactor.text(&error));
        self.output = None;
        for report in self.reports.iter_mut().filter(|report| report.fixed) {
            report.fixed = false;
            report.declined = Some("the file could not be written".to_string());
        }
    }

    /// Records `--verify`'s result, its texts (builder and container output) redacted.
    pub fn set_verification(&mut self, verification: Verification) {
        self.verification = Some(Box::new(verification.redacted(|text| self.redactor.text(text))));
    }

    /// Adds findings whose fixes `--verify` left out (already redacted: they come from a
    /// result of the same file), in line order with the others.
    pub fn add_dropped_reports(&mut self, reports: Vec<Report>) {
        self.reports.extend(reports);
        self.reports.sort_by_key(|report| report.line);
    }

    /// Whether `--verify` ran and a check failed.
    pub fn verification_failed(&self) -> bool {
        self.verification
            .as_ref()
            .is_some_and(|verification| verification.verdict == crate::verify::report::Verdict::Failed)
    }

    /// Text a format proposes to write into the file, made from the input around the edits
    /// (a review suggestion's replacement): redacted as the added lines of
    /// [`FileResult::diff`] are.
    pub fn proposed_text(&self, text: &str) -> String {
        self.redactor.exact(text)
    }

    /// Text of the input that a format prints or derives something from (the instruction a
    /// fingerprint hashes): every secret value masked.
    pub fn input_text(&self, text: &str) -> String {
        self.redactor.text(text)
    }

    pub fn changed(&self) -> bool {
        self.output.as_ref().is_some_and(|output| *output != self.input)
    }

    /// The fixed file as a diff against the input, for stdout: no added line shows a secret
    /// value (see [`Redactor::diff_of_file`]).
    pub fn diff(&self) -> String {
        let output = self.output.as_deref().unwrap_or(&self.input);
        // Every fixed report carries the changes its fix made to the input's bytes.
        let changes: Vec<Edit> = self
            .reports
            .iter()
            .filter(|report| report.fixed)
            .flat_map(|report| report.edits.iter().cloned())
            .collect();
        self.redactor.diff_of_file(&line_diff::unified_diff(
            &diff_path(&self.path),
            &self.input,
            output,
            &changes,
        ))
    }
}

/// The path as `git apply` wants it: relative, `/`-separated, without `./`.
pub fn diff_path(path: &str) -> String {
    let path = Path::new(path);
    let relative = current_dir().and_then(|cwd| path.strip_prefix(cwd).ok()).unwrap_or(path);
    let mut parts: Vec<String> = Vec::new();
    for component in relative.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            // `git apply` refuses `..` in paths: resolve it lexically.
            Component::ParentDir if parts.pop().is_some() => {}
            Component::ParentDir => parts.push("..".to_string()),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    parts.join("/")
}

/// The current directory, asked for once: dockfix never changes it, and a diff of every
/// file would otherwise ask the system each time.
fn current_dir() -> Option<&'static Path> {
    static CURRENT_DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    CURRENT_DIR.get_or_init(|| std::env::current_dir().ok()).as_deref()
}

/// The `docker build` command a file's applied fixes now need, when they need one: every
/// build secret and build argument, each once, in the order first reported.
pub fn build_command(reports: &[Report]) -> Option<String> {
    let mut flags: Vec<String> = Vec::new();
    for follow_up in reports.iter().filter(|report| report.fixed).flat_map(|report| &report.follow_ups) {
        let flag = match follow_up {
            FollowUp::BuildSecret { id, env } => format!("--secret id={id},env={env}"),
            FollowUp::BuildArg { name } => format!("--build-arg {name}"),
            FollowUp::RuntimeEnv { .. } | FollowUp::Rotate { .. } => continue,
        };
        if !flags.contains(&flag) {
            flags.push(flag);
        }
    }
    (!flags.is_empty()).then(|| format!("docker build {} .", flags.join(" ")))
}

/// A suggestion's proposed change as a diff against the file as fixed (or as read), for a
/// report: every line redacted.
pub fn suggestion_diff(result: &FileResult, report: &Report) -> Option<String> {
    let suggested = report.suggestion.as_deref()?;
    let base = result.output.as_deref().unwrap_or(&result.input);
    Some(result.redactor.diff_for_report(&line_diff::unified_diff(
        &diff_path(&result.path),
        base,
        suggested,
        &[],
    )))
}
