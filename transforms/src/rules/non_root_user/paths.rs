//! Directories the new user is given, and those it must never own.

use crate::edit::Finding;
// A file with another escape character is a Windows file, which non-root-user leaves alone
// before it reads any path.
use crate::semantic::quoting::{argument_values, DEFAULT_ESCAPE};
use crate::semantic::shell::{command_words, text_commands};
use crate::semantic::stages::chain_instructions;
use crate::semantic::variables::substitute;
use crate::syntax::{Dockerfile, Instruction, Stage};

use super::choose::env_pairs;
use super::ID;

/// System directories a new user must not own, and trees under which it must own nothing.
pub(super) const SYSTEM_DIRECTORIES: &[&str] = &[
    "/",
    "/bin",
    "/sbin",
    "/lib",
    "/lib64",
    "/usr",
    "/usr/local",
    "/usr/src",
    "/usr/share",
    "/etc",
    "/var",
    "/var/lib",
    "/opt",
    "/home",
    "/root",
    "/tmp",
    "/run",
];
pub(super) const SYSTEM_TREES: &[&str] = &[
    "/bin/",
    "/sbin/",
    "/lib/",
    "/lib64/",
    "/etc/",
    "/proc/",
    "/sys/",
    "/dev/",
    "/usr/bin/",
    "/usr/sbin/",
    "/usr/lib/",
    "/usr/local/bin/",
    "/usr/local/sbin/",
    "/usr/local/lib/",
    "/var/lib/apt/",
    "/var/lib/dpkg/",
    "/var/lib/rpm/",
    "/var/lib/dnf/",
    "/var/lib/yum/",
    "/var/lib/apk/",
    "/var/run/",
    "/run/",
];

/// The image's working directory at byte `at`, when it is an application directory the new
/// user may own (so the app can create files in it; what is already in it stays root's).
/// Variables are resolved from the `ENV`s and `ARG` defaults before it (`WORKDIR $DIR` with
/// `ENV DIR=/data`).
pub(super) fn working_directory(file: &Dockerfile, chain: &[&Stage], at: usize) -> Option<String> {
    let instructions = chain_instructions(file, chain);
    let workdir =
        instructions.iter().rfind(|instruction| instruction.is("WORKDIR") && instruction.span.end <= at)?;
    let dir = resolve_variables(&instructions, workdir.args.trim(), workdir.span.start)?;
    application_directory(&dir)
}

/// A literal absolute path outside the system directories, without its trailing `/`.
fn application_directory(path: &str) -> Option<String> {
    let dir = path.trim_end_matches('/');
    let literal = dir.starts_with('/')
        && !dir.contains(|c: char| c.is_whitespace() || matches!(c, '$' | '"' | '\'' | '\\' | '*' | '?'));
    let system = SYSTEM_DIRECTORIES.contains(&dir)
        || SYSTEM_TREES.iter().any(|tree| dir.starts_with(tree) || Some(dir) == tree.strip_suffix('/'));
    (literal && !system).then(|| dir.to_string())
}

/// `text` with `$NAME`/`${NAME}`/`${NAME:-default}` replaced by the values the `ENV`s and
/// `ARG` defaults before byte `at` give them; `None` when one has no known value.
pub(super) fn resolve_variables(instructions: &[&Instruction], text: &str, at: usize) -> Option<String> {
    if !text.contains('$') {
        return Some(text.to_string());
    }
    let mut values: Vec<(String, String)> = Vec::new();
    for instruction in instructions.iter().filter(|i| i.span.end <= at) {
        if instruction.is("ENV") {
            values.extend(env_pairs(instruction));
        } else if instruction.is("ARG") {
            let defaults = instruction.words.iter().filter_map(|word| word.text.split_once('='));
            values.extend(
                defaults.map(|(name, value)| (name.to_string(), value.trim_matches('"').to_string())),
            );
        }
    }
    let lookup = |name: &str| values.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let resolved = substitute(text, lookup)?;
    (!resolved.contains('$')).then_some(resolved)
}

