//! `dockfix.toml`: per-project settings, found by walking up from each Dockerfile.
//!
//! ```toml
//! select = ["non-root-user", "add-to-copy"]   # default: every transform
//! ignore = ["DL3020"]                          # ids or hadolint codes
//! safe-only = false
//!
//! [non-root-user]
//! user-name = "app"
//! user-id = 10001
//! group-id = 10001                             # default: the UID
//!
//! [env-secrets]
//! mode = "file"                                # file | env | arg (`mount`: old name of env)
//! extra-names = ["SENTRY_DSN", "MY_.*_CRED"]   # regexes over whole names, any case
//! allow-names = ["BUILD_KEY_ALGO"]             # never secrets
//!
//! [pin-images]
//! mode = "digest"                              # tag | digest | none
//! update = false                               # refresh digests already written
//! registry-mirrors = ["mirror.example:5000"]   # Docker Hub mirrors, asked first
//! insecure-registries = ["registry.lan:5000"]  # plain HTTP
//! timeout-seconds = 20                         # per registry request
//! ```
//!
//! Unknown keys are errors that name the file and line: a typo must not silently turn a
//! setting off. Command-line flags win over the file: a flag's value replaces the file's,
//! except `--insecure-registry`, whose hosts are added to the file's `insecure-registries`
//! (a host speaks plain HTTP whoever says so), and the switches (`--safe-only`, `--update`),
//! which can only turn a setting on. `--offline` has no key: it is about the run, not the
//! project.
//!
//! Each file gets the pin settings of its own config. Registry lookups are made before any
//! file is fixed, each reference once per distinct way of reaching registries (mirrors,
//! insecure hosts, timeout): files whose configs agree on those share the lookups, files
//! whose configs differ are looked up with their own. `mode = "none"` means no lookups for
//! the files it governs. A failed lookup is an error (exit 2) when a file that needed it asked
//! for pinning by name: a `mode` in its config or `--pin`, or `pin-images` in its `select` or
//! `--select`; otherwise it is a finding.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;
use thiserror::Error;

/// The file name looked for in each directory from the Dockerfile's up to the root.
pub const CONFIG_FILE_NAME: &str = "dockfix.toml";

/// The contents of a `dockfix.toml`. Every field is optional: absent means the default (or
/// what the command line says).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(title = "dockfix.toml", description = "Settings for dockfix, the Dockerfile hardener")]
pub struct Config {
    /// Run only these transforms (ids such as `add-to-copy`, or hadolint codes such as `DL3020`).
    pub select: Option<Vec<String>>,
    /// Skip these transforms (ids or hadolint codes).
    pub ignore: Option<Vec<String>>,
    /// Apply only fixes that cannot change behaviour.
    pub safe_only: Option<bool>,
    #[serde(rename = "non-root-user")]
    pub non_root_user: Option<NonRootUserConfig>,
    #[serde(rename = "env-secrets")]
    pub env_secrets: Option<EnvSecretsConfig>,
    #[serde(rename = "pin-images")]
    pub pin_images: Option<PinImagesConfig>,
}

/// Settings of the `non-root-user` transform.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NonRootUserConfig {
    /// The user to create when the image has none to switch to (default `app`).
    pub user_name: Option<String>,
    /// UID of that user, and GID of its group unless `group-id` is set (default 10001; not 0).
    #[schemars(range(min = 1, max = 4_294_967_294u32))]
    pub user_id: Option<u32>,
    /// GID of that user's group (default: the UID; not 0).
    #[schemars(range(min = 1, max = 4_294_967_294u32))]
    pub group_id: Option<u32>,
}

/// Settings of the `env-secrets` transform.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EnvSecretsConfig {
    /// Where secrets that a RUN needs at build time go (default `file`).
    pub mode: Option<SecretModeConfig>,
    /// Extra variable names that hold secrets: regular expressions matched against the whole
    /// name, ignoring case.
    pub extra_names: Option<Vec<String>>,
    /// Variable names that never hold secrets, whatever their name or value looks like:
    /// regular expressions matched against the whole name, ignoring case.
    pub allow_names: Option<Vec<String>>,
}

