//! Reading an image's facts from its registry, through the registry client of
//! [`crate::registry`] (its credentials, mirrors, insecure hosts and timeouts).
//!
//! Always: the manifest (from a multi-platform index, the entry of the build platform) and the
//! config blob, a few KB, for [`ImageConfig`], the history and the digest. The layers only
//! when file facts are wanted and the image's compressed layers add up to no more than
//! [`MAX_LAYER_BYTES`]: each blob is streamed through gunzip and tar in order, keeping only the
//! paths [`super::layers`] wants. A layer dockfix cannot read (zstd, not a tar) or that fails
//! to download leaves the facts at the config: never an error of the run.

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex, PoisonError};

use dockfix_transforms::image::facts::{FileFacts, ImageConfig, ImageFacts, Platform};
use dockfix_transforms::image::ImageRef;
use futures_util::StreamExt as _;
use oci_client::Reference;
use serde::Deserialize;
use tokio::sync::OnceCell;

use super::cache::{Cache, Layers};
use super::layers::Rootfs;
use crate::registry::{Endpoint, LookupError, Registries};

/// The compressed layers of one image read at most: 256 MiB, more than any common base
/// (debian:bookworm is 48 MiB, python:3.12 about 400 MiB: its files are then not read).
pub const MAX_LAYER_BYTES: u64 = 256 << 20;
/// A config blob larger than this is not an image config dockfix reads.
const MAX_CONFIG_BYTES: i64 = 4 << 20;

/// The manifest and index media types asked for.
const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// What a registry said about an image for one platform.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub facts: ImageFacts,
    pub layers: Layers,
    /// The digest the reference itself points to (a multi-platform index's, or the
    /// manifest's): what a later run compares to know the tag has not moved.
    pub top_digest: String,
    /// The facts are the cache's: the manifest's digest was known (another tag of it).
    pub cached: bool,
}

