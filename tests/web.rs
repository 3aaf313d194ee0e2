//! In-browser tests of the client's shell: probes against real resources, and the page's
//! consent gate, run by `wasm-bindgen-test-runner` in headless Chromium.
//!
//! Run with `cargo xtask test` (or `cargo test --target wasm32-unknown-unknown`, with
//! chromedriver on PATH). The runner serves the crate root, so `/static/...` exists.
#![cfg(target_arch = "wasm32")]

use std::time::Duration;

use vantage::i18n::{self, words, Catalogue};
use vantage::probe::{self, Busting, Request};
use vantage::run::{measure, Plan};
use vantage_report::{
    measurements_from, Attempt, Measurement, Outcome, Phases, ProbeKind, Reason, TargetList, TimingSource, Verdict,
};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const DEADLINE: u32 = 5_000;
/// Nothing listens on port 1: the connection is refused at once.
const REFUSED: &str = "http://127.0.0.1:1/favicon.ico";

async fn probe(kind: ProbeKind, url: &str) -> Attempt {
    probe::run(&Request {
        kind,
        url: url.into(),
        deadline_ms: DEADLINE,
        trial: 0,
        cold: true,
        bytes: None,
        run_token: "run".into(),
        control: false,
    })
    .await
    .attempt
}

#[wasm_bindgen_test]
async fn an_image_probe_decodes_a_real_image_and_takes_its_resource_timing() {
    let a = probe(ProbeKind::Image, "/static/control.png").await;
    assert_eq!(a.outcome, Outcome::Ok);
    assert!(a.duration_ms > 0.0 && a.duration_ms < f64::from(DEADLINE), "{a:?}");
    // Same origin: the entry exists and carries phases.
    assert_eq!(a.timing, TimingSource::ResourceTiming, "{a:?}");
    assert!(a.phases.is_some(), "{a:?}");
}

#[wasm_bindgen_test]
async fn content_that_is_not_an_image_fails_the_image_probe_but_not_the_fetch() {
    // The signature of a block page served in place of a favicon.
    assert_eq!(probe(ProbeKind::Image, "/static/style.css").await.outcome, Outcome::Error);
    assert_eq!(probe(ProbeKind::Fetch, "/static/style.css").await.outcome, Outcome::Ok);
}

#[wasm_bindgen_test]
async fn a_refused_connection_fails_fast_in_both_probes() {
    for a in [probe(ProbeKind::Image, REFUSED).await, probe(ProbeKind::Fetch, REFUSED).await] {
        assert_eq!(a.outcome, Outcome::Error, "{a:?}");
        assert!(a.duration_ms < 1_000.0, "a refusal is not a timeout: {a:?}");
    }
}

#[wasm_bindgen_test]
async fn every_platform_request_is_unique_so_no_cache_answers() {
    let each = Busting::EachRequest;
    let (a, b) = (probe::probe_url("/static/control.png", each), probe::probe_url("/static/control.png", each));
    assert_ne!(a, b);
    assert!(a.starts_with("http://") && a.contains("/static/control.png?vantage="), "{a}");
    assert!(probe::probe_url("https://x.example/i.png?v=2", each).starts_with("https://x.example/i.png?v=2&vantage="));
    // The run's token for controls' images and throughput assets; none for controls' fetches.
    assert_eq!(probe::probe_url("https://c.example/i.png", Busting::Run("r1")), "https://c.example/i.png?vantage=r1");
    assert_eq!(probe::probe_url("https://c.example/i.png", Busting::None), "https://c.example/i.png");
    let token = "r1";
    for (kind, control, busting) in [
        (ProbeKind::Image, false, Busting::EachRequest),
        (ProbeKind::Fetch, false, Busting::EachRequest),
        (ProbeKind::Image, true, Busting::Run(token)),
        (ProbeKind::Fetch, true, Busting::None),
        (ProbeKind::Throughput, false, Busting::Run(token)),
        (ProbeKind::Throughput, true, Busting::Run(token)),
    ] {
        assert_eq!(Busting::for_probe(kind, control, token), busting, "{kind:?} control={control}");
    }
}

