//! The fixture every browser test starts from: a collector in this process serving the built
//! client, a real headless browser (Chromium unless the test asks for Firefox) that sends the
//! page's name and the platforms' names where the test says, and the page object over it. One browser test runs at a time,
//! so timings measured in one are not disturbed by another's browser on the same two cores.

use serde_json::Value;
use tokio::sync::{Mutex, MutexGuard};
use vantage_collector::crowd::store::CrowdDb;
use vantage_collector::store::Origin;
use vantage_lab::browser::{Browser, BrowserConfig, BrowserKind};
use vantage_lab::censor::{Behaviour, Lab};
use vantage_lab::collector::{Collector, Options};
use vantage_lab::geoip::write_db;
use vantage_lab::page::SelfTestPage;
use vantage_lab::report::sample_report;
use vantage_lab::targets::CONTROL_HOST;
use vantage_report::TargetList;

/// Where the browser's names lead, and which keys it trusts.
#[derive(Default)]
pub struct Net {
    rules: Vec<String>,
    trusted_spki: Vec<String>,
    trusted_ca_pem: Vec<String>,
    /// Plain-HTTP origins treated as secure contexts besides the page's (service workers).
    secure: Vec<String>,
}

impl Net {
    /// A network whose TLS servers are `lab`'s (Chromium trusts its key, Firefox its CA).
    pub fn trusting(lab: &Lab) -> Net {
        Net { trusted_spki: vec![lab.spki.clone()], trusted_ca_pem: vec![lab.ca_pem()], ..Net::default() }
    }

    /// `host` resolves to a loopback server on `port`.
    pub fn map(mut self, host: &str, port: u16) -> Net {
        self.rules.push(format!("MAP {host} 127.0.0.1:{port}"));
        self
    }

    /// `host` does not resolve.
    pub fn nxdomain(mut self, host: &str) -> Net {
        self.rules.push(format!("MAP {host} ~NOTFOUND"));
        self
    }

    /// `origin` (plain HTTP) counts as a secure context, as HTTPS would.
    pub fn secure(mut self, origin: &str) -> Net {
        self.secure.push(origin.to_string());
        self
    }

    /// Ready-made `--host-resolver-rules` entries (the scenario table's).
    pub fn rules(mut self, rules: impl IntoIterator<Item = String>) -> Net {
        self.rules.extend(rules);
        self
    }
}

/// The small world most tests start from: X and the lab's control served by one lab server
/// of `behaviour`, Facebook's name not resolving. Keep the lab alive as long as the test.
pub async fn x_up_facebook_down(behaviour: Behaviour) -> (Lab, Net) {
    let lab = Lab::new(&["abs.twimg.com", "x.com"]);
    let port = lab.serve(behaviour).await;
    let net = Net::trusting(&lab)
        .map(CONTROL_HOST, port)
        .map("abs.twimg.com", port)
        .map("x.com", port)
        .nxdomain("www.facebook.com");
    (lab, net)
}

/// Collector options for a reader in Pakistan on AS17557 (GeoIP databases mapping loopback
/// there, kept in the returned directory) whose crowd endpoints withhold cells under
/// `min_reports`.
pub fn reader_in_pakistan(min_reports: u32) -> (tempfile::TempDir, Options) {
    let geo = tempfile::tempdir().expect("a directory for GeoIP databases");
    let loopback = std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 0));
    let (country_db, asn_db) = (geo.path().join("country.mmdb"), geo.path().join("asn.mmdb"));
    write_db(&country_db, "GeoLite2-Country", &[(loopback, 8, serde_json::json!({"country": {"iso_code": "PK"}}))]);
    write_db(&asn_db, "GeoLite2-ASN", &[(loopback, 8, serde_json::json!({"autonomous_system_number": 17557}))]);
    let options = Options {
        geoip_country: Some(country_db),
        geoip_asn: Some(asn_db),
        crowd_min_reports: Some(min_reports),
        ..Options::default()
    };
    (geo, options)
}

