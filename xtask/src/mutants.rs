//! `cargo xtask mutants`: mutation testing of the pure rules with cargo-mutants, to show that
//! the tests would notice a wrong rule, not only that they pass on the right one.
//!
//! Each scope is run in cargo-mutants' own copy of the tree (others may be editing this one),
//! one job at a time unless `CARGO_MUTANTS_JOBS` says otherwise, with its output under the
//! system's temporary directory. The tally counts the lines of cargo-mutants' `caught.txt`,
//! `timeout.txt`, `missed.txt` and `unviable.txt`; a mutant whose tests hung counts as caught.
//! None is excluded today: every viable mutant of crates/report changes an answer some test
//! checks. A mutant proven equivalent (no behaviour differs) belongs in `.cargo/mutants.toml`'s
//! `exclude_re`, with its reason beside it, rather than under a test that pretends.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{root, tools};

const CARGO_MUTANTS_VERSION: &str = "27.1.0";
/// The share of viable mutants a gated scope's tests must catch, in percent.
const REQUIRED_PERCENT: f64 = 95.0;

/// A set of source files mutated together, and the tests run against each mutant.
struct Scope {
    name: &'static str,
    package: &'static str,
    /// Files to mutate (`--file` globs); empty means the whole package.
    files: &'static [&'static str],
    /// Arguments for `cargo test`; `--tests` leaves out the doctest pass, which would cost a
    /// rustdoc run per mutant for examples that do not test the rules.
    test_args: &'static [&'static str],
    /// Whether a share below [`REQUIRED_PERCENT`] fails the command.
    gated: bool,
}

const SCOPES: [Scope; 2] = [
    Scope { name: "report", package: "vantage-report", files: &[], test_args: &["--tests"], gated: true },
    // The collector's pure modules, against its unit tests only: its integration tests start
    // servers and PostgreSQL, far too slow to run once per mutant.
    Scope {
        name: "collector",
        package: "vantage-collector",
        files: &[
            "crates/collector/src/ratelimit.rs",
            "crates/collector/src/export.rs",
            "crates/collector/src/citizenlab.rs",
        ],
        test_args: &["--lib"],
        gated: false,
    },
];

/// Outcomes per source file.
#[derive(Default, Clone, Copy)]
struct Tally {
    caught: u32,
    timeout: u32,
    missed: u32,
    unviable: u32,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.caught += other.caught;
        self.timeout += other.timeout;
        self.missed += other.missed;
        self.unviable += other.unviable;
    }

    fn viable(self) -> u32 {
        self.caught + self.timeout + self.missed
    }

    /// Caught share of viable mutants in percent; none viable counts as all caught.
    fn percent(self) -> f64 {
        match self.viable() {
            0 => 100.0,
            v => f64::from(self.caught + self.timeout) * 100.0 / f64::from(v),
        }
    }
}

/// Reads cargo-mutants' outcome lists (`path:line:col: description`) into a tally per file.
fn read_outcomes(out: &Path) -> Result<BTreeMap<String, Tally>, String> {
    let mut files: BTreeMap<String, Tally> = BTreeMap::new();
    for list in ["caught.txt", "timeout.txt", "missed.txt", "unviable.txt"] {
        let path = out.join(list);
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let file = line.split(':').next().unwrap_or(line).to_string();
            let t = files.entry(file).or_default();
            *match list {
                "caught.txt" => &mut t.caught,
                "timeout.txt" => &mut t.timeout,
                "missed.txt" => &mut t.missed,
                _ => &mut t.unviable,
            } += 1;
        }
    }
    Ok(files)
}

