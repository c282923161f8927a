//! The `dockfix` shell as a library, so the binary and the integration tests share it:
//! file discovery, reading and atomic writing, the build context on disk, and output.

pub mod build_context;
pub mod config;
pub mod discover;
pub mod docs;
pub mod file_result;
pub mod files;
pub mod generator;
pub mod image_facts;
pub mod image_lookups;
pub mod line_diff;
pub mod output;
pub mod pipeline;
pub mod progress;
pub mod redact;
pub mod registry;
pub mod settings;
pub mod style;
pub mod verify;
