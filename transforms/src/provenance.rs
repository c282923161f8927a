//! Where the bytes of a fixed text came from.
//!
//! The engine applies fixes in passes, each against the previous pass's output, so a fix's
//! edits and a finding's line are in the coordinates of the text of its pass. Outputs that
//! point into the file the user has (SARIF locations and fixes, annotations) need the
//! original's. [`Provenance`] follows the text through the passes: which pieces are kept
//! original bytes, which original bytes were deleted, and which text was inserted, by which
//! fixes. From it come the changes to the original each fix made and the original position
//! of any offset in the current text.

use std::collections::BTreeSet;
use std::ops::Range;

use crate::edit::Edit;

/// Identifies a fix within one engine run.
pub type FixId = usize;

/// One change to the original text: `edit.range` is in the original, `edit.replacement` is
/// final text. `fixes` made it; more than one when a later fix edited an earlier one's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub edit: Edit,
    pub fixes: BTreeSet<FixId>,
}

#[derive(Debug, Clone)]
enum Piece {
    /// Original bytes, still there.
    Kept(Range<usize>),
    /// Original bytes that an edit removed: no room in the current text.
    Deleted { range: Range<usize>, group: usize },
    /// Text that edits inserted.
    Inserted { text: String, group: usize },
}

impl Piece {
    fn len(&self) -> usize {
        match self {
            Piece::Kept(range) => range.len(),
            Piece::Deleted { .. } => 0,
            Piece::Inserted { text, .. } => text.len(),
        }
    }

    fn group(&self) -> Option<usize> {
        match self {
            Piece::Kept(_) => None,
            Piece::Deleted { group, .. } | Piece::Inserted { group, .. } => Some(*group),
        }
    }
}

/// The current text as a sequence of pieces of the original and inserted text.
///
/// Each edit starts a group of pieces (what it deleted and what it inserted); an edit that
/// touches another group's pieces merges that group into its own, so a fix that rewrote an
/// earlier fix's text shows as one change made by both.
#[derive(Debug, Clone)]
pub struct Provenance {
    original_len: usize,
    pieces: Vec<Piece>,
    /// The fixes of each group; merged groups are left empty.
    groups: Vec<BTreeSet<FixId>>,
    /// The group each group was merged into (itself while it was not): a piece keeps the
    /// group it was made in, and [`Provenance::group_of`] follows this to the current one,
    /// so a merge does not rewrite every piece.
    merged_into: Vec<usize>,
}

impl Provenance {
    /// An unchanged text of `original_len` bytes.
    pub fn new(original_len: usize) -> Self {
        let pieces = if original_len == 0 { Vec::new() } else { vec![Piece::Kept(0..original_len)] };
        Provenance { original_len, pieces, groups: Vec::new(), merged_into: Vec::new() }
    }

    /// Records edits applied to the current text at once: ranges in the current text, in
    /// order of position, not overlapping (as [`crate::Source::original_edits`] gives them).
    ///
    /// One sweep from the last edit back, so the offsets of the ones before stay valid: the
    /// pieces before the edit in hand are `before` (in order, ending at offset `before_end`),
    /// those after it are done and kept in `after_reversed`. Linear in pieces and edits: a
    /// file with thousands of fixes in one pass must not rebuild the pieces for each.
    pub fn record(&mut self, edits: &[(FixId, Edit)]) {
        let mut before = std::mem::take(&mut self.pieces);
        let mut before_end: usize = before.iter().map(Piece::len).sum();
        let mut after_reversed: Vec<Piece> = Vec::with_capacity(before.len() + 2 * edits.len());
        for (fix, edit) in edits.iter().rev() {
            let (start, end) = (edit.range.start, edit.range.end);
            let group = self.groups.len();
            self.groups.push(BTreeSet::from([*fix]));
            self.merged_into.push(group);
            // Cutting into inserted text edits it: that text's group joins this one.
            let mut absorbed = BTreeSet::new();
            // What follows the edit, zero-width deletions at its end included.
            while let Some(piece) = pop_if(&mut before, &mut before_end, |offset, _| offset >= end) {
                after_reversed.push(piece);
            }
            if let Some((right, cut_group)) = split_last(&mut before, &mut before_end, end) {
                absorbed.extend(cut_group);
                after_reversed.push(right);
            }
            // Text inserted where an earlier fix replaced something goes before that
            // replacement.
            if !edit.replacement.is_empty() {
                after_reversed.push(Piece::Inserted { text: edit.replacement.clone(), group });
            }
            let mut inside = Vec::new();
            while let Some(piece) =
                pop_if(
                    &mut before,
                    &mut before_end,
                    |offset, len| if len == 0 { offset > start } else { offset >= start },
                )
            {
                inside.push(piece);
            }
            if let Some((right, cut_group)) = split_last(&mut before, &mut before_end, start) {
                absorbed.extend(cut_group);
                inside.push(right);
            }
            for piece in inside {
                match piece {
                    Piece::Kept(range) => after_reversed.push(Piece::Deleted { range, group }),
                    Piece::Deleted { range, group: other } => {
                        absorbed.insert(other);
                        after_reversed.push(Piece::Deleted { range, group });
                    }
                    Piece::Inserted { group: other, .. } => {
                        absorbed.insert(other);
                    }
                }
            }
            self.merge_into(group, &absorbed);
        }
        after_reversed.reverse();
        before.append(&mut after_reversed);
        self.pieces = before;
    }

