//! The JSON Schemas in `schema/` are generated from the code: `dockfix.toml.schema.json` from
//! the config types, `dockfix-output.schema.json` from the `--format json` document,
//! `dockfix-facts.schema.json` from the facts file (`dockfix facts`). This test
//! fails when a committed schema is stale (regenerate with `DOCKFIX_BLESS_SCHEMAS=1 cargo test
//! --test schema` and review the diff), and checks real output and configs against them.
//! (`gitlab-code-quality.schema.json` is not dockfix's: it is GitLab's report format, written
//! from GitLab's documentation, and `tests/review_formats.rs` checks `--format gitlab` with it.)

use std::path::{Path, PathBuf};
use std::process::Command;

use dockfix::config::Config;
use dockfix::image_facts::file::FactsFile;
use dockfix::output::json;
use dockfix_transforms::image::facts::{
    FileFacts, GroupEntry, ImageConfig, ImageFacts, OsRelease, Package, PackageDb, PackageManager,
    PasswdEntry, Platform,
};

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
    assert_current("dockfix-facts.schema.json", &FactsFile::json_schema());
}

#[test]
fn a_facts_file_matches_its_schema_and_typos_do_not() {
    let validator = jsonschema::validator_for(&load("dockfix-facts.schema.json")).expect("valid schema");
    let facts = ImageFacts {
        digest: Some("sha256:0123".into()),
        platform: Platform { os: "linux".into(), architecture: "arm64".into(), variant: Some("v8".into()) },
        config: ImageConfig {
            user: Some("postgres".into()),
            entrypoint: vec!["docker-entrypoint.sh".into()],
            ..ImageConfig::default()
        },
        history: vec!["RUN apt-get install -y gosu".into()],
        files: Some(FileFacts {
            os_release: Some(OsRelease {
                id: "debian".into(),
                version_id: Some("12".into()),
                ..OsRelease::default()
            }),
            passwd: vec![PasswdEntry {
                name: "postgres".into(),
                uid: 999,
                gid: 999,
                home: "/".into(),
                shell: "/bin/sh".into(),
            }],
            groups: vec![GroupEntry { name: "postgres".into(), gid: 999, members: vec![] }],
            has_shell: true,
            user_tools: vec!["useradd".into()],
            packages: Some(PackageDb {
                manager: PackageManager::Dpkg,
                packages: vec![Package {
                    name: "libpq-dev".into(),
                    version: "15".into(),
                    depends: vec!["libpq5".into()],
                }],
            }),
        }),
    };
    let mut file = FactsFile { version: 1, platform: "linux/arm64/v8".into(), ..FactsFile::default() };
    file.images.insert("postgres:16".into(), facts);
    let document: serde_json::Value = serde_json::from_str(&file.to_json()).expect("JSON");
    let errors: Vec<String> = validator.iter_errors(&document).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "a facts file does not match its schema: {errors:?}");
    for bad in [
        serde_json::json!({"version": 1, "platform": "linux/amd64"}),
        serde_json::json!({"version": 1, "platform": "linux/amd64", "images": {}, "imagez": {}}),
        serde_json::json!({"version": 1, "platform": "linux/amd64", "images": {"a": {"files": {"passwd": [{"name": "x"}]}}}}),
    ] {
        assert!(!validator.is_valid(&bad), "schema accepts {bad}");
    }
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
                       "insecure-registries": ["r:5000"], "timeout-seconds": 20},
        "image-facts": {"platform": "linux/arm64", "facts-file": "dockfix-facts.json"}
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
        serde_json::json!({"image-facts": {"platfrom": "linux/arm64"}}),
    ] {
        assert!(!validator.is_valid(&bad), "schema accepts {bad}");
    }
}
