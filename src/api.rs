//! The collector's API as the client uses it: same origin, JSON, errors in words.
//!
//! JSON is read and written by the browser's own `JSON` (through `serde-wasm-bindgen`), not by
//! a parser compiled into the wasm: the page stays small, and the numbers still re-derive
//! exactly on the collector (`JSON.stringify` writes the shortest text that parses back to the
//! same `f64`, which the collector reads with `float_roundtrip`).

use serde::Serialize;
use vantage_report::target::TargetListError;
use vantage_report::wire::{path, ErrorCode, Stored};
use vantage_report::{Asset, Report, Target, TargetList};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestInit, Response};

fn js_error(e: JsValue) -> String {
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
    match error_body(body) {
        Some((Some(field), detail)) => format!("{field}: {detail}"),
        Some((None, detail)) => detail,
        None => format!("HTTP {} {}", response.status(), response.status_text()),
    }
}

/// The keys of a parsed JSON object; `None` for anything else.
fn keys(value: &JsValue) -> Option<Vec<String>> {
    if !value.is_object() || js_sys::Array::is_array(value) {
        return None;
    }
    Some(js_sys::Object::keys(value.unchecked_ref::<js_sys::Object>()).iter().filter_map(|k| k.as_string()).collect())
}

/// An error body as the collector writes it (`wire::ErrorBody`, unknown fields refused, a
/// known code): `(field, detail)`, or `None` if `text` is not one. Read by hand like the
/// crowd's figures: a derived deserializer (with every error code's visitor) costs the page
/// more than the two fields it reads.
fn error_body(text: &str) -> Option<(Option<String>, String)> {
    let v = js_sys::JSON::parse(text).ok()?;
    if !keys(&v)?.iter().all(|k| matches!(k.as_str(), "error" | "field" | "detail")) {
        return None;
    }
    let code = field(&v, "error").as_string()?;
    if !ErrorCode::ALL.iter().any(|c| c.as_str() == code) {
        return None;
    }
    let detail = field(&v, "detail").as_string()?;
    let at = field(&v, "field");
    let at = if at.is_undefined() || at.is_null() { None } else { Some(at.as_string()?) };
    Some((at, detail))
}

/// The answer to a stored report (`wire::Stored`: its id and nothing else), read by hand.
fn stored(text: &str) -> Option<Stored> {
    let v = js_sys::JSON::parse(text).ok()?;
    if keys(&v)? != ["report_id"] {
        return None;
    }
    Some(Stored { report_id: field(&v, "report_id").as_string()? })
}

/// Writes a Rust value as JSON text with the browser's `JSON` (maps as objects, `None` as
/// `null`, as `serde_json` would write them).
pub fn to_json<T: Serialize>(value: &T) -> Option<String> {
    let value = value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).ok()?;
    js_sys::JSON::stringify(&value).ok()?.as_string()
}

/// Loads the target list and validates it: a list that breaks the rules is refused, so a
/// compromised collector cannot make visitors fetch arbitrary URLs.
pub async fn fetch_targets() -> Result<TargetList, String> {
    let init = RequestInit::new();
    init.set_method("GET");
    let (response, body) = send(path::TARGETS, &init).await?;
    if !response.ok() {
        return Err(describe_failure(&response, &body));
    }
    let refused = |e: String| format!("the list was refused because it is invalid ({e})");
    let value = js_sys::JSON::parse(&body).map_err(|_| refused("not JSON".into()))?;
    let list = target_list(&value).map_err(|e| refused(e.to_string()))?;
    list.validate().map_err(|e| refused(e.to_string()))?;
    Ok(list)
}

fn bad(field: impl Into<String>, detail: impl Into<String>) -> TargetListError {
    TargetListError { field: field.into(), detail: detail.into() }
}