    /// The group a piece made in `group` belongs to now.
    fn group_of(&self, mut group: usize) -> usize {
        while self.merged_into[group] != group {
            group = self.merged_into[group];
        }
        group
    }

    /// `into` takes over the pieces and fixes of the `absorbed` groups: all of an earlier
    /// insertion, also the parts on either side of where it was edited.
    fn merge_into(&mut self, into: usize, absorbed: &BTreeSet<usize>) {
        for group in absorbed {
            let group = self.group_of(*group);
            if group == into {
                continue;
            }
            let fixes = std::mem::take(&mut self.groups[group]);
            self.groups[into].extend(fixes);
            self.merged_into[group] = into;
        }
    }

    /// The position in the original of `offset` in the current text. An offset inside
    /// inserted text maps to the start of the original text it replaced (or where it was
    /// inserted).
    pub fn to_original(&self, offset: usize) -> usize {
        let mut current = 0;
        // Where the run of changed pieces the walk is in started in the original.
        let mut changed_from = 0;
        for piece in &self.pieces {
            let len = piece.len();
            match piece {
                Piece::Kept(range) => {
                    if offset < current + len {
                        return range.start + (offset - current);
                    }
                    changed_from = range.end;
                }
                Piece::Deleted { .. } => {}
                Piece::Inserted { .. } => {
                    if offset < current + len {
                        return changed_from;
                    }
                }
            }
            current += len;
        }
        self.original_len
    }

    /// [`Provenance::to_original`] for many offsets: an index built once (linear in the
    /// pieces) that answers each in logarithmic time.
    pub fn original_offsets(&self) -> OriginalOffsets {
        let mut spans = Vec::with_capacity(self.pieces.len());
        let mut current = 0;
        let mut changed_from = 0;
        for piece in &self.pieces {
            let len = piece.len();
            match piece {
                Piece::Kept(range) => {
                    spans.push(Span { current, len, original: SpanOrigin::Kept(range.start) });
                    changed_from = range.end;
                }
                Piece::Deleted { .. } => {}
                Piece::Inserted { .. } => {
                    spans.push(Span { current, len, original: SpanOrigin::Inserted(changed_from) });
                }
            }
            current += len;
        }
        spans.retain(|span| span.len > 0);
        OriginalOffsets { spans, original_len: self.original_len }
    }

    /// The changes from the original to the current text, in order of position. Changes of
    /// different groups may touch (an insertion right before a replacement) but never overlap.
    pub fn changes(&self) -> Vec<Change> {
        let mut changes: Vec<Change> = Vec::new();
        let mut original = 0;
        let mut open: Option<(usize, Edit)> = None;
        for piece in &self.pieces {
            let group = piece.group().map(|group| self.group_of(group));
            if open.as_ref().map(|(g, _)| Some(*g)) != Some(group) {
                if let Some((g, edit)) = open.take() {
                    changes.push(Change { edit, fixes: self.groups[g].clone() });
                }
                if let Some(g) = group {
                    open = Some((g, Edit::insert(original, "")));
                }
            }
            match piece {
                Piece::Kept(range) => original = range.end,
                Piece::Deleted { range, .. } => {
                    original = range.end;
                    if let Some((_, edit)) = &mut open {
                        edit.range.end = range.end;
                    }
                }
                Piece::Inserted { text, .. } => {
                    if let Some((_, edit)) = &mut open {
                        edit.replacement.push_str(text);
                    }
                }
            }
        }
        if let Some((g, edit)) = open {
            changes.push(Change { edit, fixes: self.groups[g].clone() });
        }
        changes
    }
}

