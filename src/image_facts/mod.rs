//! Facts about the base images the Dockerfiles name, read from the images themselves (issue
//! 16): the step before the engine runs, as [`crate::image_lookups`] is for `pin-images`.
//! Collect the root base image of each file's stages (ARGs substituted), learn each image's
//! facts once, and hand the engine one [`ImageCatalog`] (`options.set(catalog)`).
//!
//! Each image's facts come from the first of:
//! 1. the facts file (`--facts-file`, `facts-file` in `dockfix.toml`): [`file`];
//! 2. the cache, when what the tag points to was checked within a day: [`cache`];
//! 3. the registry, unless `--offline`: [`fetch`] (and stored in the cache).
//!
//! A lookup that fails leaves the image out of the catalog: the transforms then guess from
//! its name, as they do offline. Facts never make a run fail.

pub mod cache;
pub mod fetch;
pub mod file;
pub mod layers;
pub mod parse;
pub mod prefetch;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use dockfix_transforms::image::facts::{ImageFacts, Platform};
use dockfix_transforms::image::{ImageCatalog, ImageRef, Knowledge};
use dockfix_transforms::semantic::stages::{base_stage, root_stage};
use dockfix_transforms::semantic::variables::resolve_global_args;
use dockfix_transforms::{Dockerfile, Source};

use crate::registry::{Registries, RegistryConfig, CONCURRENT_LOOKUPS};
use cache::Layers;
use cache::{Cache, TagRecord};
use fetch::LayerReads;
use file::FactsFile;

/// The transforms that read image facts; without one of them selected no facts are gathered.
pub const FACT_READERS: &[&str] = &["non-root-user", "strip-setuid", "multi-stage"];

/// How a run learns image facts, for the files one configuration governs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FactsSettings {
    /// The platform of the build: the entry read from a multi-platform index.
    pub platform: Platform,
    /// A committed facts file, read before the cache and the registry.
    pub facts_file: Option<PathBuf>,
    /// Ask no registry (the facts file and the cache are still read).
    pub offline: bool,
    /// How to reach registries (`[pin-images]` and the registry flags).
    pub registry: RegistryConfig,
}

impl FactsSettings {
    /// What distinguishes one gathering from another: files that agree on it share a catalog.
    pub fn group_key(&self) -> String {
        format!("{}|{:?}|{}|{:?}", self.platform, self.facts_file, self.offline, self.registry)
    }
}

/// The root base images of a Dockerfile's stages, as written in their `FROM` with the ARGs
/// declared before the first `FROM` substituted; in order, each once. `scratch`, earlier
/// stages and bases whose ARGs have no default are left out.
pub fn base_images(text: &str) -> Vec<String> {
    let source = Source::new(text);
    let file = Dockerfile::parse(source.text());
    let mut images: Vec<String> = Vec::new();
    for stage in &file.stages {
        let root = root_stage(&file, stage);
        if base_stage(&file, root).is_some() {
            continue;
        }
        let Some(image) = resolve_global_args(&file, root.base.trim()) else { continue };
        if image.contains('$') || ImageCatalog::key(&image).is_none() || images.contains(&image) {
            continue;
        }
        images.push(image);
    }
    images
}

/// The facts of a run's images, with where each came from.
#[derive(Debug, Default)]
pub struct Gathered {
    /// By reference as written.
    pub images: BTreeMap<String, (ImageFacts, Knowledge)>,
    /// References whose facts could not be read, and why.
    pub failures: Vec<(String, String)>,
    /// Facts read without the image's files, and why.
    pub notes: Vec<String>,
}

impl Gathered {
    pub fn catalog(&self) -> ImageCatalog {
        let mut catalog = ImageCatalog::default();
        for (reference, (facts, knowledge)) in &self.images {
            catalog.insert(reference, facts.clone(), knowledge.clone());
        }
        catalog
    }

    pub fn facts_file(&self, platform: &Platform) -> FactsFile {
        FactsFile {
            version: file::FACTS_FILE_VERSION,
            platform: platform.to_string(),
            images: self
                .images
                .iter()
                .map(|(reference, (facts, _))| (reference.clone(), facts.clone()))
                .collect(),
        }
    }

    /// One stderr line per image: where its facts came from.
    pub fn sources(&self) -> String {
        let mut out = String::new();
        for (reference, (_, knowledge)) in &self.images {
            out.push_str(&format!("image facts: {reference}: {}\n", knowledge.describe()));
        }
        out
    }

