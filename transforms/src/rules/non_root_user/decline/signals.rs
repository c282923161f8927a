//! Signals in the Dockerfile itself that the container must start as root: service managers
//! and daemons it installs, configures or starts, a sudoers file, packet filters and tun
//! devices, Docker-in-Docker, `--user root` given to the program.
//!
//! The table is the knowledge; the code only looks for each signal where the table says.
//! Why each needs root is the programs' own documentation: supervisord, runit's runsvdir,
//! s6-svscan, cron/crond, sshd, postfix and dovecot masters start as root and run their
//! children or sessions as other users (each one's manual page); nginx and Apache httpd bind
//! and start as root and run workers as `nginx`/`www-data` (nginx.org "Beginner's guide",
//! httpd.apache.org "Security tips"); dockerd needs root (docs.docker.com "Docker
//! daemon attack surface", rootless mode aside); iptables/nft and tun devices need
//! `CAP_NET_ADMIN`, which a non-root process does not get (capabilities(7)).

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::semantic::shell::packages::{installed_packages, library_packages};
use crate::semantic::shell::{redirect_targets, Command};

/// Where a signal is looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Seen {
    /// A program the container starts: a command of the `ENTRYPOINT`/`CMD` (or of the
    /// entrypoint script).
    Started,
    /// A package a `RUN` installs with the system package manager.
    Installed,
    /// A library a `RUN` installs with a language package manager (pip, gem, npm).
    Library,
    /// A program a `RUN` runs at build time.
    Run,
    /// A path (or a path under it) a `COPY`/`ADD` writes or a `RUN` names.
    Path,
    /// A `VOLUME`.
    Volume,
    /// A port an `EXPOSE` publishes.
    Exposed,
    /// The base image: the last part of its repository name (`r.j3ss.co/masscan`).
    Image,
}

impl Seen {
    pub fn describe(self) -> &'static str {
        match self {
            Seen::Started => "started by the container",
            Seen::Installed => "installed",
            Seen::Library => "installed",
            Seen::Run => "run at build time",
            Seen::Path => "written",
            Seen::Volume => "declared as a VOLUME",
            Seen::Exposed => "exposed",
            Seen::Image => "is the base image",
        }
    }
}

/// One signal: what is looked for, where, and why it means root.
pub(crate) struct RootSignal {
    /// A program name, a package name, or an absolute path (a prefix for paths).
    pub what: &'static str,
    pub seen: Seen,
    pub why: &'static str,
}

const SUPERVISOR: &str =
    "a process manager runs as root to start its programs as their own users, so the container must start as root";
const RUNIT: &str = "runit supervises services as root and drops to each service's user itself, so the container must start as root";
const S6: &str = "s6 supervises services as root and drops to each service's user itself, so the container must start as root";
const CRON: &str = "cron runs as root to run each crontab as its owner, so the container must start as root";
const SSHD: &str = "sshd runs as root to log users in as themselves, so the container must start as root";
const MAIL: &str =
    "the mail server's master runs as root and starts its workers as their own users, so the container must start as root";
const WEB: &str =
    "the web server starts as root and runs its workers as an unprivileged user, so the container must start as root";
const INIT: &str =
    "an init system runs as root and starts services as their users, so the container must start as root";
const SUDOERS: &str =
    "a sudoers file means the image is built for users who become root in the container, not for one fixed non-root user";
const NETWORK: &str =
    "packet filters and tun devices need CAP_NET_ADMIN, which a non-root process lacks, so the container must start as root";
const DOCKER_API: &str = "a Docker API client talks to the Docker daemon through its socket, which only root and the host's docker group (whose GID the image cannot know) may open, so it must start as root";
const DIND: &str = "Docker-in-Docker: dockerd runs as root, so the container must start as root";
const DAEMON: &str =
    "the daemon starts as root (to bind its port, chroot or read its keys) and switches to its own account by its configuration, so the container must start as root";
const PACKAGED_SERVER: &str =
    "the distribution's server package creates the server's own account and gives it the data directories (or leaves them root's), so another user cannot write them; the container must start as root, or as that account with its data paths made its own";
