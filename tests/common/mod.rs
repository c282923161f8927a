//! Checks shared by the fixture harness and the corpus test.

use clap::ValueEnum as _;
use dockfix::file_result::FileResult;
use dockfix::output::{self, summary, Fixed, Format};
use dockfix_transforms::engine::{self, Report};
use dockfix_transforms::rules::env_secrets::{literal_secrets, SecretOptions};
use dockfix_transforms::suppress::{is_suppressed, suppressions};
use dockfix_transforms::{rules, Options};
use dockfix_transforms::{Dockerfile, Edit, Source};
use dockfix_transforms::{NoBuildContext, Rule};

/// Problems with how a run treated the literal secrets of `input`: a value printed in an
/// env-secrets finding (message, risk or reason), or a secret left in `output` without an
/// unfixed finding on its line (`output_reports`, from a run over `output`) or a suppression.
pub fn secret_problems(
    input: &str,
    reports: &[Report],
    output: &str,
    output_reports: &[Report],
    options: &SecretOptions,
) -> Vec<String> {
    let mut problems = Vec::new();
    let secrets = literal_secrets(&Dockerfile::parse(Source::new(input).text()), options);
    for report in reports.iter().filter(|report| report.transform == "env-secrets") {
        let texts = [Some(&report.message), report.risk.as_ref(), report.declined.as_ref()];
        for text in texts.into_iter().flatten() {
            if let Some(secret) = secrets.iter().find(|secret| text.contains(secret.value.as_str())) {
                problems
                    .push(format!("line {}: the value of {} is printed: {text}", report.line, secret.name));
            }
        }
    }
    let after = Dockerfile::parse(Source::new(output).text());
    let suppressed = suppressions(&after, &rules::transform_id);
    for secret in literal_secrets(&after, options) {
        let explained = output_reports
            .iter()
            .any(|report| report.transform == "env-secrets" && report.line == secret.line && !report.fixed);
        if !explained && !is_suppressed(&suppressed, "env-secrets", secret.line) {
            problems.push(format!(
                "line {}: {} is left without a finding that says why",
                secret.line, secret.name
            ));
        }
    }
    problems
}

/// Secret values of `text` that an output prints: `rules` run again on the file with its
/// secret values replaced by markers (see [`mark_secrets`]), and every output format
/// rendered from the result: JSON, markdown, the summary, SARIF, GitHub annotations, and the
/// diff on stdout, whose added lines must not show a value (its removed and context lines
/// are the file's own). Also gives how many values were checked.
pub fn printed_secrets(
    name: &str,
    text: &str,
    rules: &[&dyn Rule],
    options: &Options,
) -> (Vec<String>, usize) {
    let (marked, markers) = mark_secrets(text, &options.get::<SecretOptions>());
    if markers.is_empty() {
        return (Vec::new(), 0);
    }
    let outcome = match engine::run(&marked, rules, &NoBuildContext, options) {
        Ok(outcome) => outcome,
        Err(error) => return (vec![format!("the run with marked secrets failed: {error}")], 0),
    };
    let result = FileResult::fixed(
        name.to_string(),
        marked,
        outcome.output,
        outcome.reports,
        outcome.suppression_notes,
        &options.get::<SecretOptions>(),
    );
    let added_lines: String = result
        .diff()
        .lines()
        .filter(|line| line.starts_with('+') && !line.starts_with("+++ "))
        .map(|line| format!("{line}\n"))
        .collect();
    let mut outputs = vec![
        ("summary".to_string(), summary::summary(std::slice::from_ref(&result), false)),
        ("diff (added lines)".to_string(), added_lines),
    ];
    // Every other format, those to come included: each reads the same redacted result.
    for format in Format::value_variants().iter().filter(|format| **format != Format::Diff) {
        outputs.push((format.name(), output::render(*format, Fixed::Previewed, vec![result.clone()])));
    }
    let mut problems = Vec::new();
    for (format, rendered) in outputs {
        for marker in markers.iter().filter(|marker| rendered.contains(marker.as_str())) {
            problems.push(format!("a secret value ({marker}) is printed in the {format} output"));
        }
    }
    (problems, markers.len())
}

/// `input` with each literal secret value replaced by a marker that cannot occur by chance
/// (`dockfixSecretMarker7x`), and the values to look for: the markers, and the values kept
/// where only the value made the pair a secret (a marker there would not be one). Real values
/// are often ordinary words (`root`, `docker`) that outputs contain for other reasons; a
/// marker found in an output was printed from the value's place. The markers are put in the
/// file's own form (line endings, escape character), so the marked text is the same
/// Dockerfile: a canonical text under a `# escape=`` ` directive would split its continued
/// lines into unknown instructions.
pub fn mark_secrets(input: &str, options: &SecretOptions) -> (String, Vec<String>) {
    let source = Source::new(input);
    let mut secrets = literal_secrets(&Dockerfile::parse(source.text()), options);
    secrets.sort_by_key(|secret| secret.value_span.start);
    let mut edits = Vec::new();
    let mut markers = Vec::new();
    for (n, secret) in secrets.iter().enumerate() {
        let marker = format!("dockfixSecretMarker{n}x");
        let probe = format!("FROM a\nENV {}={marker}\n", secret.name);
        if literal_secrets(&Dockerfile::parse(&probe), options).is_empty() {
            markers.push(secret.value.clone());
            continue;
        }
        let overlaps = edits.last().is_some_and(|last: &Edit| last.range.end > secret.value_span.start);
        if source.text().get(secret.value_span.clone()).is_some() && !overlaps {
            edits.push(Edit::new(secret.value_span.clone(), &marker));
            markers.push(marker);
        }
    }
    let marked = source.apply(&edits);
    (marked, markers)
}
