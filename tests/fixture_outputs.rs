//! The env-secrets fixtures through the CLI's outputs: no secret value may reach a finding,
//! stay in the fixed file unexplained, or be printed by any output format. The fixtures'
//! snapshots are checked by the core's own harness (`transforms/tests/fixtures.rs`); this is
//! the part that needs the shell (its formats, and its reading of the sidecar `NAME.toml`).

mod common;

use std::path::{Path, PathBuf};

use dockfix::config::Config;
use dockfix::settings::{combine, CommandLine};
use dockfix_transforms::engine;
use dockfix_transforms::rules::env_secrets::{EnvSecrets, SecretOptions};
use dockfix_transforms::{NoBuildContext, Options, Rule};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("transforms/fixtures").join(EnvSecrets.id());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.expect("readable fixture dir").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "Dockerfile"))
        .collect();
    files.sort();
    files
}

/// The options of the sidecar `NAME.toml`, read as `dockfix fix` reads a `dockfix.toml`.
fn sidecar_options(fixture: &Path) -> Options {
    let sidecar = fixture.with_extension("toml");
    if !sidecar.is_file() {
        return Options::default();
    }
    let config = Config::load(&sidecar).unwrap_or_else(|error| panic!("{error}"));
    let origin = sidecar.display().to_string();
    combine(&config, &CommandLine::default(), &origin).unwrap_or_else(|error| panic!("{error}")).options
}

#[test]
fn no_output_prints_a_fixture_secret() {
    let rules: [&dyn Rule; 1] = [&EnvSecrets];
    let files = fixtures();
    assert!(!files.is_empty());
    for path in files {
        let input = std::fs::read_to_string(&path).expect("fixture is UTF-8");
        let name = format!(
            "{}/{}",
            EnvSecrets.id(),
            path.file_name().and_then(|n| n.to_str()).expect("fixture name")
        );
        let options = sidecar_options(&path);
        let outcome = engine::run(&input, &rules, &NoBuildContext, &options).expect("engine runs");
        let again = engine::run(&outcome.output, &rules, &NoBuildContext, &options).expect("engine runs");
        let problems = common::secret_problems(
            &input,
            &outcome.reports,
            &outcome.output,
            &again.reports,
            &options.get::<SecretOptions>(),
        );
        let (printed, _) = common::printed_secrets(&name, &input, &rules, &options);
        let problems = problems.into_iter().chain(printed).collect::<Vec<_>>();
        assert!(problems.is_empty(), "{name}: {}", problems.join("; "));
    }
}
