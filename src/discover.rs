//! Finding Dockerfiles under the paths the user gave.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};

/// The files to process: named files as they are, directories searched (honouring
/// `.gitignore`), in a stable order.
pub fn dockerfiles(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        let metadata = std::fs::metadata(path).with_context(|| format!("{}: cannot read", path.display()))?;
        if !metadata.is_dir() {
            files.push(path.clone());
            continue;
        }
        let found = search(path)?;
        if found.is_empty() {
            bail!(
                "{}: no Dockerfiles found (looked for Dockerfile, Containerfile, *.Dockerfile, *.dockerfile, Dockerfile.*, Containerfile.*)",
                path.display()
            );
        }
        files.extend(found);
    }
    files.dedup();
    Ok(files)
}

fn search(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let walker = ignore::WalkBuilder::new(dir)
        .hidden(false)
        .require_git(false)
        .filter_entry(|entry| entry.file_name() != ".git")
        .build();
    for entry in walker {
        let entry = entry.with_context(|| format!("{}: cannot search", dir.display()))?;
        let is_file = entry.file_type().is_some_and(|kind| kind.is_file() || kind.is_symlink());
        if is_file && is_dockerfile_name(&entry.file_name().to_string_lossy()) {
            found.push(entry.into_path());
        }
    }
    found.sort();
    Ok(found)
}

/// `Dockerfile`, `Containerfile`, `*.Dockerfile`, `*.dockerfile`, `Dockerfile.*`,
/// `Containerfile.*`.
pub fn is_dockerfile_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ["dockerfile", "containerfile"].iter().any(|base| {
        lower == *base || lower.starts_with(&format!("{base}.")) || lower.ends_with(&format!(".{base}"))
    })
}

#[cfg(test)]
mod tests {
    use super::is_dockerfile_name;

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
}
