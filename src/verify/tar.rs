//! Reads the facts of an image's filesystem from a tar stream (`docker export`): Docker cannot
//! mount a container's filesystem, so it is read as the archive it exports. Understands what
//! `docker export` writes: ustar headers with a prefix, PAX extended headers (`path`, `size`)
//! and GNU long names.

use std::io::{self, Read};

use super::image::{FilesystemFacts, Needles};

const BLOCK: usize = 512;

/// Scans a tar stream as [`FilesystemFacts::scan`] scans a mounted directory.
pub fn scan(mut tar: impl Read, needles: &Needles) -> io::Result<FilesystemFacts> {
    let mut facts = FilesystemFacts::default();
    let mut long_name: Option<String> = None;
    let mut pax_path: Option<String> = None;
    let mut pax_size: Option<u64> = None;
    let mut header = [0u8; BLOCK];
    loop {
        if !read_block(&mut tar, &mut header)? || header.iter().all(|&byte| byte == 0) {
            break;
        }
        let size = pax_size.take().unwrap_or(number(&header[124..136]));
        let kind = header[156];
        let name = long_name.take().or(pax_path.take()).unwrap_or_else(|| header_name(&header));
        match kind {
            b'x' => {
                let data = read_data(&mut tar, size)?;
                for (key, value) in pax_records(&data) {
                    match key {
                        "path" => pax_path = Some(value.to_string()),
                        "size" => pax_size = value.parse().ok(),
                        _ => {}
                    }
                }
            }
            b'L' => {
                let data = read_data(&mut tar, size)?;
                long_name = Some(String::from_utf8_lossy(&data).trim_end_matches('\0').to_string());
            }
            b'0' | 0 => {
                let path = format!("/{}", name.trim_start_matches("./").trim_start_matches('/'));
                let mode = number(&header[100..108]);
                if mode & 0o6000 != 0 {
                    facts.setuid_files.push(path.clone());
                }
                facts.bytes += size;
                if path == "/etc/passwd" {
                    let data = read_data(&mut tar, size)?;
                    facts.passwd = Some(String::from_utf8_lossy(&data).into_owned());
                    needles.search(&path, &mut data.as_slice(), &mut facts.secret_hits)?;
                } else {
                    needles.search(&path, &mut tar.by_ref().take(size), &mut facts.secret_hits)?;
                    skip_data(&mut tar, padded(size) - size)?;
                }
            }
            _ => skip_data(&mut tar, padded(size))?,
        }
    }
    facts.setuid_files.sort();
    Ok(facts)
}

/// Reads one block; `false` at the end of the stream.
fn read_block(tar: &mut impl Read, block: &mut [u8; BLOCK]) -> io::Result<bool> {
    match tar.read_exact(block) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(error) => Err(error),
    }
}

fn padded(size: u64) -> u64 {
    size.div_ceil(BLOCK as u64) * BLOCK as u64
}

fn read_data(tar: &mut impl Read, size: u64) -> io::Result<Vec<u8>> {
    let mut data = Vec::new();
    tar.by_ref().take(padded(size)).read_to_end(&mut data)?;
    data.truncate(usize::try_from(size).unwrap_or(usize::MAX));
    Ok(data)
}

/// Skips `size` bytes (an entry's data is padded to whole blocks: callers pass the padded
/// size, or what is left of it).
fn skip_data(tar: &mut impl Read, size: u64) -> io::Result<()> {
    io::copy(&mut tar.by_ref().take(size), &mut io::sink()).map(drop)
}

/// An octal field (NUL- or space-terminated), or GNU's base-256 form for large values.
fn number(field: &[u8]) -> u64 {
    if field.first().is_some_and(|&byte| byte & 0x80 != 0) {
        return field[1..].iter().fold(0u64, |value, &byte| value.wrapping_shl(8) | u64::from(byte));
    }
    let text = String::from_utf8_lossy(field);
    u64::from_str_radix(text.trim_matches(|c: char| c == '\0' || c == ' '), 8).unwrap_or(0)
}

/// `prefix/name` of a ustar header.
fn header_name(header: &[u8; BLOCK]) -> String {
    let field = |bytes: &[u8]| {
        let end = bytes.iter().position(|&byte| byte == 0).unwrap_or(bytes.len());
        String::from_utf8_lossy(&bytes[..end]).into_owned()
    };
    let (name, prefix) = (field(&header[0..100]), field(&header[345..500]));
    if &header[257..262] == b"ustar" && !prefix.is_empty() {
        format!("{prefix}/{name}")
    } else {
        name
    }
}

/// The `LEN key=value\n` records of a PAX header.
fn pax_records(data: &[u8]) -> Vec<(&str, &str)> {
    let text = std::str::from_utf8(data).unwrap_or_default();
    text.lines()
        .filter_map(|record| record.split_once(' ').and_then(|(_, pair)| pair.split_once('=')))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt as _;
    use std::process::Command;

    #[test]
    fn reads_what_tar_writes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("root");
        let long_dir = root.join("opt").join("a-directory-name-long-enough".repeat(4));
        fs::create_dir_all(root.join("etc")).expect("etc");
        fs::create_dir_all(&long_dir).expect("long dir");
        fs::write(root.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\napp:x:10001:10001::/:\n")
            .expect("passwd");
        let su = long_dir.join("su");
        fs::write(&su, "the token s3cr3t-value is here").expect("su");
        fs::set_permissions(&su, fs::Permissions::from_mode(0o4755)).expect("mode");
        std::os::unix::fs::symlink("/etc/passwd", root.join("link")).expect("link");
        let archive = dir.path().join("fs.tar");
        for format in ["pax", "gnu", "ustar"] {
            let status = Command::new("tar")
                .arg(format!("--format={format}"))
                .arg("-cf")
                .arg(&archive)
                .arg("-C")
                .arg(&root)
                .arg(".")
                .status()
                .expect("tar runs");
            if !status.success() {
                // ustar cannot hold the long name: that format is read where tar can write it.
                assert_eq!(format, "ustar");
                continue;
            }
            let needles = Needles::new(vec!["s3cr3t-value".to_string()]);
            let facts = scan(fs::File::open(&archive).expect("archive"), &needles).expect("scan");
            let su_path = format!("/opt/{}/su", "a-directory-name-long-enough".repeat(4));
            assert_eq!(facts.setuid_files, std::slice::from_ref(&su_path), "{format}");
            assert_eq!(facts.passwd_entry("app"), Some(("app".to_string(), 10001)), "{format}");
            assert_eq!(facts.secret_hits, [su_path], "{format}");
            assert!(facts.bytes > 30, "{format}");
        }
    }

    #[test]
    fn numbers_are_octal_or_base_256() {
        assert_eq!(number(b"0004755\0"), 0o4755);
        assert_eq!(number(b"00000000012 "), 10);
        assert_eq!(number(&[0x80, 0, 0, 0, 0, 0, 0, 1, 0]), 256);
    }
}
