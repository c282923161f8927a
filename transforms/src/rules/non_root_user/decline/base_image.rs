//! Images built to be used in `FROM`: a final stage with no `CMD`/`ENTRYPOINT` of its own
//! is either a base for other images (a language toolchain, a dev-container base, an
//! `ONBUILD` image) or an application image that inherits its base's `CMD`. Only the file is
//! there to tell them apart, so the verdict is a judgement and its message says which
//! evidence it used. A final stage that is a check stage (`lint`, `validate`) starting nothing
//! is neither: its RUN is the product.

use crate::edit::Finding;
use crate::image::{BaseFacts, ImageRef};
use crate::semantic::quoting::{argument_values, DEFAULT_ESCAPE};
use crate::syntax::{Instruction, Stage};

use super::super::choose::{created_users, env_pairs};
use super::super::paths::start_instructions;
use super::super::ID;
use super::{instruction_commands, silence_hint};

/// A finding when the file gives files to a user it does not create (`COPY --chown=185:0`),
/// or puts them in the home of one (`/home/admin/build`), on a base image dockfix knows
/// nothing of: the base has that user, and such images (the
/// OpenShift S2I builders among them) usually already run as it by their own config, which
/// is not known here. Choosing another user would leave those files unwritable; the base's
/// config decides, so dockfix does not guess.
pub(super) fn files_given_to_base_user(instructions: &[&Instruction], facts: &BaseFacts) -> Option<Finding> {
    let image = facts.image.as_deref()?;
    if facts.family.is_some()
        || facts.has_shell == Some(false)
        || facts.shipped_user().is_some()
        || facts.runs_as().is_some()
    {
        return None;
    }
    let created: Vec<String> = instructions
        .iter()
        .filter(|instruction| instruction.is("RUN"))
        .flat_map(|run| created_users(&run.command_text()))
        .map(|user| user.name)
        .collect();
    let home_user = |path: &str| {
        let name = path.strip_prefix("/home/")?.split('/').next()?;
        (!name.is_empty() && !name.contains('$') && !created.iter().any(|created| created == name))
            .then(|| name.to_string())
    };
    // Files put in `/home/NAME` of a user the file does not create: the base's user.
    let in_home = instructions.iter().find_map(|instruction| {
        let path = if instruction.is("COPY") || instruction.is("ADD") {
            argument_values(instruction, DEFAULT_ESCAPE).pop()?
        } else if instruction.is("RUN") {
            // Only the operand found is copied, not every operand of every command.
            instruction_commands(instruction).iter().find_map(|command| {
                command.operands().find(|operand| home_user(operand).is_some()).map(str::to_string)
            })?
        } else {
            return None;
        };
        let user = home_user(&path)?;
        let line = instruction.start_line;
        Some((user.clone(), format!("files are put in `/home/{user}` (`{path}`, line {line}), the home of `{user}`, a user the file does not create,"), line))
    });
    let (user, opening, line) = in_home.or_else(|| {
        instructions.iter().find_map(|instruction| {
            let (spec, written) = if instruction.is("COPY") || instruction.is("ADD") {
                let spec = instruction.flag("chown").and_then(|flag| flag.value.clone())?;
                let written = format!("--chown={spec}");
                (spec, written)
            } else if instruction.is("RUN") {
                let spec = instruction_commands(instruction).iter().find_map(|command| {
                    (command.program() == "chown").then(|| command.operands().next().map(str::to_string))?
                })?;
                let written = format!("chown {spec}");
                (spec, written)
            } else {
                return None;
            };
            let user = spec.split([':', '.']).next().unwrap_or_default();
            let other = !user.is_empty() && !matches!(user, "root" | "0") && !user.contains('$');
            let line = instruction.start_line;
            let opening = format!(
                "files are given to `{user}` (`{written}` on line {line}), a user the file does not create,"
            );
            (other && !created.iter().any(|name| name == user)).then(|| (user.to_string(), opening, line))
        })
    })?;
    Some(Finding::new(
        ID,
        line,
        format!(
            "{opening} on `{image}`, a base image dockfix does not know: the base has that user and most likely runs as it already by its own config, which is not read here (a guess from the file). Left as is; if the image starts as root, add `USER {user}` by hand ({})",
            silence_hint(line)
        ),
    ))
}

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
        let values = argument_values(instruction, DEFAULT_ESCAPE);
        let Some((destination, sources)) = values.split_last() else {
            return false;
        };
        if sources.is_empty() || sources.iter().all(|source| source.contains("://")) {
            return false;
        }
        let system = SYSTEM_DIRS.iter().any(|dir| {
            destination == *dir || destination.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'))
        });
        !system
    })
}

/// Stage names of build-time checks (`docker buildx build --target lint`), as a whole name or
/// before a `-` (`validate-vendor`, `test-unit`): the names the Docker and BuildKit projects'
/// own Dockerfiles give the stages whose `RUN` is the check.
const CHECK_STAGE_NAMES: &[&str] = &["lint", "test", "tests", "validate", "vet", "check", "verify"];

/// A finding when the final stage is, or is built from, a check stage and starts nothing: its
/// `RUN` is the product, the image is never run, and a `USER` would change nothing.
pub(super) fn check_stage(
    chain: &[&Stage],
    instructions: &[&Instruction],
    from_line: usize,
) -> Option<Finding> {
    if !start_instructions(instructions).is_empty() {
        return None;
    }
    let is_check = |name: &str| {
        CHECK_STAGE_NAMES
            .iter()
            .any(|check| name == *check || name.strip_prefix(check).is_some_and(|rest| rest.starts_with('-')))
    };
    let name = chain.iter().rev().find_map(|stage| stage.name.as_deref().filter(|name| is_check(name)))?;
    Some(Finding::new(
        ID,
        from_line,
        format!(
            "the final stage is the check stage `{name}` and starts nothing: its RUN is the check, the image is not meant to be run, and a USER would change nothing: left as is"
        ),
    ))
}

