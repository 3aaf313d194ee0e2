//! `cargo xtask lint`: the hygiene gate CI runs before the tests. Formatting (`rustfmt.toml`),
//! clippy with warnings denied on the native workspace and on the wasm client, and a tidy
//! check that every Rust file still opens with the `//!` doc saying what it is for.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{root, sh, tools};

/// Folders whose Rust files must each open with a `//!` module doc.
const TIDY_ROOTS: [&str; 5] = ["src", "crates", "xtask/src", "tests", "benches"];

pub fn lint() -> Result<(), String> {
    tools::ensure_wasm_target()?;
    let mut failures = Vec::new();
    let mut step = |what: &str, result: Result<(), String>| {
        println!("xtask: lint: {what}: {}", if result.is_ok() { "ok" } else { "FAILED" });
        if let Err(e) = result {
            failures.push(format!("{what}: {e}"));
        }
    };
    step("rustfmt", sh(Command::new("cargo").args(["fmt", "--all", "--check"])));
    step(
        "clippy (native)",
        sh(Command::new("cargo").args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])),
    );
    step(
        "clippy (wasm32 client)",
        sh(Command::new("cargo").args([
            "clippy",
            "--target",
            "wasm32-unknown-unknown",
            "-p",
            "vantage",
            // The benchmarks are native (they drive browsers); the client's code and its
            // in-browser tests are what runs as wasm.
            "--lib",
            "--bins",
            "--tests",
            "--",
            "-D",
            "warnings",
        ])),
    );
    step("module docs", tidy());
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

/// Every `.rs` file under [`TIDY_ROOTS`] (outside `target/`) whose first line of text is not a
/// `//!` doc comment.
fn tidy() -> Result<(), String> {
    let mut files = Vec::new();
    for dir in TIDY_ROOTS {
        rust_files(&root().join(dir), &mut files);
    }
    files.sort();
    files.dedup();
    let missing: Vec<String> = files
        .iter()
        .filter(|f| !opens_with_module_doc(&std::fs::read_to_string(f).unwrap_or_default()))
        .map(|f| f.strip_prefix(root()).unwrap_or(f).display().to_string())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("these files do not open with a `//!` doc saying what they are for:\n  {}", missing.join("\n  ")))
    }
}

fn opens_with_module_doc(text: &str) -> bool {
    text.lines().map(str::trim).find(|l| !l.is_empty()).is_some_and(|l| l.starts_with("//!"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.file_name().is_some_and(|n| n == "target" || n == "node_modules") {
            continue;
        }
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::opens_with_module_doc;

    #[test]
    fn a_module_doc_must_come_first() {
        assert!(opens_with_module_doc("//! What this is.\n\nuse std::io;\n"));
        assert!(opens_with_module_doc("\n\n//! After blank lines.\n"));
        assert!(!opens_with_module_doc("// a plain comment\n//! too late\n"));
        assert!(!opens_with_module_doc("#![cfg(test)]\n//! after an attribute\n"));
        assert!(!opens_with_module_doc("use std::io;\n"));
        assert!(!opens_with_module_doc(""));
    }
}
