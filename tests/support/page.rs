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
        client.wait().at_most(Duration::from_secs(20)).for_element(Locator::Css(CONSENT)).await.expect("the page renders its consent box");
        SelfTestPage { client }
    }

    pub async fn run_enabled(&self) -> bool {
        self.client.find(Locator::Css(RUN)).await.expect("run button").is_enabled().await.expect("run button state")
    }

    /// Gives consent, waits for the target list, and starts a run.
    pub async fn consent_and_run(&self) {
        self.client.find(Locator::Css(CONSENT)).await.expect("consent box").click().await.expect("tick consent");
        let run = self.client.find(Locator::Css(RUN)).await.expect("run button");
        for _ in 0..200 {
            if run.is_enabled().await.expect("run button state") {
                run.click().await.expect("click run");
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the run button never became enabled: {}", self.text().await);
    }

    /// Waits for `data-state="done"` on the results.
    pub async fn wait_done(&self, within: Duration) {
        if self.client.wait().at_most(within).for_element(Locator::Css(DONE)).await.is_err() {
            panic!("the run did not finish within {within:?}: {}", self.text().await);
        }
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
        let status = self.client.find(Locator::Css(r#"[data-testid="submit-status"]"#)).await.expect("submit status");
        for _ in 0..200 {
            let state = status.attr("data-state").await.expect("attr").unwrap_or_default();
            if state == "sent" || state == "failed" {
                return (state, status.text().await.expect("status text"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("submission did not finish: {}", self.text().await);
    }

    /// The page's visible text, for failure messages.
    pub async fn text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(e) => format!("(no body: {e})"),
        }
    }
}
