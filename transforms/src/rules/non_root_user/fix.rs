//! The fix of non-root-user: where the user is created and switched to, the directories it
//! is given, the `--chown` of later copies, and the risk the finding names.

use super::choose::{
    chown_owner, create_command, created_users, describe_ids, numeric_user, plan, GroupChoice, Plan,
};
use super::decline::{onbuild_runs, unchecked_entrypoint};
use super::paths::{
    already_given, data_directories, system_destination, tool_home_in_root, volume_directories,
    volumes_left_alone, working_directory,
};
use super::{NewUser, ID, ROOT_WORK};
use crate::edit::{Applicability, Edit, Finding, Fix};
use crate::image::{base_written_directories, BaseFacts};
use crate::semantic::shell::{
    is_runtime_command, packages::run_installs_packages, privilege::run_strips_setuid,
};
use crate::semantic::stages::chain_instructions;
use crate::syntax::{Dockerfile, Instruction, Stage};
use crate::transform::Context;

pub(super) fn fix(context: &Context, stage: &Stage, chain: &[&Stage], facts: &BaseFacts) -> Finding {
    let file = context.file;
    if let Some(declined) = tool_home_in_root(file, chain) {
        return declined;
    }
    let placement = placement(context, stage);
    let user_keyword = context.keyword("USER");
    let run_keyword = context.keyword("RUN");
    let new_user = &context.options.get::<NewUser>();
    let mut edits = Vec::new();
    let plan = plan(file, chain, facts, new_user);
    let is_numeric = matches!(plan, Plan::Numeric { .. });
    // The directories the process writes: VOLUMEs always, the WORKDIR when the user is new.
    let volumes: Vec<(String, &Instruction)> = volume_directories(file, chain)
        .into_iter()
        .filter(|(dir, _)| !already_given(file, chain, dir))
        .collect();
    let volume_dirs: Vec<String> = volumes.iter().map(|(dir, _)| dir.clone()).collect();
    // buildah and the legacy builder keep nothing a RUN changes in a directory once a VOLUME
    // declares it: a volume declared above the RUN that creates the user is given by a RUN of
    // its own above that VOLUME (numerically, as the user may not exist yet there).
    let first_early = volumes
        .iter()
        .map(|(_, volume)| *volume)
        .filter(|volume| volume.span.start < placement.create_at)
        .min_by_key(|volume| volume.span.start);
    let early_dirs: Vec<String> = volumes
        .iter()
        .filter(|(_, volume)| volume.span.start < placement.create_at)
        .map(|(dir, _)| dir.clone())
        .collect();
    let final_stage_start = file.instructions[stage.from].span.start;
    let has_shell = facts.has_shell != Some(false)
        && chain_instructions(file, chain).iter().any(|i| i.is("RUN") && !i.opaque);
    let mut early_given = false;
    let mut give_early = |edits: &mut Vec<Edit>, owner: Option<String>| {
        let (Some(volume), Some(owner)) = (first_early, owner) else {
            return;
        };
        if volume.span.start < final_stage_start {
            return;
        }
        let at = file.insertion_point_above(volume);
        edits.push(Edit::insert(at, format!("{run_keyword} {}\n", give(&early_dirs, &owner))));
        early_given = true;
    };
    // The directories the base image's server writes (Tomcat's logs, work, ...), for any user.
    let base_dirs: Vec<String> = facts
        .image
        .as_deref()
        .map_or(&[][..], base_written_directories)
        .iter()
        .map(|dir| dir.to_string())
        .filter(|dir| !volume_dirs.contains(dir) && !already_given(file, chain, dir))
        .collect();
    let mut given: Vec<String> = Vec::new();
    let (user, group, message) = match plan {
        Plan::Refuse { why } => {
            return Finding::new(ID, placement.line, format!("the final stage runs as root, and {why}"));
        }
        Plan::Switch { user, why } => {
            let mut message = format!("the final stage runs as root: switch to `{user}`, {why}");
            let owner = chown_owner(&user, new_user, None);
            let exists_early =
                first_early.is_some_and(|volume| !created_from(file, chain, &user, volume.span.start));
            give_early(&mut edits, exists_early.then(|| owner.clone()));
            let mut late: Vec<String> =
                volume_dirs.iter().filter(|dir| !early_given || !early_dirs.contains(dir)).cloned().collect();
            // The working directory the image made as root, as for a created user; only where
            // a RUN can give it (a shell, and RUNs in the file already).
            let workdir = working_directory(file, chain, placement.user_at)
                .filter(|dir| has_shell && !volume_dirs.contains(dir) && !already_given(file, chain, dir))
                .filter(|dir| *dir != format!("/home/{user}"));
            late.splice(0..0, workdir.iter().cloned());
            let data_dirs: Vec<String> = if has_shell { base_dirs.clone() } else { Vec::new() };
            late.extend(data_dirs.iter().cloned());
            let run = (!late.is_empty()).then(|| format!("{run_keyword} {}\n", give(&late, &owner)));
            given.extend(workdir.iter().cloned());
            given.extend(volume_dirs.iter().cloned());
            given.extend(data_dirs.iter().cloned());
            message.push_str(&given_phrase(workdir.is_some(), volume_dirs.len(), data_dirs.len(), &given));
            message.push_str(" (CIS 4.1)");
            insert_run_and_user(&mut edits, &placement, run, format!("{user_keyword} {user}\n"));
            (user, None, message)
        }
        Plan::Create { family, group } => {
            let name = &new_user.name;
            let mut command = create_command(family, new_user, &group);
            let mut message = format!(
                "the final stage runs as root: create system user `{name}` ({}) unless the image has it{}",
                describe_ids(new_user, &group),
                facts.files_note()
            );
            give_early(&mut edits, Some(format!("{}:{}", new_user.id, group_id(new_user, &group))));
            // A working directory that is also a volume given above its VOLUME is given already.
            let workdir = working_directory(file, chain, placement.user_at)
                .filter(|dir| !(early_given && early_dirs.contains(dir)));
            let mut dirs: Vec<String> = workdir.iter().cloned().collect();
            let late = volume_dirs.iter().filter(|dir| !early_given || !early_dirs.contains(dir));
            dirs.extend(late.filter(|dir| Some(*dir) != workdir.as_ref()).cloned());
            let data_dirs: Vec<String> = data_directories(file, chain)
                .into_iter()
                .chain(base_dirs.iter().cloned())
                .filter(|dir| !dirs.contains(dir) && !volume_dirs.contains(dir))
                .collect();
            dirs.extend(data_dirs.iter().cloned());
            if !dirs.is_empty() {
                // The WORKDIR may only be declared after the user is created: make sure it
                // exists, so that WORKDIR keeps the owner given here.
                command.push_str(&format!(" && {}", give(&dirs, &chown_owner(name, new_user, Some(&group)))));
            }
            given.extend(workdir.iter().cloned());
            given.extend(volume_dirs.iter().filter(|dir| Some(*dir) != workdir.as_ref()).cloned());
            given.extend(data_dirs.iter().cloned());
            message.push_str(&given_phrase(workdir.is_some(), volume_dirs.len(), data_dirs.len(), &given));
            message.push_str(", and switch to it (CIS 4.1)");
            let run = format!("{run_keyword} {command}\n");
            insert_run_and_user(&mut edits, &placement, Some(run), format!("{user_keyword} {name}\n"));
            (name.clone(), Some(group), message)
        }
        Plan::Numeric { why } => {
            let numeric = numeric_user(new_user);
            let mut message =
                format!("the final stage runs as root: switch to numeric user {numeric}, {why}");
            // Without a shell (no RUN to prove one) the volumes are only named in the risk.
            let mut run = None;
            if has_shell && !(volume_dirs.is_empty() && base_dirs.is_empty()) {
                give_early(&mut edits, Some(numeric.clone()));
                let late: Vec<String> = volume_dirs
                    .iter()
                    .filter(|dir| !early_given || !early_dirs.contains(dir))
                    .chain(base_dirs.iter())
                    .cloned()
                    .collect();
                run = (!late.is_empty()).then(|| format!("{run_keyword} {}\n", give(&late, &numeric)));
                given.extend(volume_dirs.iter().cloned());
                given.extend(base_dirs.iter().cloned());
                message.push_str(&given_phrase(false, volume_dirs.len(), base_dirs.len(), &given));
            }
            message.push_str(" (CIS 4.1)");
            insert_run_and_user(&mut edits, &placement, run, format!("{user_keyword} {numeric}\n"));
            (numeric, None, message)
        }
    };
    let owner = chown_owner(&user, new_user, group.as_ref());
    let mut unowned = Vec::new();
    let mut system_copies = Vec::new();
    let mut chowned = 0;
    let stage_instructions = chain_instructions(file, chain);
    for copy in &placement.copies_after_root_work {
        if copy.flag("chown").is_some() {
            continue;
        }
        if copy.opaque {
            unowned.push(copy.start_line.to_string());
            continue;
        }
        if let Some(destination) = system_destination(&stage_instructions, copy) {
            system_copies.push(format!("{destination} on line {}", copy.start_line));
            continue;
        }
        chowned += 1;
        edits.push(Edit::insert(copy.keyword_span.end, format!(" --chown={owner}")));
    }
    let mut risk = risk(file, chain, facts, &user, is_numeric);
    if let Some(onbuild) = onbuild_runs(file, chain, &user) {
        risk.push_str("; ");
        risk.push_str(&onbuild);
    }
    if let Some(unchecked) = unchecked_entrypoint(file, chain, context.build_context) {
        risk.push_str("; ");
        risk.push_str(&unchecked);
    }
    if !system_copies.is_empty() {
        risk.push_str(&format!(
            "; what is copied into system paths stays root's, so that `{user}` cannot rewrite it ({}): `{user}` can run and read it only if it is world-readable, as files from a Git checkout or a build stage usually are",
            system_copies.join(", ")
        ));
    }
    if chowned > 0 {
        risk.push_str(&format!(
            "; files copied after the last RUN are now owned by `{owner}`: the process can rewrite its own code and entrypoint; where it must not, drop the `--chown` and make sure the files are world-readable"
        ));
    }
    let own_chown = chain_instructions(file, chain).into_iter().any(|i| {
        (i.is("COPY") || i.is("ADD"))
            && i.flag("chown").and_then(|flag| flag.value.as_deref()).is_some_and(|value| {
                value.split([':', '.']).next() == Some(user.split(':').next().unwrap_or(&user))
            })
    });
    if own_chown {
        risk.push_str(&format!("; the file's own `--chown` gives `{user}` write access to what it copies"));
    }
    if !given.is_empty() {
        risk.push_str(&format!(
            "; `{user}` now owns {} (not recursively: what is already inside stays root's)",
            given.join(", ")
        ));
        let late_volumes: Vec<&String> =
            early_dirs.iter().filter(|dir| !early_given && given.contains(dir)).collect();
        if !late_volumes.is_empty() {
            risk.push_str(&format!(
                "; VOLUME {} is declared above the RUN that gives it, and buildah and the legacy builder (DOCKER_BUILDKIT=0) discard what a RUN changes in a volume: move the VOLUME below that RUN",
                late_volumes.iter().map(|dir| dir.as_str()).collect::<Vec<_>>().join(" ")
            ));
        }
    }
    let left = volumes_left_alone(file, chain);
    if !left.is_empty() {
        risk.push_str(&format!("; VOLUME {} stays as it is: check `{user}` can write there", left.join(" ")));
    }
    if let Some(base_volumes) = base_volumes(facts, &given) {
        risk.push_str(&format!(
            "; `{}` declares VOLUME {base_volumes} itself{}: it stays root's, and a RUN here could not give it (buildah and the legacy builder discard what a RUN changes in a declared volume): check `{user}` can write there",
            facts.image.as_deref().unwrap_or_default(),
            facts.note(true)
        ));
    }
    if !unowned.is_empty() {
        risk.push_str(&format!(
            "; the COPY/ADD on line {} could not be given --chown (the parser did not understand it): check `{user}` can read what it copies",
            unowned.join(", ")
        ));
    }
    Finding::new(ID, placement.line, message).with_risk(risk).with_fix(Fix::new(Applicability::Unsafe, edits))
}