/// `n` readers in Pakistan on AS17557 found X blocked (and the control loading) in the last
/// minutes: [`sample_report`]s of [`vantage_lab::report::sample_targets`], stored and counted.
pub async fn seed_pakistan(world: &World, n: i64) {
    let now = vantage_collector::ingest::now_secs();
    let path = world.collector.database();
    let store = vantage_collector::store::open(path.to_str().expect("a UTF-8 path")).await.expect("the store");
    for i in 0..n {
        let origin = Origin { country: "PK".into(), asn: 17557 };
        store.insert(sample_report(&format!("{i:032x}"), now - 60 * i), origin, now).await.expect("stored");
    }
    store.close().await;
    let crowd = CrowdDb::open(path.to_str().expect("a UTF-8 path")).await.expect("the crowd tables");
    crowd.catch_up().await.expect("counted");
}

static ONE_BROWSER: Mutex<()> = Mutex::const_new(());

/// Waits for the browser turn (a test that fails releases it as it unwinds).
pub async fn browser_turn() -> MutexGuard<'static, ()> {
    ONE_BROWSER.lock().await
}

/// Starts Chromium whose only extra name is the page's own origin.
pub async fn browser(page_origin: &str, page_port: u16, net: Net) -> Browser {
    browser_in(BrowserKind::Chromium, page_origin, page_port, net).await
}

/// Starts a `kind` browser whose only extra name is the page's own origin.
pub async fn browser_in(kind: BrowserKind, page_origin: &str, page_port: u16, net: Net) -> Browser {
    let host = page_origin.trim_start_matches("http://").split(':').next().unwrap_or("vantage.test");
    let mut resolver_rules = vec![format!("MAP {host} 127.0.0.1:{page_port}")];
    resolver_rules.extend(net.rules);
    let config = BrowserConfig {
        resolver_rules,
        trusted_spki: net.trusted_spki,
        trusted_ca_pem: net.trusted_ca_pem,
        secure_origins: [page_origin.to_string()].into_iter().chain(net.secure).collect(),
    };
    Browser::start(kind, config).await
}

pub struct World {
    pub collector: Collector,
    pub browser: Browser,
    /// The page's origin, `http://vantage.test:PORT`: a name, so that no URL in a report
    /// legitimately holds the loopback address the visitor connects from.
    pub site: String,
    _turn: MutexGuard<'static, ()>,
}

impl World {
    /// A world in Chromium.
    pub async fn start(targets: &TargetList, options: Options, net: Net) -> World {
        World::start_in(BrowserKind::Chromium, targets, options, net).await
    }

    /// A world in a `kind` browser.
    pub async fn start_in(kind: BrowserKind, targets: &TargetList, options: Options, net: Net) -> World {
        let turn = browser_turn().await;
        let collector = Collector::start_with(targets, options).await;
        let site = format!("http://vantage.test:{}", collector.port);
        let browser = browser_in(kind, &site, collector.port, net).await;
        World { collector, browser, site, _turn: turn }
    }

    /// Opens the self-test page and waits for its consent box.
    pub async fn open_page(&self) -> SelfTestPage<'_> {
        SelfTestPage::open(&self.browser.client, &format!("{}/", self.site)).await
    }

    /// Every line of the collector's open-data export, parsed.
    pub async fn export(&self) -> Vec<Value> {
        let (status, body) =
            vantage_lab::http::get(&format!("http://127.0.0.1:{}/api/v1/export", self.collector.port)).await;
        assert_eq!(status, 200, "export: {body}");
        body.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("export line {l}: {e}"))).collect()
    }

    /// The exported measurement of `target` (the first, when several runs were submitted).
    pub async fn exported(&self, target: &str) -> Option<Value> {
        self.export().await.into_iter().find(|l| l["test_keys"]["target_id"] == target)
    }

    pub async fn close(self) {
        self.browser.close().await;
    }
}
