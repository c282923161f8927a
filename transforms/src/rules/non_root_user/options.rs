//! The options of `non-root-user` (`[non-root-user]` in `dockfix.toml`, `--user-name`,
//! `--user-id`, `--group-id`): the user it creates when the image has none to switch to.

use schemars::JsonSchema;
use serde::Deserialize;

/// Settings of the `non-root-user` transform.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NonRootUserConfig {
    /// The user to create when the image has none to switch to (default `app`).
    pub user_name: Option<String>,
    /// UID of that user, and GID of its group unless `group-id` is set (default 10001; not 0).
    #[schemars(range(min = 1, max = 4_294_967_294u32))]
    pub user_id: Option<u32>,
    /// GID of that user's group (default: the UID; not 0).
    #[schemars(range(min = 1, max = 4_294_967_294u32))]
    pub group_id: Option<u32>,
}

impl NonRootUserConfig {
    /// The user these settings ask for, defaults filled in. Checking the name and the ids is
    /// the caller's: it knows where they came from.
    pub fn new_user(&self) -> NewUser {
        let defaults = NewUser::default();
        let id = self.user_id.unwrap_or(defaults.id);
        NewUser {
            name: self.user_name.clone().unwrap_or(defaults.name),
            id,
            group_id: self.group_id.unwrap_or(id),
            ids_chosen: self.user_id.is_some() || self.group_id.is_some(),
        }
    }
}

/// A system user to create: its name, and the UID and GID it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub name: String,
    pub id: u32,
    /// The GID of the user's own group (the UID unless chosen).
    pub group_id: u32,
    /// The UID or GID was chosen (config or flags) rather than defaulted: the numeric
    /// fallback for images without user tools then uses them too, instead of distroless'
    /// `65532:65532`.
    pub ids_chosen: bool,
}

impl Default for NewUser {
    /// `app` with UID/GID 10001: above the system range, clear of the UIDs images commonly
    /// ship (1000 `node`, 65532 distroless `nonroot`, 65534 `nobody`).
    fn default() -> Self {
        NewUser { name: "app".to_string(), id: 10001, group_id: 10001, ids_chosen: false }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_group_follows_the_uid_unless_set_and_set_ids_are_chosen() {
        assert_eq!(NonRootUserConfig::default().new_user(), NewUser::default());
        let uid_only = NonRootUserConfig { user_id: Some(2000), ..NonRootUserConfig::default() };
        assert_eq!(
            uid_only.new_user(),
            NewUser { name: "app".into(), id: 2000, group_id: 2000, ids_chosen: true }
        );
        let gid_only = NonRootUserConfig { group_id: Some(500), ..NonRootUserConfig::default() };
        assert_eq!((gid_only.new_user().id, gid_only.new_user().group_id), (10001, 500));
    }
}
