//! The one place a transform asks what a stage's root base image is and what is known about
//! it, from where: facts read from the image itself ([`ImageCatalog`], handed over by the
//! shell in the run's options) when the catalog has them, else what dockfix guesses from the
//! image's name (the tables). Each answer that used a base image can be told apart by its
//! source ([`BaseFacts::note`]), so a finding can say whether it read or guessed.
//!
//! With an empty catalog (offline, or facts not asked for) every answer is the name-based one
//! and no note is given: the output is what it was before facts existed.

use crate::options::Options;
use crate::semantic::shell::privilege::PRIVILEGE_DROPPERS;
use crate::syntax::{Dockerfile, Stage};

use super::facts::{FileFacts, ImageCatalog, KnownImage, OsRelease, PasswdEntry};
use super::tables::FAMILY_BY_OS_RELEASE_ID;
use super::Knowledge;
use super::{
    base_exposed_low_ports, base_facts, built_in_user, default_user, drops_privileges, lacks_user_tools,
    BaseFacts, Family, Os,
};

/// Shells that mean "no login": an account with one is a service account, not a user to run as.
const NO_LOGIN_SHELLS: &[&str] = &["nologin", "false", "sync", "halt", "shutdown"];

/// The first UID of ordinary accounts (Debian's and Alpine's `FIRST_UID`, `UID_MIN` of
/// shadow's `login.defs`) and the overflow UID `nobody` has (65534), above which none are.
const FIRST_USER_UID: u32 = 1000;
const OVERFLOW_UID: u32 = 65534;

/// The programs a base image has to create users with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserTools {
    /// shadow-utils' `useradd` and `groupadd`.
    Shadow,
    /// BusyBox's (or Alpine's) `adduser` and `addgroup` applets, without `useradd`.
    BusyBox,
    /// Neither: a user can only be given as a number.
    Missing,
}

/// [`base_facts`] of `stage`, with the facts the run's [`ImageCatalog`] holds for that base.
pub fn stage_base(file: &Dockerfile, stage: &Stage, options: &Options) -> BaseFacts {
    base_facts(file, stage).known_from(&options.get::<ImageCatalog>())
}

impl BaseFacts {
    /// These facts, with what `catalog` holds for [`BaseFacts::image`] laid over the guesses
    /// from the name: the OS from the platform, the shell, and the distro family from
    /// `os-release` (kept from the name when the files were not read or have no os-release).
    pub fn known_from(mut self, catalog: &ImageCatalog) -> BaseFacts {
        self.facts_asked = !catalog.is_empty();
        let Some(known) = self.image.as_deref().and_then(|image| catalog.get(image)) else {
            return self;
        };
        if known.facts.platform.os.eq_ignore_ascii_case("windows") {
            self.os = Some(Os::Windows);
        }
        if let Some(files) = &known.facts.files {
            self.has_shell = Some(files.has_shell);
            if let Some(family) = files.os_release.as_ref().and_then(family_of_release) {
                self.family = Some(family);
            }
        }
        self.known = Some(known.clone());
        self
    }

    /// Where the facts came from: the catalog's source, or a guess from the name.
    pub fn knowledge(&self) -> Knowledge {
        self.known.as_ref().map_or(Knowledge::Name, |known| known.knowledge.clone())
    }

    /// The files of the image, when they were read.
    pub fn files(&self) -> Option<&FileFacts> {
        self.known.as_ref()?.facts.files.as_ref()
    }

    /// For a finding whose decision used the base image: ` [facts read from the registry]`,
    /// or ` [a guess from the image's name ...]` when the run asked for facts but has none
    /// for this image (`from_facts` false: the decision used the name even though facts
    /// exist). Empty when the run asked for no facts, so offline output stays as it was.
    pub fn note(&self, from_facts: bool) -> String {
        if !self.facts_asked {
            return String::new();
        }
        let knowledge = if from_facts { self.knowledge() } else { Knowledge::Name };
        format!(" [{}]", knowledge.describe())
    }

    /// The note for a decision that used the shell, the family or the OS: from facts when
    /// the image's files were read.
    pub fn files_note(&self) -> String {
        self.note(self.files().is_some())
    }

    /// The non-root user the image runs as by its own configuration, and whether facts said
    /// so. With facts, the config's `User` decides (a root one: none, whatever the name
    /// suggests); without, the table of images known to run as non-root.
    pub fn runs_as(&self) -> Option<(String, bool)> {
        if let Some(known) = &self.known {
            return known.facts.config.non_root_user().map(|user| (user.to_string(), true));
        }
        self.image.as_deref().and_then(default_user).map(|user| (user.to_string(), false))
    }