#[derive(Deserialize)]
struct Manifest {
    #[serde(default)]
    manifests: Option<Vec<IndexEntry>>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct IndexEntry {
    digest: String,
    #[serde(default)]
    platform: Option<WirePlatform>,
}

#[derive(Deserialize, Default)]
struct WirePlatform {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
}

#[derive(Deserialize, Clone)]
struct Descriptor {
    digest: String,
    #[serde(default)]
    size: i64,
    #[serde(default, rename = "mediaType")]
    media_type: String,
}

/// The OCI image config (`application/vnd.oci.image.config.v1+json`), the parts read.
#[derive(Deserialize, Default)]
struct WireConfig {
    /// `os`, `architecture`, `variant`: the same fields as an index entry's platform.
    #[serde(flatten)]
    platform: WirePlatform,
    #[serde(default)]
    config: Option<WireRuntime>,
    #[serde(default)]
    history: Vec<WireHistory>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct WireRuntime {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    entrypoint: Option<Vec<String>>,
    #[serde(default)]
    cmd: Option<Vec<String>>,
    #[serde(default)]
    env: Option<Vec<String>>,
    #[serde(default)]
    working_dir: Option<String>,
    #[serde(default)]
    labels: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    exposed_ports: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    volumes: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Deserialize)]
struct WireHistory {
    #[serde(default)]
    created_by: String,
}

/// Where the blobs of a manifest that answered are fetched from.
struct Source {
    reference: Reference,
    layers: Vec<Descriptor>,
}

/// The digest `image`'s reference points to now (one `HEAD` request), to tell whether a
/// cached answer still holds.
pub async fn top_digest(registries: &Registries, image: &ImageRef) -> Result<String, LookupError> {
    registries
        .first_answer(image, registries.deadline(), |endpoint| async move {
            let reference = reference_of(&endpoint);
            registries
                .client()
                .fetch_manifest_digest(&reference, &endpoint.credentials.auth)
                .await
                .map_err(|error| endpoint.explain(error, &written(image)))
        })
        .await
}

/// The facts of `image` for `platform`: manifest and config, and the files when `files`
/// (read once per manifest in a run: `reads`). Facts the cache holds for the manifest's digest are taken from it once the manifest is
/// read: the facts are named by digest, so another tag's fetch serves this one.
pub async fn fetch(
    registries: &Registries,
    image: &ImageRef,
    platform: &Platform,
    files: bool,
    cache: Option<&Cache>,
    reads: &LayerReads,
) -> Result<Fetched, LookupError> {
    let (mut fetched, source) = registries
        .first_answer(image, registries.deadline(), |endpoint| {
            manifest_and_config(registries, endpoint, platform, cache.map(|cache| (cache, files)))
        })
        .await?;
    if fetched.cached {
        return Ok(fetched);
    }
    if !files {
        fetched.layers = Layers::NotWanted;
        return Ok(fetched);
    }
    let total: u64 = source.layers.iter().map(|layer| layer.size.max(0) as u64).sum();
    if total > MAX_LAYER_BYTES {
        fetched.layers = Layers::Unread(format!(
            "its layers are {} MiB compressed, over the {} MiB limit: config facts only",
            total >> 20,
            MAX_LAYER_BYTES >> 20
        ));
        return Ok(fetched);
    }
    let read = reads.cell(fetched.facts.digest.as_deref().unwrap_or_default());
    let files =
        read.get_or_init(|| async { read_layers(registries, &source).await.map(|rootfs| rootfs.facts()) });
    match files.await.clone() {
        Ok(files) => {
            fetched.facts.files = Some(files);
            fetched.layers = Layers::Read;
        }
        Err(reason) => fetched.layers = Layers::Unread(reason),
    }
    Ok(fetched)
}

/// The files read from each manifest in this run, by its digest: tags that share a manifest
/// (`alpine:3` and `alpine:latest`) and are looked up at the same time read its layers once.
#[derive(Default)]
pub struct LayerReads {
    by_digest: Mutex<HashMap<String, Arc<LayerRead>>>,
}

/// One manifest's files once read, or why they could not be.
type LayerRead = OnceCell<Result<FileFacts, String>>;

impl LayerReads {
    fn cell(&self, digest: &str) -> Arc<LayerRead> {
        // A panic elsewhere cannot leave the map half-changed: its data is still good.
        let mut by_digest = self.by_digest.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(by_digest.entry(digest.to_string()).or_default())
    }
}

fn reference_of(endpoint: &Endpoint<'_>) -> Reference {
    match &endpoint.image.digest {
        Some(digest) => endpoint.by_digest(digest),
        None => endpoint.tagged(endpoint.image.tag_or_latest()),
    }
}

/// `library/python:3.12`, for "has no ... (404)".
fn written(image: &ImageRef) -> String {
    match &image.digest {
        Some(digest) => format!("{}@{digest}", image.repository()),
        None => format!("{}:{}", image.repository(), image.tag_or_latest()),
    }
}

/// The manifest (the platform's, from an index) and the config, unless `cached` (the cache,
/// and whether files are wanted) holds the facts of the manifest's digest.
async fn manifest_and_config(
    registries: &Registries,
    endpoint: Endpoint<'_>,
    platform: &Platform,
    cached: Option<(&Cache, bool)>,
) -> Result<(Fetched, Source), LookupError> {
    let client = registries.client();
    let auth = &endpoint.credentials.auth;
    let what = written(endpoint.image);
    let reference = reference_of(&endpoint);
    let (body, top_digest) = client
        .pull_manifest_raw(&reference, auth, MANIFEST_TYPES)
        .await
        .map_err(|error| endpoint.explain(error, &what))?;
    let malformed = |detail: String| LookupError::Other { registry: endpoint.registry.clone(), detail };
    let mut manifest: Manifest = serde_json::from_slice(&body)
        .map_err(|error| malformed(format!("{what}: unreadable manifest: {error}")))?;
    let mut digest = top_digest.clone();
    if let Some(entries) = &manifest.manifests {
        let chosen = choose_platform(entries, platform).ok_or_else(|| LookupError::NotFound {
            registry: endpoint.registry.clone(),
            what: format!("{platform} image in the index of {what}"),
        })?;
        digest = chosen.to_string();
        let (body, _) = client
            .pull_manifest_raw(&endpoint.by_digest(&digest), auth, MANIFEST_TYPES)
            .await
            .map_err(|error| endpoint.explain(error, &format!("{what} for {platform}")))?;
        manifest = serde_json::from_slice(&body)
            .map_err(|error| malformed(format!("{what}: unreadable {platform} manifest: {error}")))?;
    }
    let blobs = endpoint.by_digest(&digest);
    if let Some(known) = cached.and_then(|(cache, files)| cache.usable(&digest, files)) {
        let fetched = Fetched { facts: known.facts, layers: known.layers, top_digest, cached: true };
        return Ok((fetched, Source { reference: blobs, layers: Vec::new() }));
    }
    let config_descriptor =
        manifest.config.clone().ok_or_else(|| malformed(format!("{what}: a manifest without a config")))?;
    if config_descriptor.size > MAX_CONFIG_BYTES {
        return Err(malformed(format!(
            "{what}: a config of {} bytes is no image config",
            config_descriptor.size
        )));
    }
    let mut bytes: Vec<u8> = Vec::new();
    client
        .pull_blob(&blobs, config_descriptor.digest.as_str(), &mut bytes)
        .await
        .map_err(|error| endpoint.explain(error, &format!("config of {what}")))?;
    let config: WireConfig = serde_json::from_slice(&bytes)
        .map_err(|error| malformed(format!("{what}: unreadable config: {error}")))?;
    let facts = facts_of(config, digest, platform);
    let source = Source { reference: blobs, layers: manifest.layers };
    Ok((Fetched { facts, layers: Layers::NotWanted, top_digest, cached: false }, source))
}

/// The index entry for `platform`: same OS and architecture, and the same variant when one
/// is asked for (without one, an entry without a variant is preferred, else the first).
fn choose_platform<'a>(entries: &'a [IndexEntry], platform: &Platform) -> Option<&'a str> {
    let matching: Vec<&IndexEntry> = entries
        .iter()
        .filter(|entry| {
            entry
                .platform
                .as_ref()
                .is_some_and(|p| p.os == platform.os && p.architecture == platform.architecture)
        })
        .collect();
    let variant = |entry: &&IndexEntry| entry.platform.as_ref().and_then(|p| p.variant.clone());
    let chosen = match &platform.variant {
        Some(wanted) => matching.iter().find(|entry| variant(entry).as_ref() == Some(wanted)),
        None => matching.iter().find(|entry| variant(entry).is_none()).or(matching.first()),
    };
    chosen.map(|entry| entry.digest.as_str())
}

