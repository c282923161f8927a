//! Variables as Docker resolves them: what `ARG` and `ENV` declare, the ARGs declared before
//! the first `FROM` (the only ones a `FROM` line sees), and substitution of `$NAME`,
//! `${NAME}`, `${NAME:-word}` and `${NAME:+word}`.
//!
//! Values are read with [`unquote_word`], Docker's rule for ENV/ARG values.

use crate::syntax::{Dockerfile, Instruction, Word};

use super::names::{is_variable_name, variable_name_len};
use super::quoting::{escape_character, unquote_word};

/// One name an `ARG` declares (`ARG A B=2` declares two).
#[derive(Debug, Clone, Copy)]
pub struct ArgDeclaration<'a> {
    pub name: &'a str,
    /// The default as written, quotes kept; `None` for `ARG NAME` without one.
    pub raw_default: Option<&'a str>,
    pub word: &'a Word,
    pub instruction: &'a Instruction,
}

/// The names an `ARG` instruction declares, in order.
pub fn arg_declarations(instruction: &Instruction) -> Vec<ArgDeclaration<'_>> {
    instruction
        .words
        .iter()
        .map(|word| {
            let (name, raw_default) = match word.text.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (word.text.as_str(), None),
            };
            ArgDeclaration { name, raw_default, word, instruction }
        })
        .collect()
}

/// The ARGs declared before the first `FROM`, in order. For a name declared twice the later
/// declaration is the one the `FROM`s see ([`last_declaration`]).
pub fn global_args(file: &Dockerfile) -> Vec<ArgDeclaration<'_>> {
    file.instructions
        .iter()
        .take_while(|instruction| instruction.stage.is_none())
        .filter(|instruction| instruction.is("ARG"))
        .flat_map(arg_declarations)
        .collect()
}

/// The declaration of `name` that is in effect after all of `declarations`: the last one.
pub fn last_declaration<'d, 'a>(
    declarations: &'d [ArgDeclaration<'a>],
    name: &str,
) -> Option<&'d ArgDeclaration<'a>> {
    declarations.iter().rev().find(|declaration| declaration.name == name)
}

/// The `NAME`/raw value pairs of an `ENV`: `ENV A=1 B="2 3"`, or the legacy `ENV A value with
/// spaces`, whose value is the rest of the line as written.
pub fn env_assignments(instruction: &Instruction) -> Vec<(&str, &str)> {
    let Some(first) = instruction.words.first() else {
        return Vec::new();
    };
    if !first.text.contains('=') {
        let value = instruction.args.trim_start().get(first.text.len()..).unwrap_or("").trim();
        return vec![(first.text.as_str(), value)];
    }
    instruction.words.iter().filter_map(|word| word.text.split_once('=')).collect()
}

/// One `$` reference, as Docker's lexer reads it from the text after the `$`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reference<'a> {
    /// The variable's name ([`variable_name_len`]); empty when none follows (`$1`, a lone
    /// `$`, `${-x}`).
    pub name: &'a str,
    /// What follows the name inside the braces (`:-default`); empty for `$NAME`, `${NAME}`.
    pub modifier: &'a str,
    pub braced: bool,
    /// Its length in bytes, not counting the `$`.
    pub len: usize,
}

/// The reference that starts `text`, the text after a `$`; `None` when a `${` is not closed.
/// Braces may nest (`${A:-${B}}`).
pub fn reference_after_dollar(text: &str) -> Option<Reference<'_>> {
    let Some(inner) = text.strip_prefix('{') else {
        let len = variable_name_len(text);
        return Some(Reference { name: &text[..len], modifier: "", braced: false, len });
    };
    let end = closing_brace(inner)?;
    let (name, modifier) = inner[..end].split_at(variable_name_len(&inner[..end]));
    Some(Reference { name, modifier, braced: true, len: end + 2 })
}

