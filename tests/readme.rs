//! README.md's transform table is generated from the transforms (`Rule::id`, `summary`,
//! `aliases`, `reference`): this test fails when it is stale, and rewrites it when
//! `DOCKFIX_UPDATE_README=1`. Its usage names every output format.

use std::path::PathBuf;

use clap::ValueEnum as _;
use dockfix::docs::{documentation_path, transform_table, with_table, TABLE_END, TABLE_START};
use dockfix::output::Format;
use dockfix_transforms::rules;

const UPDATE: &str = "DOCKFIX_UPDATE_README";

#[test]
fn readme_transform_table_is_generated_from_the_transforms() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let table = transform_table(rules::all());
    let expected = with_table(&readme, &table)
        .unwrap_or_else(|| panic!("README.md lacks the lines `{TABLE_START}` and `{TABLE_END}`"));
    if std::env::var(UPDATE).is_ok_and(|value| value == "1") {
        std::fs::write(&path, &expected).expect("write README.md");
        return;
    }
    assert!(
        readme == expected,
        "README.md's transform table is stale: regenerate it with `{UPDATE}=1 cargo test --test readme`.\nExpected table:\n{table}"
    );
}

#[test]
fn every_transform_links_to_its_documentation() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for rule in rules::all() {
        let path = root.join(documentation_path(rule.id()));
        let source = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("`{}` links to {}: {error}", rule.id(), path.display()));
        assert!(
            source.starts_with(&format!("//! # {}\n", rule.id())),
            "{} does not start with the documentation of `{}`",
            path.display(),
            rule.id()
        );
    }
}

#[test]
fn readme_usage_lists_every_output_format() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let names: Vec<String> = Format::value_variants().iter().map(|format| format.name()).collect();
    let expected = format!("--format {} ", names.join("|"));
    let line = readme
        .lines()
        .map(str::trim_start)
        .find(|line| line.starts_with("--format "))
        .expect("README.md's usage has a `--format` line");
    assert!(line.starts_with(&expected), "README.md's usage says `{line}`; the formats are `{expected}`");
}

/// The long flags a subcommand's `--help` lists.
fn help_flags(subcommand: &str) -> Vec<String> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dockfix"))
        .args([subcommand, "--help"])
        .output()
        .expect("run dockfix");
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    help.lines()
        .map(str::trim_start)
        .filter(|line| line.starts_with("--") || line.starts_with("-h, --"))
        .filter_map(|line| line.split_whitespace().find(|word| word.starts_with("--")))
        .map(|flag| flag.trim_end_matches(',').to_string())
        .filter(|flag| flag != "--help" && flag != "--version")
        .collect()
}

#[test]
fn readme_usage_names_every_flag_of_fix_and_facts() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let usage =
        readme.split("## Usage").nth(1).and_then(|rest| rest.split("```").nth(1)).expect("a usage block");
    for subcommand in ["fix", "facts"] {
        let flags = help_flags(subcommand);
        assert!(flags.len() > 5, "`dockfix {subcommand} --help` lists its flags: {flags:?}");
        let section =
            usage.split(&format!("\ndockfix {subcommand} ")).nth(1).expect("the subcommand in the usage");
        let section = section.split("\ndockfix ").next().unwrap_or(section);
        for flag in flags {
            assert!(
                section.contains(&format!("{flag} ")) || section.contains(&format!("{flag},")),
                "README.md's usage of `dockfix {subcommand}` lacks {flag}"
            );
        }
    }
}
