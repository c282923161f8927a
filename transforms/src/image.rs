//! Image references and what dockfix knows about base images: their OS, whether they have a
//! shell, their distro family. The facts are tables, kept apart from the mechanics that use
//! them, so adding an image family is a one-line change.

use crate::semantic::stages::{chain_instructions, root_stage};
use crate::semantic::variables::resolve_global_args;
use crate::syntax::{Dockerfile, Instruction, Stage};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Linux,
    Windows,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Debian,
    Alpine,
    Rhel,
    Busybox,
}

/// What dockfix knows of a stage's root base image. `None` fields are unknown.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BaseFacts {
    /// The base as resolved (ARG defaults substituted), or `None` if it could not be.
    pub image: Option<String>,
    pub os: Option<Os>,
    /// `Some(false)` for scratch and distroless-style images: no `/bin/sh`, no RUN.
    pub has_shell: Option<bool>,
    pub family: Option<Family>,
}

impl BaseFacts {
    pub fn is_windows(&self) -> bool {
        self.os == Some(Os::Windows)
    }
}

/// Substrings of an image name or tag that mean Windows.
const WINDOWS_MARKERS: &[&str] = &[
    "windows",
    "servercore",
    "nanoserver",
    "ltsc20",
    "dotnet/framework",
    "dotnet-framework",
    "microsoft/iis",
];

/// Image name prefixes (registry/path) of images without a shell.
const SHELL_LESS_PREFIXES: &[&str] =
    &["gcr.io/distroless/", "cgr.dev/chainguard/static", "mcr.microsoft.com/dotnet/runtime-deps:*-chiseled"];

/// Image names (last path component) and tag markers that give the distro family.
const FAMILY_BY_NAME: &[(&str, Family)] = &[
    ("alpine", Family::Alpine),
    ("busybox", Family::Busybox),
    ("debian", Family::Debian),
    ("ubuntu", Family::Debian),
    ("ubi", Family::Rhel),
    ("ubi8", Family::Rhel),
    ("ubi9", Family::Rhel),
    ("ubi-minimal", Family::Rhel),
    ("ubi8-minimal", Family::Rhel),
    ("ubi9-minimal", Family::Rhel),
    ("centos", Family::Rhel),
    ("fedora", Family::Rhel),
    ("rockylinux", Family::Rhel),
    ("almalinux", Family::Rhel),
    ("amazonlinux", Family::Rhel),
    ("oraclelinux", Family::Rhel),
];

/// Tag fragments that name a distro (`3.12-slim-bookworm`, `20-alpine`).
const FAMILY_BY_TAG: &[(&str, Family)] = &[
    ("alpine", Family::Alpine),
    ("bookworm", Family::Debian),
    ("bullseye", Family::Debian),
    ("buster", Family::Debian),
    ("trixie", Family::Debian),
    ("slim", Family::Debian),
    ("jammy", Family::Debian),
    ("focal", Family::Debian),
    ("noble", Family::Debian),
    ("ubi", Family::Rhel),
];

/// Official images built on Debian unless their tag says otherwise.
const DEBIAN_BY_DEFAULT: &[&str] = &[
    "python",
    "node",
    "golang",
    "rust",
    "ruby",
    "php",
    "openjdk",
    "perl",
    "buildpack-deps",
    "nginx",
    "httpd",
];

/// Images whose own configuration already runs as a non-root user: (name, user). A name
/// ending in `/` or `-` matches every repository under it. Tag-dependent cases are in
/// [`default_user`].
const DEFAULT_NON_ROOT_USERS: &[(&str, &str)] = &[
    ("nginxinc/nginx-unprivileged", "nginx"),
    ("memcached", "memcache"),
    ("jenkins/jenkins", "jenkins"),
    ("sonarqube", "sonarqube"),
    ("grafana/grafana", "472"),
    ("prom/prometheus", "nobody"),
    ("prom/alertmanager", "nobody"),
    ("prom/node-exporter", "nobody"),
    ("jupyter/", "jovyan"),
    ("quay.io/jupyter/", "jovyan"),
    ("mambaorg/micromamba", "mambauser"),
    ("selenium/", "seluser"),
    ("cimg/", "circleci"),
    ("ubi8/nodejs-", "1001"),
    ("ubi9/nodejs-", "1001"),
    ("ubi8/python-", "1001"),
    ("ubi9/python-", "1001"),
    ("ubi8/ruby-", "1001"),
    ("ubi9/ruby-", "1001"),
    ("ubi8/php-", "1001"),
    ("ubi9/php-", "1001"),
    ("ubi8/openjdk-", "185"),
    ("ubi9/openjdk-", "185"),
];

