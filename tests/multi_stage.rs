//! What every split `multi-stage` makes of its fixtures (`transforms/fixtures/multi-stage/`),
//! applied or only suggested, must satisfy:
//!
//! 1. Docker's own parser accepts it (`../shared/tools/buildkit-parse --strict`, or
//!    `$BUILDKIT_PARSE`): missing, it fails the test under `CI=true` and is skipped loudly
//!    otherwise; the other checks still run;
//! 2. the final stage keeps the original's runtime settings (CMD, ENTRYPOINT, WORKDIR, USER,
//!    EXPOSE, ENV, LABEL, HEALTHCHECK, STOPSIGNAL, VOLUME), written exactly as they were and in
//!    the same order, the moved ones with the comments above them; the only setting added is
//!    the virtualenv's `PATH`; every variable a runtime instruction expands is declared in the
//!    stage (ARGs re-declared where used);
//! 3. every `COPY --from` names an earlier stage and copies a path that stage produces: the
//!    paths each fixture's build produces are written down by hand in [`PRODUCED`] (what the
//!    build really writes, the CA bundle of the builder image, an installed tzdata), not
//!    derived from the transform;
//! 4. the builder stage is the original stage, with only the stage name and the virtualenv
//!    lines added;
//! 5. with every transform selected, the result still parses and the other transforms leave
//!    the builder as multi-stage made it (they work on the new runtime stage).
//!
//! A fixture with a sidecar `NAME.facts.json` runs with those facts about its base images,
//! as in the core's fixture harness, so the splits that facts make certain are checked too.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use dockfix_transforms::engine::{self, Outcome};
use dockfix_transforms::image::{ImageCatalog, ImageFacts, Knowledge};
use dockfix_transforms::rules::env_secrets::{literal_secrets, SecretOptions};
use dockfix_transforms::rules::{self, multi_stage::MultiStage};
use dockfix_transforms::syntax::Instruction;
use dockfix_transforms::{Dockerfile, NoBuildContext, Source};
use dockfix_transforms::{Options, Rule};

/// The paths the build of each split fixture produces (the fixture's file stem).
const PRODUCED: &[(&str, &[&str])] = &[
    ("01-go-static-distroless", &["/out/server"]),
    (
        "02-go-cgo-bookworm-tzdata",
        &["/usr/local/bin/app", "/etc/ssl/certs/ca-certificates.crt", "/usr/share/zoneinfo"],
    ),
    ("03-go-named-stage-env-cgo-alpine", &["/src/api"]),
    ("04-go-lowercase", &["/app/app"]),
    ("05-go-crlf-no-final-newline", &["/bin/tool"]),
    ("06-go-settings-before-build", &["/srv/app/bin/app"]),
    ("07-go-install", &["/go/bin/worker"]),
    (
        "08-rust-release-bin-from-command",
        &["/usr/src/app/target/release/server", "/etc/ssl/certs/ca-certificates.crt"],
    ),
    ("09-rust-cargo-install", &["/usr/local/cargo/bin/greeter", "/etc/ssl/certs/ca-certificates.crt"]),
    ("10-node-npm-dist", &["/app/dist"]),
    ("11-node-alpine-old-npm", &["/usr/src/app/build"]),
    ("12-python-venv-gcc", &["/opt/venv", "/app"]),
    ("13-python-alpine-virtual-deps", &["/opt/venv", "/srv"]),
    ("14-java-maven-copied-jar", &["/app.jar"]),
    ("15-java-gradle", &["/home/gradle/project/build/libs/app.jar"]),
    ("20-go-output-named-by-module", &["/src/myapp"]),
    ("21-go-cgo-release-unknown", &["/bin/app", "/etc/ssl/certs/ca-certificates.crt"]),
    ("22-rust-release-unknown", &["/app/target/release/api", "/etc/ssl/certs/ca-certificates.crt"]),
    ("23-node-npm-start", &["/app/dist"]),
    ("24-node-yarn", &["/app/dist"]),
    ("25-python-libpq-and-curl", &["/opt/venv", "/code"]),
    ("26-go-user-created-in-builder", &["/home/app/server"]),
    ("27-go-shell-form-reads-config", &["/usr/local/bin/svc", "/etc/ssl/certs/ca-certificates.crt"]),
    ("28-java-version-unknown", &["/app/target/service-1.0.jar"]),
    ("29-go-run-after-build", &["/app"]),
    ("30-python-runtime-package", &["/opt/venv", "/app"]),
    ("60-secret-env-not-declared-again", &["/out/server"]),
    ("61-suggestion-with-secret-env", &["/usr/local/bin/svc", "/etc/ssl/certs/ca-certificates.crt"]),
    ("86-apt-purge-after-build-is-a-cleanup", &["/out/server"]),
    (
        "90-facts-rust-release-from-os-release",
        &["/app/target/release/api", "/etc/ssl/certs/ca-certificates.crt"],
    ),
    (
        "91-facts-rust-facts-for-another-tag",
        &["/app/target/release/api", "/etc/ssl/certs/ca-certificates.crt"],
    ),
    ("92-facts-rust-without-files", &["/app/target/release/api", "/etc/ssl/certs/ca-certificates.crt"]),
    ("93-facts-python-libpq-runtime-package", &["/opt/venv", "/app"]),
    ("94-facts-python-dev-package-not-in-database", &["/opt/venv", "/app"]),
    (
        "95-facts-ubuntu-builder-ubuntu-runtime",
        &["/app/target/release/api", "/etc/ssl/certs/ca-certificates.crt"],
    ),
];

