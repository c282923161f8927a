//! The few files of an image's filesystem that dockfix reads, from its layers applied in
//! order as the OCI image spec says (`image-spec/layer.md`): a layer's entries replace those
//! below; a whiteout `.wh.NAME` deletes `NAME` (and what is under it) from the layers below;
//! an opaque whiteout `.wh..wh..opq` in a directory hides everything the layers below put in
//! it. Only the wanted paths are kept ([`wanted`]): account files, os-release, the shell, the
//! user-management programs and the package databases; everything else in a layer is read
//! past and dropped.
//!
//! Symbolic and hard links count as present (`/bin/sh -> dash`); a content file that is a
//! link (`/etc/os-release -> ../usr/lib/os-release`) and a directory that is one (merged
//! `/usr`: `/bin -> usr/bin`) are followed among the kept paths.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};

use dockfix_transforms::image::facts::{FileFacts, PackageDb, PackageManager};
use thiserror::Error;

use super::parse;

/// The uncompressed bytes of an image's layers read at most (4 GiB; python:3.12 is about
/// 1 GiB): a layer that inflates beyond it (a decompression bomb) stops the reading.
pub const MAX_UNCOMPRESSED_BYTES: u64 = 4 << 30;

/// A content file larger than this is counted as present and not read (a dpkg status of a
/// large image is a few MiB).
const MAX_CONTENT_BYTES: u64 = 32 << 20;

/// The programs `user_tools` names, and the directories they are looked for in.
const USER_TOOLS: &[&str] = &["useradd", "groupadd", "adduser", "addgroup"];
const TOOL_DIRS: &[&str] = &["usr/sbin", "sbin", "bin", "usr/bin"];

/// Files whose text is read.
const CONTENT_FILES: &[&str] = &[
    "etc/passwd",
    "etc/group",
    "etc/os-release",
    "usr/lib/os-release",
    "var/lib/dpkg/status",
    "lib/apk/db/installed",
];
/// Distroless images keep one dpkg status file per package here.
const DPKG_STATUS_DIR: &str = "var/lib/dpkg/status.d/";
/// Top-level directories that merged-`/usr` images make links (`bin -> usr/bin`).
const LINKED_DIRS: &[&str] = &["bin", "sbin", "lib"];

#[derive(Debug, Error)]
pub enum LayerError {
    #[error("cannot read the layer as a tar archive: {0}")]
    Tar(#[from] std::io::Error),
    #[error("the layer is {0}-compressed, which dockfix does not read (gzip and plain tar only)")]
    Unsupported(&'static str),
    #[error("the layers inflate to more than {} GiB", MAX_UNCOMPRESSED_BYTES >> 30)]
    TooLarge,
}

/// How a kept path is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Its text is parsed.
    Content,
    /// Only whether it exists counts (a program), or where it links to (a directory).
    Presence,
}

/// Whether a path (relative, `/`-separated, as in a layer) is kept, and how.
pub fn wanted(path: &str) -> Option<Want> {
    if CONTENT_FILES.contains(&path) {
        return Some(Want::Content);
    }
    if let Some(name) = path.strip_prefix(DPKG_STATUS_DIR) {
        return (!name.is_empty() && !name.contains('/') && !name.ends_with(".md5sums"))
            .then_some(Want::Content);
    }
    // `usr/bin/sh` is `/bin/sh` when `bin` links to `usr/bin` (merged `/usr`).
    if path == "bin/sh" || path == "usr/bin/sh" || LINKED_DIRS.contains(&path) {
        return Some(Want::Presence);
    }
    let (dir, name) = path.rsplit_once('/')?;
    (TOOL_DIRS.contains(&dir) && USER_TOOLS.contains(&name)).then_some(Want::Presence)
}

/// What a layer holds at a kept path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// A regular file with its bytes (empty when only its presence is wanted, or too large).
    File(Vec<u8>),
    /// A symbolic link and its target as written.
    Symlink(String),
    /// A hard link: present; its bytes are those of its target when that was kept.
    Hardlink(Option<Vec<u8>>),
}

