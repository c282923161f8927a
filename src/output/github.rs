//! `--format github`: GitHub Actions workflow commands, which GitHub shows as annotations on
//! the lines of a pull request. One `::warning` per finding, one `::error` per file dockfix
//! could not process, or whose fixes failed `--verify`:
//!
//! ```text
//! ::warning file=Dockerfile,line=3,title=dockfix add-to-copy::ADD copies local files only: ...
//! ```
//!
//! Escaping follows GitHub's runner: in the message `%`, CR and LF are percent-encoded; in
//! property values also `:` and `,`.

use std::io::{self, Write};

use dockfix_transforms::Report;

use super::{annotation, Emitter};
use crate::file_result::FileResult;

/// Prints each file's workflow commands as soon as the file is done.
pub struct Github;

impl Emitter for Github {
    fn file(&mut self, result: FileResult, stdout: &mut dyn Write) -> io::Result<()> {
        stdout.write_all(annotations(&result).as_bytes())
    }

    fn finish(&mut self, _stdout: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }

    fn streams(&self) -> bool {
        true
    }
}

/// The workflow commands for one file's result, one per line.
fn annotations(result: &FileResult) -> String {
    let mut out = String::new();
    let file = annotation::repo_path(&result.path);
    if let Some(error) = &result.error {
        out.push_str(&command("error", &[("file", &file), ("title", "dockfix")], error));
    }
    for report in &result.reports {
        out.push_str(&finding(&file, report));
    }
    if let Some(message) =
        result.verification.as_ref().and_then(|verification| verification.failure_message())
    {
        out.push_str(&command("error", &[("file", &file), ("title", "dockfix verify")], &message));
    }
    out
}

fn finding(file: &str, report: &Report) -> String {
    let line = report.line.to_string();
    let title = format!("dockfix {}", report.transform);
    command("warning", &[("file", file), ("line", &line), ("title", &title)], &annotation::message(report))
}

fn command(name: &str, properties: &[(&str, &str)], message: &str) -> String {
    let properties: Vec<String> =
        properties.iter().map(|(key, value)| format!("{key}={}", escape_property(value))).collect();
    format!("::{name} {}::{}\n", properties.join(","), escape_data(message))
}

fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(escape_data("100% a:b,c\r\nd"), "100%25 a:b,c%0D%0Ad");
        assert_eq!(escape_property("C:\\a,b%\n"), "C%3A\\a%2Cb%25%0A");
        assert_eq!(
            command("warning", &[("file", "a,b.Dockerfile"), ("line", "3")], "x::y"),
            "::warning file=a%2Cb.Dockerfile,line=3::x::y\n"
        );
    }
}
