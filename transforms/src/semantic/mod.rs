//! The semantic layer: what a Dockerfile means, beyond its syntax. Quoting by Docker's rules,
//! variable and stage names, ARG/ENV declarations and `${VAR}` substitution, the variables an
//! instruction sees, stages and the chain of stages an image is built from, and ([`shell`])
//! the shell commands of `RUN`, `CMD` and `ENTRYPOINT`.
//!
//! Transforms ask this layer rather than re-deriving these facts: one implementation of each,
//! tested here, so two transforms can never read the same file two ways.

pub mod names;
pub mod quoting;
pub mod shell;
pub mod stages;
pub mod variables;
pub mod visible;
