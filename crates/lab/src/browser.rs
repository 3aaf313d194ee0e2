//! Real headless browsers through their WebDriver servers, one fresh profile per browser:
//! Chromium through chromedriver, Firefox through geckodriver ([`crate::firefox`]). Both take
//! the same [`BrowserConfig`], so a test chooses the browser with one [`BrowserKind`].

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::json;

use crate::free_port;
use crate::proxy::ConnectProxy;

/// Which browser a test runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrowserKind {
    Chromium,
    Firefox,
}

impl BrowserKind {
    pub const ALL: [BrowserKind; 2] = [BrowserKind::Chromium, BrowserKind::Firefox];

    pub fn name(self) -> &'static str {
        match self {
            BrowserKind::Chromium => "chromium",
            BrowserKind::Firefox => "firefox",
        }
    }
}

/// How the browser sees the network, in Chromium's words (Firefox translates them).
#[derive(Default, Clone)]
pub struct BrowserConfig {
    /// `MAP host 127.0.0.1:PORT` / `MAP host ~NOTFOUND` rules for `--host-resolver-rules`
    /// (for Firefox: the table of its CONNECT proxy, and `network.dns.localDomains` for the
    /// page's own name).
    pub resolver_rules: Vec<String>,
    /// Base64 SHA-256 SPKI hashes of keys to trust (the lab's, and only the lab's): Chromium.
    pub trusted_spki: Vec<String>,
    /// PEM certificates of authorities to trust (the lab CA, [`crate::censor::Lab::ca_pem`]):
    /// Firefox, which trusts by authority.
    pub trusted_ca_pem: Vec<String>,
    /// `http://name:port` origins to treat as secure, as production's HTTPS would be.
    pub secure_origins: Vec<String>,
}

/// A WebDriver server in its own process group, so a failing test cannot orphan its browser.
struct Driver {
    child: Child,
}

impl Driver {
    /// Starts `program` with `args` and waits until it listens on `port`.
    async fn spawn(program: &str, args: &[String], port: u16, missing: &str) -> Driver {
        let child = Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{program}: {e}; {missing}"));
        let driver = Driver { child };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "{program} did not start listening on port {port}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's process group; no memory is touched.
        unsafe {
            libc::kill(-(self.child.id() as i32), libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

pub struct Browser {
    pub client: Client,
    pub kind: BrowserKind,
    // Dropped in this order: the session's client, the driver (and its browser), the proxy,
    // then the profile directory.
    _driver: Driver,
    _proxy: Option<ConnectProxy>,
    _profile: tempfile::TempDir,
}

fn chromium_binary() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

impl Browser {
    /// Starts a fresh `kind` browser that sees the network as `config` says. A driver that
    /// listens but does not answer the new-session request (a port taken by another process
    /// between choosing and binding it, or a driver starved on a loaded machine) is given one
    /// more try on a fresh port before the test fails.
    pub async fn start(kind: BrowserKind, config: BrowserConfig) -> Browser {
        let profile = tempfile::tempdir().expect("a temporary profile directory");
        let mut tries = 0;
        loop {
            tries += 1;
            match Browser::session(kind, &config, profile.path()).await {
                Ok((client, driver, proxy)) => {
                    return Browser { client, kind, _driver: driver, _proxy: proxy, _profile: profile }
                }
                Err(e) if tries < 2 => eprintln!("{}: {e}; trying once more on a fresh port", kind.name()),
                Err(e) => panic!("the WebDriver server refused to start {}: {e}", kind.name()),
            }
        }
    }

    /// One driver on a fresh port and a session with it.
    async fn session(
        kind: BrowserKind,
        config: &BrowserConfig,
        profile: &std::path::Path,
    ) -> Result<(Client, Driver, Option<ConnectProxy>), String> {
        let port = free_port();
        let (driver, caps, proxy) = match kind {
            BrowserKind::Chromium => {
                let program = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
                let missing = "`cargo xtask test` installs Debian's chromium and chromium-driver";
                let driver = Driver::spawn(&program, &[format!("--port={port}")], port, missing).await;
                (driver, chromium_capabilities(config, profile), None)
            }
            BrowserKind::Firefox => {
                let (proxy, caps) = crate::firefox::prepare(config, profile).await;
                let program = crate::firefox::geckodriver_binary();
                let missing = "`cargo xtask test` installs geckodriver (cargo install) and firefox-esr";
                let args = ["--host".to_string(), "127.0.0.1".into(), "--port".into(), port.to_string()];
                let driver = Driver::spawn(&program, &args, port, missing).await;
                (driver, caps, Some(proxy))
            }
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .map_err(|e| e.to_string())?;
        Ok((client, driver, proxy))
    }

    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

fn chromium_capabilities(
    config: &BrowserConfig,
    profile: &std::path::Path,
) -> serde_json::Map<String, serde_json::Value> {
    let mut args = vec![
        "--headless=new".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-quic".into(),
        "--disable-dev-shm-usage".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--window-size=1200,900".into(),
        format!("--user-data-dir={}", profile.display()),
    ];
    if !config.resolver_rules.is_empty() {
        args.push(format!("--host-resolver-rules={}", config.resolver_rules.join(", ")));
    }
    if !config.trusted_spki.is_empty() {
        args.push(format!("--ignore-certificate-errors-spki-list={}", config.trusted_spki.join(",")));
    }
    if !config.secure_origins.is_empty() {
        args.push(format!("--unsafely-treat-insecure-origin-as-secure={}", config.secure_origins.join(",")));
    }
    let caps = json!({ "goog:chromeOptions": { "binary": chromium_binary(), "args": args } });
    let serde_json::Value::Object(caps) = caps else { unreachable!() };
    caps
}
