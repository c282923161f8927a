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

#[cfg(test)]
mod tests {
    use super::*;

    /// Each `documentation()` reads its own file (`include_str!`): a copied line pointing at
    /// another transform's file would show that one's page under this id.
    #[test]
    fn every_transform_explains_itself_and_answers_only_to_its_names() {
        for rule in all() {
            let page = rule.documentation();
            assert!(page.starts_with(&format!("# {}\n", rule.id())), "`{}` shows another page", rule.id());
            for name in std::iter::once(rule.id()).chain(rule.aliases().iter().copied()) {
                assert_eq!(
                    by_id(name).map(|found| found.id()),
                    Some(rule.id()),
                    "`{name}` names another transform"
                );
            }
        }
    }
}
