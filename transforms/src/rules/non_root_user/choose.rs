//! Which user the final stage switches to, and how a new one is created.

use crate::engine::NewUser;
use crate::image::{built_in_user, chain_instructions, lacks_user_tools, BaseFacts, Family};
use crate::syntax::{Dockerfile, Stage};

use super::{is_root, NUMERIC_USER};

/// Which user to switch to, and whether the fix must create it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Plan {
    /// The user exists already (switched to earlier, created by the file, built into the base).
    Switch { user: String, why: String },
    /// Create `app` with the family's tools, then switch.
    Create { family: Family },
    /// `USER 65532:65532`, or the chosen `UID:GID`.
    Numeric { why: String },
}

pub(super) fn plan(file: &Dockerfile, chain: &[&Stage], facts: &BaseFacts) -> Plan {
    let instructions = chain_instructions(file, chain);
    let earlier = instructions.iter().rev().filter(|i| i.is("USER")).find(|i| !is_root(&i.args));
    if let Some(user) = earlier {
        let why = format!("the user it switched to on line {}", user.start_line);
        return Plan::Switch { user: user.args.trim().to_string(), why };
    }
    let created = instructions
        .iter()
        .rev()
        .filter(|i| i.is("RUN"))
        .find_map(|i| created_user(&i.command_text()).map(|u| (u, i.start_line)));
    if let Some((user, line)) = created {
        return Plan::Switch { user, why: format!("the user created on line {line}") };
    }
    let written = chain.first().map_or("", |stage| stage.base.as_str());
    let image = facts.image.as_deref().unwrap_or(written);
    if let Some(user) = facts.image.as_deref().and_then(built_in_user) {
        return Plan::Switch { user: user.to_string(), why: format!("the user `{image}` ships") };
    }
    if facts.has_shell == Some(false) {
        return Plan::Numeric { why: format!("`{image}` has no shell or user tools") };
    }
    let texts: Vec<String> = instructions.iter().filter(|i| i.is("RUN")).map(|i| i.command_text()).collect();
    let Some(family) = facts.family.or_else(|| family_from_package_manager(&texts)) else {
        return Plan::Numeric { why: format!("dockfix does not know the distro of `{image}`") };
    };
    let installs_shadow = texts.iter().any(|text| text.contains("shadow-utils"));
    let minimal = facts.image.as_deref().is_some_and(lacks_user_tools)
        || (facts.family.is_none() && texts.iter().any(|text| has_word(text, "microdnf")));
    if family == Family::Rhel && minimal && !installs_shadow {
        return Plan::Numeric { why: format!("`{image}` has no useradd (no shadow-utils)") };
    }
    Plan::Create { family }
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

/// The login a shell command creates with `useradd` or `adduser`, when it is a literal name.
pub(super) fn created_user(text: &str) -> Option<String> {
    let commands = text.split(['\n', ';', '&', '|']);
    commands.filter_map(command_creates_user).next_back()
}

pub(super) fn command_creates_user(command: &str) -> Option<String> {
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
        words.push(word);
    }
    let position = words.iter().position(|w| matches!(w.rsplit('/').next(), Some("useradd" | "adduser")))?;
    let tool = words[position].rsplit('/').next()?;
    let args = &words[position + 1..];
    let name = if tool == "useradd" { args.last().copied() } else { first_operand(args) }?;
    valid_login(name).then(|| name.to_string())
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

/// The shell command that creates `app` with the family's tools: first its own group with
/// the chosen GID, then the user with the UID, in that group (named, not numbered).
pub(super) fn create_command(family: Family, user: &NewUser) -> String {
    let (name, uid, gid) = (&user.name, user.id, user.group_id);
    match family {
        Family::Debian => format!(
            "groupadd --system --gid {gid} {name} && useradd --system --uid {uid} --gid {name} --no-log-init --create-home {name}"
        ),
        Family::Alpine | Family::Busybox => {
            format!("addgroup -S -g {gid} {name} && adduser -S -D -u {uid} -G {name} {name}")
        }
        Family::Rhel => format!("groupadd -r -g {gid} {name} && useradd -r -m -u {uid} -g {name} {name}"),
    }
}

/// `UID/GID 10001`, or `UID 10001, GID 2000` when they differ.
pub(super) fn describe_ids(user: &NewUser) -> String {
    if user.id == user.group_id {
        format!("UID/GID {}", user.id)
    } else {
        format!("UID {}, GID {}", user.id, user.group_id)
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

/// `--chown` value for a user. The user dockfix creates has its namesake group (`app:app`);
/// any other name is given alone, which Docker reads as "that user, GID = its UID" and which
/// cannot fail on a missing group. A value with a group, or numeric, is used as it is.
pub(super) fn chown_owner(user: &str, created: &NewUser) -> String {
    if user == created.name {
        return format!("{user}:{user}");
    }
    user.to_string()
}
