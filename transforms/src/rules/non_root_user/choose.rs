//! Which user the final stage switches to, and how a new one is created.

use super::NewUser;
use crate::image::facts::FileFacts;
use crate::image::{system_accounts, BaseFacts, Family, UserTools, HELPER_ACCOUNTS};
use crate::semantic::shell::text_pieces;
use crate::semantic::stages::chain_instructions;
use crate::syntax::{Dockerfile, Instruction, Stage};

use super::{is_root, NUMERIC_USER};

/// Which user to switch to, and whether the fix must create it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Plan {
    /// The user exists already (switched to earlier, created by the file, built into the base,
    /// or one of the distro's own accounts).
    Switch { user: String, why: String },
    /// Create the user with the family's tools (or, on BusyBox, by appending to the user
    /// database), unless it exists, then switch.
    Create { family: Family, group: GroupChoice },
    /// `USER 65532:65532`, or the chosen `UID:GID`.
    Numeric { why: String },
    /// The chosen user cannot be made: a finding without fix, with the reason.
    Refuse { why: String },
}

/// The group the new user goes in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum GroupChoice {
    /// Its own namesake group, with the chosen GID: created unless it exists.
    Own,
    /// A group the base system has already (the name, or the chosen GID, is taken by it).
    Existing { name: String, id: u32 },
}

pub(super) fn plan(file: &Dockerfile, chain: &[&Stage], facts: &BaseFacts, new_user: &NewUser) -> Plan {
    let instructions = chain_instructions(file, chain);
    let earlier = instructions.iter().rev().filter(|i| i.is("USER")).find(|i| !is_root(&i.args));
    if let Some(user) = earlier {
        let why = format!("the user it switched to on line {}", user.start_line);
        return Plan::Switch { user: user.args.trim().to_string(), why };
    }
    if let Some(created) = runtime_user_created(&instructions) {
        return Plan::Switch { user: created.name, why: created.why };
    }
    let written = chain.first().map_or("", |stage| stage.base.as_str());
    let image = facts.image.as_deref().unwrap_or(written);
    if let Some((user, from_facts)) = facts.shipped_user() {
        let why = format!("the user `{image}` ships{}", facts.note(from_facts));
        return Plan::Switch { user, why };
    }
    if facts.has_shell == Some(false) {
        return Plan::Numeric { why: format!("`{image}` has no shell or user tools{}", facts.files_note()) };
    }
    let texts: Vec<String> = instructions.iter().filter(|i| i.is("RUN")).map(|i| i.command_text()).collect();
    if let (Some(files), Some(tools)) = (facts.files(), facts.user_tools()) {
        return plan_from_files(files, tools, facts, image, &texts, new_user);
    }
    let Some(family) = facts.family.or_else(|| family_from_package_manager(&texts)) else {
        let why = format!("dockfix does not know the distro of `{image}`{}", facts.note(false));
        return Plan::Numeric { why };
    };
    let installs_shadow = texts.iter().any(|text| text.contains("shadow-utils"));
    let minimal = facts.lacks_user_tools_by_name()
        || (facts.family.is_none() && texts.iter().any(|text| has_word(text, "microdnf")));
    if family == Family::Rhel && minimal && !installs_shadow {
        return Plan::Numeric {
            why: format!("`{image}` has no useradd (no shadow-utils){}", facts.note(false)),
        };
    }
    with_note(plan_for_accounts(family, new_user), &facts.note(false))
}

