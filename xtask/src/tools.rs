//! Installing the toolchain pieces a fresh machine lacks, each only when missing or at the
//! wrong version. Versions are the ones `../shared/TOOLCHAIN.md` found to work together.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::{root, sh};

const TRUNK_VERSION: &str = "0.21.14";
const BINARYEN_VERSION: &str = "132.0.0";
const AXE_VERSION: &str = "4.14.1";
const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// geckodriver from crates.io (Mozilla's binary downloads are out of reach here).
const GECKODRIVER_VERSION: &str = "0.37.1";

/// Where xtask keeps what it installs from npm.
fn tools_dir() -> PathBuf {
    root().join("target").join("tools")
}

fn cargo_bin() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"))
        .join("bin")
}

/// PATH with the installed tools first: binaryen's wasm-opt, then cargo-installed binaries.
pub fn path() -> std::ffi::OsString {
    let mut dirs = vec![tools_dir().join("binaryen/node_modules/.bin"), cargo_bin()];
    dirs.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    std::env::join_paths(dirs).expect("PATH entries without separators")
}

/// The first line a tool prints for `--version`, if it runs at all.
fn version_of(program: &str, arg: &str) -> Option<String> {
    let out = Command::new(program).arg(arg).env("PATH", path()).stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or("").to_string())
}

/// The version of `package` that Cargo.lock pins.
fn locked_version(package: &str) -> Result<String, String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == format!("name = \"{package}\"") {
            if let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = \"")) {
                return Ok(v.trim_end_matches('"').to_string());
            }
        }
    }
    Err(format!("{package} is not in Cargo.lock"))
}

pub fn ensure_wasm_target() -> Result<(), String> {
    let installed =
        Command::new("rustup").args(["target", "list", "--installed"]).output().map_err(|e| format!("rustup: {e}"))?;
    if String::from_utf8_lossy(&installed.stdout).lines().any(|l| l.trim() == WASM_TARGET) {
        return Ok(());
    }
    sh(Command::new("rustup").args(["target", "add", WASM_TARGET]))
}

/// `cargo install` of an exact version; without `--locked` if the locked set cannot resolve
/// against this registry (wasm-bindgen-cli 0.2.130's lock names a missing webpki-roots).
pub fn ensure_cargo_tool(binary: &str, package: &str, version: &str) -> Result<(), String> {
    if version_of(binary, "--version").is_some_and(|v| v.split_whitespace().any(|w| w == version)) {
        return Ok(());
    }
    println!("xtask: installing {package} {version} (a few minutes, once)");
    let install = |locked: bool| {
        let mut cmd = Command::new("cargo");
        cmd.args(["install", package, "--version", version, "--force"]);
        if locked {
            cmd.arg("--locked");
        }
        sh(&mut cmd)
    };
    install(true).or_else(|_| install(false))
}

fn ensure_binaryen() -> Result<(), String> {
    let wanted = BINARYEN_VERSION.split('.').next().unwrap_or(BINARYEN_VERSION);
    if version_of("wasm-opt", "--version").is_some_and(|v| v.contains(&format!("version {wanted}"))) {
        return Ok(());
    }
    // Debian's binaryen (108) silently breaks the release build; npm has 132.
    npm_install("binaryen", "binaryen", BINARYEN_VERSION)
}

/// `npm install PACKAGE@VERSION` into `target/tools/DIR` (npm itself from Debian if missing).
fn npm_install(dir: &str, package: &str, version: &str) -> Result<(), String> {
    let dir = tools_dir().join(dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    ensure_apt_tool("npm", &["npm"])?;
    sh(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&dir)
        .arg(format!("{package}@{version}")))
}

/// axe-core, the accessibility checker the browser tests inject into the page, as
/// `target/tools/axe/node_modules/axe-core/axe.min.js` (where the e2e tests read it).
fn ensure_axe() -> Result<(), String> {
    let dir = tools_dir().join("axe");
    let installed = std::fs::read_to_string(dir.join("node_modules/axe-core/package.json"))
        .is_ok_and(|p| p.contains(&format!("\"version\": \"{AXE_VERSION}\"")));
    if installed {
        return Ok(());
    }
    npm_install("axe", "axe-core", AXE_VERSION)
}

