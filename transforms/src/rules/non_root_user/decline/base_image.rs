//! Images built to be used in `FROM`: a final stage with no `CMD`/`ENTRYPOINT` of its own
//! is either a base for other images (a language toolchain, a dev-container base, an
//! `ONBUILD` image) or an application image that inherits its base's `CMD`. Only the file is
//! there to tell them apart, so the verdict is a judgement and its message says which
//! evidence it used.

use crate::image::ImageRef;
use crate::syntax::Instruction;

use super::super::choose::env_pairs;

/// What a well-known image's own `CMD` starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OwnCommand {
    /// A shell or a language REPL: a toolchain or OS image, run with a command of the user's
    /// or built upon.
    Interactive,
    /// A server: an image `FROM` it without a `CMD` of its own runs that server.
    Service,
}

/// Well-known images by what their own `CMD` starts, with that `CMD`. Source: the official
/// images' Dockerfiles as published on Docker Hub (github.com/docker-library/<name>, and
/// the vendors' for the `mcr.microsoft.com`/`registry.access.redhat.com` ones). A name
/// ending in `/` matches every image under it. `golang`, `rust`, `gcc` and the .NET SDK set
/// no `CMD` and inherit their Debian base's `bash`.
pub(crate) const OWN_COMMANDS: &[(&str, OwnCommand, &str)] = &[
    ("debian", OwnCommand::Interactive, "bash"),
    ("ubuntu", OwnCommand::Interactive, "/bin/bash"),
    ("alpine", OwnCommand::Interactive, "/bin/sh"),
    ("busybox", OwnCommand::Interactive, "sh"),
    ("centos", OwnCommand::Interactive, "/bin/bash"),
    ("fedora", OwnCommand::Interactive, "/bin/bash"),
    ("rockylinux", OwnCommand::Interactive, "/bin/bash"),
    ("almalinux", OwnCommand::Interactive, "/bin/bash"),
    ("amazonlinux", OwnCommand::Interactive, "/bin/bash"),
    ("oraclelinux", OwnCommand::Interactive, "/bin/bash"),
    ("archlinux", OwnCommand::Interactive, "/usr/bin/bash"),
    ("opensuse/leap", OwnCommand::Interactive, "/bin/bash"),
    ("buildpack-deps", OwnCommand::Interactive, "bash"),
    ("ubi8/", OwnCommand::Interactive, "/bin/bash"),
    ("ubi9/", OwnCommand::Interactive, "/bin/bash"),
    ("bitnami/minideb", OwnCommand::Interactive, "/bin/bash"),
    ("python", OwnCommand::Interactive, "python3"),
    ("pypy", OwnCommand::Interactive, "pypy3"),
    ("node", OwnCommand::Interactive, "node"),
    ("golang", OwnCommand::Interactive, "bash"),
    ("rust", OwnCommand::Interactive, "bash"),
    ("ruby", OwnCommand::Interactive, "irb"),
    ("php", OwnCommand::Interactive, "php -a"),
    ("perl", OwnCommand::Interactive, "perl -de0"),
    ("openjdk", OwnCommand::Interactive, "jshell"),
    ("eclipse-temurin", OwnCommand::Interactive, "jshell"),
    ("maven", OwnCommand::Interactive, "mvn"),
    ("gradle", OwnCommand::Interactive, "gradle"),
    ("erlang", OwnCommand::Interactive, "erl"),
    ("elixir", OwnCommand::Interactive, "iex"),
    ("haskell", OwnCommand::Interactive, "ghci"),
    ("julia", OwnCommand::Interactive, "julia"),
    ("r-base", OwnCommand::Interactive, "R"),
    ("gcc", OwnCommand::Interactive, "bash"),
    ("swift", OwnCommand::Interactive, "/bin/bash"),
    ("continuumio/miniconda3", OwnCommand::Interactive, "/bin/bash"),
    ("mcr.microsoft.com/dotnet/sdk", OwnCommand::Interactive, "bash"),
    ("mcr.microsoft.com/devcontainers/", OwnCommand::Interactive, "bash"),
    ("mcr.microsoft.com/vscode/devcontainers/", OwnCommand::Interactive, "bash"),
    ("lukemathwalker/cargo-chef", OwnCommand::Interactive, "bash"),
    ("nginx", OwnCommand::Service, "nginx -g 'daemon off;'"),
    ("httpd", OwnCommand::Service, "httpd-foreground"),
    ("tomcat", OwnCommand::Service, "catalina.sh run"),
    ("jetty", OwnCommand::Service, "java -jar $JETTY_HOME/start.jar"),
    ("caddy", OwnCommand::Service, "caddy run"),
    ("haproxy", OwnCommand::Service, "haproxy -f /usr/local/etc/haproxy/haproxy.cfg"),
    ("traefik", OwnCommand::Service, "traefik"),
    ("memcached", OwnCommand::Service, "memcached"),
    ("wordpress", OwnCommand::Service, "apache2-foreground"),
    ("drupal", OwnCommand::Service, "apache2-foreground"),
    ("odoo", OwnCommand::Service, "odoo"),
    ("openresty/openresty", OwnCommand::Service, "nginx -g 'daemon off;'"),
    ("grafana/grafana", OwnCommand::Service, "grafana server"),
    ("prom/prometheus", OwnCommand::Service, "prometheus"),
    ("mcr.microsoft.com/dotnet/aspnet", OwnCommand::Service, "(the app's dll, by the image built from it)"),
];