/// Images that ship a non-root user but start as root: (name, user).
const BUILT_IN_USERS: &[(&str, &str)] = &[
    ("node", "node"),
    ("oven/bun", "bun"),
    ("denoland/deno", "deno"),
    ("gradle", "gradle"),
    ("mcr.microsoft.com/devcontainers/javascript-node", "node"),
    ("mcr.microsoft.com/devcontainers/typescript-node", "node"),
    ("mcr.microsoft.com/devcontainers/universal", "codespace"),
    ("mcr.microsoft.com/devcontainers/", "vscode"),
    ("mcr.microsoft.com/vscode/devcontainers/javascript-node", "node"),
    ("mcr.microsoft.com/vscode/devcontainers/typescript-node", "node"),
    ("mcr.microsoft.com/vscode/devcontainers/universal", "codespace"),
    ("mcr.microsoft.com/vscode/devcontainers/", "vscode"),
];

/// .NET images that ship the `app` user (UID 1654) from .NET 8 on.
const DOTNET_IMAGES: &[&str] = &[
    "mcr.microsoft.com/dotnet/aspnet",
    "mcr.microsoft.com/dotnet/runtime",
    "mcr.microsoft.com/dotnet/runtime-deps",
    "mcr.microsoft.com/dotnet/sdk",
];

/// Images that start as root by design and step down themselves: (name, why).
const DROPS_PRIVILEGES: &[(&str, &str)] = &[
    ("postgres", "its entrypoint starts as root and drops to `postgres` with gosu"),
    ("postgis/postgis", "its entrypoint starts as root and drops to `postgres` with gosu"),
    ("timescale/timescaledb", "its entrypoint starts as root and drops to `postgres` with su-exec"),
    ("mysql", "its entrypoint starts as root and drops to `mysql` with gosu"),
    ("mariadb", "its entrypoint starts as root and drops to `mysql` with gosu"),
    ("percona", "its entrypoint starts as root and drops to `mysql`"),
    ("redis", "its entrypoint starts as root and drops to `redis` with gosu"),
    ("rabbitmq", "its entrypoint starts as root and drops to `rabbitmq` with gosu"),
    ("mongo", "its entrypoint starts as root and drops to `mongodb` with gosu"),
    ("elasticsearch", "its entrypoint steps down to `elasticsearch` itself"),
    ("docker.elastic.co/elasticsearch/", "its entrypoint steps down to `elasticsearch` itself"),
    ("cassandra", "its entrypoint starts as root and drops to `cassandra` with gosu"),
    ("couchdb", "its entrypoint starts as root and drops to `couchdb` with gosu"),
    ("zookeeper", "its entrypoint starts as root and drops to `zookeeper` with gosu"),
    ("influxdb", "its entrypoint starts as root and drops to `influxdb` with gosu"),
    ("neo4j", "its entrypoint starts as root and drops to `neo4j`"),
    ("ghost", "its entrypoint starts as root and drops to `node` with gosu"),
    ("sentry", "its entrypoint starts as root and drops to `sentry` with gosu"),
    ("nginx", "the nginx master starts as root and runs its workers as `nginx` (nginxinc/nginx-unprivileged is the non-root variant)"),
    ("httpd", "the httpd parent starts as root and runs its workers as `www-data`"),
    ("linuxserver/", "s6-overlay starts as root and runs the service as PUID/PGID"),
    ("lscr.io/linuxserver/", "s6-overlay starts as root and runs the service as PUID/PGID"),
    ("ghcr.io/linuxserver/", "s6-overlay starts as root and runs the service as PUID/PGID"),
    ("docker", "Docker-in-Docker needs root"),
    ("nextcloud", "its entrypoint starts as root, installs and upgrades the app as `www-data`, and its server (Apache, or php-fpm) runs the app as `www-data`"),
    ("wordpress", "its entrypoint starts as root to copy WordPress in as `www-data`, and its Apache (or php-fpm) runs it as `www-data`"),
];

