//! What the fixture harness needs from outside the core, written for the tests: a build
//! context backed by a fixture's `context/` directory, a fixture's sidecar options, the
//! registry answers of `registry.json`, and the unified diff the snapshots show.

use std::io::Read;
use std::path::{Path, PathBuf};

use dockfix_transforms::context_files::{self, ContextFiles, Entry};
use dockfix_transforms::image::{ImageCatalog, ImageFacts, Knowledge};
use dockfix_transforms::pin::{PinMode, Resolution, Resolved, TableResolver};
use dockfix_transforms::rules::env_secrets::EnvSecretsConfig;
use dockfix_transforms::rules::non_root_user::NonRootUserConfig;
use dockfix_transforms::{BuildContext, Options, SourceKind};
use serde::Deserialize;

/// A fixture's `context/` directory as its build context. Fixture contexts hold no symlinks,
/// so reading needs no check that a file lies inside.
pub struct FixtureContext {
    root: PathBuf,
}

impl FixtureContext {
    pub fn new(root: PathBuf) -> Self {
        FixtureContext { root }
    }
}

impl BuildContext for FixtureContext {
    fn classify(&self, source: &str) -> SourceKind {
        context_files::classify(self, source)
    }

    fn read_text(&self, path: &str) -> Option<String> {
        context_files::read_text(self, path)
    }
}

impl ContextFiles for FixtureContext {
    fn exists(&self, path: &Path) -> bool {
        self.root.join(path).exists()
    }

    fn names_in(&self, dir: &Path) -> Option<Vec<String>> {
        let entries = std::fs::read_dir(self.root.join(dir)).ok()?;
        Some(
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect(),
        )
    }

    fn entry(&self, path: &Path, head_bytes: usize) -> Option<Entry> {
        let path = self.root.join(path);
        if path.is_dir() {
            return Some(Entry::Directory);
        }
        let mut head = Vec::new();
        std::fs::File::open(path).ok()?.take(head_bytes as u64).read_to_end(&mut head).ok()?;
        Some(Entry::File { head })
    }

    fn read(&self, path: &Path, limit: u64) -> Option<Vec<u8>> {
        let path = self.root.join(path);
        let mut bytes = Vec::new();
        std::fs::File::open(path.is_file().then_some(path)?)
            .ok()?
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .ok()?;
        Some(bytes)
    }
}

/// The tables of a sidecar `NAME.toml` that set options: a `dockfix.toml` read straight into
/// the transforms' own option tables (its transform selection and registry keys are not the
/// fixture's business).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Sidecar {
    safe_only: Option<bool>,
    fix_generated: Option<bool>,
    non_root_user: Option<NonRootUserConfig>,
    env_secrets: Option<EnvSecretsConfig>,
    pin_images: Option<PinTable>,
}

/// The keys of `[pin-images]` that are pin-images' options rather than registry settings.
#[derive(Debug, Default, Deserialize)]
pub struct PinTable {
    pub mode: Option<PinMode>,
    pub update: Option<bool>,
}

/// The options of the sidecar `NAME.toml` beside a fixture (defaults without one), and its
/// `[pin-images]` keys for the harness to combine with the fixture's own `# fixture:` line.
pub fn sidecar_options(fixture: &Path) -> (Options, PinTable) {
    let path = fixture.with_extension("toml");
    let sidecar: Sidecar = match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display())),
        Err(_) => Sidecar::default(),
    };
    let secrets = sidecar
        .env_secrets
        .unwrap_or_default()
        .options()
        .unwrap_or_else(|error| panic!("{}: [env-secrets] {error}", path.display()));
    let options = Options {
        safe_only: sidecar.safe_only.unwrap_or(false),
        fix_generated: sidecar.fix_generated.unwrap_or(false),
        ..Options::default()
    }
    .with(sidecar.non_root_user.unwrap_or_default().new_user())
    .with(secrets);
    (options, sidecar.pin_images.unwrap_or_default())
}

/// A sidecar `NAME.facts.json`: the facts of base images, by the reference as written in
/// `FROM`, in the shape of the committed facts file (whose `version` and `platform` the
/// fixtures need not give).
#[derive(Debug, Deserialize)]
struct FactsFile {
    images: std::collections::BTreeMap<String, ImageFacts>,
}

/// The catalog of the sidecar `NAME.facts.json` beside a fixture, as if read from the
/// registry; `None` without one (the run then has no facts, as offline).
pub fn fixture_catalog(fixture: &Path) -> Option<ImageCatalog> {
    let path = fixture.with_extension("facts.json");
    let text = std::fs::read_to_string(&path).ok()?;
    let file: FactsFile =
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let mut catalog = ImageCatalog::default();
    for (reference, facts) in file.images {
        assert!(
            ImageCatalog::key(&reference).is_some(),
            "{}: `{reference}` is no image reference",
            path.display()
        );
        catalog.insert(&reference, facts, Knowledge::Registry);
    }
    Some(catalog)
}

/// The answers of `registry.json`: `{"KEY": {"digest": .., "version": ..} | {"unresolved": ..}}`.
pub fn fixture_registry(dir: &Path) -> Option<TableResolver> {
    let text = std::fs::read_to_string(dir.join("registry.json")).ok()?;
    let entries: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{}/registry.json: {error}", dir.display()));
    let mut table = TableResolver::new();
    for (key, answer) in entries.into_iter().filter(|(key, _)| !key.starts_with('_')) {
        let field = |name: &str| answer.get(name).and_then(|v| v.as_str()).map(str::to_string);
        let resolution = match (field("digest"), field("unresolved")) {
            (Some(digest), None) => Resolution::Found(Resolved { digest, version_tag: field("version") }),
            (None, Some(reason)) => Resolution::Unresolved { reason },
            _ => panic!("registry.json: {key}: give `digest` (and `version`) or `unresolved`"),
        };
        table.insert(key, resolution);
    }
    Some(table)
}

/// A git-style unified diff of `name` (a relative path), as `dockfix fix` prints it.
pub fn unified_diff(name: &str, before: &str, after: &str) -> String {
    let diff = similar::TextDiff::from_lines(before, after);
    let body =
        diff.unified_diff().context_radius(3).header(&format!("a/{name}"), &format!("b/{name}")).to_string();
    format!("diff --git a/{name} b/{name}\n{body}")
}
