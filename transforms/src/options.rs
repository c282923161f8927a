//! The options of a run: the engine's own (`safe_only`, `fix_generated`) and each
//! transform's. A transform's options type lives beside the transform; the engine carries
//! them by type without knowing them, so adding an option touches only its transform (and the
//! shell that fills it in).

use std::any::{Any, TypeId};
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Apply only fixes that cannot change behaviour.
    pub safe_only: bool,
    /// Apply fixes to files that say they are generated (see [`crate::verdict`]); otherwise
    /// their findings are reported and the file is left unchanged.
    pub fix_generated: bool,
    /// Each transform's options, by their type; a transform with none set gets its defaults.
    /// Public only so that `Options { safe_only: true, ..Options::default() }` can be written.
    pub transforms: TransformOptions,
}

impl Options {
    /// Sets a transform's options (replacing those of the same type).
    pub fn set<T: Any + Send + Sync>(&mut self, options: T) {
        let id = TypeId::of::<T>();
        self.transforms.0.retain(|held| held.as_ref().type_id() != id);
        self.transforms.0.push(Arc::new(options));
    }

    /// These options with a transform's options set.
    pub fn with<T: Any + Send + Sync>(mut self, options: T) -> Options {
        self.set(options);
        self
    }

    /// A transform's options: those set, or its defaults.
    pub fn get<T: Any + Clone + Default>(&self) -> Cow<'_, T> {
        let held = self.transforms.0.iter().find_map(|held| held.as_ref().downcast_ref::<T>());
        held.map_or_else(|| Cow::Owned(T::default()), Cow::Borrowed)
    }
}

/// A handful of values, one per transform that has options: a list is the simplest map.
#[derive(Clone, Default)]
pub struct TransformOptions(Vec<Arc<dyn Any + Send + Sync>>);

impl fmt::Debug for TransformOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} transform option sets", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Default, PartialEq)]
    struct Level(u8);

    #[test]
    fn options_not_set_are_the_defaults_and_set_ones_replace() {
        let mut options = Options::default();
        assert_eq!(*options.get::<Level>(), Level(0));
        options.set(Level(2));
        options.set(Level(3));
        assert_eq!(*options.get::<Level>(), Level(3));
        assert_eq!(*options.clone().with(Level(4)).get::<Level>(), Level(4));
        assert_eq!(*options.get::<Level>(), Level(3), "a clone shares nothing it could change");
    }
}
