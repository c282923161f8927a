//! The image-reference grammar: `registry/path:tag@digest` as Docker reads and writes it.

/// The registry Docker uses for references that name none.
pub const DOCKER_HUB: &str = "docker.io";

/// An image reference split into its parts (`registry/path:tag@digest`), parsed with Docker's
/// reference grammar (distribution's `reference` package): an optional registry host (with
/// port) when the first path component has a `.` or `:`, is `localhost`, or has upper-case
/// letters; lower-case path components separated by `/`; a tag of up to 128 word characters,
/// `.` and `-`; a digest `algorithm:hex`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host with port, when the reference names one (`ghcr.io`, `localhost:5000`).
    pub registry: Option<String>,
    /// The repository path without registry, as written (`python`, not `library/python`).
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

/// Why a text is not an image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("the reference is empty")]
    Empty,
    #[error("`{0}` has upper-case letters in its repository name; Docker accepts only lower case there")]
    UpperCase(String),
    #[error("`{0}` is not a valid image reference")]
    Invalid(String),
    #[error("the repository name of `{0}` is longer than 255 characters")]
    TooLong(String),
}

/// The longest repository name Docker accepts (registry included).
const MAX_NAME_LEN: usize = 255;
/// The longest tag Docker accepts.
const MAX_TAG_LEN: usize = 128;

impl ImageRef {
    /// Parses a reference; `None` when it is not one (see [`ImageRef::parse_checked`]).
    pub fn parse(reference: &str) -> Option<ImageRef> {
        ImageRef::parse_checked(reference).ok()
    }

    /// Splits a reference into its parts without checking them against the grammar (a tag may
    /// hold `${VAR}`): for the fact tables, which judge partly resolved names.
    pub(crate) fn parse_lenient(reference: &str) -> Option<ImageRef> {
        let reference = reference.trim();
        if reference.is_empty() || reference.contains(char::is_whitespace) {
            return None;
        }
        let (rest, digest) = match reference.split_once('@') {
            Some((rest, digest)) => (rest, Some(digest.to_string())),
            None => (reference, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |idx| idx + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(idx) => (&rest[..last_slash + idx], Some(rest[last_slash + idx + 1..].to_string())),
            None => (rest, None),
        };
        let (registry, path) = match name.split_once('/') {
            Some((host, path)) if is_registry_host(host) => (Some(host.to_string()), path.to_string()),
            _ => (None, name.to_string()),
        };
        Some(ImageRef { registry, path, tag, digest })
    }

    /// Parses a reference, saying why it is not one.
    pub fn parse_checked(reference: &str) -> Result<ImageRef, ReferenceError> {
        let reference = reference.trim();
        let invalid = || ReferenceError::Invalid(reference.to_string());
        if reference.is_empty() {
            return Err(ReferenceError::Empty);
        }
        let (rest, digest) = match reference.split_once('@') {
            Some((rest, digest)) => (rest, Some(digest)),
            None => (reference, None),
        };
        if digest.is_some_and(|digest| !valid_digest(digest)) {
            return Err(invalid());
        }
        // A `:` after the last `/` starts the tag; one before it belongs to a registry port.
        let last_slash = rest.rfind('/').map_or(0, |idx| idx + 1);
        let (name, tag) = match rest[last_slash..].find(':') {
            Some(idx) => (&rest[..last_slash + idx], Some(&rest[last_slash + idx + 1..])),
            None => (rest, None),
        };
        if tag.is_some_and(|tag| !valid_tag(tag)) {
            return Err(invalid());
        }
        if name.len() > MAX_NAME_LEN {
            return Err(ReferenceError::TooLong(reference.to_string()));
        }
        let (registry, path) = match name.split_once('/') {
            Some((host, path)) if is_registry_host(host) => (Some(host), path),
            _ => (None, name),
        };
        if registry.is_some_and(|host| !valid_host(host)) {
            return Err(invalid());
        }
        if path.split('/').any(|component| !valid_path_component(&component.to_ascii_lowercase())) {
            return Err(invalid());
        }
        if path.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(ReferenceError::UpperCase(reference.to_string()));
        }
        Ok(ImageRef {
            registry: registry.map(str::to_string),
            path: path.to_string(),
            tag: tag.map(str::to_string),
            digest: digest.map(str::to_string),
        })
    }

