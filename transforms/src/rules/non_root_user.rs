//! # non-root-user
//!
//! ## What it does
//!
//! Makes the final stage run as a non-root user that exists. Only the final stage matters:
//! builder stages may stay root. A stage built `FROM` an earlier stage inherits that stage's
//! `USER`. When the final stage already ends as a non-root user (a last `USER` that is not
//! `root`, `0`, `root:*` or `0:*`, or a base image that runs as non-root by itself, such as
//! distroless `:nonroot`), nothing changes.
//!
//! Otherwise it adds a `USER`, choosing the user in this order:
//!
//! 1. a user the file creates itself (`useradd`, `adduser`) but never switches to. Helper
//!    accounts are never chosen (`dockremap`, the `--userns-remap` account CodeBuild-style
//!    images create, and daemons' accounts such as `sshd` or `messagebus`); among the others
//!    the one the image's configuration names (`ENV GITLAB_USER=git`) comes first, then one
//!    that owns files (`chown`, `COPY --chown`), then an ordinary user over a service account
//!    (`--system`, `-r`, `-S`, no home, a nologin shell), then the last one created;
//! 2. the user the base image ships (`node` images -> `node`, `oven/bun` -> `bun`,
//!    .NET 8+ -> `app`, ...);
//! 3. the chosen name when the distro's base system has that user (`--user-name www-data` on
//!    Debian, `nobody` on Alpine): switched to, never created again. The accounts each family
//!    has are tables taken from Debian's `base-passwd`, Alpine's `alpine-baselayout` and the
//!    RHEL/Fedora `setup` package; a chosen UID that the distro gives another user is refused
//!    with the reason, and a chosen GID (or name) that is an existing group's is joined
//!    (`--group-id 100` joins `users`) instead of created;
//! 4. otherwise a new system user `app` with UID and GID 10001, created with the base's own
//!    tools: Debian/Ubuntu `groupadd --system` + `useradd --system --no-log-init
//!    --create-home`, Alpine `addgroup -S` + `adduser -S -D`, RHEL/UBI/Fedora `groupadd -r` +
//!    `useradd -r -m`; on BusyBox, whose `adduser`/`addgroup` applets are optional, by
//!    appending its lines to `/etc/group` and `/etc/passwd` and making its home by hand. The
//!    command does nothing when the image has the user already (`if ! id -u app ...`), and
//!    creates the group only when `/etc/group` lacks it. The distro comes from the base
//!    image's name and tag, or else from the package manager the stage's `RUN`s use
//!    (`apt-get`, `apk`, `dnf`/`yum`/`microdnf`);
//! 5. the numeric `USER 65532:65532` (the distroless `nonroot` convention) for `scratch`,
//!    distroless and other shell-less bases, unknown distros, and minimal RHEL images without
//!    `useradd` (ubi-minimal, ubi-micro, Amazon Linux): no passwd entry is needed, and a
//!    numeric UID satisfies Kubernetes `runAsNonRoot`.
//!
//! The name and UID are `app` and 10001 unless `--user-name` / `--user-id` (or
//! `[non-root-user]` in `dockfix.toml`) say otherwise; the GID of the user's group is its UID
//! unless `--group-id` (`group-id`) says otherwise. When a UID or GID is chosen, the numeric
//! user of step 5 is that `UID:GID` instead of `65532:65532`.
//! UID 10001 stays clear of the system range and of the UIDs images commonly ship (1000 is
//! `node`, 65532 is distroless `nonroot`, 65534 is `nobody`); `--no-log-init` keeps `useradd`
//! from writing a huge sparse lastlog for a high UID. The user gets a home directory, since
//! many runtimes (npm, pip) write caches there.
//!
//! The `RUN` that creates the user goes right after the last instruction that needs root (a
//! `RUN`, or a `USER root`). The `USER` goes after the last `RUN`, `COPY`, `ADD` or `USER`,
//! before the first `CMD`, `ENTRYPOINT` or `HEALTHCHECK` that follows, above the comments
//! that describe that instruction (at the end of the file when none follows). The `COPY` and
//! `ADD` between the two get `--chown` (`app:app`, or the user's name or UID alone, which
//! Docker reads as "GID = UID"; unless they have one), so the user can
//! read and write what it runs: a `0600` config file or a shipped state directory stays
//! usable. A `COPY` into a system tree (`/usr/local/bin/`, `/etc/`, `/usr/lib/`: the
//! system's files, not the app's) gets none: the user must not be able to rewrite programs
//! and configuration that root also runs and reads; the risk names those copies, which the
//! user can use only when they are world-readable. Keywords follow the file's casing.
//! When the image has a literal application `WORKDIR` (not a system directory such as `/`,
//! `/usr/local/bin`, `/etc/...` or a package manager's `/var/lib/...`), the fix creates that
//! directory if needed and gives it to the user (`mkdir -p DIR && chown app:app DIR`, not
//! recursive; in the `RUN` that creates `app`, or in a `RUN` of its own before the `USER` of
//! a user the image has, unless the file already gives it), so the app can create files
//! there. A `WORKDIR` given through a variable (`WORKDIR $DIR` with
//! `ENV DIR=/data`) counts when the `ENV` or `ARG` before it says what it is. The directories
//! the image declares as `VOLUME`s are where its state lives: whatever the user, the fix makes
//! them and gives them to it in the same way (numeric users too, when the stage has a `RUN`),
//! unless the file already `chown`s or `chmod`s them; a volume it cannot give (a variable it
//! cannot resolve, a system directory) is named in the risk. buildah and the legacy builder
//! keep nothing a `RUN` changes in a directory once a `VOLUME` declares it, so a volume
//! declared above the `RUN` that creates the user is given by a `RUN` of its own right above
//! that `VOLUME`, by UID and GID (the user does not exist there yet).
//! A user the fix creates is also given the directories an `ENV` names as where a program
//! keeps its state (`JENKINS_HOME`, `*_DATA_DIR`, `*_STATE_DIR`, `*_LOG_DIR`, resolved; not
//! system paths), which nothing else creates, the directories the start command's flags name
//! (`--dbpath`, `--data-dir`, ...), and the application directory of the program it starts
//! (`CMD ["/opt/domoticz/domoticz"]`: such programs often write next to themselves). Any
//! user, created or not, is given the directories its base image's server writes at run time
//! (a table: Tomcat's `logs`, `temp`, `work`, `webapps`, `conf`).
//!
//! Left alone, with a finding that names the signal and says why, where running as root at
//! start is the design or the file is not the place for a `USER`:
//!
//! - entrypoints that drop privileges themselves (`gosu`, `su-exec`, `setpriv`,
//!   `chroot --userspec`, `runuser`, `chpst -u`, `s6-setuidgid`, s6-overlay's `/init`), in the
//!   Dockerfile or in the entrypoint script: when the `ENTRYPOINT` (or `CMD`) runs a script
//!   that a `COPY`/`ADD` of the image took from the build context, dockfix reads that script
//!   (`su -c` and a `chown` of volumes before the drop count too). Without a build context
//!   (stdin) the script is not read: the fix goes ahead and its risk says the script was not
//!   checked, unless the file also creates a user it never switches to (the script likely
//!   steps down to that user), which declines;
//! - official images that do so (postgres, mysql, mariadb, redis, rabbitmq, mongo,
//!   elasticsearch, nginx, httpd, nextcloud, wordpress, linuxserver.io images, ...);
//! - services and daemons that must start as root, read word by word from the commands (not
//!   from substrings: `curl .../cron` is not cron): a service manager or daemon the container
//!   starts (supervisord, runit, s6, cron, sshd, nginx, Apache, postfix, dovecot, an init,
//!   dockerd), installs (supervisor, runit, cron, openssh-server, postfix, dovecot, docker-ce,
//!   iptables, openvpn, ...; and servers whose distribution package gives its data to an
//!   account of its own: mongodb-server, mysql/mariadb-server, postgresql, rabbitmq-server,
//!   redis-server, docker-registry, ...) or configures (`/etc/service/`, `/etc/cron.d/`, `/etc/crontabs/`,
//!   `/etc/supervisor/`), a sudoers file written, `mknod`, `/dev/net/tun`,
//!   `VOLUME /var/lib/docker`, `EXPOSE 22` (SSH), `--user root` given to the program, an
//!   account and group it is told to step down to (`-u _rspamd -g _rspamd`), raw-socket
//!   scanners (masscan, zmap: started, installed or the base image itself), and
//!   host access only root has, documented in a `docker run` comment or `LABEL RUN`
//!   (`--privileged`, `--device`, `-v /var/run/docker.sock:...`, a mount into `/root`) or
//!   named by the start
//!   command (`qemu:///system`); Apache installed, or a web server's configuration
//!   (`/etc/apache2/`, `/etc/httpd/`, `/etc/nginx/`) written;
//! - an image that works in root's home (`WORKDIR /root/...`, a program under `/root`, a file
//!   copied there such as `/root/.m2/settings.xml`), or
//!   whose `ENV` points a tool's home, cache or path into `/root`
//!   (`GRADLE_USER_HOME=/root/.gradle`, `PATH=/root/.local/bin:$PATH`): `/root` is closed to
//!   other users, so the tool would break;
//! - a last `USER` that is `root` (or `0`): the author switched back on purpose, even when
//!   root work follows it;
//! - `ONBUILD` triggers of the final stage, whatever its `CMD`: they run only in images built
//!   from this one, so it is a base for them (and `ONBUILD RUN`s that need root, such as
//!   package installs, are named as such);
//! - a final stage that is, or is built from, a check stage (`lint`, `test`, `validate`,
//!   `validate-docs`, ...) and starts nothing: its `RUN` is the check and the image is never
//!   run;
//! - an image built to be used in `FROM`: no `CMD`/`ENTRYPOINT` of its own, and either
//!   `ONBUILD` triggers, or a toolchain or OS base (whose own `CMD` is a shell or REPL:
//!   `debian`, `ubuntu`, `alpine`, `python`, `node`, `golang`, `rust`, `ruby`, `php`, dev
//!   containers, cargo-chef, `scratch`, ...) with no application copied in, or toolchain ENV
//!   (`GOPATH`, `CARGO_HOME`, `GEM_HOME`, `JAVA_HOME`, ...) with no application copied in. The
//!   `USER` belongs in the images built from it. This is a judgement from the file and the
//!   message says which evidence it used. An image that inherits a server's `CMD` (`tomcat`,
//!   `php:*-apache`, ...) or copies an application still gets its `USER`, unless it is built
//!   on a dev-container base (`mcr.microsoft.com/devcontainers/...`), whose user is
//!   `remoteUser` in devcontainer.json;
//! - also as such a base: an unknown base image (or one dockfix cannot resolve the `CMD` of)
//!   that the file only adds to, copying no application in (a vendor image's variant whose
//!   entrypoint may need root), or that the file copies an application into without a
//!   command of its own (an app inheriting that image's `CMD` cannot be told from a base for
//!   other images, and the image's entrypoint, users and file modes are unknown), and a `scratch` image without `CMD`/`ENTRYPOINT`, in which
//!   nothing runs by itself (an export stage for `docker build --output`);
//! - a container that starts a shell, a language REPL or a build tool with nothing to run
//!   (`ENTRYPOINT ["/usr/bin/python3"]`, `ENTRYPOINT /bin/bash`, `CMD ["mvn"]` behind an
//!   entrypoint wrapper): a toolchain or interactive image, run with the user's own command or
//!   built upon;
//! - daemons that start as root and step down to their own account by configuration
//!   (vsftpd, proftpd, FreeRADIUS, named, smbd, slapd, dnsmasq, squid, exim, rsyslogd) and
//!   firewalls (shorewall, ufw), started or installed;
//! - Docker API clients, which need the daemon's root-owned socket (the Docker SDK for
//!   Python, aiodocker, the `docker-api` gem or dockerode installed; the Docker CLI packages;
//!   watchtower, docker-gen), and a daemon told `-u NAME` where `NAME` is a package the file
//!   installs (`bareos-dir -u bareos`);
//! - command-line tools that write the caller's mounted files (editors, terraform, packer,
//!   pyinstaller; an `ENTRYPOINT` in a working directory the build leaves empty, publishing
//!   no port; a documented bind mount of the caller's own directory): a fixed UID cannot
//!   write files the host user owns, so the advice is `docker run --user "$(id -u):$(id -g)"`;
//! - a container that only keeps itself alive (`sleep infinity`, `tail -f /dev/null`): a dev
//!   container or toolbox that users `docker exec` into;
//! - a program started from a tree a `RUN` unpacked (`tar -x`, `unzip`): a server
//!   distribution that writes inside its own tree, in directories the file does not name;
//! - files given to a user the file does not create (`--chown=185:0`, files in
//!   `/home/admin`) on a base image dockfix does not know: the base most likely runs as that
//!   user already (the message says this is a guess);
//! - an entrypoint script read from the build context that changes owners (`chown`) or
//!   plainly needs root (installs packages, creates users);
//! - Windows images (by name, or by a `` # escape=` `` directive, a PowerShell/cmd `SHELL` or
//!   `RUN`; `USER ContainerUser` is the equivalent to consider by hand).
//!
//! **Facts about the base image.** When the run has facts read from the base image itself (its config, `/etc/passwd`,
//! `/etc/group`, `/etc/os-release`, user tools, history: the image catalog the shell fills
//! from the registry, its cache or a committed facts file), they decide instead of the name's
//! tables: a config `User` that is not root means the image already runs as non-root (a
//! finding says so, nothing changes), and a root one means it does not, whatever the name
//! suggests; the user it ships is an account its config names or an ordinary account of its
//! passwd (UID 1000 up, a login shell); the chosen name is switched to when its passwd has
//! it, a UID another account has is refused, a group its `/etc/group` has is joined; its user
//! tools choose the command (shadow's `useradd`/`groupadd`, BusyBox's `adduser`/`addgroup`,
//! the numeric user when it has neither and the file installs none); its os-release gives
//! the distro family; an entrypoint script in an image whose history installs `gosu`,
//! `su-exec` or `setpriv` declines as the official images do. A finding that used them
//! ends with `[facts read from the registry]` (or the cache, or the facts file); when the run
//! has facts but none for this base, one that used the name says `[a guess from the image's
//! name ...]`. A run without facts says neither.
//!
//! A base image that cannot be resolved (`FROM $BASE` without a default) is reported, not
//! changed: it may already run as non-root. Where a decline is one a user may disagree with,
//! its message says how to silence it: `# dockfix: ignore=non-root-user` on the line above
//! the instruction it names (or `# dockfix: ignore-file=non-root-user`); a `USER` added by
//! hand ends the finding too.
//!
//! ## Why
//!
//! A container runs as root unless told otherwise, and root in a container is root on the
//! host's kernel: one escape away from the host. Running as an unprivileged user is the first
//! item of every container hardening guide (CIS Docker Benchmark 4.1). A `USER` that names a
//! user that does not exist builds fine and then fails to start, so the user is created in
//! the same change.
//!
//! ## Example
//!
//! ```dockerfile
//! FROM python:3.12-slim
//! COPY app.py /app/
//! CMD ["python", "/app/app.py"]
//! ```
//!
//! becomes
//!
//! ```dockerfile
//! FROM python:3.12-slim
//! RUN if ! id -u app >/dev/null 2>&1; then grep -q ^app: /etc/group || groupadd --system --gid 10001 app; useradd --system --uid 10001 --gid app --no-log-init --create-home app; fi
//! COPY --chown=app:app app.py /app/
//! USER app
//! CMD ["python", "/app/app.py"]
//! ```
//!
//! ## Fix safety
//!
//! Unsafe: the process loses root. Whatever it writes at run time (data, caches, PID and log
//! files, uploads) must live in a directory the new user owns: files copied or created as root
//! are readable but not writable for it. The volumes and working directory the fix gives the
//! user are given alone, not recursively: what is already inside stays root's. `--chown` on
//! the copied files lets the process rewrite its own code and entrypoint; the risk says so. A
//! service that listens on a port below 1024 binds under Docker 20.10+ (which sets
//! `net.ipv4.ip_unprivileged_port_start=0`) but fails under Kubernetes, rootless Podman and
//! OpenShift: the finding says so when the stage `EXPOSE`s one, or when the base image does
//! by itself (`php:*-apache`, `wordpress`, `caddy`, ...: a table of the official images'
//! Dockerfiles). A numeric user has no home directory and no name (`whoami` fails).
//!
//! The user is created with the family's own tools where they are certain (Debian, Ubuntu,
//! Alpine, RHEL with shadow-utils): they also write `/etc/shadow`, copy the skeleton and keep
//! the databases consistent. Where they are not (BusyBox, whose builds may lack the
//! `adduser`/`addgroup` applets, so that `adduser` would fail with exit 127), the user is
//! written into `/etc/passwd` and `/etc/group` with `sh`, `grep` and `echo` alone, which every
//! image with a shell has. Either command is guarded: it does nothing for a user the image
//! already has, and never creates a group twice, so a name the tables do not know still
//! builds. A `USER` that names a user nobody created would fail at container start, so a
//! guard never skips the user without the user existing.

