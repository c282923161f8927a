//! Runs every transform over the real Dockerfiles in `$DOCKFIX_CORPUS` (CI sets it to
//! `../shared/corpus/public`): no panic, idempotent output, and no file that parses worse
//! after the fix; no secret value printed (in findings, the JSON document, the pull-request
//! body or the summary) and no literal secret left unexplained. Without the
//! variable the test says loudly that it did not run.

mod common;

use std::io::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use std::sync::Arc;

use dockfix_transforms::engine;
use dockfix_transforms::image::ImageRef;
use dockfix_transforms::pin::{
    is_floating, variant, ImageResolver, PinMode, PinOptions, Resolution, Resolved,
};
use dockfix_transforms::rules::pin_images;
use dockfix_transforms::verdict::Verdict;
use dockfix_transforms::Options;
use dockfix_transforms::{rules, Dockerfile, NoBuildContext, Source};
use sha2::{Digest as _, Sha256};

/// Writes to the stderr handle itself: the test harness captures `eprintln!` of passing
/// tests, and a skip or the counts must be seen.
fn loud(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

#[test]
fn corpus_is_fixed_safely() {
    let Some(dir) = std::env::var_os("DOCKFIX_CORPUS").map(PathBuf::from) else {
        loud("\n*** SKIPPED corpus test: DOCKFIX_CORPUS is not set (CI sets it; see .ci/run) ***\n");
        return;
    };
    let paths = corpus_paths(&dir);
    assert!(!paths.is_empty(), "DOCKFIX_CORPUS={} holds no files", dir.display());

    let mut failures = Vec::new();
    let (mut changed, mut declined, mut skipped, mut secrets_checked) = (0, 0, 0, 0);
    let (mut not_buildable, mut generated) = (0, 0);
    // Generated files are real Dockerfiles: their fixes must be as safe as any.
    let options = Options { fix_generated: true, ..Options::default() };
    for path in &paths {
        let Ok(text) = String::from_utf8(std::fs::read(path).expect("readable corpus file")) else {
            skipped += 1;
            continue;
        };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let fixed =
            catch_unwind(AssertUnwindSafe(|| engine::run(&text, rules::all(), &NoBuildContext, &options)));
        let outcome = match fixed {
            Err(_) => {
                failures.push(format!("{name}: panicked"));
                continue;
            }
            Ok(Err(error)) => {
                declined += 1;
                eprintln!("{name}: declined: {error}");
                continue;
            }
            Ok(Ok(outcome)) => outcome,
        };
        changed += usize::from(outcome.output != text);
        match &outcome.verdict {
            Some(Verdict::NotBuildable { .. }) => not_buildable += 1,
            Some(Verdict::Generated(_)) => generated += 1,
            _ => {}
        }
        let (problems, checked) = common::printed_secrets(&name, &text, rules::all(), &options);
        secrets_checked += checked;
        failures.extend(problems.into_iter().map(|problem| format!("{name}: {problem}")));
        match engine::run(&outcome.output, rules::all(), &NoBuildContext, &options) {
            Ok(again) if again.output == outcome.output => {
                let problems = common::secret_problems(
                    &text,
                    &outcome.reports,
                    &outcome.output,
                    &again.reports,
                    &Default::default(),
                );
                failures.extend(problems.into_iter().map(|problem| format!("{name}: {problem}")));
            }
            Ok(_) => failures.push(format!("{name}: not idempotent")),
            Err(error) => failures.push(format!("{name}: second run failed: {error}")),
        }
        let before = Dockerfile::parse(Source::new(&text).text()).damage;
        let after = Dockerfile::parse(Source::new(&outcome.output).text()).damage;
        if after > before {
            failures.push(format!("{name}: parses worse ({before} -> {after})"));
        }
    }
    loud(&format!(
        "corpus: {} files, {changed} changed, {declined} declined, {not_buildable} not buildable (left unchanged), {generated} generated (fixed as with --fix-generated), {skipped} not UTF-8, {secrets_checked} secret values checked unprinted, {} failures",
        paths.len(),
        failures.len()
    ));
    assert!(failures.is_empty(), "corpus failures:\n{}", failures.join("\n"));
}

/// Every file hadolint could read before the fix, it can read after: dockfix's output must
/// stay usable by the linters people run next to it. hadolint reports a file it cannot parse
/// as rule `DL1000`. Runs when `HADOLINT` names hadolint or `hadolint` is on PATH (CI installs
/// it: see `scripts/review-tools`); says loudly when it did not run, and under `CI=true` a
/// missing hadolint is a failure.
#[test]
fn corpus_output_stays_readable_to_hadolint() {
    let Some(texts) = corpus_texts() else {
        loud("\n*** SKIPPED corpus hadolint test: DOCKFIX_CORPUS is not set (CI sets it; see .ci/run) ***\n");
        return;
    };
    let Some(hadolint) = hadolint_program() else {
        assert!(
            std::env::var("CI").map_or(true, |ci| ci != "true"),
            "CI=true needs hadolint for the corpus test (HADOLINT or `hadolint` on PATH)"
        );
        loud(
            "\n*** SKIPPED corpus hadolint test: no hadolint (set HADOLINT or put `hadolint` on PATH) ***\n",
        );
        return;
    };
    let work = tempfile::tempdir().expect("temp dir");
    // hadolint must be one that reports what it cannot parse: an instruction right after a
    // heredoc terminator is one (hadolint 2.15).
    let probe = work.path().join("probe");
    std::fs::create_dir_all(&probe).expect("probe dir");
    std::fs::write(probe.join("unreadable.Dockerfile"), "FROM a\nRUN <<EOT\nx\nEOT\nRUN y\n").expect("probe");
    assert!(
        !hadolint_unreadable(&hadolint, &probe, &["unreadable.Dockerfile".to_string()]).is_empty(),
        "{} did not report DL1000 for a file it cannot parse: is it hadolint 2.15?",
        hadolint.display()
    );
    let (before_dir, after_dir) = (work.path().join("before"), work.path().join("after"));
    std::fs::create_dir_all(&before_dir).expect("before dir");
    std::fs::create_dir_all(&after_dir).expect("after dir");
    let mut changed = Vec::new();
    for (name, text) in &texts {
        // Panics and declines are the other corpus tests' business.
        let Ok(Ok(outcome)) = catch_unwind(AssertUnwindSafe(|| {
            engine::run(text, rules::all(), &NoBuildContext, &Options::default())
        })) else {
            continue;
        };
        if outcome.output == *text {
            continue;
        }
        std::fs::write(before_dir.join(name), text).expect("write before");
        std::fs::write(after_dir.join(name), &outcome.output).expect("write after");
        changed.push(name.clone());
    }
    let unreadable_before = hadolint_unreadable(&hadolint, &before_dir, &changed);
    let unreadable_after = hadolint_unreadable(&hadolint, &after_dir, &changed);
    let lost: Vec<&String> =
        unreadable_after.iter().filter(|name| !unreadable_before.contains(*name)).collect();
    loud(&format!(
        "corpus hadolint: {} files changed, {} unreadable to hadolint before, {} after, {} newly unreadable",
        changed.len(),
        unreadable_before.len(),
        unreadable_after.len(),
        lost.len()
    ));
    assert!(
        lost.is_empty(),
        "hadolint parsed these files before the fix, not after (DL1000):\n{}",
        lost.iter().map(|name| name.as_str()).collect::<Vec<_>>().join("\n")
    );
}

/// hadolint: `HADOLINT`, or `hadolint` on PATH.
fn hadolint_program() -> Option<PathBuf> {
    if let Some(program) = std::env::var_os("HADOLINT") {
        return Some(PathBuf::from(program));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join("hadolint")).find(|candidate| candidate.is_file())
}

/// The files of `names` in `dir` that hadolint cannot parse (`DL1000` in its JSON report).
fn hadolint_unreadable(hadolint: &Path, dir: &Path, names: &[String]) -> std::collections::BTreeSet<String> {
    if names.is_empty() {
        return Default::default();
    }
    // One run for all files; relative names, so the report's `file` is the name.
    let out = std::process::Command::new(hadolint)
        .args(["--no-fail", "-f", "json"])
        .args(names)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run hadolint");
    assert!(out.status.success(), "hadolint failed: {}", String::from_utf8_lossy(&out.stderr));
    let report: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("hadolint's JSON report");
    report
        .iter()
        .filter(|finding| finding["code"] == "DL1000")
        .filter_map(|finding| finding["file"].as_str().map(str::to_string))
        .collect()
}

/// The files of the corpus directory, sorted.
fn corpus_paths(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("DOCKFIX_CORPUS={}: {error}", dir.display()))
        .map(|entry| entry.expect("readable corpus").path())
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    paths
}

