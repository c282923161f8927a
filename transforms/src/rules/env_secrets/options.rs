//! The options of `env-secrets` (`[env-secrets]` in `dockfix.toml`, `--secrets` on the command
//! line): where build-time secrets go, and which names hold secrets besides the built-in rules.

use regex::Regex;
use schemars::JsonSchema;
use serde::Deserialize;
use thiserror::Error;

/// `file` (default): a secret file mount the RUN reads into the variable (Docker/BuildKit,
/// buildah and Podman 1.24+, no `# syntax=` directive); `env`:
/// `RUN --mount=type=secret,env=NAME` (BuildKit with dockerfile 1.10, recent buildah only);
/// `mount`: the earlier name of `env`, still accepted; `arg`: a value-less `ARG` filled by
/// `--build-arg` (no secret mounts; the value shows in the history).
//
// Where a secret that a `RUN` needs at build time goes. Read from the names in
// `SecretModeName`; the schema has called it `SecretModeConfig` since it was first published.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(from = "SecretModeName")]
#[schemars(rename = "SecretModeConfig")]
pub enum SecretMode {
    /// `RUN --mount=type=secret,id=<id>` and the command reads `/run/secrets/<id>` into the
    /// variable: what Docker (BuildKit, any Dockerfile frontend since 1.2) and buildah/Podman
    /// 1.24 or later all build, with no `# syntax=` directive.
    #[default]
    File,
    /// `RUN --mount=type=secret,id=<id>,env=<NAME>`: shorter, but needs the dockerfile 1.10
    /// frontend (a `# syntax=` directive that BuildKit pulls at build time) and a buildah
    /// recent enough to know `env=`.
    Env,
    /// A value-less `ARG NAME`, the value coming from `--build-arg`: for builders without
    /// secret mounts. `docker history` records build arguments, so the value still leaks.
    Arg,
}

/// The names a [`SecretMode`] is written as. Not `SecretMode` itself, because the old name
/// `mount` must stay accepted *and* listed in the schema, and schemars leaves serde aliases
/// out.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
enum SecretModeName {
    File,
    Env,
    /// The earlier name of `env`: configs written when it was the default keep working.
    Mount,
    Arg,
}

impl From<SecretModeName> for SecretMode {
    fn from(name: SecretModeName) -> SecretMode {
        match name {
            SecretModeName::File => SecretMode::File,
            SecretModeName::Env | SecretModeName::Mount => SecretMode::Env,
            SecretModeName::Arg => SecretMode::Arg,
        }
    }
}

/// Settings of the `env-secrets` transform.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EnvSecretsConfig {
    /// Where secrets that a RUN needs at build time go (default `file`).
    pub mode: Option<SecretMode>,
    /// Extra variable names that hold secrets: regular expressions matched against the whole
    /// name, ignoring case.
    pub extra_names: Option<Vec<String>>,
    /// Variable names that never hold secrets, whatever their name or value looks like:
    /// regular expressions matched against the whole name, ignoring case.
    pub allow_names: Option<Vec<String>>,
}

/// A name pattern of `[env-secrets]` that is not a regular expression, with its key.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{key}: {error}")]
pub struct InvalidNamePattern {
    pub key: &'static str,
    pub error: PatternError,
}

impl EnvSecretsConfig {
    /// The options these settings give, the patterns compiled.
    pub fn options(&self) -> Result<SecretOptions, InvalidNamePattern> {
        let compile = |patterns: &Option<Vec<String>>, key| {
            NamePatterns::compile(patterns.as_deref().unwrap_or_default())
                .map_err(|error| InvalidNamePattern { key, error })
        };
        Ok(SecretOptions {
            mode: self.mode.unwrap_or_default(),
            extra_names: compile(&self.extra_names, "extra-names")?,
            allowed_names: compile(&self.allow_names, "allow-names")?,
        })
    }
}

/// env-secrets' settings as a run uses them.
#[derive(Debug, Clone, Default)]
pub struct SecretOptions {
    pub mode: SecretMode,
    /// Names that hold secrets besides the built-in rules.
    pub extra_names: NamePatterns,
    /// Names that never hold secrets, whatever the rules and values say.
    pub allowed_names: NamePatterns,
}

/// Regular expressions matched against whole variable names, ignoring case.
#[derive(Debug, Clone, Default)]
pub struct NamePatterns(Vec<Regex>);

#[derive(Debug, Error, PartialEq, Eq)]
#[error("`{pattern}` is not a valid regular expression: {reason}")]
pub struct PatternError {
    pub pattern: String,
    pub reason: String,
}

impl NamePatterns {
    pub fn compile(patterns: &[String]) -> Result<NamePatterns, PatternError> {
        patterns
            .iter()
            .map(|pattern| {
                Regex::new(&format!("(?i)^(?:{pattern})$"))
                    .map_err(|error| PatternError { pattern: pattern.clone(), reason: error.to_string() })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(NamePatterns)
    }

    pub(super) fn matches(&self, name: &str) -> bool {
        self.0.iter().any(|pattern| pattern.is_match(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_pattern_names_its_key() {
        let config = EnvSecretsConfig { allow_names: Some(vec!["(".into()]), ..EnvSecretsConfig::default() };
        let error = config.options().expect_err("invalid");
        assert_eq!(error.key, "allow-names");
        assert!(
            error.to_string().starts_with("allow-names: `(` is not a valid regular expression"),
            "{error}"
        );
    }
}
