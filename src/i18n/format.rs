//! Numbers, units, plural categories and dates in the reader's locale, written by the
//! browser's own `Intl` (no formatting code or locale data in the wasm).

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Intl, js_name = NumberFormat)]
    type NumberFormat;
    #[wasm_bindgen(constructor, js_namespace = Intl, js_class = "NumberFormat", catch)]
    fn new(locale: &str, options: &JsValue) -> Result<NumberFormat, JsValue>;
    #[wasm_bindgen(method)]
    fn format(this: &NumberFormat, n: f64) -> String;

    #[wasm_bindgen(js_namespace = Intl, js_name = PluralRules)]
    type PluralRules;
    #[wasm_bindgen(constructor, js_namespace = Intl, js_class = "PluralRules", catch)]
    fn new(locale: &str) -> Result<PluralRules, JsValue>;
    #[wasm_bindgen(method)]
    fn select(this: &PluralRules, n: f64) -> String;

    #[wasm_bindgen(js_namespace = Intl, js_name = DisplayNames)]
    type DisplayNames;
    #[wasm_bindgen(constructor, js_namespace = Intl, js_class = "DisplayNames", catch)]
    fn new(locale: &str, options: &JsValue) -> Result<DisplayNames, JsValue>;
    #[wasm_bindgen(method, js_name = of, catch)]
    fn of(this: &DisplayNames, code: &str) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(js_namespace = Intl, js_name = DateTimeFormat)]
    type DateTimeFormat;
    #[wasm_bindgen(constructor, js_namespace = Intl, js_class = "DateTimeFormat", catch)]
    fn new(locale: &str, options: &JsValue) -> Result<DateTimeFormat, JsValue>;
    #[wasm_bindgen(method, js_name = format)]
    fn format_date(this: &DateTimeFormat, date: &js_sys::Date) -> String;
}

thread_local! {
    /// Formatters are costly to build and cheap to reuse: one per locale and style (a handful,
    /// so a list, not a hash map and its code).
    static NUMBERS: RefCell<Vec<(String, NumberFormat)>> = const { RefCell::new(Vec::new()) };
}

fn options(json: &str) -> JsValue {
    js_sys::JSON::parse(json).unwrap_or(JsValue::UNDEFINED)
}

fn with_number_format(lang: &str, style: &str, f: impl FnOnce(&NumberFormat) -> String) -> Option<String> {
    NUMBERS.with(|cache| {
        let key = format!("{lang} {style}");
        let mut cache = cache.borrow_mut();
        let i = match cache.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                cache.push((key, NumberFormat::new(lang, &options(style)).ok()?));
                cache.len() - 1
            }
        };
        Some(f(&cache[i].1))
    })
}

/// `n` as JavaScript writes it: Rust's own float formatting is not compiled into the page.
fn plain(n: f64) -> String {
    js_sys::Number::from(n).to_string_with_radix(10).map(String::from).unwrap_or_default()
}

/// `n` with `digits` decimals, in ASCII digits (for SVG coordinates, not for reading).
pub fn fixed(n: f64, digits: u8) -> String {
    js_sys::Number::from(n).to_fixed(digits).map(String::from).unwrap_or_default()
}

/// `n` with this locale's digits and grouping, at most one decimal.
pub fn number(lang: &str, n: f64) -> String {
    with_number_format(lang, r#"{"maximumFractionDigits":1}"#, |f| f.format(n)).unwrap_or_else(|| plain(n))
}

/// `n` of `unit` (an `Intl` unit such as `millisecond`), short form, with `decimals`.
pub fn unit(lang: &str, unit: &str, n: f64, decimals: u8) -> String {
    let style = format!(
        r#"{{"style":"unit","unit":"{unit}","unitDisplay":"short","maximumFractionDigits":{decimals},"minimumFractionDigits":{decimals}}}"#
    );
    with_number_format(lang, &style, |f| f.format(n)).unwrap_or_else(|| format!("{} {unit}", plain(n)))
}

/// The CLDR plural category of `n` in `lang` (`one`, `few`, `many`, `other`, ...).
pub fn plural_category(lang: &str, n: f64) -> String {
    PluralRules::new(lang).map(|p| p.select(n)).unwrap_or_else(|_| "other".into())
}

/// An ISO 8601 time as `lang` writes a date and a time to the minute, in the reader's zone.
pub fn datetime(lang: &str, iso: &str) -> String {
    let date = js_sys::Date::new(&JsValue::from_str(iso));
    DateTimeFormat::new(lang, &options(r#"{"dateStyle":"medium","timeStyle":"short"}"#))
        .map(|f| f.format_date(&date))
        .unwrap_or_else(|_| iso.to_string())
}

/// A country's name in `lang` from its ISO 3166-1 code (the code itself where the browser has no name).
pub fn region(lang: &str, code: &str) -> String {
    DisplayNames::new(lang, &options(r#"{"type":"region"}"#))
        .ok()
        .and_then(|d| d.of(code).ok())
        .and_then(|v| v.as_string())
        .unwrap_or_else(|| code.to_string())
}
