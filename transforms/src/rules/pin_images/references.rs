//! Where a file writes its image references, and how each one can be edited: FROM bases,
//! `COPY --from` and `RUN --mount=from=` values, with the ARG defaults they use substituted,
//! down to the bytes that hold each reference's tag and digest. The registry is not asked here.

use std::collections::HashMap;
use std::ops::Range;

use crate::image::ImageRef;
use crate::pin::{is_floating, PinMode, PinOptions};
use crate::semantic::names::is_variable_name;
use crate::semantic::quoting::{escape_character, unquote_word, value_span};
use crate::semantic::stages::{base_stage, names_a_stage, refers_to_stage};
use crate::semantic::variables::{self, global_arg_value, reference_after_dollar};
use crate::suppress::{is_suppressed, Suppression};
use crate::syntax::{Dockerfile, Instruction};

use super::ID;

/// An image reference as written in an instruction.
struct Written<'a> {
    instruction: &'a Instruction,
    text: String,
    /// Where `text` is in the file, when the bytes there are exactly `text` (not split by a
    /// line continuation).
    span: Option<Range<usize>>,
}

/// One reference that needs pinning, or why it cannot be pinned.
pub(super) struct Entry {
    pub(super) line: usize,
    /// The reference as written (`${BASE}`, `python:3.12`).
    pub(super) written: String,
    pub(super) state: State,
}

pub(super) enum State {
    Target(Target),
    /// Not pinnable whatever the registry says; the reason.
    Unpinnable(String),
}

pub(super) struct Target {
    /// The reference with ARG defaults substituted.
    pub(super) image: ImageRef,
    /// Where its tag and digest are written.
    pub(super) site: Site,
}

/// The bytes from the start of a reference's tag (or the end of its name, when it has no
/// tag) to its end, in the one place they are written.
pub(super) struct Site {
    pub(super) range: Range<usize>,
    /// Bytes of the new `:tag@digest` that lie before `range` (the `:` of a tag that is an
    /// ARG of its own, as in `python:${PY}`).
    pub(super) skip: usize,
    /// The ARG whose default holds them, and its line.
    pub(super) via_arg: Option<(String, usize)>,
    /// They are literal text inside double quotes (`FROM "python"`).
    pub(super) quoted: bool,
}

/// A piece of a reference as written: literal text, or a variable; ranges into the text.
enum Piece {
    Literal(Range<usize>),
    Var(String),
}

/// A global ARG (declared before the first `FROM`) and its default.
struct GlobalArg<'a> {
    instruction: &'a Instruction,
    /// The default's value, unquoted.
    value: Option<String>,
    /// The default as written, quotes kept: messages quote the user's text, not its value.
    written: &'a str,
    /// The value's bytes in the text, when they are exactly `value`.
    value_span: Option<Range<usize>>,
}

/// What every reference of a file is judged against.
struct Scope<'a> {
    file: &'a Dockerfile,
    globals: HashMap<String, GlobalArg<'a>>,
    /// Per variable, how references use it: `true` where it ends the reference (holds its tag
    /// and digest), `false` where it holds part of a name.
    var_roles: HashMap<String, Vec<bool>>,
    /// `ARG NAME` declared inside a stage: name -> line.
    stage_args: HashMap<String, usize>,
}

/// Every reference of `file` that `options` asks to pin, outside suppressed lines: where its
/// tag and digest are edited, or why they cannot be.
pub(super) fn collect(
    file: &Dockerfile,
    text: &str,
    options: &PinOptions,
    suppressed: &[Suppression],
) -> Vec<Entry> {
    let references = references(file, text);
    let scope = Scope {
        file,
        globals: global_args(file, text),
        var_roles: var_roles(&references),
        stage_args: stage_args(file),
    };
    references
        .iter()
        .filter(|written| !is_suppressed(suppressed, ID, written.instruction.start_line))
        .filter_map(|written| {
            let state = classify(&scope, written, options)?;
            Some(Entry { line: written.instruction.start_line, written: written.text.clone(), state })
        })
        .collect()
}

/// Every image reference of the file: FROM bases, `COPY --from`, `RUN --mount=from=`; not
/// `scratch`, stage names or stage indexes.
fn references<'a>(file: &'a Dockerfile, text: &str) -> Vec<Written<'a>> {
    let exact = |value: &str, span: Range<usize>| (text.get(span.clone()) == Some(value)).then_some(span);
    let mut found = Vec::new();
    for stage in &file.stages {
        let from = &file.instructions[stage.from];
        let Some(word) = from.words.first() else { continue };
        if base_stage(file, stage).is_some() || word.text.eq_ignore_ascii_case("scratch") {
            continue;
        }
        found.push(Written {
            instruction: from,
            text: word.text.clone(),
            span: exact(&word.text, word.span.clone()),
        });
    }
    for instruction in &file.instructions {
        let mut values: Vec<(&str, Range<usize>)> = Vec::new();
        for flag in &instruction.flags {
            let Some(value) = flag.value.as_deref() else { continue };
            let span = flag.span.end.saturating_sub(value.len())..flag.span.end;
            match (instruction.keyword.as_str(), flag.name.as_str()) {
                ("COPY", "from") => values.push((value, span)),
                ("RUN", "mount") => values.extend(mount_from(value, span)),
                _ => {}
            }
        }
        for (value, span) in values {
            if value.is_empty() || refers_to_stage(file, value) {
                continue;
            }
            found.push(Written { instruction, text: value.to_string(), span: exact(value, span) });
        }
    }
    found.sort_by_key(|written| written.instruction.span.start);
    found
}

