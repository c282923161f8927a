//! Finding Dockerfiles under the paths the user gave.

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};

/// The files to process: named files as they are, directories searched (honouring
/// `.gitignore`), in a stable order, each file once. Stops at the first error; see
/// [`Dockerfiles`] for the streaming form that reports errors and goes on.
pub fn dockerfiles(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    Dockerfiles::new(paths.to_vec()).map(|found| found.map_err(|(_, error)| error)).collect()
}

/// A path argument or a directory entry that could not be searched, with the reason.
pub type DiscoveryError = (PathBuf, anyhow::Error);

/// The Dockerfiles under the given paths, found one at a time so that 100,000 files do not
/// have to be listed before the first is fixed. Named files come as they are; directories are
/// walked depth-first, each directory's entries sorted by name (the order of sorting the full
/// paths), honouring `.gitignore`. A file reached twice (`Dockerfile .`, a symlink to a file
/// also found) comes once, the first time.
pub struct Dockerfiles {
    args: std::vec::IntoIter<PathBuf>,
    walk: Option<DirWalk>,
    seen: SeenFiles,
}

struct DirWalk {
    root: PathBuf,
    /// The root with symlinks resolved: a regular file's canonical path is this plus its path
    /// below the root, without a system call per file.
    canonical_root: PathBuf,
    entries: ignore::Walk,
    found: usize,
}

impl Dockerfiles {
    pub fn new(paths: Vec<PathBuf>) -> Dockerfiles {
        Dockerfiles { args: paths.into_iter(), walk: None, seen: SeenFiles::default() }
    }

    fn start(&mut self, path: PathBuf) -> Option<Result<PathBuf, DiscoveryError>> {
        let metadata = match std::fs::metadata(&path) {
            Ok(metadata) => metadata,
            Err(error) => {
                let error = anyhow!(error).context(format!("{}: cannot read", path.display()));
                return Some(Err((path, error)));
            }
        };
        if !metadata.is_dir() {
            let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            return self.seen.first_time(&canonical).then_some(Ok(path));
        }
        let canonical_root = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        let entries = ignore::WalkBuilder::new(&path)
            .hidden(false)
            .require_git(false)
            .filter_entry(|entry| entry.file_name() != ".git")
            .sort_by_file_name(|a, b| a.cmp(b))
            .build();
        self.walk = Some(DirWalk { root: path, canonical_root, entries, found: 0 });
        None
    }
}

impl Iterator for Dockerfiles {
    type Item = Result<PathBuf, DiscoveryError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let Some(walk) = &mut self.walk else {
                let path = self.args.next()?;
                match self.start(path) {
                    Some(found) => return Some(found),
                    None => continue,
                }
            };
            let Some(entry) = walk.entries.next() else {
                let walk = self.walk.take()?;
                if walk.found == 0 {
                    let root = walk.root.display();
                    let error = anyhow!(
                        "{root}: no Dockerfiles found (looked for Dockerfile, Containerfile, *.Dockerfile, *.dockerfile, Dockerfile.*, Containerfile.*)"
                    );
                    return Some(Err((walk.root, error)));
                }
                continue;
            };
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    let error = anyhow!(error).context(format!("{}: cannot search", walk.root.display()));
                    return Some(Err((walk.root.clone(), error)));
                }
            };
            let kind = entry.file_type();
            let is_link = kind.is_some_and(|kind| kind.is_symlink());
            let is_file = kind.is_some_and(|kind| kind.is_file()) || is_link;
            if !is_file || !is_dockerfile_name(&entry.file_name().to_string_lossy()) {
                continue;
            }
            walk.found += 1;
            let path = entry.into_path();
            let canonical = match path.strip_prefix(&walk.root) {
                Ok(below) if !is_link => walk.canonical_root.join(below),
                _ => std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone()),
            };
            if self.seen.first_time(&canonical) {
                return Some(Ok(without_leading_dot(path)));
            }
        }
    }
}

