//! A visitor whose address maps (through a test GeoIP database) to Pakistan gets the global
//! list plus Pakistan's additions from `--targets-dir`, measures them, and their report is
//! stored under PK and its network.
//!
//! Run with `cargo xtask test`.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use serde_json::Value;
use support::browser::{Browser, BrowserConfig};
use support::collector::{Collector, Options};
use support::http_get;
use support::lab::{Behaviour, Lab};
use support::page::SelfTestPage;
use vantage_collector::geoip::testing::write_db;

const GLOBAL: &str = r#"{
  "version": "global-1",
  "targets": [
    {"id": "x", "name": "X", "category": "GRP", "images": ["https://abs.twimg.com/favicons/twitter.3.ico"], "fetch": "https://x.com/"},
    {"id": "vantage", "name": "Control", "category": "CTRL", "control": true, "images": ["/static/control.png"], "fetch": "/static/control.png"}
  ]
}"#;

/// Pakistan's additions: a local news site, as a Citizen Lab PK list would name.
const PK: &str = r#"{
  "version": "pk-7",
  "targets": [
    {"id": "dawn", "name": "Dawn", "category": "NEWS", "images": ["https://www.dawn.com/favicon.ico"], "fetch": "https://www.dawn.com/"}
  ]
}"#;

/// Iran's additions, which a visitor from Pakistan must not get.
const IR: &str = r#"{
  "version": "ir-3",
  "targets": [
    {"id": "aparat", "name": "Aparat", "category": "MMED", "images": ["https://www.aparat.com/favicon.ico"], "fetch": "https://www.aparat.com/"}
  ]
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_from_pakistan_measures_pakistans_additions() {
    let countries = tempfile::tempdir().unwrap();
    std::fs::write(countries.path().join("PK.json"), PK).unwrap();
    std::fs::write(countries.path().join("IR.json"), IR).unwrap();
    let geo = tempfile::tempdir().unwrap();
    let loopback = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0));
    let (country_db, asn_db) = (geo.path().join("country.mmdb"), geo.path().join("asn.mmdb"));
    write_db(&country_db, "GeoLite2-Country", &[(loopback, 8, serde_json::json!({"country": {"iso_code": "PK"}}))]);
    write_db(&asn_db, "GeoLite2-ASN", &[(loopback, 8, serde_json::json!({"autonomous_system_number": 17557}))]);
    let collector = Collector::start_with(
        GLOBAL,
        Options {
            country_dir: Some(countries.path().into()),
            geoip_country: Some(country_db),
            geoip_asn: Some(asn_db),
            ..Options::default()
        },
    )
    .await;

    let lab = Lab::new(&["abs.twimg.com", "x.com", "www.dawn.com", "www.aparat.com"]);
    let healthy = lab.serve(Behaviour::Healthy).await;
    let site = format!("http://vantage.test:{}", collector.port);
    let mut rules = vec![format!("MAP vantage.test 127.0.0.1:{}", collector.port)];
    rules.extend(
        ["abs.twimg.com", "x.com", "www.dawn.com", "www.aparat.com"].map(|h| format!("MAP {h} 127.0.0.1:{healthy}")),
    );
    let browser = Browser::start(BrowserConfig {
        resolver_rules: rules,
        trusted_spki: vec![lab.spki.clone()],
        secure_origins: vec![site.clone()],
    })
    .await;

    let page = SelfTestPage::open(&browser.client, &format!("{site}/")).await;
    page.consent_and_run().await;
    page.wait_done(Duration::from_secs(20)).await;
    let verdicts = page.verdicts().await;
    assert_eq!(verdicts.get("dawn").map(String::as_str), Some("reachable"), "{verdicts:?}");
    assert_eq!(verdicts.get("x").map(String::as_str), Some("reachable"), "{verdicts:?}");
    assert!(!verdicts.contains_key("aparat"), "another country's additions were served: {verdicts:?}");
    let (state, message) = page.submit().await;
    assert_eq!(state, "sent", "{message}");
    browser.close().await;

    let (_, export) = http_get(&format!("http://127.0.0.1:{}/api/v1/export", collector.port)).await;
    let lines: Vec<Value> = export.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let dawn = lines.iter().find(|l| l["test_keys"]["target_id"] == "dawn").expect("dawn was measured and stored");
    assert_eq!(dawn["probe_cc"], "PK");
    assert_eq!(dawn["probe_asn"], "AS17557");
    assert_eq!(dawn["annotations"]["targets_version"], "global-1+PK.pk-7");
}
