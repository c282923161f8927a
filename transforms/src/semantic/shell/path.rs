//! Paths as a shell command names them: joined to the directory it runs in, `.` and `..`
//! removed, without touching any file system.

/// `path` resolved against the directory `base`, `.` and `..` removed.
pub fn join(base: &str, path: &str) -> String {
    if path.starts_with('/') {
        return normalize(path);
    }
    normalize(&format!("{base}/{path}"))
}

/// An absolute path with `.`, `..` and repeated or trailing slashes removed.
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The last component of a path.
pub fn basename(path: &str) -> &str {
    path.trim_end_matches('/').rsplit('/').next().unwrap_or(path)
}

/// The directory part of an absolute path (`/` for `/app`).
pub fn dirname(path: &str) -> String {
    match path.trim_end_matches('/').rsplit_once('/') {
        Some(("", _)) | None => "/".to_string(),
        Some((dir, _)) => dir.to_string(),
    }
}

/// Whether `path` is `dir` or lies under it.
pub fn is_under(path: &str, dir: &str) -> bool {
    dir == "/" || path == dir || path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(join("/app", "./dist/../build/"), "/app/build");
        assert_eq!(join("/app", "/abs"), "/abs");
        assert_eq!(basename("/a/b/"), "b");
        assert_eq!(dirname("/app"), "/");
        assert_eq!(dirname("/a/b"), "/a");
        assert!(is_under("/app/dist/x", "/app/dist"));
        assert!(!is_under("/app/distx", "/app/dist"));
    }
}