    /// The repository's last path component (`python` for `docker.io/library/python`).
    pub fn short_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }

    /// Registry and path, lower-cased, for matching against the fact tables.
    pub fn full_name(&self) -> String {
        match &self.registry {
            Some(registry) => format!("{registry}/{}", self.path).to_ascii_lowercase(),
            None => self.path.to_ascii_lowercase(),
        }
    }

    /// The registry the reference resolves to: `docker.io` when none is written (and for
    /// Docker Hub's other name `index.docker.io`).
    pub fn domain(&self) -> &str {
        match self.registry.as_deref() {
            None => DOCKER_HUB,
            Some(host) if host.eq_ignore_ascii_case("index.docker.io") => DOCKER_HUB,
            Some(host) => host,
        }
    }

    /// The repository path in the registry: Docker Hub's official images live under
    /// `library/` (`python` is `library/python`).
    pub fn repository(&self) -> String {
        if self.domain() == DOCKER_HUB && !self.path.contains('/') {
            format!("library/{}", self.path)
        } else {
            self.path.clone()
        }
    }

    /// The tag, or `latest`, which Docker pulls when none is written.
    pub fn tag_or_latest(&self) -> &str {
        self.tag.as_deref().unwrap_or("latest")
    }

    /// `domain/repository:tag` with everything implied written out: the key under which a
    /// reference is looked up once per run (`docker.io/library/python:latest`).
    pub fn canonical_tagged(&self) -> String {
        format!("{}/{}:{}", self.domain(), self.repository(), self.tag_or_latest())
    }
}

impl std::fmt::Display for ImageRef {
    /// The reference as written.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(registry) = &self.registry {
            write!(f, "{registry}/")?;
        }
        f.write_str(&self.path)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// Docker's rule for the first component of a name: a registry host when it has a `.` or a
/// `:`, is `localhost`, or has upper-case letters (repository paths cannot).
fn is_registry_host(component: &str) -> bool {
    component.contains(['.', ':'])
        || component == "localhost"
        || component.chars().any(|c| c.is_ascii_uppercase())
}

/// `host[:port]`: DNS labels (letters, digits, `-` inside) separated by `.`, or `[IPv6]`.
fn valid_host(host: &str) -> bool {
    let (name, port) = match host.strip_prefix('[') {
        Some(bracketed) => match bracketed.split_once(']') {
            Some((ip, rest)) if ip.parse::<std::net::Ipv6Addr>().is_ok() => ("v6", rest.strip_prefix(':')),
            _ => return false,
        },
        None => match host.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        },
    };
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let port_ok = port.is_none_or(|port| !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()));
    name.split('.').all(label_ok) && port_ok
}