/// Runtime settings the final stage must keep.
const SETTINGS: &[&str] = &[
    "CMD",
    "ENTRYPOINT",
    "WORKDIR",
    "USER",
    "EXPOSE",
    "ENV",
    "LABEL",
    "HEALTHCHECK",
    "STOPSIGNAL",
    "VOLUME",
];

/// The lines the Python recipe adds to both stages.
const VENV_LINES: &[&str] = &["RUN python -m venv /opt/venv", "ENV PATH=\"/opt/venv/bin:$PATH\""];

/// Variables the runtime images define themselves.
const IMAGE_VARIABLES: &[&str] = &["PATH", "HOME"];

fn loud(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("transforms/fixtures/multi-stage");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.expect("readable fixture dir").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "Dockerfile"))
        .collect();
    files.sort();
    files
}

/// Docker's parser, or `None` (loudly; a failure under `CI=true`) when it is not there.
fn buildkit_parse() -> Option<PathBuf> {
    let path = std::env::var_os("BUILDKIT_PARSE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/buildkit-parse"));
    if path.exists() {
        return Some(path);
    }
    let message = format!("BuildKit's parser is not at {} (set BUILDKIT_PARSE)", path.display());
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("CI=true and {message}");
    }
    loud(&format!("\n*** SKIPPED the Docker parser check of multi-stage outputs: {message} ***\n"));
    None
}

/// Problems BuildKit's parser (with its strict checks) finds in `text`.
fn docker_rejects(tool: &Path, text: &str) -> Option<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("Dockerfile");
    std::fs::write(&file, text).expect("write Dockerfile");
    let out = Command::new(tool)
        .arg(&file)
        .arg("--strict")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", tool.display()));
    let report = String::from_utf8_lossy(&out.stdout);
    let json: serde_json::Value = serde_json::from_str(&report)
        .unwrap_or_else(|error| panic!("buildkit-parse printed no JSON ({error}): {report}"));
    let accepted = out.status.success() && json["ok"] == true && json["strict_ok"] != false;
    (!accepted).then(|| format!("{} {}", json["error"], json["strict_errors"]))
}

fn run(rules: &[&dyn Rule], text: &str, options: &Options) -> Outcome {
    engine::run(text, rules, &NoBuildContext, options).unwrap_or_else(|error| panic!("{error}"))
}

/// The options of a fixture: its sidecar `NAME.facts.json` (facts about its base images, as
/// the core's fixture harness reads it) in the run's image catalog, or none.
fn fixture_options(fixture: &Path) -> Options {
    let path = fixture.with_extension("facts.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Options::default();
    };
    #[derive(serde::Deserialize)]
    struct FactsFile {
        images: std::collections::BTreeMap<String, ImageFacts>,
    }
    let file: FactsFile =
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let mut catalog = ImageCatalog::default();
    for (reference, facts) in file.images {
        catalog.insert(&reference, facts, Knowledge::Registry);
    }
    Options::default().with(catalog)
}

/// A parsed text, in its canonical form (LF line ends, final newline).
struct Parsed {
    text: String,
    file: Dockerfile,
}

impl Parsed {
    fn new(text: &str) -> Parsed {
        let text = Source::new(text).text().to_string();
        let file = Dockerfile::parse(&text);
        Parsed { text, file }
    }

    fn final_stage(&self) -> &[Instruction] {
        let stage = self.file.final_stage().expect("a stage");
        self.file.stage_instructions(stage)
    }

    fn source(&self, instruction: &Instruction) -> String {
        self.text[instruction.span.clone()].to_string()
    }

