//! Facts read from a base image itself (its registry manifest, its config, files of its
//! layers), as opposed to what dockfix guesses from its name ([`super::facts_for_image`]).
//!
//! The core only holds and reads these facts: the shell fetches them (registry, cache or a
//! committed facts file) and hands them over as an [`ImageCatalog`] in the run's
//! [`crate::options::Options`] (`options.get::<ImageCatalog>()`), so every transform asks the
//! same catalog. A transform that decides from these facts says so in its finding with
//! [`Knowledge::describe`]; one that falls back to the name says that it guessed.
//!
//! The types are serialised as they are into the cache and the committed facts file, so a
//! field added later must carry `#[serde(default)]`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ImageRef;

/// Where a decision about a base image came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Knowledge {
    /// Read from the registry during this run.
    Registry,
    /// Read from dockfix's cache (read from the registry on an earlier run).
    Cache,
    /// Read from a facts file committed beside the Dockerfiles (its path as given).
    File(String),
    /// Guessed from the image's name (no facts: offline, lookup failed, or not asked).
    Name,
}

impl Knowledge {
    /// For a finding's text: "facts read from the registry", "a guess from the image's name".
    pub fn describe(&self) -> String {
        match self {
            Knowledge::Registry => "facts read from the registry".into(),
            Knowledge::Cache => "facts read from the registry on an earlier run (cache)".into(),
            Knowledge::File(path) => format!("facts from {path}"),
            Knowledge::Name => "a guess from the image's name (no facts from the registry)".into(),
        }
    }
}

/// What one image (for one platform) is, as read from it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct ImageFacts {
    /// The digest of the platform's image manifest (`sha256:...`), when known.
    #[serde(default)]
    pub digest: Option<String>,
    #[serde(default)]
    pub platform: Platform,
    #[serde(default)]
    pub config: ImageConfig,
    /// The `created_by` of each history entry, oldest first: the commands that built it.
    #[serde(default)]
    pub history: Vec<String>,
    /// Facts from the filesystem; `None` when the layers were not read (too large, not
    /// needed, or only the config was fetched).
    #[serde(default)]
    pub files: Option<FileFacts>,
}

/// `os/architecture[/variant]`, as in an OCI index (`linux/amd64`, `linux/arm64/v8`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Default for Platform {
    fn default() -> Self {
        Platform { os: "linux".into(), architecture: "amd64".into(), variant: None }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

/// The parts of the OCI image config (`config` object) the transforms ask about.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct ImageConfig {
    /// `User` as written (`""` and absent both mean root).
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub entrypoint: Vec<String>,
    #[serde(default)]
    pub cmd: Vec<String>,
    /// `Env` entries as `NAME=value`, in order.
    #[serde(default)]
    pub env: Vec<String>,
    #[serde(default)]
    pub working_dir: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `ExposedPorts` keys (`80/tcp`).
    #[serde(default)]
    pub exposed_ports: Vec<String>,
    /// `Volumes` keys.
    #[serde(default)]
    pub volumes: Vec<String>,
}

impl ImageConfig {
    /// The value of an `Env` entry.
    pub fn env_value(&self, name: &str) -> Option<&str> {
        self.env.iter().find_map(|entry| entry.strip_prefix(name)?.strip_prefix('='))
    }

    /// The configured user without its group, `None` when the image runs as root (no user,
    /// `""`, `root`, `0`).
    pub fn non_root_user(&self) -> Option<&str> {
        let user = self.user.as_deref()?.trim();
        let name = user.split(':').next().unwrap_or(user);
        (!name.is_empty() && name != "root" && name != "0").then_some(name)
    }
}

/// Facts read from the image's files (layers applied in order, whiteouts honoured).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct FileFacts {
    /// `/etc/os-release` (or `/usr/lib/os-release`).
    #[serde(default)]
    pub os_release: Option<OsRelease>,
    /// `/etc/passwd`, in order; empty when the image has none.
    #[serde(default)]
    pub passwd: Vec<PasswdEntry>,
    /// `/etc/group`, in order.
    #[serde(default)]
    pub groups: Vec<GroupEntry>,
    /// `/bin/sh` exists (as a file or a link).
    #[serde(default)]
    pub has_shell: bool,
    /// The user-management programs present, by name (`useradd`, `groupadd`, `adduser`,
    /// `addgroup`), whether from shadow-utils or BusyBox applets.
    #[serde(default)]
    pub user_tools: Vec<String>,
    /// The package database, when one was read.
    #[serde(default)]
    pub packages: Option<PackageDb>,
}

