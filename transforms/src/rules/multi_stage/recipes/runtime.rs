//! The runtime images a recipe picks: what each kind of image has, and which slim or
//! native image matches a builder's tag.

use super::{Ecosystem, Ecosystem::Python, StageView};
use crate::image::ImageRef;

/// Debian releases as tags name them (codenames, debian.org/releases); a dynamically linked
/// binary needs the same release.
const DEBIAN_RELEASES: &[&str] = &["trixie", "bookworm", "bullseye", "buster", "stretch"];
/// The release a suggestion assumes when the builder's tag names none.
const ASSUMED_DEBIAN_RELEASE: &str = "bookworm";

/// Users of the runtime images, besides numeric ones. Sources: Debian's base-passwd
/// (`passwd.master`), Alpine's alpine-baselayout (`/etc/passwd`), and distroless's base
/// image (GoogleContainerTools/distroless: root, nobody, nonroot as 65532).
const DEBIAN_USERS: &[&str] = &[
    "root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy",
    "www-data", "backup", "list", "irc", "nobody", "_apt",
];
const ALPINE_USERS: &[&str] = &[
    "root",
    "bin",
    "daemon",
    "adm",
    "lp",
    "sync",
    "shutdown",
    "halt",
    "mail",
    "news",
    "uucp",
    "operator",
    "man",
    "postmaster",
    "cron",
    "ftp",
    "sshd",
    "at",
    "squid",
    "xfs",
    "games",
    "cyrus",
    "vpopmail",
    "ntp",
    "smmsp",
    "guest",
    "nobody",
];
const DISTROLESS_USERS: &[&str] = &["root", "nobody", "nonroot"];

/// The kind of runtime image, for what it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeKind {
    /// Distroless static: no shell, no libc; CA bundle and tzdata included.
    Distroless,
    /// `debian:*-slim`: a shell, glibc; no CA bundle.
    Debian,
    /// `alpine`: BusyBox, musl, the CA bundle.
    Alpine,
    /// `node:*-slim` / `node:*-alpine`: the `node` user.
    Node { alpine: bool },
    /// `python:*-slim` / `python:*-alpine`: CA bundle and tzdata.
    Python { alpine: bool },
    /// `eclipse-temurin:*-jre` (Ubuntu, or Alpine): CA bundle and tzdata.
    Temurin { alpine: bool },
}

impl RuntimeKind {
    pub fn has_shell(self) -> bool {
        self != RuntimeKind::Distroless
    }

    pub fn has_user(self, name: &str) -> bool {
        let users = match self {
            RuntimeKind::Distroless => DISTROLESS_USERS,
            RuntimeKind::Alpine
            | RuntimeKind::Node { alpine: true }
            | RuntimeKind::Python { alpine: true }
            | RuntimeKind::Temurin { alpine: true } => ALPINE_USERS,
            _ => DEBIAN_USERS,
        };
        users.contains(&name) || (matches!(self, RuntimeKind::Node { .. }) && name == "node")
    }

    pub(super) fn ships_ca_bundle(self) -> bool {
        !matches!(self, RuntimeKind::Debian | RuntimeKind::Node { alpine: false })
    }