    /// The stderr lines about images whose facts are missing or partial.
    pub fn report(&self) -> String {
        let mut out = String::new();
        for (reference, reason) in &self.failures {
            out.push_str(&format!("image facts: {reference}: {reason}\n"));
        }
        for note in &self.notes {
            out.push_str(&format!("image facts: {note}\n"));
        }
        out
    }
}

/// A digest the run already resolved a reference to (pin-images' lookups), if any.
pub type Resolved<'a> = &'a dyn Fn(&ImageRef) -> Option<String>;

/// Learns the facts of `references` (as written; ARGs already substituted) for one group of
/// settings. `files`: read the images' files too, not only their configs. `resolved`: what
/// pin-images found the references point to in this run, so that a cached answer older than
/// a day is confirmed (or known stale) without asking the registry again.
pub fn gather(
    references: &[String],
    settings: &FactsSettings,
    facts_file: Option<&FactsFile>,
    cache: Option<&Cache>,
    files: bool,
    resolved: Resolved<'_>,
) -> Gathered {
    let mut gathered = Gathered::default();
    let mut to_fetch: Vec<(String, ImageRef, Option<TagRecord>)> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for reference in references {
        let Some(key) = ImageCatalog::key(reference) else { continue };
        if seen.contains(&key) {
            continue;
        }
        seen.push(key.clone());
        if let (Some(found), Some(path)) =
            (facts_file.and_then(|file| file.get(reference)), &settings.facts_file)
        {
            let knowledge = Knowledge::File(path.display().to_string());
            gathered.images.insert(reference.clone(), (found.clone(), knowledge));
            continue;
        }
        let Some(image) = ImageRef::parse(reference.trim()) else { continue };
        let mut record = cache.and_then(|cache| cache.tag(&key, &settings.platform));
        let cached = record.as_ref().and_then(|record| cache?.usable(&record.manifest_digest, files));
        let cached = cached.map(|cached| cached.facts);
        let known = if settings.offline { None } else { resolved(&image) };
        match (&record, cached, cache) {
            (Some(record), Some(facts), _) if record.is_fresh() || settings.offline => {
                gathered.images.insert(reference.clone(), (facts, Knowledge::Cache));
                continue;
            }
            (Some(old), Some(facts), Some(cache)) if known.as_deref() == Some(old.top_digest.as_str()) => {
                // pin-images just saw the tag still points where it did.
                let _ = cache.store_tag(&TagRecord::new(
                    &key,
                    &settings.platform,
                    &old.top_digest,
                    &old.manifest_digest,
                ));
                gathered.images.insert(reference.clone(), (facts, Knowledge::Cache));
                continue;
            }
            // The tag moved: no need to ask whether it did.
            (Some(_), _, _) if known.is_some() => record = None,
            _ => {}
        }
        if settings.offline {
            continue;
        }
        to_fetch.push((reference.clone(), image, record));
    }
    if to_fetch.is_empty() {
        return gathered;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            let reason = format!("cannot start the network runtime: {error}");
            gathered
                .failures
                .extend(to_fetch.into_iter().map(|(reference, _, _)| (reference, reason.clone())));
            return gathered;
        }
    };
    let registries = Arc::new(Registries::new(settings.registry.clone()));
    let platform = settings.platform.clone();
    let cache = cache.cloned();
    let reads = Arc::new(LayerReads::default());
    let answers = runtime.block_on(async move {
        let permits = Arc::new(tokio::sync::Semaphore::new(CONCURRENT_LOOKUPS));
        let mut tasks = tokio::task::JoinSet::new();
        for (index, (reference, image, record)) in to_fetch.into_iter().enumerate() {
            let (registries, permits) = (Arc::clone(&registries), Arc::clone(&permits));
            let (platform, cache, reads) = (platform.clone(), cache.clone(), Arc::clone(&reads));
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                let sources = Sources { registries: &registries, cache: cache.as_ref(), reads: &reads };
                let answer = learn(sources, &image, record, &platform, files).await;
                (index, reference, answer)
            });
        }
        let mut done = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            // A panicking lookup is a bug; re-raise it rather than lose a reference.
            done.push(joined.unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic())));
        }
        done.sort_by_key(|(index, _, _)| *index);
        done
    });
    for (_, reference, answer) in answers {
        match answer {
            Ok((facts, knowledge, layers)) => {
                if let Layers::Unread(reason) = layers {
                    gathered.notes.push(format!("{reference}: files not read: {reason}"));
                }
                gathered.images.insert(reference, (facts, knowledge));
            }
            Err(reason) => gathered.failures.push((reference, reason)),
        }
    }
    gathered
}