/// The plan from the image's own files: its user tools choose the command (shadow's
/// `useradd`, BusyBox's `adduser`, or a numeric user when it has neither and the file
/// installs none), its `/etc/passwd` and `/etc/group` which user and group exist.
fn plan_from_files(
    files: &FileFacts,
    tools: UserTools,
    facts: &BaseFacts,
    image: &str,
    texts: &[String],
    new_user: &NewUser,
) -> Plan {
    let note = facts.note(true);
    let installs_shadow = texts
        .iter()
        .any(|text| text.contains("shadow-utils") || (has_word(text, "apk") && has_word(text, "shadow")));
    let shadow_family = if facts.family == Some(Family::Rhel) { Family::Rhel } else { Family::Debian };
    let family = match tools {
        UserTools::Shadow => shadow_family,
        UserTools::BusyBox => Family::Alpine,
        UserTools::Missing if installs_shadow => shadow_family,
        UserTools::Missing => {
            return Plan::Numeric { why: format!("`{image}` has neither useradd nor adduser{note}") };
        }
    };
    let name = new_user.name.as_str();
    if let Some(entry) = files.passwd.iter().find(|entry| entry.name == name) {
        let why = format!("a user `{image}` has (UID {}, in its /etc/passwd){note}", entry.uid);
        return Plan::Switch { user: name.to_string(), why };
    }
    if let Some(owner) = files.passwd.iter().find(|entry| entry.uid == new_user.id) {
        return Plan::Refuse {
            why: format!(
                "UID {} is `{}` in `{image}` (its /etc/passwd){note}: choose another UID, or `--user-name {}` to run as that user",
                new_user.id, owner.name, owner.name
            ),
        };
    }
    let existing = files
        .groups
        .iter()
        .find(|group| group.name == name)
        .or_else(|| files.groups.iter().find(|group| group.gid == new_user.group_id));
    let group = match existing {
        Some(group) => GroupChoice::Existing { name: group.name.clone(), id: group.gid },
        None => GroupChoice::Own,
    };
    Plan::Create { family, group }
}

/// A plan from the name's tables with the note that says so (empty when no facts were asked).
fn with_note(plan: Plan, note: &str) -> Plan {
    match plan {
        Plan::Switch { user, why } => Plan::Switch { user, why: format!("{why}{note}") },
        Plan::Refuse { why } => Plan::Refuse { why: format!("{why}{note}") },
        other => other,
    }
}

/// The distro's own accounts decide: a name it has is switched to, a UID it uses for
/// another user is refused, a group it has is joined rather than created again.
pub(super) fn plan_for_accounts(family: Family, new_user: &NewUser) -> Plan {
    let (users, groups) = system_accounts(family);
    let name = new_user.name.as_str();
    let source = account_source(family);
    if let Some(&(_, uid)) = users.iter().find(|(user, _)| *user == name) {
        let why = format!("a user every {} image has (UID {uid}, {source})", family_name(family));
        return Plan::Switch { user: name.to_string(), why };
    }
    if let Some(&(owner, _)) = users.iter().find(|(_, uid)| *uid == new_user.id) {
        return Plan::Refuse {
            why: format!(
                "UID {} is `{owner}` in every {} image ({source}): choose another UID, or `--user-name {owner}` to run as that user",
                new_user.id,
                family_name(family)
            ),
        };
    }
    let existing = groups
        .iter()
        .find(|(group, _)| *group == name)
        .or_else(|| groups.iter().find(|(_, gid)| *gid == new_user.group_id));
    let group = match existing {
        Some(&(group, id)) => GroupChoice::Existing { name: group.to_string(), id },
        None => GroupChoice::Own,
    };
    Plan::Create { family, group }
}

fn family_name(family: Family) -> &'static str {
    match family {
        Family::Debian => "Debian/Ubuntu",
        Family::Alpine => "Alpine",
        Family::Rhel => "RHEL/Fedora",
        Family::Busybox => "BusyBox",
    }
}

/// Where the account tables come from, as the message names it.
fn account_source(family: Family) -> &'static str {
    match family {
        Family::Debian => "Debian's base-passwd",
        Family::Alpine => "Alpine's alpine-baselayout",
        Family::Rhel => "the setup package",
        Family::Busybox => "BusyBox's root filesystem",
    }
}

pub(super) fn has_word(text: &str, word: &str) -> bool {
    text.split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')')).any(|w| w == word)
}

