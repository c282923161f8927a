//! The tree-sitter side of the parse: the grammar's tree of a file, and which instructions it did not understand (opaque) with the damage it
//! shows.

use std::cell::RefCell;
use std::ops::Range;

use super::Instruction;

thread_local! {
    pub(super) static PARSER: RefCell<Option<tree_sitter::Parser>> = const { RefCell::new(None) };
}

pub(super) fn new_parser() -> tree_sitter::Parser {
    let mut parser = tree_sitter::Parser::new();
    // The grammar is compiled in; a version mismatch is a build error, not input.
    parser
        .set_language(&arborium_dockerfile::language().into())
        .expect("the Dockerfile grammar matches the pinned tree-sitter");
    parser
}

/// The grammar's tree of `text`.
pub(super) fn grammar_tree(text: &str) -> Option<tree_sitter::Tree> {
    PARSER.with(|cell| {
        let mut slot = cell.borrow_mut();
        let parser = slot.get_or_insert_with(new_parser);
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
