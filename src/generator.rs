//! Where a generated Dockerfile's source probably is, looked up on disk: the files its
//! header names, and the templates and generator scripts beside it or above it.

use std::path::{Path, PathBuf};

/// Directories looked at: the Dockerfile's own and this many above it. docker-library keeps
/// `apply-templates.sh` and `Dockerfile*.template` two levels above `3.12/bookworm/Dockerfile`.
const LEVELS_UP: usize = 3;

/// A generator script that is looked for even when the header does not name it: docker-library's
/// (<https://github.com/docker-library/official-images>, every image repository has one).
const KNOWN_GENERATORS: [&str; 1] = ["apply-templates.sh"];

/// Endings of template files that generate Dockerfiles (`Dockerfile.template`,
/// `Dockerfile-linux.template`, `Dockerfile.tmpl`, `Dockerfile.j2`).
const TEMPLATE_ENDINGS: [&str; 4] = [".template", ".tmpl", ".tpl", ".j2"];

/// The source files of a generated Dockerfile in `dir`, nearest directory first: in the first
/// directory (from `dir` up, not past a repository root) that has any, the files the header
/// `named` and the known generators and Dockerfile templates there. Paths are shown relative
/// to the current directory when below it, as the Dockerfiles are.
pub fn sources(dir: &Path, named: &[String]) -> Vec<String> {
    let Ok(start) = std::path::absolute(dir) else {
        return Vec::new();
    };
    let cwd = std::env::current_dir().ok();
    let mut current = Some(start.as_path());
    for _ in 0..=LEVELS_UP {
        let Some(here) = current else {
            break;
        };
        let found = sources_in(here, named);
        if !found.is_empty() {
            return found.iter().map(|path| shown(path, cwd.as_deref())).collect();
        }
        // The repository's root is as far up as a project's generator can be.
        if here.join(".git").exists() {
            break;
        }
        current = here.parent();
    }
    Vec::new()
}

fn sources_in(dir: &Path, named: &[String]) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = Vec::new();
    let names = named
        .iter()
        .filter_map(|name| Path::new(name).file_name())
        .chain(KNOWN_GENERATORS.iter().map(|name| std::ffi::OsStr::new(*name)));
    for path in names.map(|name| dir.join(name)) {
        if path.is_file() && !found.contains(&path) {
            found.push(path);
        }
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    let mut templates: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.file_name().and_then(|name| name.to_str()).is_some_and(is_dockerfile_template))
        .filter(|path| path.is_file())
        .collect();
    templates.sort();
    for template in templates {
        if !found.contains(&template) {
            found.push(template);
        }
    }
    found
}

fn is_dockerfile_template(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    (lower.starts_with("dockerfile") || lower.contains(".dockerfile"))
        && TEMPLATE_ENDINGS.iter().any(|ending| lower.ends_with(ending))
}

fn shown(path: &Path, cwd: Option<&Path>) -> String {
    let relative = cwd.and_then(|cwd| path.strip_prefix(cwd).ok()).unwrap_or(path);
    relative.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_recognised_by_name() {
        for name in
            ["Dockerfile.template", "Dockerfile-linux.template", "Dockerfile.tmpl", "app.Dockerfile.j2"]
        {
            assert!(is_dockerfile_template(name), "{name}");
        }
        for name in ["Dockerfile", "README.template", "template.sh", "Dockerfile.dev"] {
            assert!(!is_dockerfile_template(name), "{name}");
        }
    }
}