/// The application directories the image declares as `VOLUME`s, resolved, each with the
/// `VOLUME` that declares it first: the process writes there (a volume is where state
/// lives), so the user must own them.
pub(super) fn volume_directories<'a>(
    file: &'a Dockerfile,
    chain: &[&'a Stage],
) -> Vec<(String, &'a Instruction)> {
    let instructions = chain_instructions(file, chain);
    let mut dirs: Vec<(String, &Instruction)> = Vec::new();
    for volume in instructions.iter().filter(|i| i.is("VOLUME")) {
        for path in volume_paths(volume) {
            let resolved = resolve_variables(&instructions, path.trim_matches('"'), volume.span.start);
            let Some(dir) = resolved.as_deref().and_then(application_directory) else {
                continue;
            };
            if !dirs.iter().any(|(known, _)| *known == dir) {
                dirs.push((dir, volume));
            }
        }
    }
    dirs
}

/// ENV names whose value is the directory where a program keeps the state it writes at run
/// time: exact names (Jenkins: "JENKINS_HOME is where Jenkins stores all its data", the
/// Jenkins handbook; transmission-daemon(1): "TRANSMISSION_HOME: sets the configuration
/// directory", where it also writes its resume and torrent files) and suffixes of the
/// `<APP>_DATA_DIR` convention.
const DATA_DIRECTORY_NAMES: &[&str] = &["JENKINS_HOME", "TRANSMISSION_HOME", "DATA_DIR"];

/// Flags of a start command whose value is the directory the program writes its data to,
/// as `--flag DIR` or `--flag=DIR`: mongod(1) `--dbpath`, mysqld `--datadir`,
/// CouchPotato's `--data_dir`, and the `--data-dir`/`--state-dir`/`--log-dir`/
/// `--storage-path` spellings of the same convention.
const DATA_DIRECTORY_FLAGS: &[&str] =
    &["--data_dir", "--data-dir", "--datadir", "--dbpath", "--state-dir", "--log-dir", "--storage-path"];
const DATA_DIRECTORY_SUFFIXES: &[&str] = &["_DATA_DIR", "_DATA_PATH", "_STATE_DIR", "_LOG_DIR", "_LOGS_DIR"];

/// The application directories `ENV` names as where the process keeps its state
/// ([`DATA_DIRECTORY_NAMES`]), resolved: the new user must own them, or the program fails
/// the first time it writes there.
pub(super) fn data_directories(file: &Dockerfile, chain: &[&Stage]) -> Vec<String> {
    let instructions = chain_instructions(file, chain);
    let mut dirs: Vec<String> = Vec::new();
    for env in instructions.iter().filter(|i| i.is("ENV")) {
        for (name, value) in env_pairs(env) {
            let data = DATA_DIRECTORY_NAMES.contains(&name.as_str())
                || DATA_DIRECTORY_SUFFIXES.iter().any(|suffix| name.ends_with(suffix));
            if !data {
                continue;
            }
            let resolved = resolve_variables(&instructions, &value, env.span.start);
            if let Some(dir) = resolved.as_deref().and_then(application_directory) {
                if !dirs.contains(&dir) && !already_given(file, chain, &dir) {
                    dirs.push(dir);
                }
            }
        }
    }
    let program_directory = start_program_directory(&instructions);
    let state_directories = state_directories_made(&instructions);
    for (value, at) in
        start_command_data_flags(&instructions).into_iter().chain(program_directory).chain(state_directories)
    {
        let resolved = resolve_variables(&instructions, &value, at);
        if let Some(dir) = resolved.as_deref().and_then(application_directory) {
            if !dirs.contains(&dir) && !already_given(file, chain, &dir) {
                dirs.push(dir);
            }
        }
    }
    dirs
}

/// The effective `ENTRYPOINT` and `CMD` of the image, with their index in `instructions`.
pub(super) fn start_instructions<'a>(instructions: &[&'a Instruction]) -> Vec<(usize, &'a Instruction)> {
    ["ENTRYPOINT", "CMD"]
        .iter()
        .filter_map(|keyword| {
            let index = instructions.iter().rposition(|i| i.is(keyword))?;
            Some((index, instructions[index]))
        })
        .collect()
}

