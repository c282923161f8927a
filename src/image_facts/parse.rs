//! Parsers for the files read from an image's layers: `/etc/passwd`, `/etc/group`,
//! `/etc/os-release`, the dpkg status database and the apk installed database. Each takes
//! the file's text and keeps what it can read: a malformed line or paragraph is skipped, never
//! an error, since an image is not dockfix's to validate.

use dockfix_transforms::image::facts::{GroupEntry, OsRelease, Package, PasswdEntry};

/// `/etc/passwd`: `name:password:uid:gid:gecos:home:shell`, in order. Comments, NIS lines
/// (`+`, `-`) and lines without numeric ids are skipped.
pub fn passwd(text: &str) -> Vec<PasswdEntry> {
    account_lines(text)
        .filter_map(|fields| {
            let [name, _password, uid, gid, rest @ ..] = fields.as_slice() else { return None };
            let home = rest.get(1).copied().unwrap_or_default();
            let shell = rest.get(2).copied().unwrap_or_default();
            Some(PasswdEntry {
                name: name.to_string(),
                uid: uid.parse().ok()?,
                gid: gid.parse().ok()?,
                home: home.to_string(),
                shell: shell.to_string(),
            })
        })
        .collect()
}

/// `/etc/group`: `name:password:gid:member,member`, in order.
pub fn group(text: &str) -> Vec<GroupEntry> {
    account_lines(text)
        .filter_map(|fields| {
            let [name, _password, gid, rest @ ..] = fields.as_slice() else { return None };
            let members = rest
                .first()
                .map(|list| list.split(',').map(str::trim).filter(|m| !m.is_empty()).map(String::from))
                .into_iter()
                .flatten()
                .collect();
            Some(GroupEntry { name: name.to_string(), gid: gid.parse().ok()?, members })
        })
        .collect()
}

/// The colon-separated fields of each account line with a name.
fn account_lines(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .map(|line| line.trim_end_matches('\r'))
        .filter(|line| !line.trim().is_empty() && !line.starts_with(['#', '+', '-']))
        .map(|line| line.split(':').collect::<Vec<_>>())
        .filter(|fields| fields.first().is_some_and(|name| !name.is_empty()))
}

/// `/etc/os-release` (shell-like `KEY=value` lines, values optionally quoted). `None` without
/// an `ID` (the file says `ID` defaults to `linux`, which names no distro dockfix knows).
pub fn os_release(text: &str) -> Option<OsRelease> {
    let mut release = OsRelease::default();
    for line in text.lines() {
        let Some((key, value)) = line.trim().split_once('=') else { continue };
        let value = unquote(value.trim());
        match key.trim() {
            "ID" => release.id = value,
            "ID_LIKE" => release.id_like = value.split_whitespace().map(String::from).collect(),
            "VERSION_ID" => release.version_id = Some(value),
            "VERSION_CODENAME" if !value.is_empty() => release.version_codename = Some(value),
            _ => {}
        }
    }
    (!release.id.is_empty()).then_some(release)
}

/// A value as os-release(5) quotes it: `"..."` with backslash escapes, `'...'` literal.
fn unquote(value: &str) -> String {
    if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        return inner.to_string();
    }
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return value.to_string();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

/// The dpkg status database (`/var/lib/dpkg/status`, or a distroless `status.d/` file):
/// paragraphs of `Field: value` lines. A package counts when its `Status` says `installed`
/// (distroless files have no `Status`: every paragraph counts). `Depends` and `Pre-Depends`
/// give names only: the first of alternatives (`a | b`), versions and architecture
/// qualifiers (`:any`) dropped.
pub fn dpkg_status(text: &str) -> Vec<Package> {
    paragraphs(text)
        .filter_map(|paragraph| {
            let fields = control_fields(paragraph);
            let field = |name: &str| {
                fields.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
            };
            let name = field("Package")?.trim();
            if name.is_empty() || field("Status").is_some_and(|status| !status.trim().ends_with(" installed"))
            {
                return None;
            }
            let depends = ["Pre-Depends", "Depends"]
                .into_iter()
                .filter_map(field)
                .flat_map(|list| list.split(','))
                .filter_map(|item| {
                    let first = item.split('|').next()?.trim();
                    let name = first.split(|c: char| c.is_whitespace() || c == '(').next()?;
                    let name = name.split(':').next()?;
                    (!name.is_empty()).then(|| name.to_string())
                })
                .collect();
            Some(Package {
                name: name.to_string(),
                version: field("Version").unwrap_or_default().trim().to_string(),
                depends,
            })
        })
        .collect()
}

