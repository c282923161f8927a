//! The facts file: image facts committed beside the Dockerfiles, so that CI and bots decide
//! the same way offline, run after run. `dockfix facts --write FILE` writes it; `fix
//! --facts-file FILE` (or `facts-file` in `dockfix.toml`) reads it before the cache and the
//! registry. Its JSON Schema is `schema/dockfix-facts.schema.json`.
//!
//! ```json
//! {"version": 1, "platform": "linux/amd64",
//!  "images": {"python:3.12-slim": {"digest": "sha256:...", "config": {...}, "files": {...}}}}
//! ```
//!
//! The keys of `images` are references as written in a `FROM` (ARGs substituted); they are
//! matched however a Dockerfile writes the same image (`python:3.12` is
//! `docker.io/library/python:3.12`).

use std::collections::BTreeMap;
use std::path::Path;

use dockfix_transforms::image::facts::ImageFacts;
use dockfix_transforms::image::ImageCatalog;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The version of the facts file this dockfix writes and reads.
pub const FACTS_FILE_VERSION: u32 = 1;

/// The contents of a facts file.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "dockfix image facts",
    description = "Facts about base images, read from their registry by `dockfix facts`, for `dockfix fix --facts-file`"
)]
pub struct FactsFile {
    /// The version of this format: 1.
    pub version: u32,
    /// The platform the facts were read for (`OS/ARCH[/VARIANT]`).
    pub platform: String,
    /// Each image's facts, by its reference as written in a `FROM` (ARGs substituted).
    pub images: BTreeMap<String, ImageFacts>,
}

#[derive(Debug, Error)]
pub enum FactsFileError {
    #[error("{path}: cannot read: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: not a dockfix facts file: {message}")]
    Invalid { path: String, message: String },
    #[error("{path}: facts file version {version}; this dockfix reads version {FACTS_FILE_VERSION}")]
    Version { path: String, version: u32 },
}

impl FactsFile {
    /// Reads and checks a facts file.
    pub fn load(path: &Path) -> Result<FactsFile, FactsFileError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|source| FactsFileError::Read { path: shown.clone(), source })?;
        let file: FactsFile = serde_json::from_str(&text)
            .map_err(|error| FactsFileError::Invalid { path: shown.clone(), message: error.to_string() })?;
        if file.version != FACTS_FILE_VERSION {
            return Err(FactsFileError::Version { path: shown, version: file.version });
        }
        Ok(file)
    }

    /// The facts of `reference`, however it is written.
    pub fn get(&self, reference: &str) -> Option<&ImageFacts> {
        let key = ImageCatalog::key(reference)?;
        self.images
            .iter()
            .find(|(written, _)| ImageCatalog::key(written).as_deref() == Some(key.as_str()))
            .map(|(_, facts)| facts)
    }

    /// The file as written: pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        // Plain data: serialization cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// The JSON Schema of the file (`schema/dockfix-facts.schema.json`).
    pub fn json_schema() -> String {
        let schema = schemars::schema_for!(FactsFile);
        serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_match_however_written_and_versions_are_checked() {
        let mut file = FactsFile { version: 1, platform: "linux/amd64".into(), ..FactsFile::default() };
        let facts = ImageFacts { digest: Some("sha256:1".into()), ..ImageFacts::default() };
        file.images.insert("python:3.12".into(), facts.clone());
        assert_eq!(file.get("docker.io/library/python:3.12"), Some(&facts));
        assert_eq!(file.get("python:3.13"), None);

        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("facts.json");
        std::fs::write(&path, file.to_json()).expect("write");
        assert_eq!(FactsFile::load(&path).expect("valid"), file);
        std::fs::write(&path, file.to_json().replace("\"version\": 1", "\"version\": 2")).expect("write");
        assert!(matches!(FactsFile::load(&path), Err(FactsFileError::Version { version: 2, .. })));
        std::fs::write(&path, "{\"images\": 3}").expect("write");
        assert!(matches!(FactsFile::load(&path), Err(FactsFileError::Invalid { .. })));
    }
}
