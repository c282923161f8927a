//! Command-line arguments.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Rewrites Dockerfiles into hardened ones.
///
/// dockfix parses each Dockerfile losslessly, runs its transforms and shows the result as a
/// unified diff. Nothing outside an edit changes: comments, blank lines, continuations,
/// heredocs, casing, CRLF and a missing final newline come out byte for byte.
#[derive(Debug, Parser)]
#[command(name = "dockfix", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fix Dockerfiles: preview a diff (default), --write in place, or --check in CI.
    #[command(after_help = FIX_EXAMPLES)]
    Fix(FixArgs),
    /// Print the instruction model of a Dockerfile as JSON (to compare with Docker's parser).
    Parse {
        /// The Dockerfile to parse.
        file: PathBuf,
    },
    /// List the transforms.
    Rules,
    /// Print a transform's documentation.
    Explain {
        /// A transform id (`add-to-copy`) or an alias (`DL3020`).
        id: String,
    },
}

const FIX_EXAMPLES: &str = "\
Examples:
  dockfix fix                          preview fixes for Dockerfiles under the current directory
  dockfix fix Dockerfile --write       rewrite the file in place
  dockfix fix . --check                exit 1 if any file would change (CI gate)
  dockfix fix --select add-to-copy     run one transform only
  dockfix fix - < Dockerfile           read stdin, write the fixed file to stdout
  dockfix fix --format json > out.json for bots

Exit codes: 0 done, 1 changes pending (--check), 2 error (bad arguments, unreadable or
declined file). Run `dockfix rules` for the transforms and `dockfix explain ID` for one.";

#[derive(Debug, clap::Args)]
pub struct FixArgs {
    /// Files or directories (searched for Dockerfile, Containerfile, *.Dockerfile,
    /// Dockerfile.*, honouring .gitignore); `-` reads stdin. Default: the current directory.
    pub paths: Vec<PathBuf>,

    /// Rewrite files in place (atomically; keeps permissions; a symlink stays a symlink).
    #[arg(long, conflicts_with = "check")]
    pub write: bool,

    /// Write nothing; exit 1 if any file would change.
    #[arg(long)]
    pub check: bool,

    /// Run only these transforms (ids or hadolint codes, comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "ID,..")]
    pub select: Vec<String>,

    /// Skip these transforms (ids or hadolint codes, comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "ID,..")]
    pub ignore: Vec<String>,

    /// Apply only fixes that cannot change behaviour; list the others.
    #[arg(long)]
    pub safe_only: bool,

    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Diff)]
    pub format: Format,

    /// Build context for checking ADD sources (default: each Dockerfile's directory).
    #[arg(long, value_name = "DIR")]
    pub context: Option<PathBuf>,

    /// The user non-root-user creates when the image has none to switch to.
    #[arg(long, value_name = "NAME", default_value = "app", value_parser = user_name)]
    pub user_name: String,

    /// UID and GID of that user (not 0).
    #[arg(long, value_name = "ID", default_value_t = 10001,
          value_parser = clap::value_parser!(u32).range(1..=4_294_967_294))]
    pub user_id: u32,
}

/// A portable user name, as `useradd` and BusyBox `adduser` accept it.
fn user_name(name: &str) -> Result<String, String> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if first_ok && rest_ok && name.len() <= 32 && name != "root" {
        return Ok(name.to_string());
    }
    Err("a user name is 1 to 32 characters: a lower-case letter or `_`, then lower-case letters, digits, `_` or `-` (and not `root`)".into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Unified diff (git-style a/ b/ paths, `git apply` accepts it).
    Diff,
    /// One versioned JSON document.
    Json,
    /// SARIF 2.1.0 for code scanning, with each applied fix as replacements.
    Sarif,
    /// GitHub Actions annotations (`::warning file=...,line=...::`), one per finding.
    Github,
}
