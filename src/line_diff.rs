//! Unified diffs of a fixed file against its input, as `git apply` reads them.
//!
//! The line operations come from Myers' algorithm (the `similar` crate) over the whole file,
//! which costs time in proportion to the file's lines times the lines changed: nothing for a
//! real Dockerfile, tens of seconds for a generated one of 10 MB with thousands of fixes. A
//! file of more than [`WHOLE_FILE_LINES`] lines is therefore diffed region by region: Myers
//! over the lines around each change the engine reports, the lines between them taken as
//! equal once checked to be (else the whole file after all). Either way one printer writes
//! the hunks, in the format of `similar`'s unified diff.

use std::ops::Range;

use dockfix_transforms::Edit;
use similar::udiff::UnifiedHunkHeader;
use similar::{capture_diff_slices, group_diff_ops, Algorithm, DiffOp, DiffableStr, TextDiff};

/// Lines above which a file is diffed around its changes: about ten times the longest real
/// Dockerfiles, so that every real file gets the whole-file diff.
const WHOLE_FILE_LINES: usize = 20_000;

/// Lines of context around each hunk.
const CONTEXT_LINES: usize = 3;

/// A git-style unified diff (`diff --git`, `--- a/PATH`, `+++ b/PATH`) of `before` against
/// `after`, which `changes` (edits of `before`'s bytes, as the engine reports them; may
/// repeat) turned one into the other.
pub fn unified_diff(path: &str, before: &str, after: &str, changes: &[Edit]) -> String {
    let old = lines(before);
    let new = lines(after);
    let regions = if old.len() > WHOLE_FILE_LINES { around_changes(&old, &new, changes) } else { None };
    let ops = match regions {
        Some(ops) => ops,
        None => TextDiff::configure().algorithm(Algorithm::Myers).diff_slices(&old, &new).ops().to_vec(),
    };
    let mut out = format!("diff --git a/{path} b/{path}\n");
    for (index, hunk) in
        group_diff_ops(ops, CONTEXT_LINES).into_iter().filter(|hunk| !hunk.is_empty()).enumerate()
    {
        if index == 0 {
            out.push_str(&format!("--- a/{path}\n+++ b/{path}\n"));
        }
        out.push_str(&format!("{}\n", UnifiedHunkHeader::new(&hunk)));
        for change in hunk.iter().flat_map(|op| op.iter_changes(&old, &new)) {
            out.push_str(&format!("{}{}", change.tag(), change.value()));
            if change.missing_newline() {
                out.push_str("\n\\ No newline at end of file\n");
            }
        }
    }
    out
}

/// The text's lines with their endings, split as `similar` splits them for a line diff.
fn lines(text: &str) -> Vec<&str> {
    text.tokenize_lines()
}

/// The diff operations from Myers over each region of lines that `changes` touch, with the
/// lines between regions equal; `None` when the changes do not account for the difference
/// (then only the whole-file diff is right).
fn around_changes(old: &[&str], new: &[&str], changes: &[Edit]) -> Option<Vec<DiffOp>> {
    let old_starts = line_starts(old);
    let new_starts = line_starts(new);
    let mut edits: Vec<&Edit> = changes.iter().collect();
    edits.sort_by_key(|edit| (edit.range.start, edit.range.end));
    edits.dedup();
    // The old lines each change is on (at least the line it starts on, so an insertion has
    // a line to sit in), merged where they touch, with how much longer the new text is after
    // the region than the old.
    let mut regions: Vec<(Range<usize>, isize)> = Vec::new();
    let mut shift: isize = 0;
    let mut last_end = 0;
    for edit in edits {
        if edit.range.start < last_end {
            return None;
        }
        last_end = edit.range.end;
        shift += edit.replacement.len() as isize - edit.range.len() as isize;
        let lines = line_span(&old_starts, edit.range.start, edit.range.end);
        match regions.last_mut() {
            Some((region, shift_after)) if lines.start <= region.end => {
                region.end = region.end.max(lines.end);
                *shift_after = shift;
            }
            _ => regions.push((lines, shift)),
        }
    }
    let mut ops = Vec::new();
    let (mut old_at, mut new_at) = (0, 0);
    let mut shift_before: isize = 0;
    let end = (old.len()..old.len(), 0);
    for (old_region, shift_after) in regions.into_iter().chain([end]) {
        let shift_after = if old_region.start == old.len() { shift_before } else { shift_after };
        // The same bytes in the new text, which must start and end on line boundaries there.
        let new_line = |old_line: usize, shift: isize| {
            let byte = old_starts[old_line].checked_add_signed(shift)?;
            new_starts.binary_search(&byte).ok()
        };
        let new_region = new_line(old_region.start, shift_before)?..new_line(old_region.end, shift_after)?;
        equal(old, new, old_at..old_region.start, new_at..new_region.start, &mut ops)?;
        let region =
            capture_diff_slices(Algorithm::Myers, old.get(old_region.clone())?, new.get(new_region.clone())?);
        for op in region {
            push(&mut ops, shifted(op, old_region.start, new_region.start));
        }
        (old_at, new_at, shift_before) = (old_region.end, new_region.end, shift_after);
    }
    Some(ops)
}

/// Where each line starts, in bytes, and where the text ends.
fn line_starts(lines: &[&str]) -> Vec<usize> {
    let mut starts = Vec::with_capacity(lines.len() + 1);
    let mut at = 0;
    for line in lines {
        starts.push(at);
        at += line.len();
    }
    starts.push(at);
    starts
}