/// Tags that turn an interactive image into a server: `php:8.3-apache` runs
/// `apache2-foreground`, `php:8.3-fpm` runs `php-fpm` (the official php image's variants).
/// The retired `onbuild` variants of node and golang build the child's application with
/// their ONBUILD triggers and run it with their own `CMD` (`npm start`, `go-wrapper run`).
const SERVICE_TAGS: &[(&str, &str, &str)] = &[
    ("php", "apache", "apache2-foreground"),
    ("php", "fpm", "php-fpm"),
    ("wordpress", "fpm", "php-fpm"),
    ("node", "onbuild", "npm start"),
    ("golang", "onbuild", "go-wrapper run"),
];

/// What `image`'s own `CMD` starts, and that `CMD`, when dockfix knows it.
pub(crate) fn own_command(image: &str) -> Option<(OwnCommand, &'static str)> {
    let lower = image.to_ascii_lowercase();
    if lower == "scratch" {
        return Some((OwnCommand::Interactive, ""));
    }
    let reference = ImageRef::parse_lenient(&lower)?;
    let path = reference.path.strip_prefix("library/").unwrap_or(&reference.path);
    let name = match reference.registry.as_deref() {
        Some(host)
            if !matches!(host, "docker.io" | "index.docker.io")
                && host.contains('.')
                && host.starts_with("mcr.") =>
        {
            format!("{host}/{path}")
        }
        _ => path.to_string(),
    };
    let tag = reference.tag.as_deref().unwrap_or_default();
    if let Some((_, _, command)) =
        SERVICE_TAGS.iter().find(|(image, marker, _)| name == *image && tag.contains(marker))
    {
        return Some((OwnCommand::Service, command));
    }
    // The Alpine variants of the toolchains that inherit their base's shell inherit Alpine's.
    let alpine_shell =
        |command: &'static str| if command == "bash" && tag.contains("alpine") { "/bin/sh" } else { command };
    OWN_COMMANDS
        .iter()
        .find(|(pattern, _, _)| name == *pattern || (pattern.ends_with('/') && name.starts_with(pattern)))
        .map(|(_, kind, command)| (*kind, alpine_shell(command)))
}

/// Dev-container base images: an image built on one is a development environment, whose user
/// is chosen by `remoteUser` in `devcontainer.json` (containers.dev reference), not a runtime.
pub(crate) const DEV_CONTAINER_BASES: &[&str] =
    &["mcr.microsoft.com/devcontainers/", "mcr.microsoft.com/vscode/devcontainers/", "devcon.azurecr.io/"];

/// `image` is a dev-container base ([`DEV_CONTAINER_BASES`]).
pub(crate) fn is_dev_container_base(image: &str) -> bool {
    let lower = image.to_ascii_lowercase();
    DEV_CONTAINER_BASES.iter().any(|prefix| lower.starts_with(prefix))
}

/// Programs that, started with nothing to run (no script, no command: only options), are a
/// shell, a language REPL or a build tool waiting for the user's input: the start command of
/// a toolchain or interactive image (`ENTRYPOINT ["/usr/bin/python3.4"]`, `CMD ["mvn"]`,
/// `ENTRYPOINT /bin/bash`). Names as the official images' Dockerfiles use them (see
/// [`OWN_COMMANDS`]); a name ending in `*` matches versioned names (`python3.12`).
pub(crate) const INTERACTIVE_PROGRAMS: &[&str] = &[
    "sh", "bash", "ash", "dash", "zsh", "fish", "ksh", "python*", "pypy*", "ipython", "node", "ruby*", "irb",
    "perl", "php", "jshell", "ghci", "iex", "erl", "R", "julia", "lua*", "mvn", "gradle", "sbt", "lein",
    "go", "cargo", "dotnet", "deno", "bun",
];

