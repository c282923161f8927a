//! `--format sarif`: a SARIF 2.1.0 log for code scanning (GitHub code scanning, IDE viewers).
//!
//! One run. `tool.driver.rules` describes the transforms that ran, from their own
//! documentation; each finding is a result at its line of the input, and a finding whose fix
//! dockfix applied (or would apply, in a preview) carries that fix as `fixes[].artifactChanges`
//! with replacements in the original text. Files dockfix could not process are tool execution
//! notifications. The log is a pure function of the results: same input, same bytes.
//!
//! Every finding has level `warning`: the transforms do not grade their findings, and a
//! finding without a fix is still something a reviewer should read. A file whose fixes failed
//! `--verify` is a result of level `error` on the file (`ruleId` `verify`).

use dockfix_transforms::{rules, Edit, Report, Rule};
use serde::Serialize;

use super::annotation::{self, TextIndex};
use crate::file_result::FileResult;

/// The `--format sarif` log of a run: every transform dockfix knows is described.
pub fn render(results: &[FileResult]) -> String {
    log(results, rules::all())
}

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The `ruleId` of a file whose fixes failed `--verify`: an error-level result on the file.
const VERIFY_RULE: &str = "verify";
const SARIF_VERSION: &str = "2.1.0";
/// Where the README documents each transform: `HOMEPAGE#<id>` (the README's transform table
/// has an anchor per id).
const HOMEPAGE: &str = env!("CARGO_PKG_REPOSITORY");
/// The code-scanning limit for `fullDescription.text`.
const MAX_DESCRIPTION: usize = 1024;

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool,
    invocations: [Invocation; 1],
    column_kind: &'static str,
    results: Vec<SarifResult<'a>>,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    information_uri: &'static str,
    rules: Vec<RuleDescriptor>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RuleDescriptor {
    id: &'static str,
    name: String,
    short_description: Message,
    full_description: Message,
    help: Help,
    help_uri: String,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties {
    tags: Vec<&'static str>,
    /// Codes of other tools that mean this transform (hadolint).
    aliases: &'static [&'static str],
    reference: &'static str,
}

#[derive(Serialize)]
struct Message {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_execution_notifications: Vec<Notification>,
}

