//! # pin-images
//!
//! ## What it does
//!
//! Pins the images a Dockerfile builds from to what their tags point to today, as the
//! registry says (the shell asks it; the answer is compared by digest, never guessed):
//!
//! - `--pin tag` (the default): a floating tag (none, `latest`, or a tag without a digit such
//!   as `alpine` or `lts-alpine`) becomes the most specific version tag with the same digest:
//!   `python` -> `python:3.13.1`, `node:alpine` -> `node:23.5.0-alpine` (the variant is
//!   kept). A tag with a version (`python:3.12-slim`) is left as it is.
//! - `--pin digest`: as above, and every reference gets the digest of what its tag points
//!   to: `python:3.12-slim@sha256:...`. The digest is the multi-platform index's (the
//!   manifest list), never one platform's manifest, so the file still builds on every
//!   architecture. The tag stays for readers. A digest already written is left alone unless
//!   `--update` asks to refresh it to the tag's current digest.
//! - `--pin none`: nothing.
//!
//! The mode, `--update` and how registries are reached (mirrors, insecure registries,
//! timeout) can also come from `[pin-images]` in `dockfix.toml`; the flags win.
//!
//! Image references are the base of `FROM` (with `--platform` and `AS`), `COPY --from=IMAGE`
//! and `RUN --mount=...,from=IMAGE`. `scratch`, stage names and stage indexes are not images.
//!
//! An image that comes from an `ARG` (`FROM ${BASE}`, `FROM python:${PY}`) is pinned by
//! editing the default of that ARG before the first `FROM`, so a `--build-arg` still
//! replaces tag and digest together. That needs the tag (and digest) to come from one place:
//! the ARG's literal default, or the literal text of the line. Otherwise the reference gets a
//! finding that says why: no default, a default that uses other variables, a tag built from
//! several parts (`python:${PY}-slim` in digest mode), an ARG also declared inside a stage
//! (its new value would reach `RUN`), an ARG that two images would pin differently, or an
//! instruction the parser did not understand.
//!
//! When the registry cannot be asked or does not answer (`--offline`, unreachable, 401/403,
//! 404, 429, timeout, TLS), nothing of the file is pinned and every reference that needed a
//! lookup gets a finding saying which one and why: never a half-pinned file.
//!
//! ## Why
//!
//! `FROM python` and `FROM node:latest` rebuild into something different every week: a new
//! major version, another distro release, a different set of packages. Builds stop being
//! reproducible and a change of behaviour arrives without a commit. Pinning makes the
//! version a reviewed line of the Dockerfile; a digest makes it exact (a tag can be moved,
//! a digest cannot). Bots then keep the pins fresh (`--update`). This is hadolint's DL3006
//! and DL3007 and the supply-chain advice of Docker's build best practices.
//!
//! ## Example
//!
//! Before:
//!
//! ```dockerfile
//! ARG BASE=python
//! FROM ${BASE} AS build
//! COPY --from=ghcr.io/astral-sh/uv:latest /uv /bin/
//! FROM gcr.io/distroless/python3-debian12
//! COPY --from=build /app /app
//! ```
//!
//! After `dockfix fix --pin digest`:
//!
//! ```dockerfile
//! ARG BASE=python:3.13.1@sha256:<index digest>
//! FROM ${BASE} AS build
//! COPY --from=ghcr.io/astral-sh/uv:0.5.11@sha256:<index digest> /uv /bin/
//! FROM gcr.io/distroless/python3-debian12:latest@sha256:<index digest>
//! COPY --from=build /app /app
//! ```
//!
//! (`gcr.io/distroless/python3-debian12` has no version tag with the digest of `latest`: in
//! digest mode it keeps its tag and gets the digest; in tag mode it would get a finding.)
//!
//! ## Fix safety
//!
//! **unsafe**, applied with the risk stated: the build now resolves to a fixed version (and,
//! with a digest, to exactly one image) and no longer picks up new releases or security
//! fixes by itself until the pin is refreshed. Which version is chosen depends on the
//! registry on the day of the run.
//!
//! Suppress it for one image with `# dockfix: ignore=pin-images` (or
//! `# hadolint ignore=DL3006` / `DL3007`) on the line above.

use std::collections::HashMap;
use std::ops::Range;