/// `file` (default): a secret file mount the RUN reads into the variable (Docker/BuildKit,
/// buildah and Podman 1.24+, no `# syntax=` directive); `env`:
/// `RUN --mount=type=secret,env=NAME` (BuildKit with dockerfile 1.10, recent buildah only);
/// `mount`: the earlier name of `env`, still accepted; `arg`: a value-less `ARG` filled by
/// `--build-arg` (no secret mounts; the value shows in the history).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SecretModeConfig {
    File,
    Env,
    /// The earlier name of `env`: configs written when it was the default keep working.
    Mount,
    Arg,
}

/// Settings of the `pin-images` transform and of the registry lookups it needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PinImagesConfig {
    /// How to pin (default `tag`). Naming a mode here, like `--pin`, makes a failed registry
    /// lookup for the files this config governs an error (exit 2).
    pub mode: Option<PinModeConfig>,
    /// Refresh digests already written to what their tag points to now (default false).
    pub update: Option<bool>,
    /// Docker Hub mirrors (`HOST[:PORT]`, or an `http(s)://` URL), asked in order before
    /// Docker Hub. `--registry-mirror` replaces this list.
    pub registry_mirrors: Option<Vec<String>>,
    /// Registries (`HOST[:PORT]`) spoken to over plain HTTP, not HTTPS. Hosts named by
    /// `--insecure-registry` are added to these.
    pub insecure_registries: Option<Vec<String>>,
    /// Seconds a registry request may take (connect, and each read; default 20).
    #[schemars(range(min = 1, max = 600))]
    pub timeout_seconds: Option<u64>,
}

/// `tag`: floating tags become version tags; `digest`: also `@sha256:` of the multi-platform
/// index; `none`: images are left alone and no registry is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PinModeConfig {
    Tag,
    Digest,
    None,
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid { path: String, line: usize, column: usize, message: String },
}

impl Config {
    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
        Config::parse(&text, path)
    }

    /// Parses config text; `path` names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|error| {
            let offset = error.span().map_or(0, |span| span.start);
            let (line, column) = line_and_column(text, offset);
            ConfigError::Invalid {
                path: path.display().to_string(),
                line,
                column,
                message: error.message().trim().to_string(),
            }
        })
    }

    /// The JSON Schema of the file, for editors (`schema/dockfix.toml.schema.json`).
    pub fn json_schema() -> String {
        let schema = schemars::schema_for!(Config);
        // A schema of plain structs: serialization cannot fail.
        serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
    }
}

/// 1-based line and column of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |last| last.chars().count()) + 1;
    (line, column)
}

/// Finds each directory's nearest `dockfix.toml`, remembering what it found for the
/// directories above the last one asked about: files come in depth-first order, so siblings
/// and subdirectories read each config once, and memory does not grow with the number of
/// directories.
#[derive(Default)]
pub struct ConfigFinder {
    /// Each directory from the top down to the last one looked up, with its nearest config.
    chain: Vec<(PathBuf, Option<PathBuf>)>,
    /// The current directory, asked for once.
    cwd: std::sync::OnceLock<Option<PathBuf>>,
}

impl ConfigFinder {
    /// The nearest `dockfix.toml` at or above `dir` (made absolute first).
    /// Below the current directory it is named relative to it, as the Dockerfiles are.
    pub fn nearest(&mut self, dir: &Path) -> Option<PathBuf> {
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        let found = self.lookup(&dir)?;
        let cwd = self.cwd.get_or_init(|| std::env::current_dir().ok());
        let relative = cwd.as_deref().and_then(|cwd| found.strip_prefix(cwd).ok());
        Some(relative.map_or(found.clone(), Path::to_path_buf))
    }

