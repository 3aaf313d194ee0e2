//! Benchmarks in the censor lab, in real headless browsers: how long a run takes (Chromium), and
//! how accurate its timings are against known injected delays in Chromium and in Firefox, side
//! by side with a plain JavaScript timer of OONI Probe Web's kind run in the same page.
//!
//! Run with `cargo xtask bench` (it builds the client first). Prints figures and the budgets
//! from DESIGN.md they are held to; exits non-zero if a budget is missed.

use std::collections::BTreeSet;

use serde_json::Value;
use vantage_lab::browser::{Browser, BrowserConfig, BrowserKind};
use vantage_lab::censor::{Behaviour, Lab};
use vantage_lab::collector::Collector;
use vantage_lab::http::get as http_get;
use vantage_lab::page::SelfTestPage;
use vantage_lab::targets::{list as target_list, target};
use vantage_report::TargetList;

/// Budgets from DESIGN.md.
const HEALTHY_RUN_BUDGET_MS: f64 = 1_500.0;
const BLACKHOLE_SLACK_MS: f64 = 1_000.0;
const MEDIAN_ERROR_BUDGET_MS: f64 = 2.0;
const P95_ERROR_BUDGET_MS: f64 = 5.0;
/// The client's per-attempt deadline (`Plan::default()`).
const DEADLINE_MS: f64 = 5_000.0;
const RUNS: usize = 5;
const DELAYS_MS: [u64; 3] = [50, 200, 1000];
const PROBES_PER_DELAY: usize = 100;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

/// Host names in a URL list (absolute https URLs only).
fn host(url: &str) -> Option<&str> {
    url.strip_prefix("https://")?.split(['/', '?', ':']).next()
}

fn url_hosts(list: &TargetList) -> BTreeSet<String> {
    list.targets.iter().flat_map(|t| t.urls()).filter_map(host).map(str::to_string).collect()
}

/// Whether every budget held so far.
struct Budgets {
    passed: bool,
}

fn check(outcome: &mut Budgets, what: &str, value: f64, budget: f64) {
    let ok = value <= budget;
    outcome.passed &= ok;
    println!("  {what:<76} {value:>9.1} ms   budget {budget:>7.1} ms   {}", if ok { "ok" } else { "MISSED" });
}

/// A browser of `kind` that trusts the lab alone, resolves names by `resolver_rules`, and treats
/// the page's origin `site` as secure.
async fn lab_browser(kind: BrowserKind, lab: &Lab, resolver_rules: Vec<String>, site: &str) -> Browser {
    let config = BrowserConfig {
        resolver_rules,
        trusted_spki: vec![lab.spki.clone()],
        trusted_ca_pem: vec![lab.ca_pem()],
        secure_origins: vec![site.to_string()],
    };
    Browser::start(kind, config).await
}

/// A full run of the collector's default target list, every host served by the lab, with
/// `blackholed` platforms black-holed. Returns each run's duration (fresh browser each: cold).
async fn run_times(lab: &Lab, blackholed: usize) -> Vec<f64> {
    let list = vantage_collector::targets::load(None).expect("the default list");
    let healthy = lab.serve(Behaviour::Healthy).await;
    let hole = lab.serve(Behaviour::Blackhole).await;
    let platforms: Vec<&str> = list.targets.iter().filter(|t| !t.control).map(|t| t.id.as_str()).collect();
    let holed: Vec<&str> = platforms.iter().take(blackholed).copied().collect();
    let holed_hosts: BTreeSet<String> = list
        .targets
        .iter()
        .filter(|t| holed.contains(&t.id.as_str()))
        .flat_map(|t| t.urls())
        .filter_map(host)
        .map(str::to_string)
        .collect();
    // Every platform with a black-holed host times out: Threads too when Instagram's hosts are
    // holed, since its images come from Instagram's CDN.
    let expected: BTreeSet<&str> = list
        .targets
        .iter()
        .filter(|t| t.images.iter().chain([&t.fetch]).filter_map(|u| host(u)).any(|h| holed_hosts.contains(h)))
        .map(|t| t.id.as_str())
        .collect();
    let mut out = Vec::new();
    for _ in 0..RUNS {
        let collector = Collector::start(&list).await;
        let site = format!("http://vantage.test:{}", collector.port);
        let mut rules = vec![format!("MAP vantage.test 127.0.0.1:{}", collector.port)];
        for h in url_hosts(&list) {
            let port = if holed_hosts.contains(&h) { hole } else { healthy };
            rules.push(format!("MAP {h} 127.0.0.1:{port}"));
        }
        let browser = lab_browser(BrowserKind::Chromium, lab, rules, &site).await;
        let page = SelfTestPage::open(&browser.client, &format!("{site}/")).await;
        page.consent().await;
        page.wait_ready().await;
        out.push(page.timed_run().await);
        let verdicts = page.verdicts().await;
        let timeouts: BTreeSet<&str> =
            verdicts.iter().filter(|(_, v)| *v == "timeout").map(|(t, _)| t.as_str()).collect();
        assert_eq!(timeouts, expected, "black-holed targets must time out: {verdicts:?}");
        browser.close().await;
    }
    out
}

