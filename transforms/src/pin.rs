//! What `pin-images` needs from the outside world, without doing I/O: the core asks an
//! [`ImageResolver`] what a tag points to; the shell answers from the registry (or from a
//! table it filled before the run), tests answer from a table. Also the pure half of choosing
//! a version tag: which tags may stand for a floating one, in which order to compare them.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::image::ImageRef;

/// `tag`: floating tags become version tags; `digest`: also `@sha256:` of the multi-platform
/// index; `none`: images are left alone and no registry is asked.
//
// How `pin-images` pins (`[pin-images] mode`, `--pin`). The variants' notes are plain
// comments: the schema lists the names alone, under the name it has always had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "PinModeConfig")]
pub enum PinMode {
    // A floating tag (none, `latest`, `alpine`) becomes the most specific version tag that
    // points to the same image today.
    #[default]
    Tag,
    // As `Tag`, and every reference gets `@sha256:` of what its tag points to.
    Digest,
    // `pin-images` does nothing.
    None,
}

/// What the registry says about one reference's tag today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    Found(Resolved),
    /// The registry could not be asked or did not answer: offline, 401/403, 404, 429,
    /// timeout, TLS. The reason is one line, for the finding.
    Unresolved {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The digest of the manifest the tag points to: the multi-platform index when the image
    /// has one (never one platform's manifest).
    pub digest: String,
    /// For a floating tag: the most specific version tag that has the same digest, if any.
    pub version_tag: Option<String>,
}

/// Answers what a reference's tag points to. Called with references as written in the file
/// (ARG defaults substituted); `ImageRef::canonical_tagged` is the identity of a lookup.
pub trait ImageResolver: Sync + Send {
    fn resolve(&self, image: &ImageRef) -> Resolution;
}

/// Answers every lookup with the same reason: no registry is asked in this run.
#[derive(Debug, Clone)]
pub struct OfflineResolver {
    pub reason: String,
}

impl Default for OfflineResolver {
    fn default() -> Self {
        OfflineResolver { reason: "offline: no registry was asked".to_string() }
    }
}

impl ImageResolver for OfflineResolver {
    fn resolve(&self, _image: &ImageRef) -> Resolution {
        Resolution::Unresolved { reason: self.reason.clone() }
    }
}

/// Answers from a table keyed by `ImageRef::canonical_tagged`: filled by the shell before the
/// run (each reference looked up once), or by tests.
#[derive(Debug, Clone, Default)]
pub struct TableResolver {
    answers: HashMap<String, Resolution>,
}

impl TableResolver {
    pub fn new() -> Self {
        TableResolver::default()
    }

    /// Records the answer for `key` (`docker.io/library/python:latest`).
    pub fn insert(&mut self, key: impl Into<String>, resolution: Resolution) {
        self.answers.insert(key.into(), resolution);
    }

    pub fn len(&self) -> usize {
        self.answers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.answers.is_empty()
    }
}

impl ImageResolver for TableResolver {
    fn resolve(&self, image: &ImageRef) -> Resolution {
        let key = image.canonical_tagged();
        self.answers.get(&key).cloned().unwrap_or_else(|| Resolution::Unresolved {
            reason: format!("{key} was not looked up in this run"),
        })
    }
}

/// The `pin-images` settings of a run.
#[derive(Clone)]
pub struct PinOptions {
    pub mode: PinMode,
    /// Refresh digests that are already written to what their tag points to now.
    pub update: bool,
    pub resolver: Arc<dyn ImageResolver>,
}

impl Default for PinOptions {
    /// Tag pinning with no registry: every unpinned reference becomes a finding.
    fn default() -> Self {
        PinOptions { mode: PinMode::Tag, update: false, resolver: Arc::new(OfflineResolver::default()) }
    }
}

impl fmt::Debug for PinOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinOptions")
            .field("mode", &self.mode)
            .field("update", &self.update)
            .finish_non_exhaustive()
    }
}

/// Words that name a release channel rather than a build variant: `lts-alpine` stands for a
/// version tag ending in `-alpine`. Safe to drop because the pick is confirmed by digest.
const CHANNELS: &[&str] = &["latest", "lts", "stable", "current", "mainline"];

/// A tag that moves to new releases by design: none, `latest`, or one without any digit
/// (`alpine`, `slim`, `lts`, `bookworm`).
pub fn is_floating(tag: Option<&str>) -> bool {
    tag.is_none_or(|tag| !tag.chars().any(|c| c.is_ascii_digit()))
}