/// The kept paths of an image's filesystem, layer by layer.
#[derive(Debug)]
pub struct Rootfs {
    entries: BTreeMap<String, Entry>,
    /// Uncompressed bytes read so far, against `max_inflated`.
    inflated: u64,
    max_inflated: u64,
}

impl Default for Rootfs {
    fn default() -> Self {
        Rootfs { entries: BTreeMap::new(), inflated: 0, max_inflated: MAX_UNCOMPRESSED_BYTES }
    }
}

/// What one layer changes.
#[derive(Default)]
struct LayerChanges {
    /// Paths deleted by a whiteout, with everything under them.
    deleted: Vec<String>,
    /// Directories whose lower contents an opaque whiteout hides.
    opaque: Vec<String>,
    /// Entries added or replaced.
    added: Vec<(String, Entry)>,
}

impl Rootfs {
    /// Applies one layer blob: gzip-compressed or plain tar (told apart by its first bytes).
    pub fn apply_blob(&mut self, blob: impl Read) -> Result<(), LayerError> {
        let mut reader = BufReader::with_capacity(64 << 10, blob);
        let head = reader.fill_buf()?;
        if head.starts_with(&[0x1f, 0x8b]) {
            self.apply_tar(flate2::read::MultiGzDecoder::new(reader))
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Err(LayerError::Unsupported("zstd"))
        } else {
            self.apply_tar(reader)
        }
    }

    /// Applies one uncompressed tar layer.
    pub fn apply_tar(&mut self, tar: impl Read) -> Result<(), LayerError> {
        let mut changes = LayerChanges::default();
        let budget = self.max_inflated.saturating_sub(self.inflated);
        // One byte more than the budget tells a layer that reaches it from one that ends there.
        let mut limited = tar.take(budget + 1);
        let mut archive = tar::Archive::new(&mut limited);
        let result = self.read_entries(&mut archive, &mut changes);
        let read = (budget + 1).saturating_sub(limited.limit());
        self.inflated += read;
        if read > budget {
            return Err(LayerError::TooLarge);
        }
        result?;
        self.apply(changes);
        Ok(())
    }

    fn read_entries<R: Read>(
        &self,
        archive: &mut tar::Archive<R>,
        changes: &mut LayerChanges,
    ) -> Result<(), LayerError> {
        for entry in archive.entries()? {
            let mut entry = entry?;
            let raw = entry.path()?.to_string_lossy().into_owned();
            let path = normalize(&raw);
            let (dir, name) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
            if name == ".wh..wh..opq" {
                changes.opaque.push(dir.to_string());
                continue;
            }
            if let Some(hidden) = name.strip_prefix(".wh.") {
                changes.deleted.push(join(dir, hidden));
                continue;
            }
            let kind = entry.header().entry_type();
            if kind.is_dir() {
                // A directory replaces a link of the layers below (`bin` no longer -> usr/bin).
                if LINKED_DIRS.contains(&path.as_str()) {
                    changes.deleted.push(path);
                }
                continue;
            }
            let Some(want) = wanted(&path) else { continue };
            let link_target = || entry.link_name().ok().flatten().map(|t| t.to_string_lossy().into_owned());
            let kept = if kind.is_symlink() {
                Entry::Symlink(link_target().unwrap_or_default())
            } else if kind.is_hard_link() {
                let target = link_target().map(|t| normalize(&t)).unwrap_or_default();
                let bytes = changes
                    .added
                    .iter()
                    .rev()
                    .find(|(p, _)| *p == target)
                    .map(|(_, e)| e)
                    .or_else(|| self.entries.get(&target))
                    .and_then(|entry| match entry {
                        Entry::File(bytes) => Some(bytes.clone()),
                        _ => None,
                    });
                Entry::Hardlink(bytes)
            } else if want == Want::Content && entry.size() <= MAX_CONTENT_BYTES {
                let mut bytes = Vec::with_capacity(entry.size() as usize);
                entry.read_to_end(&mut bytes)?;
                Entry::File(bytes)
            } else {
                Entry::File(Vec::new())
            };
            changes.added.push((path, kept));
        }
        Ok(())
    }

