//! What a run does to one file: the transforms and their options, from `dockfix.toml` with
//! the command line on top.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use dockfix_transforms::pin::{PinMode, PinOptions};
use dockfix_transforms::rules::env_secrets::{EnvSecretsConfig, SecretMode};
use dockfix_transforms::rules::non_root_user::NonRootUserConfig;
use dockfix_transforms::Options;
use dockfix_transforms::{rules, Rule};
use thiserror::Error;

use crate::config::{Config, ConfigError, ConfigFinder};
use crate::image_facts::cache::parse_platform;
use crate::image_facts::FactsSettings;
use crate::image_lookups::PinSettings;
use crate::registry::RegistryConfig;

/// What the command line says; `None` and empty lists leave the config's say.
#[derive(Debug, Clone, Default)]
pub struct CommandLine {
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub safe_only: bool,
    /// `--fix-generated`: apply fixes to files that say they are generated.
    pub fix_generated: bool,
    pub user_name: Option<String>,
    pub user_id: Option<u32>,
    pub group_id: Option<u32>,
    pub secrets_mode: Option<SecretMode>,
    pub pin: Option<PinMode>,
    pub update: bool,
    /// Run-wide: no config can turn it on or off.
    pub offline: bool,
    pub insecure_registries: Vec<String>,
    pub registry_mirrors: Vec<String>,
    pub registry_timeout: Option<u64>,
    /// `--platform OS/ARCH[/VARIANT]`, checked by the argument parser.
    pub platform: Option<String>,
    pub facts_file: Option<PathBuf>,
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
    /// What pin-images is asked to do, and how to reach registries. The options' `PinOptions` hold its
    /// mode and `update`; the registry answers are filled in once the run has looked up.
    pub pin: PinSettings,
    /// How base-image facts are learnt; the run sets the catalog in the options.
    pub facts: FactsSettings,
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
        // A config's facts file is named relative to the config.
        if let (None, Some(config_path), Some(path)) =
            (&self.command_line.facts_file, &config_path, &settings.facts.facts_file)
        {
            let dir = config_path.parent().filter(|dir| !dir.as_os_str().is_empty());
            settings.facts.facts_file = Some(dir.map_or_else(|| path.clone(), |dir| dir.join(path)));
        }
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

    let file = config.non_root_user.clone().unwrap_or_default();
    let invalid = |message: String| SettingsError::Invalid { origin: origin.to_string(), message };
    if let (None, Some(name)) = (&cli.user_name, &file.user_name) {
        validate_user_name(name).map_err(invalid)?;
    }
    let user = NonRootUserConfig {
        user_name: cli.user_name.clone().or(file.user_name),
        user_id: cli.user_id.or(file.user_id),
        group_id: cli.group_id.or(file.group_id),
    }
    .new_user();
    for (key, value, what) in [("user-id", user.id, "UID"), ("group-id", user.group_id, "GID")] {
        if value == 0 || value == u32::MAX {
            return Err(invalid(format!("{key} {value} is not a non-root {what} (1 to 4294967294)")));
        }
    }

    let file = config.env_secrets.clone().unwrap_or_default();
    let secrets = EnvSecretsConfig { mode: cli.secrets_mode.or(file.mode), ..file }
        .options()
        .map_err(|error| invalid(format!("[env-secrets] {error}")))?;

    let pin = pin_settings(config, cli, select.contains(&rules::pin_images::ID), origin)?;
    let facts = facts_settings(config, cli, &pin, origin)?;
    let options = Options {
        safe_only: cli.safe_only || config.safe_only.unwrap_or(false),
        fix_generated: cli.fix_generated || config.fix_generated.unwrap_or(false),
        ..Options::default()
    }
    .with(user)
    .with(secrets)
    // The registry answers are filled in by the run once it has looked images up.
    .with(PinOptions { mode: pin.mode, update: pin.update, ..Default::default() });
    Ok(Settings { rules, options, pin, facts, config: None })
}

/// `[image-facts]` with the command line on top; registries are reached as pin-images
/// reaches them.
fn facts_settings(
    config: &Config,
    cli: &CommandLine,
    pin: &PinSettings,
    origin: &str,
) -> Result<FactsSettings, SettingsError> {
    let file = config.image_facts.clone().unwrap_or_default();
    let written = cli.platform.clone().or(file.platform);
    let platform = match written {
        Some(text) => parse_platform(&text).ok_or_else(|| SettingsError::Invalid {
            origin: origin.to_string(),
            message: format!("[image-facts] platform `{text}` is not OS/ARCH[/VARIANT] (linux/amd64)"),
        })?,
        None => Default::default(),
    };
    Ok(FactsSettings {
        platform,
        facts_file: cli.facts_file.clone().or(file.facts_file),
        offline: cli.offline,
        registry: pin.registry.clone(),
    })
}