/// One find of a walk: a Dockerfile, or what could not be searched.
pub type Found = Result<PathBuf, DiscoveryError>;

/// A walk that a run needs twice (the facts step reads the files before any is fixed): the
/// first pass keeps what it finds, so that the second hands it out again instead of walking
/// the tree again. Up to `keep_at_most` finds: beyond that the second pass walks again, so
/// memory does not grow with the tree.
pub struct RecordedWalk {
    paths: Vec<PathBuf>,
    kept: Vec<Found>,
    keep_at_most: usize,
    /// The first pass ran to the end with every find kept.
    complete: bool,
}

impl RecordedWalk {
    pub fn new(paths: Vec<PathBuf>, keep_at_most: usize) -> RecordedWalk {
        RecordedWalk { paths, kept: Vec::new(), keep_at_most, complete: false }
    }

    /// The first pass: the Dockerfiles found (errors are left to the second pass to report).
    pub fn first_pass(&mut self) -> FirstPass<'_> {
        self.kept.clear();
        self.complete = false;
        FirstPass { walk: Dockerfiles::new(self.paths.clone()), recorded: self, overflowed: false }
    }

    /// Every find (errors too) in order: as the first pass kept them when it ran to the end
    /// with all of them kept, otherwise from a new walk.
    pub fn second_pass(self) -> SecondPass {
        if self.complete {
            SecondPass::Kept(self.kept.into_iter())
        } else {
            SecondPass::Walked(Box::new(Dockerfiles::new(self.paths)))
        }
    }
}

/// See [`RecordedWalk::first_pass`].
pub struct FirstPass<'a> {
    walk: Dockerfiles,
    recorded: &'a mut RecordedWalk,
    overflowed: bool,
}

impl Iterator for FirstPass<'_> {
    type Item = PathBuf;

    fn next(&mut self) -> Option<PathBuf> {
        loop {
            let Some(found) = self.walk.next() else {
                self.recorded.complete = !self.overflowed;
                return None;
            };
            let file = found.as_ref().ok().cloned();
            if !self.overflowed {
                if self.recorded.kept.len() < self.recorded.keep_at_most {
                    self.recorded.kept.push(found);
                } else {
                    self.overflowed = true;
                    self.recorded.kept = Vec::new();
                }
            }
            if file.is_some() {
                return file;
            }
        }
    }
}

/// See [`RecordedWalk::second_pass`].
pub enum SecondPass {
    Kept(std::vec::IntoIter<Found>),
    /// Boxed: a walk's state is some 500 bytes, a kept list's 32.
    Walked(Box<Dockerfiles>),
}

impl Iterator for SecondPass {
    type Item = Found;

    fn next(&mut self) -> Option<Found> {
        match self {
            SecondPass::Kept(kept) => kept.next(),
            SecondPass::Walked(walk) => walk.next(),
        }
    }
}

/// `svc/Dockerfile` rather than `./svc/Dockerfile` (the walk of `.`), as a linter names it.
fn without_leading_dot(path: PathBuf) -> PathBuf {
    match path.strip_prefix(".") {
        Ok(rest) if !rest.as_os_str().is_empty() => rest.to_path_buf(),
        _ => path,
    }
}

/// The canonical paths already handed out, kept as 128-bit fingerprints (two independently
/// keyed hashes): 16 bytes a file instead of the path, so 100,000 files cost about 2 MB. Two
/// different paths sharing a fingerprint has a probability of about n² / 2^129.
struct SeenFiles {
    keys: (RandomState, RandomState),
    fingerprints: HashSet<u128>,
}

impl Default for SeenFiles {
    fn default() -> Self {
        SeenFiles { keys: (RandomState::new(), RandomState::new()), fingerprints: HashSet::new() }
    }
}