#[wasm_bindgen_test]
async fn an_asset_of_unknown_size_takes_the_size_resource_timing_reads_and_a_listed_one_keeps_its_own() {
    // Same origin, so the entry carries sizes (cross-origin, only with Timing-Allow-Origin).
    const PNG: &str = "/docs/screenshots/consent-en-360.png";
    let size = include_bytes!("../docs/screenshots/consent-en-360.png").len() as u64;
    let asset = |bytes| Request {
        kind: ProbeKind::Throughput,
        url: PNG.into(),
        deadline_ms: DEADLINE,
        trial: 3,
        cold: false,
        bytes,
        run_token: format!("size-{bytes:?}"),
        control: false,
    };
    let read = probe::run(&asset(None)).await.attempt;
    assert_eq!((read.outcome, read.bytes), (Outcome::Ok, Some(size)), "{read:?}");
    let listed = probe::run(&asset(Some(60_000))).await.attempt;
    assert_eq!(listed.bytes, Some(60_000), "the list's size is what the list says: {listed:?}");
    // A size no list may carry is no size: the small control image read from its entry.
    let small = probe::run(&Request { url: "/static/control.png".into(), ..asset(None) }).await.attempt;
    assert_eq!((small.outcome, small.bytes), (Outcome::Ok, None), "{small:?}");
}

/// What a run requested, by the names of its Resource Timing entries.
fn requested_names() -> Vec<String> {
    let perf = web_sys::window().unwrap().performance().unwrap();
    perf.get_entries_by_type("resource")
        .iter()
        .filter_map(|e| e.dyn_into::<web_sys::PerformanceEntry>().ok())
        .map(|e| e.name())
        .collect()
}

#[wasm_bindgen_test]
async fn a_run_busts_platforms_per_request_and_controls_once_per_run() {
    let origin = web_sys::window().unwrap().location().origin().unwrap();
    let control = format!("{origin}/static/control.png");
    let big = format!("{origin}/static/control.png?big");
    let list: TargetList = serde_json::from_str(&format!(
        r#"{{"version":"web-3","targets":[
            {{"id":"p","name":"P","category":"GRP","images":["/static/control.png?p"],"fetch":"/static/control.png?pf"}},
            {{"id":"c","name":"C","category":"CTRL","control":true,"images":["{control}"],"fetch":"{control}",
              "throughput":{{"url":"{big}"}}}}]}}"#,
    ))
    .unwrap();
    let tokens_of = |runs: &[Vec<String>], prefix: &str| -> Vec<String> {
        let mut t: Vec<String> =
            runs.iter().flatten().filter_map(|n| n.strip_prefix(prefix)).map(str::to_string).collect();
        t.sort();
        t.dedup();
        t
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        // `measure` clears the buffer when it ends: read the names while its probes finish.
        let plan = Plan { trials: 3, deadline_ms: DEADLINE, concurrency: 2 };
        let names = std::cell::RefCell::new(Vec::new());
        let attempts = measure(&list, plan, |p| {
            if p.finished {
                *names.borrow_mut() = requested_names();
            }
        })
        .await;
        assert!(
            attempts.iter().flatten().filter(|a| a.probe != ProbeKind::Throughput).all(Attempt::ok),
            "{attempts:?}"
        );
        runs.push(names.into_inner());
    }
    let own = format!("{origin}/static/control.png");
    // Each platform image a token of its own: three trials, two runs.
    assert_eq!(tokens_of(&runs, &format!("{own}?p&vantage=")).len(), 6, "{runs:?}");
    // The control's image (three trials a run) and the throughput asset: one token per run,
    // a new one each run.
    let control_tokens = tokens_of(&runs, &format!("{own}?vantage="));
    let big_tokens = tokens_of(&runs, &format!("{own}?big&vantage="));
    assert_eq!(big_tokens.len(), 2, "{runs:?}");
    assert_eq!(control_tokens, big_tokens, "{runs:?}");
    // The control's fetch as listed, no token.
    assert!(runs.iter().flatten().any(|n| *n == own), "{runs:?}");
}