/// The variant a floating tag keeps (`alpine` for `alpine` and `lts-alpine`, empty for
/// `latest`).
pub fn variant(floating: Option<&str>) -> String {
    let tag = floating.unwrap_or("latest");
    let words: Vec<&str> = tag.split('-').collect();
    let kept = words.iter().skip_while(|word| CHANNELS.contains(&word.to_ascii_lowercase().as_str()));
    kept.copied().collect::<Vec<_>>().join("-")
}

/// The version numbers of a tag made of a version (`3`, `3.13`, `v1.2.3`) and `-variant`,
/// when its variant is `variant`.
fn version_of(tag: &str, variant: &str) -> Option<Vec<u64>> {
    let version = if variant.is_empty() { tag } else { tag.strip_suffix(variant)?.strip_suffix('-')? };
    let version = version.strip_prefix('v').unwrap_or(version);
    version.split('.').map(|part| part.parse::<u64>().ok().filter(|_| !part.is_empty())).collect()
}

/// Tags that may stand for `floating` (same variant, a plain version in front), most
/// specific first: higher versions before lower ones, and `3.13.1` before `3.13` before `3`.
/// The shell compares their digests with the floating tag's, in this order, and takes the
/// first that matches.
pub fn version_candidates(floating: Option<&str>, tags: &[String]) -> Vec<String> {
    let variant = variant(floating);
    let mut versioned: Vec<(Vec<u64>, &String)> =
        tags.iter().filter_map(|tag| version_of(tag, &variant).map(|version| (version, tag))).collect();
    versioned.sort_by(|(a, a_tag), (b, b_tag)| more_specific_first(a, b).then_with(|| a_tag.cmp(b_tag)));
    versioned.into_iter().map(|(_, tag)| tag.clone()).collect()
}

/// Descending by component; where one version extends the other, the longer comes first.
fn more_specific_first(a: &[u64], b: &[u64]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        match y.cmp(x) {
            Ordering::Equal => continue,
            other => return other,
        }
    }
    b.len().cmp(&a.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn floating_tags() {
        assert!(is_floating(None));
        for tag in ["latest", "alpine", "slim-bookworm", "lts", "bookworm"] {
            assert!(is_floating(Some(tag)), "{tag}");
        }
        for tag in ["3", "3.12-slim", "ltsc2022", "20-alpine", "jammy-20240911"] {
            assert!(!is_floating(Some(tag)), "{tag}");
        }
    }

    #[test]
    fn variants_drop_channels() {
        assert_eq!(variant(None), "");
        assert_eq!(variant(Some("latest")), "");
        assert_eq!(variant(Some("alpine")), "alpine");
        assert_eq!(variant(Some("lts-alpine")), "alpine");
        assert_eq!(variant(Some("slim-bookworm")), "slim-bookworm");
    }

    #[test]
    fn candidates_most_specific_first() {
        let all = tags(&[
            "3",
            "3.12",
            "3.12.8",
            "3.13",
            "3.13.1",
            "3.13.1-alpine",
            "3.13-alpine",
            "3.14.0rc1",
            "latest",
            "alpine",
            "2.7.18",
            "v3.13.2",
            "3.13.1-slim-alpine",
        ]);
        assert_eq!(
            version_candidates(None, &all),
            ["v3.13.2", "3.13.1", "3.13", "3.12.8", "3.12", "3", "2.7.18"]
        );
        assert_eq!(version_candidates(Some("alpine"), &all), ["3.13.1-alpine", "3.13-alpine"]);
        assert_eq!(version_candidates(Some("lts-alpine"), &all), ["3.13.1-alpine", "3.13-alpine"]);
        assert!(version_candidates(Some("jammy"), &all).is_empty());
    }

    #[test]
    fn table_answers_by_canonical_name() {
        let mut table = TableResolver::new();
        let found =
            Resolution::Found(Resolved { digest: "sha256:x".into(), version_tag: Some("3.13.1".into()) });
        table.insert("docker.io/library/python:latest", found.clone());
        let python = ImageRef::parse("docker.io/python").unwrap();
        assert_eq!(table.resolve(&python), found);
        let other = ImageRef::parse("python:3").unwrap();
        assert!(matches!(table.resolve(&other), Resolution::Unresolved { .. }));
    }
}