pub(super) fn family_from_package_manager(texts: &[String]) -> Option<Family> {
    let uses = |tools: &[&str]| texts.iter().any(|text| tools.iter().any(|tool| has_word(text, tool)));
    if uses(&["apt-get", "apt", "dpkg"]) {
        Some(Family::Debian)
    } else if uses(&["apk"]) {
        Some(Family::Alpine)
    } else if uses(&["dnf", "yum", "microdnf", "rpm"]) {
        Some(Family::Rhel)
    } else {
        None
    }
}

/// A user the file creates, and what says whether the program runs as it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CreatedUser {
    pub name: String,
    /// Created as a service account: `--system`/`-r`/`-S`, no home, a nologin shell.
    pub service: bool,
}

/// The user among those the file creates (and never switches to) that the program most
/// likely runs as, and why. Helper accounts ([`HELPER_ACCOUNTS`]: `dockremap`, daemons'
/// accounts) are never chosen. A user the image's configuration names (`ENV GITLAB_USER=git`)
/// comes first, then one that owns files (`chown`, `COPY --chown`), then one created as an
/// ordinary user rather than a service account; among equals, the last one created.
pub(super) fn runtime_user_created(instructions: &[&Instruction]) -> Option<Chosen> {
    let mut created: Vec<(CreatedUser, usize)> = Vec::new();
    for instruction in instructions.iter().filter(|i| i.is("RUN")) {
        for user in created_users(&instruction.command_text()) {
            created.retain(|(earlier, _)| earlier.name != user.name);
            created.push((user, instruction.start_line));
        }
    }
    created.retain(|(user, _)| !HELPER_ACCOUNTS.contains(&user.name.as_str()));
    let named = |name: &str| configured_user(instructions, name);
    let owns = |name: &str| owns_files(instructions, name);
    let score = |user: &CreatedUser| {
        let mut score = 0;
        if named(&user.name).is_some() {
            score += 4;
        }
        if owns(&user.name) {
            score += 2;
        }
        if !user.service {
            score += 1;
        }
        score
    };
    // `max_by_key` keeps the last of equals: the last user created.
    let (user, line) = created.into_iter().max_by_key(|(user, _)| score(user))?;
    let why = match named(&user.name) {
        Some(variable) => format!("the user created on line {line}, which `{variable}` names"),
        None if owns(&user.name) => format!("the user created on line {line}, which owns the app's files"),
        None => format!("the user created on line {line}"),
    };
    Some(Chosen { name: user.name, why })
}

/// A user chosen from the file, with the reason the message gives.
pub(super) struct Chosen {
    pub name: String,
    pub why: String,
}

/// The ENV variable whose value is `name` and whose name says it holds a user
/// (`GITLAB_USER=git`, `APP_USER`, `RUN_AS_USER`, `USER`, `USERNAME`).
fn configured_user(instructions: &[&Instruction], name: &str) -> Option<String> {
    let holds_user = |variable: &str| {
        let upper = variable.to_ascii_uppercase();
        upper.ends_with("USER") || upper.ends_with("USERNAME")
    };
    instructions.iter().filter(|i| i.is("ENV")).find_map(|env| {
        let pairs = env_pairs(env);
        pairs.into_iter().find(|(variable, value)| holds_user(variable) && value == name).map(|(v, _)| v)
    })
}

/// The `NAME=value` pairs of an `ENV`, quotes removed; the legacy `ENV NAME value` form too.
pub(super) fn env_pairs(env: &Instruction) -> Vec<(String, String)> {
    let unquote = |value: &str| value.trim_matches(|c| c == '"' || c == '\'').to_string();
    let words: Vec<&str> = env.words.iter().map(|word| word.text.as_str()).collect();
    match words.first() {
        Some(first) if !first.contains('=') => {
            let value = words[1..].join(" ");
            vec![(first.to_string(), unquote(&value))]
        }
        _ => words
            .iter()
            .filter_map(|word| word.split_once('='))
            .map(|(variable, value)| (variable.to_string(), unquote(value)))
            .collect(),
    }
}