/// `program` (a file name) is one of [`INTERACTIVE_PROGRAMS`].
pub(crate) fn is_interactive_program(program: &str) -> bool {
    INTERACTIVE_PROGRAMS.iter().any(|name| match name.strip_suffix('*') {
        Some(prefix) => program
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit() || c == '.')),
        None => program == *name,
    })
}

/// ENV names that toolchain images set for the tools they install (Go, Rust, Ruby, PHP,
/// Java, Node version managers, Python environments, .NET, Android): an image that sets them
/// itself is likely one other images build on.
pub(crate) const TOOLCHAIN_ENV: &[&str] = &[
    "GOPATH",
    "GOROOT",
    "CARGO_HOME",
    "RUSTUP_HOME",
    "GEM_HOME",
    "BUNDLE_PATH",
    "BUNDLE_APP_CONFIG",
    "PHP_INI_DIR",
    "JAVA_HOME",
    "MAVEN_HOME",
    "GRADLE_HOME",
    "NVM_DIR",
    "PYENV_ROOT",
    "CONDA_DIR",
    "DOTNET_ROOT",
    "ANDROID_HOME",
    "ANDROID_SDK_ROOT",
    "FLUTTER_HOME",
    "VCPKG_ROOT",
];

/// Where tools, not an application, are copied: a `COPY` there is toolchain setup.
const SYSTEM_DIRS: &[&str] =
    &["/usr", "/etc", "/bin", "/sbin", "/lib", "/lib64", "/tmp", "/root", "/var/lib"];

/// The toolchain ENV names the instructions set.
pub(crate) fn toolchain_env(instructions: &[&Instruction]) -> Vec<String> {
    instructions
        .iter()
        .filter(|instruction| instruction.is("ENV"))
        .flat_map(|instruction| env_pairs(instruction).into_iter().map(|(name, _)| name))
        .filter(|name| TOOLCHAIN_ENV.contains(&name.as_str()))
        .collect()
}

/// The first `COPY`/`ADD` that puts application files into the image: from the build
/// context or another stage, into a directory that is not a system one. Downloads (`ADD
/// https://...`) are toolchain setup, not application code.
pub(crate) fn copies_application<'a>(instructions: &[&'a Instruction]) -> Option<&'a Instruction> {
    instructions.iter().copied().find(|instruction| {
        if !(instruction.is("COPY") || instruction.is("ADD")) {
            return false;
        }
        let words: Vec<&str> = match &instruction.exec_form {
            Some(argv) => argv.iter().map(String::as_str).collect(),
            None => instruction.words.iter().map(|word| word.text.as_str()).collect(),
        };
        let Some((destination, sources)) = words.split_last() else {
            return false;
        };
        if sources.is_empty() || sources.iter().all(|source| source.contains("://")) {
            return false;
        }
        let destination = destination.trim_matches(['"', '\'']);
        let system = SYSTEM_DIRS.iter().any(|dir| {
            destination == *dir || destination.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'))
        });
        !system
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_commands_by_name_and_tag() {
        assert_eq!(own_command("golang:1.22").map(|c| c.0), Some(OwnCommand::Interactive));
        assert_eq!(own_command("docker.io/library/python:3.12-slim").map(|c| c.1), Some("python3"));
        assert_eq!(own_command("php:8.3-cli").map(|c| c.0), Some(OwnCommand::Interactive));
        assert_eq!(own_command("php:8.3-apache").map(|c| c.1), Some("apache2-foreground"));
        assert_eq!(own_command("php:8.3-fpm-alpine").map(|c| c.0), Some(OwnCommand::Service));
        assert_eq!(own_command("tomcat:10").map(|c| c.0), Some(OwnCommand::Service));
        assert_eq!(own_command("golang:1.22-alpine").map(|c| c.1), Some("/bin/sh"));
        assert_eq!(own_command("node:0.12-onbuild").map(|c| c.1), Some("npm start"));
        assert_eq!(
            own_command("mcr.microsoft.com/devcontainers/rust:1").map(|c| c.0),
            Some(OwnCommand::Interactive)
        );
        assert_eq!(own_command("registry.access.redhat.com/ubi9/ubi:9.4").map(|c| c.1), Some("/bin/bash"));
        assert_eq!(own_command("scratch").map(|c| c.0), Some(OwnCommand::Interactive));
        assert_eq!(own_command("example/app-base:1"), None);
        assert_eq!(
            own_command("ghcr.io/acme/python:3"),
            None,
            "another registry's `python` is not the official one"
        );
    }
}