/// The lines that bytes `start..end` are on (at least the line `start` is on).
fn line_span(starts: &[usize], start: usize, end: usize) -> Range<usize> {
    let line_count = starts.len() - 1;
    let line_of =
        |offset: usize| starts.partition_point(|line_start| *line_start <= offset).saturating_sub(1);
    let first = line_of(start).min(line_count);
    let last = line_of(end.max(start + 1) - 1).min(line_count.saturating_sub(1));
    first..(last + 1).max(first).min(line_count)
}

/// Adds the lines between two regions as one equal run, if they are equal.
fn equal(
    old: &[&str],
    new: &[&str],
    old_range: Range<usize>,
    new_range: Range<usize>,
    ops: &mut Vec<DiffOp>,
) -> Option<()> {
    if old_range.len() != new_range.len() || old.get(old_range.clone())? != new.get(new_range.clone())? {
        return None;
    }
    if !old_range.is_empty() {
        push(
            ops,
            DiffOp::Equal { old_index: old_range.start, new_index: new_range.start, len: old_range.len() },
        );
    }
    Some(())
}

/// Appends an operation, joining it to an equal run before it as Myers over the whole file
/// would have: the grouping into hunks counts the length of each run.
fn push(ops: &mut Vec<DiffOp>, op: DiffOp) {
    if let (Some(DiffOp::Equal { len, .. }), DiffOp::Equal { len: more, .. }) = (ops.last_mut(), op) {
        *len += more;
        return;
    }
    ops.push(op);
}

fn shifted(op: DiffOp, old_by: usize, new_by: usize) -> DiffOp {
    match op {
        DiffOp::Equal { old_index, new_index, len } => {
            DiffOp::Equal { old_index: old_index + old_by, new_index: new_index + new_by, len }
        }
        DiffOp::Delete { old_index, old_len, new_index } => {
            DiffOp::Delete { old_index: old_index + old_by, old_len, new_index: new_index + new_by }
        }
        DiffOp::Insert { old_index, new_index, new_len } => {
            DiffOp::Insert { old_index: old_index + old_by, new_index: new_index + new_by, new_len }
        }
        DiffOp::Replace { old_index, old_len, new_index, new_len } => {
            DiffOp::Replace { old_index: old_index + old_by, old_len, new_index: new_index + new_by, new_len }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The diff `similar` prints for the whole file, as the file's diff was made before.
    fn similar_diff(path: &str, before: &str, after: &str) -> String {
        let diff = TextDiff::from_lines(before, after);
        let body = diff
            .unified_diff()
            .context_radius(CONTEXT_LINES)
            .header(&format!("a/{path}"), &format!("b/{path}"))
            .to_string();
        format!("diff --git a/{path} b/{path}\n{body}")
    }

    #[test]
    fn the_printer_writes_what_similar_writes() {
        let cases = [
            ("FROM a\nRUN b\n", "FROM a\nUSER app\nRUN b\n"),
            ("FROM a\nRUN b", "FROM a\nRUN c"),
            ("FROM a\r\nADD x y\r\n", "FROM a\r\nCOPY x y\r\n"),
            ("FROM a\n", "FROM a\n"),
            ("", "FROM a\n"),
            ("FROM a\nRUN b\n", ""),
            ("a\rb\n", "a\rc\n"),
        ];
        for (before, after) in cases {
            assert_eq!(
                unified_diff("Dockerfile", before, after, &[]),
                similar_diff("Dockerfile", before, after)
            );
        }
    }

    /// A generated file past the whole-file limit, with a change every few lines: the diff
    /// around the changes is the whole-file diff.
    #[test]
    fn diffs_around_changes_match_the_whole_file_diff() {
        let block = "RUN yum -y install x\n\nADD run.sh /run.sh\nRUN chmod 750 /run.sh\nEXPOSE 80\n";
        let before = format!("FROM centos:7\n{}CMD [\"/run.sh\"]", block.repeat(WHOLE_FILE_LINES / 4));
        let mut changes = Vec::new();
        let mut at = 0;
        while let Some(found) = before[at..].find("ADD ") {
            changes.push(Edit::new(at + found..at + found + 3, "COPY"));
            at += found + 4;
        }
        // One insertion of a line and one at the very end, as non-root-user adds them.
        let cmd = before.rfind("CMD").unwrap();
        changes.push(Edit::new(cmd..cmd, "USER app\n"));
        changes.push(Edit::new(before.len()..before.len(), "\n"));
        let after = dockfix_transforms::source::apply_in_order(&before, changes.iter());
        assert!(lines(&before).len() > WHOLE_FILE_LINES);
        let around = around_changes(&lines(&before), &lines(&after), &changes);
        assert!(around.is_some(), "the changes account for the difference");
        assert_eq!(
            unified_diff("Dockerfile", &before, &after, &changes),
            similar_diff("Dockerfile", &before, &after)
        );
    }

    #[test]
    fn changes_that_do_not_account_for_the_difference_fall_back_to_the_whole_file() {
        let before = "RUN a\n".repeat(WHOLE_FILE_LINES + 10);
        let after = before.replacen("RUN a", "RUN b", 1);
        let wrong = [Edit::new(before.len() - 6..before.len() - 1, "RUN c")];
        assert!(around_changes(&lines(&before), &lines(&after), &wrong).is_none());
        assert_eq!(unified_diff("D", &before, &after, &wrong), similar_diff("D", &before, &after));
    }
}
