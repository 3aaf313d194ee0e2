//! Message catalogues: every word the visitor reads comes from one.
//!
//! A catalogue is a flat JSON object of message keys (`static/i18n/<lang>.json`). English is
//! compiled in; every other language is fetched only when it is chosen, so each language costs
//! only its own readers. A message is a template with `{name}` placeholders, or an object of
//! CLDR plural forms (`one`, `few`, `many`, `other`) chosen with `Intl.PluralRules`. Numbers,
//! durations, rates and dates are written by the browser's `Intl` in the reader's locale
//! (see [`format`]), which costs no wasm. `tests/i18n_catalogues.rs` fails when any language
//! lacks a key or a placeholder of the English catalogue.
//!
//! [`words`] puts verdicts, evidence, timings and the summary into words.

pub mod format;
pub mod words;

use std::sync::{Arc, OnceLock};

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// A language the page is translated into.
#[derive(Debug, PartialEq, Eq)]
pub struct Language {
    /// BCP 47 primary tag, also the catalogue's file name.
    pub code: &'static str,
    /// The language's name in itself, as the switcher shows it.
    pub name: &'static str,
    pub rtl: bool,
}

/// Every language with a catalogue; English first, the one compiled in.
pub const LANGUAGES: [Language; 6] = [
    Language { code: "en", name: "English", rtl: false },
    Language { code: "ur", name: "اردو", rtl: true },
    Language { code: "fa", name: "فارسی", rtl: true },
    Language { code: "ru", name: "Русский", rtl: false },
    Language { code: "tr", name: "Türkçe", rtl: false },
    Language { code: "es", name: "Español", rtl: false },
];

/// The language for a tag such as `ur-PK`, by its primary subtag.
pub fn language(tag: &str) -> Option<&'static Language> {
    let primary = tag.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
    LANGUAGES.iter().find(|l| l.code == primary)
}

#[derive(Debug, Clone)]
enum Message {
    Text(String),
    /// `(plural category, template)`.
    Plural(Vec<(String, String)>),
}

/// All user-facing text in one language, with English behind it for any key it lacks.
#[derive(Debug)]
pub struct Catalogue {
    pub language: &'static Language,
    /// In file order. A linear search over a hundred keys is quick, and a hash map would add
    /// about ten kilobytes of hashing code to the wasm.
    messages: Vec<(String, Message)>,
    fallback: Option<Arc<Catalogue>>,
}

const ENGLISH_JSON: &str = include_str!("../../static/i18n/en.json");

fn parse_messages(json: &str) -> Result<Vec<(String, Message)>, String> {
    let value = js_sys::JSON::parse(json).map_err(|_| "the catalogue is not valid JSON".to_string())?;
    let object: js_sys::Object = value.dyn_into().map_err(|_| "the catalogue is not a JSON object".to_string())?;
    let pairs = |o: &js_sys::Object| -> Vec<(String, JsValue)> {
        js_sys::Object::entries(o)
            .iter()
            .filter_map(|e| {
                let e: js_sys::Array = e.dyn_into().ok()?;
                Some((e.get(0).as_string()?, e.get(1)))
            })
            .collect()
    };
    let mut messages = Vec::new();
    for (key, v) in pairs(&object) {
        let message = match v.as_string() {
            Some(s) => Message::Text(s),
            None => match v.dyn_ref::<js_sys::Object>() {
                Some(forms) => {
                    Message::Plural(pairs(forms).into_iter().filter_map(|(k, v)| Some((k, v.as_string()?))).collect())
                }
                None => continue,
            },
        };
        messages.push((key, message));
    }
    Ok(messages)
}

/// Replaces each `{name}` in `template` with its value.
pub fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

impl Catalogue {
    /// The compiled-in English catalogue.
    pub fn english() -> Arc<Catalogue> {
        static ENGLISH: OnceLock<Arc<Catalogue>> = OnceLock::new();
        ENGLISH
            .get_or_init(|| {
                let messages = parse_messages(ENGLISH_JSON).unwrap_or_default();
                Arc::new(Catalogue { language: &LANGUAGES[0], messages, fallback: None })
            })
            .clone()
    }

