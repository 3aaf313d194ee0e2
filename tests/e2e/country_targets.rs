//! A visitor whose address maps (through a test GeoIP database) to Pakistan gets the global
//! list plus Pakistan's additions from `--targets-dir`, measures them, and their report is
//! stored under PK and its network.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use vantage_lab::censor::{Behaviour, Lab};
use vantage_lab::collector::Options;
use vantage_lab::geoip::write_db;
use vantage_lab::targets::{lab_control, list, own_origin_control, target, CONTROL_HOST};
use vantage_report::TargetList;

use crate::world::{Net, World};

fn global() -> TargetList {
    list(
        "global-1",
        vec![
            target("x", "X", "GRP", "https://abs.twimg.com/favicons/twitter.3.ico", "https://x.com/"),
            own_origin_control(),
            lab_control(),
        ],
    )
}

/// Pakistan's additions: a local news site, as a Citizen Lab PK list would name.
fn pakistan() -> TargetList {
    list("pk-7", vec![target("dawn", "Dawn", "NEWS", "https://www.dawn.com/favicon.ico", "https://www.dawn.com/")])
}

/// Iran's additions, which a visitor from Pakistan must not get.
fn iran() -> TargetList {
    list(
        "ir-3",
        vec![target("aparat", "Aparat", "MMED", "https://www.aparat.com/favicon.ico", "https://www.aparat.com/")],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_from_pakistan_measures_pakistans_additions() {
    let countries = tempfile::tempdir().unwrap();
    for (file, additions) in [("PK.json", pakistan()), ("IR.json", iran())] {
        std::fs::write(countries.path().join(file), serde_json::to_string(&additions).unwrap()).unwrap();
    }
    let geo = tempfile::tempdir().unwrap();
    let loopback = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0));
    let (country_db, asn_db) = (geo.path().join("country.mmdb"), geo.path().join("asn.mmdb"));
    write_db(&country_db, "GeoLite2-Country", &[(loopback, 8, serde_json::json!({"country": {"iso_code": "PK"}}))]);
    write_db(&asn_db, "GeoLite2-ASN", &[(loopback, 8, serde_json::json!({"autonomous_system_number": 17557}))]);
    let lab = Lab::new(&["abs.twimg.com", "x.com", "www.dawn.com", "www.aparat.com"]);
    let healthy = lab.serve(Behaviour::Healthy).await;
    let net = ["abs.twimg.com", "x.com", "www.dawn.com", "www.aparat.com"]
        .into_iter()
        .fold(Net::trusting(&lab).map(CONTROL_HOST, healthy), |net, host| net.map(host, healthy));
    let options = Options {
        country_dir: Some(countries.path().into()),
        geoip_country: Some(country_db),
        geoip_asn: Some(asn_db),
        ..Options::default()
    };
    let world = World::start(&global(), options, net).await;

    let page = world.open_page().await;
    page.consent_and_run().await;
    page.wait_done(Duration::from_secs(20)).await;
    let verdicts = page.verdicts().await;
    assert_eq!(verdicts.get("dawn").map(String::as_str), Some("reachable"), "{verdicts:?}");
    assert_eq!(verdicts.get("x").map(String::as_str), Some("reachable"), "{verdicts:?}");
    assert!(!verdicts.contains_key("aparat"), "another country's additions were served: {verdicts:?}");
    let (state, message) = page.submit().await;
    assert_eq!(state, "sent", "{message}");

    let dawn = world.exported("dawn").await.expect("dawn was measured and stored");
    assert_eq!(dawn["probe_cc"], "PK");
    assert_eq!(dawn["probe_asn"], "AS17557");
    assert_eq!(dawn["annotations"]["targets_version"], "global-1+PK.pk-7");
    world.close().await;
}
