//! What `--verify` reads from a built image: its configuration (from the builder's inspect
//! JSON, whichever builder's shape) and its filesystem (a mounted directory, read without
//! running anything in the image, so shell-less images are read too).

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The parts of an image's configuration the checks read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageConfig {
    /// `User`, `""` when unset (root).
    pub user: String,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// `NAME=VALUE` pairs.
    pub env: Vec<String>,
    /// Every history entry's `created_by`, oldest first.
    pub history: Vec<String>,
    /// The image's size as the builder reports it, when it does.
    pub size: Option<u64>,
}

impl ImageConfig {
    /// Reads `buildah inspect --type image` (`OCIv1.config`, `OCIv1.history`) or `docker|podman
    /// image inspect` (`[{"Config": ..., "Size": ...}]`) output.
    pub fn from_inspect(json: &str) -> Result<ImageConfig, String> {
        let value: Value =
            serde_json::from_str(json).map_err(|error| format!("inspect output is not JSON: {error}"))?;
        let value = match value {
            Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
            other => other,
        };
        let (config, history) = if value.get("OCIv1").is_some() {
            (&value["OCIv1"]["config"], &value["OCIv1"]["history"])
        } else if value.get("Config").is_some() {
            (&value["Config"], &Value::Null)
        } else {
            return Err("inspect output has neither `OCIv1` nor `Config`".to_string());
        };
        let history = history
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|entry| entry["created_by"].as_str().map(str::to_string))
            .collect();
        Ok(ImageConfig {
            user: config["User"].as_str().unwrap_or_default().to_string(),
            entrypoint: strings(&config["Entrypoint"]),
            cmd: strings(&config["Cmd"]),
            env: strings(&config["Env"]),
            history,
            size: value["Size"].as_u64(),
        })
    }

    /// ENTRYPOINT followed by CMD: what the container starts.
    pub fn start_command(&self) -> Vec<String> {
        self.entrypoint.iter().chain(&self.cmd).cloned().collect()
    }
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().into_iter().flatten().filter_map(|item| item.as_str().map(str::to_string)).collect()
}

/// Whether a configured user (`name`, `uid`, `name:group`, `uid:gid`) is root.
pub fn is_root_user(user: &str) -> bool {
    matches!(user.split(':').next().unwrap_or_default().trim(), "" | "root" | "0")
}

/// What a scan of an image's filesystem found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilesystemFacts {
    /// Regular files with a setuid or setgid bit, as paths inside the image, sorted.
    pub setuid_files: Vec<String>,
    /// Bytes of the regular files (apparent sizes, hard links once).
    pub bytes: u64,
    /// `/etc/passwd`, when it is a regular file (not a link that could lead out of the image).
    pub passwd: Option<String>,
    /// Files that hold one of the [`Needles`] searched for (secret values).
    pub secret_hits: Vec<String>,
}

/// Secret values searched for in every regular file of an image (its layers' result). The
/// values themselves are never shown: a hit names the file.
#[derive(Debug, Clone, Default)]
pub struct Needles {
    values: Vec<Vec<u8>>,
}

