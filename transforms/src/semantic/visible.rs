//! The variables an instruction sees, as Docker scopes them: the ENVs of the stages its stage
//! is built on (they are in the base image's config), then the ARGs and ENVs of its own stage
//! declared before it. ARGs do not cross stages; an `ARG NAME` in a stage takes the global
//! ARG's value ([`global_arg_value`]).

use std::collections::HashMap;

use crate::syntax::{Dockerfile, Instruction, Stage};

use super::quoting::{escape_character, unquote_word};
use super::stages;
use super::variables::{arg_declarations, env_assignments, global_arg_value};

/// The variables one instruction sees. A `None` value is declared but unknown: an ARG without
/// a default, or a value that uses another variable.
#[derive(Debug, Default)]
pub struct VisibleVariables {
    env: HashMap<String, Option<String>>,
    arg: HashMap<String, Option<String>>,
}

/// The known value of a variable an instruction sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visible<'a> {
    pub value: &'a str,
    /// It is an ARG's: a build argument can change it.
    pub from_arg: bool,
}

impl VisibleVariables {
    /// The variables instruction `index` of `file` sees.
    pub fn at(file: &Dockerfile, index: usize) -> VisibleVariables {
        let mut visible = VisibleVariables::default();
        let Some(stage) = file.instructions.get(index).and_then(|instruction| instruction.stage) else {
            return visible;
        };
        let Some(own_stage) = file.stages.get(stage) else {
            return visible;
        };
        let escape = escape_character(file);
        let ancestors: Vec<&Stage> = stages::ancestors(file, own_stage).collect();
        for ancestor in ancestors.into_iter().rev() {
            for instruction in file.stage_instructions(ancestor).iter().filter(|i| i.is("ENV")) {
                visible.declare_env(instruction, escape);
            }
        }
        for instruction in file.instructions.get(own_stage.from..index).unwrap_or_default() {
            match instruction.keyword.as_str() {
                "ENV" => visible.declare_env(instruction, escape),
                "ARG" => visible.declare_args(file, instruction, escape),
                _ => {}
            }
        }
        visible
    }

    /// The known value of `name`; an ENV wins over an ARG of the same name, whatever their
    /// order, as in Docker.
    pub fn value(&self, name: &str) -> Option<Visible<'_>> {
        if let Some(value) = self.env.get(name) {
            return value.as_deref().map(|value| Visible { value, from_arg: false });
        }
        self.arg.get(name)?.as_deref().map(|value| Visible { value, from_arg: true })
    }

    fn declare_env(&mut self, instruction: &Instruction, escape: char) {
        for (name, raw) in env_assignments(instruction) {
            self.env.insert(name.to_string(), literal(raw, escape));
        }
    }

    fn declare_args(&mut self, file: &Dockerfile, instruction: &Instruction, escape: char) {
        for arg in arg_declarations(instruction) {
            let value = match arg.raw_default {
                Some(raw) => literal(raw, escape),
                None => global_arg_value(file, arg.name),
            };
            self.arg.insert(arg.name.to_string(), value);
        }
    }
}

/// A declared value, unquoted; `None` when it uses a variable itself.
fn literal(raw: &str, escape: char) -> Option<String> {
    let value = unquote_word(raw, escape);
    (!value.contains('$')).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "ARG TAG=3\nFROM alpine AS base\nENV HOME_DIR=/srv ARCH=x86\nARG LOCAL=1\n\
        FROM base\nARG TAG\nARG ARCH=arm\nENV DERIVED=$HOME_DIR/x\nCOPY a b\n";

    #[test]
    fn sees_ancestor_env_and_own_args() {
        let file = Dockerfile::parse(FILE);
        let copy = file.instructions.iter().position(|i| i.is("COPY")).unwrap();
        let visible = VisibleVariables::at(&file, copy);
        assert_eq!(visible.value("HOME_DIR"), Some(Visible { value: "/srv", from_arg: false }));
        assert_eq!(visible.value("TAG"), Some(Visible { value: "3", from_arg: true }), "the global's value");
        assert_eq!(visible.value("ARCH").map(|v| v.value), Some("x86"), "ENV wins over ARG");
        assert_eq!(visible.value("LOCAL"), None, "ARGs do not cross stages");
        assert_eq!(visible.value("DERIVED"), None, "a value that uses a variable is unknown");
    }

    #[test]
    fn sees_only_what_is_declared_before() {
        let file = Dockerfile::parse(FILE);
        let visible = VisibleVariables::at(&file, 2);
        assert_eq!(visible.value("HOME_DIR"), None);
        assert_eq!(VisibleVariables::at(&file, 0).value("TAG"), None, "before the first FROM");
    }
}