/// The volumes the base image's config declares (facts only: no table knows them) that the
/// fix does not give, space-separated; `None` when there are none or no facts.
fn base_volumes(facts: &BaseFacts, given: &[String]) -> Option<String> {
    let known = facts.known.as_ref()?;
    let volumes: Vec<&str> = known
        .facts
        .config
        .volumes
        .iter()
        .map(String::as_str)
        .filter(|volume| !given.iter().any(|dir| dir == volume))
        .collect();
    (!volumes.is_empty()).then(|| volumes.join(" "))
}

/// The `RUN` that must happen as root goes after the last root work, the `USER` before the
/// start command; one edit when both go to the same place.
/// `, give it the working directory and volumes A, B` for the fix's message; empty when
/// nothing is given.
fn given_phrase(workdir: bool, volumes: usize, data: usize, given: &[String]) -> String {
    if given.is_empty() {
        return String::new();
    }
    let plural = |count: usize, one: &'static str, many: &'static str| match count {
        0 => None,
        1 => Some(one),
        _ => Some(many),
    };
    let what: Vec<&str> = [
        workdir.then_some("working directory"),
        plural(volumes, "volume", "volumes"),
        plural(data, "data directory", "data directories"),
    ]
    .into_iter()
    .flatten()
    .collect();
    format!(", give it the {} {}", what.join(" and "), given.join(", "))
}

