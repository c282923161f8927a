//! Reading Dockerfiles safely and writing them back atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};

/// Reads a file as UTF-8 text, refusing binary files and invalid UTF-8 with a message that
/// says where.
pub fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    text_from_bytes(&bytes).map_err(|reason| anyhow!("{}{reason}", path.display()))
}

/// Validates bytes as a Dockerfile's text. The error starts with `:LINE: ` or `: `, to follow
/// the file name.
pub fn text_from_bytes(bytes: &[u8]) -> std::result::Result<String, String> {
    let line_at = |offset: usize| bytes[..offset].iter().filter(|b| **b == b'\n').count() + 1;
    if let Some(offset) = bytes.iter().position(|b| *b == 0) {
        return Err(format!(
            ":{}: binary file (NUL byte at offset {offset}); not a Dockerfile",
            line_at(offset)
        ));
    }
    match String::from_utf8(bytes.to_vec()) {
        Ok(text) => Ok(text),
        Err(error) => {
            let offset = error.utf8_error().valid_up_to();
            Err(format!(
                ":{}: not valid UTF-8 (byte offset {offset}); dockfix reads UTF-8 Dockerfiles only",
                line_at(offset)
            ))
        }
    }
}

/// Replaces the file's content atomically: a temporary file in the same directory, with the
/// original's permissions (and owner, when allowed), renamed over it. A symlink is followed
/// and its target rewritten, so the link stays a link.
pub fn write_atomic(path: &Path, content: &str) -> Result<()> {
    let target = resolve_symlinks(path)?;
    let metadata = std::fs::metadata(&target).with_context(|| format!("{}: cannot read", path.display()))?;
    if metadata.permissions().readonly() {
        bail!("{}: file is read-only; not rewritten", path.display());
    }
    let dir = target.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut temp = tempfile::Builder::new().prefix(".dockfix-").tempfile_in(dir).with_context(|| {
        format!("{}: cannot create a temporary file in {}", path.display(), dir.display())
    })?;
    temp.write_all(content.as_bytes()).with_context(|| format!("{}: cannot write", path.display()))?;
    temp.as_file().sync_all().with_context(|| format!("{}: cannot write", path.display()))?;
    std::fs::set_permissions(temp.path(), metadata.permissions())
        .with_context(|| format!("{}: cannot keep permissions", path.display()))?;
    keep_owner(temp.path(), &metadata);
    temp.persist(&target).map_err(|error| anyhow!("{}: cannot replace: {}", path.display(), error.error))?;
    Ok(())
}

fn resolve_symlinks(path: &Path) -> Result<PathBuf> {
    let is_link = std::fs::symlink_metadata(path).map(|m| m.file_type().is_symlink()).unwrap_or(false);
    if !is_link {
        return Ok(path.to_path_buf());
    }
    std::fs::canonicalize(path).with_context(|| format!("{}: cannot follow symlink", path.display()))
}

#[cfg(unix)]
fn keep_owner(temp: &Path, metadata: &std::fs::Metadata) {
    use std::os::unix::fs::MetadataExt;
    // Only root may give a file away; for anyone else the temp file is already theirs.
    let _ = std::os::unix::fs::chown(temp, Some(metadata.uid()), Some(metadata.gid()));
}

#[cfg(not(unix))]
fn keep_owner(_temp: &Path, _metadata: &std::fs::Metadata) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_nul_and_invalid_utf8_with_line() {
        assert_eq!(
            text_from_bytes(b"FROM a\n\0").unwrap_err(),
            ":2: binary file (NUL byte at offset 7); not a Dockerfile"
        );
        let err = text_from_bytes(b"FROM a\nRUN \xff\n").unwrap_err();
        assert!(err.starts_with(":2: not valid UTF-8 (byte offset 11)"), "{err}");
        assert_eq!(text_from_bytes("FROM é\n".as_bytes()).unwrap(), "FROM é\n");
    }
}