/// RHEL-family images without `useradd` (no shadow-utils): (name fragment).
const WITHOUT_SHADOW_UTILS: &[&str] =
    &["ubi-minimal", "ubi8-minimal", "ubi9-minimal", "ubi-micro", "ubi8-micro", "ubi9-micro", "amazonlinux"];

/// A user or group of a distro's base system: (name, id).
pub type Account = (&'static str, u32);

/// The users every Debian and Ubuntu image has: Debian's `base-passwd` 3.6 `passwd.master`
/// (`/usr/share/base-passwd/passwd.master`, Debian 12 bookworm; Ubuntu 22.04+ ships the same
/// file), which `/etc/passwd` starts from; checked against a `debootstrap --variant=minbase
/// bookworm`. `_apt` comes from apt's maintainer script, not base-passwd: its UID is 42 on
/// Debian 12 but 100 on older releases and Ubuntu 22.04 (its UID here is Debian 12's). Ubuntu
/// 23.04+ images also have `ubuntu` (UID 1000), which is not listed: the guarded creation
/// command leaves a user it finds alone.
const DEBIAN_USERS: &[Account] = &[
    ("root", 0),
    ("daemon", 1),
    ("bin", 2),
    ("sys", 3),
    ("sync", 4),
    ("games", 5),
    ("man", 6),
    ("lp", 7),
    ("mail", 8),
    ("news", 9),
    ("uucp", 10),
    ("proxy", 13),
    ("www-data", 33),
    ("backup", 34),
    ("list", 38),
    ("irc", 39),
    ("_apt", 42),
    ("nobody", 65534),
];

/// Debian's `base-passwd` 3.6 `group.master` (Debian 12 bookworm, Ubuntu 22.04+; checked
/// against the same debootstrap).
const DEBIAN_GROUPS: &[Account] = &[
    ("root", 0),
    ("daemon", 1),
    ("bin", 2),
    ("sys", 3),
    ("adm", 4),
    ("tty", 5),
    ("disk", 6),
    ("lp", 7),
    ("mail", 8),
    ("news", 9),
    ("uucp", 10),
    ("man", 12),
    ("proxy", 13),
    ("kmem", 15),
    ("dialout", 20),
    ("fax", 21),
    ("voice", 22),
    ("cdrom", 24),
    ("floppy", 25),
    ("tape", 26),
    ("sudo", 27),
    ("audio", 29),
    ("dip", 30),
    ("www-data", 33),
    ("backup", 34),
    ("operator", 37),
    ("list", 38),
    ("irc", 39),
    ("src", 40),
    ("shadow", 42),
    ("utmp", 43),
    ("video", 44),
    ("sasl", 45),
    ("plugdev", 46),
    ("staff", 50),
    ("games", 60),
    ("users", 100),
    ("nogroup", 65534),
];

/// The users of Alpine's `alpine-baselayout` `/etc/passwd` that every release from 3.17 on
/// has (3.20's file; releases up to 3.18 had more, such as `adm`, `operator`, `postmaster`,
/// `squid`, `xfs`: those are left out, so that a name here exists in every image).
const ALPINE_USERS: &[Account] = &[
    ("root", 0),
    ("bin", 1),
    ("daemon", 2),
    ("lp", 4),
    ("sync", 5),
    ("shutdown", 6),
    ("halt", 7),
    ("mail", 8),
    ("news", 9),
    ("uucp", 10),
    ("cron", 16),
    ("ftp", 21),
    ("sshd", 22),
    ("games", 35),
    ("ntp", 123),
    ("guest", 405),
    ("nobody", 65534),
];

/// Alpine's `alpine-baselayout` `/etc/group` (Alpine 3.20). `www-data` is a group only: the
/// user is made by the packages (and the `php` images) that need it.
const ALPINE_GROUPS: &[Account] = &[
    ("root", 0),
    ("bin", 1),
    ("daemon", 2),
    ("sys", 3),
    ("adm", 4),
    ("tty", 5),
    ("disk", 6),
    ("lp", 7),
    ("kmem", 9),
    ("wheel", 10),
    ("floppy", 11),
    ("mail", 12),
    ("news", 13),
    ("uucp", 14),
    ("cron", 16),
    ("audio", 18),
    ("cdrom", 19),
    ("dialout", 20),
    ("ftp", 21),
    ("sshd", 22),
    ("input", 23),
    ("tape", 26),
    ("video", 27),
    ("netdev", 28),
    ("kvm", 34),
    ("games", 35),
    ("shadow", 42),
    ("www-data", 82),
    ("users", 100),
    ("ntp", 123),
    ("abuild", 300),
    ("utmp", 406),
    ("ping", 999),
    ("nogroup", 65533),
    ("nobody", 65534),
];

/// The users of the Fedora/RHEL `setup` package's `/etc/passwd` (setup 2.13, RHEL 9 / UBI 9,
/// Fedora 3x; its `uidgid` file lists the reserved IDs). `nobody` is 65534 from RHEL 8 on,
/// 99 on RHEL/CentOS 7.
const RHEL_USERS: &[Account] = &[
    ("root", 0),
    ("bin", 1),
    ("daemon", 2),
    ("adm", 3),
    ("lp", 4),
    ("sync", 5),
    ("shutdown", 6),
    ("halt", 7),
    ("mail", 8),
    ("operator", 11),
    ("games", 12),
    ("ftp", 14),
    ("nobody", 65534),
];

/// The `setup` package's `/etc/group` (setup 2.13, RHEL 9 / UBI 9).
const RHEL_GROUPS: &[Account] = &[
    ("root", 0),
    ("bin", 1),
    ("daemon", 2),
    ("sys", 3),
    ("adm", 4),
    ("tty", 5),
    ("disk", 6),
    ("lp", 7),
    ("mem", 8),
    ("kmem", 9),
    ("wheel", 10),
    ("cdrom", 11),
    ("mail", 12),
    ("man", 15),
    ("dialout", 18),
    ("floppy", 19),
    ("games", 20),
    ("tape", 33),
    ("video", 39),
    ("ftp", 50),
    ("lock", 54),
    ("audio", 63),
    ("users", 100),
    ("nobody", 65534),
];

/// The users and groups a family's base system is known to have. BusyBox has none that are
/// certain: the official image's buildroot skeleton has `daemon`, `bin`, `www-data`,
/// `nobody`, ..., but any rootfs with a BusyBox binary goes by that name (Debian's
/// `busybox-static` put in an image has only `root`), so only `root` is known there.
pub fn system_accounts(family: Family) -> (&'static [Account], &'static [Account]) {
    match family {
        Family::Debian => (DEBIAN_USERS, DEBIAN_GROUPS),
        Family::Alpine => (ALPINE_USERS, ALPINE_GROUPS),
        Family::Rhel => (RHEL_USERS, RHEL_GROUPS),
        Family::Busybox => (&[("root", 0)], &[("root", 0)]),
    }
}

/// Accounts images create for tooling, never for the program the image runs: a Dockerfile
/// that creates one of them but never switches to it is not telling which user to run as.
/// `dockremap` is the account Docker's `--userns-remap=default` maps to (a subordinate-ID
/// holder with no home, made by AWS CodeBuild's and docker-in-docker images); the others are
/// the service accounts of daemons such images install (sshd's privilege separation, the
/// message bus, time sync, printing, mail).
pub const HELPER_ACCOUNTS: &[&str] = &[
    "dockremap",
    "sshd",
    "messagebus",
    "systemd-network",
    "systemd-resolve",
    "systemd-timesync",
    "ntp",
    "chrony",
    "avahi",
    "colord",
    "pulse",
    "lightdm",
    "postfix",
    "sshuser",
    "nscd",
];

/// Ports a base image `EXPOSE`s by itself, as its own Dockerfile declares them: (name, tag
/// fragment the ports depend on, ports). The docker-library Dockerfiles of `php` (its
/// `-apache` variants `EXPOSE 80`), `wordpress`, `drupal`, `joomla`, `mediawiki` and
/// `nextcloud` (apache variants, the default tags), `caddy` (`EXPOSE 80 443 443/udp 2019`)
/// and `traefik` (`EXPOSE 80`).
const EXPOSED_BY_BASE: &[(&str, &str, &[&str])] = &[
    ("php", "apache", &["80"]),
    ("wordpress", "", &["80"]),
    ("drupal", "", &["80"]),
    ("joomla", "", &["80"]),
    ("mediawiki", "", &["80"]),
    ("nextcloud", "", &["80"]),
    ("caddy", "", &["80", "443"]),
    ("traefik", "", &["80"]),
];

/// The ports below 1024 a base image exposes by itself. An empty tag fragment means "unless
/// the tag names `fpm` or `cli`" (the FastCGI and command-line variants serve no HTTP port).
pub fn base_exposed_low_ports(image: &str) -> &'static [&'static str] {
    let Some((name, tag)) = table_name(image) else {
        return &[];
    };
    let tag = tag.unwrap_or_default();
    EXPOSED_BY_BASE
        .iter()
        .find(|(base, fragment, _)| {
            let serves_http = !tag.contains("fpm") && !tag.contains("cli");
            name == *base && if fragment.is_empty() { serves_http } else { tag.contains(fragment) }
        })
        .map_or(&[], |(_, _, ports)| ports)
}