mod choose;
mod decline;
mod fix;
pub mod options;
mod paths;

use crate::edit::Finding;
use crate::image::{base_facts, facts_for_image, windows_signs, BaseFacts, ImageCatalog};
use crate::semantic::stages::{chain_instructions, stage_chain};
use crate::semantic::variables::resolve_global_args;
use crate::syntax::{Dockerfile, Stage};
use crate::transform::{module_docs, Context, Rule};

use decline::declined;
use fix::fix;
pub use options::{NewUser, NonRootUserConfig};

pub struct NonRootUser;

const ID: &str = "non-root-user";

/// The user for images without a user database (distroless `nonroot`).
pub const NUMERIC_USER: &str = "65532:65532";

/// Instructions after which the stage may still need root.
const ROOT_WORK: &[&str] = &["RUN", "COPY", "ADD", "USER"];

impl Rule for NonRootUser {
    fn id(&self) -> &'static str {
        ID
    }

    fn summary(&self) -> &'static str {
        "final stage: run as a non-root user that exists"
    }

    fn documentation(&self) -> String {
        module_docs(include_str!("non_root_user.rs"))
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["DL3002"]
    }

    fn reference(&self) -> &'static str {
        "CIS Docker Benchmark 4.1"
    }

    fn check(&self, context: &Context) -> Vec<Finding> {
        let file = context.file;
        let Some(stage) = file.final_stage() else {
            return Vec::new();
        };
        let chain = stage_chain(file, stage);
        let facts = resolved_base_facts(file, stage).known_from(&context.options.get::<ImageCatalog>());
        let from_line = file.instructions[stage.from].start_line;
        let start = start_user(file, &chain, &facts);
        if matches!(start, StartUser::NonRoot) {
            return Vec::new();
        }
        if let StartUser::BaseRunsAs(user) = start {
            let image = facts.image.as_deref().unwrap_or_default();
            return vec![Finding::new(
                ID,
                from_line,
                format!(
                    "`{image}` already runs as non-root user `{user}` by its own configuration{}: nothing to change",
                    facts.note(true)
                ),
            )];
        }
        if facts.is_windows() || windows_signs(file, &chain) {
            return vec![Finding::new(
                ID,
                from_line,
                "Windows image: dockfix does not change Windows images; `USER ContainerUser` is the non-administrator account to consider by hand",
            )];
        }
        if let StartUser::Unknown(base) = start {
            return vec![Finding::new(
                ID,
                from_line,
                format!("cannot resolve the base image `{base}`, so cannot tell whether it already runs as non-root: add a `USER` by hand if it does not"),
            )];
        }
        if let Some(finding) = declined(file, &chain, &facts, context.build_context) {
            return vec![finding];
        }
        vec![fix(context, stage, &chain, &facts)]
    }
}