    fn apply(&mut self, changes: LayerChanges) {
        let under = |path: &str, dir: &str| dir.is_empty() || path.starts_with(&format!("{dir}/"));
        for dir in &changes.opaque {
            self.entries.retain(|path, _| !under(path, dir));
        }
        for deleted in &changes.deleted {
            self.entries.retain(|path, _| path != deleted && !under(path, deleted));
        }
        for (path, entry) in changes.added {
            // A file or link replaces a directory of the layers below, with its contents.
            self.entries.retain(|lower, _| !under(lower, &path));
            self.entries.insert(path, entry);
        }
    }

    /// The entry at `path`, with links in its directories followed (up to a few hops), and
    /// the final link too when `follow` is set.
    fn lookup(&self, path: &str, follow: bool) -> Option<&Entry> {
        let mut path = path.to_string();
        for _ in 0..8 {
            if let Some(entry) = self.entries.get(&path) {
                match entry {
                    Entry::Symlink(target) if follow => {
                        let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
                        path = resolve(dir, target);
                        continue;
                    }
                    entry => return Some(entry),
                }
            }
            // A directory on the way may be a link (`bin/sh` with `bin -> usr/bin`).
            let linked = path.match_indices('/').map(|(at, _)| at).find_map(|at| {
                match self.entries.get(&path[..at]) {
                    Some(Entry::Symlink(target)) => {
                        let parent = path[..at].rsplit_once('/').map_or("", |(dir, _)| dir);
                        Some(format!("{}{}", resolve(parent, target), &path[at..]))
                    }
                    _ => None,
                }
            });
            path = linked?;
        }
        None
    }

    fn exists(&self, path: &str) -> bool {
        self.lookup(path, false).is_some()
    }

    fn text(&self, path: &str) -> Option<String> {
        match self.lookup(path, true)? {
            Entry::File(bytes) | Entry::Hardlink(Some(bytes)) if !bytes.is_empty() => {
                Some(String::from_utf8_lossy(bytes).into_owned())
            }
            _ => None,
        }
    }

    /// The facts of the filesystem the layers applied so far make.
    pub fn facts(&self) -> FileFacts {
        let user_tools = USER_TOOLS
            .iter()
            .filter(|tool| TOOL_DIRS.iter().any(|dir| self.exists(&format!("{dir}/{tool}"))))
            .map(|tool| tool.to_string())
            .collect();
        let mut dpkg =
            self.text("var/lib/dpkg/status").map(|text| parse::dpkg_status(&text)).unwrap_or_default();
        let distroless: Vec<&String> =
            self.entries.keys().filter(|path| path.starts_with(DPKG_STATUS_DIR)).collect();
        for path in distroless {
            dpkg.extend(self.text(path).map(|text| parse::dpkg_status(&text)).unwrap_or_default());
        }
        let packages = if !dpkg.is_empty() {
            Some(PackageDb { manager: PackageManager::Dpkg, packages: dpkg })
        } else {
            self.text("lib/apk/db/installed")
                .map(|text| PackageDb { manager: PackageManager::Apk, packages: parse::apk_installed(&text) })
        };
        FileFacts {
            os_release: ["etc/os-release", "usr/lib/os-release"]
                .iter()
                .find_map(|path| self.text(path).and_then(|text| parse::os_release(&text))),
            passwd: self.text("etc/passwd").map(|text| parse::passwd(&text)).unwrap_or_default(),
            groups: self.text("etc/group").map(|text| parse::group(&text)).unwrap_or_default(),
            has_shell: self.exists("bin/sh"),
            user_tools,
            packages,
        }
    }
}