    fn lookup(&mut self, dir: &Path) -> Option<PathBuf> {
        while self.chain.last().is_some_and(|(known, _)| !dir.starts_with(known)) {
            self.chain.pop();
        }
        if let Some((known, found)) = self.chain.last() {
            if known == dir {
                return found.clone();
            }
        }
        let candidate = dir.join(CONFIG_FILE_NAME);
        let found =
            if candidate.is_file() { Some(candidate) } else { dir.parent().and_then(|up| self.lookup(up)) };
        self.chain.push((dir.to_path_buf(), found.clone()));
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_config_parses() {
        let text = r#"
select = ["non-root-user", "DL3020"]
safe-only = true
[non-root-user]
user-name = "svc"
user-id = 2000
[env-secrets]
mode = "arg"
extra-names = ["SENTRY_DSN"]
allow-names = ["BUILD_KEY_ALGO"]
[pin-images]
mode = "digest"
update = true
registry-mirrors = ["mirror.example:5000"]
insecure-registries = ["registry.lan:5000"]
timeout-seconds = 5
"#;
        let config = Config::parse(text, Path::new("dockfix.toml")).expect("valid");
        assert_eq!(config.select.as_deref(), Some(&["non-root-user".to_string(), "DL3020".to_string()][..]));
        assert_eq!(config.safe_only, Some(true));
        assert_eq!(config.non_root_user.and_then(|user| user.user_id), Some(2000));
        assert_eq!(config.env_secrets.and_then(|secrets| secrets.mode), Some(SecretModeConfig::Arg));
        let pin = config.pin_images.expect("[pin-images]");
        assert_eq!(pin.mode, Some(PinModeConfig::Digest));
        assert_eq!(pin.update, Some(true));
        assert_eq!(pin.registry_mirrors, Some(vec!["mirror.example:5000".to_string()]));
        assert_eq!(pin.insecure_registries, Some(vec!["registry.lan:5000".to_string()]));
        assert_eq!(pin.timeout_seconds, Some(5));
    }

    #[test]
    fn pin_images_keys_are_checked_too() {
        let text = "[pin-images]\nmode = \"tag\"\nregistry-mirror = [\"m\"]\n";
        let error = Config::parse(text, Path::new("ci/dockfix.toml")).expect_err("typo");
        let message = error.to_string();
        assert!(message.starts_with("ci/dockfix.toml:3:1: unknown field `registry-mirror`"), "{message}");
        assert!(message.contains("registry-mirrors"), "names the expected keys: {message}");
        let error =
            Config::parse("[pin-images]\nmode = \"sha\"\n", Path::new("dockfix.toml")).expect_err("mode");
        assert!(error.to_string().starts_with("dockfix.toml:2:8: unknown variant `sha`"), "{error}");
        let error =
            Config::parse("[pin-images]\nupdate = \"yes\"\n", Path::new("dockfix.toml")).expect_err("type");
        assert!(error.to_string().starts_with("dockfix.toml:2:10: "), "{error}");
    }

    #[test]
    fn unknown_keys_name_the_file_and_line() {
        let text = "select = []\n\n[non-root-user]\nuser-nmae = \"svc\"\n";
        let error = Config::parse(text, Path::new("sub/dockfix.toml")).expect_err("typo");
        let message = error.to_string();
        assert!(message.starts_with("sub/dockfix.toml:4:1: unknown field `user-nmae`"), "{message}");
        assert!(message.contains("user-name"), "names the expected keys: {message}");
    }

    #[test]
    fn wrong_types_are_errors_too() {
        let error = Config::parse("safe-only = \"yes\"\n", Path::new("dockfix.toml")).expect_err("type");
        assert!(error.to_string().starts_with("dockfix.toml:1:13: "), "{error}");
    }

    #[test]
    fn line_and_column_count_characters() {
        assert_eq!(line_and_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_and_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_and_column("é\nx", 3), (2, 1));
    }
}