    /// A catalogue from its JSON text, falling back to English for missing keys.
    pub fn parse(language: &'static Language, json: &str) -> Result<Catalogue, String> {
        Ok(Catalogue { language, messages: parse_messages(json)?, fallback: Some(Catalogue::english()) })
    }

    pub fn lang(&self) -> &'static str {
        self.language.code
    }

    pub fn dir(&self) -> &'static str {
        if self.language.rtl {
            "rtl"
        } else {
            "ltr"
        }
    }

    fn message(&self, key: &str) -> Option<&Message> {
        self.messages.iter().find(|(k, _)| k == key).map(|(_, m)| m).or_else(|| self.fallback.as_ref()?.message(key))
    }

    /// The message `key` as it stands.
    pub fn text(&self, key: &str) -> String {
        self.fmt(key, &[])
    }

    /// The message `key` with its placeholders filled.
    pub fn fmt(&self, key: &str, args: &[(&str, &str)]) -> String {
        match self.message(key) {
            Some(Message::Text(t)) => fill(t, args),
            Some(Message::Plural(_)) => self.plural(key, 1.0, args),
            None => key.to_string(),
        }
    }

    /// The plural form of `key` that fits `n` in this language, filled.
    pub fn plural(&self, key: &str, n: f64, args: &[(&str, &str)]) -> String {
        match self.message(key) {
            Some(Message::Plural(forms)) => {
                let category = format::plural_category(self.lang(), n);
                let pick = |c: &str| forms.iter().find(|(k, _)| k == c).map(|(_, t)| t);
                pick(&category).or_else(|| pick("other")).map_or_else(|| key.to_string(), |t| fill(t, args))
            }
            _ => self.fmt(key, args),
        }
    }

    /// A whole number in this locale's digits and grouping.
    pub fn num(&self, n: f64) -> String {
        format::number(self.lang(), n)
    }

    /// A duration in milliseconds, rounded up (`12 ms`).
    pub fn ms(&self, ms: f64) -> String {
        format::unit(self.lang(), "millisecond", ms.ceil(), 0)
    }

    /// A duration in seconds (`5 s`).
    pub fn seconds(&self, s: f64) -> String {
        format::unit(self.lang(), "second", s.round(), 0)
    }

    /// A rate, in kbit/s or Mbit/s as fits.
    pub fn rate(&self, kbps: f64) -> String {
        if kbps >= 1000.0 {
            format::unit(self.lang(), "megabit-per-second", kbps / 1000.0, 1)
        } else {
            format::unit(self.lang(), "kilobit-per-second", kbps.round(), 0)
        }
    }

    /// An ISO 8601 time as this locale writes a date and time, to the minute.
    pub fn datetime(&self, iso: &str) -> String {
        format::datetime(self.lang(), iso)
    }
}

/// The language asked for in the address (`?lang=ur`), else the first of the browser's
/// languages that has a catalogue, else English.
pub fn preferred() -> &'static Language {
    let Some(window) = web_sys::window() else { return &LANGUAGES[0] };
    let asked =
        window.location().search().ok().and_then(|q| {
            q.trim_start_matches('?').split('&').find_map(|p| p.strip_prefix("lang=").map(str::to_string))
        });
    if let Some(l) = asked.as_deref().and_then(language) {
        return l;
    }
    window
        .navigator()
        .languages()
        .iter()
        .filter_map(|l| l.as_string())
        .find_map(|l| language(&l))
        .unwrap_or(&LANGUAGES[0])
}

/// The catalogue of `language`: English at once, others fetched from `static/i18n/`.
pub async fn load(language: &'static Language) -> Result<Arc<Catalogue>, String> {
    if language.code == "en" {
        return Ok(Catalogue::english());
    }
    let window = web_sys::window().ok_or("no window")?;
    let url = format!("/static/i18n/{}.json", language.code);
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str(&url))
        .await
        .map_err(|_| format!("{url} could not be fetched"))?
        .dyn_into()
        .map_err(|_| "unexpected answer from fetch".to_string())?;
    if !response.ok() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    let text = JsFuture::from(response.text().map_err(|_| "unreadable body")?)
        .await
        .map_err(|_| "unreadable body")?
        .as_string()
        .unwrap_or_default();
    Catalogue::parse(language, &text).map(Arc::new)
}