/// The repository name used by the user tables: lower-case, without `docker.io/` and
/// `library/`, and the tag.
fn table_name(image: &str) -> Option<(String, Option<String>)> {
    let reference = ImageRef::parse_lenient(&image.to_ascii_lowercase())?;
    let registry = reference.registry.as_deref().filter(|r| !matches!(*r, "docker.io" | "index.docker.io"));
    let path = reference.path.strip_prefix("library/").unwrap_or(&reference.path);
    let name = match registry {
        Some(registry) => format!("{registry}/{path}"),
        None => path.to_string(),
    };
    Some((name, reference.tag))
}

/// `name` is `pattern`, or lies under it when the pattern ends in `/` or `-`. Red Hat
/// images are matched without their registry (`ubi9/python-311`).
fn name_matches(name: &str, pattern: &str) -> bool {
    let candidates =
        [name, name.split_once('/').filter(|(host, _)| host.contains('.')).map_or(name, |(_, p)| p)];
    candidates.iter().any(|candidate| {
        *candidate == pattern || (pattern.ends_with(['/', '-']) && candidate.starts_with(pattern))
    })
}

fn lookup<T: Copy>(table: &[(&str, T)], name: &str) -> Option<T> {
    table.iter().find(|(pattern, _)| name_matches(name, pattern)).map(|(_, value)| *value)
}

