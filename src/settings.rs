//! What a run does to one file: the transforms and their options, from `dockfix.toml` with
//! the command line on top.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dockfix_transforms::engine::{NewUser, Options};
use dockfix_transforms::rules::env_secrets::{NamePatterns, SecretMode, SecretOptions};
use dockfix_transforms::{rules, Rule};
use thiserror::Error;

use crate::config::{Config, ConfigError, ConfigFinder, SecretModeConfig};

/// What the command line says; `None` and empty lists leave the config's say.
#[derive(Debug, Clone, Default)]
pub struct CommandLine {
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub safe_only: bool,
    pub user_name: Option<String>,
    pub user_id: Option<u32>,
    pub group_id: Option<u32>,
    pub secrets_mode: Option<SecretMode>,
}

/// Where settings come from.
#[derive(Debug, Clone)]
pub enum ConfigSource {
    /// The nearest `dockfix.toml` above each file.
    Nearest,
    /// One file for every Dockerfile (`--config PATH`).
    File(PathBuf),
    /// Defaults and the command line only (`--no-config`).
    None,
}

/// The transforms to run on a file and their options.
pub struct Settings {
    pub rules: Vec<&'static dyn Rule>,
    pub options: Options,
    /// The config file these came from, if any.
    pub config: Option<PathBuf>,
}

#[derive(Debug, Error)]
pub enum SettingsError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{origin}: unknown transform `{id}`; known: {known}")]
    UnknownTransform { origin: String, id: String, known: String },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
}

/// Resolves the settings of each file, reading each config file once.
pub struct Resolver {
    source: ConfigSource,
    command_line: CommandLine,
    finder: ConfigFinder,
    by_config: HashMap<Option<PathBuf>, Arc<Settings>>,
}

impl Resolver {
    pub fn new(source: ConfigSource, command_line: CommandLine) -> Resolver {
        Resolver { source, command_line, finder: ConfigFinder::default(), by_config: HashMap::new() }
    }

    /// The settings for a Dockerfile in `dir` (stdin: the current directory).
    pub fn for_dir(&mut self, dir: &Path) -> Result<Arc<Settings>, SettingsError> {
        let config_path = match &self.source {
            ConfigSource::Nearest => self.finder.nearest(dir),
            ConfigSource::File(path) => Some(path.clone()),
            ConfigSource::None => None,
        };
        if let Some(settings) = self.by_config.get(&config_path) {
            return Ok(settings.clone());
        }
        let config = match &config_path {
            Some(path) => Config::load(path)?,
            None => Config::default(),
        };
        let origin = config_path.as_ref().map_or_else(|| "defaults".to_string(), |p| p.display().to_string());
        let mut settings = combine(&config, &self.command_line, &origin)?;
        settings.config = config_path.clone();
        let settings = Arc::new(settings);
        self.by_config.insert(config_path, settings.clone());
        Ok(settings)
    }
}

/// The config file's settings with the command line's on top.
pub fn combine(config: &Config, cli: &CommandLine, origin: &str) -> Result<Settings, SettingsError> {
    let (select, select_origin) = match (cli.select.is_empty(), &config.select) {
        (true, Some(select)) => (select.clone(), origin),
        _ => (cli.select.clone(), "--select"),
    };
    let (ignore, ignore_origin) = match (cli.ignore.is_empty(), &config.ignore) {
        (true, Some(ignore)) => (ignore.clone(), origin),
        _ => (cli.ignore.clone(), "--ignore"),
    };
    let select = transform_ids(&select, select_origin)?;
    let ignore = transform_ids(&ignore, ignore_origin)?;
    let rules = rules::all()
        .iter()
        .copied()
        .filter(|rule| select.is_empty() || select.contains(&rule.id()))
        .filter(|rule| !ignore.contains(&rule.id()))
        .collect();

    let user = config.non_root_user.clone().unwrap_or_default();
    let defaults = NewUser::default();
    let name = match (&cli.user_name, user.user_name) {
        (Some(name), _) => name.clone(),
        (None, Some(name)) => {
            validate_user_name(&name)
                .map_err(|message| SettingsError::Invalid { origin: origin.to_string(), message })?;
            name
        }
        (None, None) => defaults.name,
    };
    let chosen_id = cli.user_id.or(user.user_id);
    let id = chosen_id.unwrap_or(defaults.id);
    let chosen_group_id = cli.group_id.or(user.group_id);
    let group_id = chosen_group_id.unwrap_or(id);
    for (key, value, what) in [("user-id", id, "UID"), ("group-id", group_id, "GID")] {
        if value == 0 || value == u32::MAX {
            return Err(SettingsError::Invalid {
                origin: origin.to_string(),
                message: format!("{key} {value} is not a non-root {what} (1 to 4294967294)"),
            });
        }
    }
    let ids_chosen = chosen_id.is_some() || chosen_group_id.is_some();

    let secrets = config.env_secrets.clone().unwrap_or_default();
    let mode = cli.secrets_mode.unwrap_or(match secrets.mode {
        Some(SecretModeConfig::Mount) | None => SecretMode::Mount,
        Some(SecretModeConfig::File) => SecretMode::File,
        Some(SecretModeConfig::Arg) => SecretMode::Arg,
    });
    let patterns = |list: Option<Vec<String>>, key: &str| {
        NamePatterns::compile(&list.unwrap_or_default()).map_err(|error| SettingsError::Invalid {
            origin: origin.to_string(),
            message: format!("[env-secrets] {key}: {error}"),
        })
    };
    let secrets = SecretOptions {
        mode,
        extra_names: patterns(secrets.extra_names, "extra-names")?,
        allowed_names: patterns(secrets.allow_names, "allow-names")?,
    };

    let options = Options {
        safe_only: cli.safe_only || config.safe_only.unwrap_or(false),
        new_user: NewUser { name, id, group_id, ids_chosen },
        secrets,
        // The registry answers are filled in by the run once it has looked images up.
        pin: Default::default(),
    };
    Ok(Settings { rules, options, config: None })
}

