//! Commands that change who runs what: tools that start as root and drop to another user,
//! and the tools that create users and groups.

use super::{text_pieces, Command};
use crate::syntax::Instruction;

/// Commands that start as root and switch user themselves: whole words of a command.
/// Sources: the READMEs of gosu (tianon/gosu) and su-exec (ncopa/su-exec); setpriv(1) and
/// runuser(1) (util-linux); s6-setuidgid (skarnet s6); setuidgid (daemontools).
pub const PRIVILEGE_DROPPERS: &[&str] =
    &["gosu", "su-exec", "setpriv", "runuser", "s6-setuidgid", "setuidgid"];

/// Fragments of a command that mean the same, where a word is not enough: chroot(8)'s
/// `--userspec`, runit's `chpst -u`, and s6-overlay, whose init drops privileges.
pub const PRIVILEGE_DROP_FRAGMENTS: &[&str] = &["--userspec", "s6-overlay", "chpst -u"];

/// Programs that create users or groups (shadow-utils' `useradd`/`groupadd`, Debian's and
/// BusyBox's `adduser`/`addgroup`).
pub const USER_CREATORS: &[&str] = &["useradd", "adduser", "groupadd", "addgroup"];

/// The privilege-dropping tool a command runs: one of [`PRIVILEGE_DROPPERS`],
/// `chroot --userspec`, `chpst -u`, or `su ... -c`.
pub fn dropper(command: &Command) -> Option<&'static str> {
    let program = command.program();
    if let Some(tool) = PRIVILEGE_DROPPERS.iter().find(|tool| **tool == program) {
        return Some(tool);
    }
    let has = |prefix: &str| command.args.iter().any(|arg| arg.starts_with(prefix));
    match program {
        "chroot" if has("--userspec") => Some("chroot --userspec"),
        "chpst" if has("-u") => Some("chpst -u"),
        "su" if command.args.iter().any(|arg| arg == "-c" || arg.starts_with("--command")) => Some("su -c"),
        _ => None,
    }
}

/// Whether the command creates a user or a group.
pub fn creates_users(command: &Command) -> bool {
    USER_CREATORS.contains(&command.program())
}

/// A `RUN` that removes setuid/setgid bits with `find ... -perm ... chmod ...-s` (the
/// command this transform writes, older ones it wrote, and the usual hand-written forms).
pub fn run_strips_setuid(instruction: &Instruction) -> bool {
    if !instruction.is("RUN") {
        return false;
    }
    // None of these holds a newline, so the pieces of the text answer as the text would.
    let contains = |needle: &str| text_pieces(instruction).any(|piece| piece.contains(needle));
    contains("find") && contains("-perm") && contains("chmod") && {
        let modes = ["a-s", "u-s", "ug-s", "-s ", "u-s,g-s"];
        modes.iter().any(|mode| contains(mode))
    }
}

#[cfg(test)]
mod tests {
    use super::super::commands;
    use super::*;

    #[test]
    fn droppers_and_user_creation() {
        let found = commands(
            "addgroup -S app && chown app /d && exec su-exec app x; su app -c run; chroot --userspec=1 / x",
        );
        let droppers: Vec<Option<&str>> = found.iter().map(dropper).collect();
        assert_eq!(droppers, [None, None, Some("su-exec"), Some("su -c"), Some("chroot --userspec")]);
        assert!(creates_users(&found[0]));
        assert!(!creates_users(&found[1]));
    }
}
