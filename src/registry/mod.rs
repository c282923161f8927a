//! The registry client behind `pin-images`: what a tag points to (the digest of its
//! multi-platform index, or of its manifest when it has no index) and which version tag
//! points to the same image, through the OCI distribution API (`oci-client`).
//!
//! Anonymous bearer tokens (Docker Hub, GHCR, Quay) and basic auth from the `auths` of the
//! Docker config (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`); Docker Hub
//! mirrors tried before Docker Hub; TLS unless a host is named insecure; a timeout per
//! request and a deadline per reference. Errors say which registry answered what, and where
//! the credentials came from.

mod credentials;
mod errors;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dockfix_transforms::image::{ImageRef, DOCKER_HUB};
use dockfix_transforms::pin::{is_floating, version_candidates, Resolved};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::{Client, Reference};

pub(crate) use credentials::Credentials;
pub use credentials::{mirror_host, DockerConfig};
use errors::Failing;
pub use errors::LookupError;

/// Tags asked per page of a tag listing.
const TAG_PAGE: usize = 1000;
/// Pages of tags read at most (Docker Hub's busiest repositories have some 10 000 tags).
const MAX_TAG_PAGES: usize = 30;
/// Version tags whose digest is compared with a floating tag's, most specific first.
const MAX_CANDIDATES: usize = 40;
/// References looked up at once.
pub const CONCURRENT_LOOKUPS: usize = 8;

/// How to reach registries.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegistryConfig {
    /// For each request (connect, and each read); a reference's whole lookup gets a few times
    /// this.
    pub timeout: Duration,
    /// Hosts (`HOST[:PORT]`) spoken to over plain HTTP.
    pub insecure: Vec<String>,
    /// Docker Hub mirrors (`HOST[:PORT]`), tried in order before Docker Hub.
    pub mirrors: Vec<String>,
    /// The Docker config file with `auths`; `None`: `$DOCKER_CONFIG/config.json`, else
    /// `~/.docker/config.json`.
    pub docker_config: Option<PathBuf>,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            timeout: Duration::from_secs(20),
            insecure: Vec::new(),
            mirrors: Vec::new(),
            docker_config: None,
        }
    }
}

/// A client for every registry of a run.
pub struct Registries {
    client: Client,
    config: RegistryConfig,
    docker_config: DockerConfig,
}

impl Registries {
    pub fn new(config: RegistryConfig) -> Registries {
        // rustls needs one process-wide crypto provider; a second install is a no-op error.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut insecure = config.insecure.clone();
        for mirror in &config.mirrors {
            if let (host, true) = mirror_host(mirror) {
                insecure.push(host);
            }
        }
        let client_config = ClientConfig {
            protocol: ClientProtocol::HttpsExcept(insecure),
            read_timeout: Some(config.timeout),
            connect_timeout: Some(config.timeout),
            // A digest of the tag itself is wanted, never one platform's: no platform choice.
            platform_resolver: None,
            user_agent: concat!("dockfix/", env!("CARGO_PKG_VERSION")),
            ..ClientConfig::default()
        };
        let docker_config = DockerConfig::load(config.docker_config.as_deref());
        Registries { client: Client::new(client_config), config, docker_config }
    }