/// The non-root user an image already runs as by its own configuration (distroless
/// `:nonroot`, nginx-unprivileged, ...), if dockfix knows one.
pub fn default_user(image: &str) -> Option<&'static str> {
    let (name, tag) = table_name(image)?;
    let tag = tag.unwrap_or_default();
    if name.starts_with("gcr.io/distroless/") && tag.contains("nonroot") {
        return Some("nonroot");
    }
    if name.starts_with("mcr.microsoft.com/dotnet/") && tag.contains("chiseled") {
        return Some("app");
    }
    lookup(DEFAULT_NON_ROOT_USERS, &name)
}

/// A non-root user the image ships while starting as root (`node` in `node` images).
pub fn built_in_user(image: &str) -> Option<&'static str> {
    let (name, tag) = table_name(image)?;
    if DOTNET_IMAGES.contains(&name.as_str()) {
        let major: String = tag.unwrap_or_default().chars().take_while(char::is_ascii_digit).collect();
        return major.parse::<u32>().is_ok_and(|major| major >= 8).then_some("app");
    }
    lookup(BUILT_IN_USERS, &name)
}

/// Why the image must start as root, when it is one that drops privileges by design.
pub fn drops_privileges(image: &str) -> Option<&'static str> {
    let (name, _) = table_name(image)?;
    lookup(DROPS_PRIVILEGES, &name)
}

/// RHEL-family minimal images that have no `useradd`/`groupadd`.
pub fn lacks_user_tools(image: &str) -> bool {
    table_name(image).is_some_and(|(name, tag)| {
        let short = name.rsplit('/').next().unwrap_or(&name);
        WITHOUT_SHADOW_UTILS.contains(&short)
            || (short == "oraclelinux" && tag.is_some_and(|tag| tag.contains("slim")))
    })
}

/// Programs that only exist on Windows, as the first word of a command.
const WINDOWS_PROGRAMS: &[&str] = &["powershell", "pwsh", "cmd", "choco", "msbuild", "msiexec"];