/// Where the FHS puts what programs write while they run: "state information that programs
/// modify while they run" (/var/lib), caches (/var/cache), logs (/var/log). Filesystem
/// Hierarchy Standard 3.0, chapter 5. (/run is left to the system, as everywhere here.)
const STATE_ROOTS: &[&str] = &["/var/lib/", "/var/cache/", "/var/log/"];

/// The directories a `RUN` makes with `mkdir` under a state root (`mkdir -p
/// /var/lib/acme/acme-sh` makes `/var/lib/acme` and `/var/lib/acme/acme-sh`): the build
/// prepares them for the program to write in, so the new user must own them.
fn state_directories_made(instructions: &[&Instruction]) -> Vec<(String, usize)> {
    let mut made = Vec::new();
    for run in instructions.iter().filter(|instruction| instruction.is("RUN")) {
        for command in text_commands(run).iter().filter(|command| command.program() == "mkdir") {
            for path in command.operands().filter(|path| !path.contains('$')) {
                let Some(root) = STATE_ROOTS.iter().find(|root| path.starts_with(**root)) else { continue };
                let mut dir = root.trim_end_matches('/').to_string();
                for part in path[root.len()..].split('/').filter(|part| !part.is_empty()) {
                    dir = format!("{dir}/{part}");
                    if !made.iter().any(|(known, _)| known == &dir) {
                        made.push((dir.clone(), run.span.start));
                    }
                }
            }
        }
    }
    made
}

/// The directory of the program the container starts, when it is named by an absolute path
/// (`CMD ["/opt/domoticz/domoticz"]`): programs installed in an application directory of
/// their own often write there (a database, logs, a PID file next to the binary). Only an
/// application directory counts (not `/`, `/usr/bin`, ...), and it is given alone.
fn start_program_directory(instructions: &[&Instruction]) -> Option<(String, usize)> {
    // The ENTRYPOINT starts when there is one; a CMD after it is its arguments.
    let (_, start) = start_instructions(instructions).into_iter().next()?;
    let program = command_words(start).into_iter().next()?;
    let (dir, _) = program.rsplit_once('/')?;
    (program.starts_with('/') && !dir.is_empty()).then(|| (dir.to_string(), start.span.start))
}

/// The values of [`DATA_DIRECTORY_FLAGS`] in the last `ENTRYPOINT` and the last `CMD` (the
/// ones the container starts with), with where each instruction starts.
fn start_command_data_flags(instructions: &[&Instruction]) -> Vec<(String, usize)> {
    let mut values = Vec::new();
    for (_, start) in start_instructions(instructions) {
        let words = command_words(start);
        for (index, word) in words.iter().enumerate() {
            let value = DATA_DIRECTORY_FLAGS.iter().find_map(|flag| {
                let rest = word.strip_prefix(flag)?;
                match rest.strip_prefix('=') {
                    Some(value) => Some(value.to_string()),
                    None if rest.is_empty() => words.get(index + 1).cloned(),
                    None => None,
                }
            });
            // The exec form runs no shell: a `$` there is a literal, not a variable.
            let literal_dollar =
                start.exec_form.is_some() && value.as_deref().is_some_and(|v| v.contains('$'));
            if let Some(value) = value.filter(|_| !literal_dollar) {
                values.push((value, start.span.start));
            }
        }
    }
    values
}

/// Where a `COPY`/`ADD` writes, when that is inside a system tree ([`SYSTEM_TREES`]:
/// `/usr/bin/`, `/etc/`, ...): files there are the system's, read by every user, and the
/// new user must not be able to rewrite them, so they get no `--chown`. A relative
/// destination is taken from the `WORKDIR` before it; a variable resolved from the `ENV`s
/// and `ARG` defaults before it.
pub(super) fn system_destination(instructions: &[&Instruction], copy: &Instruction) -> Option<String> {
    let absolute = copy_destination(instructions, copy)?;
    // Into `/` itself: whatever is copied lands in the system's trees (`COPY --from=img / /`).
    if absolute.trim_end_matches('/').is_empty() {
        return Some("/".to_string());
    }
    let system = SYSTEM_TREES
        .iter()
        .any(|tree| absolute.starts_with(tree) || Some(absolute.as_str()) == tree.strip_suffix('/'));
    system.then_some(absolute)
}

