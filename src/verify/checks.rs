//! The checks on a fixed image that read what was built, without running it: its configured
//! user and its setuid/setgid files. Each compares with the original where a fix that did not
//! apply would otherwise be blamed.

use super::image::{is_root_user, FilesystemFacts, ImageConfig, Needles};
use super::report::{Check, CheckName, Status};

/// How many setuid files evidence lists by name.
const LISTED_FILES: usize = 10;

/// The image is one that is not root and whose user resolves: a name in the image's
/// `/etc/passwd`, or a numeric UID (numeric by design: distroless, scratch). An image that
/// runs as root as the original did, where non-root-user changed nothing (it declined), is
/// skipped, not failed: nothing was fixed to check.
pub fn user(original: &ImageConfig, fixed: &ImageConfig, facts: &FilesystemFacts, user_fixed: bool) -> Check {
    let check = |status, evidence: String| Check { check: CheckName::User, status, evidence };
    let user = fixed.user.as_str();
    if is_root_user(user) {
        let shown = if user.is_empty() { "no USER (root)".to_string() } else { format!("`{user}`") };
        if !user_fixed && is_root_user(&original.user) {
            return check(
                Status::Skipped,
                format!("{shown}, as the original: non-root-user changed nothing"),
            );
        }
        return check(Status::Failed, format!("the fixed image runs as root: {shown}"));
    }
    let name = user.split(':').next().unwrap_or_default();
    let entry = facts.passwd_entry(name);
    if let Ok(uid) = name.parse::<u32>() {
        let known = entry.map_or_else(
            || "no /etc/passwd entry".to_string(),
            |(name, _)| format!("`{name}` in /etc/passwd"),
        );
        return check(Status::Passed, format!("`{user}`: UID {uid}, numeric by design ({known})"));
    }
    match (entry, &facts.passwd) {
        (Some((_, uid)), _) => {
            check(Status::Passed, format!("`{user}`: UID {uid} in the image's /etc/passwd"))
        }
        (None, Some(_)) => check(
            Status::Failed,
            format!("`{user}` is not in the image's /etc/passwd: the container cannot start as it"),
        ),
        (None, None) => check(
            Status::Failed,
            format!("`{user}` cannot resolve: the image has no /etc/passwd (use a numeric USER)"),
        ),
    }
}

/// No setuid or setgid file is left in the final filesystem. Files left where strip-setuid
/// changed nothing (declined: a shell-less image, a base whose binaries need their bits) are
/// reported as skipped with the count; left after strip-setuid ran, they fail.
pub fn setuid(before: &FilesystemFacts, after: &FilesystemFacts, setuid_fixed: bool) -> Check {
    let check = |status, evidence: String| Check { check: CheckName::Setuid, status, evidence };
    let (count_before, count_after) = (before.setuid_files.len(), after.setuid_files.len());
    let counts = format!("{count_before} before, {count_after} after");
    if count_after == 0 {
        return check(Status::Passed, format!("no setuid/setgid files ({counts})"));
    }
    let mut listed: Vec<&str> = after.setuid_files.iter().take(LISTED_FILES).map(String::as_str).collect();
    if count_after > LISTED_FILES {
        listed.push("...");
    }
    let files = listed.join(", ");
    if setuid_fixed {
        check(Status::Failed, format!("{counts}, left after strip-setuid: {files}"))
    } else {
        check(Status::Skipped, format!("{counts} (strip-setuid changed nothing): {files}"))
    }
}