/// The file gives `name` files: `chown name...` in a `RUN`, or `--chown=name...` on a
/// `COPY`/`ADD`.
fn owns_files(instructions: &[&Instruction], name: &str) -> bool {
    let is_owner = |spec: &str| spec.split([':', '.']).next() == Some(name);
    instructions.iter().any(|instruction| {
        if instruction.is("COPY") || instruction.is("ADD") {
            return instruction.flag("chown").and_then(|flag| flag.value.as_deref()).is_some_and(is_owner);
        }
        if !instruction.is("RUN") {
            return false;
        }
        // `chown` holds no newline, which ends a command: the pieces of the text answer as
        // the text would, and only those that name `chown` are cut into words.
        let commands = text_pieces(instruction).filter(|piece| piece.contains("chown"));
        commands.flat_map(|piece| piece.split(['\n', ';', '&', '|'])).any(|command| {
            let words: Vec<&str> = command.split_whitespace().collect();
            let Some(position) = words.iter().position(|w| w.rsplit('/').next() == Some("chown")) else {
                return false;
            };
            words[position + 1..].iter().find(|w| !w.starts_with('-')).is_some_and(|spec| is_owner(spec))
        })
    })
}

/// Options of `adduser` (Debian and BusyBox) that take a value.
pub(super) const ADDUSER_VALUE_OPTIONS: &[&str] = &[
    "--home",
    "--shell",
    "--uid",
    "--gid",
    "--ingroup",
    "--gecos",
    "--comment",
    "--firstuid",
    "--lastuid",
    "--firstgid",
    "--lastgid",
    "--conf",
    "--key",
    "-h",
    "-g",
    "-s",
    "-G",
    "-u",
    "-k",
];

/// Options that make a service account: `useradd --system`/`-r`/`--no-create-home`/`-M`,
/// Debian `adduser --system`/`--no-create-home`, BusyBox `adduser -S`/`-H`.
const SERVICE_OPTIONS: &[&str] = &["--system", "--no-create-home"];
const USERADD_SERVICE_SHORT: &[char] = &['r', 'M'];
const ADDUSER_SERVICE_SHORT: &[char] = &['S', 'H'];

/// The login a shell command creates with `useradd` or `adduser`, when it is a literal name
/// (the last one, when it creates several). The rule itself weighs them all
/// ([`runtime_user_created`]); this is the short form the tests read.
#[cfg(test)]
pub(super) fn created_user(text: &str) -> Option<String> {
    created_users(text).pop().map(|user| user.name)
}

/// Every user a shell command creates with `useradd` or `adduser`, in order.
pub(super) fn created_users(text: &str) -> Vec<CreatedUser> {
    // Only a command with one of the tools' names in it creates a user: most texts have none,
    // and need not be cut into words.
    if !(text.contains("useradd") || text.contains("adduser")) {
        return Vec::new();
    }
    text.split(['\n', ';', '&', '|']).filter_map(command_creates_user).collect()
}

pub(super) fn command_creates_user(command: &str) -> Option<CreatedUser> {
    let mut words: Vec<&str> = Vec::new();
    let mut raw = command.split_whitespace();
    while let Some(word) = raw.next() {
        if word.contains(['>', '<']) {
            // A bare operator (`> /dev/null`) takes the next word as its target.
            if word.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start_matches(['>', '<']).is_empty()
            {
                raw.next();
            }
            continue;
        }
        // A quoted word (`-S "clamav"`) is the same word to the shell.
        let unquoted = ['"', '\''].iter().find_map(|quote| {
            word.strip_prefix(*quote)
                .and_then(|rest| rest.strip_suffix(*quote))
                .filter(|inner| !inner.contains(*quote))
        });
        words.push(unquoted.unwrap_or(word));
    }
    let position = words.iter().position(|w| matches!(w.rsplit('/').next(), Some("useradd" | "adduser")))?;
    let tool = words[position].rsplit('/').next()?;
    let args = &words[position + 1..];
    let name = if tool == "useradd" { args.last().copied() } else { first_operand(args) }?;
    if !valid_login(name) {
        return None;
    }
    let short = if tool == "useradd" { USERADD_SERVICE_SHORT } else { ADDUSER_SERVICE_SHORT };
    let service = args.iter().any(|arg| {
        SERVICE_OPTIONS.contains(arg)
            || (arg.starts_with('-')
                && !arg.starts_with("--")
                && arg.chars().skip(1).any(|c| short.contains(&c)))
            || arg.ends_with("nologin")
            || arg.ends_with("/false")
    });
    Some(CreatedUser { name: name.to_string(), service })
}