/// The absolute path a `COPY`/`ADD` writes to: a relative destination is taken from the
/// `WORKDIR` before it; a variable resolved from the `ENV`s and `ARG` defaults before it.
pub(super) fn copy_destination(instructions: &[&Instruction], copy: &Instruction) -> Option<String> {
    let destination = argument_values(copy, DEFAULT_ESCAPE).pop()?;
    let destination = resolve_variables(instructions, &destination, copy.span.start)?;
    if destination.starts_with('/') {
        return Some(destination);
    }
    let workdir = instructions
        .iter()
        .rfind(|instruction| instruction.is("WORKDIR") && instruction.span.end <= copy.span.start)?;
    let dir = resolve_variables(instructions, workdir.args.trim(), workdir.span.start)?;
    let relative = destination.trim_start_matches("./");
    if relative.is_empty() || relative == "." {
        return Some(dir);
    }
    Some(format!("{}/{relative}", dir.trim_end_matches('/')))
}

/// The paths of a `VOLUME`, in JSON or plain form.
fn volume_paths(volume: &Instruction) -> Vec<String> {
    argument_values(volume, DEFAULT_ESCAPE)
}

/// Directories every user may write already (sticky, mode 1777 in every distro's base).
const WORLD_WRITABLE: &[&str] = &["/tmp", "/var/tmp", "/dev/shm"];

/// A `VOLUME` path the fix cannot give the user: a variable it cannot resolve, or a system
/// directory (but not one every user may write). Named in the risk.
pub(super) fn volumes_left_alone(file: &Dockerfile, chain: &[&Stage]) -> Vec<String> {
    let instructions = chain_instructions(file, chain);
    let given: Vec<String> = volume_directories(file, chain).into_iter().map(|(dir, _)| dir).collect();
    instructions
        .iter()
        .filter(|i| i.is("VOLUME"))
        .flat_map(|volume| volume_paths(volume))
        .map(|path| path.trim_matches('"').to_string())
        .filter(|path| !WORLD_WRITABLE.contains(&path.trim_end_matches('/')))
        .filter(|path| {
            let resolved = resolve_variables(&instructions, path, usize::MAX);
            resolved.is_none_or(|resolved| !given.contains(&resolved.trim_end_matches('/').to_string()))
        })
        .collect()
}

/// Whether the file already gives `dir` away (`chown`/`chmod` of it in a `RUN`).
pub(super) fn already_given(file: &Dockerfile, chain: &[&Stage], dir: &str) -> bool {
    // Read command by command: a directory only made (`mkdir -p /a/b`) in a RUN that also
    // chmods its parent (`chmod 1777 /a`) is not given away.
    chain_instructions(file, chain).iter().filter(|i| i.is("RUN")).any(|run| {
        text_commands(run).iter().any(|command| {
            matches!(command.program(), "chown" | "chmod")
                && command.operands().any(|operand| operand.trim_end_matches('/') == dir)
        })
    })
}

