//! Real headless Chromium through chromedriver, one fresh profile per browser.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::json;

use crate::free_port;

/// How the browser sees the network.
#[derive(Default, Clone)]
pub struct BrowserConfig {
    /// `MAP host target` / `MAP host ~NOTFOUND` rules for `--host-resolver-rules`.
    pub resolver_rules: Vec<String>,
    /// Base64 SHA-256 SPKI hashes of keys to trust (the lab's, and only the lab's).
    pub trusted_spki: Vec<String>,
    /// `http://name:port` origins to treat as secure, as production's HTTPS would be.
    pub secure_origins: Vec<String>,
}

/// chromedriver in its own process group, so a failing test cannot orphan Chromium.
struct Driver {
    child: Child,
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
    _driver: Driver,
    _profile: tempfile::TempDir,
}

fn chromium_binary() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

impl Browser {
    pub async fn start(config: BrowserConfig) -> Browser {
        let port = free_port();
        let child = Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("chromedriver not found: `cargo xtask test` installs Debian's chromium and chromium-driver");
        let driver = Driver { child };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not start listening on port {port}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let profile = tempfile::tempdir().expect("a temporary profile directory");
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
            format!("--user-data-dir={}", profile.path().display()),
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
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("chromedriver refused to start Chromium");
        Browser { client, _driver: driver, _profile: profile }
    }

    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}