/// An image's facts, where they came from and whether its files were read; or why not.
type Answer = Result<(ImageFacts, Knowledge, Layers), String>;

/// One image's facts from the registry: when the cache knew what the tag pointed to and the
/// tag still points there (one `HEAD`), the cached facts; otherwise fetched and cached.
/// What one lookup draws on: the registries, the cache, and the layer reads of the run.
#[derive(Clone, Copy)]
struct Sources<'a> {
    registries: &'a Registries,
    cache: Option<&'a Cache>,
    reads: &'a LayerReads,
}

async fn learn(
    sources: Sources<'_>,
    image: &ImageRef,
    record: Option<TagRecord>,
    platform: &Platform,
    files: bool,
) -> Answer {
    let Sources { registries, cache, reads } = sources;
    let key = image.canonical_tagged();
    let key = match &image.digest {
        Some(digest) => format!("{key}@{digest}"),
        None => key,
    };
    if let (Some(record), Some(cache)) = (record, cache) {
        if let Some(cached) = cache.usable(&record.manifest_digest, files) {
            if let Ok(top) = fetch::top_digest(registries, image).await {
                if top == record.top_digest {
                    let _ = cache.store_tag(&TagRecord::new(&key, platform, &top, &record.manifest_digest));
                    return Ok((cached.facts, Knowledge::Cache, cached.layers));
                }
            }
        }
    }
    match fetch::fetch(registries, image, platform, files, cache, reads).await {
        Ok(fetched) if fetched.cached => {
            // Another reference's run fetched this manifest already: only the tag is new.
            if let (Some(cache), Some(digest)) = (cache, fetched.facts.digest.as_deref()) {
                let _ = cache.store_tag(&TagRecord::new(&key, platform, &fetched.top_digest, digest));
            }
            Ok((fetched.facts, Knowledge::Cache, fetched.layers))
        }
        Ok(fetched) => {
            if let (Some(cache), Some(digest)) = (cache, fetched.facts.digest.as_deref()) {
                // The cache is an optimisation: a full disk or a read-only home is no error.
                if cache.store_facts(&fetched.facts, &fetched.layers).is_ok() {
                    let _ = cache.store_tag(&TagRecord::new(&key, platform, &fetched.top_digest, digest));
                }
            }
            Ok((fetched.facts, Knowledge::Registry, fetched.layers))
        }
        Err(error) => Err(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_images_of_each_stage_with_args_substituted() {
        let text = "ARG BASE=python:3.12\nARG MISSING\nFROM ${BASE} AS build\nFROM build AS test\n\
                    FROM scratch\nFROM ${MISSING}\nFROM debian:12\nFROM python:3.12\n";
        assert_eq!(base_images(text), ["python:3.12", "debian:12"]);
    }

    #[test]
    fn the_facts_file_and_a_fresh_cache_answer_offline() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = Cache::new(dir.path().to_path_buf());
        let platform = Platform::default();
        let cached = ImageFacts { digest: Some("sha256:aa".into()), ..ImageFacts::default() };
        cache.store_facts(&cached, &Layers::Read).expect("store");
        let record = TagRecord::new("docker.io/library/debian:12", &platform, "sha256:top", "sha256:aa");
        cache.store_tag(&record).expect("store");
        let mut file = FactsFile { version: 1, platform: platform.to_string(), ..FactsFile::default() };
        let committed = ImageFacts { digest: Some("sha256:bb".into()), ..ImageFacts::default() };
        file.images.insert("python:3.12".into(), committed.clone());
        let settings = FactsSettings {
            offline: true,
            facts_file: Some(PathBuf::from("facts.json")),
            ..FactsSettings::default()
        };
        let references = ["python:3.12".to_string(), "debian:12".into(), "alpine:3".into()];
        let gathered = gather(&references, &settings, Some(&file), Some(&cache), true, &|_| None);
        assert_eq!(gathered.images["python:3.12"], (committed, Knowledge::File("facts.json".into())));
        assert_eq!(gathered.images["debian:12"], (cached, Knowledge::Cache));
        assert!(!gathered.images.contains_key("alpine:3"), "offline: not asked");
        assert!(gathered.failures.is_empty(), "offline is no failure");
        let catalog = gathered.catalog();
        assert!(catalog.get("docker.io/library/debian:12").is_some());
        assert_eq!(catalog.len(), 2);
    }
}
