//! `--format json`: one versioned document about every file, its schema generated from these
//! types (`schema/dockfix-output.schema.json`, checked by `tests/schema.rs`).

use std::io::{self, Write};

use dockfix_transforms::{Applicability, FollowUp};
use schemars::JsonSchema;
use serde::Serialize;

use super::Emitter;
use crate::file_result::{build_command, suggestion_diff, FileResult};
use crate::verify::report::Verification;

/// Keeps each file's findings (not its texts) until the end, so a run over many files does
/// not hold them all.
#[derive(Default)]
pub struct Json {
    files: Vec<JsonFile>,
}

impl Emitter for Json {
    fn file(&mut self, result: FileResult, _stdout: &mut dyn Write) -> io::Result<()> {
        self.files.push(JsonFile::of(&result));
        Ok(())
    }

    fn finish(&mut self, stdout: &mut dyn Write) -> io::Result<()> {
        stdout.write_all(document(&self.files).as_bytes())
    }

    fn streams(&self) -> bool {
        false
    }
}

/// Version 2 added `follow_ups` to findings, `build_command` and `warnings` to files; version 3
/// `verification` to files (with `--verify`).
pub const JSON_VERSION: u32 = 3;

/// The `--format json` document.
#[derive(Serialize, JsonSchema)]
#[schemars(
    title = "dockfix fix --format json",
    description = "Findings and results of `dockfix fix`, per file"
)]
struct JsonDocument<'a> {
    /// The document's format version; a change that can break a reader raises it.
    version: u32,
    files: &'a [JsonFile],
}

// Owns its strings and holds no file text: a run over many files keeps only these.
/// One file: what became of it and its findings.
#[derive(Serialize, JsonSchema)]
struct JsonFile {
    /// The file as given or found (`-` input is `<stdin>`).
    path: String,
    /// Whether the fixed file differs from the input (written with `--write`).
    changed: bool,
    /// Why the file could not be processed; nothing was changed then.
    error: Option<String>,
    /// The build command the applied fixes need (secret mounts, build arguments).
    build_command: Option<String>,
    findings: Vec<JsonFinding>,
    /// Suppression comments that name unknown transforms (and, with
    /// `--warn-unused-suppressions`, that suppress nothing).
    warnings: Vec<JsonWarning>,
    /// What `--verify` found: the verdict, each check with its evidence, the figures before
    /// and after, and the fixes dropped so that the rest verifies. Only with `--verify`, on
    /// changed files.
    #[serde(skip_serializing_if = "Option::is_none")]
    verification: Option<Verification>,
}

#[derive(Serialize, JsonSchema)]
struct JsonWarning {
    line: usize,
    /// `unknown-id` or `unused`.
    kind: &'static str,
    message: String,
}

#[derive(Serialize, JsonSchema)]
struct JsonFinding {
    /// The transform's id (`dockfix explain ID`).
    transform: &'static str,
    /// 1-based line of the instruction.
    line: usize,
    /// What is changed and why, or why nothing is changed. Never holds a secret value.
    message: String,
    /// `suggestion` when the finding has no fix to apply.
    applicability: Applicability,
    /// Whether the fix is in the output.
    fixed: bool,
    /// Why a fix was not applied, when it was not.
    declined: Option<String>,
    /// What could behave differently once the fix is applied.
    risk: Option<String>,
    /// What must happen outside the Dockerfile.
    follow_ups: Vec<FollowUp>,
    /// A suggestion's proposed change, as a unified diff against the fixed file; only on
    /// suggestions.
    #[serde(skip_serializing_if = "Option::is_none")]
    suggestion: Option<String>,
}

/// The JSON Schema of the `--format json` document (`schema/dockfix-output.schema.json`).
pub fn schema() -> String {
    let schema = schemars::schema_for!(JsonDocument<'static>);
    // A schema of plain structs: serialization cannot fail.
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}

impl JsonFile {
    fn of(result: &FileResult) -> JsonFile {
        JsonFile {
            path: result.path.clone(),
            changed: result.changed(),
            error: result.error.clone(),
            build_command: build_command(&result.reports),
            verification: result.verification.as_deref().cloned(),
            warnings: result
                .suppression_notes
                .iter()
                .map(|note| JsonWarning {
                    line: note.line,
                    kind: note.kind.as_str(),
                    message: note.message.clone(),
                })
                .collect(),
            findings: result
                .reports
                .iter()
                .map(|report| JsonFinding {
                    transform: report.transform,
                    line: report.line,
                    message: report.message.clone(),
                    applicability: report.applicability,
                    fixed: report.fixed,
                    declined: report.declined.clone(),
                    risk: report.risk.clone(),
                    follow_ups: report.follow_ups.clone(),
                    suggestion: suggestion_diff(result, report),
                })
                .collect(),
        }
    }
}

fn document(files: &[JsonFile]) -> String {
    let document = JsonDocument { version: JSON_VERSION, files };
    // Plain data of strings and numbers: serialization cannot fail.
    serde_json::to_string_pretty(&document).unwrap_or_default() + "\n"
}
