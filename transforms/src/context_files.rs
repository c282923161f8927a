//! How a build context on disk answers the transforms, with the disk left to the caller.
//!
//! [`ContextFiles`] is the little I/O a directory-backed [`BuildContext`] needs (does a path
//! exist, what a directory holds, a file's first bytes, a small file's contents); [`classify`]
//! and [`read_text`] turn those answers into the context's answers: paths kept inside the
//! context, Docker's wildcards, archives told by content. The shell's context and the fixture
//! harness' both go through them, so they decide alike.
//!
//! [`BuildContext`]: crate::transform::BuildContext

use std::path::{Component, Path, PathBuf};

use crate::transform::{SourceKind, MAX_TEXT_FILE_BYTES};

/// What a path of the context is, as far as ADD cares.
pub enum Entry {
    Directory,
    /// A file, and up to the number of bytes asked for of its start.
    File {
        head: Vec<u8>,
    },
}

/// The file-system questions a build context answers. Paths are relative to the context
/// root, with no `..` left in them.
pub trait ContextFiles {
    /// Whether anything (file or directory) is at `path`.
    fn exists(&self, path: &Path) -> bool;
    /// The names of the entries of directory `dir`; `None` when it cannot be read.
    fn names_in(&self, dir: &Path) -> Option<Vec<String>>;
    /// A directory, or a file with its first `head_bytes` bytes (fewer if it is shorter);
    /// `None` when it cannot be read.
    fn entry(&self, path: &Path, head_bytes: usize) -> Option<Entry>;
    /// The contents of the regular file at `path`, when it is one, lies inside the context
    /// once symlinks are resolved, and is no larger than `limit` bytes: at most `limit + 1`
    /// bytes are returned, so a file that grew meanwhile shows as too large.
    fn read(&self, path: &Path, limit: u64) -> Option<Vec<u8>>;
}

/// [`BuildContext::classify`](crate::transform::BuildContext::classify) over `files`.
pub fn classify(files: &impl ContextFiles, source: &str) -> SourceKind {
    let Some(relative) = inside_context(source) else {
        return SourceKind::Unknown;
    };
    let Some(paths) = expand(files, &relative) else {
        return SourceKind::Unknown;
    };
    if paths.is_empty() {
        return SourceKind::Missing;
    }
    let mut kind = SourceKind::Plain;
    for path in paths {
        match file_kind(files, &path) {
            SourceKind::Plain => {}
            SourceKind::Archive => return SourceKind::Archive,
            other => kind = other,
        }
    }
    kind
}

/// [`BuildContext::read_text`](crate::transform::BuildContext::read_text) over `files`.
pub fn read_text(files: &impl ContextFiles, path: &str) -> Option<String> {
    let relative = inside_context(path)?;
    if relative.as_os_str().is_empty() || relative.to_string_lossy().contains(GLOB_CHARS) {
        return None;
    }
    let bytes = files.read(&relative, MAX_TEXT_FILE_BYTES)?;
    if bytes.len() as u64 > MAX_TEXT_FILE_BYTES || bytes.contains(&0) {
        return None;
    }
    String::from_utf8(bytes).ok()
}

/// The source as a path inside the context, or `None` if it leaves it.
fn inside_context(source: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in Path::new(source.trim_start_matches('/')).components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir if out.pop() => {}
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

const GLOB_CHARS: &[char] = &['*', '?', '['];

/// The paths a source names. Wildcards are matched in their own directory only; a wildcard
/// in a directory part is not resolved (`None`).
fn expand(files: &impl ContextFiles, relative: &Path) -> Option<Vec<PathBuf>> {
    let text = relative.to_string_lossy();
    if !text.contains(GLOB_CHARS) {
        return Some(if files.exists(relative) { vec![relative.to_path_buf()] } else { Vec::new() });
    }
    let name = relative.file_name()?.to_string_lossy().into_owned();
    let parent = relative.parent().unwrap_or(Path::new(""));
    if parent.to_string_lossy().contains(GLOB_CHARS) || name.contains('[') {
        return None;
    }
    let mut matched: Vec<PathBuf> = files
        .names_in(parent)?
        .into_iter()
        .filter(|entry| glob_match(&name, entry))
        .map(|entry| parent.join(entry))
        .collect();
    matched.sort();
    Some(matched)
}

/// `*` and `?` matching, as Docker's filepath.Match does within one path component.
fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The bytes that show whether a file is a tar archive: the `ustar` magic sits at 257.
const HEAD_BYTES: usize = 512;

/// A directory is plain (ADD does not unpack archives inside directories); a file is an
/// archive when its first bytes say tar, gzip, bzip2, xz or zstd.
fn file_kind(files: &impl ContextFiles, path: &Path) -> SourceKind {
    match files.entry(path, HEAD_BYTES) {
        None => SourceKind::Unknown,
        Some(Entry::Directory) => SourceKind::Plain,
        Some(Entry::File { head }) if is_archive(&head) => SourceKind::Archive,
        Some(Entry::File { .. }) => SourceKind::Plain,
    }
}

/// Magic numbers of the formats ADD unpacks (sources: the gzip, bzip2, xz and zstd format
/// specifications; POSIX ustar).
fn is_archive(head: &[u8]) -> bool {
    const COMPRESSED: &[&[u8]] = &[
        &[0x1f, 0x8b],                         // gzip
        b"BZh",                                // bzip2
        &[0xfd, b'7', b'z', b'X', b'Z', 0x00], // xz
        &[0x28, 0xb5, 0x2f, 0xfd],             // zstd
    ];
    COMPRESSED.iter().any(|magic| head.starts_with(magic)) || head.get(257..262) == Some(b"ustar")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*.jar", "app.jar"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("*.jar", "app.jar.txt"));
        assert!(glob_match("*", ""));
    }

    #[test]
    fn context_escape_is_unknown() {
        assert_eq!(inside_context("../x"), None);
        assert_eq!(inside_context("/a/../b"), Some(PathBuf::from("b")));
    }
}