/// A finding when the final image has no `CMD`/`ENTRYPOINT` of its own and the file reads
/// as a base for other images: its own base is a toolchain or OS image (whose `CMD` is a
/// shell or REPL) and it copies no application, or it sets toolchain ENV, or it has
/// `ONBUILD` triggers. An image that inherits a server's `CMD`, or copies an application,
/// is an application image: it still gets its `USER`.
/// What the base's own command starts, that command, and where dockfix knows it from: its
/// config's `Entrypoint` and `Cmd` when facts were read (a shell or REPL as the program,
/// or none, is interactive; anything else a service), else the table of well-known images.
fn base_command(facts: &BaseFacts) -> Option<(OwnCommand, String, String)> {
    let Some(known) = &facts.known else {
        let (kind, command) = facts.image.as_deref().and_then(own_command)?;
        return Some((kind, command.to_string(), format!("its official Dockerfile{}", facts.note(false))));
    };
    let config = &known.facts.config;
    let argv = if config.cmd.is_empty() { &config.entrypoint } else { &config.cmd };
    let program = argv.first().map_or("", |word| word.rsplit('/').next().unwrap_or(word));
    let kind = if program.is_empty() || is_interactive_program(program) {
        OwnCommand::Interactive
    } else {
        OwnCommand::Service
    };
    let command = config.entrypoint.iter().chain(&config.cmd).cloned().collect::<Vec<_>>().join(" ");
    Some((kind, command, format!("its config{}", facts.note(true))))
}

pub(super) fn base_for_other_images(
    instructions: &[&Instruction],
    facts: &BaseFacts,
    from_line: usize,
) -> Option<Finding> {
    if !start_instructions(instructions).is_empty() {
        return None;
    }
    let own = base_command(facts);
    if matches!(own, Some((OwnCommand::Service, ..))) {
        return None;
    }
    let mut evidence = Vec::new();
    if let Some(onbuild) = instructions.iter().find(|instruction| instruction.is("ONBUILD")) {
        evidence.push(format!(
            "it declares ONBUILD triggers (line {}), which only run in images built FROM it",
            onbuild.start_line
        ));
    }
    let application = copies_application(instructions);
    let toolchain = toolchain_env(instructions);
    let scratch = facts.image.as_deref().is_some_and(|image| image.eq_ignore_ascii_case("scratch"));
    if let Some(image) = facts.image.as_deref().filter(|image| is_dev_container_base(image)) {
        evidence.push(format!(
            "`{image}` is a dev-container base: the user of a dev container is `remoteUser` in devcontainer.json"
        ));
    }
    if scratch && application.is_some() {
        // No shell, no CMD: nothing runs in it by itself. An export stage
        // (`docker build --output`) or a base whose children set the CMD.
        evidence.push("it is built on `scratch` and sets no CMD or ENTRYPOINT, so nothing runs in it by itself: an export stage (`--output`) or a base whose images set the command".to_string());
    }
    if let (Some(copy), None, Some(image)) = (application, &own, facts.image.as_deref()) {
        // A shell-less runtime image (distroless, scratch) runs only what is copied in; any
        // other image whose command dockfix does not know is unknown, whatever distro its
        // name suggests.
        if facts.has_shell != Some(false) {
            evidence.push(format!(
                "dockfix does not know what `{image}` runs, so it cannot tell an application that inherits that image's CMD from a base for other images (this file copies files in on line {}, and sets no command); that image's entrypoint, users and file modes are unknown too",
                copy.start_line
            ));
        }
    }
    if application.is_none() {
        match (&own, facts.image.as_deref()) {
            (Some(_), Some(_)) if scratch => {
                evidence.push("`scratch` has no CMD at all, and this file copies no application into it".to_string());
            }
            (Some((_, command, _)), Some(image)) if command.is_empty() => evidence.push(format!(
                "`{image}` sets no CMD or ENTRYPOINT of its own (its config{}), and this file copies no application into it",
                facts.note(true)
            )),
            (Some((_, command, source)), Some(image)) => evidence.push(format!(
                "`{image}` is a toolchain or OS image whose own CMD is `{command}` ({source}), and this file copies no application into it"
            )),
            (None, image) => evidence.push(format!(
                "dockfix does not know what `{}` runs, and this file only adds to it (no application copied in): a variant of that image or a base for others, whose entrypoint may need root",
                image.unwrap_or("the base image")
            )),
            _ => {}
        }
        if !toolchain.is_empty() {
            evidence.push(format!("it sets toolchain ENV ({})", toolchain.join(", ")));
        }
    }
    if evidence.is_empty() {
        return None;
    }
    Some(Finding::new(
        ID,
        from_line,
        format!(
            "the final image has no CMD or ENTRYPOINT of its own and reads as a base for other images: {}. This is a judgement from the file, not a fact. A `USER` here would apply to every image built FROM it, whose `RUN apt-get`/`apk add`, build steps and `docker run -v \"$PWD\":/src` workflows then fail as non-root: it belongs in the images built from it, before their CMD. Left as is; if this image is run by itself, add a `USER` by hand ({})",
            evidence.join("; "),
            silence_hint(from_line)
        ),
    ))
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