fn facts_of(config: WireConfig, digest: String, asked: &Platform) -> ImageFacts {
    let runtime = config.config.unwrap_or_default();
    let WirePlatform { os, architecture, variant } = config.platform;
    let platform = if os.is_empty() || architecture.is_empty() {
        asked.clone()
    } else {
        Platform { os, architecture, variant }
    };
    let keys = |map: Option<serde_json::Map<String, serde_json::Value>>| {
        map.map(|map| map.into_iter().map(|(key, _)| key).collect()).unwrap_or_default()
    };
    ImageFacts {
        digest: Some(digest),
        platform,
        config: ImageConfig {
            user: runtime.user,
            entrypoint: runtime.entrypoint.unwrap_or_default(),
            cmd: runtime.cmd.unwrap_or_default(),
            env: runtime.env.unwrap_or_default(),
            working_dir: runtime.working_dir.filter(|dir| !dir.is_empty()),
            labels: runtime.labels.unwrap_or_default(),
            exposed_ports: keys(runtime.exposed_ports),
            volumes: keys(runtime.volumes),
        },
        history: config.history.into_iter().map(|entry| entry.created_by).collect(),
        files: None,
    }
}

/// Streams each layer, in order, into a [`Rootfs`]; the reason when one cannot be read.
async fn read_layers(registries: &Registries, source: &Source) -> Result<Rootfs, String> {
    let mut rootfs = Rootfs::default();
    for (index, layer) in source.layers.iter().enumerate() {
        if layer.media_type.contains("zstd") {
            return Err(format!(
                "layer {} is zstd-compressed, which dockfix does not read: config facts only",
                index + 1
            ));
        }
        let stream =
            registries.client().pull_blob_stream(&source.reference, layer.digest.as_str()).await.map_err(
                |error| format!("layer {} could not be fetched ({error}): config facts only", index + 1),
            )?;
        let (sender, receiver) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(16);
        let worker = tokio::task::spawn_blocking(move || {
            let result = rootfs.apply_blob(ChannelReader { receiver, current: bytes::Bytes::new() });
            (rootfs, result)
        });
        // A registry that sends more than the manifest says is cut off there.
        let declared = layer.size.max(0) as u64;
        let mut received: u64 = 0;
        let mut stream = stream.stream;
        while let Some(chunk) = stream.next().await {
            received += chunk.as_ref().map_or(0, |bytes| bytes.len() as u64);
            let chunk = if received > declared {
                Err(std::io::Error::other(format!("more than the {declared} bytes its manifest says")))
            } else {
                chunk
            };
            let stop = chunk.is_err();
            if sender.send(chunk).await.is_err() || stop {
                break;
            }
        }
        drop(sender);
        let (back, result) =
            worker.await.map_err(|error| format!("reading layer {} failed: {error}", index + 1))?;
        rootfs = back;
        result.map_err(|error| format!("layer {}: {error}: config facts only", index + 1))?;
    }
    Ok(rootfs)
}

