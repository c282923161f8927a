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
//!
//! [env-secrets]
//! mode = "mount"                               # mount | file | arg
//! extra-names = ["SENTRY_DSN", "MY_.*_CRED"]   # regexes over whole names, any case
//! allow-names = ["BUILD_KEY_ALGO"]             # never secrets
//! ```
//!
//! Unknown keys are errors that name the file and line: a typo must not silently turn a
//! setting off. Command-line flags win over the file.

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
}

/// Settings of the `non-root-user` transform.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NonRootUserConfig {
    /// The user to create when the image has none to switch to (default `app`).
    pub user_name: Option<String>,
    /// UID and GID of that user (default 10001; not 0).
    #[schemars(range(min = 1, max = 4_294_967_294u32))]
    pub user_id: Option<u32>,
}

/// Settings of the `env-secrets` transform.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EnvSecretsConfig {
    /// Where secrets that a RUN needs at build time go (default `mount`).
    pub mode: Option<SecretModeConfig>,
    /// Extra variable names that hold secrets: regular expressions matched against the whole
    /// name, ignoring case.
    pub extra_names: Option<Vec<String>>,
    /// Variable names that never hold secrets, whatever their name or value looks like:
    /// regular expressions matched against the whole name, ignoring case.
    pub allow_names: Option<Vec<String>>,
}

/// `mount`: `RUN --mount=type=secret,env=NAME` (BuildKit, dockerfile 1.10+); `file`: a
/// secret file mount the RUN reads into the variable (older frontends, buildah); `arg`: a
/// value-less `ARG` filled by `--build-arg` (no BuildKit; the value shows in the history).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SecretModeConfig {
    Mount,
    File,
    Arg,
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
}

impl ConfigFinder {
    /// The nearest `dockfix.toml` at or above `dir` (made absolute first).
    pub fn nearest(&mut self, dir: &Path) -> Option<PathBuf> {
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        self.lookup(&dir)
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
"#;
        let config = Config::parse(text, Path::new("dockfix.toml")).expect("valid");
        assert_eq!(config.select.as_deref(), Some(&["non-root-user".to_string(), "DL3020".to_string()][..]));
        assert_eq!(config.safe_only, Some(true));
        assert_eq!(config.non_root_user.and_then(|user| user.user_id), Some(2000));
        assert_eq!(config.env_secrets.and_then(|secrets| secrets.mode), Some(SecretModeConfig::Arg));
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
