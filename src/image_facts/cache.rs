//! dockfix's cache of image facts, so that a second run asks a registry nothing it already
//! knows. In `$DOCKFIX_CACHE_DIR`, else `$XDG_CACHE_HOME/dockfix`, else `~/.cache/dockfix`:
//!
//! - `facts/sha256/<hex>.json`: the facts of one image manifest, by its digest. A digest
//!   names immutable content, so these are kept and never refreshed.
//! - `tags/<reference>@<platform>.json`: what a reference pointed to when it was last asked
//!   (the manifest digest for the platform, and the digest the reference itself resolved to),
//!   and when. Fresh for [`TAG_FRESHNESS`] (24 hours): within it no request is made; after it
//!   one `HEAD` request tells whether the tag still points to the same digest. A reference
//!   written with a digest is always fresh.
//!
//! Every file is written to a temporary file in the same directory and renamed over the old
//! one, so concurrent runs never read half a file. A file that cannot be read or parsed is
//! treated as absent (and rewritten by the next fetch): the cache never fails a run.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dockfix_transforms::image::facts::{ImageFacts, Platform};
use serde::{Deserialize, Serialize};

/// Whether the image's files were read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", tag = "layers", content = "reason")]
pub enum Layers {
    /// Read: the facts hold `files`.
    Read,
    /// Not asked for (no transform of the run reads files).
    NotWanted,
    /// Asked for but not read, and why (over the size limit, zstd, a download failed).
    Unread(String),
}

/// How long what a tag points to is trusted without asking the registry again.
pub const TAG_FRESHNESS: Duration = Duration::from_secs(24 * 60 * 60);
/// Names the cache directory, for tests and for CI caches.
pub const CACHE_DIR_VARIABLE: &str = "DOCKFIX_CACHE_DIR";
/// The version of the files' layout; a file of another version is ignored.
const VERSION: u32 = 1;

/// The cache directory of this user, `None` without `HOME` or a variable naming one.
pub fn default_dir() -> Option<PathBuf> {
    let named = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty()).map(PathBuf::from);
    named(CACHE_DIR_VARIABLE)
        .or_else(|| named("XDG_CACHE_HOME").map(|dir| dir.join("dockfix")))
        .or_else(|| named("HOME").map(|home| home.join(".cache").join("dockfix")))
}

/// One image's facts as cached.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedFacts {
    pub version: u32,
    pub layers: Layers,
    pub facts: ImageFacts,
}

/// What a reference pointed to for a platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagRecord {
    pub version: u32,
    /// The reference as the catalog keys it (`docker.io/library/python:3.12`).
    pub reference: String,
    pub platform: String,
    /// The digest the reference resolved to (an index's, or the manifest's).
    pub top_digest: String,
    /// The digest of the platform's manifest: the name of its facts.
    pub manifest_digest: String,
    /// Seconds since the Unix epoch.
    pub checked: u64,
}

impl TagRecord {
    pub fn new(reference: &str, platform: &Platform, top_digest: &str, manifest_digest: &str) -> TagRecord {
        TagRecord {
            version: VERSION,
            reference: reference.to_string(),
            platform: platform.to_string(),
            top_digest: top_digest.to_string(),
            manifest_digest: manifest_digest.to_string(),
            checked: now(),
        }
    }

    /// Within [`TAG_FRESHNESS`] of its check, or about a reference written with a digest.
    pub fn is_fresh(&self) -> bool {
        self.reference.contains('@') || now().saturating_sub(self.checked) < TAG_FRESHNESS.as_secs()
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs())
}

