//! The registry client behind `pin-images`: what a tag points to (the digest of its
//! multi-platform index, or of its manifest when it has no index) and which version tag
//! points to the same image, through the OCI distribution API (`oci-client`).
//!
//! Anonymous bearer tokens (Docker Hub, GHCR, Quay) and basic auth from the `auths` of the
//! Docker config (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`); Docker Hub
//! mirrors tried before Docker Hub; TLS unless a host is named insecure; a timeout per
//! request and a deadline per reference. Errors say which registry answered what, and where
//! the credentials came from.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use dockfix_transforms::image::{ImageRef, DOCKER_HUB};
use dockfix_transforms::pin::{is_floating, version_candidates, Resolved};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use thiserror::Error;

/// Tags asked per page of a tag listing.
const TAG_PAGE: usize = 1000;
/// Pages of tags read at most (Docker Hub's busiest repositories have some 10 000 tags).
const MAX_TAG_PAGES: usize = 30;
/// Version tags whose digest is compared with a floating tag's, most specific first.
const MAX_CANDIDATES: usize = 40;
/// References looked up at once.
const CONCURRENT_LOOKUPS: usize = 8;

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

/// Why a reference could not be resolved. The text is one line, for a finding.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum LookupError {
    #[error("{registry} refused access ({status}) to {repository}; credentials: {credentials}")]
    Denied { registry: String, repository: String, status: u16, credentials: String },
    #[error("{registry} has no {what} (404)")]
    NotFound { registry: String, what: String },
    #[error("{registry} rate-limited the lookup (429 Too Many Requests); log in for a higher limit, or try again later")]
    RateLimited { registry: String },
    #[error("{registry} did not answer within {seconds}s (timeout)")]
    Timeout { registry: String, seconds: u64 },
    #[error("TLS with {registry} failed: {detail} (a registry that speaks plain HTTP needs --insecure-registry {registry})")]
    Tls { registry: String, detail: String },
    #[error("cannot connect to {registry}: {detail}")]
    Connect { registry: String, detail: String },
    #[error("{registry} answered {status}: {detail}")]
    Status { registry: String, status: u16, detail: String },
    #[error("{registry}: {detail}")]
    Other { registry: String, detail: String },
}

/// Where the credentials for a registry come from, for error messages.
#[derive(Debug, Clone)]
struct Credentials {
    auth: RegistryAuth,
    source: String,
}

/// The `auths` of a Docker config file, by registry host.
#[derive(Debug, Clone, Default)]
pub struct DockerConfig {
    path: Option<PathBuf>,
    auths: HashMap<String, (String, String)>,
    /// Why an entry that exists cannot be used (identity tokens), by host.
    unusable: HashMap<String, String>,
    helpers: Vec<String>,
}

/// Docker Hub's names in config files and on the wire.
const DOCKER_HUB_NAMES: &[&str] = &["docker.io", "index.docker.io", "registry-1.docker.io"];

impl DockerConfig {
    /// Reads `path`, or the default location; a missing file means no credentials.
    pub fn load(path: Option<&Path>) -> DockerConfig {
        let path = path.map(Path::to_path_buf).or_else(default_docker_config);
        let Some(path) = path else { return DockerConfig::default() };
        let Ok(text) = std::fs::read_to_string(&path) else {
            return DockerConfig { path: Some(path), ..DockerConfig::default() };
        };
        let mut config = DockerConfig::parse(&text);
        config.path = Some(path);
        config
    }

    fn parse(text: &str) -> DockerConfig {
        let mut config = DockerConfig::default();
        let Ok(json) = serde_json::from_str::<serde_json::Value>(text) else { return config };
        if let Some(store) = json.get("credsStore").and_then(|v| v.as_str()) {
            config.helpers.push(format!("credsStore `{store}`"));
        }
        if let Some(helpers) = json.get("credHelpers").and_then(|v| v.as_object()) {
            config
                .helpers
                .extend(helpers.iter().map(|(host, helper)| format!("credHelpers `{host}`: {helper}")));
        }
        let Some(auths) = json.get("auths").and_then(|v| v.as_object()) else { return config };
        for (key, entry) in auths {
            let host = config_host(key);
            let field = |name: &str| entry.get(name).and_then(|v| v.as_str()).filter(|v| !v.is_empty());
            let decoded = field("auth")
                .and_then(|auth| base64::engine::general_purpose::STANDARD.decode(auth.trim()).ok())
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .and_then(|pair| {
                    pair.split_once(':').map(|(user, pass)| (user.to_string(), pass.to_string()))
                });
            let explicit =
                field("username").zip(field("password")).map(|(u, p)| (u.to_string(), p.to_string()));
            match decoded.or(explicit) {
                Some(pair) => {
                    config.auths.insert(host, pair);
                }
                None if field("identitytoken").is_some() => {
                    config.unusable.insert(host, "an identity token, which dockfix does not use".into());
                }
                None => {}
            }
        }
        config
    }

