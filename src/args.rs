//! Command-line arguments.

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand, ValueEnum};
use dockfix::output::Format;
use dockfix::settings::validate_user_name;
use dockfix::style::ColorChoice;
use dockfix::verify::builder::{BuilderKind, SecretSource};
use dockfix_transforms::pin::PinMode;
use dockfix_transforms::rules::env_secrets::SecretMode;
use serde::de::IntoDeserializer;
use serde::Deserialize;

/// Rewrites Dockerfiles into hardened ones.
///
/// dockfix parses each Dockerfile losslessly, runs its transforms and shows the result as a
/// unified diff. Nothing outside an edit changes: comments, blank lines, continuations,
/// heredocs, casing, CRLF and a missing final newline come out byte for byte.
#[derive(Debug, Parser)]
#[command(name = "dockfix", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fix Dockerfiles: preview a diff (default), --write in place, or --check in CI.
    #[command(after_help = FIX_EXAMPLES)]
    Fix(Box<FixArgs>),
    /// Print the facts of the base images the Dockerfiles name, as a facts file (JSON).
    #[command(after_help = FACTS_EXAMPLES)]
    Facts(Box<FactsArgs>),
    /// Print the instruction model of a Dockerfile as JSON (to compare with Docker's parser).
    Parse {
        /// The Dockerfile to parse.
        file: PathBuf,
    },
    /// List the transforms.
    Rules,
    /// Print a transform's documentation.
    Explain {
        /// A transform id (`add-to-copy`) or an alias (`DL3020`).
        id: String,
    },
}

const FIX_EXAMPLES: &str = "\
Examples:
  dockfix fix                          preview fixes for Dockerfiles under the current directory
  dockfix fix Dockerfile --write       rewrite the file in place
  dockfix fix . --check                exit 1 if any file would change (CI gate)
  dockfix fix --select add-to-copy     run one transform only
  dockfix fix - < Dockerfile           read stdin, write the fixed file to stdout
  dockfix fix --format json > out.json for bots
  dockfix fix --pin digest --write     pin images to version tags and digests

Exit codes: 0 done, 1 changes pending (--check), 2 error (bad arguments, unreadable or
declined file, not a Dockerfile). Templates and generated files are left unchanged with a
finding, not an error. Run `dockfix rules` for the transforms and `dockfix explain ID` for one.";

const FACTS_EXAMPLES: &str = "\
What it reads: for each base image (the root of each stage's FROM chain, ARGs substituted),
its manifest for the build platform and its config (user, entrypoint, env, history), and,
unless --config-only, its files: /etc/passwd, /etc/group, os-release, /bin/sh, useradd,
groupadd, adduser, addgroup, and the dpkg or apk package database. Layers are read only
while an image's compressed layers total at most 256 MiB; gzip and plain tar layers are
read, a zstd layer leaves the facts at the config.

Cache: in $DOCKFIX_CACHE_DIR, else $XDG_CACHE_HOME/dockfix, else ~/.cache/dockfix. Facts are
kept by manifest digest; what a tag points to is trusted for 24 hours, then checked with one
HEAD request. A second run within the day asks the registry nothing.

Examples:
  dockfix facts                              facts of the bases under the current directory
  dockfix facts --write dockfix-facts.json   save them, to commit beside the Dockerfiles
  dockfix facts --platform linux/arm64 .     facts of the arm64 images of multi-platform bases
  dockfix fix --offline --facts-file dockfix-facts.json
                                             fix with those facts, asking no registry

Exit codes: 0 done, 2 an image's facts could not be read (the others are printed) or an
error.";

/// How registries are reached, for `fix` (pin-images, image facts) and `facts` alike.
#[derive(Debug, Clone, clap::Args)]
pub struct RegistryArgs {
    /// Speak plain HTTP, not HTTPS, to this registry (HOST[:PORT]); repeatable; added to
    /// dockfix.toml's `insecure-registries`.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registries: Vec<String>,