/// Takes the last of `pieces` (which end at offset `end`) when `take(its offset, its length)`.
fn pop_if(pieces: &mut Vec<Piece>, end: &mut usize, take: impl Fn(usize, usize) -> bool) -> Option<Piece> {
    let len = pieces.last()?.len();
    if !take(*end - len, len) {
        return None;
    }
    *end -= len;
    pieces.pop()
}

/// Splits the last of `pieces` (which end at offset `end`) when `at` falls strictly inside
/// it: it keeps what is before `at`; returns what is after, and its group when it was
/// inserted text.
fn split_last(pieces: &mut [Piece], end: &mut usize, at: usize) -> Option<(Piece, Option<usize>)> {
    let last = pieces.last_mut()?;
    let offset = *end - last.len();
    if !(offset < at && at < *end) {
        return None;
    }
    let cut = at - offset;
    let right = match last {
        Piece::Kept(range) => {
            let right = Piece::Kept(range.start + cut..range.end);
            range.end = range.start + cut;
            right
        }
        Piece::Inserted { text, group } => Piece::Inserted { text: text.split_off(cut), group: *group },
        Piece::Deleted { .. } => return None,
    };
    *end = at;
    let group = right.group();
    Some((right, group))
}

/// Where a stretch of the current text came from.
#[derive(Debug, Clone, Copy)]
enum SpanOrigin {
    /// Original bytes starting at this offset.
    Kept(usize),
    /// Inserted text, standing for this offset of the original.
    Inserted(usize),
}

#[derive(Debug, Clone, Copy)]
struct Span {
    current: usize,
    len: usize,
    original: SpanOrigin,
}

/// The index [`Provenance::original_offsets`] builds: the non-empty pieces of the current
/// text in order, each with its start in the current text.
#[derive(Debug, Clone)]
pub struct OriginalOffsets {
    spans: Vec<Span>,
    original_len: usize,
}

impl OriginalOffsets {
    /// The same answer as [`Provenance::to_original`].
    pub fn to_original(&self, offset: usize) -> usize {
        let after = self.spans.partition_point(|span| span.current <= offset);
        let Some(span) = after.checked_sub(1).map(|index| self.spans[index]) else {
            return self.original_len;
        };
        if offset >= span.current + span.len {
            return self.original_len;
        }
        match span.original {
            SpanOrigin::Kept(start) => start + (offset - span.current),
            SpanOrigin::Inserted(changed_from) => changed_from,
        }
    }
}

/// The implementation `record` had before it was one sweep, which rebuilt the pieces for
/// each edit: the random tests check the sweep against it.
#[cfg(test)]
mod reference {
    use std::collections::BTreeSet;

    use super::{Change, FixId, Piece};
    use crate::edit::Edit;

    #[derive(Debug, Clone)]
    pub(super) struct Reference {
        original_len: usize,
        pieces: Vec<Piece>,
        /// The fixes of each group; merged groups are left empty.
        groups: Vec<BTreeSet<FixId>>,
    }

    impl Reference {
        /// An unchanged text of `original_len` bytes.
        pub(super) fn new(original_len: usize) -> Self {
            let pieces = if original_len == 0 { Vec::new() } else { vec![Piece::Kept(0..original_len)] };
            Reference { original_len, pieces, groups: Vec::new() }
        }

        /// Records edits applied to the current text at once: ranges in the current text, in
        /// order of position, not overlapping (as [`crate::Source::original_edits`] gives them).
        pub(super) fn record(&mut self, edits: &[(FixId, Edit)]) {
            // From the last edit back, so the offsets of the ones before stay valid.
            for (fix, edit) in edits.iter().rev() {
                self.record_one(*fix, edit);
            }
        }

