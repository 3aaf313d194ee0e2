//! Developer entry points. Run with `cargo xtask run` or `cargo xtask test`.
//!
//! Both install what a fresh machine lacks first (the wasm target, Trunk, wasm-bindgen-cli at
//! the Cargo.lock version, wasm-opt from binaryen 132 on npm, and for tests Debian's Chromium
//! and chromedriver), because this machine reaches only the package registries and the tools'
//! own download paths fail. `tools` holds the installs, `main` the commands.

mod budgets;
mod lint;
mod mutants;
mod tools;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  run [--listen ADDR]   build the client and serve it with the collector (default 127.0.0.1:8080),
                        SQLite under ./data
  build                 build the client into dist/ (self-test page, widget engine) and check its
                        page-weight budgets
  lint                  rustfmt check, clippy (native and wasm32) with warnings denied, module docs
  test                  run every test: native, in-browser (wasm-bindgen-test) and end-to-end
  bench                 run the benchmarks (censor lab: run time, timing accuracy; collector:
                        ingest on SQLite and PostgreSQL, attack, 30-day crowd query over 10 million
                        measurements) and print their figures against the budgets
  replay                score the crowd detector on replayed crowds of 20 to 200 reports per hour
                        per country, two seeds: precision, recall and detection delay
  setup                 only install the toolchain pieces that are missing
  mutants [SCOPE] [-- ARGS]
                        mutation testing (cargo-mutants) of crates/report, failing below 95 % caught,
                        and of the collector's pure modules; SCOPE: report or collector";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("build") => tools::ensure_all(false).and_then(|()| build_client()),
        Some("lint") => lint::lint(),
        Some("test") => test(),
        Some("bench") => bench(),
        Some("replay") => replay(),
        Some("setup") => tools::ensure_all(true),
        Some("mutants") => mutants::mutants(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the workspace").to_path_buf()
}