/// `from=IMAGE` in a `--mount` value, with its span.
fn mount_from(value: &str, span: Range<usize>) -> Option<(&str, Range<usize>)> {
    let mut offset = 0;
    for field in value.split(',') {
        if let Some((key, image)) = field.split_once('=') {
            if key.eq_ignore_ascii_case("from") {
                let start = span.start + offset + key.len() + 1;
                return Some((image, start..start + image.len()));
            }
        }
        offset += field.len() + 1;
    }
    None
}

/// The ARGs declared before the first `FROM`; the last declaration of a name wins.
fn global_args<'a>(file: &'a Dockerfile, text: &str) -> HashMap<String, GlobalArg<'a>> {
    let escape = escape_character(file);
    let mut globals = HashMap::new();
    for declared in variables::global_args(file) {
        let arg = match declared.raw_default {
            Some(raw) => {
                let value = unquote_word(raw, escape);
                let raw_start = declared.word.span.end.saturating_sub(raw.len());
                let value_span = value_span(raw, escape)
                    .map(|inner| raw_start + inner.start..raw_start + inner.end)
                    .filter(|span| text.get(span.clone()) == Some(value.as_str()));
                GlobalArg { instruction: declared.instruction, value: Some(value), written: raw, value_span }
            }
            None => {
                GlobalArg { instruction: declared.instruction, value: None, written: "", value_span: None }
            }
        };
        globals.insert(declared.name.to_string(), arg);
    }
    globals
}

/// `ARG` names declared inside stages (they see the global default), with their line.
fn stage_args(file: &Dockerfile) -> HashMap<String, usize> {
    let mut names = HashMap::new();
    for instruction in file.instructions.iter().filter(|i| i.stage.is_some() && i.is("ARG")) {
        for declared in variables::arg_declarations(instruction) {
            names.entry(declared.name.to_string()).or_insert(instruction.start_line);
        }
    }
    names
}

/// Splits a reference into literal text and `$NAME` / `${NAME}` variables, leaving out the
/// double quotes Docker removes (`alpine:"${TAG}"`); `Err` names a form dockfix does not
/// substitute (`${NAME:-default}`, single quotes).
fn pieces(written: &str) -> Result<Vec<Piece>, String> {
    if written.contains('\'') {
        return Err("it uses single quotes; pin it by hand".to_string());
    }
    let mut pieces = Vec::new();
    let mut literal_start = 0;
    let mut at = 0;
    while let Some(found) = written[at..].find(['$', '"']) {
        let special = at + found;
        if literal_start < special {
            pieces.push(Piece::Literal(literal_start..special));
        }
        if written[special..].starts_with('"') {
            at = special + 1;
            literal_start = at;
            continue;
        }
        let after = &written[special + 1..];
        let reference =
            reference_after_dollar(after).ok_or_else(|| format!("`{written}` has an unclosed `${{`"))?;
        if !reference.modifier.is_empty() || !is_variable_name(reference.name) {
            let form = if reference.braced {
                format!("${{{}}}", &after[1..reference.len - 1])
            } else {
                // `$1` is a positional parameter: Docker never reads it as an ARG.
                let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                format!("${}", &after[..digits])
            };
            return Err(format!("it uses `{form}`, a form dockfix does not substitute"));
        }
        pieces.push(Piece::Var(reference.name.to_string()));
        at = special + 1 + reference.len;
        literal_start = at;
    }
    if literal_start < written.len() {
        pieces.push(Piece::Literal(literal_start..written.len()));
    }
    Ok(pieces)
}

/// The ARGs BuildKit sets for each build and target platform.
const PLATFORM_ARGS: &[&str] = &[
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
];

fn var_roles(references: &[Written]) -> HashMap<String, Vec<bool>> {
    let mut roles: HashMap<String, Vec<bool>> = HashMap::new();
    for written in references {
        let Ok(pieces) = pieces(&written.text) else { continue };
        let count = pieces.len();
        for (index, piece) in pieces.into_iter().enumerate() {
            if let Piece::Var(name) = piece {
                roles.entry(name).or_default().push(index + 1 == count);
            }
        }
    }
    roles
}