/// A layer path without `./`, a leading or trailing `/`.
fn normalize(path: &str) -> String {
    let path = path.trim_start_matches("./").trim_start_matches('/').trim_end_matches('/');
    path.split('/').filter(|part| !part.is_empty() && *part != ".").collect::<Vec<_>>().join("/")
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// A link's target, from the directory the link is in, as a path from the root.
fn resolve(dir: &str, target: &str) -> String {
    let mut parts: Vec<&str> = if target.starts_with('/') { Vec::new() } else { dir.split('/').collect() };
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    parts.retain(|part| !part.is_empty());
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar layer from `(path, kind)`: `f:TEXT` a file, `l:TARGET` a symlink, `h:TARGET` a
    /// hard link, `d` a directory.
    fn layer(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, kind) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_mode(0o755);
            let (kind, data) = kind.split_at(1);
            let data = data.strip_prefix(':').unwrap_or(data);
            match kind {
                "f" => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_size(data.len() as u64);
                    builder.append_data(&mut header, path, data.as_bytes()).expect("file");
                }
                "d" => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_size(0);
                    builder.append_data(&mut header, path, std::io::empty()).expect("dir");
                }
                link => {
                    let kind = if link == "l" { tar::EntryType::Symlink } else { tar::EntryType::Link };
                    header.set_entry_type(kind);
                    header.set_size(0);
                    builder.append_link(&mut header, path, data).expect("link");
                }
            }
        }
        builder.into_inner().expect("tar")
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write as _;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).expect("gzip");
        encoder.finish().expect("gzip")
    }

    fn rootfs(layers: &[Vec<u8>]) -> FileFacts {
        let mut rootfs = Rootfs::default();
        for layer in layers {
            rootfs.apply_blob(layer.as_slice()).expect("layer");
        }
        rootfs.facts()
    }

    #[test]
    fn wanted_paths() {
        assert_eq!(wanted("etc/passwd"), Some(Want::Content));
        assert_eq!(wanted("usr/sbin/useradd"), Some(Want::Presence));
        assert_eq!(wanted("var/lib/dpkg/status.d/libc6"), Some(Want::Content));
        assert_eq!(wanted("var/lib/dpkg/status.d/libc6.md5sums"), None);
        assert_eq!(wanted("usr/local/bin/useradd"), None);
        assert_eq!(wanted("etc/shadow"), None);
    }

    #[test]
    fn files_links_and_gzip_layers() {
        let base = gzip(&layer(&[
            ("./etc/", "d"),
            ("./etc/passwd", "f:root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n"),
            ("./etc/group", "f:root:x:0:\napp:x:1000:\n"),
            ("./usr/lib/os-release", "f:ID=debian\nVERSION_ID=\"12\"\n"),
            ("./etc/os-release", "l:../usr/lib/os-release"),
            ("./bin", "l:usr/bin"),
            ("./usr/bin/sh", "l:dash"),
            ("./usr/sbin/useradd", "f:ELF"),
            ("./usr/sbin/groupadd", "h:usr/sbin/useradd"),
        ]));
        let facts = rootfs(&[base]);
        assert_eq!(facts.passwd.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["root", "app"]);
        assert_eq!(facts.groups.len(), 2);
        assert_eq!(facts.os_release.map(|r| r.id), Some("debian".to_string()), "through the link");
        assert!(facts.has_shell, "bin/sh through bin -> usr/bin, itself a link");
        assert_eq!(facts.user_tools, ["useradd", "groupadd"]);
    }

    #[test]
    fn whiteouts_delete_from_lower_layers_only() {
        let base = layer(&[
            ("bin/sh", "f:sh"),
            ("usr/sbin/useradd", "f:x"),
            ("usr/sbin/adduser", "f:x"),
            ("etc/passwd", "f:root:x:0:0::/root:/bin/sh\n"),
        ]);
        let upper = layer(&[("usr/sbin/.wh.useradd", "f:"), ("usr/sbin/addgroup", "f:x")]);
        let facts = rootfs(&[base.clone(), gzip(&upper)]);
        assert_eq!(facts.user_tools, ["adduser", "addgroup"], "useradd deleted, addgroup added");
        assert!(facts.has_shell);

        let opaque = layer(&[("usr/sbin/.wh..wh..opq", "f:"), ("usr/sbin/groupadd", "f:x")]);
        let facts = rootfs(&[base.clone(), opaque]);
        assert_eq!(facts.user_tools, ["groupadd"], "an opaque directory hides the lower ones");

        let whole_dir = layer(&[(".wh.etc", "f:"), (".wh.bin", "f:")]);
        let facts = rootfs(&[base, whole_dir]);
        assert!(facts.passwd.is_empty() && !facts.has_shell, "a deleted directory takes its files");
    }

    #[test]
    fn package_databases() {
        let dpkg = layer(&[(
            "var/lib/dpkg/status",
            "f:Package: libpq5\nStatus: install ok installed\nVersion: 15\n\nPackage: libpq-dev\nStatus: install ok installed\nVersion: 15\nDepends: libpq5 (= 15)\n",
        )]);
        let packages = rootfs(&[dpkg]).packages.expect("dpkg");
        assert_eq!(packages.manager, PackageManager::Dpkg);
        assert_eq!(
            packages.package("libpq-dev").map(|p| p.depends.clone()),
            Some(vec!["libpq5".to_string()])
        );
        let apk = layer(&[("lib/apk/db/installed", "f:P:busybox\nV:1.36\n\n")]);
        assert_eq!(rootfs(&[apk]).packages.map(|db| db.manager), Some(PackageManager::Apk));
        let distroless = layer(&[
            ("var/lib/dpkg/status.d/base", "f:Package: base-files\nVersion: 12\n"),
            ("var/lib/dpkg/status.d/netbase", "f:Package: netbase\nVersion: 6\n"),
        ]);
        assert_eq!(rootfs(&[distroless]).packages.map(|db| db.packages.len()), Some(2));
    }

    #[test]
    fn zstd_is_refused_and_garbage_is_an_error() {
        let mut rootfs = Rootfs::default();
        assert!(matches!(
            rootfs.apply_blob(&[0x28, 0xb5, 0x2f, 0xfd, 0, 0][..]),
            Err(LayerError::Unsupported("zstd"))
        ));
        assert!(rootfs.apply_blob(&[0x1f, 0x8b, 1, 2, 3][..]).is_err());
    }

    #[test]
    fn layers_that_inflate_past_the_budget_stop_the_reading() {
        let big = "x".repeat(20_000);
        let layers = [
            layer(&[("etc/passwd", "f:root:x:0:0::/:/bin/sh\n")]),
            layer(&[("opt/blob", &format!("f:{big}"))]),
        ];
        let mut rootfs = Rootfs { max_inflated: 16_384, ..Rootfs::default() };
        rootfs.apply_blob(gzip(&layers[0]).as_slice()).expect("small enough");
        assert!(matches!(rootfs.apply_blob(gzip(&layers[1]).as_slice()), Err(LayerError::TooLarge)));
        let mut roomy = Rootfs::default();
        for layer in &layers {
            roomy.apply_blob(gzip(layer).as_slice()).expect("within the default budget");
        }
    }

    #[test]
    fn link_targets_resolve_from_their_directory() {
        assert_eq!(resolve("etc", "../usr/lib/os-release"), "usr/lib/os-release");
        assert_eq!(resolve("", "usr/bin"), "usr/bin");
        assert_eq!(resolve("usr/bin", "/bin/busybox"), "bin/busybox");
        assert_eq!(normalize("./etc/passwd"), "etc/passwd");
        assert_eq!(normalize("/usr/sbin/"), "usr/sbin");
    }
}