/// Checks that `v` is an object with no field but `fields`.
fn only(v: &JsValue, at: &str, fields: &[&str]) -> Result<(), TargetListError> {
    let keys = keys(v).ok_or_else(|| bad(at, "expected an object"))?;
    match keys.iter().find(|k| !fields.contains(&k.as_str())) {
        Some(k) => Err(bad(at, format!("unknown field `{k}`"))),
        None => Ok(()),
    }
}

/// Field `name` of the object at `at` (`""` for the document), which must be there.
fn required(v: &JsValue, at: &str, name: &str) -> Result<JsValue, TargetListError> {
    let value = field(v, name);
    if value.is_undefined() {
        return Err(bad(if at.is_empty() { "(document)" } else { at }, format!("missing field `{name}`")));
    }
    Ok(value)
}

fn text(v: &JsValue, at: &str, name: &str) -> Result<String, TargetListError> {
    let path = if at.is_empty() { name.to_string() } else { format!("{at}.{name}") };
    required(v, at, name)?.as_string().ok_or_else(|| bad(path, "expected a string"))
}

fn list(v: &JsValue, at: &str, name: &str) -> Result<(String, js_sys::Array), TargetListError> {
    let path = if at.is_empty() { name.to_string() } else { format!("{at}.{name}") };
    let value = required(v, at, name)?;
    if !js_sys::Array::is_array(&value) {
        return Err(bad(path, "expected a list"));
    }
    Ok((path, js_sys::Array::from(&value)))
}

/// A target list from the browser's parse of its JSON, read as `TargetList`'s derived
/// deserializer reads it (unknown fields refused, `control` false and `throughput` absent
/// unless given), naming the path of the first field that does not fit. By hand, like the
/// other answers: serde's visitors, path tracking and error texts (with Rust's float
/// formatting) cost the page about 9 KB gzip. `tests/web.rs` checks it against serde.
pub fn target_list(doc: &JsValue) -> Result<TargetList, TargetListError> {
    only(doc, "(document)", &["version", "targets"])?;
    let version = text(doc, "", "version")?;
    let (_, items) = list(doc, "", "targets")?;
    let mut targets = Vec::new();
    for (i, t) in items.iter().enumerate() {
        let at = format!("targets[{i}]");
        only(&t, &at, &["id", "name", "category", "control", "images", "fetch", "throughput"])?;
        let control = field(&t, "control");
        let control = if control.is_undefined() {
            false
        } else {
            control.as_bool().ok_or_else(|| bad(format!("{at}.control"), "expected true or false"))?
        };
        let (path, urls) = list(&t, &at, "images")?;
        let images = urls
            .iter()
            .enumerate()
            .map(|(j, u)| u.as_string().ok_or_else(|| bad(format!("{path}[{j}]"), "expected a string")))
            .collect::<Result<_, _>>()?;
        let asset = field(&t, "throughput");
        let throughput = if asset.is_undefined() || asset.is_null() {
            None
        } else {
            let at = format!("{at}.throughput");
            only(&asset, &at, &["url", "bytes"])?;
            // Absent (or null) when the size is not known: the collector may not have learned it.
            let bytes = field(&asset, "bytes");
            let bytes = if bytes.is_undefined() || bytes.is_null() {
                None
            } else {
                let n = bytes
                    .as_f64()
                    .filter(|n| n.fract() == 0.0 && (0.0..=9_007_199_254_740_991.0).contains(n))
                    .ok_or_else(|| bad(format!("{at}.bytes"), "expected a whole number"))?;
                Some(n as u64)
            };
            Some(Asset { url: text(&asset, &at, "url")?, bytes })
        };
        targets.push(Target {
            id: text(&t, &at, "id")?,
            name: text(&t, &at, "name")?,
            category: text(&t, &at, "category")?,
            control,
            images,
            fetch: text(&t, &at, "fetch")?,
            throughput,
        });
    }
    Ok(TargetList { version, targets })
}

/// The crowd's recent picture for the visitor's own country and network
/// (`GET /api/v1/nearby`): per target, sums over the window's cells above the threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Nearby {
    pub country: Option<String>,
    pub min_reports: u32,
    pub country_cells: Vec<NearbyCell>,
    pub network_cells: Vec<NearbyCell>,
}