    fn comments_above(&self, instruction: &Instruction) -> Vec<String> {
        self.file.comments_above(instruction).map(|comment| comment.text.clone()).collect()
    }

    /// The runtime settings of the final stage, as written.
    fn settings(&self) -> Vec<String> {
        let is_setting = |i: &&Instruction| SETTINGS.iter().any(|k| i.is(k));
        self.final_stage().iter().filter(is_setting).map(|i| self.source(i)).collect()
    }

    /// The settings the runtime stage must declare: [`Parsed::settings`], with each `ENV`
    /// that holds a literal secret written without its secret pairs (left out when nothing
    /// is left): the runtime stage never gets a copy of a secret.
    fn settings_without_secrets(&self) -> Vec<String> {
        let secrets = literal_secrets(&self.file, &SecretOptions::default());
        let is_setting = |i: &&Instruction| SETTINGS.iter().any(|k| i.is(k));
        self.final_stage()
            .iter()
            .filter(is_setting)
            .filter_map(|i| {
                let held: Vec<&str> =
                    secrets.iter().filter(|s| s.line == i.start_line).map(|s| s.name.as_str()).collect();
                if held.is_empty() || !i.is("ENV") {
                    return Some(self.source(i));
                }
                let kept: Vec<&str> = i
                    .words
                    .iter()
                    .map(|w| w.text.as_str())
                    .filter(|w| w.contains('=') && !held.contains(&w.split('=').next().unwrap_or_default()))
                    .collect();
                (!kept.is_empty()).then(|| format!("{} {}", i.keyword, kept.join(" ")))
            })
            .collect()
    }
}

/// The checks of the module docs for one split (`split` is the text multi-stage proposes).
fn check_split(name: &str, input: &str, split: &str, produced: &[&str], problems: &mut Vec<String>) {
    let before = Parsed::new(input);
    let after = Parsed::new(split);
    let mut fail = |problem: String| problems.push(format!("{name}: {problem}"));
    if after.file.stages.len() != before.file.stages.len() + 1 {
        fail(format!(
            "{} stages after the split, expected one more than {}",
            after.file.stages.len(),
            before.file.stages.len()
        ));
        return;
    }

    // 2. Runtime settings, in order, as written; comments of the moved ones; variables.
    let kept: Vec<String> =
        after.settings().into_iter().filter(|s| !VENV_LINES.contains(&s.as_str())).collect();
    if kept != before.settings_without_secrets() {
        fail(format!(
            "runtime settings changed:\n  before {:?}\n  after  {:?}",
            before.settings_without_secrets(),
            kept
        ));
    }
    let original = before.final_stage();
    let last_run = original.iter().rposition(|i| i.is("RUN")).expect("a RUN");
    for moved in original[last_run + 1..].iter().filter(|i| SETTINGS.iter().any(|k| i.is(k))) {
        let text = before.source(moved);
        let Some(now) = after.final_stage().iter().find(|i| after.source(i) == text) else {
            continue; // reported above
        };
        if after.comments_above(now) != before.comments_above(moved) {
            fail(format!("the comments above `{text}` changed"));
        }
    }
    let runtime = after.final_stage();
    for (index, instruction) in runtime.iter().enumerate().filter(|(_, i)| !i.is("RUN") && !i.is("FROM")) {
        let text = after.source(instruction);
        for name in variables(&text) {
            let declared = runtime[..index]
                .iter()
                .filter(|i| i.is("ARG") || i.is("ENV"))
                .any(|i| i.words.iter().any(|w| w.text.split('=').next() == Some(name.as_str())));
            if !declared && !IMAGE_VARIABLES.contains(&name.as_str()) {
                fail(format!("`{text}` uses ${name}, which the runtime stage does not declare"));
            }
        }
    }

    // 3. COPY --from: an earlier stage, a path it produces.
    let stage_names: Vec<String> = after.file.stages[..after.file.stages.len() - 1]
        .iter()
        .filter_map(|stage| stage.name.clone())
        .collect();
    for copy in runtime.iter().filter(|i| i.flag("from").is_some()) {
        let from = copy.flag("from").and_then(|f| f.value.clone()).unwrap_or_default().to_ascii_lowercase();
        if !stage_names.contains(&from) {
            fail(format!("`{}` copies from `{from}`, which is not an earlier stage", after.source(copy)));
        }
        let sources: Vec<String> = match &copy.exec_form {
            Some(argv) => argv[..argv.len().saturating_sub(1)].to_vec(),
            None => copy.words[..copy.words.len().saturating_sub(1)].iter().map(|w| w.text.clone()).collect(),
        };
        for source in sources {
            let known = produced.iter().any(|p| source == *p || source.starts_with(&format!("{p}/")));
            if !known {
                fail(format!(
                    "`{}` copies `{source}`, which the build does not produce ({produced:?})",
                    after.source(copy)
                ));
            }
        }
    }

    // 4. The builder is the original stage, named, with only the virtualenv lines added.
    let final_from = &after.file.instructions[after.file.final_stage().expect("stage").from];
    let builder: Vec<&str> =
        after.text[..final_from.line_span.start].lines().filter(|line| !VENV_LINES.contains(line)).collect();
    let original_lines: Vec<&str> = before.text[..original[last_run].line_span.end].lines().collect();
    let builder_from = &after.file.instructions[after.file.stages[after.file.stages.len() - 2].from];
    let from_line = builder_from.start_line - 1;
    let same_elsewhere = builder.len() >= original_lines.len()
        && builder
            .iter()
            .enumerate()
            .take(original_lines.len())
            .all(|(i, line)| i == from_line || *line == original_lines[i])
        && builder[original_lines.len()..].iter().all(|line| line.trim().is_empty());
    if !same_elsewhere {
        fail(format!("the builder stage is not the original stage:\n{}", builder.join("\n")));
    }
    if !builder.get(from_line).is_some_and(|line| line.to_ascii_lowercase().contains(" as builder")) {
        fail(format!("the builder stage is not named `builder`: {:?}", builder.get(from_line)));
    }
}

