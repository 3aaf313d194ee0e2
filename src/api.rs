//! The collector's API as the client uses it: same origin, JSON, errors in words.

use serde::Deserialize;
use vantage_report::{Report, TargetList};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestInit, Response};

const TARGETS: &str = "/api/v1/targets";
const REPORTS: &str = "/api/v1/reports";

/// What the collector answers a stored report with.
#[derive(Debug, Clone, Deserialize)]
pub struct Stored {
    pub report_id: String,
}

/// The collector's error body.
#[derive(Debug, Deserialize)]
struct ApiError {
    detail: String,
    field: Option<String>,
}

fn js_error(e: wasm_bindgen::JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "network error".into())
}

async fn send(url: &str, init: &RequestInit) -> Result<(Response, String), String> {
    let window = web_sys::window().ok_or("no window")?;
    let response: Response = JsFuture::from(window.fetch_with_str_and_init(url, init))
        .await
        .map_err(|e| format!("the collector could not be reached ({})", js_error(e)))?
        .dyn_into()
        .map_err(|_| "unexpected answer from fetch".to_string())?;
    let text = JsFuture::from(response.text().map_err(js_error)?).await.map_err(js_error)?;
    Ok((response, text.as_string().unwrap_or_default()))
}

fn describe_failure(response: &Response, body: &str) -> String {
    match serde_json::from_str::<ApiError>(body) {
        Ok(ApiError { detail, field: Some(field) }) => format!("{field}: {detail}"),
        Ok(ApiError { detail, field: None }) => detail,
        Err(_) => format!("HTTP {} {}", response.status(), response.status_text()),
    }
}

/// Loads the target list and validates it: a list that breaks the rules is refused, so a
/// compromised collector cannot make visitors fetch arbitrary URLs.
pub async fn fetch_targets() -> Result<TargetList, String> {
    let init = RequestInit::new();
    init.set_method("GET");
    let (response, body) = send(TARGETS, &init).await?;
    if !response.ok() {
        return Err(describe_failure(&response, &body));
    }
    TargetList::from_json(&body).map_err(|e| format!("the list was refused because it is invalid ({e})"))
}

/// Submits a report; the collector answers once it is stored durably.
pub async fn submit(report: &Report) -> Result<Stored, String> {
    let body = serde_json::to_string(report).map_err(|e| e.to_string())?;
    let init = RequestInit::new();
    init.set_method("POST");
    let headers = web_sys::Headers::new().map_err(js_error)?;
    headers.set("content-type", "application/json").map_err(js_error)?;
    init.set_headers(&headers);
    init.set_body(&body.into());
    let (response, text) = send(REPORTS, &init).await?;
    if response.status() != 201 {
        return Err(describe_failure(&response, &text));
    }
    serde_json::from_str(&text).map_err(|e| format!("unexpected answer from the collector ({e})"))
}
