//! dockfix-transforms: the pure core of dockfix. It parses Dockerfiles losslessly, runs
//! transforms that propose byte-range edits, and applies them to a fixed point. It does no
//! I/O and prints nothing; the `dockfix` binary is the shell around it.

pub mod context_files;
pub mod edit;
pub mod engine;
pub mod image;
pub mod options;
pub mod pin;
pub mod provenance;
pub mod rules;
pub mod semantic;
pub mod source;
pub mod suppress;
pub mod syntax;
pub mod transform;
pub mod verdict;

pub use edit::{Applicability, Edit, Finding, Fix, FollowUp};
pub use engine::{EngineError, Outcome, Report};
pub use options::Options;
pub use source::Source;
pub use syntax::Dockerfile;
pub use transform::{BuildContext, Context, NoBuildContext, Rule, SourceKind, MAX_TEXT_FILE_BYTES};