fn insert_run_and_user(edits: &mut Vec<Edit>, placement: &Placement, run: Option<String>, user: String) {
    match run {
        Some(run) if placement.create_at == placement.user_at => {
            edits.push(Edit::insert(placement.user_at, format!("{run}{user}")));
        }
        Some(run) => {
            edits.push(Edit::insert(placement.create_at, run));
            edits.push(Edit::insert(placement.user_at, user));
        }
        None => edits.push(Edit::insert(placement.user_at, user)),
    }
}

/// `mkdir -p DIRS && chown OWNER DIRS`: not recursive, so what a directory holds stays root's.
fn give(dirs: &[String], owner: &str) -> String {
    let dirs = dirs.join(" ");
    format!("mkdir -p {dirs} && chown {owner} {dirs}")
}

/// The GID of the group the new user goes in.
fn group_id(user: &NewUser, group: &GroupChoice) -> u32 {
    match group {
        GroupChoice::Own => user.group_id,
        GroupChoice::Existing { id, .. } => *id,
    }
}

/// Whether a `RUN` at or after byte `from` creates `user` (so it does not exist before).
fn created_from(file: &Dockerfile, chain: &[&Stage], user: &str, from: usize) -> bool {
    chain_instructions(file, chain)
        .iter()
        .filter(|i| i.is("RUN") && i.span.start >= from)
        .any(|run| created_users(&run.command_text()).iter().any(|created| created.name == user))
}

