//! The options of `non-root-user`: the user it creates when the image has none to switch to.

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
