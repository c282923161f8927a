//! Directories the new user is given, and those it must never own.

use crate::image::chain_instructions;
use crate::syntax::{Dockerfile, Stage};

/// System directories a new user must not own, and trees under which it must own nothing.
pub(super) const SYSTEM_DIRECTORIES: &[&str] = &[
    "/",
    "/bin",
    "/sbin",
    "/lib",
    "/lib64",
    "/usr",
    "/usr/local",
    "/usr/src",
    "/usr/share",
    "/etc",
    "/var",
    "/var/lib",
    "/opt",
    "/home",
    "/root",
    "/tmp",
    "/run",
];
pub(super) const SYSTEM_TREES: &[&str] = &[
    "/bin/",
    "/sbin/",
    "/lib/",
    "/lib64/",
    "/etc/",
    "/proc/",
    "/sys/",
    "/dev/",
    "/usr/bin/",
    "/usr/sbin/",
    "/usr/lib/",
    "/usr/local/bin/",
    "/usr/local/sbin/",
    "/usr/local/lib/",
    "/var/lib/apt/",
    "/var/lib/dpkg/",
    "/var/lib/rpm/",
    "/var/lib/dnf/",
    "/var/lib/yum/",
    "/var/lib/apk/",
    "/var/run/",
    "/run/",
];

/// The image's working directory at byte `at`, when it is a literal application directory
/// the new user may own (so the app can create files in it; what is already in it stays
/// root's).
pub(super) fn working_directory(file: &Dockerfile, chain: &[&Stage], at: usize) -> Option<String> {
    let workdir = chain_instructions(file, chain)
        .into_iter()
        .rfind(|instruction| instruction.is("WORKDIR") && instruction.span.end <= at)?;
    let dir = workdir.args.trim().trim_end_matches('/');
    let literal = dir.starts_with('/')
        && !dir.contains(|c: char| c.is_whitespace() || matches!(c, '$' | '"' | '\'' | '\\' | '*' | '?'));
    let system = SYSTEM_DIRECTORIES.contains(&dir)
        || SYSTEM_TREES.iter().any(|tree| dir.starts_with(tree) || Some(dir) == tree.strip_suffix('/'));
    (literal && !system).then(|| dir.to_string())
}