/// [`base_facts`], with ARG defaults that name other ARGs resolved too
/// (`ARG BASE=$REGISTRY/app`). An image that keeps a variable only in its tag
/// (`node:${NODE_VERSION}-alpine`) is judged by its name and the literal part of its tag; one
/// with a variable in its name counts as unresolved.
fn resolved_base_facts(file: &Dockerfile, stage: &Stage) -> BaseFacts {
    let facts = base_facts(file, stage);
    let written = stage_chain(file, stage).first().map_or(String::new(), |root| root.base.clone());
    let mut image = facts.image.clone().unwrap_or(written);
    for _ in 0..4 {
        if !image.contains('$') {
            return if Some(&image) == facts.image.as_ref() { facts } else { facts_for_image(&image) };
        }
        match resolve_global_args(file, &image) {
            Some(next) if next != image => image = next,
            _ => break,
        }
    }
    if variable_only_in_tag(&image) {
        return facts_for_image(&image);
    }
    BaseFacts { image: None, ..facts }
}

/// `name:tag` where only the tag holds a variable.
fn variable_only_in_tag(image: &str) -> bool {
    let last_slash = image.rfind('/').map_or(0, |idx| idx + 1);
    match image[last_slash..].find(':') {
        Some(colon) => !image[..last_slash + colon].contains('$') && !image.contains('@'),
        None => false,
    }
}

