//! Reading Dockerfiles safely and writing them back atomically.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};

/// Files larger than this are declined unless `--max-file-size` says otherwise: the largest
/// real Dockerfiles are tens of kilobytes.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

/// Reads a file as UTF-8 text, refusing binary files and invalid UTF-8 with a message that
/// says where, and files over [`DEFAULT_MAX_FILE_SIZE`].
pub fn read_text(path: &Path) -> Result<String> {
    read_text_limited(path, DEFAULT_MAX_FILE_SIZE)
}

/// [`read_text`] with a size limit: a larger file is declined without being read, and so is
/// anything that is not a regular file (a FIFO would block, `/dev/zero` never ends).
pub fn read_text_limited(path: &Path, max_bytes: u64) -> Result<String> {
    let file = open_regular_file(path)?;
    let size = file.metadata().with_context(|| format!("{}: cannot read", path.display()))?.len();
    let too_large = || {
        anyhow!(
            "{}: {size} bytes, larger than the {max_bytes}-byte limit (--max-file-size); not read",
            path.display()
        )
    };
    if size > max_bytes {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    // The file may grow after the check: never read more than the limit.
    file.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_large());
    }
    text_from_bytes(&bytes).map_err(|reason| anyhow!("{}{reason}", path.display()))
}

/// Opens `path` for reading if it is a regular file (after symlinks). The open does not wait
/// for a writer when the path is a FIFO; the type is checked on the opened file, so it cannot
/// be swapped in between.
fn open_regular_file(path: &Path) -> Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let kind = file.metadata().with_context(|| format!("{}: cannot read", path.display()))?.file_type();
    if kind.is_dir() {
        bail!("{}: is a directory, not a Dockerfile", path.display());
    }
    if !kind.is_file() {
        bail!("{}: not a regular file (a FIFO, socket or device); not read", path.display());
    }
    Ok(file)
}

/// Validates bytes as a Dockerfile's text. The error starts with `:LINE: ` or `: `, to follow
/// the file name.
pub fn text_from_bytes(bytes: &[u8]) -> std::result::Result<String, String> {
    let line_at = |offset: usize| bytes[..offset].iter().filter(|b| **b == b'\n').count() + 1;
    if let Some(order) = utf16_byte_order(bytes) {
        return Err(format!(
            ":1: UTF-16 text ({order} byte order mark); dockfix reads UTF-8 Dockerfiles only (convert with `iconv -f UTF-16 -t UTF-8`)"
        ));
    }
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

fn utf16_byte_order(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0xFF, 0xFE, ..] => Some("little-endian"),
        [0xFE, 0xFF, ..] => Some("big-endian"),
        _ => None,
    }
}

/// Writes `content` over the file at `path` (atomically, see [`write_atomic`]) if the file
/// still holds `expected`, the text it was fixed from. Another program's edit made since is
/// never overwritten; a file another dockfix already fixed the same way is left as it is.
pub fn replace_if_unchanged(path: &Path, expected: &str, content: &str) -> Result<()> {
    let limit = expected.len().max(content.len()) as u64 + 1;
    let mut current = Vec::new();
    match std::fs::File::open(path) {
        Ok(file) => file.take(limit).read_to_end(&mut current),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            bail!("{}: disappeared since it was read; not written", path.display())
        }
        Err(error) => Err(error),
    }
    .with_context(|| format!("{}: cannot read before writing", path.display()))?;
    if current == content.as_bytes() {
        return Ok(());
    }
    if current != expected.as_bytes() {
        bail!("{}: changed since it was read; not written (run dockfix again)", path.display());
    }
    write_atomic(path, content)
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