const RAW_SOCKETS: &str =
    "it sends raw packets, which needs CAP_NET_RAW: Docker grants it to root's processes, not to a non-root user's, so the container must start as root";
const FIREWALL: &str =
    "a firewall loads packet filter rules, which needs CAP_NET_ADMIN, so the container must start as root";

/// The signals, in the order they are looked for: what the container starts comes first.
pub(crate) const ROOT_SIGNALS: &[RootSignal] = &[
    RootSignal { what: "supervisord", seen: Seen::Started, why: SUPERVISOR },
    RootSignal { what: "runsvdir", seen: Seen::Started, why: RUNIT },
    RootSignal { what: "runit", seen: Seen::Started, why: RUNIT },
    RootSignal { what: "s6-svscan", seen: Seen::Started, why: S6 },
    RootSignal { what: "systemd", seen: Seen::Started, why: INIT },
    RootSignal { what: "init", seen: Seen::Started, why: INIT },
    // phusion/baseimage's init: runs runit's services and startup scripts as root.
    RootSignal { what: "my_init", seen: Seen::Started, why: INIT },
    RootSignal { what: "cron", seen: Seen::Started, why: CRON },
    RootSignal { what: "crond", seen: Seen::Started, why: CRON },
    RootSignal { what: "sshd", seen: Seen::Started, why: SSHD },
    RootSignal { what: "nginx", seen: Seen::Started, why: WEB },
    RootSignal { what: "httpd", seen: Seen::Started, why: WEB },
    RootSignal { what: "apache2ctl", seen: Seen::Started, why: WEB },
    RootSignal { what: "apachectl", seen: Seen::Started, why: WEB },
    RootSignal { what: "apache2-foreground", seen: Seen::Started, why: WEB },
    RootSignal { what: "postfix", seen: Seen::Started, why: MAIL },
    RootSignal { what: "dovecot", seen: Seen::Started, why: MAIL },
    RootSignal { what: "dockerd", seen: Seen::Started, why: DIND },
    RootSignal { what: "dockerd-entrypoint.sh", seen: Seen::Started, why: DIND },
    RootSignal { what: "iptables", seen: Seen::Started, why: NETWORK },
    RootSignal { what: "openvpn", seen: Seen::Started, why: NETWORK },
    RootSignal { what: "wg-quick", seen: Seen::Started, why: NETWORK },
    // Daemons that start as root and step down to their own account themselves (vsftpd(8),
    // radiusd(8) `user`/`group`, named(8) `-u`, smbd(8), slapd(8) `-u`, dnsmasq(8) `--user`,
    // squid `cache_effective_user`, proftpd `User`, exim(8), rsyslogd `$PrivDropToUser`).
    RootSignal { what: "vsftpd", seen: Seen::Started, why: DAEMON },
    RootSignal { what: "proftpd", seen: Seen::Started, why: DAEMON },
    RootSignal { what: "pure-ftpd", seen: Seen::Started, why: DAEMON },
    RootSignal { what: "radiusd", seen: Seen::Started, why: DAEMON },
    RootSignal { what: "freeradius", seen: Seen::Started, why: DAEMON },
    RootSignal { what: "named", seen: Seen::Started, why: DAEMON },
    RootSignal { what: "smbd", seen: Seen::Started, why: DAEMON },
    RootSignal { what: "slapd", seen: Seen::Started, why: DAEMON },
    RootSignal { what: "dnsmasq", seen: Seen::Started, why: DAEMON },
    RootSignal { what: "squid", seen: Seen::Started, why: DAEMON },
    RootSignal { what: "exim", seen: Seen::Started, why: DAEMON },
    RootSignal { what: "exim4", seen: Seen::Started, why: DAEMON },
    RootSignal { what: "rsyslogd", seen: Seen::Started, why: DAEMON },
    RootSignal { what: "shorewall", seen: Seen::Started, why: FIREWALL },
    // Scanners and capture tools that open raw sockets (masscan(8), zmap(8),
    // hping3(8), tcpdump(8)): capabilities(7) CAP_NET_RAW.
    RootSignal { what: "masscan", seen: Seen::Started, why: RAW_SOCKETS },
    RootSignal { what: "zmap", seen: Seen::Started, why: RAW_SOCKETS },
    RootSignal { what: "hping3", seen: Seen::Started, why: RAW_SOCKETS },
    RootSignal { what: "tcpdump", seen: Seen::Started, why: RAW_SOCKETS },
    RootSignal { what: "masscan", seen: Seen::Image, why: RAW_SOCKETS },
    RootSignal { what: "zmap", seen: Seen::Image, why: RAW_SOCKETS },
    RootSignal { what: "masscan", seen: Seen::Installed, why: RAW_SOCKETS },
    RootSignal { what: "zmap", seen: Seen::Installed, why: RAW_SOCKETS },
    RootSignal { what: "ufw", seen: Seen::Started, why: FIREWALL },
    RootSignal { what: "vsftpd", seen: Seen::Installed, why: DAEMON },
    RootSignal { what: "proftpd", seen: Seen::Installed, why: DAEMON },
    RootSignal { what: "freeradius", seen: Seen::Installed, why: DAEMON },
    RootSignal { what: "shorewall", seen: Seen::Installed, why: FIREWALL },
    RootSignal { what: "supervisor", seen: Seen::Installed, why: SUPERVISOR },
    RootSignal { what: "runit", seen: Seen::Installed, why: RUNIT },
    RootSignal { what: "s6", seen: Seen::Installed, why: S6 },
    RootSignal { what: "cron", seen: Seen::Installed, why: CRON },
    RootSignal { what: "cronie", seen: Seen::Installed, why: CRON },
    RootSignal { what: "dcron", seen: Seen::Installed, why: CRON },
    // Apache is installed to be served (its packages start it from their service scripts);
    // nginx is also installed as a front for an app the container starts itself, so only
    // nginx started or configured counts.
    RootSignal { what: "apache2", seen: Seen::Installed, why: WEB },
    RootSignal { what: "httpd", seen: Seen::Installed, why: WEB },
    // PHP's Apache module packages (Debian `libapache2-mod-php*`, Alpine `php*-apache2`)
    // exist only to be served by Apache.
    RootSignal { what: "libapache2-mod-php", seen: Seen::Installed, why: WEB },
    RootSignal { what: "php7-apache2", seen: Seen::Installed, why: WEB },
    RootSignal { what: "php8-apache2", seen: Seen::Installed, why: WEB },
    RootSignal { what: "php81-apache2", seen: Seen::Installed, why: WEB },
    RootSignal { what: "php82-apache2", seen: Seen::Installed, why: WEB },
    RootSignal { what: "php83-apache2", seen: Seen::Installed, why: WEB },
    RootSignal { what: "openssh-server", seen: Seen::Installed, why: SSHD },
    RootSignal { what: "postfix", seen: Seen::Installed, why: MAIL },
    RootSignal { what: "dovecot", seen: Seen::Installed, why: MAIL },
    RootSignal { what: "dovecot-core", seen: Seen::Installed, why: MAIL },
    RootSignal { what: "docker-ce", seen: Seen::Installed, why: DIND },
    RootSignal { what: "iptables", seen: Seen::Installed, why: NETWORK },
    RootSignal { what: "nftables", seen: Seen::Installed, why: NETWORK },
    RootSignal { what: "openvpn", seen: Seen::Installed, why: NETWORK },
    RootSignal { what: "wireguard-tools", seen: Seen::Installed, why: NETWORK },
    // Servers whose distribution packages create a system account of their own and give it
    // /var/lib/<name> (Debian's maintainer scripts: mongodb-server, rabbitmq-server,
    // mariadb-server/mysql-server, postgresql-common, redis-server, docker-registry,
    // influxdb, minidlna, pdns-recursor/pdns-server, couchdb, mosquitto, mumble-server; Fedora/EPEL's and
    // Alpine's packages of the same servers do the same, and so do the vendors' own
    // packages: mongodb-org-server, MariaDB-server, mysql-community-server, elasticsearch).
    // memcached and tor keep no data and run as any user, so they are not here.
    RootSignal { what: "mongodb-server", seen: Seen::Installed, why: PACKAGED_SERVER },
    RootSignal { what: "mongodb-org-server", seen: Seen::Installed, why: PACKAGED_SERVER },
    RootSignal { what: "mongodb-org", seen: Seen::Installed, why: PACKAGED_SERVER },
    RootSignal { what: "rabbitmq-server", seen: Seen::Installed, why: PACKAGED_SERVER },
    RootSignal { what: "mysql-server", seen: Seen::Installed, why: PACKAGED_SERVER },
    RootSignal { what: "mysql-community-server", seen: Seen::Installed, why: PACKAGED_SERVER },
    RootSignal { what: "default-mysql-server", seen: Seen::Installed, why: PACKAGED_SERVER },
    RootSignal { what: "mariadb-server", seen: Seen::Installed, why: PACKAGED_SERVER },
    RootSignal { what: "MariaDB-server", seen: Seen::Installed, why: PACKAGED_SERVER },
    RootSignal { what: "postgresql", seen: Seen::Installed, why: PACKAGED_SERVER },
    RootSignal { what: "postgresql-server", seen: Seen::Installed, why: PACKAGED_SERVER },
    RootSignal { what: "redis-server", seen: Seen::Installed, why: PACKAGED_SERVER },
    RootSignal { what: "docker-registry", seen: Seen::Installed, why: PACKAGED_SERVER },
    RootSignal { what: "elasticsearch", seen: Seen::Installed, why: PACKAGED_SERVER },
    RootSignal { what: "influxdb", seen: Seen::Installed, why: PACKAGED_SERVER },
    RootSignal { what: "minidlna", seen: Seen::Installed, why: PACKAGED_SERVER },
    RootSignal { what: "pdns-recursor", seen: Seen::Installed, why: PACKAGED_SERVER },
    RootSignal { what: "pdns-server", seen: Seen::Installed, why: PACKAGED_SERVER },
    RootSignal { what: "couchdb", seen: Seen::Installed, why: PACKAGED_SERVER },
    RootSignal { what: "mosquitto", seen: Seen::Installed, why: PACKAGED_SERVER },
    RootSignal { what: "mumble-server", seen: Seen::Installed, why: PACKAGED_SERVER },
    // Docker API clients: the Docker SDK for Python (`docker`, formerly `docker-py`),
    // aiodocker, the Ruby `docker-api` gem, Node's dockerode; the Docker CLI packages (Docker's
    // docs "Install Docker Engine": docker-ce-cli; Debian's docker-cli; Alpine's
    // docker-cli); programs whose job is to watch or drive the local daemon (watchtower,
    // docker-gen: their READMEs mount /var/run/docker.sock).
    RootSignal { what: "docker", seen: Seen::Library, why: DOCKER_API },
    RootSignal { what: "docker-py", seen: Seen::Library, why: DOCKER_API },
    RootSignal { what: "aiodocker", seen: Seen::Library, why: DOCKER_API },
    RootSignal { what: "docker-api", seen: Seen::Library, why: DOCKER_API },
    RootSignal { what: "dockerode", seen: Seen::Library, why: DOCKER_API },
    RootSignal { what: "docker-ce-cli", seen: Seen::Installed, why: DOCKER_API },
    RootSignal { what: "docker-cli", seen: Seen::Installed, why: DOCKER_API },
    RootSignal { what: "watchtower", seen: Seen::Started, why: DOCKER_API },
    RootSignal { what: "docker-gen", seen: Seen::Started, why: DOCKER_API },
    RootSignal { what: "crontab", seen: Seen::Run, why: CRON },
    RootSignal { what: "mknod", seen: Seen::Run, why: NETWORK },
    RootSignal { what: "/etc/service/", seen: Seen::Path, why: RUNIT },
    RootSignal { what: "/etc/services.d/", seen: Seen::Path, why: S6 },
    RootSignal { what: "/etc/s6-overlay/", seen: Seen::Path, why: S6 },
    RootSignal { what: "/etc/supervisor/", seen: Seen::Path, why: SUPERVISOR },
    RootSignal { what: "/etc/supervisord.conf", seen: Seen::Path, why: SUPERVISOR },
    RootSignal { what: "/etc/cron.d/", seen: Seen::Path, why: CRON },
    RootSignal { what: "/etc/crontabs/", seen: Seen::Path, why: CRON },
    RootSignal { what: "/etc/crontab", seen: Seen::Path, why: CRON },
    // Where Debian's cron and BusyBox's crond read users' crontabs (crontab(1), crond(8)).
    RootSignal { what: "/var/spool/cron/", seen: Seen::Path, why: CRON },
    RootSignal { what: "/etc/apache2/", seen: Seen::Path, why: WEB },
    RootSignal { what: "/etc/httpd/", seen: Seen::Path, why: WEB },
    RootSignal { what: "/etc/nginx/", seen: Seen::Path, why: WEB },
    RootSignal { what: "/etc/sudoers", seen: Seen::Path, why: SUDOERS },
    RootSignal { what: "/etc/sudoers.d/", seen: Seen::Path, why: SUDOERS },
    RootSignal { what: "/dev/net/tun", seen: Seen::Path, why: NETWORK },
    RootSignal { what: "/var/lib/docker", seen: Seen::Volume, why: DIND },
    // Port 22 is SSH's (IANA service names registry): an image that exposes it serves SSH.
    RootSignal { what: "22", seen: Seen::Exposed, why: SSHD },
];