use crate::edit::{Applicability, Edit, Finding, Fix};
use crate::image::ImageRef;
use crate::pin::{is_floating, PinMode, PinOptions, Resolution, Resolved};
use crate::suppress::suppressions;
use crate::syntax::Dockerfile;
use crate::transform::{module_docs, Context, Rule};

mod references;

use references::{collect, Entry, State, Target};

pub const ID: &str = "pin-images";

pub struct PinImages;

impl Rule for PinImages {
    fn id(&self) -> &'static str {
        ID
    }

    fn summary(&self) -> &'static str {
        "pin image tags (and digests with --pin digest) from the registry"
    }

    fn documentation(&self) -> String {
        module_docs(include_str!("pin_images.rs"))
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["DL3006", "DL3007"]
    }

    fn reference(&self) -> &'static str {
        "hadolint DL3006, DL3007; Docker build best practices: pin base image versions"
    }

    fn check(&self, context: &Context) -> Vec<Finding> {
        let pin = &context.options.get::<PinOptions>();
        if pin.mode == PinMode::None {
            return Vec::new();
        }
        let entries = collect(context.file, context.text, pin, context.suppressed);
        decide(entries, pin)
    }
}

/// The references of a file that need a registry lookup under `options`, with ARG defaults
/// substituted: what the shell looks up before the run.
pub fn lookups(file: &Dockerfile, text: &str, options: &PinOptions) -> Vec<ImageRef> {
    if options.mode == PinMode::None {
        return Vec::new();
    }
    collect(file, text, options, &suppressions(file, &|id| PinImages.answers_to(id).then_some(ID)))
        .into_iter()
        .filter_map(|entry| match entry.state {
            State::Target(target) => Some(target.image),
            State::Unpinnable(_) => None,
        })
        .collect()
}

/// What became of one entry once the registry answered.
enum Verdict {
    Pin(Pin),
    Unpinnable(String),
    /// The lookup failed: nothing of the file is pinned.
    LookupFailed(String),
    /// Already what the registry says (a digest refreshed to the same digest).
    UpToDate,
}

struct Pin {
    edit: Edit,
    /// The new reference (ARG defaults substituted).
    pinned: String,
    /// What it was, substituted.
    before: String,
    via_arg: Option<(String, usize)>,
    why: String,
    risk: &'static str,
}

const TAG_RISK: &str = "the build stays on this version and no longer picks up new releases or security fixes by itself until the pin is refreshed";
const DIGEST_RISK: &str = "the build uses exactly this image (every platform of its index) and no longer picks up rebuilds of the tag, security fixes included, until the digest is refreshed (dockfix fix --pin digest --update)";

/// Looks each target up (once per reference) and turns the entries into findings: one per
/// reference, with fixes only when every lookup of the file succeeded.
fn decide(entries: Vec<Entry>, options: &PinOptions) -> Vec<Finding> {
    let mut answers: HashMap<String, Resolution> = HashMap::new();
    let mut verdicts: Vec<Verdict> = entries
        .iter()
        .map(|entry| match &entry.state {
            State::Unpinnable(reason) => Verdict::Unpinnable(reason.clone()),
            State::Target(target) => {
                let key = target.image.canonical_tagged();
                let answer = answers.entry(key).or_insert_with(|| options.resolver.resolve(&target.image));
                match answer {
                    Resolution::Unresolved { reason } => Verdict::LookupFailed(reason.clone()),
                    Resolution::Found(found) => plan(target, found, options),
                }
            }
        })
        .collect();
    reject_conflicts(&mut verdicts);
    let failed =
        entries.iter().zip(&verdicts).find(|(_, verdict)| matches!(verdict, Verdict::LookupFailed(_)));
    let blocked_by = failed.map(|(entry, _)| format!("`{}` (line {})", entry.written, entry.line));

    // One edit can serve several references (an ARG used by two FROMs): one finding for it,
    // on the first reference, naming every line.
    let mut lines_by_site: HashMap<Range<usize>, Vec<usize>> = HashMap::new();
    for (entry, verdict) in entries.iter().zip(&verdicts) {
        if let Verdict::Pin(pin) = verdict {
            lines_by_site.entry(pin.edit.range.clone()).or_default().push(entry.line);
        }
    }
    let mut findings = Vec::new();
    for (entry, verdict) in entries.iter().zip(verdicts) {
        let subject = format!("`{}`", entry.written);
        let message = match verdict {
            Verdict::UpToDate => continue,
            Verdict::Unpinnable(reason) | Verdict::LookupFailed(reason) => format!("{subject} is not pinned: {reason}"),
            Verdict::Pin(_) if blocked_by.is_some() => format!(
                "{subject} is not pinned: the lookup of {} failed, and dockfix pins all images of a file or none",
                blocked_by.as_deref().unwrap_or_default()
            ),
            Verdict::Pin(pin) => {
                let lines = lines_by_site.get(&pin.edit.range).map(Vec::as_slice).unwrap_or_default();
                if lines.first().is_some_and(|&first| first != entry.line) {
                    continue;
                }
                findings.push(pinned(entry.line, &subject, lines, pin));
                continue;
            }
        };
        findings.push(Finding::new(ID, entry.line, message));
    }
    findings
}

