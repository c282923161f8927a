//! The build context on disk, as the transforms see it through [`BuildContext`].

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use dockfix_transforms::{BuildContext, SourceKind, MAX_TEXT_FILE_BYTES};

/// A directory on disk used as the build context.
pub struct DirContext {
    root: PathBuf,
}

impl DirContext {
    pub fn new(root: PathBuf) -> Self {
        DirContext { root }
    }
}

impl BuildContext for DirContext {
    fn classify(&self, source: &str) -> SourceKind {
        let Some(relative) = inside_context(source) else {
            return SourceKind::Unknown;
        };
        let paths = match expand(&self.root, &relative) {
            Some(paths) => paths,
            None => return SourceKind::Unknown,
        };
        if paths.is_empty() {
            return SourceKind::Missing;
        }
        let mut kind = SourceKind::Plain;
        for path in paths {
            match file_kind(&path) {
                SourceKind::Plain => {}
                SourceKind::Archive => return SourceKind::Archive,
                other => kind = other,
            }
        }
        kind
    }

    fn read_text(&self, path: &str) -> Option<String> {
        let relative = inside_context(path)?;
        if relative.as_os_str().is_empty() || relative.to_string_lossy().contains(GLOB_CHARS) {
            return None;
        }
        // A symlink may point out of the context: read only what really lies inside it.
        let root = self.root.canonicalize().ok()?;
        let file = root.join(&relative).canonicalize().ok()?;
        if !file.starts_with(&root) {
            return None;
        }
        let metadata = std::fs::metadata(&file).ok()?;
        if !metadata.is_file() || metadata.len() > MAX_TEXT_FILE_BYTES {
            return None;
        }
        let mut bytes = Vec::new();
        std::fs::File::open(&file).ok()?.take(MAX_TEXT_FILE_BYTES + 1).read_to_end(&mut bytes).ok()?;
        if bytes.len() as u64 > MAX_TEXT_FILE_BYTES || bytes.contains(&0) {
            return None;
        }
        String::from_utf8(bytes).ok()
    }
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
fn expand(root: &Path, relative: &Path) -> Option<Vec<PathBuf>> {
    let text = relative.to_string_lossy();
    if !text.contains(GLOB_CHARS) {
        let path = root.join(relative);
        return Some(if path.exists() { vec![path] } else { Vec::new() });
    }
    let name = relative.file_name()?.to_string_lossy().into_owned();
    let parent = relative.parent().unwrap_or(Path::new(""));
    if parent.to_string_lossy().contains(GLOB_CHARS) || name.contains('[') {
        return None;
    }
    let entries = std::fs::read_dir(root.join(parent)).ok()?;
    let mut matched: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| glob_match(&name, &entry.file_name().to_string_lossy()))
        .map(|entry| entry.path())
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

/// A directory is plain (ADD does not unpack archives inside directories); a file is an
/// archive when its first bytes say tar, gzip, bzip2, xz or zstd.
fn file_kind(path: &Path) -> SourceKind {
    let Ok(metadata) = std::fs::metadata(path) else {
        return SourceKind::Unknown;
    };
    if metadata.is_dir() {
        return SourceKind::Plain;
    }
    let mut head = [0u8; 512];
    let Ok(mut file) = std::fs::File::open(path) else {
        return SourceKind::Unknown;
    };
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(_) => return SourceKind::Unknown,
        }
    }
    if is_archive(&head[..filled]) {
        SourceKind::Archive
    } else {
        SourceKind::Plain
    }
}

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
    use dockfix_transforms::NoBuildContext;

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

    #[test]
    fn classifies_files_by_content() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("plain.txt"), "hello").unwrap();
        std::fs::write(dir.path().join("data.bin"), [0x1f, 0x8b, 8, 0]).unwrap();
        std::fs::create_dir(dir.path().join("conf")).unwrap();
        let context = DirContext::new(dir.path().to_path_buf());
        assert_eq!(context.classify("plain.txt"), SourceKind::Plain);
        assert_eq!(context.classify("./conf"), SourceKind::Plain);
        assert_eq!(context.classify("data.bin"), SourceKind::Archive);
        assert_eq!(context.classify("*.bin"), SourceKind::Archive);
        assert_eq!(context.classify("*.txt"), SourceKind::Plain);
        assert_eq!(context.classify("missing"), SourceKind::Missing);
        assert_eq!(context.classify("../outside"), SourceKind::Unknown);
    }

    #[test]
    fn reads_small_text_files_inside_the_context_only() {
        let outer = tempfile::tempdir().unwrap();
        let root = outer.path().join("context");
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::write(root.join("bin/entry.sh"), "#!/bin/sh\nexec gosu app \"$@\"\n").unwrap();
        std::fs::write(root.join("blob"), [b'a', 0, b'b']).unwrap();
        std::fs::write(root.join("latin1"), [b'c', b'a', b'f', 0xe9]).unwrap();
        std::fs::write(root.join("big"), "x".repeat(MAX_TEXT_FILE_BYTES as usize + 1)).unwrap();
        std::fs::write(outer.path().join("secret"), "outside").unwrap();
        std::os::unix::fs::symlink(outer.path().join("secret"), root.join("link")).unwrap();
        let context = DirContext::new(root);
        assert_eq!(context.read_text("/bin/entry.sh").as_deref(), Some("#!/bin/sh\nexec gosu app \"$@\"\n"));
        assert_eq!(context.read_text("./bin/../bin/entry.sh").map(|t| t.len()), Some(29));
        for absent in ["missing.sh", "bin", "blob", "latin1", "big", "../secret", "link", "bin/*.sh", "."] {
            assert_eq!(context.read_text(absent), None, "{absent}");
        }
        assert_eq!(NoBuildContext.read_text("bin/entry.sh"), None);
    }
}
