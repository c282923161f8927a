//! The packaging files agree with the crate and with README.md: the example workflows README
//! shows are the files in `examples/workflows/` (scripts/action-check validates those files),
//! and pyproject.toml takes its version from Cargo.toml and states its license.

use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The contents of README.md's ```yaml blocks, each ending with a newline.
fn readme_yaml_blocks() -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match (&mut current, line) {
            (None, "```yaml") => current = Some(String::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(block), line) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn readme_shows_every_example_workflow_as_it_is() {
    let blocks = readme_yaml_blocks();
    let mut names = Vec::new();
    for entry in std::fs::read_dir(root().join("examples/workflows")).expect("examples/workflows") {
        let path = entry.expect("entry").path();
        let file = std::fs::read_to_string(&path).expect("workflow");
        assert!(
            blocks.contains(&file),
            "README.md has no ```yaml block identical to {}:\n{file}",
            path.display()
        );
        assert!(file.contains("uses: dockfix/dockfix@"), "{} does not use the action", path.display());
        names.push(path.file_name().expect("name").to_string_lossy().into_owned());
    }
    names.sort();
    assert_eq!(names, ["dockfix-bot.yml", "dockfix-review.yml"]);
}

#[test]
fn pyproject_takes_cargo_version_and_states_cargo_license() {
    let pyproject: toml::Table = std::fs::read_to_string(root().join("pyproject.toml"))
        .expect("pyproject.toml")
        .parse()
        .expect("TOML");
    let cargo: toml::Table =
        std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml").parse().expect("TOML");
    let project = pyproject["project"].as_table().expect("[project]");
    assert_eq!(project["name"].as_str(), Some("dockfix"));
    assert!(project.get("version").is_none(), "the version is Cargo.toml's, not written twice");
    assert_eq!(project["dynamic"].as_array().expect("dynamic"), &vec![toml::Value::from("version")]);
    let license = cargo["workspace"]["package"]["license"].as_str().expect("Cargo.toml license");
    assert_eq!(project["license"].as_str(), Some(license));
    assert_eq!(
        project["description"].as_str(),
        cargo["package"]["description"].as_str(),
        "pyproject.toml's description is Cargo.toml's"
    );
    let maturin = pyproject["tool"]["maturin"].as_table().expect("[tool.maturin]");
    assert_eq!(maturin["bindings"].as_str(), Some("bin"));
    assert_eq!(pyproject["build-system"]["build-backend"].as_str(), Some("maturin"));
}