fn print_table(scope: &str, files: &BTreeMap<String, Tally>) -> Tally {
    let mut total = Tally::default();
    println!("{:<44} {:>7} {:>7} {:>7} {:>9} {:>8}", scope, "caught", "missed", "timeout", "unviable", "caught%");
    for (file, t) in files {
        println!("{file:<44} {:>7} {:>7} {:>7} {:>9} {:>7.1}%", t.caught, t.missed, t.timeout, t.unviable, t.percent());
        total.add(*t);
    }
    println!(
        "{:<44} {:>7} {:>7} {:>7} {:>9} {:>7.1}%",
        "total",
        total.caught,
        total.missed,
        total.timeout,
        total.unviable,
        total.percent()
    );
    total
}

/// Runs cargo-mutants on one scope and returns its tally.
fn run_scope(scope: &Scope, extra: &[String], out_base: &Path) -> Result<Tally, String> {
    let out_dir = out_base.join(scope.name);
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let mut cmd = Command::new("cargo");
    cmd.args(["mutants", "--package", scope.package, "--no-shuffle", "--output"]).arg(&out_dir);
    if std::env::var_os("CARGO_MUTANTS_JOBS").is_none() {
        // The machines this runs on are small and shared.
        cmd.args(["--jobs", "1"]);
    }
    for file in scope.files {
        cmd.args(["--file", file]);
    }
    for arg in scope.test_args {
        cmd.arg(format!("--cargo-test-arg={arg}"));
    }
    cmd.args(extra);
    let shown = format!("{cmd:?}");
    println!("xtask: $ {shown}");
    let status = cmd.current_dir(root()).env("PATH", tools::path()).status().map_err(|e| format!("{shown}: {e}"))?;
    // 0: all caught; 2: some missed; 3: some timed out. Anything else (a usage error, a
    // baseline that fails) leaves no meaningful tally.
    if !matches!(status.code(), Some(0 | 2 | 3)) {
        return Err(format!("{shown} failed ({status}); see {}", out_dir.join("mutants.out").display()));
    }
    let out = out_dir.join("mutants.out");
    let files = read_outcomes(&out)?;
    let total = print_table(scope.name, &files);
    println!(
        "mutants: {}: {} of {} viable caught ({:.1} %), {} missed, {} unviable; missed ones in {}",
        scope.name,
        total.caught + total.timeout,
        total.viable(),
        total.percent(),
        total.missed,
        total.unviable,
        out.join("missed.txt").display()
    );
    Ok(total)
}

/// Installs cargo-mutants unless this version is there. Its binary answers `--version` only
/// as a cargo subcommand (`cargo mutants --version`), so the check is made here.
fn ensure_cargo_mutants() -> Result<(), String> {
    let installed =
        Command::new("cargo").args(["mutants", "--version"]).env("PATH", tools::path()).output().is_ok_and(|o| {
            o.status.success()
                && String::from_utf8_lossy(&o.stdout).split_whitespace().any(|w| w == CARGO_MUTANTS_VERSION)
        });
    if installed {
        return Ok(());
    }
    tools::ensure_cargo_tool("cargo-mutants", "cargo-mutants", CARGO_MUTANTS_VERSION)
}

/// `cargo xtask mutants [report|collector] [-- ARGS]`.
pub fn mutants(args: &[String]) -> Result<(), String> {
    let (ours, extra) = match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], &args[i + 1..]),
        None => (args, &[][..]),
    };
    let scopes: Vec<&Scope> = match ours {
        [] => SCOPES.iter().collect(),
        [name] => SCOPES.iter().filter(|s| s.name == name).collect(),
        _ => Vec::new(),
    };
    if scopes.is_empty() {
        return Err("mutants takes an optional scope (report or collector), then -- ARGS for cargo-mutants".into());
    }
    ensure_cargo_mutants()?;
    let out_base: PathBuf = std::env::temp_dir().join("vantage-mutants");
    let mut failures = Vec::new();
    for scope in scopes {
        let total = run_scope(scope, extra, &out_base)?;
        if scope.gated && total.percent() < REQUIRED_PERCENT {
            failures.push(format!(
                "{}: {:.1} % of viable mutants caught, below the required {REQUIRED_PERCENT} %",
                scope.name,
                total.percent()
            ));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}