/// Whether a `USER` value means root (or Windows' `ContainerAdministrator`). A value with a
/// variable is taken as non-root: the file chose it on purpose.
fn is_root(user: &str) -> bool {
    let uid = user.trim().split(':').next().unwrap_or("");
    matches!(uid, "" | "root" | "0") || uid.eq_ignore_ascii_case("ContainerAdministrator")
}

/// Who the final image starts as.
enum StartUser {
    NonRoot,
    /// No `USER` in the file, and the base image's config runs it as this non-root user (read
    /// from facts, so the finding says so).
    BaseRunsAs(String),
    Root,
    /// No `USER` in the file, and the base image (as written here) could not be resolved.
    Unknown(String),
}

/// The last `USER` of the final image decides; without one, the base image does: root unless
/// it is known to run as non-root by itself (its config's `User` when facts were read, else
/// the table of such images).
fn start_user(file: &Dockerfile, chain: &[&Stage], facts: &BaseFacts) -> StartUser {
    match chain_instructions(file, chain).into_iter().rfind(|i| i.is("USER")) {
        Some(user) if is_root(&user.args) => StartUser::Root,
        Some(_) => StartUser::NonRoot,
        None => match facts.image.as_deref() {
            None => StartUser::Unknown(chain.first().map_or(String::new(), |stage| stage.base.clone())),
            Some(_) => match facts.runs_as() {
                Some((user, true)) => StartUser::BaseRunsAs(user),
                Some((_, false)) => StartUser::NonRoot,
                None => StartUser::Root,
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::choose::*;
    use super::decline::*;
    use super::*;
    use crate::engine::{run, Report};
    use crate::image::Family;
    use crate::options::Options;
    use crate::transform::NoBuildContext;

    #[test]
    fn names_tool_matches_the_word_or_a_path_to_it() {
        for yes in ["gosu", "/usr/local/bin/gosu", "/opt/gosu/run", "/usr/bin/gosu-amd64", "x/gosu"] {
            assert!(names_tool(yes, "gosu"), "{yes}");
        }
        for no in ["gosux", "/usr/bin/gosux", "mygosu", "gosu/x", "/gosu_x", ""] {
            assert!(!names_tool(no, "gosu"), "{no}");
        }
    }

    fn outcome(input: &str) -> (String, Vec<Report>) {
        let outcome = run(input, &[&NonRootUser], &NoBuildContext, &Options::default()).unwrap();
        let again = run(&outcome.output, &[&NonRootUser], &NoBuildContext, &Options::default()).unwrap();
        assert_eq!(again.output, outcome.output, "idempotent");
        assert!(again.reports.iter().all(|r| !r.fixed), "a fixed file has nothing left to fix");
        (outcome.output, outcome.reports)
    }

    fn fix(input: &str) -> String {
        outcome(input).0
    }

    fn debian_create() -> String {
        format!("RUN {}\nUSER app\n", create_command(Family::Debian, &NewUser::default(), &GroupChoice::Own))
    }

    fn chosen(id: u32, group_id: u32) -> Options {
        let new_user = NewUser { name: "svc".into(), id, group_id, ids_chosen: true };
        Options::default().with(new_user)
    }

    fn fix_with(input: &str, options: &Options) -> (String, Vec<Report>) {
        let outcome = run(input, &[&NonRootUser], &NoBuildContext, options).unwrap();
        let again = run(&outcome.output, &[&NonRootUser], &NoBuildContext, options).unwrap();
        assert_eq!(again.output, outcome.output, "idempotent");
        (outcome.output, outcome.reports)
    }

    #[test]
    fn a_separate_gid_goes_to_the_group_of_every_recipe() {
        let options = chosen(10001, 2000);
        for (base, created) in [
            ("debian:12", "if ! id -u svc >/dev/null 2>&1; then grep -q ^svc: /etc/group || groupadd --system --gid 2000 svc; useradd --system --uid 10001 --gid svc --no-log-init --create-home svc; fi"),
            ("alpine:3.20", "if ! id -u svc >/dev/null 2>&1; then grep -q ^svc: /etc/group || addgroup -S -g 2000 svc; adduser -S -D -u 10001 -G svc svc; fi"),
            ("busybox", "if ! grep -q ^svc: /etc/passwd; then grep -q ^svc: /etc/group || echo svc:x:2000: >> /etc/group; echo svc:x:10001:2000::/home/svc:/sbin/nologin >> /etc/passwd && mkdir -p /home/svc && chown 10001:2000 /home/svc; fi"),
            ("registry.access.redhat.com/ubi9/ubi:9.4", "if ! id -u svc >/dev/null 2>&1; then grep -q ^svc: /etc/group || groupadd -r -g 2000 svc; useradd -r -m -u 10001 -g svc svc; fi"),
        ] {
            let (out, reports) = fix_with(&format!("FROM {base}\nCOPY a /a\nCMD x\n"), &options);
            assert_eq!(
                out,
                format!("FROM {base}\nRUN {created}\nCOPY --chown=svc:svc a /a\nUSER svc\nCMD x\n"),
                "{base}"
            );
            assert!(reports[0].message.contains("(UID 10001, GID 2000)"), "{base}: {}", reports[0].message);
        }
        let (out, reports) = fix_with("FROM scratch\nCOPY a /a\nCMD [\"/a\"]\n", &options);
        assert_eq!(out, "FROM scratch\nCOPY --chown=10001:2000 a /a\nUSER 10001:2000\nCMD [\"/a\"]\n");
        assert!(reports[0].message.contains("numeric user 10001:2000"), "{}", reports[0].message);
        assert!(reports[0].risk.as_deref().unwrap().contains("no home directory"));
    }

    #[test]
    fn equal_ids_keep_the_short_message_and_defaults_keep_65532() {
        let (_, reports) = fix_with("FROM debian\nCMD x\n", &chosen(2000, 2000));
        assert!(reports[0].message.contains("(UID/GID 2000)"), "{}", reports[0].message);
        let (out, _) = fix_with("FROM scratch\nCOPY a /a\nCMD [\"/a\"]\n", &chosen(2000, 2000));
        assert!(out.ends_with("USER 2000:2000\nCMD [\"/a\"]\n"), "chosen ids reach the numeric user: {out}");
        let named_only = Options::default().with(NewUser { name: "svc".into(), ..NewUser::default() });
        let (out, _) = fix_with("FROM scratch\nCOPY a /a\nCMD [\"/a\"]\n", &named_only);
        assert!(
            out.ends_with("USER 65532:65532\nCMD [\"/a\"]\n"),
            "a name alone keeps distroless' ids: {out}"
        );
    }

    #[test]
    fn the_new_user_can_be_chosen() {
        let options = chosen(2000, 2000);
        let out = run(
            "FROM debian\nWORKDIR /srv/svc\nCOPY a /a\nCMD x\n",
            &[&NonRootUser],
            &NoBuildContext,
            &options,
        )
        .unwrap()
        .output;
        assert_eq!(
            out,
            "FROM debian\nRUN if ! id -u svc >/dev/null 2>&1; then grep -q ^svc: /etc/group || groupadd --system --gid 2000 svc; useradd --system --uid 2000 --gid svc --no-log-init --create-home svc; fi && mkdir -p /srv/svc && chown svc:svc /srv/svc\nWORKDIR /srv/svc\nCOPY --chown=svc:svc a /a\nUSER svc\nCMD x\n"
        );
    }

    #[test]
    fn debian_single_stage_creates_app_before_cmd() {
        let out =
            fix("FROM python:3.12-slim\nCOPY app.py /app/\n# start\nCMD [\"python\", \"/app/app.py\"]\n");
        assert_eq!(
            out,
            format!(
                "FROM python:3.12-slim\nRUN {}\nCOPY --chown=app:app app.py /app/\nUSER app\n# start\nCMD [\"python\", \"/app/app.py\"]\n",
                create_command(Family::Debian, &NewUser::default(), &GroupChoice::Own)
            )
        );
    }

    #[test]
    fn created_user_owns_the_working_directory() {
        let out = fix("FROM debian\nWORKDIR /srv/app/\nCOPY . .\nCMD x\n");
        assert!(
            out.contains("--create-home app; fi && mkdir -p /srv/app && chown app:app /srv/app\nWORKDIR /srv/app/\nCOPY --chown=app:app . .\nUSER app\nCMD x"),
            "{out}"
        );
        for workdir in
            ["/", "/usr/local/bin", "$HOME", "/etc/app", "relative", "/var/lib", "/var/lib/apt/lists"]
        {
            let out = fix(&format!("FROM debian\nWORKDIR {workdir}\nCOPY . .\nCMD x\n"));
            assert!(!out.contains("&& chown"), "{workdir}: {out}");
        }
        let out = fix("FROM debian\nWORKDIR /var/lib/app\nCMD x\n");
        assert!(
            out.contains("&& mkdir -p /var/lib/app && chown app:app /var/lib/app"),
            "an app's state dir: {out}"
        );
        let out = fix("FROM node\nWORKDIR /app\nCMD x\n");
        assert!(!out.contains("chown"), "an existing user is not given directories: {out}");
    }

    #[test]
    fn alpine_uses_addgroup_adduser_and_busybox_the_user_database() {
        let out = fix("FROM alpine:3.20\nRUN apk add --no-cache curl\nENTRYPOINT [\"curl\"]\n");
        assert!(
            out.contains(
"RUN if ! id -u app >/dev/null 2>&1; then grep -q ^app: /etc/group || addgroup -S -g 10001 app; adduser -S -D -u 10001 -G app app; fi\nUSER app\nENTRYPOINT"
            ),
            "{out}"
        );
        let out = fix("FROM busybox\nCOPY a /a\n");
        assert!(
            out.ends_with(
"FROM busybox\nRUN if ! grep -q ^app: /etc/passwd; then grep -q ^app: /etc/group || echo app:x:10001: >> /etc/group; echo app:x:10001:10001::/home/app:/sbin/nologin >> /etc/passwd && mkdir -p /home/app && chown 10001:10001 /home/app; fi\nCOPY --chown=app:app a /a\nUSER app\n"
            ),
            "{out}"
        );
    }

    #[test]
    fn rhel_uses_shadow_utils_and_minimal_falls_back_to_numeric() {
        let out = fix(
            "FROM registry.access.redhat.com/ubi9/ubi:9.4\nRUN dnf install -y python3\nCMD python3 app.py\n",
        );
        assert!(
            out.contains("RUN if ! id -u app >/dev/null 2>&1; then grep -q ^app: /etc/group || groupadd -r -g 10001 app; useradd -r -m -u 10001 -g app app; fi\nUSER app\nCMD"),
            "{out}"
        );
        let out = fix("FROM registry.access.redhat.com/ubi9/ubi-minimal\nRUN microdnf install -y python3\nCMD python3 app.py\n");
        assert!(out.contains("microdnf install -y python3\nUSER 65532:65532\nCMD"), "{out}");
        let out = fix(
            "FROM registry.access.redhat.com/ubi9/ubi-minimal\nRUN microdnf install -y shadow-utils\nCMD x\n",
        );
        assert!(out.contains("useradd -r -m"), "installed shadow-utils: {out}");
    }

    #[test]
    fn family_from_package_manager_when_the_image_is_unknown() {
        let out = fix("FROM example/base\nRUN apt-get update && apt-get install -y x\nCMD x\n");
        assert!(out.contains("useradd --system"), "{out}");
        let out = fix("FROM example/base\nCOPY x /x\nCMD x\n");
        assert!(out.contains("USER 65532:65532\nCMD x"), "{out}");
    }

    #[test]
    fn the_directories_a_base_server_writes_are_given_to_any_user() {
        let out = fix("FROM tomcat:10\nRUN useradd -r -m web\nCOPY app.war /usr/local/tomcat/webapps/\n");
        assert!(
            out.contains("RUN mkdir -p /usr/local/tomcat/logs /usr/local/tomcat/temp /usr/local/tomcat/work /usr/local/tomcat/webapps /usr/local/tomcat/conf && chown web /usr/local/tomcat/logs"),
            "a user the file creates: {out}"
        );
        let out = fix("FROM tomcat:10\nRUN chown -R 1000 /usr/local/tomcat/logs\nCOPY app.war /usr/local/tomcat/webapps/\n");
        assert!(!out.contains("mkdir -p /usr/local/tomcat/logs"), "already given: {out}");
        let out = fix("FROM python:3.12\nCOPY app.py /app/\nCMD [\"python\", \"/app/app.py\"]\n");
        assert!(!out.contains("tomcat"), "{out}");
    }

    #[test]
    fn built_in_user_of_the_base() {
        let out = fix("FROM node:20-alpine\nWORKDIR /app\nCOPY . .\nRUN npm ci\nEXPOSE 3000\nCMD [\"node\", \"server.js\"]\n");
        assert_eq!(
            out,
            "FROM node:20-alpine\nWORKDIR /app\nCOPY . .\nRUN npm ci\nEXPOSE 3000\nRUN mkdir -p /app && chown node /app\nUSER node\nCMD [\"node\", \"server.js\"]\n",
            "the base's own user is given the working directory the image made as root, as a created user is"
        );
    }

    #[test]
    fn user_created_or_used_earlier_is_reused() {
        let out = fix("FROM debian:12\nRUN useradd -m -u 1001 -s /bin/bash worker\nCOPY a /a\nCMD a\n");
        assert_eq!(
            out,
            "FROM debian:12\nRUN useradd -m -u 1001 -s /bin/bash worker\nCOPY --chown=worker a /a\nUSER worker\nCMD a\n"
        );
        let out = fix("FROM alpine\nRUN adduser -D -g '' svc && echo ok\nCMD a\n");
        assert!(out.contains("USER svc\nCMD a"), "{out}");
        // Switched back to root as the last USER: intent, left as is (decline.rs).
        let input = "FROM node\nUSER node\nRUN npm ci\nUSER root\nRUN apt-get update\nCMD a\n";
        assert_eq!(fix(input), input);
    }

    #[test]
    fn multi_stage_changes_only_the_final_stage() {
        let input = "FROM golang:1.22 AS build\nRUN go build -o /app .\nFROM debian:12-slim\nCOPY --from=build /app /app\nCMD [\"/app\"]\n";
        let out = fix(input);
        assert_eq!(
            out,
            format!(
                "FROM golang:1.22 AS build\nRUN go build -o /app .\nFROM debian:12-slim\nRUN {}\nCOPY --chown=app:app --from=build /app /app\nUSER app\nCMD [\"/app\"]\n",
                create_command(Family::Debian, &NewUser::default(), &GroupChoice::Own)
            )
        );
    }

    #[test]
    fn already_non_root_or_inherited_is_left_alone() {
        for input in [
            "FROM debian\nUSER 1000:1000\nCMD x\n",
            "FROM debian AS base\nRUN useradd app\nUSER app\nFROM base\nCOPY a /a\nCMD x\n",
            "FROM gcr.io/distroless/static-debian12:nonroot\nCOPY a /a\n",
            "FROM debian\nUSER $APP_USER\n",
            "ARG REGISTRY=quay.io\nARG BASE=$REGISTRY/jupyter/scipy-notebook\nFROM $BASE\nRUN pip install x\n",
        ] {
            let (out, reports) = outcome(input);
            assert_eq!(out, input);
            assert!(reports.is_empty(), "{input}: {reports:?}");
        }
    }

    #[test]
    fn a_working_directory_given_as_an_early_volume_is_not_given_twice() {
        let out = fix("FROM debian\nVOLUME /srv/app\nWORKDIR /srv/app\nRUN make\nCMD [\"./run\"]\n");
        assert_eq!(out.matches("mkdir -p /srv/app").count(), 1, "{out}");
        assert!(
            out.contains("RUN mkdir -p /srv/app && chown 10001:10001 /srv/app\nVOLUME /srv/app"),
            "{out}"
        );
    }

    #[test]
    fn root_user_values() {
        for root in ["root", "0", "root:root", "0:0", " root "] {
            assert!(is_root(root), "{root}");
        }
        for user in ["app", "1000", "app:root", "$U", "10001:0"] {
            assert!(!is_root(user), "{user}");
        }
        // The last USER written as root is intent: left as is (decline.rs tests the message).
        let input = "FROM debian\nUSER app\nUSER root\nCMD x\n";
        let (out, reports) = outcome(input);
        assert_eq!(out, input);
        assert!(reports.iter().all(|report| !report.fixed), "{reports:?}");
    }

    #[test]
    fn scratch_and_distroless_get_the_numeric_user() {
        let out =
            fix("FROM golang AS b\nRUN go build\nFROM scratch\nCOPY --from=b /a /a\nENTRYPOINT [\"/a\"]\n");
        assert!(
            out.ends_with("COPY --chown=65532:65532 --from=b /a /a\nUSER 65532:65532\nENTRYPOINT [\"/a\"]\n"),
            "{out}"
        );
        let out = fix("FROM gcr.io/distroless/static-debian12\nCOPY a /a\n");
        assert_eq!(
            out,
            "FROM gcr.io/distroless/static-debian12\nCOPY --chown=65532:65532 a /a\nUSER 65532:65532\n"
        );
    }

    #[test]
    fn declines_privilege_dropping_designs() {
        for (input, reason) in [
            ("FROM debian\nRUN apt-get install -y gosu\nENTRYPOINT [\"/entry.sh\"]\n", "gosu"),
            ("FROM alpine\nRUN apk add su-exec\nCMD x\n", "su-exec"),
            ("FROM debian\nENTRYPOINT [\"setpriv\", \"--reuid=1000\", \"x\"]\n", "setpriv"),
            ("FROM debian\nCMD chroot --userspec=app / x\n", "--userspec"),
            (
                "FROM debian\nADD https://github.com/just-containers/s6-overlay/releases/x.tar.xz /tmp\n",
                "s6-overlay",
            ),
            ("FROM debian\nENTRYPOINT [\"/init\"]\n", "/init"),
            ("FROM postgres:16\nCOPY init.sql /docker-entrypoint-initdb.d/\n", "gosu"),
            ("FROM redis:7-alpine\nCMD redis-server\n", "redis"),
            (
                "FROM debian\nRUN apt-get install -y supervisor\nCMD [\"/usr/bin/supervisord\", \"-n\"]\n",
                "supervisord",
            ),
            ("FROM centos:7\nCMD [\"/usr/sbin/init\"]\n", "/usr/sbin/init"),
            (
                "FROM debian\nCOPY start.sh /root/start.sh\nENTRYPOINT [\"/root/start.sh\"]\n",
                "/root/start.sh",
            ),
            ("FROM debian\nWORKDIR /root/app\nCOPY . .\nCMD ./run\n", "/root/app"),
            (
                "FROM maven:3-eclipse-temurin-21\nCOPY settings.xml /root/.m2/settings.xml\nCOPY app /opt/app\nCMD [\"/opt/app/run\"]\n",
                "`/root/.m2/settings.xml` in root's home (line 2)",
            ),
            ("FROM debian\nWORKDIR /root\nCOPY [\"npmrc\", \".npmrc\"]\nCMD x\n", "`/root`"),
            ("FROM mcr.microsoft.com/windows/servercore:ltsc2022\nCMD x\n", "ContainerUser"),
            ("FROM example/win\nSHELL [\"powershell\", \"-Command\"]\nRUN x\n", "ContainerUser"),
            ("# escape=`\nFROM example/win\nRUN choco install -y git\n", "ContainerUser"),
            ("FROM example/win\nRUN powershell -Command x\n", "ContainerUser"),
            ("ARG BASE\nFROM $BASE\nCOPY a /a\n", "cannot resolve"),
            ("ARG A=$B/x\nFROM $A\nCOPY a /a\n", "cannot resolve"),
            ("ARG V\nFROM postgres:${V}\nCOPY a /a\n", "postgres"),
        ] {
            let (out, reports) = outcome(input);
            assert_eq!(out, input);
            assert_eq!(reports.len(), 1, "{input}");
            assert!(!reports[0].fixed);
            assert!(reports[0].message.contains(reason), "{input}: {}", reports[0].message);
        }
    }

    #[test]
    fn low_ports_are_named_in_the_risk() {
        let (_, reports) = outcome("FROM debian\nEXPOSE 80/tcp 8080 443\nCMD x\n");
        let risk = reports[0].risk.as_deref().unwrap();
        assert!(risk.contains("EXPOSE 80/tcp, 443") && risk.contains("Kubernetes"), "{risk}");
        let (_, reports) = outcome("FROM debian\nEXPOSE 8080\nCMD x\n");
        assert!(!reports[0].risk.as_deref().unwrap().contains("EXPOSE"));
    }

    #[test]
    fn a_volume_is_given_above_the_volume_that_declares_it() {
        // Declared above the last RUN: given by a RUN of its own above the VOLUME, numerically.
        let out = fix("FROM debian\nVOLUME /data\nRUN apt-get update\nCMD x\n");
        assert!(
            out.starts_with("FROM debian\nRUN mkdir -p /data && chown 10001:10001 /data\nVOLUME /data\nRUN apt-get update\nRUN if"),
            "{out}"
        );
        // A user the file creates below the VOLUME cannot own it above: named in the risk.
        let (out, reports) = outcome("FROM debian\nVOLUME /data\nRUN useradd -m svc\nCOPY a /a\nCMD x\n");
        assert!(out.contains("RUN useradd -m svc\nRUN mkdir -p /data && chown svc /data\n"), "{out}");
        let risk = reports[0].risk.as_deref().unwrap();
        assert!(risk.contains("VOLUME /data is declared above the RUN that gives it"), "{risk}");
        // A VOLUME of an earlier stage is not edited: the final stage gives it, with the note.
        let (out, reports) =
            outcome("FROM debian AS base\nVOLUME /data\nFROM base\nRUN apt-get update\nCMD x\n");
        assert!(out.starts_with("FROM debian AS base\nVOLUME /data\nFROM base\n"), "{out}");
        assert!(out.contains("&& mkdir -p /data && chown app:app /data"), "{out}");
        assert!(reports[0].risk.as_deref().unwrap().contains("buildah and the legacy builder"));
        // Below the creating RUN: given in that RUN, no note.
        let (out, reports) = outcome("FROM debian\nRUN apt-get update\nCOPY a /a\nVOLUME /data\nCMD x\n");
        assert!(out.contains("--create-home app; fi && mkdir -p /data && chown app:app /data\n"), "{out}");
        assert!(!reports[0].risk.as_deref().unwrap().contains("legacy"));
    }

    #[test]
    fn the_creation_command_does_not_widen_a_region_the_grammar_misreads() {
        // A legacy LABEL the grammar does not understand, then a quoted ARG default: a quote
        // in the new RUN would pair with it and the engine would refuse the fix as damage.
        let input = "ARG V=\"latest\"\nFROM ubuntu:$V\narg key=\"1-2\"\nLABEL MAINTAINER a@b.c\nrun mkdir /code\nWORKDIR /code\ncmd sh /code/x.sh\n";
        let out = fix(input);
        assert!(
            out.contains("\nRUN if ! id -u app") && out.ends_with("USER app\ncmd sh /code/x.sh\n"),
            "{out}"
        );
    }

    #[test]
    fn keeps_the_file_casing_and_line_endings() {
        let out = fix("from debian:12\ncopy a /a\ncmd x\n");
        assert!(out.contains("\nrun if ! id -u app >/dev/null 2>&1; then grep -q ^app: /etc/group || groupadd --system --gid 10001 app; useradd --system --uid 10001 --gid app --no-log-init --create-home app; fi\ncopy --chown=app:app a /a\nuser app\ncmd x\n"), "{out}");
        let out = fix("FROM node:20\r\nRUN npm ci\r\nCMD x\r\n");
        assert_eq!(out, "FROM node:20\r\nRUN npm ci\r\nUSER node\r\nCMD x\r\n");
    }

    #[test]
    fn suppression_above_the_instruction_the_user_goes_before() {
        let input = "FROM debian:12\nCOPY a /a\n# dockfix: ignore=non-root-user\nCMD x\n";
        let (out, reports) = outcome(input);
        assert_eq!(out, input);
        assert!(reports.is_empty(), "{reports:?}");
    }

    #[test]
    fn reads_user_creation_commands() {
        assert_eq!(created_user("useradd -r -u 1001 -g grp appuser"), Some("appuser".into()));
        assert_eq!(
            created_user("adduser --disabled-password --gecos \"\" bob && chown bob /x"),
            Some("bob".into())
        );
        assert_eq!(created_user("adduser -D -h /home/u -s /bin/sh u"), Some("u".into()));
        assert_eq!(created_user("/usr/sbin/useradd -m joe > /dev/null"), Some("joe".into()));
        assert_eq!(created_user("useradd -m $USER"), None);
        assert_eq!(created_user("apt-get install -y curl"), None);
    }
    #[test]
    fn fixtures_end_non_root_or_say_why() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(ID);
        // Only the Dockerfiles: a fixture's `NAME.toml` holds its options.
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "Dockerfile"))
            .collect();
        paths.sort();
        assert!(paths.len() >= 15);
        for path in paths {
            let input = std::fs::read_to_string(&path).unwrap();
            let (out, reports) = outcome(&input);
            let name = path.display();
            let file = Dockerfile::parse(crate::source::Source::new(&out).text());
            let stage = file.final_stage().unwrap();
            let facts = resolved_base_facts(&file, stage);
            let state = start_user(&file, &stage_chain(&file, stage), &facts);
            if out == input {
                let declined = reports.iter().all(|r| !r.fixed);
                assert!(
                    declined && (reports.is_empty() == matches!(state, StartUser::NonRoot))
                        || input.contains("dockfix: ignore"),
                    "{name}: {reports:?}"
                );
            } else {
                assert!(matches!(state, StartUser::NonRoot), "{name}: still root after the fix");
                assert!(reports.iter().all(|r| r.fixed && r.risk.is_some()), "{name}");
            }
        }
    }

    #[test]
    fn a_variable_in_the_tag_only_still_names_the_image() {
        let out = fix("ARG V=20\nARG VARIANT\nFROM node:${VARIANT}-alpine\nCOPY . .\nCMD x\n");
        assert!(out.contains("COPY --chown=node . .\nUSER node\nCMD x"), "{out}");
        let out = fix("ARG PY\nFROM python:${PY}-alpine\nCOPY . .\nCMD x\n");
        assert!(out.contains("adduser -S"), "{out}");
    }

    #[test]
    fn goes_after_heredocs_and_into_empty_stages() {
        let out = fix("FROM node:20\nRUN <<EOF\nnpm ci\nEOF\nCMD x\n");
        // The engine puts a blank line after a heredoc terminator (hadolint cannot parse
        // an instruction right after one).
        assert_eq!(out, "FROM node:20\nRUN <<EOF\nnpm ci\nEOF\n\nUSER node\nCMD x\n");
        // A CMD of its own: without one, an empty stage reads as a base for other images.
        assert_eq!(fix("FROM scratch\nCMD [\"/a\"]\n"), "FROM scratch\nUSER 65532:65532\nCMD [\"/a\"]\n");
        let out = fix("FROM debian:12\nCMD x\n");
        assert_eq!(out, format!("FROM debian:12\n{}CMD x\n", debian_create()));
    }

    #[test]
    fn appends_to_a_file_without_final_newline() {
        // An application copied in: without one and without a CMD, `node` is built upon.
        assert_eq!(
            fix("FROM node:20\nCOPY . /app\nRUN npm ci"),
            "FROM node:20\nCOPY . /app\nRUN npm ci\nUSER node",
            "the missing final newline stays missing"
        );
    }
}