/// Signs of a Windows image whatever its base's name: the `` # escape=` `` directive Windows
/// files use for their paths, or a `SHELL`, `RUN`, `CMD` or `ENTRYPOINT` that starts
/// PowerShell, cmd, Chocolatey or any `.exe`, `.cmd`, `.bat` or `.ps1` program.
pub fn windows_signs(file: &Dockerfile, chain: &[&Stage]) -> bool {
    if file.directives.iter().any(|d| d.name == "escape" && d.value.trim() == "`") {
        return true;
    }
    chain_instructions(file, chain)
        .into_iter()
        .filter(|i| i.is("SHELL") || i.is("RUN") || i.is("CMD") || i.is("ENTRYPOINT"))
        .any(starts_windows_program)
}

fn starts_windows_program(instruction: &Instruction) -> bool {
    let first = match &instruction.exec_form {
        Some(words) => words.first().map(String::as_str).unwrap_or(""),
        None => instruction.args.split_whitespace().next().unwrap_or(""),
    };
    let program = first.rsplit(['\\', '/']).next().unwrap_or(first).to_ascii_lowercase();
    let program = program.trim_matches('"');
    [".exe", ".cmd", ".bat", ".ps1"].iter().any(|ext| program.ends_with(ext))
        || WINDOWS_PROGRAMS.contains(&program)
}

/// Facts about the root image of `stage`, following `FROM <earlier stage>` chains and
/// substituting ARG defaults declared before the first `FROM`.
pub fn base_facts(file: &Dockerfile, stage: &Stage) -> BaseFacts {
    let root = root_stage(file, stage);
    let Some(image) = resolve_global_args(file, &root.base) else {
        return BaseFacts { os: windows_hint(&root.base), ..BaseFacts::default() };
    };
    facts_for_image(&image)
}

/// Facts that follow from an image reference alone.
pub fn facts_for_image(image: &str) -> BaseFacts {
    let lower = image.to_ascii_lowercase();
    if lower == "scratch" {
        return BaseFacts {
            image: Some(image.into()),
            os: Some(Os::Linux),
            has_shell: Some(false),
            family: None,
        };
    }
    let Some(reference) = ImageRef::parse_lenient(&lower) else {
        return BaseFacts { image: Some(image.into()), ..BaseFacts::default() };
    };
    if windows_hint(&lower).is_some() {
        return BaseFacts { image: Some(image.into()), os: Some(Os::Windows), has_shell: None, family: None };
    }
    let name = reference.full_name();
    let shell_less = SHELL_LESS_PREFIXES.iter().any(|prefix| match prefix.split_once('*') {
        Some((head, tail)) => lower.starts_with(head) && lower.contains(tail),
        None => name.starts_with(prefix) || lower.starts_with(prefix),
    });
    let debug_variant = reference.tag.as_deref().is_some_and(|tag| tag.contains("debug"));
    BaseFacts {
        image: Some(image.into()),
        os: Some(Os::Linux),
        has_shell: (shell_less && !debug_variant).then_some(false),
        family: family(&reference),
    }
}

/// Repositories whose images are Debian unless their tag names another distro.
const DEBIAN_BY_DEFAULT_PREFIXES: &[&str] = &["mcr.microsoft.com/dotnet/", "microsoft/dotnet"];

fn family(reference: &ImageRef) -> Option<Family> {
    let short = reference.short_name();
    if let Some((_, family)) = FAMILY_BY_NAME.iter().find(|(name, _)| *name == short) {
        return Some(*family);
    }
    let tag = reference.tag.as_deref().unwrap_or("");
    if let Some((_, family)) = FAMILY_BY_TAG.iter().find(|(marker, _)| tag.contains(marker)) {
        return Some(*family);
    }
    let name = reference.full_name();
    let debian = DEBIAN_BY_DEFAULT.contains(&short)
        || DEBIAN_BY_DEFAULT_PREFIXES.iter().any(|prefix| name.starts_with(prefix));
    debian.then_some(Family::Debian)
}