/// A finding without fix when an `ENV` points a tool's home, cache or path into `/root`
/// (`GRADLE_USER_HOME=/root/.gradle`, `PATH=/root/.local/bin:$PATH`): `/root` is 0700 on
/// Debian and Alpine (0550 on RHEL), so a non-root user can neither read nor write there and
/// the tool breaks. Moving the tool's home is the file author's call.
pub(super) fn tool_home_in_root(file: &Dockerfile, chain: &[&Stage]) -> Option<Finding> {
    let instructions = chain_instructions(file, chain);
    instructions.iter().filter(|i| i.is("ENV")).find_map(|env| {
        let (variable, value) = env_pairs(env).into_iter().find(|(_, value)| {
            value.split(':').any(|path| path == "/root" || path.starts_with("/root/"))
        })?;
        Some(Finding::new(
            ID,
            env.start_line,
            format!(
                "`{variable}={value}` puts a tool's files in `/root`, which only root may enter (0700): a non-root user cannot use them; move them (for example to `/opt` or the user's home) and add a `USER` by hand: left as is"
            ),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantic::stages::stage_chain;

    fn with_chain<T>(text: &str, check: impl Fn(&Dockerfile, &[&Stage]) -> T) -> T {
        let file = Dockerfile::parse(text);
        let stage = file.final_stage().unwrap();
        let chain = stage_chain(&file, stage);
        check(&file, &chain)
    }

    #[test]
    fn data_directories_named_by_env() {
        let dirs = with_chain(
            "FROM debian\nENV JENKINS_HOME /jenkins\nENV BASE=/srv\nENV APP_DATA_DIR=$BASE/data X_LOG_DIR=/var/log/x Y_STATE_DIR=/etc/y\nCMD x\n",
            data_directories,
        );
        assert_eq!(
            dirs,
            ["/jenkins", "/srv/data", "/var/log/x"],
            "legacy and pair forms, variables resolved (from earlier instructions, as Docker does), system trees left out"
        );
        let dirs =
            with_chain("FROM debian\nENV JENKINS_HOME=/j\nRUN chown -R 1000 /j\nCMD x\n", data_directories);
        assert!(dirs.is_empty(), "a directory the file already gives away: {dirs:?}");
        let dirs = with_chain("FROM debian\nENV MAVEN_HOME=/opt/maven DATA=/d\nCMD x\n", data_directories);
        assert!(dirs.is_empty(), "install homes and other names are not data: {dirs:?}");
    }

    #[test]
    fn the_start_programs_own_directory_is_data() {
        let dirs = with_chain("FROM debian\nCMD [\"/opt/domoticz/domoticz\"]\n", data_directories);
        assert_eq!(dirs, ["/opt/domoticz"]);
        let dirs =
            with_chain("FROM debian\nENTRYPOINT /opt/x/run --flag\nCMD [\"/opt/y/z\"]\n", data_directories);
        assert_eq!(dirs, ["/opt/x"], "the ENTRYPOINT is what starts");
        for text in [
            "FROM debian\nCMD [\"/usr/local/bin/app\"]\n",
            "FROM debian\nCMD [\"/entrypoint.sh\"]\n",
            "FROM debian\nCMD [\"app\"]\n",
        ] {
            assert!(
                with_chain(text, data_directories).is_empty(),
                "system trees, / and PATH lookups: {text}"
            );
        }
    }

    #[test]
    fn state_directories_the_build_makes_are_data() {
        let dirs = with_chain(
            "FROM alpine\nRUN apk add x && mkdir -p /var/lib/acme/acme-sh /srv/x\nCMD x\n",
            data_directories,
        );
        assert_eq!(dirs, ["/var/lib/acme", "/var/lib/acme/acme-sh"]);
        let dirs = with_chain(
            "FROM alpine\nRUN mkdir /var/cache/app $DIR && echo mkdir /var/log/no\nCMD x\n",
            data_directories,
        );
        assert_eq!(dirs, ["/var/cache/app"], "a variable is not a path; echoed text is not a command");
    }

    #[test]
    fn data_directories_named_by_start_flags() {
        let dirs = with_chain(
            "FROM python:3\nENV BASE=/srv\nENTRYPOINT python app.py --dbpath=$BASE/db\nCMD [\"--data_dir\", \"/data\"]\n",
            data_directories,
        );
        assert_eq!(dirs, ["/srv/db", "/data"], "both spellings; the shell form's variable resolved");
        let dirs = with_chain("FROM debian\nENV B=/b\nCMD [\"x\", \"--datadir=$B/d\"]\n", data_directories);
        assert!(dirs.is_empty(), "the exec form runs no shell: `$B` stays literal: {dirs:?}");
        let dirs = with_chain(
            "FROM debian\nCMD mongod --dbpath /var/lib/x --data-dirs /d --log-dir /usr\n",
            data_directories,
        );
        assert_eq!(dirs, ["/var/lib/x"], "look-alike flags and system directories are not data");
        let dirs =
            with_chain("FROM debian\nCMD [\"x\", \"--data-dir\", \"/a\"]\nCMD [\"y\"]\n", data_directories);
        assert!(dirs.is_empty(), "only the last CMD starts: {dirs:?}");
    }

    #[test]
    fn workdir_variables_are_resolved() {
        let dir = |text: &str| with_chain(text, |file, chain| working_directory(file, chain, usize::MAX));
        assert_eq!(dir("FROM debian\nENV DIR=/data\nWORKDIR $DIR\nCMD x\n").as_deref(), Some("/data"));
        assert_eq!(
            dir("FROM debian\nARG APP=/srv/app\nWORKDIR ${APP}/\nCMD x\n").as_deref(),
            Some("/srv/app")
        );
        assert_eq!(
            dir("FROM debian\nENV APP_HOME /opt/svc\nWORKDIR $APP_HOME\nCMD x\n").as_deref(),
            Some("/opt/svc")
        );
        assert_eq!(dir("FROM debian\nWORKDIR $UNKNOWN\nCMD x\n"), None);
        assert_eq!(dir("FROM debian\nENV D=/etc/x\nWORKDIR $D\nCMD x\n"), None, "system tree");
        // An ENV after the WORKDIR does not count.
        assert_eq!(dir("FROM debian\nWORKDIR $D\nENV D=/data\nCMD x\n"), None);
    }

    #[test]
    fn volumes_are_resolved_and_system_ones_left_alone() {
        let text = "FROM debian\nENV DATA=/hadoop/dfs/name\nVOLUME $DATA /kafka\nVOLUME [\"/var/lib/app\", \"/tmp\"]\nVOLUME /kafka $NOPE\nCMD x\n";
        let (given, left) = with_chain(text, |file, chain| {
            let given: Vec<(String, usize)> = volume_directories(file, chain)
                .into_iter()
                .map(|(dir, volume)| (dir, volume.start_line))
                .collect();
            (given, volumes_left_alone(file, chain))
        });
        let declared = |dir: &str, line: usize| (dir.to_string(), line);
        assert_eq!(
            given,
            [declared("/hadoop/dfs/name", 3), declared("/kafka", 3), declared("/var/lib/app", 4)]
        );
        assert_eq!(left, ["$NOPE"], "/tmp is everyone's already");
    }

    #[test]
    fn a_directory_the_file_gives_away_is_not_given_again() {
        let text = "FROM debian\nRUN mkdir /data && chown -R 1000 /data/\nVOLUME /data /logs\nCMD x\n";
        with_chain(text, |file, chain| {
            assert!(already_given(file, chain, "/data"));
            assert!(!already_given(file, chain, "/logs"));
        });
        let text = "FROM alpine\nRUN mkdir -p /t/config /t/watch && chmod 1777 /t\nCMD x\n";
        with_chain(text, |file, chain| {
            assert!(already_given(file, chain, "/t"));
            assert!(!already_given(file, chain, "/t/config"), "only made, in a RUN that chmods its parent");
        });
    }

    #[test]
    fn copies_into_system_trees_and_root_are_system_destinations() {
        let file = Dockerfile::parse(
            "FROM debian\nWORKDIR /usr/local/bin\nCOPY a .\nCOPY --from=x / /\nCOPY b /etc/b.conf\nCOPY c /srv/c\n",
        );
        let instructions: Vec<&Instruction> = file.instructions.iter().collect();
        let destinations: Vec<Option<String>> = instructions
            .iter()
            .filter(|i| i.is("COPY"))
            .map(|copy| system_destination(&instructions, copy))
            .collect();
        assert_eq!(
            destinations,
            [
                Some("/usr/local/bin".to_string()),
                Some("/".to_string()),
                Some("/etc/b.conf".to_string()),
                None
            ],
            "`.` is the working directory itself"
        );
    }

    #[test]
    fn tool_homes_in_root_decline() {
        let declined = |text: &str| with_chain(text, tool_home_in_root).map(|finding| finding.message);
        let gradle = declined("FROM debian\nENV GRADLE_USER_HOME=/root/.gradle\nCMD x\n").unwrap();
        assert!(
            gradle.contains("GRADLE_USER_HOME=/root/.gradle") && gradle.contains("left as is"),
            "{gradle}"
        );
        assert!(declined("FROM debian\nENV PATH=/root/.local/bin:$PATH\nCMD x\n").is_some());
        assert!(declined("FROM debian\nENV CARGO_HOME /root/.cargo\nCMD x\n").is_some());
        assert!(declined("FROM debian\nENV GRADLE_USER_HOME=/opt/gradle ROOTDIR=/rootfs\nCMD x\n").is_none());
    }
}