/// No secret value that env-secrets moved out of the file is in the fixed image: not in its
/// config's environment, not in its history (build arguments, commands), not in any file of
/// its filesystem. Evidence names where, never the value.
pub fn secrets(needles: &Needles, config: &ImageConfig, facts: &FilesystemFacts) -> Check {
    let check = |status, evidence: String| Check { check: CheckName::Secrets, status, evidence };
    if needles.is_empty() {
        return check(Status::Skipped, "env-secrets moved no literal value out of the file".to_string());
    }
    let mut found = Vec::new();
    if config.env.iter().any(|pair| needles.found_in(pair)) {
        found.push("the config's Env".to_string());
    }
    let history = config.history.iter().filter(|entry| needles.found_in(entry)).count();
    if history > 0 {
        found.push(format!("{history} history entr{}", if history == 1 { "y" } else { "ies" }));
    }
    if !facts.secret_hits.is_empty() {
        let listed: Vec<&str> = facts.secret_hits.iter().take(LISTED_FILES).map(String::as_str).collect();
        found.push(format!("files: {}", listed.join(", ")));
    }
    if found.is_empty() {
        check(Status::Passed, "no moved secret value in the config, the history or the files".to_string())
    } else {
        check(Status::Failed, format!("a moved secret value is still in the image: {}", found.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(user: &str) -> ImageConfig {
        ImageConfig { user: user.to_string(), ..ImageConfig::default() }
    }

    fn facts(passwd: Option<&str>, setuid: &[&str]) -> FilesystemFacts {
        FilesystemFacts {
            setuid_files: setuid.iter().map(|file| file.to_string()).collect(),
            bytes: 0,
            passwd: passwd.map(str::to_string),
            secret_hits: Vec::new(),
        }
    }

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\napp:x:10001:10001::/home/app:/sbin/nologin\n";

    #[test]
    fn a_user_in_passwd_passes_and_a_missing_one_fails() {
        let image = facts(Some(PASSWD), &[]);
        let passed = user(&config(""), &config("app"), &image, true);
        assert_eq!(passed.status, Status::Passed, "{}", passed.evidence);
        assert!(passed.evidence.contains("UID 10001"), "{}", passed.evidence);
        let missing = user(&config(""), &config("ghost"), &image, true);
        assert_eq!(missing.status, Status::Failed);
        assert!(
            missing.evidence.contains("`ghost` is not in the image's /etc/passwd"),
            "{}",
            missing.evidence
        );
        let no_passwd = user(&config(""), &config("app"), &facts(None, &[]), true);
        assert_eq!(no_passwd.status, Status::Failed);
    }

    #[test]
    fn numeric_users_pass_by_design() {
        let check = user(&config(""), &config("65532:65532"), &facts(None, &[]), true);
        assert_eq!(check.status, Status::Passed);
        assert!(check.evidence.contains("numeric by design"), "{}", check.evidence);
    }

    #[test]
    fn root_fails_unless_nothing_changed_the_user() {
        assert_eq!(
            user(&config(""), &config("root"), &facts(Some(PASSWD), &[]), true).status,
            Status::Failed
        );
        assert_eq!(user(&config(""), &config(""), &facts(Some(PASSWD), &[]), false).status, Status::Skipped);
        assert_eq!(
            user(&config("app"), &config("0"), &facts(Some(PASSWD), &[]), false).status,
            Status::Failed
        );
    }

    #[test]
    fn a_moved_secret_found_anywhere_fails_without_showing_it() {
        let needles = Needles::new(vec!["tok-123456789".into()]);
        let clean =
            ImageConfig { env: vec!["PATH=/bin".into()], history: vec!["RUN make".into()], ..config("") };
        assert_eq!(secrets(&needles, &clean, &facts(None, &[])).status, Status::Passed);
        assert_eq!(secrets(&Needles::default(), &clean, &facts(None, &[])).status, Status::Skipped);
        let leaky = ImageConfig { history: vec!["ARG TOKEN=tok-123456789".into()], ..clean.clone() };
        let mut files = facts(None, &[]);
        files.secret_hits.push("/root/.npmrc".into());
        let failed = secrets(&needles, &leaky, &files);
        assert_eq!(failed.status, Status::Failed);
        assert_eq!(
            failed.evidence,
            "a moved secret value is still in the image: 1 history entry; files: /root/.npmrc"
        );
    }

    #[test]
    fn setuid_files_left_fail_only_after_strip_setuid() {
        let before = facts(None, &["/bin/su", "/usr/bin/passwd"]);
        let passed = setuid(&before, &facts(None, &[]), true);
        assert_eq!(
            (passed.status, passed.evidence.as_str()),
            (Status::Passed, "no setuid/setgid files (2 before, 0 after)")
        );
        let left = facts(None, &["/bin/su"]);
        let failed = setuid(&before, &left, true);
        assert_eq!(failed.status, Status::Failed);
        assert!(failed.evidence.ends_with("/bin/su"), "{}", failed.evidence);
        assert_eq!(setuid(&before, &left, false).status, Status::Skipped);
    }
}