impl FileFacts {
    pub fn user(&self, name_or_uid: &str) -> Option<&PasswdEntry> {
        self.passwd.iter().find(|entry| entry.name == name_or_uid || entry.uid.to_string() == name_or_uid)
    }

    pub fn group(&self, name_or_gid: &str) -> Option<&GroupEntry> {
        self.groups.iter().find(|entry| entry.name == name_or_gid || entry.gid.to_string() == name_or_gid)
    }

    pub fn has_user_tool(&self, name: &str) -> bool {
        self.user_tools.iter().any(|tool| tool == name)
    }
}

/// The fields of `/etc/os-release` dockfix uses.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct OsRelease {
    /// `ID` (`debian`, `ubuntu`, `alpine`, `rhel`).
    pub id: String,
    #[serde(default)]
    pub id_like: Vec<String>,
    #[serde(default)]
    pub version_id: Option<String>,
    /// `VERSION_CODENAME` (`bookworm`).
    #[serde(default)]
    pub version_codename: Option<String>,
}

/// One line of `/etc/passwd`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PasswdEntry {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    #[serde(default)]
    pub home: String,
    #[serde(default)]
    pub shell: String,
}

/// One line of `/etc/group`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GroupEntry {
    pub name: String,
    pub gid: u32,
    #[serde(default)]
    pub members: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PackageManager {
    /// `/var/lib/dpkg/status` (Debian, Ubuntu).
    Dpkg,
    /// `/lib/apk/db/installed` (Alpine).
    Apk,
}

/// The installed packages of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PackageDb {
    pub manager: PackageManager,
    pub packages: Vec<Package>,
}

impl PackageDb {
    pub fn package(&self, name: &str) -> Option<&Package> {
        self.packages.iter().find(|package| package.name == name)
    }
}

/// One installed package and the packages it depends on (names only, alternatives and
/// versions dropped: `libpq5 (>= 16)` is `libpq5`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Package {
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub depends: Vec<String>,
}

/// Facts with where they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownImage {
    pub facts: ImageFacts,
    pub knowledge: Knowledge,
}

/// The facts of a run, by image reference: what the shell fetched or read for the bases the
/// Dockerfiles name. Empty (the default) when offline: every transform then guesses from names.
#[derive(Debug, Clone, Default)]
pub struct ImageCatalog {
    images: BTreeMap<String, KnownImage>,
}

impl ImageCatalog {
    /// The key a reference is stored and looked up under: `docker.io/library/python:3.12`
    /// (with `@digest` appended when one is written), so `python:3.12` and
    /// `docker.io/library/python:3.12` are the same image. `None` for what is not a reference
    /// (`scratch` included, which has no facts to fetch).
    pub fn key(reference: &str) -> Option<String> {
        if reference.trim().eq_ignore_ascii_case("scratch") {
            return None;
        }
        let parsed = ImageRef::parse(reference.trim())?;
        Some(match &parsed.digest {
            Some(digest) => format!("{}@{digest}", parsed.canonical_tagged()),
            None => parsed.canonical_tagged(),
        })
    }

    pub fn insert(&mut self, reference: &str, facts: ImageFacts, knowledge: Knowledge) {
        if let Some(key) = ImageCatalog::key(reference) {
            self.images.insert(key, KnownImage { facts, knowledge });
        }
    }

    /// The facts of an image reference as written in a `FROM` (ARGs already substituted).
    pub fn get(&self, reference: &str) -> Option<&KnownImage> {
        self.images.get(&ImageCatalog::key(reference)?)
    }

    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    pub fn len(&self) -> usize {
        self.images.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_is_found_however_it_is_written() {
        let mut catalog = ImageCatalog::default();
        catalog.insert("python:3.12", ImageFacts::default(), Knowledge::Registry);
        assert!(catalog.get("docker.io/library/python:3.12").is_some());
        assert!(catalog.get("index.docker.io/library/python:3.12").is_some());
        assert!(catalog.get("python:3.11").is_none());
        assert!(catalog.get("scratch").is_none());
    }

    #[test]
    fn root_is_no_user_however_it_is_written() {
        let config = |user: &str| ImageConfig { user: Some(user.into()), ..ImageConfig::default() };
        assert_eq!(config("").non_root_user(), None);
        assert_eq!(config("0:0").non_root_user(), None);
        assert_eq!(config("root").non_root_user(), None);
        assert_eq!(config("postgres").non_root_user(), Some("postgres"));
        assert_eq!(config("1001:0").non_root_user(), Some("1001"));
        assert_eq!(ImageConfig::default().non_root_user(), None);
    }
}