/// Whether a reference needs pinning and where, or why it cannot be; `None` when there is
/// nothing to do (already pinned, or not an image after all).
fn classify(scope: &Scope, written: &Written, options: &PinOptions) -> Option<State> {
    let unpinnable = |reason: String| Some(State::Unpinnable(reason));
    let pieces = match pieces(&written.text) {
        Ok(pieces) => pieces,
        Err(reason) => return unpinnable(reason),
    };
    // The reference with ARG defaults substituted, and where each piece landed in it.
    let mut resolved = String::new();
    let mut placed: Vec<Range<usize>> = Vec::new();
    for piece in &pieces {
        let start = resolved.len();
        match piece {
            Piece::Literal(range) => resolved.push_str(&written.text[range.clone()]),
            Piece::Var(name) => match substitute(scope, name) {
                Ok(value) => resolved.push_str(&value),
                Err(reason) => return unpinnable(reason),
            },
        }
        placed.push(start..resolved.len());
    }
    if resolved.eq_ignore_ascii_case("scratch") || names_a_stage(scope.file, &resolved) {
        return None;
    }
    let image = match ImageRef::parse_checked(&resolved) {
        Ok(image) => image,
        Err(error) => return unpinnable(format!("not an image reference Docker accepts: {error}")),
    };
    let needs_pin = match (&image.digest, &image.tag) {
        (Some(_), Some(_)) => options.update,
        (Some(_), None) => false,
        (None, tag) => options.mode == PinMode::Digest || is_floating(tag.as_deref()),
    };
    if !needs_pin {
        return None;
    }
    match site(scope, written, &pieces, &placed, &image) {
        Ok(site) => Some(State::Target(Target { image, site })),
        Err(reason) => unpinnable(reason),
    }
}

/// The value of a global ARG in a FROM line.
fn substitute(scope: &Scope, name: &str) -> Result<String, String> {
    let Some(arg) = scope.globals.get(name) else {
        if PLATFORM_ARGS.contains(&name) {
            return Err(format!(
                "BuildKit sets {name} for each platform; pin the image of each platform by hand"
            ));
        }
        return Err(format!("{name} is not an ARG declared before the first FROM"));
    };
    let Some(value) = arg.value.as_deref() else {
        return Err(format!(
            "ARG {name} has no default before the first FROM: pin the value the build passes with --build-arg {name}=..."
        ));
    };
    if !value.contains('$') {
        return Ok(value.to_string());
    }
    // Expanded where it is declared, with the ARGs declared before it, as Docker does.
    global_arg_value(scope.file, name).filter(|value| !value.contains('$')).ok_or_else(|| {
        format!("the default of ARG {name} (`{}`) uses a variable without a default", arg.written)
    })
}

/// Where the tag and digest of `image` are written, if in one editable place.
fn site(
    scope: &Scope,
    written: &Written,
    pieces: &[Piece],
    placed: &[Range<usize>],
    image: &ImageRef,
) -> Result<Site, String> {
    let name_end = image.registry.as_ref().map_or(0, |registry| registry.len() + 1) + image.path.len();
    let (Some(last), Some(last_placed)) = (pieces.last(), placed.last()) else {
        return Err("the reference is empty".to_string());
    };
    // Tag and digest must come from one piece, so that a --build-arg replaces them together:
    // the last piece must hold the whole tag (the `:` before it may be literal text), or the
    // end of the name when there is no tag.
    let owns_suffix = match &image.tag {
        Some(_) => last_placed.start <= name_end + 1,
        None => last_placed.start < name_end,
    };
    if !owns_suffix {
        return Err(format!(
            "its tag is built from {} parts (ARGs and text): pin it by hand, or make the whole tag one ARG",
            pieces.len()
        ));
    }
    let start = name_end.max(last_placed.start);
    let (offset, skip) = (start - last_placed.start, start - name_end);
    match last {
        Piece::Literal(range) => {
            let span = written.span.as_ref().ok_or("it is split by a line continuation; pin it by hand")?;
            if written.instruction.opaque {
                return Err(not_understood(written.instruction));
            }
            let quoted = written.text.contains('"');
            Ok(Site {
                range: span.start + range.start + offset..span.start + range.end,
                skip,
                via_arg: None,
                quoted,
            })
        }
        Piece::Var(name) => {
            let arg = scope.globals.get(name).ok_or_else(|| format!("{name} is not a global ARG"))?;
            let value = arg.value.as_deref().unwrap_or_default();
            if value.contains('$') {
                return Err(format!(
                    "the default of ARG {name} (`{value}`) is not a literal; pin it by hand"
                ));
            }
            if scope.var_roles.get(name).is_some_and(|roles| roles.iter().any(|holds_tag| !holds_tag)) {
                return Err(format!("ARG {name} is also part of another image's name; pin it by hand"));
            }
            if let Some(line) = scope.stage_args.get(name) {
                return Err(format!(
                    "ARG {name} is declared again inside a stage (line {line}), where RUN would see the pinned value; pin it by hand"
                ));
            }
            let span = arg
                .value_span
                .as_ref()
                .ok_or("its ARG default is split by a line continuation; pin it by hand")?;
            if arg.instruction.opaque {
                return Err(not_understood(arg.instruction));
            }
            let via_arg = Some((name.clone(), arg.instruction.start_line));
            Ok(Site { range: span.start + offset..span.end, skip, via_arg, quoted: false })
        }
    }
}

fn not_understood(instruction: &Instruction) -> String {
    format!(
        "line {} is not understood by the parser, and dockfix does not edit inside it",
        instruction.start_line
    )
}
