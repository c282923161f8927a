//! Documentation generated from the transforms, so it cannot drift from the code: the
//! README's transform table (checked by `tests/readme.rs`).

use dockfix_transforms::Rule;

/// The line before the generated table in README.md.
pub const TABLE_START: &str =
    "<!-- transform table: generated from the transforms; regenerate with `DOCKFIX_UPDATE_README=1 cargo test --test readme` -->";
/// The line after it.
pub const TABLE_END: &str = "<!-- end of transform table -->";

/// The source file whose `//!` comment documents a transform (`add-to-copy` ->
/// `transforms/src/rules/add_to_copy.rs`), relative to the repository root.
pub fn documentation_path(id: &str) -> String {
    format!("transforms/src/rules/{}.rs", id.replace('-', "_"))
}

/// The Markdown table of `rules`: id (with an anchor, `README#<id>`, that SARIF help links
/// use, and a link to its documentation), aliases, summary and reference.
pub fn transform_table(rules: &[&dyn Rule]) -> String {
    let mut out = String::from("| id | alias | does | reference |\n|---|---|---|---|\n");
    for rule in rules {
        out.push_str(&format!(
            "| <a id=\"{id}\"></a>[`{id}`]({path}) | {aliases} | {summary} | {reference} |\n",
            id = rule.id(),
            path = documentation_path(rule.id()),
            aliases = cell(&rule.aliases().join(", ")),
            summary = cell(rule.summary()),
            reference = cell(rule.reference()),
        ));
    }
    out
}

/// Text safe inside a table cell: a `|` would end the cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// `readme` with the part between [`TABLE_START`] and [`TABLE_END`] replaced by `table`, or
/// `None` when the markers are missing.
pub fn with_table(readme: &str, table: &str) -> Option<String> {
    let start = readme.find(TABLE_START)? + TABLE_START.len();
    let end = start + readme[start..].find(TABLE_END)?;
    Some(format!("{}\n{table}{}", &readme[..start], &readme[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_replaces_what_is_between_the_markers() {
        let readme = format!("intro\n{TABLE_START}\nold\n{TABLE_END}\nrest\n");
        assert_eq!(
            with_table(&readme, "new\n").unwrap(),
            format!("intro\n{TABLE_START}\nnew\n{TABLE_END}\nrest\n")
        );
        assert_eq!(with_table("no markers", "new\n"), None);
    }

    #[test]
    fn pipes_are_escaped() {
        assert_eq!(cell("a | b"), "a \\| b");
    }
}
