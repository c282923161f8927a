//! How every output format shows `--verify`'s result, without building anything: a result is
//! given a verification and rendered. A failed verification is an error on the file in SARIF,
//! GitHub annotations, rdjson and the GitLab report (`major`), a section in the pull-request body, an object in the JSON; builder
//! output that holds the file's secret value is redacted in all of them.

use clap::ValueEnum;
use dockfix::file_result::FileResult;
use dockfix::output::{render, Fixed, Format};
use dockfix::verify::report::{Check, CheckName, Figures, Status, Verification};
use dockfix_transforms::rules::env_secrets::SecretOptions;
use dockfix_transforms::{Applicability, Report};
use serde_json::Value;

const SECRET: &str = "ghp_0123456789abcdefghijklmnopqrstuvwxyz";

fn result(verdict_fails: bool) -> FileResult {
    let input = format!("FROM debian:12\nENV GITHUB_TOKEN={SECRET}\nCMD [\"serve\"]\n");
    let output = "FROM debian:12\nUSER app\nCMD [\"serve\"]\n".to_string();
    let report = Report {
        transform: "non-root-user",
        line: 3,
        message: "the final stage runs as root: switch to `app`".into(),
        risk: Some("the process runs as `app`".into()),
        applicability: Applicability::Unsafe,
        fixed: true,
        declined: None,
        follow_ups: Vec::new(),
        edits: Vec::new(),
        suggestion: None,
    };
    let mut result = FileResult::fixed(
        "Dockerfile".into(),
        input,
        output,
        vec![report],
        Vec::new(),
        &SecretOptions::default(),
    );
    let smoke = Check {
        check: CheckName::Smoke,
        status: if verdict_fails { Status::Failed } else { Status::Passed },
        evidence: format!(
            "`serve`: original still running, fixed exit 1\n--- fixed output\ntoken {SECRET} refused"
        ),
    };
    let figures = Figures {
        user_before: Some(String::new()),
        user_after: Some("app".into()),
        setuid_before: Some(11),
        setuid_after: Some(0),
        size_before: Some(74_000_000),
        size_after: Some(73_900_000),
        smoke: Some("still running → exit 1".into()),
    };
    result.set_verification(Verification::of_checks("buildah", vec![smoke], figures));
    result
}

fn all_formats(result: &FileResult) -> Vec<(Format, String)> {
    Format::value_variants()
        .iter()
        .map(|format| (*format, render(*format, Fixed::Previewed, vec![result.clone()])))
        .collect()
}

#[test]
fn a_failed_verification_is_an_error_on_the_file() {
    let failed = result(true);
    let sarif: Value = serde_json::from_str(&render(Format::Sarif, Fixed::Previewed, vec![failed.clone()]))
        .expect("SARIF is JSON");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    let verify: Vec<&Value> = results.iter().filter(|result| result["ruleId"] == "verify").collect();
    assert_eq!(verify.len(), 1, "{sarif:#}");
    assert_eq!(verify[0]["level"], "error");
    assert_eq!(verify[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "Dockerfile");
    let text = verify[0]["message"]["text"].as_str().unwrap_or_default();
    assert!(text.starts_with("the fixed image failed to verify (buildah): check `smoke` failed\n"), "{text}");

    let github = render(Format::Github, Fixed::Previewed, vec![failed.clone()]);
    assert!(
        github.contains(
            "::error file=Dockerfile,title=dockfix verify::the fixed image failed to verify (buildah)"
        ),
        "{github}"
    );

    let json: Value =
        serde_json::from_str(&render(Format::Json, Fixed::Previewed, vec![failed.clone()])).expect("JSON");
    assert_eq!(json["version"], 3);
    assert_eq!(json["files"][0]["verification"]["verdict"], "failed");
    assert_eq!(json["files"][0]["verification"]["checks"][0]["check"], "smoke");

    let rdjsonl = render(Format::Rdjsonl, Fixed::Previewed, vec![failed.clone()]);
    let last: Value = serde_json::from_str(rdjsonl.lines().last().unwrap_or_default()).expect("JSON line");
    assert_eq!(last["severity"], "ERROR", "{rdjsonl}");
    assert_eq!(last["code"]["value"], "verify");
    assert_eq!(last["location"]["path"], "Dockerfile");
    let gitlab: Value =
        serde_json::from_str(&render(Format::Gitlab, Fixed::Previewed, vec![failed.clone()])).expect("JSON");
    let verify: Vec<&Value> =
        gitlab.as_array().expect("issues").iter().filter(|issue| issue["check_name"] == "verify").collect();
    assert_eq!(verify.len(), 1, "{gitlab:#}");
    assert_eq!(verify[0]["severity"], "major");

    let markdown = render(Format::Markdown, Fixed::Previewed, vec![failed]);
    assert!(markdown.contains("**Verified** (`buildah`): **failed**: check `smoke` failed"), "{markdown}");
    assert!(markdown.contains("| Setuid/setgid files | 11 | 0 |"), "{markdown}");
}

#[test]
fn a_verified_file_has_no_error_and_shows_its_figures() {
    let verified = result(false);
    let sarif = render(Format::Sarif, Fixed::Previewed, vec![verified.clone()]);
    assert!(!sarif.contains("\"ruleId\": \"verify\""), "{sarif}");
    let github = render(Format::Github, Fixed::Previewed, vec![verified.clone()]);
    assert!(!github.contains("::error"), "{github}");
    let markdown = render(Format::Markdown, Fixed::Previewed, vec![verified]);
    assert!(markdown.contains("**Verified** (`buildah`): **verified**\n"), "{markdown}");
    assert!(markdown.contains("| User | `root` | `app` |"), "{markdown}");
    assert!(markdown.contains("| Image size | 74.0 MB | 73.9 MB |"), "{markdown}");
    assert!(markdown.contains("Smoke run: still running → exit 1"), "{markdown}");
}

#[test]
fn builder_output_never_shows_the_secret() {
    let failed = result(true);
    for (format, text) in all_formats(&failed) {
        if format == Format::Diff {
            // The diff shows the file's own removed line, as every diff does.
            continue;
        }
        assert!(!text.contains(SECRET), "{format:?} shows the secret:\n{text}");
        assert!(text.contains("token **** refused"), "{format:?} lacks the redacted evidence:\n{text}");
    }
    let summary = failed.verification.as_ref().expect("verification").summary_lines(&failed.path);
    assert!(!summary.contains(SECRET) && summary.contains("token **** refused"), "{summary}");
}