/// Runs a command in the workspace root with the tool PATH, failing with its name.
pub fn sh(cmd: &mut Command) -> Result<(), String> {
    let shown = format!("{cmd:?}");
    println!("xtask: $ {shown}");
    let status = cmd.current_dir(root()).env("PATH", tools::path()).status().map_err(|e| format!("{shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

/// Builds the self-test page with Trunk into `dist/`, then the widget's engine beside it.
fn build_client() -> Result<(), String> {
    sh(Command::new("trunk").args(["build", "--release"]))?;
    build_engine()
}

/// wasm-opt passes beyond `-Oz` for both wasm modules (the page's are in `index.html`'s
/// `data-wasm-opt-params`, which Trunk passes on): Rust's wasm32 keeps the stack below the
/// data, so the first kilobyte is never addressed (`--low-memory-unused` lets wasm-opt fold
/// constant offsets into loads and stores); run the passes until nothing shrinks; drop the
/// custom sections a browser ignores. About 1 KB gzip off the page.
const WASM_OPT_EXTRA: [&str; 4] = ["--low-memory-unused", "--converge", "--strip-producers", "--strip-target-features"];

/// The widget's measurement engine (`src/bin/engine.rs`, no interface framework) as an ES
/// module in `dist/static/engine/`, loaded by the widget only after the reader's click.
fn build_engine() -> Result<(), String> {
    sh(Command::new("cargo").args(["build", "--release", "--target", "wasm32-unknown-unknown", "--bin", "engine"]))?;
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from);
    let wasm = target.join("wasm32-unknown-unknown/release/engine.wasm");
    let out = root().join("dist/static/engine");
    sh(Command::new("wasm-bindgen")
        .args(["--target", "web", "--no-typescript", "--out-name", "engine", "--out-dir"])
        .arg(&out)
        .arg(&wasm))?;
    let module = out.join("engine_bg.wasm");
    sh(Command::new("wasm-opt").arg("-Oz").args(WASM_OPT_EXTRA).arg(&module).arg("-o").arg(&module))?;
    budgets::check(&root().join("dist"))
}

fn bench() -> Result<(), String> {
    tools::ensure_all(true)?;
    build_client()?;
    // Both run even if the first misses a budget; each prints its figures.
    let lab = sh(Command::new("cargo").args(["bench", "--bench", "lab"]));
    let ingest = sh(Command::new("cargo").args(["bench", "-p", "vantage-collector", "--bench", "ingest"]));
    let attack = sh(Command::new("cargo").args(["bench", "-p", "vantage-collector", "--bench", "attack"]));
    let crowd = sh(Command::new("cargo").args(["bench", "-p", "vantage-collector", "--bench", "crowd"]));
    lab.and(ingest).and(attack).and(crowd)
}

/// The replay harness over every crowd size and both seeds, in a release build (the test
/// suite scores only the smallest crowd with one seed). `REPLAY_CROWDS` / `REPLAY_SEEDS` in the
/// environment choose others.
fn replay() -> Result<(), String> {
    let mut cmd = Command::new("cargo");
    cmd.args(["test", "--release", "-p", "vantage-collector", "--test", "replay"]).args([
        "the_replayed_crowd_shows_every_injected_event_and_nothing_else",
        "--",
        "--nocapture",
    ]);
    for (var, all) in [("REPLAY_CROWDS", "20,50,100,200"), ("REPLAY_SEEDS", "17122023,8022024")] {
        if std::env::var_os(var).is_none() {
            cmd.env(var, all);
        }
    }
    sh(&mut cmd)
}

fn run(args: &[String]) -> Result<(), String> {
    let listen = match args {
        [] => "127.0.0.1:8080".to_string(),
        [flag, addr] if flag == "--listen" => addr.clone(),
        _ => return Err(format!("run takes only --listen ADDR\n\n{USAGE}")),
    };
    tools::ensure_all(false)?;
    build_client()?;
    println!("xtask: starting the collector; open http://{listen}/ (Ctrl-C stops it)");
    sh(Command::new("cargo").args(["run", "--release", "--quiet", "-p", "vantage-collector", "--", "serve"]).args([
        "--listen",
        &listen,
        "--database",
        "data/vantage.sqlite",
        "--site",
        "dist",
    ]))
}

/// Passed and failed counts from cargo's `test result:` lines.
#[derive(Default)]
struct Tally {
    passed: u64,
    failed: u64,
}

impl Tally {
    fn add_line(&mut self, line: &str) {
        let Some(rest) = line.strip_prefix("test result: ") else { return };
        for part in rest.split([';', '.']) {
            let mut words = part.split_whitespace();
            if let (Some(n), Some(what)) = (words.next().and_then(|n| n.parse::<u64>().ok()), words.next()) {
                match what {
                    "passed" => self.passed += n,
                    "failed" => self.failed += n,
                    _ => {}
                }
            }
        }
    }
}

/// Runs a cargo test command, echoing its output and counting its results.
fn cargo_test(args: &[&str], tally: &mut Tally) -> Result<(), String> {
    use std::io::{BufRead, BufReader};
    let shown = format!("cargo {}", args.join(" "));
    println!("xtask: $ {shown}");
    let mut child = Command::new("cargo")
        .args(args)
        .current_dir(root())
        .env("PATH", tools::path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("{shown}: {e}"))?;
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            println!("{line}");
            tally.add_line(&line);
        }
    }
    let status = child.wait().map_err(|e| format!("{shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

fn test() -> Result<(), String> {
    tools::ensure_all(true)?;
    build_client()?;
    let steps: [(&str, &[&str]); 2] = [
        ("native and end-to-end tests", &["test", "--workspace", "--no-fail-fast"]),
        (
            "in-browser tests (wasm-bindgen-test)",
            &["test", "--target", "wasm32-unknown-unknown", "-p", "vantage", "--no-fail-fast"],
        ),
    ];
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    for (what, args) in steps {
        println!("xtask: == {what}");
        if let Err(e) = cargo_test(args, &mut tally) {
            failures.push(e);
        }
    }
    // One closing line for every runner together.
    println!("tests: {} passed, {} failed", tally.passed, tally.failed);
    if failures.is_empty() && tally.passed > 0 {
        Ok(())
    } else if failures.is_empty() {
        Err("no test ran".into())
    } else {
        Err(failures.join("\n"))
    }
}