        fn record_one(&mut self, fix: FixId, edit: &Edit) {
            let (start, end) = (edit.range.start, edit.range.end);
            let group = self.groups.len();
            self.groups.push(BTreeSet::from([fix]));
            // Cutting into inserted text edits it: that text's group joins this one.
            let mut absorbed: BTreeSet<usize> =
                [self.split_at(start), self.split_at(end)].into_iter().flatten().collect();
            let mut pieces = Vec::with_capacity(self.pieces.len() + 2);
            let mut insert_at = None;
            let mut offset = 0;
            for piece in std::mem::take(&mut self.pieces) {
                let len = piece.len();
                let inside = if len == 0 {
                    start < offset && offset < end
                } else {
                    start <= offset && offset + len <= end
                };
                // Before what follows the edit, zero-width deletions at its end included: text
                // inserted where an earlier fix replaced something goes before that replacement.
                if insert_at.is_none() && offset >= end {
                    insert_at = Some(pieces.len());
                }
                offset += len;
                if !inside {
                    pieces.push(piece);
                    continue;
                }
                match piece {
                    Piece::Kept(range) => pieces.push(Piece::Deleted { range, group }),
                    Piece::Deleted { range, group: other } => {
                        absorbed.insert(other);
                        pieces.push(Piece::Deleted { range, group });
                    }
                    Piece::Inserted { group: other, .. } => {
                        absorbed.insert(other);
                    }
                }
            }
            if !edit.replacement.is_empty() {
                let piece = Piece::Inserted { text: edit.replacement.clone(), group };
                pieces.insert(insert_at.unwrap_or(pieces.len()), piece);
            }
            self.pieces = pieces;
            self.merge_into(group, &absorbed);
        }

        /// Splits the piece that `at` falls strictly inside, if any; returns its group when it
        /// was inserted text.
        fn split_at(&mut self, at: usize) -> Option<usize> {
            let mut offset = 0;
            for index in 0..self.pieces.len() {
                let len = self.pieces[index].len();
                if offset < at && at < offset + len {
                    let cut = at - offset;
                    let (left, right) = match &self.pieces[index] {
                        Piece::Kept(range) => (
                            Piece::Kept(range.start..range.start + cut),
                            Piece::Kept(range.start + cut..range.end),
                        ),
                        Piece::Inserted { text, group } => (
                            Piece::Inserted { text: text[..cut].to_string(), group: *group },
                            Piece::Inserted { text: text[cut..].to_string(), group: *group },
                        ),
                        Piece::Deleted { .. } => return None,
                    };
                    let group = left.group();
                    self.pieces[index] = left;
                    self.pieces.insert(index + 1, right);
                    return group;
                }
                offset += len;
            }
            None
        }

        /// `into` takes over the pieces and fixes of the `absorbed` groups: all of an earlier
        /// insertion, also the parts on either side of where it was edited.
        fn merge_into(&mut self, into: usize, absorbed: &BTreeSet<usize>) {
            let absorbed: BTreeSet<usize> = absorbed.iter().copied().filter(|group| *group != into).collect();
            if absorbed.is_empty() {
                return;
            }
            for group in &absorbed {
                let fixes = std::mem::take(&mut self.groups[*group]);
                self.groups[into].extend(fixes);
            }
            for piece in &mut self.pieces {
                if let Piece::Deleted { group, .. } | Piece::Inserted { group, .. } = piece {
                    if absorbed.contains(group) {
                        *group = into;
                    }
                }
            }
        }

        /// The position in the original of `offset` in the current text. An offset inside
        /// inserted text maps to the start of the original text it replaced (or where it was
        /// inserted).
        pub(super) fn to_original(&self, offset: usize) -> usize {
            let mut current = 0;
            // Where the run of changed pieces the walk is in started in the original.
            let mut changed_from = 0;
            for piece in &self.pieces {
                let len = piece.len();
                match piece {
                    Piece::Kept(range) => {
                        if offset < current + len {
                            return range.start + (offset - current);
                        }
                        changed_from = range.end;
                    }
                    Piece::Deleted { .. } => {}
                    Piece::Inserted { .. } => {
                        if offset < current + len {
                            return changed_from;
                        }
                    }
                }
                current += len;
            }
            self.original_len
        }

