//! Facts about base images by name, as data: which names mean Windows, a distro family, no
//! shell, a built-in or default non-root user, an entrypoint that drops privileges, ports
//! exposed by the image itself. Each table names where its facts come from; the lookups that
//! read them are in the parent module.

use super::Family;

/// Substrings of an image name or tag that mean Windows: Microsoft's Windows base images
/// (`mcr.microsoft.com/windows/servercore`, `nanoserver`, `windows`, with `ltsc2019`/`ltsc2022`
/// tags; Microsoft's "Container base images" page), the .NET Framework images built on them
/// (`mcr.microsoft.com/dotnet/framework/*`, formerly `microsoft/dotnet-framework`) and IIS.
pub(super) const WINDOWS_MARKERS: &[&str] = &[
    "windows",
    "servercore",
    "nanoserver",
    "ltsc20",
    "dotnet/framework",
    "dotnet-framework",
    "microsoft/iis",
];

/// Image name prefixes (registry/path) of images without a shell: distroless (its README: no
/// shell or package manager; the `:debug` tags add a BusyBox shell), Chainguard's `static`, and
/// .NET's Ubuntu chiseled `runtime-deps` images (dotnet-docker: no shell, no package manager).
pub(super) const SHELL_LESS_PREFIXES: &[&str] =
    &["gcr.io/distroless/", "cgr.dev/chainguard/static", "mcr.microsoft.com/dotnet/runtime-deps:*-chiseled"];

/// Image names (last path component) that give the distro family: the distros' own images
/// (Docker Hub official images, Red Hat's UBI on `registry.access.redhat.com`).
pub(super) const FAMILY_BY_NAME: &[(&str, Family)] = &[
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

/// `ID`s of `/etc/os-release` (os-release(5): `ID`, then each of `ID_LIKE`) and their family:
/// Debian's and Ubuntu's own, Alpine's, and those of the RHEL family (Red Hat, CentOS, Fedora,
/// Rocky, Alma, Amazon Linux `amzn`, Oracle Linux `ol`).
pub(super) const FAMILY_BY_OS_RELEASE_ID: &[(&str, Family)] = &[
    ("debian", Family::Debian),
    ("ubuntu", Family::Debian),
    ("alpine", Family::Alpine),
    ("rhel", Family::Rhel),
    ("centos", Family::Rhel),
    ("fedora", Family::Rhel),
    ("rocky", Family::Rhel),
    ("almalinux", Family::Rhel),
    ("amzn", Family::Rhel),
    ("ol", Family::Rhel),
];

/// Tag fragments that name a distro (`3.12-slim-bookworm`, `20-alpine`): Debian's release code
/// names (debian.org/releases), Ubuntu's (wiki.ubuntu.com/Releases), the docker-library
/// `-slim` (Debian) and `-alpine` variants, and Red Hat UBI-based tags.
pub(super) const FAMILY_BY_TAG: &[(&str, Family)] = &[
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

/// Official images built on Debian unless their tag says otherwise: their docker-library
/// Dockerfiles (github.com/docker-library/<name>) start `FROM debian` or `FROM buildpack-deps`;
/// `eclipse-temurin` (github.com/adoptium/containers) and `tomcat` (which starts `FROM
/// eclipse-temurin`) are built on Ubuntu, of the same family (apt, `useradd`).
pub(super) const DEBIAN_BY_DEFAULT: &[&str] = &[
    "eclipse-temurin",
    "tomcat",
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
/// [`super::default_user`].
pub(super) const DEFAULT_NON_ROOT_USERS: &[(&str, &str)] = &[
    ("nginxinc/nginx-unprivileged", "nginx"),
    ("memcached", "memcache"),
    ("jenkins/jenkins", "jenkins"),
    ("sonarqube", "sonarqube"),
    ("grafana/grafana", "472"),
    ("prom/prometheus", "nobody"),
    ("prom/alertmanager", "nobody"),
    ("prom/node-exporter", "nobody"),
    // docker-stacks' base-notebook ends with `USER ${NB_UID}` (1000, the UID of `jovyan`):
    // numeric, so that Kubernetes' `runAsNonRoot` can check it; a switch back keeps it so.
    ("jupyter/", "1000"),
    ("quay.io/jupyter/", "1000"),
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
pub(super) const BUILT_IN_USERS: &[(&str, &str)] = &[
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
pub(super) const DOTNET_IMAGES: &[&str] = &[
    "mcr.microsoft.com/dotnet/aspnet",
    "mcr.microsoft.com/dotnet/runtime",
    "mcr.microsoft.com/dotnet/runtime-deps",
    "mcr.microsoft.com/dotnet/sdk",
];

/// Images that start as root by design and step down themselves: (name, why).
pub(super) const DROPS_PRIVILEGES: &[(&str, &str)] = &[
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
pub(super) const WITHOUT_SHADOW_UTILS: &[&str] =
    &["ubi-minimal", "ubi8-minimal", "ubi9-minimal", "ubi-micro", "ubi8-micro", "ubi9-micro", "amazonlinux"];

/// Ports a base image `EXPOSE`s by itself, as its own Dockerfile declares them: (name, tag
/// fragment the ports depend on, ports). The docker-library Dockerfiles of `php` (its
/// `-apache` variants `EXPOSE 80`), `wordpress`, `drupal`, `joomla`, `mediawiki` and
/// `nextcloud` (apache variants, the default tags), `caddy` (`EXPOSE 80 443 443/udp 2019`)
/// and `traefik` (`EXPOSE 80`).
pub(super) const EXPOSED_BY_BASE: &[(&str, &str, &[&str])] = &[
    ("php", "apache", &["80"]),
    ("wordpress", "", &["80"]),
    ("drupal", "", &["80"]),
    ("joomla", "", &["80"]),
    ("mediawiki", "", &["80"]),
    ("nextcloud", "", &["80"]),
    ("caddy", "", &["80", "443"]),
    ("traefik", "", &["80"]),
];

/// Directories a base image's server writes at run time, which its image leaves to root
/// because it runs as root: (name, directories). Tomcat writes `logs`, `temp` and `work`
/// under `CATALINA_BASE`, deploys into `webapps` and writes `conf/Catalina` (Apache Tomcat's
/// RUNNING.txt, "Advanced Configuration - Multiple Tomcat Instances"); the official image's
/// `CATALINA_HOME` is `/usr/local/tomcat`.
pub(super) const WRITTEN_BY_BASE: &[(&str, &[&str])] = &[(
    "tomcat",
    &[
        "/usr/local/tomcat/logs",
        "/usr/local/tomcat/temp",
        "/usr/local/tomcat/work",
        "/usr/local/tomcat/webapps",
        "/usr/local/tomcat/conf",
    ],
)];

/// Programs that only exist on Windows, as the first word of a command.
pub(super) const WINDOWS_PROGRAMS: &[&str] = &["powershell", "pwsh", "cmd", "choco", "msbuild", "msiexec"];

/// Repositories whose images are Debian unless their tag names another distro: the .NET
/// images' default tags (dotnet-docker's supported tags).
pub(super) const DEBIAN_BY_DEFAULT_PREFIXES: &[&str] = &["mcr.microsoft.com/dotnet/", "microsoft/dotnet"];
