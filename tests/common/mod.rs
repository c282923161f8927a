//! Checks shared by the fixture harness and the corpus test.

use dockfix_transforms::engine::Report;
use dockfix_transforms::rules::env_secrets::literal_secrets;
use dockfix_transforms::suppress::{is_suppressed, suppressions};
use dockfix_transforms::{Dockerfile, Source};

/// Problems with how a run treated the literal secrets of `input`: a value printed in an
/// env-secrets finding (message, risk or reason), or a secret left in `output` without an
/// unfixed finding on its line (`output_reports`, from a run over `output`) or a suppression.
pub fn secret_problems(
    input: &str,
    reports: &[Report],
    output: &str,
    output_reports: &[Report],
) -> Vec<String> {
    let mut problems = Vec::new();
    let secrets = literal_secrets(&Dockerfile::parse(Source::new(input).text()));
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
    let suppressed = suppressions(&after);
    for secret in literal_secrets(&after) {
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