impl SeenFiles {
    fn first_time(&mut self, canonical: &Path) -> bool {
        let high = u128::from(self.keys.0.hash_one(canonical));
        let low = u128::from(self.keys.1.hash_one(canonical));
        self.fingerprints.insert(high << 64 | low)
    }
}

/// `Dockerfile`, `Containerfile`, `*.Dockerfile`, `*.dockerfile`, `Dockerfile.*`,
/// `Containerfile.*`.
pub fn is_dockerfile_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ["dockerfile", "containerfile"].iter().any(|base| {
        lower == *base
            || lower.strip_prefix(base).is_some_and(|rest| rest.starts_with('.'))
            || lower.strip_suffix(base).is_some_and(|rest| rest.ends_with('.'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for yes in [
            "Dockerfile",
            "Containerfile",
            "api.Dockerfile",
            "x.dockerfile",
            "Dockerfile.dev",
            "Containerfile.arm",
        ] {
            assert!(is_dockerfile_name(yes), "{yes}");
        }
        for no in ["README.md", "dockerfile-notes.txt", "MyDockerfile", ".dockerignore"] {
            assert!(!is_dockerfile_name(no), "{no}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn walk_order_is_the_order_of_sorted_paths_and_each_file_comes_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for name in ["b/Dockerfile", "a.Dockerfile", "a/Dockerfile", "a/z/x.Dockerfile", "a-b/Dockerfile"] {
            let path = root.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, "FROM a\n").unwrap();
        }
        std::os::unix::fs::symlink("b/Dockerfile", root.join("0.Dockerfile")).unwrap();
        let args = vec![root.join("a/Dockerfile"), root.to_path_buf(), root.join("a")];
        let found: Vec<PathBuf> = Dockerfiles::new(args).map(|found| found.unwrap()).collect();
        let relative: Vec<String> =
            found.iter().map(|path| path.strip_prefix(root).unwrap().display().to_string()).collect();
        // a/Dockerfile comes first, as an argument; b/Dockerfile came as 0.Dockerfile.
        let expected = ["a/Dockerfile", "0.Dockerfile", "a/z/x.Dockerfile", "a-b/Dockerfile", "a.Dockerfile"];
        assert_eq!(relative, expected);
    }

    /// Each find as text, errors by their message.
    fn described(found: impl Iterator<Item = Found>) -> Vec<String> {
        found
            .map(|found| match found {
                Ok(path) => path.display().to_string(),
                Err((path, error)) => format!("{}: {error:#}", path.display()),
            })
            .collect()
    }

    #[test]
    fn the_second_pass_of_a_recorded_walk_finds_what_a_new_walk_finds() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for name in ["a/Dockerfile", "b/Dockerfile", "b/c/x.Dockerfile"] {
            let path = root.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, "FROM a\n").unwrap();
        }
        std::fs::create_dir_all(root.join("empty")).unwrap();
        let paths = vec![root.join("b"), root.join("missing"), root.to_path_buf(), root.join("empty")];
        let expected = described(Dockerfiles::new(paths.clone()));
        assert_eq!(expected.len(), 5, "{expected:?}");
        // Too many to keep; the first pass not run to its end; not run at all: walked again.
        for (keep_at_most, first_pass_takes) in [(2, usize::MAX), (100, 1), (100, 0)] {
            let mut walk = RecordedWalk::new(paths.clone(), keep_at_most);
            let files: Vec<PathBuf> = walk.first_pass().take(first_pass_takes).collect();
            assert_eq!(files.len(), first_pass_takes.min(3), "{files:?}");
            assert_eq!(described(walk.second_pass()), expected, "{keep_at_most} {first_pass_takes}");
        }
        // All kept: handed out again, so a file removed in between is still there.
        let mut walk = RecordedWalk::new(paths, 100);
        assert_eq!(walk.first_pass().count(), 3);
        std::fs::remove_file(root.join("a/Dockerfile")).unwrap();
        assert_eq!(described(walk.second_pass()), expected);
    }
}
