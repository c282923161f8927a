//! The JSON Schemas in `schema/` are generated from the code: `dockfix.toml.schema.json` from
//! the config types, `dockfix-output.schema.json` from the `--format json` document. This test
//! fails when a committed schema is stale (regenerate with `DOCKFIX_BLESS_SCHEMAS=1 cargo test
//! --test schema` and review the diff), and checks real output and configs against them.

use std::path::{Path, PathBuf};
use std::process::Command;

use dockfix::config::Config;
use dockfix::output::json;

fn schema_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schema").join(name)
}

fn assert_current(name: &str, generated: &str) {
    let path = schema_path(name);
    if std::env::var_os("DOCKFIX_BLESS_SCHEMAS").is_some() {
        std::fs::write(&path, generated).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is stale: regenerate it with `DOCKFIX_BLESS_SCHEMAS=1 cargo test --test schema` and review the diff",
        path.display()
    );
}

fn load(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(schema_path(name)).expect("schema file");
    serde_json::from_str(&text).expect("schema is JSON")
}

#[test]
fn committed_schemas_are_current() {
    assert_current("dockfix.toml.schema.json", &Config::json_schema());
    assert_current("dockfix-output.schema.json", &json::schema());
}

#[test]
fn real_json_output_matches_its_schema() {
    let validator = jsonschema::validator_for(&load("dockfix-output.schema.json")).expect("valid schema");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM debian:12\nENV NPM_TOKEN=hunter2-value\nADD app.tar.gz /app\nRUN npm ci --token \"$NPM_TOKEN\"\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("empty.Dockerfile"), "").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_dockfix"))
        .args(["fix", "--format", "json", "--no-config", "."])
        .current_dir(dir.path())
        .output()
        .expect("run dockfix");
    let document: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let errors: Vec<String> = validator.iter_errors(&document).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "output does not match its schema: {errors:?}\n{document:#}");
    // The document exercised the optional parts: an error, follow-ups, a build command.
    let text = document.to_string();
    for needle in ["\"error\":\"", "\"follow_ups\":[{", "\"build_command\":\"docker build"] {
        assert!(text.contains(needle), "the sample lacks {needle}: {text}");
    }
}

#[test]
fn config_schema_accepts_the_documented_example_and_rejects_typos() {
    let validator = jsonschema::validator_for(&load("dockfix.toml.schema.json")).expect("valid schema");
    let example: serde_json::Value = serde_json::json!({
        "select": ["non-root-user"], "ignore": ["DL3020"], "safe-only": false,
        "non-root-user": {"user-name": "app", "user-id": 10001, "group-id": 2000},
        "env-secrets": {"mode": "file", "extra-names": ["SENTRY_DSN"], "allow-names": ["X"]},
        "pin-images": {"mode": "digest", "update": false, "registry-mirrors": ["m:5000"],
                       "insecure-registries": ["r:5000"], "timeout-seconds": 20}
    });
    assert!(
        validator.is_valid(&example),
        "{:?}",
        validator.iter_errors(&example).map(|e| e.to_string()).collect::<Vec<_>>()
    );
    for bad in [
        serde_json::json!({"selectt": []}),
        serde_json::json!({"env-secrets": {"mode": "bogus"}}),
        serde_json::json!({"non-root-user": {"user-id": 0}}),
        serde_json::json!({"non-root-user": {"group-id": 0}}),
        serde_json::json!({"pin-images": {"mode": "sha"}}),
        serde_json::json!({"pin-images": {"registry-mirror": ["m"]}}),
        serde_json::json!({"pin-images": {"timeout-seconds": 0}}),
    ] {
        assert!(!validator.is_valid(&bad), "schema accepts {bad}");
    }
}