/// The corpus files, sorted, with their text (UTF-8 files only).
fn corpus_texts() -> Option<Vec<(String, String)>> {
    let dir = PathBuf::from(std::env::var_os("DOCKFIX_CORPUS")?);
    let paths = corpus_paths(&dir);
    let texts = paths
        .iter()
        .filter_map(|path| {
            let text = String::from_utf8(std::fs::read(path).ok()?).ok()?;
            Some((path.file_name()?.to_string_lossy().into_owned(), text))
        })
        .collect();
    Some(texts)
}

/// Offline, pin-images edits nothing and reports each reference that needed a lookup once.
#[test]
fn corpus_offline_pin_images_reports_each_unpinned_reference() {
    let Some(texts) = corpus_texts() else {
        loud(
            "\n*** SKIPPED corpus pin-images test: DOCKFIX_CORPUS is not set (CI sets it; see .ci/run) ***\n",
        );
        return;
    };
    let rule: [&dyn dockfix_transforms::Rule; 1] = [&pin_images::PinImages];
    let mut failures = Vec::new();
    for mode in [PinMode::Tag, PinMode::Digest] {
        let options = Options::default().with(PinOptions { mode, ..PinOptions::default() });
        let (mut unpinned, mut offline, mut other) = (0, 0, 0);
        for (name, text) in &texts {
            let source = Source::new(text);
            let file = Dockerfile::parse(source.text());
            let wanted = pin_images::lookups(&file, source.text(), &options.get::<PinOptions>()).len();
            let outcome = match catch_unwind(AssertUnwindSafe(|| {
                engine::run(text, &rule, &NoBuildContext, &options)
            })) {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(error)) => {
                    failures.push(format!("{name}: {error}"));
                    continue;
                }
                Err(_) => {
                    failures.push(format!("{name}: panicked"));
                    continue;
                }
            };
            if outcome.output != *text {
                failures.push(format!("{name}: pin-images edited the file offline"));
            }
            let said_offline =
                outcome.reports.iter().filter(|r| r.message.contains("is not pinned: offline")).count();
            if said_offline != wanted {
                failures.push(format!(
                    "{name}: {wanted} references need a lookup, {said_offline} offline findings"
                ));
            }
            unpinned += wanted;
            offline += said_offline;
            other += outcome.reports.len() - said_offline;
        }
        loud(&format!(
            "corpus pin-images offline ({mode:?}): {} files, {unpinned} references need a lookup, {offline} offline findings, {other} other findings (not pinnable as written)",
            texts.len()
        ));
    }
    assert!(failures.is_empty(), "corpus failures:\n{}", failures.join("\n"));
}