fn pinned(line: usize, subject: &str, lines: &[usize], pin: Pin) -> Finding {
    let mut notes = Vec::new();
    if subject.trim_matches('`') != pin.before {
        notes.push(format!("`{}`", pin.before));
    }
    if lines.len() > 1 {
        let listed: Vec<String> = lines.iter().map(usize::to_string).collect();
        notes.push(format!("lines {}", listed.join(", ")));
    }
    let notes = if notes.is_empty() { String::new() } else { format!(" ({})", notes.join(", ")) };
    let via = pin
        .via_arg
        .map(|(name, line)| format!(" in the default of ARG {name} on line {line}"))
        .unwrap_or_default();
    Finding::new(ID, line, format!("{subject}{notes} -> `{}`{via}: {}", pin.pinned, pin.why))
        .with_risk(pin.risk)
        .with_fix(Fix::new(Applicability::Unsafe, vec![pin.edit]))
}

/// The edit that pins `target` to what the registry answered.
fn plan(target: &Target, found: &Resolved, options: &PinOptions) -> Verdict {
    let image = &target.image;
    let floating = is_floating(image.tag.as_deref());
    let tag = match (floating, &found.version_tag, options.mode) {
        (true, Some(version), _) => Some(version.clone()),
        (true, None, PinMode::Tag) => {
            let name = ImageRef { tag: None, digest: None, ..image.clone() };
            return Verdict::Unpinnable(format!(
                "no version tag of {name} points to the same image as `{}` today",
                image.tag_or_latest()
            ));
        }
        _ => image.tag.clone(),
    };
    let digest = (options.mode == PinMode::Digest || image.digest.is_some()).then(|| found.digest.clone());
    if digest.is_some() && target.site.quoted {
        // The grammar rejects `FROM "image@sha256:..."`; the engine would refuse the file.
        return Verdict::Unpinnable(
            "dockfix's parser does not understand a digest inside quotes; pin it by hand".into(),
        );
    }
    let suffix = format!(
        "{}{}",
        tag.as_deref().map(|tag| format!(":{tag}")).unwrap_or_default(),
        digest.as_deref().map(|digest| format!("@{digest}")).unwrap_or_default()
    );
    let before = image.to_string();
    let name = ImageRef { tag: None, digest: None, ..image.clone() }.to_string();
    let pinned = format!("{name}{suffix}");
    if pinned == before {
        return Verdict::UpToDate;
    }
    let floating_tag = image.tag_or_latest();
    let index = "the multi-platform index, not one platform's manifest";
    let digest_why = format!("the digest its tag points to today ({index})");
    let (why, risk) = match (tag != image.tag, &image.digest, &digest) {
        (true, _, Some(_)) => (
            format!("the most specific version tag that points to the same image as `{floating_tag}` today, with that image's digest ({index})"),
            DIGEST_RISK,
        ),
        (true, _, None) => {
            (format!("the most specific version tag that points to the same image as `{floating_tag}` today"), TAG_RISK)
        }
        (false, Some(_), _) => ("the digest its tag points to now, refreshed with --update".to_string(), DIGEST_RISK),
        (false, None, _) => (digest_why, DIGEST_RISK),
    };
    Verdict::Pin(Pin {
        edit: Edit::new(target.site.range.clone(), suffix.get(target.site.skip..).unwrap_or_default()),
        pinned,
        before,
        via_arg: target.site.via_arg.clone(),
        why,
        risk,
    })
}