/// `text` with `$NAME`, `${NAME}`, `${NAME:-word}` and `${NAME:+word}` replaced as Docker
/// replaces them, `lookup` giving each variable's value (`None`: no value is known, treated as
/// unset by `:-` and `:+`). `None` when a plain reference has no known value, or the text uses
/// a form Docker's lexer reads differently (`$1`, a lone `$`, an unclosed `${`, another
/// modifier).
pub fn substitute(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Option<String> {
    expand(text, &|name| lookup(name).map_or(Known::Unset, Known::Value))
}

/// What substitution knows of one variable.
enum Known {
    Value(String),
    /// Declared with a default that could not be expanded itself, kept as written: a plain
    /// reference shows that text (so the rest of a name stays readable, its `$` marking it
    /// unresolved); a `:-` or `:+` on it cannot be decided.
    Unexpanded(String),
    /// Undeclared, or declared without a default: the build may pass none.
    Unset,
}

fn expand(text: &str, lookup: &dyn Fn(&str) -> Known) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        rest = &rest[dollar + 1..];
        let reference = reference_after_dollar(rest)?;
        out.push_str(&expand_reference(&reference, lookup)?);
        rest = &rest[reference.len..];
    }
    out.push_str(rest);
    Some(out)
}

/// The text a plain `$NAME` or `${NAME}` stands for.
fn plain(known: Known) -> Option<String> {
    match known {
        Known::Value(value) | Known::Unexpanded(value) => Some(value),
        Known::Unset => None,
    }
}

/// The value of one reference.
fn expand_reference(reference: &Reference, lookup: &dyn Fn(&str) -> Known) -> Option<String> {
    let (name, modifier) = (reference.name, reference.modifier);
    if !is_variable_name(name) {
        return None;
    }
    if modifier.is_empty() {
        return plain(lookup(name));
    }
    let set = match lookup(name) {
        Known::Value(value) => (!value.is_empty()).then_some(value),
        Known::Unexpanded(_) => return None,
        Known::Unset => None,
    };
    if let Some(word) = modifier.strip_prefix(":-") {
        return match set {
            Some(value) => Some(value),
            None => expand(word, lookup),
        };
    }
    if let Some(word) = modifier.strip_prefix(":+") {
        return match set {
            Some(_) => expand(word, lookup),
            None => Some(String::new()),
        };
    }
    None
}