fn transform_ids(ids: &[String], origin: &str) -> Result<Vec<&'static str>, SettingsError> {
    ids.iter()
        .map(|id| id.trim())
        .filter(|id| !id.is_empty())
        .map(|id| match rules::by_id(id) {
            Some(rule) => Ok(rule.id()),
            None => Err(SettingsError::UnknownTransform {
                origin: origin.to_string(),
                id: id.to_string(),
                known: known_ids(),
            }),
        })
        .collect()
}

/// Every transform id, comma-separated, for error messages.
pub fn known_ids() -> String {
    rules::all().iter().map(|rule| rule.id()).collect::<Vec<_>>().join(", ")
}

/// A portable user name, as `useradd` and BusyBox `adduser` accept it.
pub fn validate_user_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if first_ok && rest_ok && name.len() <= 32 && name != "root" {
        return Ok(());
    }
    Err(format!("user name `{name}`: a user name is 1 to 32 characters: a lower-case letter or `_`, then lower-case letters, digits, `_` or `-` (and not `root`)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        Config::parse(text, Path::new("dockfix.toml")).expect("valid config")
    }

    #[test]
    fn the_command_line_wins_over_the_file() {
        let file =
            config("select = [\"add-to-copy\"]\n[non-root-user]\nuser-name = \"svc\"\nuser-id = 2000\n");
        let cli = CommandLine { user_id: Some(3000), ..CommandLine::default() };
        let settings = combine(&file, &cli, "dockfix.toml").expect("valid");
        assert_eq!(settings.rules.iter().map(|rule| rule.id()).collect::<Vec<_>>(), ["add-to-copy"]);
        assert_eq!(
            settings.options.new_user,
            NewUser { name: "svc".into(), id: 3000, group_id: 3000, ids_chosen: true }
        );
        let with_group = config("[non-root-user]\nuser-id = 2000\ngroup-id = 500\n");
        let settings = combine(&with_group, &CommandLine::default(), "dockfix.toml").expect("valid");
        assert_eq!((settings.options.new_user.id, settings.options.new_user.group_id), (2000, 500));
        let cli = CommandLine { group_id: Some(700), ..CommandLine::default() };
        let settings = combine(&with_group, &cli, "dockfix.toml").expect("valid");
        assert_eq!((settings.options.new_user.id, settings.options.new_user.group_id), (2000, 700));

        let cli = CommandLine { select: vec!["env-secrets".into()], ..CommandLine::default() };
        let settings = combine(&file, &cli, "dockfix.toml").expect("valid");
        assert_eq!(settings.rules.iter().map(|rule| rule.id()).collect::<Vec<_>>(), ["env-secrets"]);
    }

    #[test]
    fn bad_values_in_the_file_name_it() {
        let error = combine(&config("ignore = [\"DL9999\"]\n"), &CommandLine::default(), "x/dockfix.toml")
            .err()
            .expect("unknown id");
        assert!(error.to_string().starts_with("x/dockfix.toml: unknown transform `DL9999`"), "{error}");
        let error = combine(
            &config("[non-root-user]\nuser-name = \"Root\"\n"),
            &CommandLine::default(),
            "dockfix.toml",
        )
        .err()
        .expect("bad name");
        assert!(error.to_string().contains("user name `Root`"), "{error}");
        let error =
            combine(&config("[non-root-user]\ngroup-id = 0\n"), &CommandLine::default(), "dockfix.toml")
                .err()
                .expect("root group");
        assert!(error.to_string().contains("group-id 0 is not a non-root GID"), "{error}");
        let error = combine(
            &config("[env-secrets]\nextra-names = [\"(\"]\n"),
            &CommandLine::default(),
            "dockfix.toml",
        )
        .err()
        .expect("bad regex");
        assert!(error.to_string().starts_with("dockfix.toml: [env-secrets] extra-names: `(`"), "{error}");
    }
}