/// The first signal of [`ROOT_SIGNALS`] seen as `seen` whose `what` is `name`. The table is
/// indexed by kind and name once, rather than scanned whole for every command, package and
/// port of every pass.
fn named_signal(seen: Seen, name: &str) -> Option<&'static RootSignal> {
    static BY_NAME: OnceLock<HashMap<(Seen, &'static str), &'static RootSignal>> = OnceLock::new();
    let by_name = BY_NAME.get_or_init(|| {
        let mut by_name = HashMap::new();
        for signal in ROOT_SIGNALS {
            // The first of equal entries is the one a scan in order finds.
            by_name.entry((signal.seen, signal.what)).or_insert(signal);
        }
        by_name
    });
    by_name.get(&(seen, name)).copied()
}

/// Host resources a container is documented to be run with (a `docker run` line in a comment
/// or a `LABEL`, as Project Atomic's `LABEL RUN` convention writes it) or that its start
/// command names, which only root may use: (what is written, why it means root). The Docker
/// socket is `root:docker` 0660 (docs.docker.com, "Docker daemon attack surface"), libvirt's
/// system socket `root:libvirt` 0770 (libvirt.org, "Connection authorization").
pub(crate) const HOST_ACCESS: &[(&str, &str)] = &[
    ("--privileged", "the container is run privileged, to use the host's devices and kernel as root, so it must start as root"),
    ("/var/run/docker.sock", "it talks to the host's Docker daemon through its socket, which only root and the docker group may open, so it must start as root"),
    ("/run/docker.sock", "it talks to the host's Docker daemon through its socket, which only root and the docker group may open, so it must start as root"),
    ("--device", "device nodes passed with --device keep the host's owner and mode (root and a group such as audio or video), which a non-root user cannot open, so it must start as root"),
    ("qemu:///system", "it connects to the host's system libvirt daemon, whose socket only root and the libvirt group may open, so it must start as root"),
];