        /// The changes from the original to the current text, in order of position. Changes of
        /// different groups may touch (an insertion right before a replacement) but never overlap.
        pub(super) fn changes(&self) -> Vec<Change> {
            let mut changes: Vec<Change> = Vec::new();
            let mut original = 0;
            let mut open: Option<(usize, Edit)> = None;
            for piece in &self.pieces {
                let group = piece.group();
                if open.as_ref().map(|(g, _)| Some(*g)) != Some(group) {
                    if let Some((g, edit)) = open.take() {
                        changes.push(Change { edit, fixes: self.groups[g].clone() });
                    }
                    if let Some(g) = group {
                        open = Some((g, Edit::insert(original, "")));
                    }
                }
                match piece {
                    Piece::Kept(range) => original = range.end,
                    Piece::Deleted { range, .. } => {
                        original = range.end;
                        if let Some((_, edit)) = &mut open {
                            edit.range.end = range.end;
                        }
                    }
                    Piece::Inserted { text, .. } => {
                        if let Some((_, edit)) = &mut open {
                            edit.replacement.push_str(text);
                        }
                    }
                }
            }
            if let Some((g, edit)) = open {
                changes.push(Change { edit, fixes: self.groups[g].clone() });
            }
            changes
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::apply_in_order;

    /// Applies `passes` of edits (fix id, range in the current text, replacement) to
    /// `original`, checks that the changes rebuild the final text from the original, and
    /// returns them.
    fn run(original: &str, passes: &[&[(FixId, Range<usize>, &str)]]) -> (String, Vec<Change>, Provenance) {
        let mut text = original.to_string();
        let mut provenance = Provenance::new(original.len());
        for pass in passes {
            let edits: Vec<(FixId, Edit)> =
                pass.iter().map(|(fix, range, text)| (*fix, Edit::new(range.clone(), *text))).collect();
            text = apply_in_order(&text, edits.iter().map(|(_, edit)| edit));
            provenance.record(&edits);
        }
        let changes = provenance.changes();
        let rebuilt = apply_in_order(original, changes.iter().map(|change| &change.edit));
        assert_eq!(rebuilt, text, "the changes must rebuild the final text: {changes:?}");
        (text, changes, provenance)
    }

    fn change(range: Range<usize>, text: &str, fixes: &[FixId]) -> Change {
        Change { edit: Edit::new(range, text), fixes: fixes.iter().copied().collect() }
    }

    #[test]
    fn one_pass_gives_the_edits_back() {
        let (text, changes, _) =
            run("FROM a\nADD b c\nCMD d\n", &[&[(0, 7..10, "COPY"), (1, 15..15, "USER x\n")]]);
        assert_eq!(text, "FROM a\nCOPY b c\nUSER x\nCMD d\n");
        assert_eq!(changes, vec![change(7..10, "COPY", &[0]), change(15..15, "USER x\n", &[1])]);
    }

    #[test]
    fn a_later_pass_maps_back_to_the_original() {
        // Pass 1 inserts a line at the top; pass 2 edits an original line below it.
        let (_, changes, provenance) =
            run("FROM a\nADD b c\n", &[&[(0, 0..0, "# syntax=x\n")], &[(1, 18..21, "COPY")]]);
        assert_eq!(changes, vec![change(0..0, "# syntax=x\n", &[0]), change(7..10, "COPY", &[1])]);
        assert_eq!(provenance.to_original(18), 7);
        assert_eq!(provenance.to_original(3), 0, "inside inserted text: where it was inserted");
        assert_eq!(provenance.to_original(26), 14);
        assert_eq!(provenance.to_original(27), 15, "the end maps to the end");
    }

    #[test]
    fn a_fix_that_edits_another_fixs_text_makes_one_change_of_both() {
        let (_, changes, _) =
            run("FROM a\nCMD b\n", &[&[(0, 7..7, "RUN x\nUSER u\n")], &[(1, 12..12, " && y")]]);
        assert_eq!(changes, vec![change(7..7, "RUN x && y\nUSER u\n", &[0, 1])]);
    }

    #[test]
    fn touching_edits_stay_apart() {
        // An insertion right before a replacement, as non-root-user and add-to-copy make them.
        let (_, changes, _) = run("FROM a\nADD b c\n", &[&[(0, 7..7, "RUN u\n"), (1, 7..10, "COPY")]]);
        assert_eq!(changes, vec![change(7..7, "RUN u\n", &[0]), change(7..10, "COPY", &[1])]);
    }

    #[test]
    fn deletions_and_replacements_across_passes() {
        let original = "FROM a\nENV K=v\nRUN x\nCMD y\n";
        let (text, changes, _) =
            run(original, &[&[(0, 7..15, ""), (1, 21..21, "USER u\n")], &[(2, 7..12, "RUN --mount=s x")]]);
        assert_eq!(text, "FROM a\nRUN --mount=s x\nUSER u\nCMD y\n");
        assert_eq!(
            changes,
            vec![
                change(7..15, "", &[0]),
                change(15..20, "RUN --mount=s x", &[2]),
                change(21..21, "USER u\n", &[1])
            ]
        );
    }

    #[test]
    fn a_replacement_spanning_an_earlier_deletion_absorbs_it() {
        let (_, changes, _) = run("abcdef", &[&[(0, 2..3, "")], &[(1, 1..4, "X")]]);
        assert_eq!(changes, vec![change(1..5, "X", &[0, 1])]);
    }

    #[test]
    fn deleting_all_of_an_earlier_insertion_leaves_no_change() {
        let (text, changes, _) = run("ab", &[&[(0, 1..1, "XY")], &[(1, 1..3, "")]]);
        assert_eq!(text, "ab");
        assert!(changes.is_empty(), "{changes:?}");
    }

    #[test]
    fn empty_original() {
        let (_, changes, provenance) = run("", &[&[(0, 0..0, "FROM a\n")]]);
        assert_eq!(changes, vec![change(0..0, "FROM a\n", &[0])]);
        assert_eq!(provenance.to_original(3), 0);
    }

    /// Many random passes of random edits: the changes always rebuild the final text, in
    /// order and without overlap, and offsets map back in order, the end to the end.
    #[test]
    fn random_passes_always_rebuild_the_text() {
        let mut seed: u64 = 0x5eed;
        let mut next = |bound: usize| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 33) as usize) % bound.max(1)
        };
        for _ in 0..2000 {
            let original: String = (0..next(12)).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
            let mut text = original.clone();
            let mut provenance = Provenance::new(original.len());
            let mut reference = reference::Reference::new(original.len());
            let mut fix = 0;
            for _ in 0..1 + next(4) {
                let mut edits = Vec::new();
                let mut at = 0;
                while at <= text.len() && edits.len() < 3 {
                    let start = at + next(text.len() + 1 - at);
                    let end = start + next(text.len() + 1 - start).min(3);
                    let replacement = ["", "X", "YZ\n"][next(3)];
                    edits.push((fix, Edit::new(start..end, replacement)));
                    fix += 1;
                    // The next edit starts after this one; two insertions never share a point.
                    at = end + 1;
                }
                text = apply_in_order(&text, edits.iter().map(|(_, edit)| edit));
                provenance.record(&edits);
                reference.record(&edits);
            }
            let changes = provenance.changes();
            assert_eq!(changes, reference.changes(), "{original:?} -> {text:?}: as one edit at a time");
            let rebuilt = apply_in_order(&original, changes.iter().map(|change| &change.edit));
            assert_eq!(rebuilt, text, "{original:?}: {changes:?}");
            for pair in changes.windows(2) {
                assert!(pair[0].edit.range.end <= pair[1].edit.range.start, "{changes:?}");
            }
            let mapped: Vec<usize> = (0..=text.len()).map(|offset| provenance.to_original(offset)).collect();
            assert!(mapped.windows(2).all(|pair| pair[0] <= pair[1]), "{original:?} -> {text:?}: {mapped:?}");
            assert_eq!(mapped.last(), Some(&original.len()));
            let index = provenance.original_offsets();
            for offset in 0..=text.len() + 1 {
                assert_eq!(
                    reference.to_original(offset),
                    provenance.to_original(offset),
                    "{original:?} -> {text:?}"
                );
                assert_eq!(
                    index.to_original(offset),
                    provenance.to_original(offset),
                    "{original:?} -> {text:?}"
                );
            }
        }
    }
}
