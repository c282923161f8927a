//! `dockfix explain ID` prints each transform's own page: its heading names its id and no
//! other, it ends with its own reference, an alias prints the same page, and no two
//! transforms share a page (a copied documentation string or a wrong registry line would).

use std::process::Command;

use dockfix_transforms::{rules, verdict};

fn explain(id: &str) -> String {
    let output =
        Command::new(env!("CARGO_BIN_EXE_dockfix")).args(["explain", id]).output().expect("run dockfix");
    assert!(
        output.status.success(),
        "`dockfix explain {id}` failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 page")
}

/// The ids of the page's level-one headings (`# add-to-copy`).
fn headings(page: &str) -> Vec<&str> {
    page.lines().filter_map(|line| line.strip_prefix("# ")).collect()
}

#[test]
fn every_transform_explains_itself() {
    let mut pages: Vec<(&str, String)> = Vec::new();
    for rule in rules::all() {
        let page = explain(rule.id());
        assert_eq!(headings(&page), [rule.id()], "`dockfix explain {}` is headed by another id", rule.id());
        assert!(
            page.ends_with(&format!("\nReference: {}\n", rule.reference())),
            "`dockfix explain {}` does not end with its own reference",
            rule.id()
        );
        for alias in rule.aliases() {
            assert_eq!(explain(alias), page, "`dockfix explain {alias}` is not the page of {}", rule.id());
        }
        if let Some((other, _)) = pages.iter().find(|(_, other_page)| *other_page == page) {
            panic!("`{}` and `{other}` print the same page", rule.id());
        }
        pages.push((rule.id(), page));
    }
}

#[test]
fn the_whole_file_verdicts_explain_themselves() {
    let page = explain(verdict::ID);
    assert_eq!(headings(&page), [verdict::ID], "`dockfix explain {}` is headed by another id", verdict::ID);
}
