//! Page object for the self-test page: what a visitor does, in the words of the DOM hooks.

use std::collections::BTreeMap;
use std::time::Duration;

use fantoccini::{Client, Locator};

pub struct SelfTestPage<'a> {
    client: &'a Client,
}

const CONSENT: &str = r#"[data-testid="consent"]"#;
const RUN: &str = r#"[data-testid="run"]"#;
const SUBMIT: &str = r#"[data-testid="submit"]"#;
const DONE: &str = r#"[data-testid="results"][data-state="done"]"#;

impl<'a> SelfTestPage<'a> {
    pub async fn open(client: &'a Client, url: &str) -> SelfTestPage<'a> {
        client.goto(url).await.unwrap_or_else(|e| panic!("open {url}: {e}"));
        client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(CONSENT))
            .await
            .expect("the page renders its consent box");
        SelfTestPage { client }
    }

    pub async fn run_enabled(&self) -> bool {
        self.client.find(Locator::Css(RUN)).await.expect("run button").is_enabled().await.expect("run button state")
    }

    /// Gives consent, waits for the target list, and starts a run.
    pub async fn consent_and_run(&self) {
        self.consent().await;
        self.wait_ready().await;
        self.client.find(Locator::Css(RUN)).await.expect("run button").click().await.expect("click run");
    }

    /// Waits until the run button is enabled (consent given and target list loaded).
    pub async fn wait_ready(&self) {
        let ready = Locator::Css(r#"[data-testid="run"]:enabled"#);
        if self.client.wait().at_most(Duration::from_secs(10)).for_element(ready).await.is_err() {
            panic!("the run button never became enabled: {}", self.text().await);
        }
    }

    /// Waits until some element's text contains `words`; false if none did within `within`.
    pub async fn wait_for_text(&self, words: &str, within: Duration) -> bool {
        let xpath = format!("//*[contains(normalize-space(.), {})]", xpath_literal(words));
        self.client.wait().at_most(within).for_element(Locator::XPath(&xpath)).await.is_ok()
    }

    /// Waits for `data-state="done"` on the results.
    pub async fn wait_done(&self, within: Duration) {
        if self.client.wait().at_most(within).for_element(Locator::Css(DONE)).await.is_err() {
            panic!("the run did not finish within {within:?}: {}", self.text().await);
        }
    }

    /// Starts a run (consent must be given) and returns how long it took until
    /// `data-state="done"`, measured inside the page.
    pub async fn timed_run(&self) -> f64 {
        let script = r#"
            const done = arguments[arguments.length - 1];
            const results = document.querySelector('[data-testid="results"]');
            const run = document.querySelector('[data-testid="run"]');
            const t0 = performance.now();
            const seen = new MutationObserver(() => {
                if (results.dataset.state === 'done') { seen.disconnect(); done(performance.now() - t0); }
            });
            seen.observe(results, { attributes: true });
            run.click();
        "#;
        let ms = self.client.execute_async(script, vec![]).await.expect("a timed run");
        ms.as_f64().expect("a duration in ms")
    }

    /// The reference timer of OONI Probe Web's kind, run in this page: a plain no-cors fetch
    /// timed with `performance.now()`, `n` times in sequence. Returns the durations in ms.
    pub async fn js_reference_timings(&self, url: &str, n: usize) -> Vec<f64> {
        let script = r#"
            const [url, n, done] = arguments;
            (async () => {
                const out = [];
                for (let i = 0; i < n; i++) {
                    const t0 = performance.now();
                    try { await fetch(url + '?ref=' + Math.random(), { mode: 'no-cors', cache: 'no-store' }); } catch (e) {}
                    out.push(performance.now() - t0);
                }
                done(out);
            })();
        "#;
        let v = self.client.execute_async(script, vec![url.into(), n.into()]).await.expect("reference timings");
        v.as_array().expect("an array").iter().filter_map(serde_json::Value::as_f64).collect()
    }

    /// Ticks the consent box.
    pub async fn consent(&self) {
        self.client.find(Locator::Css(CONSENT)).await.expect("consent box").click().await.expect("tick consent");
    }

    /// The visible text of one target's row (name, verdict, evidence, timings).
    pub async fn row_text(&self, target: &str) -> String {
        let row =
            self.client.find(Locator::Css(&format!(r#"[data-target="{target}"]"#))).await.expect("the target's row");
        row.text().await.expect("row text")
    }

    /// `data-target` → `data-verdict` for every row.
    pub async fn verdicts(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for row in self.client.find_all(Locator::Css("[data-target]")).await.expect("result rows") {
            let target = row.attr("data-target").await.expect("attr").unwrap_or_default();
            let verdict = row.attr("data-verdict").await.expect("attr").unwrap_or_default();
            out.insert(target, verdict);
        }
        out
    }

    /// Clicks submit and waits for the outcome: `("sent" | "failed", message)`.
    pub async fn submit(&self) -> (String, String) {
        self.client.find(Locator::Css(SUBMIT)).await.expect("submit button").click().await.expect("click submit");
        let settled = Locator::Css(
            r#"[data-testid="submit-status"][data-state="sent"], [data-testid="submit-status"][data-state="failed"]"#,
        );
        let Ok(status) = self.client.wait().at_most(Duration::from_secs(10)).for_element(settled).await else {
            panic!("submission did not finish: {}", self.text().await);
        };
        let state = status.attr("data-state").await.expect("attr").unwrap_or_default();
        (state, status.text().await.expect("status text"))
    }

    /// Saves a screenshot as `NAME.png` in `$VANTAGE_SCREENSHOTS`, when that is set: a way to
    /// look at what a visitor would see in each scenario.
    pub async fn screenshot_if_asked(&self, name: &str) {
        let Some(dir) = std::env::var_os("VANTAGE_SCREENSHOTS") else { return };
        let png = self.client.screenshot().await.expect("a screenshot");
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// The page's visible text, for failure messages.
    pub async fn text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(e) => format!("(no body: {e})"),
        }
    }
}

/// `words` as an XPath string literal (XPath 1.0 has no escapes: quotes are concatenated).
fn xpath_literal(words: &str) -> String {
    if !words.contains('\'') {
        return format!("'{words}'");
    }
    let parts: Vec<String> = words.split('\'').map(|p| format!("'{p}'")).collect();
    format!("concat({})", parts.join(", \"'\", "))
}