/// One target's sums in [`Nearby`].
#[derive(Debug, Clone, PartialEq)]
pub struct NearbyCell {
    pub target: String,
    /// Reports with a verdict other than inconclusive, and those that found a disruption.
    pub decided: u32,
    pub disrupted: u32,
}

/// A field of a parsed JSON object (read by hand: a derived deserializer costs the page more
/// than the few fields it reads).
fn field(object: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(object, &name.into()).unwrap_or(JsValue::UNDEFINED)
}

fn count(object: &JsValue, name: &str) -> u32 {
    field(object, name).as_f64().filter(|n| n.is_finite() && *n >= 0.0).map_or(0, |n| n as u32)
}

fn cells(object: &JsValue, name: &str) -> Vec<NearbyCell> {
    let list = field(object, name);
    if !js_sys::Array::is_array(&list) {
        return Vec::new();
    }
    js_sys::Array::from(&list)
        .iter()
        .filter_map(|c| {
            Some(NearbyCell {
                target: field(&c, "target").as_string()?,
                decided: count(&c, "decided"),
                disrupted: count(&c, "disrupted"),
            })
        })
        .collect()
}

/// Reads the crowd's recent picture for the visitor's own place (aggregates only).
pub async fn nearby() -> Result<Nearby, String> {
    let init = RequestInit::new();
    init.set_method("GET");
    let (response, body) = send(&format!("{}?hours=2", path::NEARBY), &init).await?;
    if !response.ok() {
        return Err(describe_failure(&response, &body));
    }
    let v = js_sys::JSON::parse(&body).map_err(|_| "not JSON".to_string())?;
    Ok(Nearby {
        country: field(&v, "country").as_string(),
        min_reports: count(&v, "min_reports"),
        country_cells: cells(&v, "country_cells"),
        network_cells: cells(&v, "network_cells"),
    })
}

/// A report as the collector takes it (and as the visitor downloads it).
pub fn report_json(report: &Report) -> String {
    to_json(report).unwrap_or_default()
}

/// Why a submission did not store the report.
#[derive(Debug, Clone, PartialEq)]
pub enum SubmitError {
    /// No answer, or the collector is overloaded or down for now: worth trying again later.
    Unreachable(String),
    /// The collector already holds a report with this id: it was stored, once.
    Duplicate,
    /// The collector refused the report; sending it again would change nothing.
    Rejected(String),
}

/// Submits a report; the collector answers once it is stored durably.
pub async fn submit(report: &Report) -> Result<Stored, SubmitError> {
    let init = RequestInit::new();
    init.set_method("POST");
    let headers = web_sys::Headers::new().map_err(|e| SubmitError::Rejected(js_error(e)))?;
    let _ = headers.set("content-type", "application/json");
    init.set_headers(&headers);
    init.set_body(&report_json(report).into());
    let (response, text) = send(path::REPORTS, &init).await.map_err(SubmitError::Unreachable)?;
    match response.status() {
        201 => stored(&text).ok_or_else(|| {
            SubmitError::Unreachable("unexpected answer from the collector (not a stored report's id)".into())
        }),
        409 => Err(SubmitError::Duplicate),
        429 | 500..=599 => Err(SubmitError::Unreachable(describe_failure(&response, &text))),
        _ => Err(SubmitError::Rejected(describe_failure(&response, &text))),
    }
}

/// Queues the report with `navigator.sendBeacon`, which the browser delivers even after the
/// page is gone; no answer comes back. Returns whether the browser took it.
pub fn beacon(report: &Report) -> bool {
    let Some(navigator) = web_sys::window().map(|w| w.navigator()) else { return false };
    let parts = js_sys::Array::of1(&report_json(report).into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/json");
    web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)
        .ok()
        .and_then(|blob| navigator.send_beacon_with_opt_blob(path::REPORTS, Some(&blob)).ok())
        .unwrap_or(false)
}
