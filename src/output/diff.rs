//! `--format diff` (the default): each changed file's unified diff as it is done, which
//! `git apply` accepts; nothing with `--write`; from stdin, the fixed file itself.

use std::io::{self, Write};

use super::{Emitter, Fixed};
use crate::file_result::FileResult;

pub struct Diff {
    fixed: Fixed,
}

impl Diff {
    pub fn new(fixed: Fixed) -> Diff {
        Diff { fixed }
    }
}

impl Emitter for Diff {
    fn file(&mut self, result: FileResult, stdout: &mut dyn Write) -> io::Result<()> {
        match self.fixed {
            Fixed::Previewed if result.changed() => stdout.write_all(result.diff().as_bytes()),
            Fixed::Previewed | Fixed::Written => Ok(()),
            // On error nothing is printed: a pipe must not get a half-fixed or empty file.
            Fixed::Piped => match &result.output {
                Some(output) => stdout.write_all(output.as_bytes()),
                None => Ok(()),
            },
        }
    }

    fn finish(&mut self, _stdout: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }

    fn streams(&self) -> bool {
        self.fixed != Fixed::Written
    }
}