    pub(super) fn ships_tzdata(self) -> bool {
        matches!(self, RuntimeKind::Distroless | RuntimeKind::Python { .. } | RuntimeKind::Temurin { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runtime {
    pub image: String,
    pub kind: RuntimeKind,
}

/// An image tag read as version and variant words (`3.12-slim-bookworm`, `1.22-alpine3.19`).
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Tag {
    pub(super) version: Option<String>,
    /// A Debian release named in the tag.
    release: Option<String>,
    /// `alpine` or `alpine3.19`.
    alpine: Option<String>,
    slim: bool,
    /// Words dockfix does not know.
    other: Vec<String>,
}

pub(super) fn parse_tag(tag: Option<&str>) -> Tag {
    let mut parsed = Tag::default();
    let Some(tag) = tag.filter(|t| *t != "latest") else {
        return parsed;
    };
    let mut version: Vec<&str> = Vec::new();
    let mut in_version = true;
    for word in tag.split('-') {
        let variant = if DEBIAN_RELEASES.contains(&word) {
            parsed.release = Some(word.to_string());
            true
        } else if word.starts_with("alpine") {
            parsed.alpine = Some(word.to_string());
            true
        } else if word == "slim" {
            parsed.slim = true;
            true
        } else {
            false
        };
        if variant {
            in_version = false;
        } else if in_version {
            version.push(word);
        } else {
            parsed.other.push(word.to_string());
        }
    }
    if !version.is_empty() {
        parsed.version = Some(version.join("-"));
    }
    parsed
}

/// The image without its tag: the registry and path as written.
fn repository(image: &ImageRef) -> String {
    match &image.registry {
        Some(registry) => format!("{registry}/{}", image.path),
        None => image.path.clone(),
    }
}

/// The slim variant of an official `python` or `node` image, in the same repository:
/// `python:3.12` -> `python:3.12-slim`, `python:3.12-bookworm` -> `python:3.12-slim-bookworm`,
/// `node:20-bookworm` -> `node:20-bookworm-slim`; slim and alpine tags stay as they are.
pub(super) fn slim_variant(view: &StageView, ecosystem: Ecosystem) -> (String, bool, Option<String>) {
    let image = &view.image;
    let tag = parse_tag(image.tag.as_deref());
    let name = repository(image);
    let mut doubt = None;
    if view.image_has_variable {
        doubt = Some(format!(
            "the builder's tag is set by an ARG, and the runtime `{name}` tag must follow it: write the same ARG into the new FROM"
        ));
    } else if !tag.other.is_empty() {
        doubt = Some(format!("dockfix does not know the variant `{}` of `{name}`", tag.other.join("-")));
    }
    if tag.alpine.is_some() || tag.slim {
        let written = image.tag.clone().unwrap_or_else(|| "latest".into());
        return (format!("{name}:{written}"), tag.alpine.is_some(), doubt);
    }
    let slim = match (&tag.version, &tag.release, ecosystem) {
        (Some(v), Some(r), Python) => format!("{v}-slim-{r}"),
        (Some(v), Some(r), _) => format!("{v}-{r}-slim"),
        (None, Some(r), Python) => format!("slim-{r}"),
        (None, Some(r), _) => format!("{r}-slim"),
        (Some(v), None, _) => format!("{v}-slim"),
        (None, None, _) => "slim".to_string(),
    };
    (format!("{name}:{slim}"), false, doubt)
}

/// The runtime for a dynamically linked binary: the builder's Debian release (slim) or
/// Alpine version.
pub(super) fn native_runtime(view: &StageView, what: &str) -> (Runtime, Option<String>) {
    let tag = parse_tag(view.image.tag.as_deref());
    let written = format!("{}:{}", view.image.short_name(), view.image.tag.as_deref().unwrap_or("latest"));
    let variable = view.image_has_variable.then(|| {
        format!("the builder's tag is set by an ARG, and {what} needs the runtime's C library to match it")
    });
    if let Some(alpine) = &tag.alpine {
        let version = alpine.strip_prefix("alpine").filter(|v| !v.is_empty());
        let image = version.map_or_else(|| "alpine".to_string(), |v| format!("alpine:{v}"));
        let doubt = variable.or_else(|| {
            version.is_none().then(|| {
                format!("`{written}` does not name its Alpine version, and {what} needs the runtime's musl to match it")
            })
        });
        return (Runtime { image, kind: RuntimeKind::Alpine }, doubt);
    }
    if let Some(image) = runtime_from_facts(view) {
        return (Runtime { image, kind: RuntimeKind::Debian }, None);
    }
    let release = tag.release.clone();
    let doubt = variable.or_else(|| {
        release.is_none().then(|| {
            format!(
                "`{written}` does not name its Debian release, and {what} needs the runtime's glibc to match it: name the release in the tag (`{}-{ASSUMED_DEBIAN_RELEASE}`){}",
                written,
                view.base.note(false)
            )
        })
    });
    let release = release.unwrap_or_else(|| ASSUMED_DEBIAN_RELEASE.to_string());
    (Runtime { image: format!("debian:{release}-slim"), kind: RuntimeKind::Debian }, doubt)
}

/// The runtime image that matches the builder's release, from its `/etc/os-release`, when
/// its tag names neither a Debian release nor Alpine and the facts were read: Debian's
/// `VERSION_CODENAME` gives `debian:<codename>-slim`, Ubuntu's `VERSION_ID` gives
/// `ubuntu:<version>`. The runtime then matches the builder without a guess.
pub(crate) fn runtime_from_facts(view: &StageView) -> Option<String> {
    let tag = parse_tag(view.image.tag.as_deref());
    if tag.release.is_some() || tag.alpine.is_some() || view.image_has_variable {
        return None;
    }
    let release = view.base.files()?.os_release.as_ref()?;
    match release.id.as_str() {
        "debian" => {
            let codename = release.version_codename.as_deref()?;
            DEBIAN_RELEASES.contains(&codename).then(|| format!("debian:{codename}-slim"))
        }
        "ubuntu" => {
            let version = release.version_id.as_deref()?;
            let numeric = !version.is_empty() && version.chars().all(|c| c.is_ascii_digit() || c == '.');
            numeric.then(|| format!("ubuntu:{version}"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags() {
        let tag = parse_tag(Some("3.12.1-slim-bookworm"));
        assert_eq!(tag.version.as_deref(), Some("3.12.1"));
        assert_eq!(tag.release.as_deref(), Some("bookworm"));
        assert!(tag.slim);
        let tag = parse_tag(Some("1.22-alpine3.19"));
        assert_eq!(tag.alpine.as_deref(), Some("alpine3.19"));
        assert_eq!(parse_tag(Some("latest")), Tag::default());
        assert_eq!(parse_tag(Some("20-windowsservercore")).version.as_deref(), Some("20-windowsservercore"));
    }
}
