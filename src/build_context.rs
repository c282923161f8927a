//! The build context on disk, as the transforms see it through [`BuildContext`]: the file
//! system calls, with what they mean decided by the core ([`context_files`]).

use std::io::Read;
use std::path::{Path, PathBuf};

use dockfix_transforms::context_files::{self, ContextFiles, Entry};
use dockfix_transforms::{BuildContext, SourceKind};

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
        context_files::classify(self, source)
    }

    fn read_text(&self, path: &str) -> Option<String> {
        context_files::read_text(self, path)
    }
}

impl ContextFiles for DirContext {
    fn exists(&self, path: &Path) -> bool {
        self.root.join(path).exists()
    }

    fn names_in(&self, dir: &Path) -> Option<Vec<String>> {
        let entries = std::fs::read_dir(self.root.join(dir)).ok()?;
        Some(
            entries
                .filter_map(|entry| entry.ok())
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect(),
        )
    }

    fn entry(&self, path: &Path, head_bytes: usize) -> Option<Entry> {
        let path = self.root.join(path);
        if std::fs::metadata(&path).ok()?.is_dir() {
            return Some(Entry::Directory);
        }
        let mut head = vec![0u8; head_bytes];
        let mut file = std::fs::File::open(&path).ok()?;
        let mut filled = 0;
        while filled < head.len() {
            match file.read(&mut head[filled..]).ok()? {
                0 => break,
                n => filled += n,
            }
        }
        head.truncate(filled);
        Some(Entry::File { head })
    }

    fn read(&self, path: &Path, limit: u64) -> Option<Vec<u8>> {
        // A symlink may point out of the context: read only what really lies inside it.
        let root = self.root.canonicalize().ok()?;
        let file = root.join(path).canonicalize().ok()?;
        if !file.starts_with(&root) {
            return None;
        }
        let metadata = std::fs::metadata(&file).ok()?;
        if !metadata.is_file() || metadata.len() > limit {
            return None;
        }
        let mut bytes = Vec::new();
        std::fs::File::open(&file).ok()?.take(limit + 1).read_to_end(&mut bytes).ok()?;
        Some(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockfix_transforms::{NoBuildContext, MAX_TEXT_FILE_BYTES};

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
