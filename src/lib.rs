//! The `dockfix` shell as a library, so the binary and the integration tests share it:
//! file discovery, reading and atomic writing, the build context on disk, and output.

pub mod build_context;
pub mod config;
pub mod discover;
pub mod files;
pub mod markdown;
pub mod pinning;
pub mod registry;
pub mod report;
pub mod settings;