fn windows_hint(image: &str) -> Option<Os> {
    let without_digest = image.split('@').next().unwrap_or(image);
    let lower = without_digest.to_ascii_lowercase();
    WINDOWS_MARKERS.iter().any(|marker| lower.contains(marker)).then_some(Os::Windows)
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

    #[test]
    fn facts_from_names_and_tags() {
        assert_eq!(facts_for_image("python:3.12-slim").family, Some(Family::Debian));
        assert_eq!(facts_for_image("node:20-alpine").family, Some(Family::Alpine));
        assert_eq!(facts_for_image("registry.access.redhat.com/ubi9/ubi-minimal").family, Some(Family::Rhel));
        assert_eq!(facts_for_image("scratch").has_shell, Some(false));
        assert_eq!(facts_for_image("gcr.io/distroless/static-debian12:nonroot").has_shell, Some(false));
        assert_eq!(facts_for_image("gcr.io/distroless/base:debug").has_shell, None);
        assert!(facts_for_image("mcr.microsoft.com/windows/servercore:ltsc2022").is_windows());
        assert_eq!(facts_for_image("example/thing").family, None);
    }

    #[test]
    fn windows_signs_beyond_the_name() {
        use crate::semantic::stages::stage_chain;
        for text in [
            "# escape=`\nFROM example/base\nRUN echo\n",
            "FROM ${BASE}\nRUN [\"msbuild.exe\", \"app.csproj\"]\n",
            "FROM ${BASE}\nENTRYPOINT [\"app.exe\"]\n",
            "FROM ${BASE}\nSHELL [\"powershell\", \"-Command\"]\n",
            "FROM x\nRUN C:\\tools\\setup.bat /quiet\n",
        ] {
            let file = Dockerfile::parse(text);
            let chain = stage_chain(&file, &file.stages[0]);
            assert!(windows_signs(&file, &chain), "{text}");
        }
        let file = Dockerfile::parse("FROM ${BASE}\nRUN apt-get install -y x\nCMD [\"/app\"]\n");
        assert!(!windows_signs(&file, &stage_chain(&file, &file.stages[0])));
    }

    #[test]
    fn resolves_global_arg_defaults() {
        let file =
            Dockerfile::parse("ARG BASE=debian\nARG TAG=\"12\"\nFROM ${BASE}:$TAG\nFROM ${NOPE:-alpine}\n");
        assert_eq!(base_facts(&file, &file.stages[0]).image.as_deref(), Some("debian:12"));
        assert_eq!(base_facts(&file, &file.stages[1]).image.as_deref(), Some("alpine"));
    }

    #[test]
    fn user_tables() {
        assert_eq!(built_in_user("node:20-alpine"), Some("node"));
        assert_eq!(built_in_user("docker.io/library/node"), Some("node"));
        assert_eq!(built_in_user("mcr.microsoft.com/dotnet/aspnet:8.0"), Some("app"));
        assert_eq!(built_in_user("mcr.microsoft.com/dotnet/aspnet:6.0"), None);
        assert_eq!(built_in_user("python:3.12"), None);
        assert_eq!(default_user("gcr.io/distroless/static-debian12:nonroot"), Some("nonroot"));
        assert_eq!(default_user("gcr.io/distroless/base:debug-nonroot"), Some("nonroot"));
        assert_eq!(default_user("gcr.io/distroless/base"), None);
        assert_eq!(default_user("registry.access.redhat.com/ubi9/python-311"), Some("1001"));
        assert!(drops_privileges("postgres:16-alpine").is_some());
        assert!(drops_privileges("lscr.io/linuxserver/nginx").is_some());
        assert!(drops_privileges("myorg/postgres-tools").is_none());
        assert!(lacks_user_tools("registry.access.redhat.com/ubi9/ubi-minimal:9.4"));
        assert_eq!(built_in_user("mcr.microsoft.com/devcontainers/typescript-node:20"), Some("node"));
        assert_eq!(built_in_user("mcr.microsoft.com/devcontainers/python:3"), Some("vscode"));
        assert_eq!(facts_for_image("mcr.microsoft.com/dotnet/aspnet:6.0").family, Some(Family::Debian));
        assert_eq!(
            facts_for_image("mcr.microsoft.com/dotnet/aspnet:8.0-alpine").family,
            Some(Family::Alpine)
        );
        assert!(facts_for_image("mcr.microsoft.com/dotnet/framework/aspnet:4.8.1").is_windows());
        assert!(facts_for_image("microsoft/dotnet-framework:4.7.2").is_windows());
        assert!(!lacks_user_tools("registry.access.redhat.com/ubi9/ubi:9.4"));
    }
}