pub(super) fn first_operand<'a>(args: &[&'a str]) -> Option<&'a str> {
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if !arg.starts_with('-') {
            return Some(arg);
        }
        if ADDUSER_VALUE_OPTIONS.contains(arg) {
            iter.next();
        }
    }
    None
}

pub(super) fn valid_login(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The shell command that creates the user, guarded so that it never creates a user or
/// group that exists (the image may have more accounts than the tables know): nothing happens
/// when `id -u NAME` finds the user; otherwise its group is created unless `/etc/group` has
/// it, then the user, with the family's tools. On BusyBox, whose `adduser`/`addgroup` applets
/// are optional (Debian's `busybox-static` has neither), the entries are appended to
/// `/etc/group` and `/etc/passwd` with nothing but `sh`, `grep` and `echo`, and the home
/// directory is made by hand.
///
/// Nothing is quoted: names are `[a-z0-9_-]` and the entries have no spaces, and a quote
/// inside an instruction that follows a region the grammar did not understand can pair with a
/// quote of that region and widen it (seen in the corpus: the fix was refused as damage).
pub(super) fn create_command(family: Family, user: &NewUser, group: &GroupChoice) -> String {
    let (name, uid) = (&user.name, user.id);
    let (group_name, gid, make_group) = match group {
        GroupChoice::Own => (name.as_str(), user.group_id, true),
        GroupChoice::Existing { name, id } => (name.as_str(), *id, false),
    };
    let group_step = |command: String| {
        if make_group {
            format!("grep -q ^{group_name}: /etc/group || {command}; ")
        } else {
            String::new()
        }
    };
    let guarded = |group: String, add_user: String| {
        format!("if ! id -u {name} >/dev/null 2>&1; then {group}{add_user}; fi")
    };
    match family {
        Family::Debian => guarded(
            group_step(format!("groupadd --system --gid {gid} {group_name}")),
            format!("useradd --system --uid {uid} --gid {group_name} --no-log-init --create-home {name}"),
        ),
        Family::Alpine => guarded(
            group_step(format!("addgroup -S -g {gid} {group_name}")),
            format!("adduser -S -D -u {uid} -G {group_name} {name}"),
        ),
        Family::Rhel => guarded(
            group_step(format!("groupadd -r -g {gid} {group_name}")),
            format!("useradd -r -m -u {uid} -g {group_name} {name}"),
        ),
        Family::Busybox => {
            let group = group_step(format!("echo {group_name}:x:{gid}: >> /etc/group"));
            format!(
                "if ! grep -q ^{name}: /etc/passwd; then {group}echo {name}:x:{uid}:{gid}::/home/{name}:/sbin/nologin >> /etc/passwd && mkdir -p /home/{name} && chown {uid}:{gid} /home/{name}; fi"
            )
        }
    }
}

/// `UID/GID 10001`, or `UID 10001, GID 2000` when they differ, or the existing group joined.
pub(super) fn describe_ids(user: &NewUser, group: &GroupChoice) -> String {
    match group {
        GroupChoice::Existing { name, id } => {
            format!("UID {}, in the existing group `{name}` (GID {id})", user.id)
        }
        GroupChoice::Own if user.id == user.group_id => format!("UID/GID {}", user.id),
        GroupChoice::Own => format!("UID {}, GID {}", user.id, user.group_id),
    }
}

/// The `USER` value for an image without user tools: distroless' `65532:65532`, or the UID
/// and GID the user chose.
pub(super) fn numeric_user(user: &NewUser) -> String {
    if user.ids_chosen {
        format!("{}:{}", user.id, user.group_id)
    } else {
        NUMERIC_USER.to_string()
    }
}

/// `--chown` value for a user. The user dockfix creates has its group (`app:app`, or the
/// existing group it joined); any other name is given alone, which Docker reads as "that
/// user, GID = its UID" and which cannot fail on a missing group. A value with a group, or
/// numeric, is used as it is.
pub(super) fn chown_owner(user: &str, created: &NewUser, group: Option<&GroupChoice>) -> String {
    match group {
        Some(GroupChoice::Existing { name, .. }) if user == created.name => format!("{user}:{name}"),
        Some(GroupChoice::Own) if user == created.name => format!("{user}:{user}"),
        _ => user.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, id: u32, group_id: u32) -> NewUser {
        NewUser { name: name.into(), id, group_id, ids_chosen: true }
    }

    fn parsed(text: &str) -> Dockerfile {
        Dockerfile::parse(text)
    }

    fn chosen_from(text: &str) -> Option<String> {
        let file = parsed(text);
        let stage = file.final_stage().unwrap();
        let chain = crate::semantic::stages::stage_chain(&file, stage);
        runtime_user_created(&chain_instructions(&file, &chain)).map(|chosen| chosen.name)
    }

    #[test]
    fn a_name_the_distro_has_is_switched_to() {
        for (family, name) in [
            (Family::Debian, "www-data"),
            (Family::Debian, "nobody"),
            (Family::Alpine, "nobody"),
            (Family::Rhel, "nobody"),
        ] {
            match plan_for_accounts(family, &user(name, 10001, 10001)) {
                Plan::Switch { user, why } => {
                    assert_eq!(user, name);
                    assert!(why.contains("every"), "{why}");
                }
                other => panic!("{family:?} {name}: {other:?}"),
            }
        }
        // BusyBox images share no user database: its names are never taken for granted.
        assert!(matches!(
            plan_for_accounts(Family::Busybox, &user("nobody", 10001, 10001)),
            Plan::Create { .. }
        ));
        // `www-data` is only a group on Alpine: the user is made, in that group.
        assert_eq!(
            plan_for_accounts(Family::Alpine, &user("www-data", 10001, 10001)),
            Plan::Create {
                family: Family::Alpine,
                group: GroupChoice::Existing { name: "www-data".into(), id: 82 }
            }
        );
    }

    #[test]
    fn a_uid_or_gid_the_distro_uses_is_not_taken_again() {
        match plan_for_accounts(Family::Debian, &user("svc", 33, 33)) {
            Plan::Refuse { why } => {
                assert!(why.contains("`www-data`") && why.contains("base-passwd"), "{why}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            plan_for_accounts(Family::Debian, &user("svc", 10001, 100)),
            Plan::Create {
                family: Family::Debian,
                group: GroupChoice::Existing { name: "users".into(), id: 100 }
            }
        );
        assert_eq!(
            plan_for_accounts(Family::Rhel, &user("app", 10001, 10001)),
            Plan::Create { family: Family::Rhel, group: GroupChoice::Own }
        );
    }

    #[test]
    fn creation_is_guarded_in_every_family() {
        let app = NewUser::default();
        assert_eq!(
            create_command(Family::Debian, &app, &GroupChoice::Own),
            "if ! id -u app >/dev/null 2>&1; then grep -q ^app: /etc/group || groupadd --system --gid 10001 app; useradd --system --uid 10001 --gid app --no-log-init --create-home app; fi"
        );
        assert_eq!(
            create_command(Family::Alpine, &app, &GroupChoice::Own),
            "if ! id -u app >/dev/null 2>&1; then grep -q ^app: /etc/group || addgroup -S -g 10001 app; adduser -S -D -u 10001 -G app app; fi"
        );
        assert_eq!(
            create_command(Family::Rhel, &app, &GroupChoice::Own),
            "if ! id -u app >/dev/null 2>&1; then grep -q ^app: /etc/group || groupadd -r -g 10001 app; useradd -r -m -u 10001 -g app app; fi"
        );
        assert_eq!(
            create_command(Family::Busybox, &app, &GroupChoice::Own),
            "if ! grep -q ^app: /etc/passwd; then grep -q ^app: /etc/group || echo app:x:10001: >> /etc/group; echo app:x:10001:10001::/home/app:/sbin/nologin >> /etc/passwd && mkdir -p /home/app && chown 10001:10001 /home/app; fi"
        );
        let users = GroupChoice::Existing { name: "users".into(), id: 100 };
        let svc = user("svc", 10001, 100);
        let debian = create_command(Family::Debian, &svc, &users);
        assert!(!debian.contains("groupadd") && debian.contains("--gid users"), "{debian}");
        let busybox = create_command(Family::Busybox, &svc, &users);
        assert!(!busybox.contains("/etc/group") && busybox.contains("svc:x:10001:100:"), "{busybox}");
        assert_eq!(describe_ids(&svc, &users), "UID 10001, in the existing group `users` (GID 100)");
        assert_eq!(chown_owner("svc", &svc, Some(&users)), "svc:users");
        assert_eq!(chown_owner("svc", &svc, None), "svc");
    }

    #[test]
    fn helper_accounts_are_never_the_runtime_user() {
        let codebuild =
            "FROM ubuntu:22.04\nRUN groupadd dockremap && useradd -g dockremap dockremap\nCMD x\n";
        assert_eq!(chosen_from(codebuild), None);
        let with_app =
            "FROM debian\nRUN useradd -m app\nRUN useradd -r -M -s /usr/sbin/nologin dockremap\nCMD x\n";
        assert_eq!(chosen_from(with_app).as_deref(), Some("app"));
    }

    #[test]
    fn the_configured_or_owning_user_wins_over_the_last_created() {
        let gitlab =
            "FROM debian\nENV GITLAB_USER=git\nRUN useradd -m git && useradd -m backup-agent\nCMD x\n";
        assert_eq!(chosen_from(gitlab).as_deref(), Some("git"));
        let legacy_env = "FROM debian\nENV APP_USER worker\nRUN useradd worker && useradd other\nCMD x\n";
        assert_eq!(chosen_from(legacy_env).as_deref(), Some("worker"));
        let owner =
            "FROM debian\nRUN useradd web && useradd -r cron-helper\nCOPY --chown=web:web . /srv\nCMD x\n";
        assert_eq!(chosen_from(owner).as_deref(), Some("web"));
        let chowned = "FROM debian\nRUN useradd app && useradd tool && chown -R app:app /srv\nCMD x\n";
        assert_eq!(chosen_from(chowned).as_deref(), Some("app"));
        // A service account loses to an ordinary user; among equals the last created wins.
        let service = "FROM alpine\nRUN adduser -D runner && adduser -S -H svc\nCMD x\n";
        assert_eq!(chosen_from(service).as_deref(), Some("runner"));
        assert_eq!(chosen_from("FROM debian\nRUN useradd a && useradd b\nCMD x\n").as_deref(), Some("b"));
    }

    #[test]
    fn service_account_hints() {
        let service = |command: &str| command_creates_user(command).map(|user| user.service);
        assert_eq!(service("useradd -r app"), Some(true));
        assert_eq!(service("useradd --system app"), Some(true));
        assert_eq!(service("useradd -rm app"), Some(true));
        assert_eq!(service("useradd -M app"), Some(true));
        assert_eq!(service("useradd -s /sbin/nologin app"), Some(true));
        assert_eq!(service("adduser -S app"), Some(true));
        assert_eq!(service("adduser --system --no-create-home app"), Some(true));
        assert_eq!(service("useradd -m -u 1000 app"), Some(false));
        assert_eq!(service("adduser -D -g '' app"), Some(false));
        assert_eq!(service("apt-get install -y x"), None);
    }
}