    /// Resolves every reference once, at most [`CONCURRENT_LOOKUPS`] at a time. Blocks.
    pub fn resolve_all(self, images: Vec<ImageRef>) -> Vec<(ImageRef, Result<Resolved, LookupError>)> {
        let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()
        {
            Ok(runtime) => runtime,
            Err(error) => {
                let detail = format!("cannot start the network runtime: {error}");
                return images
                    .into_iter()
                    .map(|image| {
                        let registry = image.domain().to_string();
                        (image, Err(LookupError::Other { registry, detail: detail.clone() }))
                    })
                    .collect();
            }
        };
        let this = Arc::new(self);
        runtime.block_on(async move {
            let permits = Arc::new(tokio::sync::Semaphore::new(CONCURRENT_LOOKUPS));
            let mut tasks = tokio::task::JoinSet::new();
            for (index, image) in images.into_iter().enumerate() {
                let (this, permits) = (Arc::clone(&this), Arc::clone(&permits));
                tasks.spawn(async move {
                    let _permit = permits.acquire_owned().await;
                    let result = this.resolve(&image).await;
                    (index, image, result)
                });
            }
            let mut done = Vec::new();
            while let Some(joined) = tasks.join_next().await {
                // A panicking lookup is a bug; re-raise it rather than lose a reference.
                done.push(joined.unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic())));
            }
            done.sort_by_key(|(index, _, _)| *index);
            done.into_iter().map(|(_, image, result)| (image, result)).collect()
        })
    }

    /// What `image`'s tag points to, through the mirrors first when it is a Docker Hub image.
    pub async fn resolve(&self, image: &ImageRef) -> Result<Resolved, LookupError> {
        self.first_answer(image, self.deadline(), |endpoint| self.resolve_at(endpoint)).await
    }

    /// The deadline of one reference's lookup at one registry: a few request timeouts.
    pub(crate) fn deadline(&self) -> Duration {
        self.config.timeout * 6
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// The registries to ask for `image`, in order: for a Docker Hub image the mirrors, then
    /// Docker Hub; otherwise its own registry.
    pub(crate) fn endpoints<'a>(&self, image: &'a ImageRef) -> Vec<Endpoint<'a>> {
        let mut mirrors: Vec<Option<String>> = Vec::new();
        if image.domain() == DOCKER_HUB {
            mirrors.extend(self.config.mirrors.iter().map(|mirror| Some(mirror_host(mirror).0)));
        }
        mirrors.push(None);
        mirrors
            .into_iter()
            .map(|mirror| {
                let registry = mirror.clone().unwrap_or_else(|| wire_registry(image));
                let credentials = self.docker_config.credentials(&registry);
                Endpoint { registry, mirror, image, credentials, timeout: self.config.timeout }
            })
            .collect()
    }

    /// The first success of `attempt` at the registries of `image` ([`Registries::endpoints`]),
    /// each given `deadline`; else the last registry's error.
    pub(crate) async fn first_answer<'a, T, F, Fut>(
        &self,
        image: &'a ImageRef,
        deadline: Duration,
        mut attempt: F,
    ) -> Result<T, LookupError>
    where
        F: FnMut(Endpoint<'a>) -> Fut,
        Fut: std::future::Future<Output = Result<T, LookupError>>,
    {
        let mut last = None;
        for endpoint in self.endpoints(image) {
            let registry = endpoint.registry.clone();
            match tokio::time::timeout(deadline, attempt(endpoint)).await {
                Ok(Ok(answer)) => return Ok(answer),
                Ok(Err(error)) => last = Some(error),
                Err(_) => last = Some(LookupError::Timeout { registry, seconds: deadline.as_secs() }),
            }
        }
        Err(last.unwrap_or_else(|| LookupError::Other {
            registry: image.domain().into(),
            detail: "no registry to ask".into(),
        }))
    }

    async fn resolve_at(&self, endpoint: Endpoint<'_>) -> Result<Resolved, LookupError> {
        let image = endpoint.image;
        let credentials = &endpoint.credentials;
        let tag = image.tag_or_latest();
        let digest = self
            .client
            .fetch_manifest_digest(&endpoint.tagged(tag), &credentials.auth)
            .await
            .map_err(|error| endpoint.explain(error, &format!("{}:{tag}", image.repository())))?;
        if !is_floating(image.tag.as_deref()) {
            return Ok(Resolved { digest, version_tag: None });
        }
        let tags = self.list_tags(&endpoint.tagged(tag), &endpoint).await?;
        for candidate in version_candidates(image.tag.as_deref(), &tags).into_iter().take(MAX_CANDIDATES) {
            match self.client.fetch_manifest_digest(&endpoint.tagged(&candidate), &credentials.auth).await {
                Ok(found) if found == digest => return Ok(Resolved { digest, version_tag: Some(candidate) }),
                Ok(_) => {}
                Err(error) => match endpoint.explain(error, &format!("{}:{candidate}", image.repository())) {
                    // A tag removed since the listing is no candidate.
                    LookupError::NotFound { .. } => {}
                    error => return Err(error),
                },
            }
        }
        Ok(Resolved { digest, version_tag: None })
    }

    async fn list_tags(
        &self,
        reference: &Reference,
        endpoint: &Endpoint<'_>,
    ) -> Result<Vec<String>, LookupError> {
        let mut tags: Vec<String> = Vec::new();
        for _ in 0..MAX_TAG_PAGES {
            let last = tags.last().cloned();
            let page = self
                .client
                .list_tags(reference, &endpoint.credentials.auth, Some(TAG_PAGE), last.as_deref())
                .await
                .map_err(|error| {
                    endpoint.explain(error, &format!("repository {}", reference.repository()))
                })?;
            let count = page.tags.len();
            let before = tags.len();
            tags.extend(page.tags.into_iter().filter(|tag| Some(tag) != last.as_ref()));
            // A registry that ignores `n` sends everything at once; one that ignores `last`
            // would send the same page again.
            if count != TAG_PAGE || tags.len() == before {
                break;
            }
        }
        Ok(tags)
    }
}

/// The registry as requests address it (`docker.io` is `index.docker.io` on the wire).
fn wire_registry(image: &ImageRef) -> String {
    match image.domain() {
        DOCKER_HUB => "index.docker.io".to_string(),
        host => host.to_string(),
    }
}

/// One registry to ask for an image: a Docker Hub mirror, or the image's own registry, with
/// the credentials for it.
pub(crate) struct Endpoint<'a> {
    /// The host requests go to (`index.docker.io`, a mirror, `ghcr.io`).
    pub(crate) registry: String,
    mirror: Option<String>,
    pub(crate) image: &'a ImageRef,
    pub(crate) credentials: Credentials,
    timeout: Duration,
}

impl Endpoint<'_> {
    /// The image's repository at `tag`, addressed to this registry.
    pub(crate) fn tagged(&self, tag: &str) -> Reference {
        let image = self.image;
        self.at(Reference::with_tag(image.domain().to_string(), image.repository(), tag.to_string()))
    }

    /// The image's repository at `digest` (`sha256:...`), addressed to this registry.
    pub(crate) fn by_digest(&self, digest: &str) -> Reference {
        let image = self.image;
        self.at(Reference::with_digest(image.domain().to_string(), image.repository(), digest.to_string()))
    }

    fn at(&self, mut reference: Reference) -> Reference {
        if let Some(mirror) = &self.mirror {
            reference.set_mirror_registry(mirror.clone());
        }
        reference
    }

    /// A client error as a [`LookupError`]; `what` is what a 404 means is missing.
    pub(crate) fn explain(&self, error: OciDistributionError, what: &str) -> LookupError {
        Failing {
            registry: &self.registry,
            image: self.image,
            credentials: &self.credentials,
            timeout: self.timeout,
        }
        .explain(error, what)
    }
}
