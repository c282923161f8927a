//! The step before the engine runs: collect the image references of every file that
//! `pin-images` needs looked up, resolve each one once (concurrently), and hand the engine a
//! table with the answers. The engine itself never touches the network.

use std::collections::HashSet;
use std::sync::Arc;

use dockfix_transforms::image::ImageRef;
use dockfix_transforms::pin::{OfflineResolver, PinMode, PinOptions, Resolution, TableResolver};
use dockfix_transforms::rules::pin_images;
use dockfix_transforms::{Dockerfile, Source};

use crate::registry::{LookupError, Registries, RegistryConfig};

/// What the user asked of `pin-images`.
#[derive(Debug, Clone, Default)]
pub struct PinSettings {
    pub mode: PinMode,
    pub update: bool,
    /// Ask no registry: every reference that needs a lookup becomes a finding.
    pub offline: bool,
    pub registry: RegistryConfig,
}

/// The engine's pin options for the run, and the lookups that failed.
pub struct Prefetched {
    pub pin: PinOptions,
    /// Each failed reference (`docker.io/library/python:latest`) with why.
    pub failures: Vec<(String, LookupError)>,
    /// How many distinct references were looked up.
    pub looked_up: usize,
}

impl Prefetched {
    /// Nothing looked up: pin-images is not selected.
    pub fn unused() -> Prefetched {
        Prefetched { pin: PinOptions::default(), failures: Vec::new(), looked_up: 0 }
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
        for (reference, error) in &self.failures {
            out.push_str(&format!("    {reference}: {error}\n"));
        }
        out
    }
}

/// Resolves what the `texts` (Dockerfiles) need. Without lookups to make (offline, mode
/// `none`, nothing unpinned) no registry is contacted.
pub fn prefetch(settings: &PinSettings, texts: impl IntoIterator<Item = impl AsRef<str>>) -> Prefetched {
    let mut pin = PinOptions { mode: settings.mode, update: settings.update, ..PinOptions::default() };
    if settings.offline {
        pin.resolver =
            Arc::new(OfflineResolver { reason: "offline (--offline): no registry was asked".to_string() });
        return Prefetched { pin, failures: Vec::new(), looked_up: 0 };
    }
    let images = references(&pin, texts);
    let looked_up = images.len();
    let mut table = TableResolver::new();
    let mut failures = Vec::new();
    if !images.is_empty() {
        for (image, result) in Registries::new(settings.registry.clone()).resolve_all(images) {
            let key = image.canonical_tagged();
            match result {
                Ok(resolved) => table.insert(key, Resolution::Found(resolved)),
                Err(error) => {
                    table.insert(key.clone(), Resolution::Unresolved { reason: error.to_string() });
                    failures.push((key, error));
                }
            }
        }
    }
    pin.resolver = Arc::new(table);
    Prefetched { pin, failures, looked_up }
}

/// The distinct references the texts need looked up, in first-seen order.
fn references(pin: &PinOptions, texts: impl IntoIterator<Item = impl AsRef<str>>) -> Vec<ImageRef> {
    let mut seen = HashSet::new();
    let mut images = Vec::new();
    for text in texts {
        let source = Source::new(text.as_ref());
        let file = Dockerfile::parse(source.text());
        for image in pin_images::lookups(&file, source.text(), pin) {
            if seen.insert(image.canonical_tagged()) {
                images.push(image);
            }
        }
    }
    images
}
