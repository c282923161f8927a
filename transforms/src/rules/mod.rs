//! The registry of transforms: one file each, listed here in the order the engine runs
//! them. The file's `//!` doc comment is the transform's documentation (`dockfix explain ID`
//! prints it); the interface they implement is in [`crate::transform`].

use crate::transform::Rule;

pub mod add_to_copy;
pub mod env_secrets;
pub mod multi_stage;
pub mod non_root_user;
pub mod pin_images;
pub mod strip_setuid;

/// Every transform, in the order the engine runs them.
pub fn all() -> &'static [&'static dyn Rule] {
    &[
        &multi_stage::MultiStage,
        &add_to_copy::AddToCopy,
        // Before strip-setuid: where both insert before `CMD`, the user's placement (after the
        // last RUN, with `--chown` on the COPYs that follow) must win the first pass.
        &non_root_user::NonRootUser,
        &strip_setuid::StripSetuid,
        &env_secrets::EnvSecrets,
        &pin_images::PinImages,
    ]
}

/// The transform an id or alias names (any case).
pub fn by_id(id: &str) -> Option<&'static dyn Rule> {
    all().iter().copied().find(|rule| rule.answers_to(id))
}

/// The id of the transform an id or alias names (any case), as suppression comments resolve
/// theirs.
pub fn transform_id(id: &str) -> Option<&'static str> {
    by_id(id).map(|rule| rule.id())
}