    fn credentials(&self, registry: &str) -> Credentials {
        let shown =
            self.path.as_ref().map_or("no Docker config file".to_string(), |p| p.display().to_string());
        let names: Vec<&str> =
            if DOCKER_HUB_NAMES.contains(&registry) { DOCKER_HUB_NAMES.to_vec() } else { vec![registry] };
        for name in &names {
            if let Some((user, pass)) = self.auths.get(*name) {
                return Credentials {
                    auth: RegistryAuth::Basic(user.clone(), pass.clone()),
                    source: format!("user `{user}` from the auths of {shown}"),
                };
            }
        }
        let mut source = format!("anonymous (no auths entry for {registry} in {shown})");
        if let Some(reason) = names.iter().find_map(|name| self.unusable.get(*name)) {
            source = format!("anonymous (the auths entry for {registry} in {shown} holds {reason})");
        }
        if !self.helpers.is_empty() {
            source.push_str(&format!("; {} not used by dockfix", self.helpers.join(", ")));
        }
        Credentials { auth: RegistryAuth::Anonymous, source }
    }
}

fn default_docker_config() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|dir| !dir.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker").join("config.json"))
}

/// `https://index.docker.io/v1/` -> `index.docker.io`: config keys may be URLs.
fn config_host(key: &str) -> String {
    let without_scheme = key.split_once("://").map_or(key, |(_, rest)| rest);
    without_scheme.split('/').next().unwrap_or(without_scheme).to_ascii_lowercase()
}