/// The bytes of a streamed blob, as a blocking reader for gunzip and tar.
struct ChannelReader {
    receiver: tokio::sync::mpsc::Receiver<std::io::Result<bytes::Bytes>>,
    current: bytes::Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.receiver.blocking_recv() {
                Some(chunk) => self.current = chunk?,
                None => return Ok(0),
            }
        }
        let count = out.len().min(self.current.len());
        out[..count].copy_from_slice(&self.current.split_to(count));
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(digest: &str, arch: &str, variant: Option<&str>) -> IndexEntry {
        IndexEntry {
            digest: digest.into(),
            platform: Some(WirePlatform {
                os: "linux".into(),
                architecture: arch.into(),
                variant: variant.map(String::from),
            }),
        }
    }

    #[test]
    fn the_build_platform_is_chosen_from_an_index() {
        let entries = [
            entry("a", "amd64", None),
            entry("v7", "arm", Some("v7")),
            entry("v6", "arm", Some("v6")),
            entry("v8", "arm64", Some("v8")),
        ];
        let platform = |arch: &str, variant: Option<&str>| Platform {
            os: "linux".into(),
            architecture: arch.into(),
            variant: variant.map(String::from),
        };
        assert_eq!(choose_platform(&entries, &platform("amd64", None)), Some("a"));
        assert_eq!(choose_platform(&entries, &platform("arm", Some("v6"))), Some("v6"));
        assert_eq!(
            choose_platform(&entries, &platform("arm", None)),
            Some("v7"),
            "the first without a plain one"
        );
        assert_eq!(choose_platform(&entries, &platform("arm64", None)), Some("v8"));
        assert_eq!(choose_platform(&entries, &platform("s390x", None)), None);
    }

    #[test]
    fn config_fields_become_facts() {
        let config: WireConfig = serde_json::from_str(
            r#"{"architecture":"arm64","os":"linux","variant":"v8","config":{"User":"postgres","Entrypoint":["docker-entrypoint.sh"],
                "Cmd":null,"Env":["PATH=/usr/bin","GOSU_VERSION=1.17"],"WorkingDir":"","ExposedPorts":{"5432/tcp":{}},
                "Volumes":{"/var/lib/postgresql/data":{}},"Labels":{"a":"b"}},
                "history":[{"created_by":"/bin/sh -c #(nop) ADD file:x in /"},{"empty_layer":true}]}"#,
        )
        .expect("config");
        let facts = facts_of(config, "sha256:1".into(), &Platform::default());
        assert_eq!(facts.platform.to_string(), "linux/arm64/v8");
        assert_eq!(facts.config.non_root_user(), Some("postgres"));
        assert_eq!(facts.config.env_value("GOSU_VERSION"), Some("1.17"));
        assert_eq!(facts.config.exposed_ports, ["5432/tcp"]);
        assert_eq!(facts.config.working_dir, None);
        assert!(facts.config.cmd.is_empty());
        assert_eq!(facts.history, ["/bin/sh -c #(nop) ADD file:x in /", ""]);
    }
}
