//! The tree-sitter side of the parse: the grammar's tree of a file (reusing an edited tree
//! where it may), and which instructions it did not understand (opaque) with the damage it
//! shows.

use std::cell::RefCell;
use std::ops::Range;

use super::{Dockerfile, Instruction};
use crate::edit::Edit;

thread_local! {
    pub(super) static PARSER: RefCell<Option<tree_sitter::Parser>> = const { RefCell::new(None) };
}

/// Whether applying `edits` to `previous` gives `text`, checked without building it.
pub(super) fn edits_describe(previous: &str, edits: &[Edit], text: &str) -> bool {
    let mut cursor = 0;
    let mut rest = text;
    for edit in edits {
        let range = &edit.range;
        if range.start < cursor || range.end < range.start || range.end > previous.len() {
            return false;
        }
        let Some(after) = rest
            .strip_prefix(&previous[cursor..range.start])
            .and_then(|after| after.strip_prefix(edit.replacement.as_str()))
        else {
            return false;
        };
        rest = after;
        cursor = range.end;
    }
    rest == &previous[cursor..]
}

/// `previous`'s grammar tree told about `edits`, ready to be reparsed. The edits go in from
/// the last one back, so the offsets of each are still those of `previous_text`.
pub(super) fn edited_tree(
    tree: &tree_sitter::Tree,
    previous: &Dockerfile,
    previous_text: &str,
    edits: &[Edit],
) -> tree_sitter::Tree {
    let mut tree = tree.clone();
    for edit in edits.iter().rev() {
        let start = previous.point(previous_text, edit.range.start);
        let inserted = edit.replacement.as_str();
        let new_end = match inserted.rfind('\n') {
            Some(last_newline) => tree_sitter::Point {
                row: start.row + inserted.bytes().filter(|byte| *byte == b'\n').count(),
                column: inserted.len() - last_newline - 1,
            },
            None => tree_sitter::Point { row: start.row, column: start.column + inserted.len() },
        };
        tree.edit(&tree_sitter::InputEdit {
            start_byte: edit.range.start,
            old_end_byte: edit.range.end,
            new_end_byte: edit.range.start + inserted.len(),
            start_position: start,
            old_end_position: previous.point(previous_text, edit.range.end),
            new_end_position: new_end,
        });
    }
    tree
}

pub(super) fn new_parser() -> tree_sitter::Parser {
    let mut parser = tree_sitter::Parser::new();
    // The grammar is compiled in; a version mismatch is a build error, not input.
    parser
        .set_language(&arborium_dockerfile::language().into())
        .expect("the Dockerfile grammar matches the pinned tree-sitter");
    parser
}

/// The grammar's tree of `text`. An `edited` tree of an earlier text is reused where the
/// edits left it intact, but only a result without errors is kept: there the tree is a
/// derivation of `text` by a grammar that declares no conflicts, which a parse from scratch
/// reproduces (tree-sitter checks the lexer's context before reusing a subtree). Error
/// recovery has no such argument: with any error, `text` is parsed anew.
pub(super) fn grammar_tree(text: &str, edited: Option<tree_sitter::Tree>) -> Option<tree_sitter::Tree> {
    PARSER.with(|cell| {
        let mut slot = cell.borrow_mut();
        let parser = slot.get_or_insert_with(new_parser);
        if let Some(edited) = edited {
            if let Some(tree) = parser.parse(text, Some(&edited)) {
                if !tree.root_node().has_error() {
                    return Some(tree);
                }
            }
        }
        parser.parse(text, None)
    })
}

/// Marks every instruction the grammar did not understand as opaque, and returns the number
/// of ERROR/MISSING nodes in `tree` (1 when there is no tree).
pub(super) fn mark_opaque(
    text: &str,
    tree: Option<&tree_sitter::Tree>,
    instructions: &mut [Instruction],
) -> usize {
    let Some(tree) = tree else {
        instructions.iter_mut().for_each(|instruction| instruction.opaque = true);
        return 1;
    };
    let mut damaged: Vec<Range<usize>> = Vec::new();
    let mut understood: Vec<Range<usize>> = Vec::new();
    let root = tree.root_node();
    let mut cursor = root.walk();
    for node in root.children(&mut cursor) {
        if node.kind().ends_with("_instruction") && !node.has_error() {
            understood.push(node.start_byte()..node.end_byte());
        } else if node.is_error() || node.has_error() || node.is_missing() {
            damaged.push(node.start_byte()..node.end_byte());
        }
    }
    let damage = count_damage(root);
    // Both lists hold sibling nodes, so they are sorted and do not overlap: binary searches
    // keep a file of 200,000 instructions from taking minutes.
    for instruction in instructions.iter_mut() {
        let span = &instruction.span;
        let first_reaching = damaged.partition_point(|d| d.end <= span.start);
        let hit = damaged.get(first_reaching).is_some_and(|d| d.start < span.end.max(span.start + 1));
        let same_start = understood.partition_point(|u| u.start < span.start);
        let matched = understood[same_start..]
            .iter()
            .take_while(|u| u.start == span.start)
            .any(|u| trimmed_end(text, u) == trimmed_end(text, span));
        instruction.opaque = hit || !matched;
    }
    damage
}

/// The grammar's nodes sometimes end after the newline; compare content ends.
pub(super) fn trimmed_end(text: &str, range: &Range<usize>) -> usize {
    range.start + text[range.clone()].trim_end_matches(['\n', ' ', '\t']).len()
}

/// The ERROR and MISSING nodes under `root`. A node can have an error that no visible node
/// under it shows (a MISSING token inside a hidden rule: `--chown=` with no value): such a
/// node counts once itself.
pub(super) fn count_damage(root: tree_sitter::Node) -> usize {
    let mut count = 0;
    let mut pending = vec![root];
    while let Some(node) = pending.pop() {
        if node.is_error() || node.is_missing() {
            count += 1;
        }
        if !node.has_error() {
            continue;
        }
        let mut cursor = node.walk();
        let before = pending.len();
        pending.extend(node.children(&mut cursor).filter(|child| child.has_error() || child.is_missing()));
        if pending.len() == before && !node.is_error() && !node.is_missing() {
            count += 1;
        }
    }
    count
}
