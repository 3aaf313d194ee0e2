//! The README's scenario table is generated from the code's ([`markdown_table`]): this test
//! fails when they drift, and prints the table to paste.

use vantage_lab::scenario::markdown_table;

#[test]
fn the_readme_scenario_table_is_the_code_table() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).expect("README.md");
    let table = markdown_table();
    assert!(
        readme.contains(&table),
        "README.md's scenario table differs from crates/lab/src/scenario.rs; replace it with:\n\n{table}"
    );
}

/// The README's module table (`| \`path\` | what it holds |`) names paths that exist, and
/// names every crate of the workspace.
#[test]
fn the_readme_module_table_matches_the_tree() {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let paths: Vec<&str> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| path | what it holds |"))
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once("` |").map(|(path, _)| path))
        .collect();
    assert!(paths.len() >= 5, "no module table found in README.md");
    for path in &paths {
        assert!(root.join(path).exists(), "README.md's module table names {path}, which does not exist");
    }
    for entry in std::fs::read_dir(root.join("crates")).expect("crates/") {
        let name = entry.expect("an entry").file_name().to_string_lossy().into_owned();
        let path = format!("crates/{name}/");
        assert!(paths.contains(&path.as_str()), "README.md's module table does not describe {path}");
    }
}