/// The cache in one directory.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    pub fn new(dir: PathBuf) -> Cache {
        Cache { dir }
    }

    fn facts_path(&self, digest: &str) -> Option<PathBuf> {
        let (algorithm, hex) = digest.split_once(':')?;
        let safe = |part: &str| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric());
        (safe(algorithm) && safe(hex))
            .then(|| self.dir.join("facts").join(algorithm).join(format!("{hex}.json")))
    }

    fn tag_path(&self, reference: &str, platform: &Platform) -> PathBuf {
        self.dir.join("tags").join(format!("{}@{}.json", escape(reference), escape(&platform.to_string())))
    }

    /// The cached facts of a manifest digest; `None` when absent or unreadable.
    pub fn facts(&self, digest: &str) -> Option<CachedFacts> {
        let cached: CachedFacts = read_json(&self.facts_path(digest)?)?;
        (cached.version == VERSION && cached.facts.digest.as_deref() == Some(digest)).then_some(cached)
    }

    /// The cached facts of a manifest digest when they hold what is wanted: with `files`,
    /// facts whose layers were read, or could not be (not those fetched without them).
    pub fn usable(&self, digest: &str, files: bool) -> Option<CachedFacts> {
        let cached = self.facts(digest)?;
        (!files || cached.layers != Layers::NotWanted).then_some(cached)
    }

    pub fn tag(&self, reference: &str, platform: &Platform) -> Option<TagRecord> {
        let record: TagRecord = read_json(&self.tag_path(reference, platform))?;
        (record.version == VERSION
            && record.reference == reference
            && record.platform == platform.to_string())
        .then_some(record)
    }

    /// Stores facts under their manifest digest; facts without a digest are not cached.
    pub fn store_facts(&self, facts: &ImageFacts, layers: &Layers) -> std::io::Result<()> {
        let Some(path) = facts.digest.as_deref().and_then(|digest| self.facts_path(digest)) else {
            return Ok(());
        };
        write_json(&path, &CachedFacts { version: VERSION, layers: layers.clone(), facts: facts.clone() })
    }

    pub fn store_tag(&self, record: &TagRecord) -> std::io::Result<()> {
        let platform = parse_platform(&record.platform).unwrap_or_default();
        write_json(&self.tag_path(&record.reference, &platform), record)
    }
}

/// `OS/ARCH[/VARIANT]`.
pub fn parse_platform(text: &str) -> Option<Platform> {
    let mut parts = text.trim().split('/');
    let os = parts.next().filter(|part| !part.is_empty())?;
    let architecture = parts.next().filter(|part| !part.is_empty())?;
    let variant = parts.next().map(String::from);
    if parts.next().is_some() || variant.as_deref() == Some("") {
        return None;
    }
    let valid = |part: &str| part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if !valid(os) || !valid(architecture) || !variant.as_deref().is_none_or(valid) {
        return None;
    }
    Some(Platform { os: os.to_string(), architecture: architecture.to_string(), variant })
}

/// A file name for any text: ASCII letters, digits, `.`, `-` and `_` as they are, every
/// other byte as `%XX` (so that two references never share a name).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' => out.push(byte as char),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    let text = std::fs::read(path).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Writes a temporary file beside `path`, then renames it over `path`.
fn write_json<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    serde_json::to_writer(&mut file, value).map_err(std::io::Error::other)?;
    file.persist(path).map_err(|error| error.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_round_trip_and_corrupt_files_are_absent() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = Cache::new(dir.path().to_path_buf());
        let digest = "sha256:abc123";
        let facts = ImageFacts { digest: Some(digest.into()), ..ImageFacts::default() };
        assert!(cache.facts(digest).is_none());
        cache.store_facts(&facts, &Layers::Read).expect("store");
        let cached = cache.facts(digest).expect("cached");
        assert_eq!((cached.facts, cached.layers), (facts, Layers::Read));
        std::fs::write(dir.path().join("facts/sha256/abc123.json"), "{\"version\":1,").expect("corrupt");
        assert!(cache.facts(digest).is_none(), "a corrupt entry is absent");
        assert!(cache.facts("sha256:../../etc").is_none(), "no path outside the cache");
    }

    #[test]
    fn tag_records_are_fresh_for_a_day() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = Cache::new(dir.path().to_path_buf());
        let platform = Platform::default();
        let mut record = TagRecord::new("docker.io/library/python:3.12", &platform, "sha256:1", "sha256:2");
        cache.store_tag(&record).expect("store");
        assert_eq!(cache.tag("docker.io/library/python:3.12", &platform), Some(record.clone()));
        assert!(cache
            .tag("docker.io/library/python:3.12", &parse_platform("linux/arm64").expect("p"))
            .is_none());
        assert!(record.is_fresh());
        record.checked -= TAG_FRESHNESS.as_secs() + 1;
        assert!(!record.is_fresh());
        record.reference.push_str("@sha256:1");
        assert!(record.is_fresh(), "a digest does not move");
    }

    #[test]
    fn platforms_and_names() {
        assert_eq!(parse_platform("linux/arm64/v8").map(|p| p.to_string()), Some("linux/arm64/v8".into()));
        for bad in ["linux", "linux/", "linux/amd64/", "a/b/c/d", "linux/am d64"] {
            assert_eq!(parse_platform(bad), None, "{bad}");
        }
        assert_eq!(escape("docker.io/library/python:3.12"), "docker.io%2Flibrary%2Fpython%3A3.12");
        assert_ne!(escape("a/b"), escape("a_b"));
    }
}
