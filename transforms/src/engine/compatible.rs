//! Which of a pass's fixes can be applied together.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use crate::edit::{Edit, Fix};

/// The fixes that can be applied together, as indices in `fixes`: each in turn, unless it
/// overlaps one taken before it. Taken fixes never overlap, so applying them all at once is
/// well defined whatever their order.
pub fn compatible_fixes<'a>(fixes: impl IntoIterator<Item = &'a Fix>) -> Vec<usize> {
    let mut taken_edits = TakenEdits::default();
    let mut taken = Vec::new();
    for (index, fix) in fixes.into_iter().enumerate() {
        if !fix.edits.iter().any(|edit| taken_edits.overlaps(edit)) {
            taken_edits.take(&fix.edits);
            taken.push(index);
        }
    }
    taken
}

/// The edits of the fixes taken so far, which never overlap one another, kept in order so
/// that whether a new edit overlaps one of them ([`Edit::overlaps`]) is a lookup, not a scan:
/// a large file can have thousands of fixes in one pass.
#[derive(Default)]
struct TakenEdits {
    /// The ranges that replace or delete bytes, by start; they share no byte, so the one that
    /// starts last before a point also ends last.
    ranges: BTreeMap<usize, usize>,
    /// Where the pure insertions are.
    insertions: BTreeSet<usize>,
}

impl TakenEdits {
    fn overlaps(&self, edit: &Edit) -> bool {
        let Range { start, end } = edit.range;
        let ends_after =
            |point: usize| self.ranges.range(..point).next_back().is_some_and(|(_, end)| *end > point);
        if start == end {
            return self.insertions.contains(&start) || ends_after(start);
        }
        let last_before_end = self.ranges.range(..end).next_back();
        last_before_end.is_some_and(|(_, taken_end)| *taken_end > start)
            || self.insertions.range(start + 1..end).next().is_some()
    }

    fn take(&mut self, edits: &[Edit]) {
        for edit in edits {
            let Range { mut start, mut end } = edit.range;
            if start == end {
                self.insertions.insert(start);
                continue;
            }
            // A malformed fix's own edits may overlap one another: the ranges that share bytes
            // are kept as their union, which shares bytes with a range (and holds a point
            // strictly inside) exactly when one of them does. Touching ranges stay apart.
            while let Some((&other_start, &other_end)) = self.ranges.range(..end).next_back() {
                if other_end <= start {
                    break;
                }
                self.ranges.remove(&other_start);
                (start, end) = (start.min(other_start), end.max(other_end));
            }
            self.ranges.insert(start, end);
        }
    }
}