    /// A Docker Hub mirror (HOST[:PORT], or an http(s):// URL), asked before Docker Hub;
    /// repeatable; replaces dockfix.toml's `registry-mirrors`.
    #[arg(long = "registry-mirror", value_name = "HOST")]
    pub registry_mirrors: Vec<String>,

    /// Seconds a registry request may take (connect, and each read) [default: 20].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=600))]
    pub registry_timeout: Option<u64>,
}

#[derive(Debug, clap::Args)]
pub struct FactsArgs {
    /// Files or directories, found as `fix` finds them. Default: the current directory.
    pub paths: Vec<PathBuf>,

    /// Write the facts file here (atomically) instead of printing it.
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,

    /// The platform to read from multi-platform images, OS/ARCH[/VARIANT]; replaces
    /// dockfix.toml's `[image-facts] platform` [default: linux/amd64].
    #[arg(long, value_name = "OS/ARCH", value_parser = platform)]
    pub platform: Option<String>,

    /// Read only manifests and configs, not the images' files (a few KB per image).
    #[arg(long)]
    pub config_only: bool,

    /// Ask no registry: print only what --facts-file and the cache know.
    #[arg(long)]
    pub offline: bool,

    /// Take the facts of the images this file holds from it, and ask the cache and registry
    /// only for the others (to add new base images to a committed facts file).
    #[arg(long, value_name = "FILE")]
    pub facts_file: Option<PathBuf>,

    /// Settings file to use for every Dockerfile, instead of the nearest dockfix.toml
    /// above each one (its `[pin-images]` registry settings and `[image-facts] platform`).
    #[arg(long, value_name = "PATH", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,

    /// Ignore dockfix.toml files: defaults and the command line only.
    #[arg(long)]
    pub no_config: bool,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// `OS/ARCH[/VARIANT]`.
fn platform(text: &str) -> Result<String, String> {
    dockfix::image_facts::cache::parse_platform(text).map(|platform| platform.to_string()).ok_or_else(|| {
        format!("`{text}` is not a platform: OS/ARCH[/VARIANT], such as linux/amd64 or linux/arm64/v8")
    })
}

#[derive(Debug, clap::Args)]
pub struct FixArgs {
    /// Files or directories (searched for Dockerfile, Containerfile, *.Dockerfile,
    /// Dockerfile.*, honouring .gitignore); `-` reads stdin. Default: the current directory.
    pub paths: Vec<PathBuf>,

    /// Rewrite files in place (atomically; keeps permissions; a symlink stays a symlink).
    #[arg(long, conflicts_with = "check")]
    pub write: bool,

    /// Write nothing; exit 1 if any file would change.
    #[arg(long)]
    pub check: bool,

    /// Run only these transforms (ids or hadolint codes, comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "ID,..")]
    pub select: Vec<String>,

    /// Skip these transforms (ids or hadolint codes, comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "ID,..")]
    pub ignore: Vec<String>,

    /// Apply only fixes that cannot change behaviour; list the others.
    #[arg(long)]
    pub safe_only: bool,