/// Image (Resource Timing) and fetch (clock) attempts against servers that delay each answer
/// by a known amount, from repeated runs; and the JS reference timer in the same page.
async fn timing_accuracy(lab: &Lab, kind: BrowserKind, outcome: &mut Budgets) {
    let mut targets = Vec::new();
    let mut rules = Vec::new();
    for d in DELAYS_MS {
        let port = lab.serve(Behaviour::Slow { delay_ms: d }).await;
        let h = format!("delay{d}.lab.test");
        rules.push(format!("MAP {h} 127.0.0.1:{port}"));
        let url = format!("https://{h}/favicon.ico");
        targets.push(target(&format!("delay{d}"), &format!("{d} ms"), "LAB", &url, &url));
    }
    let control = lab.serve(Behaviour::Healthy).await;
    rules.push(format!("MAP control.lab.test 127.0.0.1:{control}"));
    let url = "https://control.lab.test/favicon.ico";
    targets.push(target("control", "Control", "CTRL", url, url));
    let collector = Collector::start(&target_list("bench-1", targets)).await;
    let site = format!("http://vantage.test:{}", collector.port);
    rules.push(format!("MAP vantage.test 127.0.0.1:{}", collector.port));
    let browser = lab_browser(kind, lab, rules, &site).await;
    let page = SelfTestPage::open(&browser.client, &format!("{site}/")).await;
    page.consent().await;
    page.wait_ready().await;
    // Each run takes 3 trials of an image and a fetch per target.
    let runs = PROBES_PER_DELAY.div_ceil(3);
    for _ in 0..runs {
        page.timed_run().await;
        let (state, message) = page.submit().await;
        assert_eq!(state, "sent", "{message}");
    }
    let mut reference = Vec::new();
    for d in DELAYS_MS {
        // In chunks, so no single script outlives WebDriver's 30 s script timeout.
        for _ in 0..PROBES_PER_DELAY / 10 {
            let timings = page.js_reference_timings(&format!("https://delay{d}.lab.test/favicon.ico"), 10).await;
            reference.extend(timings.into_iter().map(|t| (t - d as f64).abs()));
        }
    }
    browser.close().await;

    let (status, export) = http_get(&format!("http://127.0.0.1:{}/api/v1/export", collector.port)).await;
    assert_eq!(status, 200);
    // (probe, warm) → absolute errors
    let mut errors: std::collections::BTreeMap<(String, bool), Vec<f64>> = Default::default();
    for line in export.lines() {
        let m: Value = serde_json::from_str(line).expect("JSON line");
        let id = m["test_keys"]["target_id"].as_str().unwrap_or("");
        let Some(delay) = id.strip_prefix("delay").and_then(|d| d.parse::<f64>().ok()) else { continue };
        for a in m["test_keys"]["attempts"].as_array().into_iter().flatten() {
            if a["outcome"] != "ok" {
                continue;
            }
            let key = (
                format!("{} ({})", a["probe"].as_str().unwrap_or("?"), a["timing"].as_str().unwrap_or("?")),
                !a["cold"].as_bool().unwrap_or(true),
            );
            errors.entry(key.clone()).or_default().push((a["duration_ms"].as_f64().unwrap_or(f64::NAN) - delay).abs());
            if let Some(ttfb) = a["phases"]["ttfb_ms"].as_f64() {
                errors
                    .entry((format!("{} time to first byte (phases)", a["probe"].as_str().unwrap_or("?")), key.1))
                    .or_default()
                    .push((ttfb - delay).abs());
            }
        }
    }
    let browser = kind.name();
    println!("\nTiming accuracy in {browser}: |measured - injected| over delays {DELAYS_MS:?} ms");
    println!("  {:<44} {:>6} {:>10} {:>10}", "timer", "n", "median", "p95");
    for ((probe, warm), errs) in &errors {
        let s = sorted(errs.clone());
        let name = format!("vantage {probe}, {}", if *warm { "warm" } else { "cold" });
        println!("  {name:<52} {:>5} {:>7.2} ms {:>7.2} ms", s.len(), percentile(&s, 0.5), percentile(&s, 0.95));
    }
    let reference = sorted(reference);
    let ref_name = "JS reference (no-cors fetch + performance.now)";
    println!(
        "  {ref_name:<52} {:>5} {:>7.2} ms {:>7.2} ms",
        reference.len(),
        percentile(&reference, 0.5),
        percentile(&reference, 0.95)
    );
    println!();
    // Budgets hold for each of Vantage's timers on warm connections: the Resource Timing
    // duration (every origin) and the time to first byte (origins sending Timing-Allow-Origin).
    for probe in ["image (resource_timing)", "image time to first byte (phases)"] {
        let errs = sorted(errors.get(&(probe.to_string(), true)).cloned().unwrap_or_default());
        check(
            outcome,
            &format!("{browser}: {probe}, warm: median error"),
            percentile(&errs, 0.5),
            MEDIAN_ERROR_BUDGET_MS,
        );
        check(outcome, &format!("{browser}: {probe}, warm: p95 error"), percentile(&errs, 0.95), P95_ERROR_BUDGET_MS);
        check(
            outcome,
            &format!("{browser}: {probe}, warm: median <= JS reference's"),
            percentile(&errs, 0.5),
            percentile(&reference, 0.5),
        );
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let hosts: Vec<String> = {
        let list = vantage_collector::targets::load(None).expect("the default list");
        let mut h: Vec<String> = url_hosts(&list).into_iter().collect();
        h.extend(DELAYS_MS.iter().map(|d| format!("delay{d}.lab.test")));
        h.push("control.lab.test".into());
        h
    };
    let lab = Lab::new(&hosts.iter().map(String::as_str).collect::<Vec<_>>());
    let mut outcome = Budgets { passed: true };

    println!("Run time of a full default run ({RUNS} runs, fresh browser each, 3 trials per target)");
    let skip_runs = std::env::var_os("VANTAGE_BENCH_ONLY_TIMING").is_some();
    let (healthy, holed) = if skip_runs {
        (vec![0.0], vec![0.0])
    } else {
        (sorted(run_times(&lab, 0).await), sorted(run_times(&lab, 3).await))
    };
    println!(
        "  healthy lab:              median {:>7.1} ms, max {:>7.1} ms",
        percentile(&healthy, 0.5),
        healthy[healthy.len() - 1]
    );
    println!(
        "  3 black-holed platforms:  median {:>7.1} ms, max {:>7.1} ms",
        percentile(&holed, 0.5),
        holed[holed.len() - 1]
    );
    check(&mut outcome, "healthy run (max)", healthy[healthy.len() - 1], HEALTHY_RUN_BUDGET_MS);
    check(&mut outcome, "run with 3 black holes (max)", holed[holed.len() - 1], DEADLINE_MS + BLACKHOLE_SLACK_MS);

    // Firefox moves its timers in whole milliseconds and reaches the lab through a CONNECT
    // proxy (a tunnel set up once per connection, so warm attempts do not pay for it).
    for kind in BrowserKind::ALL {
        timing_accuracy(&lab, kind, &mut outcome).await;
    }
    if !outcome.passed {
        eprintln!("\nA budget was missed.");
        std::process::exit(1);
    }
}
