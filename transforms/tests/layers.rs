//! The core's layers, checked: every `use crate::...` in `transforms/src` points to a module
//! on a lower layer than its own (or inside its own module), so the arrows go one way and no
//! circle can form. The README's map of the core is this table in words.

use std::fs;
use std::path::{Path, PathBuf};

/// The core's top-level modules, lowest layer first. A module may use those on layers below
/// its own; modules on one layer do not use each other.
const LAYERS: &[&[&str]] = &[
    &["edit", "options"],
    &["source", "provenance"],
    &["syntax"],
    &["semantic", "suppress"],
    &["image", "transform"],
    &["pin", "context_files", "verdict"],
    &["rules"],
    &["engine"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The top-level module a source file belongs to (`semantic/shell/lexer.rs` -> `semantic`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_string())
}

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules a file's non-test code names as `crate::MODULE` (doc links in
/// comments are not arrows).
fn used_modules(text: &str) -> Vec<String> {
    let before_tests = text.split("#[cfg(test)]").next().unwrap_or(text);
    let code: String = before_tests
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .map(|line| format!("{line}\n"))
        .collect();
    let mut used = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if !name.is_empty() && !used.contains(&name) {
            used.push(name);
        }
    }
    used
}

#[test]
fn the_core_uses_only_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    assert!(files.len() > 20, "the core's sources were not found under {}", src.display());
    let mut wrong = Vec::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else { continue };
        if module == "lib" {
            continue;
        }
        let Some(own) = layer_of(&module) else {
            wrong.push(format!("{}: module `{module}` is not in LAYERS", file.display()));
            continue;
        };
        let text = fs::read_to_string(file).expect("readable source");
        for used in used_modules(&text) {
            if used == module {
                continue;
            }
            match layer_of(&used) {
                Some(layer) if layer < own => {}
                Some(_) => {
                    wrong.push(format!("{}: `{module}` uses `{used}`, which is not below it", file.display()))
                }
                None => {
                    wrong.push(format!("{}: uses `crate::{used}`, which is not in LAYERS", file.display()))
                }
            }
        }
    }
    assert!(wrong.is_empty(), "arrows that do not go down:\n{}", wrong.join("\n"));
}

#[test]
fn a_use_of_a_higher_layer_is_caught() {
    // The checker itself: a file of `syntax` that named `rules` would be reported.
    assert_eq!(
        used_modules("use crate::rules::Rule;\n/// see [`crate::engine`]\nfn f() { crate::edit::x(); }\n"),
        ["rules", "edit"]
    );
    assert!(layer_of("rules") > layer_of("syntax"));
    assert_eq!(
        used_modules("use crate::syntax::Dockerfile;\n#[cfg(test)]\nmod tests { use crate::engine::run; }\n"),
        ["syntax"],
        "test modules may use any layer"
    );
}
