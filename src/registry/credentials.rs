//! Credentials from the `auths` of the Docker config, and how mirrors are written.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use oci_client::secrets::RegistryAuth;

/// Where the credentials for a registry come from, for error messages.
#[derive(Debug, Clone)]
pub(crate) struct Credentials {
    pub(crate) auth: RegistryAuth,
    pub(crate) source: String,
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

    pub(crate) fn credentials(&self, registry: &str) -> Credentials {
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
