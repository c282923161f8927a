//! The registry-backed side of `pin-images`, in the shell: the step before the engine runs.
//! Collect the image references of every file that `pin-images` needs looked up, resolve each
//! one once (concurrently) through [`crate::registry`], and hand the engine a table with the
//! answers. The engine itself never touches the network: the core's `pin` module holds the
//! pinning mechanics, `rules::pin_images` the transform.
//!
//! Files may differ in their pin settings (each has its `dockfix.toml`): the references are
//! grouped by how registries are reached ([`RegistryConfig`]: mirrors, insecure hosts,
//! timeout), and each group is looked up with its own client, each reference once per group.
//! The mode and `update` of a file decide which of its references need a lookup at all.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::sync::Arc;

use dockfix_transforms::image::ImageRef;
use dockfix_transforms::pin::{
    ImageResolver, OfflineResolver, PinMode, PinOptions, Resolution, TableResolver,
};
use dockfix_transforms::rules::pin_images;
use dockfix_transforms::{Dockerfile, Source};

use crate::registry::{LookupError, Registries, RegistryConfig};

/// What the user asked of `pin-images` for one file: its config with the command line on top.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PinSettings {
    pub mode: PinMode,
    pub update: bool,
    /// Ask no registry: every reference that needs a lookup becomes a finding.
    pub offline: bool,
    pub registry: RegistryConfig,
    /// Pinning was asked for by name (`--pin`, a `mode` in the config, `pin-images` in the
    /// selection): a failed lookup is then an error, not just a finding.
    pub explicit: bool,
}

impl PinSettings {
    /// The engine's options without registry answers.
    fn options(&self) -> PinOptions {
        PinOptions { mode: self.mode, update: self.update, ..PinOptions::default() }
    }
}

/// A reference whose lookup failed.
#[derive(Debug, Clone)]
pub struct Failure {
    /// `docker.io/library/python:latest`
    pub reference: String,
    pub error: LookupError,
    /// A file that needed it asked for pinning by name.
    pub explicit: bool,
}

/// The registry answers of the run, and the lookups that failed.
pub struct Prefetched {
    /// The answers, per way of reaching registries.
    answers: HashMap<RegistryConfig, Arc<TableResolver>>,
    pub failures: Vec<Failure>,
    /// How many lookups were made (a reference counts once per registry configuration).
    pub looked_up: usize,
}

impl Prefetched {
    /// Nothing looked up: pin-images is not selected, or the run is offline.
    pub fn unused() -> Prefetched {
        Prefetched { answers: HashMap::new(), failures: Vec::new(), looked_up: 0 }
    }

    /// The engine's pin options for a file with these settings: its mode and `update`, and
    /// the answers looked up with its registry configuration.
    pub fn pin_options(&self, settings: &PinSettings) -> PinOptions {
        let resolver: Arc<dyn ImageResolver> = if settings.offline {
            Arc::new(OfflineResolver { reason: "offline (--offline): no registry was asked".to_string() })
        } else {
            match self.answers.get(&settings.registry) {
                Some(table) => table.clone(),
                None => Arc::new(TableResolver::new()),
            }
        };
        PinOptions { resolver, ..settings.options() }
    }

    /// The digest `image`'s reference resolved to in this run's lookups with `registry`, if
    /// it was looked up: what the image-facts step compares with its cache, instead of asking
    /// the registry again.
    pub fn resolved_digest(&self, registry: &RegistryConfig, image: &ImageRef) -> Option<String> {
        match self.answers.get(registry)?.resolve(image) {
            Resolution::Found(resolved) => Some(resolved.digest),
            Resolution::Unresolved { .. } => None,
        }
    }

    /// Whether a lookup failed that a file asked for by name.
    pub fn failed_explicitly(&self) -> bool {
        self.failures.iter().any(|failure| failure.explicit)
    }

    /// The stderr report of failed lookups: one line per reference.
    pub fn failure_report(&self) -> String {
        let mut out = String::new();
        if !self.failures.is_empty() {
            out.push_str(&format!(
                "pin-images: {} of {} image lookups failed; their files were not pinned:\n",
                self.failures.len(),
                self.looked_up
            ));
        }
        for failure in &self.failures {
            out.push_str(&format!("    {}: {}\n", failure.reference, failure.error));
        }
        out
    }
}

/// The references one registry configuration must look up, in first-seen order.
#[derive(Default)]
struct Wanted {
    images: Vec<ImageRef>,
    /// By `canonical_tagged`: the index in `images`, and whether a file asked by name.
    seen: HashMap<String, (usize, bool)>,
}

/// Resolves what the files (pin settings and Dockerfile text) need. Without lookups to make
/// (offline, mode `none`, nothing unpinned) no registry is contacted.
pub fn prefetch<S, T>(files: impl IntoIterator<Item = (S, T)>) -> Prefetched
where
    S: Borrow<PinSettings>,
    T: AsRef<str>,
{
    let mut wanted: HashMap<RegistryConfig, Wanted> = HashMap::new();
    // Registry configurations in first-seen order, so that reports come out the same each run.
    let mut order: Vec<RegistryConfig> = Vec::new();
    for (settings, text) in files {
        let settings = settings.borrow();
        if settings.offline || settings.mode == PinMode::None {
            continue;
        }
        let source = Source::new(text.as_ref());
        let file = Dockerfile::parse(source.text());
        let images = pin_images::lookups(&file, source.text(), &settings.options());
        if images.is_empty() {
            continue;
        }
        let group = wanted.entry(settings.registry.clone()).or_insert_with(|| {
            order.push(settings.registry.clone());
            Wanted::default()
        });
        for image in images {
            let next = group.images.len();
            let entry = group.seen.entry(image.canonical_tagged()).or_insert((next, false));
            entry.1 |= settings.explicit;
            if entry.0 == next {
                group.images.push(image);
            }
        }
    }
    let mut prefetched = Prefetched::unused();
    for registry in order {
        let Some(group) = wanted.remove(&registry) else { continue };
        prefetched.looked_up += group.images.len();
        let mut table = TableResolver::new();
        for (image, result) in Registries::new(registry.clone()).resolve_all(group.images) {
            let key = image.canonical_tagged();
            match result {
                Ok(resolved) => table.insert(key, Resolution::Found(resolved)),
                Err(error) => {
                    table.insert(key.clone(), Resolution::Unresolved { reason: error.to_string() });
                    let explicit = group.seen.get(&key).is_some_and(|(_, explicit)| *explicit);
                    prefetched.failures.push(Failure { reference: key, error, explicit });
                }
            }
        }
        prefetched.answers.insert(registry, Arc::new(table));
    }
    prefetched
}