/// Two references that would write different text into the same place (one ARG serving two
/// images) are pinned by neither.
fn reject_conflicts(verdicts: &mut [Verdict]) {
    let mut by_range: HashMap<Range<usize>, Vec<usize>> = HashMap::new();
    for (index, verdict) in verdicts.iter().enumerate() {
        if let Verdict::Pin(pin) = verdict {
            by_range.entry(pin.edit.range.clone()).or_default().push(index);
        }
    }
    for indexes in by_range.into_values() {
        let replacement = |index: usize| match &verdicts[index] {
            Verdict::Pin(pin) => Some(pin.edit.replacement.clone()),
            _ => None,
        };
        let first = replacement(indexes[0]);
        if indexes.iter().all(|&index| replacement(index) == first) {
            continue;
        }
        for index in indexes {
            let arg = match &verdicts[index] {
                Verdict::Pin(pin) => pin
                    .via_arg
                    .as_ref()
                    .map_or("the same text".to_string(), |(name, _)| format!("ARG {name}")),
                _ => continue,
            };
            verdicts[index] =
                Verdict::Unpinnable(format!("{arg} serves images that pin differently; pin it by hand"));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::engine::run;
    use crate::options::Options;
    use crate::pin::TableResolver;
    use crate::transform::NoBuildContext;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    fn table() -> TableResolver {
        let mut table = TableResolver::new();
        let found = |digest: &str, version: Option<&str>| {
            Resolution::Found(Resolved { digest: digest.into(), version_tag: version.map(str::to_string) })
        };
        table.insert("docker.io/library/python:latest", found(D1, Some("3.13.1")));
        table.insert("docker.io/library/python:3.13.1", found(D1, None));
        table.insert("docker.io/library/python:3.12", found(D2, None));
        table.insert("docker.io/library/node:alpine", found(D2, Some("23.5.0-alpine")));
        table.insert("docker.io/library/node:latest", found(D2, Some("23.5.0")));
        table.insert(
            "ghcr.io/org/gone:latest",
            Resolution::Unresolved { reason: "ghcr.io answered 404".into() },
        );
        table
    }

    fn options(mode: PinMode, update: bool) -> Options {
        Options::default().with(PinOptions { mode, update, resolver: Arc::new(table()) })
    }

    fn fix_with(input: &str, options: &Options) -> (String, Vec<String>) {
        let outcome = run(input, &[&PinImages], &NoBuildContext, options).unwrap();
        (outcome.output, outcome.reports.into_iter().map(|r| format!("{}:{}", r.line, r.message)).collect())
    }

    fn fix(input: &str) -> String {
        fix_with(input, &options(PinMode::Tag, false)).0
    }

    fn digest(input: &str) -> String {
        fix_with(input, &options(PinMode::Digest, false)).0
    }

    #[test]
    fn floating_tags_become_versions() {
        assert_eq!(fix("FROM python\n"), "FROM python:3.13.1\n");
        assert_eq!(fix("FROM python:latest AS b\n"), "FROM python:3.13.1 AS b\n");
        assert_eq!(
            fix("FROM --platform=$BUILDPLATFORM node:alpine\n"),
            "FROM --platform=$BUILDPLATFORM node:23.5.0-alpine\n"
        );
        assert_eq!(fix("FROM python:3.12\n"), "FROM python:3.12\n", "a version tag stays in tag mode");
    }

    #[test]
    fn digests_keep_the_tag() {
        assert_eq!(digest("FROM python:3.12\n"), format!("FROM python:3.12@{D2}\n"));
        assert_eq!(digest("FROM python\n"), format!("FROM python:3.13.1@{D1}\n"));
        let pinned = format!("FROM python:3.12@{D1}\n");
        assert_eq!(digest(&pinned), pinned, "an existing digest stays without --update");
        let (updated, _) = fix_with(&pinned, &options(PinMode::Digest, true));
        assert_eq!(updated, format!("FROM python:3.12@{D2}\n"));
    }

    #[test]
    fn copy_and_mount_sources() {
        let input = "FROM python AS build\nCOPY --from=build /a /b\nCOPY --from=0 /a /b\nCOPY --from=python /c /d\nRUN --mount=type=bind,from=node:alpine,target=/n true\n";
        assert_eq!(
            fix(input),
            "FROM python:3.13.1 AS build\nCOPY --from=build /a /b\nCOPY --from=0 /a /b\nCOPY --from=python:3.13.1 /c /d\nRUN --mount=type=bind,from=node:23.5.0-alpine,target=/n true\n"
        );
    }

    #[test]
    fn arg_defaults_are_edited_once() {
        let input = "ARG BASE=python\nFROM ${BASE} AS a\nFROM $BASE\n";
        let (output, reports) = fix_with(input, &options(PinMode::Tag, false));
        assert_eq!(output, "ARG BASE=python:3.13.1\nFROM ${BASE} AS a\nFROM $BASE\n");
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert!(
            reports[0].contains("ARG BASE on line 1") && reports[0].contains("lines 2, 3"),
            "{reports:?}"
        );
        assert_eq!(
            digest("ARG PY=\"3.12\"\nFROM python:${PY}\n"),
            format!("ARG PY=\"3.12@{D2}\"\nFROM python:${{PY}}\n")
        );
    }

    #[test]
    fn arg_cases_that_are_left_alone() {
        let (output, reports) =
            fix_with("ARG BASE=python\nFROM ${BASE}\nFROM ${BASE}:3.12\n", &options(PinMode::Digest, false));
        assert_eq!(
            output,
            format!("ARG BASE=python\nFROM ${{BASE}}\nFROM ${{BASE}}:3.12@{D2}\n"),
            "the literal tag is pinned"
        );
        assert!(reports[0].contains("another image's name"), "{reports:?}");
        for (input, reason) in [
            ("ARG BASE\nFROM ${BASE}\n", "no default"),
            ("FROM ${BASE}\n", "not an ARG declared"),
            ("ARG PY=3.12\nFROM python:${PY}-slim\n", "built from 3 parts"),
            ("ARG BASE=python\nFROM ${BASE}\nARG BASE\nRUN echo $BASE\n", "declared again inside a stage"),
            ("ARG T=latest\nFROM python:${T}\nFROM node:${T}\n", "pin differently"),
            ("ARG R=docker.io\nARG BASE=${R}/python\nFROM ${BASE}\n", "not a literal"),
            ("FROM ${BASE:-python}\n", "does not substitute"),
        ] {
            let (output, reports) = fix_with(input, &options(PinMode::Digest, false));
            assert_eq!(output, input);
            assert!(reports.iter().any(|r| r.contains(reason)), "{input}: {reports:?}");
        }
    }

    #[test]
    fn double_quotes_are_removed_as_docker_does() {
        assert_eq!(
            digest("ARG TAG=3.12\nFROM python:\"${TAG}\"\n"),
            format!("ARG TAG=3.12@{D2}\nFROM python:\"${{TAG}}\"\n")
        );
        assert_eq!(fix("FROM \"python\"\n"), "FROM \"python:3.13.1\"\n");
        let (output, reports) = fix_with("FROM 'python'\n", &options(PinMode::Tag, false));
        assert_eq!(output, "FROM 'python'\n");
        assert!(reports[0].contains("single quotes"), "{reports:?}");
        let (_, reports) = fix_with("FROM base-$TARGETOS\n", &options(PinMode::Tag, false));
        assert!(reports[0].contains("BuildKit sets TARGETOS"), "{reports:?}");
    }

    #[test]
    fn one_failed_lookup_pins_nothing() {
        let input = "FROM python\nCOPY --from=ghcr.io/org/gone /x /y\n";
        let (output, reports) = fix_with(input, &options(PinMode::Tag, false));
        assert_eq!(output, input);
        assert_eq!(reports.len(), 2);
        assert!(reports[0].contains("the lookup of `ghcr.io/org/gone` (line 2) failed"), "{reports:?}");
        assert!(reports[1].contains("404"), "{reports:?}");
    }

    #[test]
    fn offline_reports_each_unpinned_reference() {
        let input = "FROM python\nFROM python:3.12\nFROM node:alpine\nFROM scratch\n";
        let (output, reports) = fix_with(input, &Options::default());
        assert_eq!(output, input);
        assert_eq!(reports.len(), 2, "{reports:?}");
        assert!(reports.iter().all(|r| r.contains("offline")), "{reports:?}");
        let file = Dockerfile::parse(input);
        let wanted = lookups(&file, input, &PinOptions { mode: PinMode::Digest, ..PinOptions::default() });
        assert_eq!(wanted.len(), 3, "scratch needs no lookup");
    }

    #[test]
    fn none_does_nothing() {
        let (output, reports) = fix_with("FROM python\n", &options(PinMode::None, false));
        assert_eq!(output, "FROM python\n");
        assert!(reports.is_empty());
    }
}
