//! Operating-system package managers and what their commands do: one table of managers with
//! their install and removal verbs, read by every transform that asks whether a `RUN`
//! installs packages (strip-setuid's placement, non-root-user's root signals, multi-stage's
//! runtime packages).

use super::{argv_commands, commands, Command};
use crate::syntax::Instruction;

/// A package manager: its program and the verbs (first word after its options) that install
/// or remove packages. A verb may be an option where the manager's own syntax makes it one
/// (`pacman -S`, `rpm -ivh`, `dpkg -i`).
pub struct PackageManager {
    pub program: &'static str,
    pub install: &'static [&'static str],
    pub remove: &'static [&'static str],
}

/// Sources: the manual pages of apt-get(8), apt(8), aptitude(8), dpkg(1) (Debian); apk(8)
/// (Alpine apk-tools); dnf(8), yum(8), microdnf's README, tdnf's README (Photon OS), rpm(8)
/// (RHEL family); zypper(8) (SUSE; `in` is `install`'s alias); pacman(8) (Arch; `-S` is
/// `--sync`, which installs).
pub const PACKAGE_MANAGERS: &[PackageManager] = &[
    PackageManager { program: "apt-get", install: &["install"], remove: &["purge", "remove"] },
    PackageManager { program: "apt", install: &["install"], remove: &["purge", "remove"] },
    PackageManager { program: "aptitude", install: &["install"], remove: &[] },
    PackageManager { program: "apk", install: &["add"], remove: &["del"] },
    PackageManager { program: "yum", install: &["install"], remove: &[] },
    PackageManager { program: "dnf", install: &["install"], remove: &[] },
    PackageManager { program: "microdnf", install: &["install"], remove: &[] },
    PackageManager { program: "tdnf", install: &["install"], remove: &[] },
    PackageManager { program: "zypper", install: &["install", "in"], remove: &[] },
    PackageManager { program: "pacman", install: &["-S", "-Sy", "-Syu"], remove: &[] },
    PackageManager { program: "dpkg", install: &["-i", "--install"], remove: &[] },
    PackageManager { program: "rpm", install: &["-i", "-ivh", "-ihv", "-U", "-Uvh", "-Uhv"], remove: &[] },
];

/// Options of those managers that take their value as the next word (apt's `-o`, `-c`, `-t`;
/// apk's `-X`, `-p`, `--virtual`/`-t`; dnf/yum's `-c`, `--setopt`).
const OPTIONS_WITH_VALUES: &[&str] =
    &["-o", "-c", "-t", "-X", "-p", "--repository", "--setopt", "--option", "--virtual"];

/// What a package command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageAction {
    Install,
    Remove,
}

/// A command that installs or removes packages: which, and the group it names
/// (`apk add --virtual .deps`), version and architecture suffixes removed (`nginx=1.24*` ->
/// `nginx`, `libc6:i386` -> `libc6`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageCommand {
    pub action: PackageAction,
    pub packages: Vec<String>,
    pub group: Option<String>,
}

/// The packages a command installs or removes, if it does either.
pub fn package_command(command: &Command) -> Option<PackageCommand> {
    let manager = PACKAGE_MANAGERS.iter().find(|manager| manager.program == command.program())?;
    let mut args = command.args.iter();
    let action = loop {
        let arg = args.next()?.as_str();
        if manager.install.contains(&arg) {
            break PackageAction::Install;
        }
        if manager.remove.contains(&arg) {
            break PackageAction::Remove;
        }
        if !arg.starts_with('-') {
            return None;
        }
        if OPTIONS_WITH_VALUES.contains(&arg) {
            args.next();
        }
    };
    let mut packages = Vec::new();
    let mut group = None;
    while let Some(arg) = args.next() {
        if OPTIONS_WITH_VALUES.contains(&arg.as_str()) {
            let value = args.next();
            if arg == "--virtual" || arg == "-t" {
                group = value.cloned();
            }
        } else if !arg.starts_with('-') {
            let name = arg.split(['=', ':', '<', '>', '~']).next().unwrap_or(arg);
            if !name.is_empty() {
                packages.push(name.to_string());
            }
        }
    }
    Some(PackageCommand { action, packages, group })
}

/// Whether the command installs system packages, whatever it installs (the list may come
/// from a command substitution).
pub fn installs_packages(command: &Command) -> bool {
    package_command(command).is_some_and(|found| found.action == PackageAction::Install)
}

/// Whether the command removes system packages (`apt-get purge`, `apk del`).
pub fn removes_packages(command: &Command) -> bool {
    package_command(command).is_some_and(|found| found.action == PackageAction::Remove)
}

/// The packages a command installs with the system package manager.
pub fn installed_packages(command: &Command) -> Vec<String> {
    match package_command(command) {
        Some(found) if found.action == PackageAction::Install => found.packages,
        _ => Vec::new(),
    }
}

/// A `RUN` that installs operating-system packages (and so may add setuid files, and needs
/// root).
pub fn run_installs_packages(instruction: &Instruction) -> bool {
    if !instruction.is("RUN") {
        return false;
    }
    let found = match &instruction.exec_form {
        Some(argv) => argv_commands(argv),
        None => commands(&instruction.command_text()),
    };
    found.iter().any(installs_packages)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn installed(text: &str) -> Vec<String> {
        commands(text).iter().flat_map(installed_packages).collect()
    }

    #[test]
    fn installed_packages_by_word() {
        assert_eq!(
            installed("apt-get update && apt-get install -y --no-install-recommends openssh-server nginx=1.22* && apk add --no-cache cron curl"),
            ["openssh-server", "nginx", "cron", "curl"]
        );
        assert!(installed("pip install cron-descriptor").is_empty());
        assert_eq!(installed("apk add --virtual .deps gcc libc6:i386"), ["gcc", "libc6"]);
    }

    #[test]
    fn installs_are_seen_behind_options() {
        let installs = |text: &str| commands(text).iter().any(installs_packages);
        assert!(installs("apt-get -qqy --no-install-recommends install x11vnc"));
        assert!(installs("apt-get -o Dpkg::Options::=--force-confold -y install curl"));
        assert!(installs("/sbin/apk --no-cache add curl"));
        assert!(installs("zypper -n in curl && rpm -ivh x.rpm && pacman -Syu --noconfirm git"));
        assert!(!installs("apt-get -qq update && echo install"));
        assert!(!installs("apt-get -y remove curl"));
    }

    #[test]
    fn runs_that_install() {
        let file = crate::syntax::Dockerfile::parse(
            "FROM debian\nRUN [\"apt-get\", \"install\", \"-y\", \"curl\"]\nRUN apk add x\nCMD apk add x\nRUN apk info\n",
        );
        let installs: Vec<bool> = file.instructions.iter().map(run_installs_packages).collect();
        assert_eq!(installs, [false, true, true, false, false]);
    }

    #[test]
    fn removals_and_groups() {
        let found: Vec<PackageCommand> =
            commands("apk add -t .build gcc && apk del .build && apt-get purge -y gcc")
                .iter()
                .filter_map(package_command)
                .collect();
        assert_eq!(found[0].group.as_deref(), Some(".build"));
        assert_eq!(
            (found[1].action, found[1].packages.clone()),
            (PackageAction::Remove, vec![".build".to_string()])
        );
        assert_eq!(found[2].action, PackageAction::Remove);
        assert!(commands("apt -y purge gcc").iter().all(removes_packages));
        assert!(!commands("apt-get clean && apk add gcc").iter().any(removes_packages));
    }
}