/// `[a-z0-9]+` runs separated by `.`, `_`, `__` or any number of `-`.
fn valid_path_component(component: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let bytes = component.as_bytes();
    if bytes.is_empty() || !alnum(bytes[0] as char) || !alnum(bytes[bytes.len() - 1] as char) {
        return false;
    }
    let mut separator = String::new();
    for c in component.chars() {
        if alnum(c) {
            let ok =
                matches!(separator.as_str(), "" | "." | "_" | "__") || separator.chars().all(|s| s == '-');
            if !ok {
                return false;
            }
            separator.clear();
        } else if matches!(c, '.' | '_' | '-') {
            separator.push(c);
        } else {
            return false;
        }
    }
    true
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`
fn valid_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && tag.len() <= MAX_TAG_LEN
}

/// `algorithm:encoded`; a `sha256` digest is exactly 64 lower-case hex digits.
fn valid_digest(digest: &str) -> bool {
    let Some((algorithm, encoded)) = digest.split_once(':') else {
        return false;
    };
    let algorithm_ok = algorithm.split(['+', '.', '_', '-']).all(|part| {
        part.starts_with(|c: char| c.is_ascii_alphabetic()) && part.chars().all(|c| c.is_ascii_alphanumeric())
    });
    let hex = |c: char| c.is_ascii_digit() || matches!(c, 'a'..='f');
    match algorithm {
        "sha256" => encoded.len() == 64 && encoded.chars().all(hex),
        "sha512" => encoded.len() == 128 && encoded.chars().all(hex),
        _ => algorithm_ok && encoded.len() >= 32 && encoded.chars().all(|c| c.is_ascii_hexdigit()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_references() {
        let r = ImageRef::parse(&format!("localhost:5000/team/app:1.2@{DIGEST}")).unwrap();
        assert_eq!(r.registry.as_deref(), Some("localhost:5000"));
        assert_eq!(r.path, "team/app");
        assert_eq!(r.tag.as_deref(), Some("1.2"));
        assert_eq!(r.digest.as_deref(), Some(DIGEST));
        let r = ImageRef::parse("python").unwrap();
        assert_eq!((r.registry, r.path.as_str(), r.tag), (None, "python", None));
        let r = ImageRef::parse("ghcr.io/owner/img").unwrap();
        assert_eq!(r.registry.as_deref(), Some("ghcr.io"));
        assert_eq!(r.tag, None);
    }

    #[test]
    fn registry_hosts_follow_dockers_rule() {
        let registry = |text: &str| ImageRef::parse(text).unwrap().registry;
        assert_eq!(registry("localhost/app"), Some("localhost".into()));
        assert_eq!(registry("localhost:5000/app:1"), Some("localhost:5000".into()));
        assert_eq!(registry("127.0.0.1:5000/a/b/c:tag"), Some("127.0.0.1:5000".into()));
        assert_eq!(registry("[::1]:5000/app"), Some("[::1]:5000".into()));
        assert_eq!(registry("myorg/app"), None, "no dot, colon or localhost: a Docker Hub namespace");
        assert_eq!(registry("Registry/app"), Some("Registry".into()), "upper case is only valid in a host");
        let nested = ImageRef::parse("registry.example.com:443/a/b/c/d:1.0").unwrap();
        assert_eq!(nested.path, "a/b/c/d");
        assert_eq!(nested.tag.as_deref(), Some("1.0"));
    }

    #[test]
    fn docker_hub_is_implied() {
        let python = ImageRef::parse("python").unwrap();
        assert_eq!((python.domain(), python.repository().as_str()), ("docker.io", "library/python"));
        assert_eq!(python.canonical_tagged(), "docker.io/library/python:latest");
        let spelled = ImageRef::parse("index.docker.io/library/python:3").unwrap();
        assert_eq!(spelled.canonical_tagged(), "docker.io/library/python:3");
        let user = ImageRef::parse("bitnami/redis:7").unwrap();
        assert_eq!(user.canonical_tagged(), "docker.io/bitnami/redis:7");
        let elsewhere = ImageRef::parse("quay.io/app").unwrap();
        assert_eq!(elsewhere.canonical_tagged(), "quay.io/app:latest", "library/ is Docker Hub's only");
    }

    #[test]
    fn rejects_what_docker_rejects() {
        assert_eq!(ImageRef::parse_checked("Python:3"), Err(ReferenceError::UpperCase("Python:3".into())));
        assert_eq!(ImageRef::parse_checked(""), Err(ReferenceError::Empty));
        for bad in [
            "python:3 12",
            "python:",
            "python:-3",
            "python@sha256:abc",
            "python@md5",
            "-python",
            "py--thon_",
            "a//b",
            "python:${TAG}",
            "host:port/app",
            "ghcr.io/Owner/app",
            &format!("python:{}", "t".repeat(129)),
        ] {
            assert!(ImageRef::parse(bad).is_none(), "{bad}");
        }
        for good in [
            "a__b/c.d",
            "a---b",
            "python:_x",
            "python:3.12.1-slim-bookworm",
            "mcr.microsoft.com/windows/servercore:ltsc2022",
        ] {
            assert!(ImageRef::parse(good).is_some(), "{good}");
        }
        assert!(ImageRef::parse(&format!("python@{DIGEST}")).is_some());
        assert_eq!(
            ImageRef::parse(&format!("python:3@{DIGEST}")).unwrap().to_string(),
            format!("python:3@{DIGEST}")
        );
    }
}