    /// Also apply fixes to files that say they are generated ("DO NOT EDIT", "generated by
    /// apply-templates.sh"); by default their findings are reported and they are left
    /// unchanged, as the next generation would undo the fixes.
    #[arg(long)]
    pub fix_generated: bool,

    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Diff)]
    pub format: Format,

    /// Colour the summary on stderr: `auto` on a terminal unless NO_COLOR is set.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorArg::Auto)]
    pub color: ColorArg,

    /// Build context for checking ADD sources (default: each Dockerfile's directory).
    #[arg(long, value_name = "DIR")]
    pub context: Option<PathBuf>,

    /// The user non-root-user creates when the image has none to switch to, or switches to
    /// when the distro has it already (`www-data`, `nobody`) [default: app].
    #[arg(long, value_name = "NAME", value_parser = user_name)]
    pub user_name: Option<String>,

    /// UID of that user, and GID of its group unless --group-id says otherwise (not 0)
    /// [default: 10001].
    #[arg(long, value_name = "ID", value_parser = clap::value_parser!(u32).range(1..=4_294_967_294))]
    pub user_id: Option<u32>,

    /// GID of that user's group (not 0) [default: the UID].
    #[arg(long, value_name = "ID", value_parser = clap::value_parser!(u32).range(1..=4_294_967_294))]
    pub group_id: Option<u32>,

    /// Where env-secrets moves secrets that a RUN needs at build time [default: file].
    #[arg(long, value_name = "MODE", value_parser = secret_mode())]
    pub secrets: Option<SecretMode>,

    /// Settings file to use for every Dockerfile, instead of the nearest dockfix.toml
    /// above each one.
    #[arg(long, value_name = "PATH", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,

    /// Ignore dockfix.toml files: defaults and the command line only.
    #[arg(long)]
    pub no_config: bool,

    /// Also warn about `# dockfix: ignore=` comments that suppress nothing (comments naming
    /// unknown transforms are always warned about).
    #[arg(long)]
    pub warn_unused_suppressions: bool,

    /// How pin-images pins: `tag` floating tags to version tags (default), `digest` also adds
    /// the multi-platform digest, `none` leaves images alone. Naming it (here or as
    /// `[pin-images] mode` in dockfix.toml) makes a failed lookup an error (exit 2).
    #[arg(long, value_name = "MODE", value_parser = pin_mode())]
    pub pin: Option<PinMode>,

    /// Ask no registry: pin-images reports each unpinned image and edits nothing, and base
    /// images' facts come only from --facts-file and the cache (for the whole run, whatever
    /// dockfix.toml says).
    #[arg(long)]
    pub offline: bool,

    /// The platform the images are built for, OS/ARCH[/VARIANT]: which image of a
    /// multi-platform base the facts are read from; replaces dockfix.toml's
    /// `[image-facts] platform` [default: linux/amd64].
    #[arg(long, value_name = "OS/ARCH", value_parser = platform)]
    pub platform: Option<String>,

    /// Facts about base images from this file (written by `dockfix facts --write`), used
    /// before the cache and the registry; replaces dockfix.toml's `[image-facts] facts-file`.
    #[arg(long, value_name = "FILE")]
    pub facts_file: Option<PathBuf>,

    /// Refresh digests already written to what their tag points to now.
    #[arg(long)]
    pub update: bool,

    #[command(flatten)]
    pub registry: RegistryArgs,

    /// Decline files larger than this, without reading them (bytes; K, M and G suffixes
    /// count 1024s).
    #[arg(long, value_name = "SIZE", default_value = "10M", value_parser = byte_size)]
    pub max_file_size: u64,

    /// Prove each changed file's fixes: build the original and the fixed file, check the fixed
    /// image (builds, non-root user that resolves, no setuid files, smoke run) and retry
    /// without a fix that fails a check. Exit 2 when a verification fails.
    #[arg(long, help_heading = "Verification")]
    pub verify: bool,

    /// With --verify --write: also write files whose fixed version failed to verify.
    #[arg(long, requires = "verify", help_heading = "Verification")]
    pub keep_unverified: bool,

    /// The builder for --verify [default: the first that works of docker (buildx), podman,
    /// buildah].
    #[arg(long, value_enum, value_name = "NAME", requires = "verify", help_heading = "Verification")]
    pub builder: Option<BuilderKind>,

    /// A build argument for --verify's builds (NAME or NAME=VALUE; repeatable).
    #[arg(long = "build-arg", value_name = "ARG", requires = "verify", help_heading = "Verification")]
    pub build_args: Vec<String>,

    /// A build secret for --verify's builds, from a file (ID=FILE; repeatable). Secrets that
    /// env-secrets' mounts name come from the environment variable they name, when set.
    #[arg(long = "build-secret", value_name = "ID=FILE", value_parser = build_secret, requires = "verify", help_heading = "Verification")]
    pub build_secrets: Vec<SecretSource>,

    /// The smoke run's command, run in both images and compared by exit status and output
    /// (a JSON array, or a shell command) [default: the final stage's HEALTHCHECK beside the
    /// start command, else the start command alone, for --verify-timeout seconds].
    #[arg(long, value_name = "CMD", requires = "verify", help_heading = "Verification")]
    pub verify_cmd: Option<String>,

    /// Seconds a smoke run may take; the start command must still run (or have exited as the
    /// original's) at the end of it.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600), help_heading = "Verification")]
    pub verify_timeout: u64,
}

