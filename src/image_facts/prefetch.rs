//! The facts step of a run: the base images of every file, grouped by how their facts are
//! learnt ([`FactsSettings`]: platform, facts file, registry access), each group gathered
//! once ([`super::gather`]) into one catalog per group.

use std::borrow::Borrow;
use std::collections::HashMap;

use dockfix_transforms::image::{ImageCatalog, ImageRef};

use super::cache::{self, Cache};
use super::file::{FactsFile, FactsFileError};
use super::{base_images, gather, FactsSettings, Gathered};

/// What the facts step learnt, per group of settings.
#[derive(Debug, Default)]
pub struct FactsPrefetched {
    /// By [`FactsSettings::group_key`], in first-seen order.
    groups: Vec<(String, FactsSettings, Gathered)>,
    catalogs: HashMap<String, ImageCatalog>,
}

impl FactsPrefetched {
    /// No facts: the transforms guess from names.
    pub fn unused() -> FactsPrefetched {
        FactsPrefetched::default()
    }

    /// The catalog for files with these settings (empty when none was gathered).
    pub fn catalog(&self, settings: &FactsSettings) -> ImageCatalog {
        self.catalogs.get(&settings.group_key()).cloned().unwrap_or_default()
    }

    /// Each group's settings and what it learnt.
    pub fn groups(&self) -> impl Iterator<Item = (&FactsSettings, &Gathered)> {
        self.groups.iter().map(|(_, settings, gathered)| (settings, gathered))
    }

    /// The stderr lines about images whose facts are missing or partial.
    pub fn report(&self) -> String {
        self.groups.iter().map(|(_, _, gathered)| gathered.report()).collect()
    }
}

/// Whether a run could learn anything: online, or a facts file named, or a cache to read.
/// `cache_to_read` is [`cache_to_read`]'s answer, asked once a run rather than once a file.
pub fn worth_gathering(settings: &FactsSettings, cache_to_read: bool) -> bool {
    !settings.offline || settings.facts_file.is_some() || cache_to_read
}

/// Whether the cache holds tag records, which an offline run can read.
pub fn cache_to_read() -> bool {
    cache::default_dir().is_some_and(|dir| dir.join("tags").is_dir())
}

/// Learns the facts of the base images of `files` (settings and Dockerfile text).
/// `read_files`: read the images' files, not only their configs. `resolved`: the digest this
/// run's pin-images lookups found for a reference with the settings' registry access (see
/// [`super::gather`]). A facts file that cannot be read is an error: it was named on purpose.
pub fn prefetch<S, T>(
    files: impl IntoIterator<Item = (S, T)>,
    read_files: bool,
    resolved: &dyn Fn(&FactsSettings, &ImageRef) -> Option<String>,
) -> Result<FactsPrefetched, FactsFileError>
where
    S: Borrow<FactsSettings>,
    T: AsRef<str>,
{
    let mut wanted: Vec<(String, FactsSettings, Vec<String>)> = Vec::new();
    for (settings, text) in files {
        let settings = settings.borrow();
        let key = settings.group_key();
        let at = match wanted.iter().position(|(known, _, _)| *known == key) {
            Some(at) => at,
            None => {
                wanted.push((key, settings.clone(), Vec::new()));
                wanted.len() - 1
            }
        };
        let references = &mut wanted[at].2;
        for image in base_images(text.as_ref()) {
            if !references.contains(&image) {
                references.push(image);
            }
        }
    }
    let cache = cache::default_dir().map(Cache::new);
    let mut prefetched = FactsPrefetched::default();
    for (key, settings, references) in wanted {
        let facts_file = settings.facts_file.as_deref().map(FactsFile::load).transpose()?;
        let known = |image: &ImageRef| resolved(&settings, image);
        let gathered =
            gather(&references, &settings, facts_file.as_ref(), cache.as_ref(), read_files, &known);
        prefetched.catalogs.insert(key.clone(), gathered.catalog());
        prefetched.groups.push((key, settings, gathered));
    }
    Ok(prefetched)
}
