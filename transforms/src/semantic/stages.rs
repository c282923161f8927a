//! Stages and their ancestry. The parser says which earlier stage a `FROM` names
//! ([`Stage::base_stage`], by name or index, as Docker resolves it); this module walks those
//! links: the chain of stages an image is built from, its root, the stages built on a stage.

use crate::syntax::{Dockerfile, Instruction, Stage};

use super::variables::resolve_global_args;

/// The index of the earlier stage `stage` is built `FROM`, if any. The parser links bases
/// written as a name or an index; a base written with ARGs declared before the first `FROM`
/// (`FROM ${SOURCE}-install`) is linked here, once the ARGs are substituted, as BuildKit
/// expands the base before it looks the name up among the stages.
pub fn base_stage(file: &Dockerfile, stage: &Stage) -> Option<usize> {
    if stage.base_stage.is_some() || !stage.base.contains('$') {
        return stage.base_stage;
    }
    let resolved = resolve_global_args(file, &stage.base)?.to_ascii_lowercase();
    file.stages[..stage.index.min(file.stages.len())]
        .iter()
        .find(|earlier| earlier.name.as_deref() == Some(resolved.as_str()))
        .map(|earlier| earlier.index)
}

/// The stages whose instructions make up the image of `stage`, root ancestor first, `stage`
/// last.
pub fn stage_chain<'a>(file: &'a Dockerfile, stage: &'a Stage) -> Vec<&'a Stage> {
    let mut chain: Vec<&Stage> = std::iter::once(stage).chain(ancestors(file, stage)).collect();
    chain.reverse();
    chain
}

/// The stages `stage` is built on, nearest first (`FROM builder` where `builder` is
/// `FROM base`: `builder`, then `base`); empty when it is built on an image.
pub fn ancestors<'a>(file: &'a Dockerfile, stage: &'a Stage) -> impl Iterator<Item = &'a Stage> {
    // A stage's base only ever names an earlier stage, so the walk ends.
    std::iter::successors(Some(stage), |current| {
        base_stage(file, current).and_then(|index| file.stages.get(index))
    })
    .skip(1)
}

/// The stage at the root of `stage`'s chain: the one built `FROM` an image.
pub fn root_stage<'a>(file: &'a Dockerfile, stage: &'a Stage) -> &'a Stage {
    ancestors(file, stage).last().unwrap_or(stage)
}

/// The stages built directly `FROM` the stage with index `parent`.
pub fn children(file: &Dockerfile, parent: usize) -> impl Iterator<Item = &Stage> {
    file.stages.iter().filter(move |stage| base_stage(file, stage) == Some(parent))
}

/// Whether `name` is the `AS` name of a stage of `file`. Docker compares stage names without
/// regard to case; the parser keeps them lower-cased.
pub fn names_a_stage(file: &Dockerfile, name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    file.stages.iter().any(|stage| stage.name.as_deref() == Some(lower.as_str()))
}

/// Whether the value of a `COPY --from` or `RUN --mount=from=` refers to a stage rather than
/// an image: a stage name, or a number (BuildKit reads a number there as a stage index, and
/// never as an image).
pub fn refers_to_stage(file: &Dockerfile, value: &str) -> bool {
    value.chars().all(|c| c.is_ascii_digit()) || names_a_stage(file, value)
}

/// Every instruction of a stage chain, in build order.
pub fn chain_instructions<'a>(file: &'a Dockerfile, chain: &[&'a Stage]) -> Vec<&'a Instruction> {
    chain.iter().flat_map(|stage| file.stage_instructions(stage).iter()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str =
        "FROM alpine AS base\nRUN a\nFROM base AS build\nRUN b\nFROM debian\nFROM build\nRUN c\nFROM 0\n";

    #[test]
    fn bases_written_with_global_args_are_linked() {
        let file = Dockerfile::parse(
            "ARG SOURCE=remote\nFROM alpine AS base\nFROM base AS remote-install\nRUN a\nFROM base AS local-install\nFROM ${SOURCE}-install AS final\nCMD x\n",
        );
        let final_stage = file.stages.last().unwrap();
        let names: Vec<Option<&str>> =
            stage_chain(&file, final_stage).iter().map(|s| s.name.as_deref()).collect();
        assert_eq!(names, [Some("base"), Some("remote-install"), Some("final")]);
        let unresolved = Dockerfile::parse("ARG SOURCE\nFROM alpine AS a-install\nFROM ${SOURCE}-install\n");
        assert_eq!(base_stage(&unresolved, &unresolved.stages[1]), None, "no default: an image, not a stage");
    }

    #[test]
    fn chains_run_from_the_root() {
        let file = Dockerfile::parse(FILE);
        let indices = |chain: Vec<&Stage>| chain.iter().map(|stage| stage.index).collect::<Vec<_>>();
        assert_eq!(indices(stage_chain(&file, &file.stages[3])), [0, 1, 3]);
        assert_eq!(indices(stage_chain(&file, &file.stages[2])), [2]);
        assert_eq!(indices(stage_chain(&file, &file.stages[4])), [0, 4], "`FROM 0` names stage 0");
        assert_eq!(root_stage(&file, &file.stages[3]).index, 0);
        assert_eq!(ancestors(&file, &file.stages[3]).map(|stage| stage.index).collect::<Vec<_>>(), [1, 0]);
        assert_eq!(children(&file, 0).map(|stage| stage.index).collect::<Vec<_>>(), [1, 4]);
    }

    #[test]
    fn stage_names_and_indexes() {
        let file = Dockerfile::parse(FILE);
        assert!(names_a_stage(&file, "Build"), "case-insensitive");
        assert!(!names_a_stage(&file, "debian"));
        assert!(refers_to_stage(&file, "base"));
        assert!(refers_to_stage(&file, "1"));
        assert!(!refers_to_stage(&file, "alpine"));
    }

    #[test]
    fn chain_instructions_are_in_build_order() {
        let file = Dockerfile::parse(FILE);
        let chain = stage_chain(&file, &file.stages[3]);
        let runs: Vec<&str> = chain_instructions(&file, &chain)
            .iter()
            .filter(|i| i.is("RUN"))
            .map(|i| i.args.as_str())
            .collect();
        assert_eq!(runs, ["a", "b", "c"]);
    }
}