#[wasm_bindgen_test]
async fn a_run_decides_verdicts_by_the_shared_rules() {
    // The control by an absolute URL: a path on the page's own origin is no control of the
    // connection (it proves only that the page loaded), and the runner serves one origin only.
    let origin = web_sys::window().unwrap().location().origin().unwrap();
    let control = format!("{origin}/static/control.png");
    let list: TargetList = serde_json::from_str(&format!(
        r#"{{"version":"web-1","targets":[
            {{"id":"tampered","name":"T","category":"GRP","images":["/static/style.css"],"fetch":"/static/style.css"}},
            {{"id":"control","name":"C","category":"CTRL","control":true,"images":["{control}"],"fetch":"{control}"}}]}}"#,
    ))
    .unwrap();
    let finished = std::cell::RefCell::new(Vec::new());
    let plan = Plan { trials: 2, deadline_ms: DEADLINE, concurrency: 2 };
    let attempts = measure(&list, plan, |p| {
        if p.finished {
            finished.borrow_mut().push((p.target, p.done));
        }
    })
    .await;
    let mut finished = finished.into_inner();
    finished.sort();
    assert_eq!(finished, [(0, 4), (1, 4)], "progress tells when each target is done");
    // Trial 0 is cold, later trials warm.
    assert_eq!(
        attempts[1].iter().map(|a| (a.trial, a.cold)).collect::<Vec<_>>(),
        [(0, true), (0, true), (1, false), (1, false)]
    );
    let ms = measurements_from(&list, attempts, f64::from(DEADLINE));
    assert_eq!(ms[0].verdict, Verdict::Tampered, "{:?}", ms[0]);
    assert_eq!(ms[1].verdict, Verdict::Reachable, "{:?}", ms[1]);
}

#[wasm_bindgen_test]
fn the_browsers_json_writes_a_report_the_collector_reads_back_exactly() {
    // Timings as a browser produces them: fractions of a millisecond that are not short decimals.
    let awkward = [0.1 + 0.2, 1e-7, 123.456_789_012_345_67, 4_999.999_999_999_999, 2f64.powi(52) + 0.5, 5.0];
    let attempts: Vec<Attempt> = awkward
        .iter()
        .enumerate()
        .map(|(i, &ms)| Attempt {
            probe: ProbeKind::Image,
            outcome: Outcome::Ok,
            duration_ms: ms.min(4_999.0),
            trial: i as u8 % 3,
            cold: i == 0,
            cross_host: false,
            timing: TimingSource::ResourceTiming,
            phases: Some(Phases {
                dns_ms: ms / 7.0,
                connect_ms: 0.1,
                tls_ms: 1.0 / 3.0,
                ttfb_ms: ms.min(4_999.0) / 3.0,
            }),
            bytes: None,
        })
        .collect();
    let list = TargetList::from_deserializer(serde_wasm_bindgen::Deserializer::from(
        js_sys::JSON::parse(
            r#"{"version":"web-2","targets":[
                {"id":"x","name":"X","category":"GRP","images":["https://x.example/i.png"],"fetch":"https://x.example/"},
                {"id":"c","name":"C","category":"CTRL","control":true,"images":["https://c.example/i.png"],"fetch":"https://c.example/"}]}"#,
        )
        .unwrap(),
    ))
    .expect("a valid list read through the browser's JSON");
    let ms = measurements_from(&list, vec![attempts.clone(), attempts], 5_000.0);
    let report = vantage::run::report_for(&list, "2026-11-30T12:00:00.000Z".into(), ms, 5_000.0);
    let text = vantage::api::report_json(&report);
    let back: vantage_report::Report = serde_json::from_str(&text).expect("serde_json reads what the browser wrote");
    assert_eq!(back, report, "every field, every float bit for bit");
    // The same document serde_json writes, up to how an integral float is spelt (`5000` for
    // `5000.0`, the same f64): maps as objects, absent options absent.
    fn floats(v: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match v {
            Value::Number(n) => n.as_f64().map_or(Value::Null, |f| serde_json::json!(f)),
            Value::Array(a) => Value::Array(a.into_iter().map(floats).collect()),
            Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, floats(v))).collect()),
            v => v,
        }
    }
    assert_eq!(floats(serde_json::from_str(&text).unwrap()), floats(serde_json::to_value(&report).unwrap()));
    assert!(!text.contains("null"), "options that are None are left out, as serde_json leaves them: {text}");

    // A broken list is refused with the path of the field at fault.
    let bad =
        js_sys::JSON::parse(r#"{"version":"v","targets":[{"id":"x","name":"X","category":"GRP","images":"one"}]}"#)
            .unwrap();
    let e = TargetList::from_deserializer(serde_wasm_bindgen::Deserializer::from(bad)).unwrap_err();
    assert!(e.to_string().contains("targets[0].images"), "{e}");
}