#[derive(Serialize)]
struct Notification {
    level: &'static str,
    message: Message,
    locations: [Location; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<usize>,
    level: &'static str,
    message: Message,
    locations: [Location; 1],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fixes: Vec<SarifFix>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<ResultProperties<'a>>,
}

#[derive(Serialize)]
struct ResultProperties<'a> {
    applicability: &'static str,
    fixed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    declined: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    risk: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: PhysicalLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

#[derive(Serialize, Clone)]
struct ArtifactLocation {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    start_column: usize,
    end_line: usize,
    end_column: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    char_offset: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    char_length: Option<usize>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifFix {
    description: Message,
    artifact_changes: [ArtifactChange; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactChange {
    artifact_location: ArtifactLocation,
    replacements: Vec<Replacement>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Replacement {
    deleted_region: Region,
    /// Absent for a pure deletion.
    #[serde(skip_serializing_if = "Option::is_none")]
    inserted_content: Option<ArtifactContent>,
}

#[derive(Serialize)]
struct ArtifactContent {
    text: String,
}

/// The SARIF log of a run of `rules` that gave `results`.
pub fn log(results: &[FileResult], rules: &[&dyn Rule]) -> String {
    let mut sarif_results = Vec::new();
    let mut notifications = Vec::new();
    for result in results {
        let artifact = ArtifactLocation { uri: artifact_uri(&result.path) };
        if let Some(error) = &result.error {
            notifications.push(Notification {
                level: "error",
                message: Message { text: error.clone() },
                locations: [Location {
                    physical_location: PhysicalLocation { artifact_location: artifact.clone(), region: None },
                }],
            });
        }
        let index = TextIndex::new(&result.input);
        for report in &result.reports {
            sarif_results.push(sarif_result(report, rules, &artifact, &index));
        }
        if let Some(message) =
            result.verification.as_ref().and_then(|verification| verification.failure_message())
        {
            sarif_results.push(SarifResult {
                rule_id: VERIFY_RULE,
                rule_index: None,
                level: "error",
                message: Message { text: message },
                locations: [Location {
                    physical_location: PhysicalLocation { artifact_location: artifact.clone(), region: None },
                }],
                fixes: Vec::new(),
                properties: None,
            });
        }
    }
    let log = Log {
        schema: SCHEMA,
        version: SARIF_VERSION,
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: "dockfix",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    information_uri: HOMEPAGE,
                    rules: rules.iter().map(|rule| descriptor(*rule)).collect(),
                },
            },
            invocations: [Invocation {
                execution_successful: notifications.is_empty(),
                tool_execution_notifications: notifications,
            }],
            column_kind: "utf16CodeUnits",
            results: sarif_results,
        }],
    };
    // Plain data of strings and numbers: serialization cannot fail.
    serde_json::to_string_pretty(&log).unwrap_or_default() + "\n"
}

fn descriptor(rule: &dyn Rule) -> RuleDescriptor {
    let documentation = rule.documentation();
    let markdown = format!("{}\nReference: {}\n", documentation.trim_end(), rule.reference());
    RuleDescriptor {
        id: rule.id(),
        name: pascal_case(rule.id()),
        short_description: Message { text: rule.summary().to_string() },
        full_description: Message {
            text: description(&documentation).unwrap_or_else(|| rule.summary().to_string()),
        },
        help: Help { text: markdown.clone(), markdown },
        help_uri: format!("{HOMEPAGE}#{}", rule.id()),
        default_configuration: Configuration { level: "warning" },
        properties: RuleProperties {
            tags: vec!["security", "dockerfile"],
            aliases: rule.aliases(),
            reference: rule.reference(),
        },
    }
}

/// The first paragraph of the documentation's `## Why` section, on one line, within the
/// code-scanning limit.
fn description(documentation: &str) -> Option<String> {
    let (_, why) = documentation.split_once("## Why\n")?;
    let paragraph: Vec<&str> = why
        .lines()
        .skip_while(|line| line.trim().is_empty())
        .take_while(|line| !line.trim().is_empty())
        .collect();
    let text = paragraph.iter().map(|line| line.trim()).collect::<Vec<_>>().join(" ");
    if text.is_empty() || text.starts_with('#') {
        return None;
    }
    if text.chars().count() <= MAX_DESCRIPTION {
        return Some(text);
    }
    let cut: String = text.chars().take(MAX_DESCRIPTION - 1).collect();
    Some(cut + "…")
}

/// `add-to-copy` -> `AddToCopy`: SARIF rule names are identifiers, ids are what users type.
fn pascal_case(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn sarif_result<'a>(
    report: &'a Report,
    rules: &[&dyn Rule],
    artifact: &ArtifactLocation,
    index: &TextIndex,
) -> SarifResult<'a> {
    let line = index.line_range(report.line);
    let (start, end) = (index.position(line.start), index.position(line.end));
    let region = Region {
        start_line: start.line,
        start_column: start.column,
        end_line: end.line,
        end_column: end.column,
        char_offset: None,
        char_length: None,
    };
    let fixes = if report.fixed && !report.edits.is_empty() {
        vec![SarifFix {
            description: Message { text: format!("{}: {}", report.transform, report.message) },
            artifact_changes: [ArtifactChange {
                artifact_location: artifact.clone(),
                replacements: report.edits.iter().map(|edit| replacement(edit, index)).collect(),
            }],
        }]
    } else {
        Vec::new()
    };
    SarifResult {
        rule_id: report.transform,
        rule_index: rules.iter().position(|rule| rule.id() == report.transform),
        level: "warning",
        message: Message { text: annotation::message(report) },
        locations: [Location {
            physical_location: PhysicalLocation { artifact_location: artifact.clone(), region: Some(region) },
        }],
        fixes,
        properties: Some(ResultProperties {
            applicability: report.applicability.as_str(),
            fixed: report.fixed,
            declined: report.declined.as_deref(),
            risk: report.risk.as_deref(),
        }),
    }
}

/// An edit of the input as a replacement: the deleted region by line and column and by
/// offset, and the inserted text.
fn replacement(edit: &Edit, index: &TextIndex) -> Replacement {
    let (start, end) = (index.position(edit.range.start), index.position(edit.range.end));
    Replacement {
        deleted_region: Region {
            start_line: start.line,
            start_column: start.column,
            end_line: end.line,
            end_column: end.column,
            char_offset: Some(start.offset),
            char_length: Some(end.offset - start.offset),
        },
        inserted_content: (!edit.replacement.is_empty())
            .then(|| ArtifactContent { text: edit.replacement.clone() }),
    }
}

/// The file as a URI reference: relative to the repository where it is inside it, else a
/// `file://` URI; reserved characters percent-encoded.
fn artifact_uri(path: &str) -> String {
    let path = annotation::repo_path(path);
    let encoded = percent_encode(&path);
    if path.starts_with('/') {
        format!("file://{encoded}")
    } else {
        encoded
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters and `/`.
fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_uris() {
        assert_eq!(pascal_case("add-to-copy"), "AddToCopy");
        assert_eq!(artifact_uri("./docker/My File.Dockerfile"), "docker/My%20File.Dockerfile");
        assert_eq!(artifact_uri("/nonexistent-root/Dockerfile"), "file:///nonexistent-root/Dockerfile");
        assert_eq!(artifact_uri("<stdin>"), "%3Cstdin%3E");
    }

    #[test]
    fn descriptions_come_from_the_why_section() {
        let docs = "# x\n\n## What it does\n\nThings.\n\n## Why\n\nBecause it\nmatters.\n\nMore.\n";
        assert_eq!(description(docs).as_deref(), Some("Because it matters."));
        assert_eq!(description("# x\n"), None);
        let long = format!("## Why\n\n{}\n", "word ".repeat(400));
        assert_eq!(description(&long).map(|text| text.chars().count()), Some(MAX_DESCRIPTION));
    }
}