/// The index of the `}` that closes a `${` whose inside starts `text` (words may nest `${}`).
fn closing_brace(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (index, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(index),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// The ARGs declared before the first `FROM` as a `FROM` sees them, in declaration order: each
/// default expanded when it is declared, with the global ARGs declared before it, as Docker
/// expands it (`ARG V=${SLIM:+-slim}`); a default that cannot be expanded is kept as written.
/// For a name declared twice the last declaration counts.
fn global_arg_values(file: &Dockerfile) -> Vec<(&str, Known)> {
    let escape = escape_character(file);
    let mut values: Vec<(&str, Known)> = Vec::new();
    for arg in global_args(file) {
        let known = match arg.raw_default {
            Some(raw) => {
                let written = unquote_word(raw, escape);
                match expand(&written, &|name| known_in(&values, name)) {
                    Some(value) => Known::Value(value),
                    None => Known::Unexpanded(written),
                }
            }
            None => Known::Unset,
        };
        values.push((arg.name, known));
    }
    values
}

fn known_in(values: &[(&str, Known)], name: &str) -> Known {
    match values.iter().rev().find(|(declared, _)| *declared == name) {
        Some((_, Known::Value(value))) => Known::Value(value.clone()),
        Some((_, Known::Unexpanded(written))) => Known::Unexpanded(written.clone()),
        Some((_, Known::Unset)) | None => Known::Unset,
    }
}

/// The value a `FROM` sees for the global ARG `name`: its last declaration's default, expanded
/// when it was declared. `None` when it has no default or the default cannot be expanded.
pub fn global_arg_value(file: &Dockerfile, name: &str) -> Option<String> {
    match known_in(&global_arg_values(file), name) {
        Known::Value(value) => Some(value),
        Known::Unexpanded(_) | Known::Unset => None,
    }
}

/// `text` with the ARGs declared before the first `FROM` substituted by their values, as a
/// `FROM` line sees them; `None` when a variable has no default. A default that could not be
/// expanded comes out as written, `$` and all.
pub fn resolve_global_args(file: &Dockerfile, text: &str) -> Option<String> {
    if !text.contains('$') {
        return Some(text.to_string());
    }
    let values = global_arg_values(file);
    expand(text, &|name| known_in(&values, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(name: &str) -> Option<String> {
        match name {
            "A" => Some("x".to_string()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn substitutes_like_docker() {
        assert_eq!(substitute("/$A/${A}y", values).as_deref(), Some("/x/xy"));
        assert_eq!(substitute("${B:-alpine}", values).as_deref(), Some("alpine"));
        assert_eq!(substitute("${EMPTY:-d}", values).as_deref(), Some("d"), "`:-` also replaces empty");
        assert_eq!(substitute("${A:-d}", values).as_deref(), Some("x"));
        assert_eq!(substitute("${A:+set}", values).as_deref(), Some("set"));
        assert_eq!(substitute("${B:+set}", values).as_deref(), Some(""));
        assert_eq!(substitute("${B:-${A}z}", values).as_deref(), Some("xz"), "defaults may nest");
        assert_eq!(substitute("$EMPTY", values).as_deref(), Some(""));
        assert_eq!(substitute("${B}", values), None);
        assert_eq!(substitute("$1", values), None);
        assert_eq!(substitute("${A", values), None);
        assert_eq!(substitute("${A%%x}", values), None);
        assert_eq!(substitute("plain", values).as_deref(), Some("plain"));
    }

    #[test]
    fn reads_references() {
        let read = |text| reference_after_dollar(text).map(|r| (r.name, r.modifier, r.braced, r.len));
        assert_eq!(read("NAME/x"), Some(("NAME", "", false, 4)));
        assert_eq!(read("{NAME}x"), Some(("NAME", "", true, 6)));
        assert_eq!(read("{A:-${B}}/"), Some(("A", ":-${B}", true, 9)));
        assert_eq!(read("1x"), Some(("", "", false, 0)), "`$1` is a positional parameter");
        assert_eq!(read("{A"), None);
    }

    #[test]
    fn resolves_global_arg_defaults() {
        let file = Dockerfile::parse(
            "ARG BASE=debian\nARG TAG=\"12\"\nARG GONE=1\nARG GONE\nFROM ${BASE}:$TAG\nARG LOCAL=x\n",
        );
        assert_eq!(resolve_global_args(&file, "${BASE}:$TAG").as_deref(), Some("debian:12"));
        assert_eq!(resolve_global_args(&file, "${NOPE:-alpine}").as_deref(), Some("alpine"));
        assert_eq!(resolve_global_args(&file, "${UNSET}"), None);
        assert_eq!(resolve_global_args(&file, "$GONE"), None, "the last declaration has no default");
        assert_eq!(resolve_global_args(&file, "$LOCAL"), None, "declared inside a stage");
        let chained =
            Dockerfile::parse("ARG SLIM=1\nARG V=${SLIM:+-slim}\nARG B=py:3$V\nARG C=$NONE\nFROM $B\n");
        assert_eq!(
            resolve_global_args(&chained, "$B").as_deref(),
            Some("py:3-slim"),
            "expanded when declared"
        );
        assert_eq!(resolve_global_args(&chained, "$C").as_deref(), Some("$NONE"), "kept as written");
        assert_eq!(resolve_global_args(&chained, "${C:-x}"), None, "cannot tell whether it is set");
        let own = Dockerfile::parse("ARG P=${P:-python}:3\nFROM $P\n");
        assert_eq!(global_arg_value(&own, "P").as_deref(), Some("python:3"), "`P` is unset when declared");
        assert_eq!(global_arg_value(&chained, "C"), None);
        let names: Vec<&str> = global_args(&file).iter().map(|arg| arg.name).collect();
        assert_eq!(names, ["BASE", "TAG", "GONE", "GONE"]);
    }

    #[test]
    fn env_assignments_read_both_forms() {
        let file = Dockerfile::parse("FROM x\nENV A=1 B=\"2 3\"\nENV LEGACY  some value\n");
        assert_eq!(env_assignments(&file.instructions[1]), [("A", "1"), ("B", "\"2 3\"")]);
        assert_eq!(env_assignments(&file.instructions[2]), [("LEGACY", "some value")]);
    }
}