impl Needles {
    /// The values to look for (empty values are dropped: they are everywhere).
    pub fn new(values: Vec<String>) -> Needles {
        Needles {
            values: values.into_iter().filter(|value| !value.is_empty()).map(String::into_bytes).collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Whether `text` holds one of the values.
    pub fn found_in(&self, text: &str) -> bool {
        self.values.iter().any(|value| contains(text.as_bytes(), value))
    }

    /// Reads `data` in chunks (overlapping by the longest value) and adds `path` to `hits`
    /// when a value occurs in it. Reads nothing when there is nothing to look for.
    pub fn search(&self, path: &str, data: &mut impl Read, hits: &mut Vec<String>) -> std::io::Result<()> {
        let Some(longest) = self.values.iter().map(Vec::len).max() else { return Ok(()) };
        let mut window: Vec<u8> = Vec::new();
        let mut chunk = vec![0u8; 1 << 20];
        loop {
            let read = data.read(&mut chunk)?;
            if read == 0 {
                return Ok(());
            }
            window.extend_from_slice(&chunk[..read]);
            if self.values.iter().any(|value| contains(&window, value)) {
                hits.push(path.to_string());
                return std::io::copy(data, &mut std::io::sink()).map(drop);
            }
            let keep = window.len().min(longest - 1);
            window.drain(..window.len() - keep);
        }
    }
}

/// Whether `needle` occurs in `haystack`: candidates found by the needle's first byte, then
/// compared whole (a secret's first byte is rare enough in binaries and text alike).
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    let Some(&first) = needle.first() else { return true };
    let mut from = 0;
    while let Some(offset) = haystack.get(from..).and_then(|rest| rest.iter().position(|&byte| byte == first))
    {
        let at = from + offset;
        if haystack[at..].starts_with(needle) {
            return true;
        }
        from = at + 1;
    }
    false
}

impl FilesystemFacts {
    /// Walks the filesystem mounted at `root`, never following a symbolic link and staying on
    /// `root`'s device (as `find -xdev`).
    /// Searches every regular file for `needles` (none: nothing is read but `/etc/passwd`).
    pub fn scan(root: &Path, needles: &Needles) -> Result<FilesystemFacts, String> {
        let device =
            fs::symlink_metadata(root).map_err(|error| format!("{}: {error}", root.display()))?.dev();
        let mut facts =
            FilesystemFacts { passwd: read_inside(root, "etc/passwd"), ..FilesystemFacts::default() };
        let mut seen_inodes = BTreeSet::new();
        let mut pending: Vec<PathBuf> = vec![root.to_path_buf()];
        while let Some(dir) = pending.pop() {
            let entries = fs::read_dir(&dir).map_err(|error| format!("{}: {error}", dir.display()))?;
            for entry in entries {
                let entry = entry.map_err(|error| format!("{}: {error}", dir.display()))?;
                let path = entry.path();
                let Ok(metadata) = fs::symlink_metadata(&path) else { continue };
                if metadata.dev() != device {
                    continue;
                }
                if metadata.is_dir() {
                    pending.push(path);
                } else if metadata.is_file() {
                    if metadata.nlink() <= 1 || seen_inodes.insert(metadata.ino()) {
                        facts.bytes += metadata.len();
                    }
                    let inside = path.strip_prefix(root).map_or(path.clone(), Path::to_path_buf);
                    let inside = format!("/{}", inside.display());
                    if !needles.is_empty() {
                        if let Ok(mut file) = fs::File::open(&path) {
                            needles
                                .search(&inside, &mut file, &mut facts.secret_hits)
                                .map_err(|error| format!("{}: {error}", path.display()))?;
                        }
                    }
                    if metadata.mode() & 0o6000 != 0 {
                        facts.setuid_files.push(inside);
                    }
                }
            }
        }
        facts.setuid_files.sort();
        facts.secret_hits.sort();
        Ok(facts)
    }

    /// The passwd entry of `user` (a name or a UID), as `(name, uid)`.
    pub fn passwd_entry(&self, user: &str) -> Option<(String, u32)> {
        self.passwd.as_deref()?.lines().find_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let uid: u32 = fields.nth(1)?.parse().ok()?;
            (name == user || user.parse() == Ok(uid)).then(|| (name.to_string(), uid))
        })
    }
}