/// Why a documented bind mount into root's home means root.
pub(crate) const ROOT_HOME_MOUNT: &str = "the files are mounted into root's home, which a non-root user cannot enter (0700), so it must run as root, or be run with the mount moved to the new user's home";

/// A bind mount into root's home in a documented run command: `-v SRC:/root/...` or
/// `--volume=SRC:/root` (with or without `:ro`), as written.
pub(crate) fn root_home_mount(text: &str) -> Option<String> {
    volume_specs(text).into_iter().find_map(|spec| {
        let destination = spec.split(':').nth(1)?;
        (destination == "/root" || destination.starts_with("/root/")).then(|| format!("-v {spec}"))
    })
}

/// The `SRC:DST[:OPTIONS]` of each `-v`/`--volume` in a documented run command, as written.
fn volume_specs(text: &str) -> Vec<&str> {
    // `-v` and `--volume` both hold `-v`: most texts (comments, labels) have neither.
    if !text.contains("-v") {
        return Vec::new();
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    words
        .iter()
        .enumerate()
        .filter_map(|(index, word)| match word.split_once('=') {
            Some(("-v" | "--volume", spec)) => Some(spec),
            _ if matches!(*word, "-v" | "--volume") => words.get(index + 1).copied(),
            _ => None,
        })
        .collect()
}

/// A documented bind mount of the caller's own directory (`-v ~/Downloads:/downloads`,
/// `-v "$PWD":/src`, `-v $(pwd):/work`), not read-only and not a dotfile of the home: the
/// container writes files the host user owns. The mount as written.
pub(crate) fn callers_directory_mount(text: &str) -> Option<String> {
    const CALLERS_DIRECTORIES: &[&str] = &["~", "$HOME", "${HOME}", "$PWD", "${PWD}", "$(pwd)", "`pwd`", "."];
    volume_specs(text).into_iter().find_map(|spec| {
        let unquoted = spec.replace(['"', '\''], "");
        let mut parts = unquoted.split(':');
        let (source, destination) = (parts.next()?, parts.next()?);
        if parts.any(|option| option.split(',').any(|option| option == "ro")) || !destination.starts_with('/')
        {
            return None;
        }
        // A dotfile or dot-directory of the home (`~/.aws`, `$HOME/.gitconfig`) is
        // configuration the program reads; the home's data directories and the working
        // directory hold what it works on.
        let callers = CALLERS_DIRECTORIES.iter().any(|start| {
            source
                .strip_prefix(start)
                .is_some_and(|rest| rest.is_empty() || (rest.starts_with('/') && !rest.starts_with("/.")))
        });
        callers.then(|| format!("-v {spec}"))
    })
}

/// The first [`HOST_ACCESS`] entry a text names: (what is written, why).
pub(crate) fn host_access(text: &str) -> Option<(&'static str, &'static str)> {
    HOST_ACCESS.iter().find(|(what, _)| text.contains(what)).copied()
}

/// Why `--user root` (or `=0`) handed to the program means root.
pub(crate) const USER_ROOT_ARGUMENT: &str =
    "the program is told to run as root, so the container must start as root";

/// `path` is the signal's path, or lies under it (a signal path ending in `/` is a directory:
/// the directory itself counts too).
pub(crate) fn path_matches(path: &str, signal: &str) -> bool {
    let path = path.trim_end_matches('/');
    match signal.strip_suffix('/') {
        Some(dir) => path == dir || path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/')),
        None => path == signal,
    }
}

/// The first signal a command of the container's start shows (a program it starts, or
/// `--user root` given to it): (signal, the word as written).
pub(crate) fn started_signal(commands: &[Command]) -> Option<(&'static RootSignal, String)> {
    for command in commands {
        // `service cron start`, `rc-service nginx start`: the service is the program.
        let (program, written) = match command.program() {
            "service" | "rc-service" => {
                let service = command.args.first().map_or("", String::as_str);
                (service, format!("{} {service}", command.path))
            }
            other => (other, command.path.clone()),
        };
        // BusyBox's `httpd -p PORT` is a one-process server that runs as whoever starts it;
        // Apache's httpd has no `-p`.
        if program == "httpd" && command.args.iter().any(|arg| arg == "-p" || arg.starts_with("-p")) {
            continue;
        }
        let found = named_signal(Seen::Started, program);
        if let Some(signal) = found {
            return Some((signal, written));
        }
    }
    None
}

/// `--user root`, `--user=root`, `--user 0` in a command's arguments.
pub(crate) fn user_root_argument(commands: &[Command]) -> Option<String> {
    commands.iter().find_map(|command| {
        command.args.iter().enumerate().find_map(|(index, arg)| {
            let value = match arg.strip_prefix("--user=") {
                Some(value) => value,
                None if arg == "--user" => command.args.get(index + 1)?.as_str(),
                None => return None,
            };
            matches!(value, "root" | "0").then(|| format!("--user {value}"))
        })
    })
}

/// Why a program told which account to step down to means root.
pub(crate) const STEP_DOWN_ARGUMENT: &str =
    "the program is told which account to step down to, which it does itself only when started as root, so the container must start as root";

/// The account and group a command is told to step down to, as written: `-u NAME -g GROUP`
/// (rspamd(8): `-u _rspamd -g _rspamd`) or `--user NAME --group GROUP`, not root. A user
/// alone is left alone: `-u` means other things to other programs (`python -u`), and an
/// application's `--user app` may name its own account, not a process user.
pub(crate) fn step_down_argument(commands: &[Command]) -> Option<String> {
    commands.iter().find_map(|command| {
        let value_of = |flag: &str| {
            command.args.iter().enumerate().find_map(|(index, arg)| {
                match arg.strip_prefix(&format!("{flag}=")) {
                    Some(value) => Some(value.to_string()),
                    None if arg == flag => command.args.get(index + 1).cloned(),
                    None => None,
                }
            })
        };
        let not_root = |value: &String| !matches!(value.as_str(), "root" | "0") && !value.starts_with('-');
        let pair = |user_flag: &str, group_flag: &str| {
            let (user, group) =
                (value_of(user_flag).filter(not_root)?, value_of(group_flag).filter(not_root)?);
            Some(format!("{user_flag} {user} {group_flag} {group}"))
        };
        pair("--user", "--group").or_else(|| pair("-u", "-g"))
    })
}

/// The first build-time signal of a `RUN`'s commands: a package installed, a program run, or
/// a path written. (signal, the word as written).
pub(crate) fn run_signal(commands: &[Command]) -> Option<(&'static RootSignal, String)> {
    for command in commands {
        for package in installed_packages(command) {
            let found = named_signal(Seen::Installed, &package);
            if let Some(signal) = found {
                return Some((signal, package));
            }
        }
        for library in library_packages(command) {
            let found = named_signal(Seen::Library, &library);
            if let Some(signal) = found {
                return Some((signal, library));
            }
        }
        let found = named_signal(Seen::Run, command.program());
        if let Some(signal) = found {
            return Some((signal, command.program().to_string()));
        }
        let paths = command.args.iter().map(String::as_str).chain(redirect_targets(command));
        for path in paths.filter(|path| path.starts_with('/')) {
            if let Some(signal) = path_signal(path) {
                return Some((signal, path.to_string()));
            }
        }
    }
    None
}

/// The path signal a written path shows.
pub(crate) fn path_signal(path: &str) -> Option<&'static RootSignal> {
    ROOT_SIGNALS.iter().find(|s| s.seen == Seen::Path && path_matches(path, s.what))
}

/// The signal of a port an `EXPOSE` publishes (`22`, `22/tcp`).
pub(crate) fn exposed_signal(port: &str) -> Option<&'static RootSignal> {
    let number = port.split('/').next().unwrap_or(port);
    named_signal(Seen::Exposed, number)
}

/// The signal of a base image, by the last part of its repository name (no registry, path
/// or tag): `r.j3ss.co/masscan:latest` is `masscan`.
pub(crate) fn image_signal(image: &str) -> Option<&'static RootSignal> {
    let repository = image.split(['@']).next().unwrap_or(image);
    let name = repository.rsplit('/').next().unwrap_or(repository);
    let name = name.split(':').next().unwrap_or(name);
    named_signal(Seen::Image, name)
}

/// The volume signal of a `VOLUME` path.
pub(crate) fn volume_signal(path: &str) -> Option<&'static RootSignal> {
    ROOT_SIGNALS.iter().find(|s| s.seen == Seen::Volume && path_matches(path, s.what))
}