/// A dpkg paragraph's fields; continuation lines (starting with a blank) join their field.
fn control_fields(paragraph: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in paragraph.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((key, value)) = line.split_once(':') {
            fields.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    fields
}

/// The apk database (`/lib/apk/db/installed`): paragraphs of `X:value` lines; `P` is the
/// name, `V` the version, `D` the space-separated dependencies (names kept as written,
/// `so:` and `cmd:` included, version constraints dropped, conflicts `!name` left out).
pub fn apk_installed(text: &str) -> Vec<Package> {
    paragraphs(text)
        .filter_map(|paragraph| {
            let mut package = Package { name: String::new(), version: String::new(), depends: Vec::new() };
            for line in paragraph.lines() {
                match line.split_once(':') {
                    Some(("P", name)) => package.name = name.trim().to_string(),
                    Some(("V", version)) => package.version = version.trim().to_string(),
                    Some(("D", depends)) => package.depends.extend(
                        depends
                            .split_whitespace()
                            .filter(|dep| !dep.starts_with('!'))
                            .filter_map(|dep| dep.split(['<', '>', '=', '~']).next())
                            .filter(|name| !name.is_empty())
                            .map(String::from),
                    ),
                    _ => {}
                }
            }
            (!package.name.is_empty()).then_some(package)
        })
        .collect()
}

/// Blank-line separated paragraphs (CRLF tolerated).
fn paragraphs(text: &str) -> impl Iterator<Item = &str> {
    text.split("\n\n").flat_map(|part| part.split("\r\n\r\n")).filter(|p| !p.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_lines_in_order_and_bad_lines_skipped() {
        let text = "root:x:0:0:root:/root:/bin/bash\n# comment\n+nis\nbroken:x:abc:0::/:/bin/sh\n\
                    postgres:x:999:999:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash\nshort:x:5:6\n";
        let entries = passwd(text);
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["root", "postgres", "short"]);
        assert_eq!(
            entries[1],
            PasswdEntry {
                name: "postgres".into(),
                uid: 999,
                gid: 999,
                home: "/var/lib/postgresql".into(),
                shell: "/bin/bash".into()
            }
        );
        assert_eq!((entries[2].home.as_str(), entries[2].shell.as_str()), ("", ""));
    }

    #[test]
    fn group_members_are_split() {
        let groups = group("root:x:0:\nsudo:x:27:alice,bob\r\nnogid:x::\n");
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0], GroupEntry { name: "root".into(), gid: 0, members: vec![] });
        assert_eq!(groups[1].members, ["alice", "bob"]);
    }

    #[test]
    fn os_release_quotes_and_lists() {
        let text = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n\
                    VERSION_CODENAME=bookworm\nID_LIKE='rhel fedora'\n";
        let release = os_release(text).expect("an ID");
        assert_eq!(release.id, "debian");
        assert_eq!(release.id_like, ["rhel", "fedora"]);
        assert_eq!(release.version_id.as_deref(), Some("12"));
        assert_eq!(release.version_codename.as_deref(), Some("bookworm"));
        assert_eq!(os_release("NAME=\"x\\\"y\"\n"), None, "no ID, no release");
        assert_eq!(unquote("\"a\\\\b\\\"c\""), "a\\b\"c");
    }

    #[test]
    fn dpkg_status_keeps_installed_packages_and_dependency_names() {
        let text = "Package: libpq-dev\nStatus: install ok installed\nVersion: 15.8-0+deb12u1\n\
                    Depends: libpq5 (= 15.8-0+deb12u1), libssl-dev | libssl1.1-dev,\n libc6:any (>= 2.34)\n\
                    Pre-Depends: dpkg (>= 1.17)\n\n\
                    Package: removed\nStatus: deinstall ok config-files\nVersion: 1\n\n\
                    Package: libpq5\nStatus: install ok installed\nVersion: 15.8-0+deb12u1\n\n\
                    Package: distroless-style\nVersion: 2\n";
        let packages = dpkg_status(text);
        let names: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["libpq-dev", "libpq5", "distroless-style"]);
        assert_eq!(packages[0].version, "15.8-0+deb12u1");
        assert_eq!(packages[0].depends, ["dpkg", "libpq5", "libssl-dev", "libc6"]);
        assert!(packages[1].depends.is_empty());
    }

    #[test]
    fn apk_database_names_versions_and_dependencies() {
        let text = "C:Q1abc=\nP:musl\nV:1.2.5-r0\nA:x86_64\n\n\
                    P:busybox\nV:1.36.1-r29\nD:so:libc.musl-x86_64.so.1 musl>=1.2 !busybox-old\nF:bin\nR:busybox\n\n\
                    V:orphan\n";
        let packages = apk_installed(text);
        assert_eq!(packages.len(), 2);
        assert_eq!((packages[0].name.as_str(), packages[0].version.as_str()), ("musl", "1.2.5-r0"));
        assert_eq!(packages[1].depends, ["so:libc.musl-x86_64.so.1", "musl"]);
    }
}