    /// The non-root user the image ships while starting as root, and whether facts said so.
    /// With its `/etc/passwd` read: an account its configuration names (an `ENV` variable
    /// ending in `USER` or `USERNAME`, `--user`/`-u` in its entrypoint), else an ordinary
    /// account (UID 1000 up to `nobody`'s, a login shell), the table's name first when it is
    /// one of them; none when it has neither, whatever the name suggests. Without, the table.
    pub fn shipped_user(&self) -> Option<(String, bool)> {
        let table = self.image.as_deref().and_then(built_in_user);
        let (Some(known), Some(files)) = (&self.known, self.files()) else {
            return table.map(|user| (user.to_string(), false));
        };
        let config = &known.facts.config;
        let named = |entry: &&PasswdEntry| {
            let by_env = config.env.iter().filter_map(|pair| pair.split_once('=')).any(|(name, value)| {
                let upper = name.to_ascii_uppercase();
                (upper.ends_with("USER") || upper.ends_with("USERNAME")) && value == entry.name
            });
            let by_flag = config
                .entrypoint
                .windows(2)
                .any(|pair| matches!(pair[0].as_str(), "-u" | "--user") && pair[1] == entry.name);
            entry.uid != 0 && (by_env || by_flag)
        };
        if let Some(entry) = files.passwd.iter().find(named) {
            return Some((entry.name.clone(), true));
        }
        let ordinary: Vec<&PasswdEntry> = files.passwd.iter().filter(|entry| is_ordinary(entry)).collect();
        let preferred = ordinary.iter().find(|entry| Some(entry.name.as_str()) == table);
        preferred.or(ordinary.first()).map(|entry| (entry.name.clone(), true))
    }

    /// Why the image must start as root (its entrypoint drops privileges), and whether facts
    /// said so. With facts: an entrypoint script (`docker-entrypoint.sh`) in an image whose
    /// build history installs a privilege dropper (`gosu`, `su-exec`, `setpriv`), as the
    /// official postgres and redis images are built; else the table of such images.
    pub fn drops_privileges(&self) -> Option<(String, bool)> {
        if let Some(why) = self.known.as_ref().and_then(entrypoint_drops) {
            return Some((why, true));
        }
        self.image.as_deref().and_then(drops_privileges).map(|why| (why.to_string(), false))
    }

    /// The ports below 1024 the image exposes by itself, and whether facts said so: its
    /// config's `ExposedPorts` (`80/tcp` as `80`, once each) when known, else the table of
    /// official images that do.
    pub fn exposed_low_ports(&self) -> (Vec<String>, bool) {
        if let Some(known) = &self.known {
            let mut ports: Vec<String> = Vec::new();
            for exposed in &known.facts.config.exposed_ports {
                let port = exposed.split('/').next().unwrap_or_default();
                let low = port.parse::<u16>().is_ok_and(|port| port < 1024);
                if low && !ports.iter().any(|seen| seen == port) {
                    ports.push(port.to_string());
                }
            }
            return (ports, true);
        }
        let table = self.image.as_deref().map_or(&[][..], base_exposed_low_ports);
        (table.iter().map(|port| port.to_string()).collect(), false)
    }

    /// The tools the image has to create users with: `None` when its files were not read.
    pub fn user_tools(&self) -> Option<UserTools> {
        let files = self.files()?;
        Some(if files.has_user_tool("useradd") {
            UserTools::Shadow
        } else if files.has_user_tool("adduser") {
            UserTools::BusyBox
        } else {
            UserTools::Missing
        })
    }

    /// A minimal RHEL-family image without `useradd`, by the table of such names.
    pub fn lacks_user_tools_by_name(&self) -> bool {
        self.image.as_deref().is_some_and(lacks_user_tools)
    }
}

/// An account a person or a program runs as: UID 1000 up to `nobody`'s, with a login shell.
fn is_ordinary(entry: &PasswdEntry) -> bool {
    let shell = entry.shell.rsplit('/').next().unwrap_or_default();
    (FIRST_USER_UID..OVERFLOW_UID).contains(&entry.uid) && !NO_LOGIN_SHELLS.contains(&shell)
}

/// The distro family `os-release` names, by its `ID`, then by `ID_LIKE` in order.
fn family_of_release(release: &OsRelease) -> Option<Family> {
    std::iter::once(&release.id).chain(&release.id_like).find_map(|id| {
        let id = id.to_ascii_lowercase();
        FAMILY_BY_OS_RELEASE_ID.iter().find(|(known, _)| *known == id).map(|(_, family)| *family)
    })
}

/// "its entrypoint `docker-entrypoint.sh` steps down with `gosu` ..." when the config's
/// entrypoint is a script and the image's history installs a privilege dropper.
fn entrypoint_drops(known: &KnownImage) -> Option<String> {
    let config = &known.facts.config;
    let first = config.entrypoint.first()?;
    let script = first.rsplit('/').next().unwrap_or(first);
    if !(script.ends_with(".sh") || script.contains("entrypoint")) {
        return None;
    }
    let tool = PRIVILEGE_DROPPERS.iter().find(|tool| {
        known.facts.history.iter().any(|command| {
            command
                .split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '"' | '\'' | '=' | '('))
                .any(|word| word.rsplit('/').next() == Some(**tool))
        })
    })?;
    Some(format!(
        "its entrypoint `{first}` steps down to another user itself, with `{tool}` (installed in the image's build history)"
    ))
}