/// `https://mirror.example:5000/` -> `mirror.example:5000`, and whether it said `http://`.
pub fn mirror_host(mirror: &str) -> (String, bool) {
    let plain = mirror.starts_with("http://");
    (config_host(mirror), plain)
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
        let deadline = self.config.timeout * 6;
        let mut attempts: Vec<Option<String>> = Vec::new();
        if image.domain() == DOCKER_HUB {
            attempts.extend(self.config.mirrors.iter().map(|mirror| Some(mirror_host(mirror).0)));
        }
        attempts.push(None);
        let mut last = None;
        for mirror in attempts {
            let registry = mirror.clone().unwrap_or_else(|| wire_registry(image));
            let lookup = self.resolve_at(image, mirror);
            match tokio::time::timeout(deadline, lookup).await {
                Ok(Ok(resolved)) => return Ok(resolved),
                Ok(Err(error)) => last = Some(error),
                Err(_) => last = Some(LookupError::Timeout { registry, seconds: deadline.as_secs() }),
            }
        }
        Err(last.unwrap_or_else(|| LookupError::Other {
            registry: image.domain().into(),
            detail: "no registry to ask".into(),
        }))
    }

    async fn resolve_at(&self, image: &ImageRef, mirror: Option<String>) -> Result<Resolved, LookupError> {
        let registry = mirror.clone().unwrap_or_else(|| wire_registry(image));
        let credentials = self.docker_config.credentials(&registry);
        let reference = |tag: &str| {
            let mut reference =
                Reference::with_tag(image.domain().to_string(), image.repository(), tag.to_string());
            if let Some(mirror) = &mirror {
                reference.set_mirror_registry(mirror.clone());
            }
            reference
        };
        let context =
            Failing { registry: &registry, image, credentials: &credentials, timeout: self.config.timeout };
        let tag = image.tag_or_latest();
        let digest = self
            .client
            .fetch_manifest_digest(&reference(tag), &credentials.auth)
            .await
            .map_err(|error| context.explain(error, &format!("{}:{tag}", image.repository())))?;
        if !is_floating(image.tag.as_deref()) {
            return Ok(Resolved { digest, version_tag: None });
        }
        let tags = self.list_tags(&reference(tag), &credentials, &context).await?;
        for candidate in version_candidates(image.tag.as_deref(), &tags).into_iter().take(MAX_CANDIDATES) {
            match self.client.fetch_manifest_digest(&reference(&candidate), &credentials.auth).await {
                Ok(found) if found == digest => return Ok(Resolved { digest, version_tag: Some(candidate) }),
                Ok(_) => {}
                Err(error) => match context.explain(error, &format!("{}:{candidate}", image.repository())) {
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
        credentials: &Credentials,
        context: &Failing<'_>,
    ) -> Result<Vec<String>, LookupError> {
        let mut tags: Vec<String> = Vec::new();
        for _ in 0..MAX_TAG_PAGES {
            let last = tags.last().cloned();
            let page = self
                .client
                .list_tags(reference, &credentials.auth, Some(TAG_PAGE), last.as_deref())
                .await
                .map_err(|error| context.explain(error, &format!("repository {}", reference.repository())))?;
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

/// What a failing lookup was about, to explain errors.
struct Failing<'a> {
    registry: &'a str,
    image: &'a ImageRef,
    credentials: &'a Credentials,
    timeout: Duration,
}

impl Failing<'_> {
    /// `what` is what a 404 means is missing (`library/python:3.12`, `repository x/y`).
    fn explain(&self, error: OciDistributionError, what: &str) -> LookupError {
        let registry = self.registry.to_string();
        let repository = self.image.repository();
        let denied = |status: u16| LookupError::Denied {
            registry: registry.clone(),
            repository: repository.clone(),
            status,
            credentials: self.credentials.source.clone(),
        };
        let what = what.to_string();
        let by_status = |status: u16, detail: String| match status {
            401 | 403 => denied(status),
            404 => LookupError::NotFound { registry: registry.clone(), what: what.clone() },
            429 => LookupError::RateLimited { registry: registry.clone() },
            _ => LookupError::Status { registry: registry.clone(), status, detail: one_line(&detail) },
        };
        match error {
            OciDistributionError::UnauthorizedError { .. } => denied(401),
            OciDistributionError::AuthenticationFailure(detail) => LookupError::Denied {
                registry: registry.clone(),
                repository: repository.clone(),
                status: 401,
                credentials: format!(
                    "{} (the token service said: {})",
                    self.credentials.source,
                    one_line(&detail)
                ),
            },
            OciDistributionError::ImageManifestNotFoundError(_) => {
                LookupError::NotFound { registry: registry.clone(), what: what.clone() }
            }
            OciDistributionError::RegistryError { envelope, .. } => {
                let code = envelope.errors.first().map(|e| &e.code);
                let detail = envelope.errors.first().map(|e| e.message.clone()).unwrap_or_default();
                match code {
                    Some(OciErrorCode::Unauthorized) => denied(401),
                    Some(OciErrorCode::Denied) => denied(403),
                    Some(
                        OciErrorCode::ManifestUnknown | OciErrorCode::NameUnknown | OciErrorCode::NotFound,
                    ) => LookupError::NotFound { registry: registry.clone(), what: what.clone() },
                    Some(OciErrorCode::Toomanyrequests) => {
                        LookupError::RateLimited { registry: registry.clone() }
                    }
                    _ => LookupError::Other { registry: registry.clone(), detail: one_line(&detail) },
                }
            }
            OciDistributionError::ServerError { code, message, .. } => by_status(code, message),
            OciDistributionError::RequestError(error) => self.request_error(&error),
            other => LookupError::Other { registry, detail: one_line(&other.to_string()) },
        }
    }

    fn request_error(&self, error: &reqwest::Error) -> LookupError {
        let registry = self.registry.to_string();
        if error.is_timeout() || chain_mentions(error, "timed out") {
            return LookupError::Timeout { registry, seconds: self.timeout.as_secs() };
        }
        if let Some(tls) = tls_error(error) {
            return LookupError::Tls { registry, detail: tls };
        }
        if let Some(status) = error.status() {
            return LookupError::Status {
                registry,
                status: status.as_u16(),
                detail: one_line(&error.to_string()),
            };
        }
        LookupError::Connect { registry, detail: innermost(error) }
    }
}

fn one_line(text: &str) -> String {
    let line = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
    if line.len() > 200 {
        format!("{}...", line.chars().take(200).collect::<String>())
    } else {
        line
    }
}

/// The rustls error somewhere in an error's sources. An `io::Error` hides the error it wraps
/// from `source()` (it returns the wrapped error's source), so wrapped errors are opened too.
fn tls_error(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = current {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        current = match error.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            Some(wrapped) => Some(wrapped as &(dyn std::error::Error + 'static)),
            None => error.source(),
        };
    }
    None
}

fn chain_mentions(error: &(dyn std::error::Error + 'static), needle: &str) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = current {
        if error.to_string().contains(needle) {
            return true;
        }
        current = error.source();
    }
    false
}

/// The most specific message of an error chain (`Connection refused (os error 111)`).
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    one_line(&current.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_config_auths() {
        let encoded = base64::engine::general_purpose::STANDARD.encode("alice:s3cret");
        let text = format!(
            r#"{{"auths": {{"https://index.docker.io/v1/": {{"auth": "{encoded}"}},
                "registry.example.com:5000": {{"username": "bob", "password": "pw"}},
                "ghcr.io": {{"identitytoken": "x"}}}},
               "credsStore": "desktop"}}"#
        );
        let config = DockerConfig::parse(&text);
        let hub = config.credentials("index.docker.io");
        assert!(matches!(&hub.auth, RegistryAuth::Basic(user, pass) if user == "alice" && pass == "s3cret"));
        assert!(!hub.source.contains("s3cret"), "the password is never shown");
        let other = config.credentials("registry.example.com:5000");
        assert!(matches!(&other.auth, RegistryAuth::Basic(user, _) if user == "bob"));
        let ghcr = config.credentials("ghcr.io");
        assert!(matches!(ghcr.auth, RegistryAuth::Anonymous));
        assert!(
            ghcr.source.contains("identity token") && ghcr.source.contains("credsStore `desktop`"),
            "{}",
            ghcr.source
        );
        assert!(config.credentials("quay.io").source.starts_with("anonymous (no auths entry for quay.io"));
    }

    #[test]
    fn mirror_hosts() {
        assert_eq!(mirror_host("https://mirror.example:5000/"), ("mirror.example:5000".into(), false));
        assert_eq!(mirror_host("http://127.0.0.1:5000"), ("127.0.0.1:5000".into(), true));
        assert_eq!(mirror_host("mirror.example"), ("mirror.example".into(), false));
    }
}