/// A file's text read under `root`, unless a component of `relative` is a symbolic link (an
/// image's absolute link would lead to the host's file).
fn read_inside(root: &Path, relative: &str) -> Option<String> {
    let mut path = root.to_path_buf();
    for component in relative.split('/') {
        path.push(component);
        if fs::symlink_metadata(&path).ok()?.file_type().is_symlink() {
            return None;
        }
    }
    fs::read(&path).ok().map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn reads_buildah_and_docker_inspect_output() {
        let buildah = r#"{"OCIv1": {"config": {"User": "app", "Cmd": ["/bin/sh", "-c", "serve"],
            "Env": ["PATH=/bin"]}, "history": [{"created_by": "/bin/sh -c #(nop) ADD x"},
            {"created_by": "RUN useradd app"}]}}"#;
        let config = ImageConfig::from_inspect(buildah).expect("buildah shape");
        assert_eq!(config.user, "app");
        assert_eq!(config.start_command(), ["/bin/sh", "-c", "serve"]);
        assert_eq!(config.history, ["/bin/sh -c #(nop) ADD x", "RUN useradd app"]);
        let docker =
            r#"[{"Config": {"User": "", "Entrypoint": ["/app"], "Cmd": ["--port", "80"]}, "Size": 1234}]"#;
        let config = ImageConfig::from_inspect(docker).expect("docker shape");
        assert_eq!((config.user.as_str(), config.size), ("", Some(1234)));
        assert_eq!(config.start_command(), ["/app", "--port", "80"]);
        assert!(ImageConfig::from_inspect("{}").is_err());
        assert!(ImageConfig::from_inspect("not json").is_err());
    }

    #[test]
    fn root_is_empty_root_or_zero() {
        for user in ["", "root", "0", "0:0", "root:app"] {
            assert!(is_root_user(user), "{user}");
        }
        for user in ["app", "10001", "10001:10001", "65532:0"] {
            assert!(!is_root_user(user), "{user}");
        }
    }

    #[test]
    fn scan_counts_setuid_files_without_following_links() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        fs::create_dir_all(root.join("etc")).expect("etc");
        fs::create_dir_all(root.join("usr/bin")).expect("usr/bin");
        fs::write(root.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\napp:x:10001:10001::/home/app:\n")
            .expect("passwd");
        for (name, mode) in [("su", 0o4755), ("wall", 0o2755), ("ls", 0o755)] {
            let path = root.join("usr/bin").join(name);
            fs::write(&path, b"12345").expect("file");
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("mode");
        }
        std::os::unix::fs::symlink("/usr/bin/su", root.join("usr/bin/su-link")).expect("link");
        let facts = FilesystemFacts::scan(root, &Needles::new(vec!["12345".into()])).expect("scan");
        assert_eq!(facts.setuid_files, ["/usr/bin/su", "/usr/bin/wall"]);
        assert_eq!(facts.secret_hits, ["/usr/bin/ls", "/usr/bin/su", "/usr/bin/wall"]);
        assert_eq!(facts.bytes, 15 + fs::metadata(root.join("etc/passwd")).expect("passwd").len());
        assert_eq!(facts.passwd_entry("app"), Some(("app".to_string(), 10001)));
        assert_eq!(facts.passwd_entry("10001"), Some(("app".to_string(), 10001)));
        assert_eq!(facts.passwd_entry("nobody"), None);
    }

    #[test]
    fn a_value_split_across_chunks_is_found() {
        let needles = Needles::new(vec!["needle-value".into(), String::new()]);
        let mut data = vec![b'x'; (1 << 20) - 4];
        data.extend_from_slice(b"needle-value tail");
        let mut hits = Vec::new();
        needles.search("/f", &mut data.as_slice(), &mut hits).expect("search");
        assert_eq!(hits, ["/f"]);
        let mut hits = Vec::new();
        needles.search("/g", &mut b"no needle here".as_slice(), &mut hits).expect("search");
        assert!(hits.is_empty());
        assert!(needles.found_in("ENV X=needle-value"));
    }

    #[test]
    fn a_linked_passwd_is_not_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(dir.path().join("etc")).expect("etc");
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("etc/passwd")).expect("link");
        let facts = FilesystemFacts::scan(dir.path(), &Needles::default()).expect("scan");
        assert_eq!(facts.passwd, None);
    }
}
