//! What dockfix knows about base images: their OS, whether they have a shell, their distro
//! family, their users. The facts are tables (`tables`, `accounts`), kept apart from the
//! lookups here that read them, so adding an image family is a one-line change. The reference
//! grammar is `reference`; stage walks and ARG substitution belong to [`crate::semantic`].

mod accounts;
pub mod facts;
mod known;
mod reference;
mod tables;

pub use accounts::{system_accounts, Account, HELPER_ACCOUNTS};
pub use facts::{ImageCatalog, ImageFacts, Knowledge, KnownImage};
pub use known::{stage_base, UserTools};
pub use reference::{ImageRef, ReferenceError, DOCKER_HUB};

use crate::semantic::quoting::escape_character;
use crate::semantic::stages::{chain_instructions, root_stage};
use crate::semantic::variables::resolve_global_args;
use crate::syntax::{Dockerfile, Instruction, Stage};
use tables::{
    BUILT_IN_USERS, DEBIAN_BY_DEFAULT, DEBIAN_BY_DEFAULT_PREFIXES, DEFAULT_NON_ROOT_USERS, DOTNET_IMAGES,
    DROPS_PRIVILEGES, EXPOSED_BY_BASE, FAMILY_BY_NAME, FAMILY_BY_TAG, SHELL_LESS_PREFIXES, WINDOWS_MARKERS,
    WINDOWS_PROGRAMS, WITHOUT_SHADOW_UTILS, WRITTEN_BY_BASE,
};

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
    /// The facts the run's catalog holds for `image`, laid over the name's guesses by
    /// [`BaseFacts::known_from`]; `None` when it holds none.
    pub known: Option<KnownImage>,
    /// The run asked for facts (its catalog is not empty): findings then say where their
    /// knowledge of the base came from, the name included.
    pub facts_asked: bool,
}

impl BaseFacts {
    pub fn is_windows(&self) -> bool {
        self.os == Some(Os::Windows)
    }
}

/// The ports below 1024 a base image exposes by itself. An empty tag fragment means "unless
/// the tag names `fpm` or `cli`" (the FastCGI and command-line variants serve no HTTP port).
/// The directories the server of a base image writes at run time ([`WRITTEN_BY_BASE`]), which
/// a non-root user must be given.
pub fn base_written_directories(image: &str) -> &'static [&'static str] {
    let Some((name, _)) = table_name(image) else {
        return &[];
    };
    WRITTEN_BY_BASE.iter().find(|(base, _)| name == *base).map_or(&[], |(_, dirs)| dirs)
}

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

/// Signs of a Windows image whatever its base's name: the `` # escape=` `` directive Windows
/// files use for their paths, or a `SHELL`, `RUN`, `CMD` or `ENTRYPOINT` that starts
/// PowerShell, cmd, Chocolatey or any `.exe`, `.cmd`, `.bat` or `.ps1` program.
pub fn windows_signs(file: &Dockerfile, chain: &[&Stage]) -> bool {
    if escape_character(file) == '`' {
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
            ..BaseFacts::default()
        };
    }
    let Some(reference) = ImageRef::parse_lenient(&lower) else {
        return BaseFacts { image: Some(image.into()), ..BaseFacts::default() };
    };
    if windows_hint(&lower).is_some() {
        return BaseFacts { image: Some(image.into()), os: Some(Os::Windows), ..BaseFacts::default() };
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
        ..BaseFacts::default()
    }
}

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