/// `--build-secret ID=FILE`.
fn build_secret(text: &str) -> Result<SecretSource, String> {
    match text.split_once('=') {
        Some((id, path)) if !id.is_empty() && !path.is_empty() => {
            Ok(SecretSource::File { id: id.to_string(), path: PathBuf::from(path) })
        }
        _ => Err(format!("`{text}` is not ID=FILE")),
    }
}

fn user_name(name: &str) -> Result<String, String> {
    validate_user_name(name).map(|()| name.to_string())
}

/// `--secrets MODE`: the names `[env-secrets] mode` takes (`mount` hidden), each with its help.
fn secret_mode() -> impl TypedValueParser<Value = SecretMode> {
    PossibleValuesParser::new([
        PossibleValue::new("file").help(
            "A secret file mount that the RUN reads into the variable (Docker/BuildKit, buildah and \
             Podman 1.24+; no `# syntax=` directive)",
        ),
        PossibleValue::new("env").alias("mount").help(
            "`RUN --mount=type=secret,id=<id>,env=<NAME>` (BuildKit with dockerfile 1.10, added as a \
             `# syntax=` directive; recent buildah only). Also accepted as `mount`",
        ),
        PossibleValue::new("arg").help(
            "A value-less `ARG` filled by `--build-arg` (no BuildKit; the value shows in `docker history`)",
        ),
    ])
    .try_map(|name| config_value::<SecretMode>(&name))
}

/// `--pin MODE`: the names `[pin-images] mode` takes, each with its help.
fn pin_mode() -> impl TypedValueParser<Value = PinMode> {
    PossibleValuesParser::new([
        PossibleValue::new("tag")
            .help("Floating tags (none, `latest`, `alpine`) become the most specific version tag"),
        PossibleValue::new("digest").help("As `tag`, plus `@sha256:` of the multi-platform index"),
        PossibleValue::new("none").help("Leave image references alone"),
    ])
    .try_map(|name| config_value::<PinMode>(&name))
}

/// A flag's value read the way `dockfix.toml` reads the same setting, so that the two accept
/// the same names and mean the same by them.
fn config_value<'de, T: Deserialize<'de>>(name: &str) -> Result<T, serde::de::value::Error> {
    T::deserialize(name.to_string().into_deserializer())
}

/// `4096`, `512K`, `10M`, `1G`.
fn byte_size(text: &str) -> Result<u64, String> {
    let (digits, unit) = match text.char_indices().last() {
        Some((at, unit @ ('K' | 'k' | 'M' | 'm' | 'G' | 'g'))) => (&text[..at], Some(unit)),
        _ => (text, None),
    };
    let shift = match unit.map(|unit| unit.to_ascii_uppercase()) {
        Some('K') => 10,
        Some('M') => 20,
        Some('G') => 30,
        _ => 0,
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|count| count.checked_mul(1 << shift))
        .ok_or_else(|| format!("`{text}` is not a size: a number of bytes, optionally with K, M or G"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

impl ColorArg {
    pub fn choice(self) -> ColorChoice {
        match self {
            ColorArg::Auto => ColorChoice::Auto,
            ColorArg::Always => ColorChoice::Always,
            ColorArg::Never => ColorChoice::Never,
        }
    }
}