#[cfg(test)]
mod tests {
    use super::super::facts::{ImageConfig, ImageFacts};
    use super::*;

    fn passwd(name: &str, uid: u32, shell: &str) -> PasswdEntry {
        PasswdEntry { name: name.into(), uid, gid: uid, home: format!("/home/{name}"), shell: shell.into() }
    }

    fn known(image: &str, facts: ImageFacts) -> BaseFacts {
        let mut catalog = ImageCatalog::default();
        catalog.insert(image, facts, Knowledge::Registry);
        super::super::facts_for_image(image).known_from(&catalog)
    }

    #[test]
    fn an_empty_catalog_changes_nothing() {
        let facts = super::super::facts_for_image("node:20").known_from(&ImageCatalog::default());
        assert_eq!(facts, super::super::facts_for_image("node:20"));
        assert_eq!(facts.shipped_user(), Some(("node".into(), false)));
        assert_eq!(facts.note(true), "");
    }

    #[test]
    fn passwd_decides_the_shipped_user() {
        let files = |entries: Vec<PasswdEntry>| ImageFacts {
            files: Some(FileFacts { passwd: entries, has_shell: true, ..FileFacts::default() }),
            ..ImageFacts::default()
        };
        let node =
            known("node:20", files(vec![passwd("root", 0, "/bin/bash"), passwd("node", 1000, "/bin/bash")]));
        assert_eq!(node.shipped_user(), Some(("node".into(), true)));
        assert_eq!(node.note(true), " [facts read from the registry]");
        // The table names `node`, but this image has no such account.
        let bare = known("node:20", files(vec![passwd("root", 0, "/bin/bash")]));
        assert_eq!(bare.shipped_user(), None);
        let service = known("example/app", files(vec![passwd("svc", 1001, "/usr/sbin/nologin")]));
        assert_eq!(service.shipped_user(), None);
        let mut named = files(vec![passwd("svc", 999, "/usr/sbin/nologin")]);
        named.config = ImageConfig { env: vec!["APP_USER=svc".into()], ..ImageConfig::default() };
        assert_eq!(known("example/app", named).shipped_user(), Some(("svc".into(), true)));
    }

    #[test]
    fn exposed_ports_from_the_config() {
        let config = ImageConfig {
            exposed_ports: vec!["80/tcp".into(), "80/udp".into(), "443/tcp".into(), "8080/tcp".into()],
            ..ImageConfig::default()
        };
        let caddy = known("example/web", ImageFacts { config, ..ImageFacts::default() });
        assert_eq!(caddy.exposed_low_ports(), (vec!["80".to_string(), "443".to_string()], true));
        // Facts that expose nothing low outweigh the table's `wordpress` entry.
        assert_eq!(known("wordpress:6", ImageFacts::default()).exposed_low_ports(), (Vec::new(), true));
        let offline = super::super::facts_for_image("wordpress:6");
        assert_eq!(offline.exposed_low_ports(), (vec!["80".to_string()], false));
    }

    #[test]
    fn os_release_decides_the_family() {
        let release = |id: &str, like: &[&str]| ImageFacts {
            files: Some(FileFacts {
                os_release: Some(OsRelease {
                    id: id.into(),
                    id_like: like.iter().map(|s| s.to_string()).collect(),
                    ..OsRelease::default()
                }),
                ..FileFacts::default()
            }),
            ..ImageFacts::default()
        };
        assert_eq!(known("example/app", release("ubuntu", &["debian"])).family, Some(Family::Debian));
        assert_eq!(
            known("example/app", release("rocky", &["rhel", "centos", "fedora"])).family,
            Some(Family::Rhel)
        );
        assert_eq!(known("python:3.12", release("alpine", &[])).family, Some(Family::Alpine));
        assert_eq!(known("python:3.12", release("plan9", &[])).family, Some(Family::Debian));
    }

    #[test]
    fn an_entrypoint_script_with_a_dropper_in_history() {
        let facts = |entrypoint: &str, history: &str| ImageFacts {
            config: ImageConfig { entrypoint: vec![entrypoint.into()], ..ImageConfig::default() },
            history: vec![history.into()],
            ..ImageFacts::default()
        };
        let install = "RUN /bin/sh -c set -eux; apt-get install -y --no-install-recommends gosu";
        assert!(known("example/db", facts("docker-entrypoint.sh", install)).drops_privileges().is_some());
        assert!(known("example/db", facts("docker-entrypoint.sh", "RUN apt-get install -y gosuish"))
            .drops_privileges()
            .is_none());
        assert!(known("example/db", facts("/usr/bin/app", install)).drops_privileges().is_none());
        let postgres = known("postgres:16", ImageFacts::default());
        assert_eq!(postgres.drops_privileges().map(|(_, from_facts)| from_facts), Some(false));
    }
}
