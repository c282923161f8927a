//! `dockfix facts`: the facts of the base images the Dockerfiles name, as a facts file on
//! stdout or written with `--write`; and the facts step of `dockfix fix`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use dockfix::image_facts::file::FactsFile;
use dockfix::image_facts::prefetch::{self, worth_gathering, FactsPrefetched};
use dockfix::image_facts::{FactsSettings, FACT_READERS};
use dockfix::image_lookups::Prefetched;
use dockfix::settings::{CommandLine, ConfigSource, Resolver as SettingsResolver, Settings};
use dockfix::{discover, files};
use dockfix_transforms::image::ImageRef;

use crate::args::{FactsArgs, FixArgs};

/// Dockerfiles larger than this are not read for their base images (as `fix`'s default).
const MAX_FILE_BYTES: u64 = 10 << 20;

/// Whether a file's transforms read image facts.
pub fn reads_facts(settings: &Settings) -> bool {
    settings.rules.iter().any(|rule| FACT_READERS.contains(&rule.id()))
}

/// The digest pin-images' lookups found for a reference, reached as these settings reach it.
fn pinned_digest(pinned: &Prefetched) -> impl Fn(&FactsSettings, &ImageRef) -> Option<String> + '_ {
    move |settings, image| pinned.resolved_digest(&settings.registry, image)
}

/// Learns, before any file is fixed, the facts of the base images of the files whose
/// transforms read them. Files are then read twice; not when the run can learn nothing
/// (offline, no facts file, no cache). This is `walk`'s first pass; the fixes take its
/// second, without walking again.
pub fn prefetch_for_fix(
    args: &FixArgs,
    walk: &mut discover::RecordedWalk,
    settings: &mut SettingsResolver,
    config_dir: impl Fn(&Path) -> PathBuf,
    pinned: &Prefetched,
) -> Result<FactsPrefetched> {
    let cache_to_read = prefetch::cache_to_read();
    let wanted = |found: &Settings| reads_facts(found) && worth_gathering(&found.facts, cache_to_read);
    // With one config for every file (or none), the answer is the same for all: when it is
    // no, the walk that would ask it of each file is skipped.
    let same_for_all = args.no_config || args.config.is_some();
    if same_for_all && !settings.for_dir(Path::new(".")).is_ok_and(|found| wanted(&found)) {
        return Ok(FactsPrefetched::unused());
    }
    let files = walk.first_pass().filter_map(|file| {
        // Files that cannot be found, read or configured are reported when they are fixed.
        let found = settings.for_dir(&config_dir(&file)).ok()?;
        if !wanted(&found) {
            return None;
        }
        let text = files::read_text_limited(&file, args.max_file_size).ok()?;
        Some((found.facts.clone(), text))
    });
    Ok(prefetch::prefetch(files, true, &pinned_digest(pinned))?)
}

/// The facts step for standard input's text.
pub fn prefetch_for_text(settings: &Settings, text: &str, pinned: &Prefetched) -> Result<FactsPrefetched> {
    if !reads_facts(settings) || !worth_gathering(&settings.facts, prefetch::cache_to_read()) {
        return Ok(FactsPrefetched::unused());
    }
    Ok(prefetch::prefetch([(&settings.facts, text)], true, &pinned_digest(pinned))?)
}

/// `dockfix facts`.
pub fn run(args: &FactsArgs) -> Result<u8> {
    let source = match (&args.config, args.no_config) {
        (_, true) => ConfigSource::None,
        (Some(path), _) if !path.is_file() => anyhow::bail!("--config {}: no such file", path.display()),
        (Some(path), _) => ConfigSource::File(path.clone()),
        (None, _) => ConfigSource::Nearest,
    };
    let command_line = CommandLine {
        offline: args.offline,
        insecure_registries: args.registry.insecure_registries.clone(),
        registry_mirrors: args.registry.registry_mirrors.clone(),
        registry_timeout: args.registry.registry_timeout,
        platform: args.platform.clone(),
        ..CommandLine::default()
    };
    let mut settings = SettingsResolver::new(source, command_line);
    let paths = if args.paths.is_empty() { vec![PathBuf::from(".")] } else { args.paths.clone() };
    let mut texts = Vec::new();
    for found in discover::Dockerfiles::new(paths) {
        let file = found.map_err(|(_, error)| error)?;
        let dir = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let mut facts = settings.for_dir(&dir)?.facts.clone();
        // A facts file named in dockfix.toml is what this writes: only --facts-file is read.
        facts.facts_file = args.facts_file.clone();
        texts.push((facts, files::read_text_limited(&file, MAX_FILE_BYTES)?));
    }
    let prefetched = prefetch::prefetch(texts, !args.config_only, &|_, _| None)?;
    let mut document: Option<FactsFile> = None;
    for (facts_settings, gathered) in prefetched.groups() {
        let file = gathered.facts_file(&facts_settings.platform);
        match &mut document {
            Some(document) => document.images.extend(file.images),
            None => document = Some(file),
        }
    }
    let platform = settings.for_dir(Path::new("."))?.facts.platform.clone();
    let document = document.unwrap_or_else(|| FactsFile {
        version: dockfix::image_facts::file::FACTS_FILE_VERSION,
        platform: platform.to_string(),
        images: Default::default(),
    });
    let json = document.to_json();
    match &args.write {
        Some(path) => write_new(path, &json)?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(json.as_bytes())
                .and_then(|()| stdout.flush())
                .context("cannot write to stdout")?;
        }
    }
    for (_, gathered) in prefetched.groups() {
        eprint!("{}", gathered.sources());
    }
    eprint!("{}", prefetched.report());
    let failed = prefetched.groups().any(|(_, gathered)| !gathered.failures.is_empty());
    Ok(if failed { 2 } else { 0 })
}

/// Writes `content` to `path` through a temporary file in its directory, renamed over it.
fn write_new(path: &Path, content: &str) -> Result<()> {
    let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut temp = tempfile::Builder::new().prefix(".dockfix-").tempfile_in(dir).with_context(|| {
        format!("{}: cannot create a temporary file in {}", path.display(), dir.display())
    })?;
    temp.write_all(content.as_bytes()).with_context(|| format!("{}: cannot write", path.display()))?;
    temp.persist(path).with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}