/// The page reads the target list by hand (`api::target_list`, no serde in the page): it
/// must read what the derived deserializer reads, and refuse what it refuses, at the same field.
#[wasm_bindgen_test]
fn the_pages_own_target_list_reader_agrees_with_serde() {
    let parse = |json: &str| js_sys::JSON::parse(json).expect("JSON");
    let by_serde = |json: &str| TargetList::from_deserializer(serde_wasm_bindgen::Deserializer::from(parse(json)));
    let default = include_str!("../crates/collector/targets/default.json");
    let with_asset = r#"{"version":"v","targets":[{"id":"x","name":"X","category":"GRP","images":["https://x.example/i.png"],
        "fetch":"https://x.example/","throughput":{"url":"https://x.example/big.jpg","bytes":120000}},
        {"id":"c","name":"C","category":"CTRL","control":true,"images":["https://c.example/i.png"],"fetch":"/static/control.png","throughput":null}]}"#;
    // A size the collector has not learned yet is absent (or null).
    let unknown_size = r#"{"version":"v","targets":[{"id":"x","name":"X","category":"GRP","images":["https://x.example/i.png"],
        "fetch":"https://x.example/","throughput":{"url":"https://x.example/big.jpg"}},
        {"id":"y","name":"Y","category":"GRP","images":["https://y.example/i.png"],
        "fetch":"https://y.example/","throughput":{"url":"https://y.example/big.jpg","bytes":null}},
        {"id":"c","name":"C","category":"CTRL","control":true,"images":["https://c.example/i.png"],"fetch":"https://c.example/"}]}"#;
    for json in [default, with_asset, unknown_size] {
        let serde = by_serde(json).expect("serde reads it");
        assert_eq!(vantage::api::target_list(&parse(json)), Ok(serde), "{json}");
    }
    let target = r#""id":"x","name":"X","category":"GRP","images":["https://x.example/i.png"],"fetch":"/""#;
    for (json, at) in [
        (r#"[]"#.to_string(), "(document)"),
        (r#"{"version":"v"}"#.to_string(), "(document)"),
        (r#"{"version":"v","targets":[],"extra":1}"#.to_string(), "(document)"),
        (r#"{"version":1,"targets":[]}"#.to_string(), "version"),
        (r#"{"version":"v","targets":{}}"#.to_string(), "targets"),
        (
            r#"{"version":"v","targets":[{"id":"x","name":"X","category":"GRP","images":"one"}]}"#.to_string(),
            "targets[0].images",
        ),
        (format!(r#"{{"version":"v","targets":[{{{target},"extra":1}}]}}"#), "targets[0]"),
        (format!(r#"{{"version":"v","targets":[{{{target},"control":"yes"}}]}}"#), "targets[0].control"),
        (
            r#"{"version":"v","targets":[{"id":"x","name":"X","category":"GRP","images":[7],"fetch":"/"}]}"#
                .to_string(),
            "targets[0].images[0]",
        ),
        (
            format!(r#"{{"version":"v","targets":[{{{target},"throughput":{{"url":"/a","bytes":1.5}}}}]}}"#),
            "targets[0].throughput.bytes",
        ),
        (format!(r#"{{"version":"v","targets":[{{{target},"throughput":{{"bytes":5}}}}]}}"#), "targets[0].throughput"),
    ] {
        assert!(by_serde(&json).is_err(), "serde refuses {json}");
        let e = vantage::api::target_list(&parse(&json)).expect_err(&json);
        assert!(e.field.starts_with(at), "{json}: {e}");
    }
}

fn query(selector: &str) -> Option<web_sys::Element> {
    web_sys::window()?.document()?.query_selector(selector).ok()?
}

#[wasm_bindgen_test]
async fn the_page_waits_for_consent_and_explains_a_missing_target_list() {
    let body: web_sys::HtmlElement = web_sys::window().unwrap().document().unwrap().body().unwrap();
    let page = vantage::app::mount(&body).expect("the page mounts");
    let run: web_sys::HtmlButtonElement = query(r#"[data-testid="run"]"#).expect("run button").unchecked_into();
    let consent: web_sys::HtmlInputElement = query(r#"[data-testid="consent"]"#).expect("consent box").unchecked_into();
    assert!(!consent.checked(), "consent is never pre-ticked");
    assert!(run.disabled(), "no run without consent");
    assert!(query("[data-target]").is_none(), "nothing is measured before the click");

    // The test server has no collector API: the list fails to load, and the page says so.
    let mut alert = None;
    for _ in 0..100 {
        alert = query(r#"[data-testid="targets-status"][role="alert"]"#);
        if alert.is_some() {
            break;
        }
        gloo_timers::future::sleep(Duration::from_millis(50)).await;
    }
    let alert = alert.expect("an error message when the target list cannot be loaded");
    assert!(alert.text_content().unwrap_or_default().contains("could not be loaded"));
    consent.click();
    assert!(consent.checked());
    assert!(run.disabled(), "still no run without a valid target list");
    page.unmount();
}

fn storage() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

async fn settle() {
    gloo_timers::future::sleep(Duration::from_millis(30)).await;
}

#[wasm_bindgen_test]
async fn consent_is_remembered_only_when_asked_and_only_in_this_browser() {
    storage().clear().unwrap();
    let body: web_sys::HtmlElement = web_sys::window().unwrap().document().unwrap().body().unwrap();
    let page = vantage::app::mount(&body).expect("the page mounts");
    let consent: web_sys::HtmlInputElement = query(r#"[data-testid="consent"]"#).unwrap().unchecked_into();
    let remember: web_sys::HtmlInputElement = query(r#"[data-testid="remember"]"#).unwrap().unchecked_into();
    assert!(!remember.checked(), "remembering is never pre-ticked");
    consent.click();
    settle().await;
    assert_eq!(storage().length().unwrap(), 0, "consent alone stores nothing");
    remember.click();
    settle().await;
    assert_eq!(storage().get_item("vantage.consent").unwrap().as_deref(), Some("v1"));
    assert_eq!(storage().length().unwrap(), 1, "one key, nothing else");
    page.unmount();

    // A later visit finds the choice, and can forget it.
    let page = vantage::app::mount(&body).expect("the page mounts");
    settle().await;
    let consent: web_sys::HtmlInputElement = query(r#"[data-testid="consent"]"#).unwrap().unchecked_into();
    assert!(consent.checked(), "the remembered choice is applied");
    let forget: web_sys::HtmlButtonElement = query(r#"[data-testid="forget"]"#).unwrap().unchecked_into();
    forget.click();
    settle().await;
    assert!(!consent.checked());
    assert_eq!(storage().length().unwrap(), 0, "forgetting removes it");
    page.unmount();
}

#[wasm_bindgen_test]
async fn a_chosen_language_stays_chosen_while_it_loads_and_then_speaks_throughout() {
    let window = web_sys::window().unwrap();
    let address = window.location().href().unwrap();
    let body: web_sys::HtmlElement = window.document().unwrap().body().unwrap();
    let page = vantage::app::mount(&body).expect("the page mounts");
    let select = query(r#"[data-testid="language"]"#).unwrap();
    let value = || js_sys::Reflect::get(&select, &"value".into()).unwrap().as_string().unwrap_or_default();
    let run = || query(r#"[data-testid="run"]"#).and_then(|b| b.text_content()).unwrap_or_default();
    assert_eq!(run(), "Run test");
    js_sys::Reflect::set(&select, &"value".into(), &"ur".into()).unwrap();
    select.dispatch_event(&web_sys::Event::new("change").unwrap()).unwrap();
    assert_eq!(value(), "ur", "the select keeps the visitor's choice while the catalogue loads");
    let root = window.document().unwrap().document_element().unwrap();
    for _ in 0..100 {
        if root.get_attribute("lang").as_deref() == Some("ur") {
            break;
        }
        gloo_timers::future::sleep(Duration::from_millis(20)).await;
    }
    let lang_dir = (root.get_attribute("lang"), root.get_attribute("dir"));
    assert_eq!(lang_dir, (Some("ur".to_string()), Some("rtl".to_string())));
    assert_eq!(value(), "ur");
    assert_eq!(run(), "ٹیسٹ چلائیں", "fixed labels follow the language");
    let heading = query("#consent-heading").and_then(|h| h.text_content()).unwrap_or_default();
    assert!(!heading.is_ascii(), "the consent heading is in Urdu: {heading}");
    page.unmount();
    // The choice went into the address; the next test's page starts in English again.
    window.history().unwrap().replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&address)).unwrap();
    root.set_attribute("lang", "en").unwrap();
    root.set_attribute("dir", "ltr").unwrap();
}

#[wasm_bindgen_test]
async fn catalogues_load_on_demand_and_write_numbers_in_the_locale() {
    let en = Catalogue::english();
    assert_eq!((en.lang(), en.dir()), ("en", "ltr"));
    assert_eq!(en.ms(12.2), "13 ms");
    assert_eq!(en.plural("progress.status", 1.0, &[("done", "0"), ("total", "1")]), "Measured 0 of 1 site\u{2026}");

    let ur = i18n::load(i18n::language("ur-PK").unwrap()).await.expect("the Urdu catalogue is served");
    assert_eq!((ur.lang(), ur.dir()), ("ur", "rtl"));
    assert_eq!(ur.text("run.start"), "ٹیسٹ چلائیں");

    let fa = i18n::load(i18n::language("fa").unwrap()).await.expect("the Persian catalogue is served");
    assert_eq!(fa.dir(), "rtl");
    assert_eq!(fa.num(12.0), "۱۲", "Persian digits");

    let ru = i18n::load(i18n::language("ru").unwrap()).await.expect("the Russian catalogue is served");
    let status = |n: f64| ru.plural("progress.status", n, &[("done", "1"), ("total", &n.to_string())]);
    assert!(status(5.0).ends_with("сайтов\u{2026}"), "{}", status(5.0));
    assert!(status(21.0).ends_with("сайта\u{2026}"), "{}", status(21.0));
    assert!(i18n::language("de").is_none(), "no catalogue, no pretending");
}

fn measurement(id: &str, control: bool, verdict: Verdict) -> Measurement {
    Measurement {
        target_id: id.into(),
        input: format!("https://{id}.example/favicon.ico"),
        control,
        verdict,
        reason: Reason::ControlsFailed,
        attempts: vec![Attempt::new(ProbeKind::Image, Outcome::Ok, 10.0)],
    }
}

#[wasm_bindgen_test]
fn the_summary_line_says_how_many_are_out_of_reach_and_whether_the_connection_works() {
    let en = Catalogue::english();
    let mut ms: Vec<Measurement> = (0..17)
        .map(|i| measurement(&format!("p{i}"), false, if i < 4 { Verdict::Blocked } else { Verdict::Reachable }))
        .collect();
    ms.push(measurement("ctrl", true, Verdict::Reachable));
    assert_eq!(
        words::summary(&en, words::tally(&ms)),
        "4 of 17 platforms unreachable from your connection; the control sites load, so your connection itself works."
    );
    ms[5].verdict = Verdict::Throttled;
    assert!(words::summary(&en, words::tally(&ms)).ends_with("Loading far more slowly than the control sites: 1."));
    for m in &mut ms {
        m.verdict = Verdict::Inconclusive;
    }
    assert!(words::summary(&en, words::tally(&ms)).starts_with("The control sites did not load either"));
}

#[wasm_bindgen_test]
fn the_shared_summary_names_no_report_and_no_browser() {
    let en = Catalogue::english();
    let ms = vec![measurement("x", false, Verdict::Blocked), measurement("ctrl", true, Verdict::Reachable)];
    let names = vec![("x".to_string(), "X".to_string()), ("ctrl".to_string(), "Control".to_string())];
    let text = words::share_text(&en, "2026-11-30T16:05:09.123Z", &ms, &names);
    assert!(text.contains("X: Likely blocked ("), "{text}");
    assert!(text.contains("Control (control): Reachable"), "{text}");
    for leak in ["report", "chromium", "Mozilla", "vantage=", ":09"] {
        assert!(!text.contains(leak), "the shared text holds {leak:?}: {text}");
    }
}