/// `$NAME` and `${NAME...}` in a text.
fn variables(text: &str) -> Vec<String> {
    text.match_indices('$')
        .filter_map(|(at, _)| {
            let rest = &text[at + 1..];
            let rest = rest.strip_prefix('{').unwrap_or(rest);
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            (!name.is_empty()).then_some(name)
        })
        .collect()
}

#[test]
fn every_split_parses_keeps_the_runtime_settings_and_copies_what_the_builder_produces() {
    let parser = buildkit_parse();
    let mut problems = Vec::new();
    let mut checked = 0;
    for path in fixtures() {
        let stem = path.file_stem().and_then(|s| s.to_str()).expect("fixture name").to_string();
        let input = std::fs::read_to_string(&path).expect("fixture is UTF-8");
        let options = fixture_options(&path);
        let outcome = run(&[&MultiStage], &input, &options);
        let suggested = outcome.reports.iter().find_map(|report| report.suggestion.clone());
        let split = match (outcome.output != input, suggested) {
            (true, _) => outcome.output.clone(),
            (false, Some(suggested)) => suggested,
            (false, None) => {
                assert!(
                    PRODUCED.iter().all(|(name, _)| *name != stem),
                    "{stem}: listed in PRODUCED but neither split nor suggested"
                );
                continue;
            }
        };
        let produced = PRODUCED
            .iter()
            .find(|(name, _)| *name == stem)
            .map(|(_, paths)| *paths)
            .unwrap_or_else(|| panic!("{stem}: add the paths its build produces to PRODUCED"));
        check_split(&stem, &input, &split, produced, &mut problems);
        if let Some(tool) = &parser {
            if let Some(error) = docker_rejects(tool, &split) {
                problems.push(format!("{stem}: Docker's parser rejects the split: {error}\n{split}"));
            }
        }
        // 5. With every transform: still valid; the builder is as multi-stage made it.
        if outcome.output != input {
            // env-secrets takes secrets out of the builder too: that is its change, not one
            // to the split.
            let has_secrets =
                !literal_secrets(&Parsed::new(&input).file, &SecretOptions::default()).is_empty();
            let others: Vec<&dyn Rule> = rules::all()
                .iter()
                .copied()
                .filter(|rule| !has_secrets || rule.id() != "env-secrets")
                .collect();
            let all = run(&others, &input, &options);
            let alone = Parsed::new(&outcome.output);
            let together = Parsed::new(&all.output);
            let builder_end = |parsed: &Parsed| {
                let from = parsed.file.final_stage().expect("stage").from;
                parsed.text[..parsed.file.instructions[from].line_span.start].to_string()
            };
            if builder_end(&alone) != builder_end(&together) {
                problems.push(format!("{stem}: other transforms changed the builder stage:\n{}", all.output));
            }
            if let Some(error) = parser.as_ref().and_then(|tool| docker_rejects(tool, &all.output)) {
                problems
                    .push(format!("{stem}: Docker's parser rejects the output of all transforms: {error}"));
            }
        }
        checked += 1;
    }
    loud(&format!("multi-stage: {checked} split fixtures checked"));
    assert_eq!(checked, PRODUCED.len(), "every fixture in PRODUCED is split or suggested");
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