/// Where the fix puts things in the final stage.
struct Placement<'a> {
    /// After the last instruction that needs root (`RUN`, or `USER` back to root): where a
    /// user is created.
    create_at: usize,
    /// Before the first `CMD`/`ENTRYPOINT`/`HEALTHCHECK` after the last `RUN`, `COPY`, `ADD`
    /// or `USER`: where `USER` goes.
    user_at: usize,
    /// The line of the instruction `USER` goes before (the finding's line, so that a
    /// suppression comment above that instruction applies).
    line: usize,
    /// `COPY`/`ADD` between the two: they run after the user exists and get `--chown`.
    copies_after_root_work: Vec<&'a Instruction>,
}

/// Work that must happen as root before the user takes over: a `RUN`, or a `USER` (back to
/// root). A `RUN` that only strips setuid bits (strip-setuid's) does not count: it can sit
/// anywhere before `USER`, and must not push the new user below `COPY`s it should own.
fn needs_root(instruction: &Instruction) -> bool {
    if instruction.is("USER") {
        return true;
    }
    let only_strips_setuid = run_strips_setuid(instruction) && !run_installs_packages(instruction);
    instruction.is("RUN") && !only_strips_setuid
}

fn placement<'a>(context: &Context<'a>, stage: &Stage) -> Placement<'a> {
    let file: &'a Dockerfile = context.file;
    let instructions = file.stage_instructions(stage);
    let last_root = instructions.iter().rposition(needs_root).unwrap_or(0);
    let anchor = instructions
        .iter()
        .rposition(|instruction| ROOT_WORK.iter().any(|keyword| instruction.is(keyword)))
        .unwrap_or(0);
    let before = instructions[anchor + 1..].iter().find(|instruction| is_runtime_command(instruction));
    let (user_at, line) = match before {
        Some(instruction) => (context.file.insertion_point_above(instruction), instruction.start_line),
        None => {
            let last = &instructions[instructions.len() - 1];
            (last.line_span.end, last.start_line)
        }
    };
    let copies_after_root_work = instructions[last_root + 1..=anchor.max(last_root)]
        .iter()
        .filter(|instruction| instruction.is("COPY") || instruction.is("ADD"))
        .collect::<Vec<_>>();
    let create_at =
        if copies_after_root_work.is_empty() { user_at } else { instructions[last_root].line_span.end };
    Placement { create_at, user_at, line, copies_after_root_work }
}