/// A registry that knows every image: version `1.0.0` (with the variant) for floating tags,
/// a digest made from the name.
struct AnswersEverything;

impl ImageResolver for AnswersEverything {
    fn resolve(&self, image: &ImageRef) -> Resolution {
        let key = image.canonical_tagged();
        let digest: String = Sha256::digest(key.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        let version_tag = is_floating(image.tag.as_deref()).then(|| {
            let variant = variant(image.tag.as_deref());
            if variant.is_empty() {
                "1.0.0".to_string()
            } else {
                format!("1.0.0-{variant}")
            }
        });
        Resolution::Found(Resolved { digest: format!("sha256:{digest}"), version_tag })
    }
}

/// With a registry that answers, every transform together (digest pinning included) stays
/// idempotent, parses no worse, and, when `BUILDKIT_PARSE` names Docker's parser (CI sets
/// it), every file it accepted before it accepts after.
#[test]
fn corpus_pinned_by_an_answering_registry_stays_idempotent_and_parses() {
    let Some(texts) = corpus_texts() else {
        loud("\n*** SKIPPED corpus pinning test: DOCKFIX_CORPUS is not set (CI sets it; see .ci/run) ***\n");
        return;
    };
    let pin = PinOptions { mode: PinMode::Digest, update: true, resolver: Arc::new(AnswersEverything) };
    let options = Options { fix_generated: true, ..Options::default() }.with(pin);
    let work = tempfile::tempdir().expect("temp dir");
    let (before_dir, after_dir) = (work.path().join("before"), work.path().join("after"));
    std::fs::create_dir_all(&before_dir).expect("before dir");
    std::fs::create_dir_all(&after_dir).expect("after dir");
    let mut failures = Vec::new();
    let (mut pinned, mut changed) = (0, 0);
    for (name, text) in &texts {
        let outcome = match catch_unwind(AssertUnwindSafe(|| {
            engine::run(text, rules::all(), &NoBuildContext, &options)
        })) {
            Ok(Ok(outcome)) => outcome,
            // A file declined because of pinning is a failure; one declined for another
            // transform's fix is the other test's business.
            Ok(Err(error)) => {
                if error.to_string().contains(pin_images::ID) {
                    failures.push(format!("{name}: declined: {error}"));
                }
                continue;
            }
            Err(_) => {
                failures.push(format!("{name}: panicked"));
                continue;
            }
        };
        pinned += outcome.reports.iter().filter(|r| r.transform == pin_images::ID && r.fixed).count();
        changed += usize::from(outcome.output != *text);
        match engine::run(&outcome.output, rules::all(), &NoBuildContext, &options) {
            Ok(again) if again.output == outcome.output => {}
            Ok(_) => failures.push(format!("{name}: not idempotent with pinning")),
            Err(error) => failures.push(format!("{name}: second run failed: {error}")),
        }
        let before = Dockerfile::parse(Source::new(text).text()).damage;
        let after = Dockerfile::parse(Source::new(&outcome.output).text()).damage;
        if after > before {
            failures.push(format!("{name}: parses worse ({before} -> {after})"));
        }
        std::fs::write(before_dir.join(name), text).expect("write before");
        std::fs::write(after_dir.join(name), &outcome.output).expect("write after");
    }
    let parser = buildkit_regressions(&before_dir, &after_dir);
    loud(&format!(
        "corpus pinned by an answering registry: {} files, {changed} changed, {pinned} references pinned, Docker's parser: {}",
        texts.len(),
        parser.as_ref().map_or_else(|skip| skip.clone(), |lost| format!("{} files newly rejected", lost.len()))
    ));
    if let Ok(lost) = parser {
        failures.extend(
            lost.into_iter().map(|name| format!("{name}: Docker's parser accepted it before, not after")),
        );
    }
    assert!(pinned > 0, "the answering registry pinned nothing");
    assert!(failures.is_empty(), "corpus failures:\n{}", failures.join("\n"));
}

/// Files Docker's parser accepts in `before` and rejects in `after`; `Err` says why the
/// parser was not run. Under `CI=true` the parser must be there.
fn buildkit_regressions(before: &std::path::Path, after: &std::path::Path) -> Result<Vec<String>, String> {
    let Some(parser) = std::env::var_os("BUILDKIT_PARSE") else {
        let why = "not run (BUILDKIT_PARSE is not set)".to_string();
        assert!(
            std::env::var("CI").map_or(true, |ci| ci != "true"),
            "CI=true needs BUILDKIT_PARSE for the corpus test"
        );
        return Err(why);
    };
    let out = std::process::Command::new(parser)
        .arg("--compare-dirs")
        .arg(before)
        .arg(after)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run BUILDKIT_PARSE");
    assert!(
        out.status.code().is_some_and(|code| code <= 1),
        "buildkit-parse failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lost = Vec::new();
    let (mut compared, mut accepted) = (0, 0);
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let value: serde_json::Value = serde_json::from_str(line).expect("buildkit-parse JSON line");
        let ok = |side: &str| value[side]["ok"].as_bool().unwrap_or(false);
        compared += 1;
        accepted += usize::from(ok("before"));
        if ok("before") && !ok("after") {
            lost.push(value["file"].as_str().unwrap_or("?").to_string());
        }
    }
    let written = std::fs::read_dir(before).map_or(0, |dir| dir.count());
    assert_eq!(compared, written, "buildkit-parse compared every file");
    assert!(accepted > 0, "buildkit-parse accepted no file before the fix: is it working?");
    Ok(lost)
}
