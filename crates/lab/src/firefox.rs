//! Firefox's side of the lab: a fresh profile that reproduces what Chromium's flags do.
//!
//! | Chromium flag                                  | Firefox, in the profile                                   |
//! |------------------------------------------------|-----------------------------------------------------------|
//! | `--host-resolver-rules` for platform names     | a PAC script (`data:` URL) sending them to [`ConnectProxy`] |
//! | `--host-resolver-rules` for the page's name    | `network.dns.localDomains`                                |
//! | `--ignore-certificate-errors-spki-list`        | the lab CA imported with `certutil` (trusted for servers) |
//! | `--unsafely-treat-insecure-origin-as-secure`   | `dom.securecontext.allowlist` (and no upgrade of `<img>`) |
//!
//! Measured facts behind each choice are in `../shared/TOOLCHAIN.md` ("Firefox").

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use base64::Engine;
use serde_json::{json, Value};

use crate::browser::BrowserConfig;
use crate::proxy::{ConnectProxy, Route};

pub fn firefox_binary() -> String {
    std::env::var("FIREFOX").unwrap_or_else(|_| "/usr/bin/firefox-esr".into())
}

pub fn geckodriver_binary() -> String {
    std::env::var("GECKODRIVER").unwrap_or_else(|_| {
        // `cargo install` puts it here; tests may run without ~/.cargo/bin on PATH.
        let installed = std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo/bin/geckodriver"));
        installed.filter(|p| p.is_file()).map_or("geckodriver".into(), |p| p.display().to_string())
    })
}

/// The host of an origin such as `http://vantage.test:8080`.
fn origin_host(origin: &str) -> &str {
    let rest = origin.split_once("://").map_or(origin, |(_, r)| r);
    rest.split([':', '/']).next().unwrap_or(rest)
}

/// A PAC script sending `names` to the proxy at `port` and everything else direct.
fn pac_script(names: &BTreeSet<String>, port: u16) -> String {
    let list = names.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(",");
    format!(
        "var lab = [{list}];\n\
         function FindProxyForURL(url, host) {{\n\
         \x20 return lab.indexOf(host.toLowerCase()) >= 0 ? \"PROXY 127.0.0.1:{port}\" : \"DIRECT\";\n\
         }}\n"
    )
}

/// Preferences of the lab's profile. `local_names` resolve to loopback and count as secure
/// contexts (the page's own origin); `pac` sends the platforms' names to the proxy.
fn prefs(local_names: &[String], pac: &str) -> Vec<(&'static str, Value)> {
    let pac_url = format!(
        "data:application/x-ns-proxy-autoconfig;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(pac)
    );
    let local = local_names.join(",");
    vec![
        // Where names lead.
        ("network.proxy.type", json!(2)),
        ("network.proxy.autoconfig_url", json!(pac_url)),
        // Never go around the proxy: a mapped name must not reach the real network.
        ("network.proxy.failover_direct", json!(false)),
        ("network.dns.localDomains", json!(local)),
        // The collector listens on 127.0.0.1; do not try ::1 first.
        ("network.dns.disableIPv6", json!(true)),
        // As production's HTTPS would be: a secure context, and the page's own images as they are.
        ("dom.securecontext.allowlist", json!(local)),
        ("security.mixed_content.upgrade_display_content", json!(false)),
        // No DNS over HTTPS, and nothing else the browser fetches by itself.
        ("network.trr.mode", json!(5)),
        ("network.captive-portal-service.enabled", json!(false)),
        ("network.connectivity-service.enabled", json!(false)),
        ("network.dns.disablePrefetch", json!(true)),
        ("network.prefetch-next", json!(false)),
        ("network.http.speculative-parallel-limit", json!(0)),
        ("browser.safebrowsing.malware.enabled", json!(false)),
        ("browser.safebrowsing.phishing.enabled", json!(false)),
        ("browser.safebrowsing.downloads.enabled", json!(false)),
        ("browser.safebrowsing.blockedURIs.enabled", json!(false)),
        ("datareporting.policy.dataSubmissionEnabled", json!(false)),
        ("datareporting.healthreport.uploadEnabled", json!(false)),
        ("toolkit.telemetry.enabled", json!(false)),
        ("toolkit.telemetry.unified", json!(false)),
        ("app.update.auto", json!(false)),
        ("app.normandy.enabled", json!(false)),
        ("extensions.update.enabled", json!(false)),
        ("extensions.getAddons.cache.enabled", json!(false)),
        ("browser.shell.checkDefaultBrowser", json!(false)),
        ("browser.startup.page", json!(0)),
        ("browser.startup.homepage", json!("about:blank")),
        ("browser.newtabpage.enabled", json!(false)),
        ("browser.aboutwelcome.enabled", json!(false)),
        ("security.OCSP.enabled", json!(0)),
        ("security.remote_settings.crlite_filters.enabled", json!(false)),
        ("services.settings.server", json!("data:,#remote-settings-off")),
    ]
}