fn risk(file: &Dockerfile, chain: &[&Stage], facts: &BaseFacts, user: &str, is_numeric: bool) -> String {
    let mut risk = format!(
        "the process runs as `{user}` instead of root: whatever it writes at run time (data, caches, PID and log files) must be in a directory that user owns; files copied or created as root are read-only to it"
    );
    if is_numeric {
        risk.push_str("; a numeric user has no home directory and no name");
    }
    let low = low_ports(file, chain);
    if !low.is_empty() {
        risk.push_str(&format!(
            "; EXPOSE {}: binding a port below 1024 as non-root works under Docker 20.10+ but fails under Kubernetes, rootless Podman and OpenShift",
            low.join(", ")
        ));
    }
    let declared = |port: &&str| low.iter().any(|written| written.split('/').next() == Some(*port));
    let (exposed, from_facts) = facts.exposed_low_ports();
    let inherited: Vec<&str> = exposed.iter().map(String::as_str).filter(|port| !declared(port)).collect();
    if !inherited.is_empty() {
        let image = facts.image.as_deref().unwrap_or_default();
        risk.push_str(&format!(
            "; `{image}` serves on port {} by itself{}: binding a port below 1024 as non-root works under Docker 20.10+ but fails under Kubernetes, rootless Podman and OpenShift (configure a port above 1023)",
            inherited.join(", "),
            facts.note(from_facts)
        ));
    }
    risk
}

/// The ports below 1024 the image EXPOSEs, as written.
fn low_ports(file: &Dockerfile, chain: &[&Stage]) -> Vec<String> {
    chain_instructions(file, chain)
        .into_iter()
        .filter(|instruction| instruction.is("EXPOSE"))
        .flat_map(|instruction| instruction.words.iter())
        .filter(|word| {
            let port = word.text.split('/').next().unwrap_or("");
            let first = port.split('-').next().unwrap_or("");
            first.parse::<u16>().is_ok_and(|port| port < 1024)
        })
        .map(|word| word.text.clone())
        .collect()
}
