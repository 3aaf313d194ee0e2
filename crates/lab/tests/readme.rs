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