fn user_js(prefs: &[(&str, Value)]) -> String {
    let mut out = String::new();
    for (name, value) in prefs {
        let _ = writeln!(out, "user_pref({name:?}, {value});");
    }
    out
}

/// Prepares a fresh profile in `profile` for `config`: preferences, the lab CA, and the proxy
/// its PAC script names. Returns the proxy (it must live as long as the browser) and the
/// WebDriver capabilities that start Firefox on this profile.
pub async fn prepare(config: &BrowserConfig, profile: &Path) -> (ConnectProxy, serde_json::Map<String, Value>) {
    let local_names: Vec<String> = config.secure_origins.iter().map(|o| origin_host(o).to_ascii_lowercase()).collect();
    let mut table = ConnectProxy::table_from_rules(config.resolver_rules.iter().map(String::as_str))
        .unwrap_or_else(|e| panic!("Firefox cannot follow a resolver rule: {e}"));
    // The page's own names go straight to loopback (network.dns.localDomains): the page is
    // plain HTTP on the port its URL names, and a proxy would only add a hop.
    for name in &local_names {
        if let Some(Route::NotFound) = table.remove(name) {
            panic!("the page's own name {name} cannot fail to resolve");
        }
    }
    let names: BTreeSet<String> = table.keys().cloned().collect();
    let proxy = ConnectProxy::start(table).await;

    let prefs = prefs(&local_names, &pac_script(&names, proxy.port));
    std::fs::write(profile.join("user.js"), user_js(&prefs)).expect("write the profile's user.js");
    if !config.trusted_ca_pem.is_empty() {
        trust(profile, &config.trusted_ca_pem);
    }

    let caps = json!({
        "browserName": "firefox",
        "moz:firefoxOptions": {
            "binary": firefox_binary(),
            "args": ["-headless", "-profile", profile.display().to_string(), "-width", "1200", "-height", "900"],
            "log": { "level": "error" },
        },
    });
    let Value::Object(caps) = caps else { unreachable!("a JSON object") };
    (proxy, caps)
}

/// Imports each CA certificate into the profile's NSS database as trusted to issue server
/// certificates (`C,,`): trust by authority, so a server with another key still fails.
fn trust(profile: &Path, pems: &[String]) {
    let db = format!("sql:{}", profile.display());
    let certutil = |args: &[&str]| {
        let out = Command::new("certutil")
            .args(args)
            .output()
            .expect("certutil not found: `cargo xtask test` installs Debian's libnss3-tools");
        assert!(out.status.success(), "certutil {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    certutil(&["-N", "-d", &db, "--empty-password"]);
    for (i, pem) in pems.iter().enumerate() {
        let file = profile.join(format!("lab-{i}.crt"));
        std::fs::write(&file, pem).expect("write the lab CA");
        let name = format!("lab-{i}");
        certutil(&["-A", "-n", &name, "-t", "C,,", "-i", &file.display().to_string(), "-d", &db]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_give_their_host() {
        assert_eq!(origin_host("http://vantage.test:8080"), "vantage.test");
        assert_eq!(origin_host("https://x.com/"), "x.com");
    }

    #[test]
    fn the_pac_script_names_each_host() {
        let names: BTreeSet<String> = ["x.com".to_string(), "abs.twimg.com".into()].into();
        let pac = pac_script(&names, 4000);
        assert!(pac.contains(r#"["abs.twimg.com","x.com"]"#), "{pac}");
        assert!(pac.contains("PROXY 127.0.0.1:4000"), "{pac}");
    }

    #[test]
    fn prefs_are_javascript() {
        let js = user_js(&[("a.b", json!(2)), ("c", json!("d\"e")), ("f", json!(false))]);
        assert_eq!(js, "user_pref(\"a.b\", 2);\nuser_pref(\"c\", \"d\\\"e\");\nuser_pref(\"f\", false);\n");
    }
}
