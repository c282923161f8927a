//! The semantic layer: what a Dockerfile's instructions mean, worked out once for every
//! transform. [`shell`] reads the shell commands of `RUN`, `CMD` and `ENTRYPOINT`.

pub mod shell;