/// Firefox ESR and what the censor lab needs to drive it: `certutil` (libnss3-tools) to trust
/// the lab's CA in a fresh profile, and geckodriver.
fn ensure_firefox() -> Result<(), String> {
    ensure_apt_tool("firefox-esr", &["firefox-esr"])?;
    // certutil has no --version; `-H` prints its help and exits non-zero, so ask `which`.
    if !Command::new("which").arg("certutil").stdout(Stdio::null()).status().is_ok_and(|s| s.success()) {
        apt_install("certutil", &["libnss3-tools"])?;
    }
    ensure_cargo_tool("geckodriver", "geckodriver", GECKODRIVER_VERSION)
}

/// Installs Debian packages when `probe` is not on PATH.
fn ensure_apt_tool(probe: &str, packages: &[&str]) -> Result<(), String> {
    if version_of(probe, "--version").is_some() {
        return Ok(());
    }
    apt_install(probe, packages)
}

/// Debian's PostgreSQL server, which lives outside PATH (`/usr/lib/postgresql/NN/bin`); the
/// tests start their own throwaway server from it.
fn ensure_postgres() -> Result<(), String> {
    let installed = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| dirs.filter_map(Result::ok).any(|d| d.path().join("bin/postgres").is_file()))
        .unwrap_or(false);
    if installed {
        return Ok(());
    }
    apt_install("the PostgreSQL server", &["postgresql"])
}

/// Debian's nginx, which the deployment test starts in front of two collectors (it lives in
/// /usr/sbin and has no `--version`).
fn ensure_nginx() -> Result<(), String> {
    if std::path::Path::new("/usr/sbin/nginx").is_file() {
        return Ok(());
    }
    apt_install("nginx", &["nginx"])
}

fn apt_install(probe: &str, packages: &[&str]) -> Result<(), String> {
    println!("xtask: {probe} is missing; installing {} with apt-get", packages.join(" "));
    let root_user = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0"));
    let apt = |args: &[&str]| {
        let mut cmd = if root_user { Command::new("apt-get") } else { Command::new("sudo") };
        if !root_user {
            cmd.arg("apt-get");
        }
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        sh(&mut cmd)
    };
    apt(&["update", "-q"])?;
    let mut args = vec!["install", "-y", "-q", "--no-install-recommends"];
    args.extend(packages);
    apt(&args)
}

/// Makes sure Trunk.toml pins the wasm-bindgen that Cargo.lock uses, or Trunk would try (and
/// fail) to download another one.
fn check_trunk_pin(wasm_bindgen: &str) -> Result<(), String> {
    let trunk_toml = std::fs::read_to_string(root().join("Trunk.toml")).map_err(|e| format!("Trunk.toml: {e}"))?;
    if trunk_toml.contains(&format!("wasm_bindgen = \"{wasm_bindgen}\"")) {
        Ok(())
    } else {
        Err(format!("Trunk.toml must pin [tools] wasm_bindgen = \"{wasm_bindgen}\", the version in Cargo.lock"))
    }
}

/// Everything `run` needs, plus the browser when `for_tests`.
pub fn ensure_all(for_tests: bool) -> Result<(), String> {
    ensure_wasm_target()?;
    let wasm_bindgen = locked_version("wasm-bindgen")?;
    check_trunk_pin(&wasm_bindgen)?;
    ensure_cargo_tool("wasm-bindgen", "wasm-bindgen-cli", &wasm_bindgen)?;
    ensure_cargo_tool("trunk", "trunk", TRUNK_VERSION)?;
    ensure_binaryen()?;
    if for_tests {
        ensure_apt_tool("chromedriver", &["chromium", "chromium-driver"])?;
        ensure_firefox()?;
        ensure_axe()?;
        ensure_postgres()?;
        ensure_nginx()?;
    }
    Ok(())
}
