//! Operating-system package managers and what their commands do: one table of managers with
//! their install and removal verbs, read by every transform that asks whether a `RUN`
//! installs packages (strip-setuid's placement, non-root-user's root signals, multi-stage's
//! runtime packages).

use super::{instruction_commands, Command};
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
    let mut args = command.args.iter();
    let action = package_action(command.program(), &mut args)?;
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

/// What a command of `program` does to packages: its arguments read up to the verb (past the
/// options before it and their values), which `args` is left after.
fn package_action<'a>(program: &str, args: &mut impl Iterator<Item = &'a String>) -> Option<PackageAction> {
    let manager = PACKAGE_MANAGERS.iter().find(|manager| manager.program == program)?;
    loop {
        let arg = args.next()?.as_str();
        if manager.install.contains(&arg) {
            return Some(PackageAction::Install);
        }
        if manager.remove.contains(&arg) {
            return Some(PackageAction::Remove);
        }
        if !arg.starts_with('-') {
            return None;
        }
        if OPTIONS_WITH_VALUES.contains(&arg) {
            args.next();
        }
    }
}

/// Whether the command installs system packages, whatever it installs (the list may come
/// from a command substitution). Reads only up to the verb: the packages are not needed.
pub fn installs_packages(command: &Command) -> bool {
    package_action(command.program(), &mut command.args.iter()) == Some(PackageAction::Install)
}

/// Whether the command removes system packages (`apt-get purge`, `apk del`).
pub fn removes_packages(command: &Command) -> bool {
    package_action(command.program(), &mut command.args.iter()) == Some(PackageAction::Remove)
}

/// The packages a command installs with the system package manager.
pub fn installed_packages(command: &Command) -> Vec<String> {
    match package_command(command) {
        Some(found) if found.action == PackageAction::Install => found.packages,
        _ => Vec::new(),
    }
}

/// Language package installers, the verbs that install, and their options that take a
/// value: pip(1) `install` (`-r FILE`, `-c FILE`, `-i URL`, `-t DIR`), gem(1) `install`
/// (`-v VERSION`), npm(1) `install`/`i`/`add`, yarn and pnpm `add`.
const LIBRARY_INSTALLERS: &[(&str, &[&str], &[&str])] = &[
    (
        "pip",
        &["install"],
        &[
            "-r",
            "--requirement",
            "-c",
            "--constraint",
            "-i",
            "--index-url",
            "--extra-index-url",
            "-t",
            "--target",
            "--prefix",
        ],
    ),
    ("gem", &["install"], &["-v", "--version", "-i", "--install-dir", "-n", "--bindir"]),
    ("npm", &["install", "i", "add"], &["--prefix"]),
    ("yarn", &["add"], &[]),
    ("pnpm", &["add"], &[]),
];

/// The libraries a command installs with a language package manager (`pip3 install docker`,
/// `python -m pip install x`, `gem install docker-api`, `npm install dockerode@3`), names
/// without versions. Lists read from files (`-r requirements.txt`) are not known here.
pub fn library_packages(command: &Command) -> Vec<String> {
    let program = command.program();
    let (installer, args): (&str, &[String]) = if program.starts_with("python")
        && command.args.len() >= 2
        && command.args[0] == "-m"
        && command.args[1] == "pip"
    {
        ("pip", &command.args[2..])
    } else if program.starts_with("pip") {
        ("pip", &command.args[..])
    } else {
        (program, &command.args[..])
    };
    let Some((_, verbs, options_with_values)) =
        LIBRARY_INSTALLERS.iter().find(|(name, ..)| *name == installer)
    else {
        return Vec::new();
    };
    let mut args = args.iter().map(String::as_str);
    if !args.by_ref().any(|arg| verbs.contains(&arg)) {
        return Vec::new();
    }
    let mut packages = Vec::new();
    while let Some(arg) = args.next() {
        if options_with_values.contains(&arg) {
            args.next();
            continue;
        }
        // A path or URL is not a name; a scoped npm name (`@scope/name`) is.
        if arg.starts_with('-') || (arg.contains('/') && !arg.starts_with('@')) {
            continue;
        }
        // `docker==6.1`, `docker>=6`, `docker[ssh]`, `dockerode@3` (a scoped npm name starts with `@`).
        let name = arg.split(['=', '<', '>', '~', '[', '!', ';']).next().unwrap_or(arg);
        let name = match name.char_indices().skip(1).find(|(_, c)| *c == '@') {
            Some((at, _)) => &name[..at],
            None => name,
        };
        if !name.is_empty() {
            packages.push(name.to_ascii_lowercase());
        }
    }
    packages
}

/// A `RUN` that installs operating-system packages (and so may add setuid files, and needs
/// root).
pub fn run_installs_packages(instruction: &Instruction) -> bool {
    if !instruction.is("RUN") {
        return false;
    }
    instruction_commands(instruction).iter().any(installs_packages)
}

#[cfg(test)]
mod tests {
    use super::super::commands;
    use super::*;

    #[test]
    fn libraries_installed_by_language_package_managers() {
        let libraries = |text: &str| commands(text).iter().flat_map(library_packages).collect::<Vec<_>>();
        assert_eq!(
            libraries("pip3 install --upgrade pip fastapi aiodocker docker==6.1"),
            ["pip", "fastapi", "aiodocker", "docker"]
        );
        assert_eq!(libraries("python3 -m pip install -r requirements.txt Docker[ssh]"), ["docker"]);
        assert_eq!(
            libraries("gem install docker-api -v 2.2 && npm i -g dockerode@3 @scope/x@1"),
            ["docker-api", "dockerode", "@scope/x"]
        );
        assert!(libraries("pip download docker && npm ci && apt-get install -y docker").is_empty());
    }

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