/// `[pin-images]` with the command line on top. `selected_by_name`: pin-images is in the
/// selection that applies (`--select`, else the config's `select`).
fn pin_settings(
    config: &Config,
    cli: &CommandLine,
    selected_by_name: bool,
    origin: &str,
) -> Result<PinSettings, SettingsError> {
    let file = config.pin_images.clone().unwrap_or_default();
    let invalid = |message: String| SettingsError::Invalid { origin: origin.to_string(), message };
    let default_timeout = RegistryConfig::default().timeout.as_secs();
    let timeout = cli.registry_timeout.or(file.timeout_seconds).unwrap_or(default_timeout);
    if !(1..=600).contains(&timeout) {
        return Err(invalid(format!("[pin-images] timeout-seconds {timeout}: 1 to 600 seconds")));
    }
    for (key, hosts) in
        [("registry-mirrors", &file.registry_mirrors), ("insecure-registries", &file.insecure_registries)]
    {
        if let Some(bad) =
            hosts.iter().flatten().find(|host| host.is_empty() || host.contains(char::is_whitespace))
        {
            return Err(invalid(format!("[pin-images] {key}: `{bad}` is not a registry host (HOST[:PORT])")));
        }
    }
    let mirrors = if cli.registry_mirrors.is_empty() {
        file.registry_mirrors.unwrap_or_default()
    } else {
        cli.registry_mirrors.clone()
    };
    let mut insecure = file.insecure_registries.unwrap_or_default();
    insecure.extend(
        cli.insecure_registries.iter().filter(|host| !insecure.contains(host)).cloned().collect::<Vec<_>>(),
    );
    Ok(PinSettings {
        mode: cli.pin.or(file.mode).unwrap_or_default(),
        update: cli.update || file.update.unwrap_or(false),
        offline: cli.offline,
        registry: RegistryConfig {
            timeout: Duration::from_secs(timeout),
            insecure,
            mirrors,
            docker_config: None,
        },
        explicit: cli.pin.is_some() || file.mode.is_some() || selected_by_name,
    })
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
    use dockfix_transforms::rules::non_root_user::NewUser;

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
            *settings.options.get::<NewUser>(),
            NewUser { name: "svc".into(), id: 3000, group_id: 3000, ids_chosen: true }
        );
        let with_group = config("[non-root-user]\nuser-id = 2000\ngroup-id = 500\n");
        let settings = combine(&with_group, &CommandLine::default(), "dockfix.toml").expect("valid");
        assert_eq!(
            (settings.options.get::<NewUser>().id, settings.options.get::<NewUser>().group_id),
            (2000, 500)
        );
        let cli = CommandLine { group_id: Some(700), ..CommandLine::default() };
        let settings = combine(&with_group, &cli, "dockfix.toml").expect("valid");
        assert_eq!(
            (settings.options.get::<NewUser>().id, settings.options.get::<NewUser>().group_id),
            (2000, 700)
        );

        let cli = CommandLine { select: vec!["env-secrets".into()], ..CommandLine::default() };
        let settings = combine(&file, &cli, "dockfix.toml").expect("valid");
        assert_eq!(settings.rules.iter().map(|rule| rule.id()).collect::<Vec<_>>(), ["env-secrets"]);
    }

    #[test]
    fn pin_settings_come_from_the_file_with_flags_on_top() {
        let file = config(
            "[pin-images]\nmode = \"digest\"\nupdate = true\nregistry-mirrors = [\"m1\", \"m2\"]\ninsecure-registries = [\"r:5000\"]\ntimeout-seconds = 7\n",
        );
        let pin = combine(&file, &CommandLine::default(), "dockfix.toml").expect("valid").pin;
        assert_eq!((pin.mode, pin.update, pin.explicit, pin.offline), (PinMode::Digest, true, true, false));
        assert_eq!(pin.registry.mirrors, ["m1", "m2"]);
        assert_eq!(pin.registry.insecure, ["r:5000"]);
        assert_eq!(pin.registry.timeout, Duration::from_secs(7));

        let cli = CommandLine {
            pin: Some(PinMode::None),
            offline: true,
            registry_mirrors: vec!["m3".into()],
            insecure_registries: vec!["r:5000".into(), "q:1".into()],
            registry_timeout: Some(3),
            ..CommandLine::default()
        };
        let settings = combine(&file, &cli, "dockfix.toml").expect("valid");
        let pin = settings.pin;
        assert_eq!((pin.mode, pin.update, pin.offline), (PinMode::None, true, true));
        assert_eq!(pin.registry.mirrors, ["m3"], "the flag's mirrors replace the file's");
        assert_eq!(pin.registry.insecure, ["r:5000", "q:1"], "insecure hosts add up, once each");
        assert_eq!(pin.registry.timeout, Duration::from_secs(3));
        assert_eq!(settings.options.get::<PinOptions>().mode, PinMode::None, "the engine gets the mode too");
    }

    #[test]
    fn pinning_is_explicit_when_a_mode_or_the_transform_is_named() {
        let explicit =
            |text: &str, cli: CommandLine| combine(&config(text), &cli, "x").expect("valid").pin.explicit;
        assert!(!explicit("", CommandLine::default()));
        assert!(!explicit("[pin-images]\nupdate = true\n", CommandLine::default()));
        assert!(explicit("[pin-images]\nmode = \"tag\"\n", CommandLine::default()));
        assert!(explicit("select = [\"DL3006\"]\n", CommandLine::default()), "by its alias");
        assert!(explicit("", CommandLine { pin: Some(PinMode::Tag), ..CommandLine::default() }));
        let select = CommandLine { select: vec!["pin-images".into()], ..CommandLine::default() };
        assert!(explicit("", select));
        let other = CommandLine { select: vec!["add-to-copy".into()], ..CommandLine::default() };
        assert!(!explicit("select = [\"pin-images\"]\n", other), "--select replaces the file's select");
        let defaults = combine(&Config::default(), &CommandLine::default(), "defaults").expect("valid").pin;
        assert_eq!(defaults, PinSettings::default(), "the defaults are the registry client's");
    }

    #[test]
    fn facts_settings_come_from_the_file_with_flags_on_top() {
        let file = config("[image-facts]\nplatform = \"linux/arm64/v8\"\nfacts-file = \"facts.json\"\n[pin-images]\ntimeout-seconds = 7\n");
        let facts = combine(&file, &CommandLine::default(), "dockfix.toml").expect("valid").facts;
        assert_eq!(facts.platform.to_string(), "linux/arm64/v8");
        assert_eq!(facts.facts_file, Some(PathBuf::from("facts.json")));
        assert_eq!(
            facts.registry.timeout,
            Duration::from_secs(7),
            "registries are reached as pin-images reaches them"
        );
        let cli = CommandLine {
            platform: Some("linux/amd64".into()),
            facts_file: Some(PathBuf::from("other.json")),
            offline: true,
            ..CommandLine::default()
        };
        let facts = combine(&file, &cli, "dockfix.toml").expect("valid").facts;
        assert_eq!((facts.platform.to_string().as_str(), facts.offline), ("linux/amd64", true));
        assert_eq!(facts.facts_file, Some(PathBuf::from("other.json")));
        let defaults = combine(&Config::default(), &CommandLine::default(), "defaults").expect("valid").facts;
        assert_eq!(defaults.platform.to_string(), "linux/amd64");
        let error = error_of("[image-facts]\nplatform = \"amd64\"\n", "dockfix.toml");
        assert!(error.contains("[image-facts] platform `amd64` is not OS/ARCH"), "{error}");
    }

    #[test]
    fn a_config_names_its_facts_file_relative_to_itself() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sub = dir.path().join("sub");
        std::fs::create_dir_all(&sub).expect("dir");
        std::fs::write(sub.join("dockfix.toml"), "[image-facts]\nfacts-file = \"facts.json\"\n")
            .expect("write");
        let mut resolver = Resolver::new(ConfigSource::Nearest, CommandLine::default());
        let settings = resolver.for_dir(&sub).expect("valid");
        assert_eq!(settings.facts.facts_file.as_deref().map(|p| p.ends_with("sub/facts.json")), Some(true));
    }

    /// The error `combine` gives for a config `text` read from `path`.
    fn error_of(text: &str, path: &str) -> String {
        combine(&config(text), &CommandLine::default(), path).err().expect(text).to_string()
    }

    #[test]
    fn bad_values_in_the_file_name_it() {
        let error = error_of("ignore = [\"DL9999\"]\n", "x/dockfix.toml");
        assert!(error.starts_with("x/dockfix.toml: unknown transform `DL9999`"), "{error}");
        let error = error_of("[non-root-user]\nuser-name = \"Root\"\n", "dockfix.toml");
        assert!(error.contains("user name `Root`"), "{error}");
        let error = error_of("[non-root-user]\ngroup-id = 0\n", "dockfix.toml");
        assert!(error.contains("group-id 0 is not a non-root GID"), "{error}");
        let error = error_of("[env-secrets]\nextra-names = [\"(\"]\n", "dockfix.toml");
        assert!(error.starts_with("dockfix.toml: [env-secrets] extra-names: `(`"), "{error}");
        for (text, message) in [
            ("[pin-images]\ntimeout-seconds = 0\n", "[pin-images] timeout-seconds 0: 1 to 600 seconds"),
            ("[pin-images]\nregistry-mirrors = [\"\"]\n", "[pin-images] registry-mirrors: `` is not"),
            (
                "[pin-images]\ninsecure-registries = [\"a b\"]\n",
                "[pin-images] insecure-registries: `a b` is not",
            ),
        ] {
            let error = error_of(text, "p/dockfix.toml");
            assert!(error.starts_with(&format!("p/dockfix.toml: {message}")), "{error}");
        }
    }
}
