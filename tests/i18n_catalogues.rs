//! Every language says everything: each catalogue in `static/i18n/` (the self-test page's) and
//! `static/i18n/widget/` (the newsroom widget's) has exactly the English catalogue's keys, each
//! message keeps the English placeholders, plural messages give the forms their language
//! needs, and every key the page and the widget ask for exists.
//!
//! Run with `cargo test --test i18n_catalogues` (native, no browser).
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Map, Value};
use vantage_report::Verdict;

/// Each language and the CLDR plural categories it uses for whole numbers.
const LANGUAGES: [(&str, &[&str]); 6] = [
    ("en", &["one", "other"]),
    ("ur", &["one", "other"]),
    ("fa", &["one", "other"]),
    ("ru", &["one", "few", "many", "other"]),
    ("tr", &["one", "other"]),
    ("es", &["one", "many", "other"]),
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn catalogue(lang: &str) -> Map<String, Value> {
    let path = root().join(format!("static/i18n/{lang}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match serde_json::from_str(&text) {
        Ok(Value::Object(m)) => m,
        other => panic!("{} is not a JSON object: {other:?}", path.display()),
    }
}

/// The `{name}` placeholders of a template.
fn placeholders(template: &str) -> BTreeSet<String> {
    template.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_string())).collect()
}

/// Every template of a message (one, or one per plural form) with its form name.
fn templates(key: &str, v: &Value) -> Vec<(String, String)> {
    match v {
        Value::String(s) => vec![(String::new(), s.clone())],
        Value::Object(forms) => forms
            .iter()
            .map(|(form, t)| (form.clone(), t.as_str().unwrap_or_else(|| panic!("{key}.{form} is not text")).into()))
            .collect(),
        other => panic!("{key} is neither text nor plural forms: {other}"),
    }
}

#[test]
fn every_language_has_every_key_with_the_same_placeholders() {
    let mut problems = Vec::new();
    for set in ["", "widget/"] {
        problems.extend(set_problems(set));
    }
    assert!(problems.is_empty(), "catalogue problems:\n{}", problems.join("\n"));
}

/// What is wrong with the catalogues under `static/i18n/{set}`.
fn set_problems(set: &str) -> Vec<String> {
    let english = catalogue(&format!("{set}en"));
    let mut problems = Vec::new();
    for (lang, categories) in LANGUAGES {
        let lang = &format!("{set}{lang}");
        let c = catalogue(lang);
        for key in english.keys().filter(|k| !c.contains_key(*k)) {
            problems.push(format!("{lang}: missing {key}"));
        }
        for key in c.keys().filter(|k| !english.contains_key(*k)) {
            problems.push(format!("{lang}: {key} is not an English key"));
        }
        for (key, v) in &c {
            let Some(en) = english.get(key) else { continue };
            let wanted: BTreeSet<String> = templates(key, en).iter().flat_map(|(_, t)| placeholders(t)).collect();
            if let Value::Object(forms) = v {
                for category in categories.iter().filter(|c| !forms.contains_key(**c)) {
                    problems.push(format!("{lang}: {key} lacks the plural form {category}"));
                }
            }
            for (form, t) in templates(key, v) {
                if t.trim().is_empty() {
                    problems.push(format!("{lang}: {key} {form} is empty"));
                }
                let got = placeholders(&t);
                // A plural form may leave out the number it is chosen by ("one" in some
                // languages), never add one.
                let allowed_missing = !form.is_empty() && form != "other";
                if !got.is_subset(&wanted) || (!allowed_missing && got != wanted) {
                    problems.push(format!("{lang}: {key} {form} has {got:?}, English has {wanted:?}"));
                }
            }
        }
    }
    problems
}

fn sources() -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![root().join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("src is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                out.push(std::fs::read_to_string(&path).expect("a readable source file"));
            }
        }
    }
    out
}

fn looks_like_key(s: &str) -> bool {
    s.contains('.') && s.chars().all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')
}

/// Keys the page surely asks for: the first argument of every `text(`, `fmt(`, `plural(` and `tr(`
/// call in `src/` that is a literal, and the per-verdict keys.
fn keys_called() -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for text in sources() {
        for call in ["text(", "fmt(", "plural(", "tr("] {
            for piece in text.split(call).skip(1) {
                let Some(piece) = piece.trim_start().strip_prefix('"') else { continue };
                if let Some((key, _)) = piece.split_once('"') {
                    if looks_like_key(key) {
                        keys.insert(key.to_string());
                    }
                }
            }
        }
    }
    for v in Verdict::ALL {
        for prefix in ["verdict", "meaning", "next"] {
            keys.insert(format!("{prefix}.{}", v.as_str()));
        }
    }
    keys
}

/// Every string literal in `src/` shaped like a key (keys can be chosen in tables and
/// conditions before they reach a call).
fn key_literals() -> BTreeSet<String> {
    let mut keys = keys_called();
    for text in sources() {
        for (i, piece) in text.split('"').enumerate() {
            if i % 2 == 1 && looks_like_key(piece) {
                keys.insert(piece.to_string());
            }
        }
    }
    keys
}

#[test]
fn every_key_the_page_asks_for_is_in_the_english_catalogue() {
    let english = catalogue("en");
    let called = keys_called();
    assert!(called.len() > 50, "the source scan found too few keys: {called:?}");
    let missing: Vec<&String> = called.iter().filter(|k| !english.contains_key(*k)).collect();
    assert!(missing.is_empty(), "keys used in src/ but missing from static/i18n/en.json: {missing:?}");
    let literals = key_literals();
    let unused: Vec<&String> = english.keys().filter(|k| !literals.contains(*k)).collect();
    assert!(unused.is_empty(), "keys in static/i18n/en.json that the page never uses: {unused:?}");
}

/// The widget's page and script against its catalogue: every `data-i18n` key and every `t("...")`
/// key exists, every key is used, and the English written into the page (shown before the
/// catalogue arrives) is the catalogue's.
#[test]
fn the_widget_asks_only_for_keys_its_catalogue_has_and_its_page_says_them_in_english() {
    let english = catalogue("widget/en");
    let html = std::fs::read_to_string(root().join("static/widget.html")).expect("static/widget.html");
    let script = std::fs::read_to_string(root().join("static/widget.js")).expect("static/widget.js");
    let mut used = BTreeSet::new();
    for piece in html.split("data-i18n=\"").skip(1) {
        let (key, rest) = piece.split_once('"').expect("a closed attribute");
        let text = rest.split_once('>').and_then(|(_, r)| r.split_once('<')).map(|(t, _)| t).unwrap_or("");
        assert_eq!(english.get(key).and_then(Value::as_str), Some(text), "{key}: the page's English differs");
        used.insert(key.to_string());
    }
    // Calls of the script's own `t(key)`, not of `get(`, `import(`, ... that end in `t(`.
    for (at, _) in script.match_indices("t(\"") {
        if script[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '.' || c == '_') {
            continue;
        }
        let rest = &script[at + 3..];
        used.insert(rest.split_once('"').expect("a closed string").0.to_string());
    }
    for piece in script.split('"').skip(1).step_by(2) {
        if english.contains_key(piece) {
            used.insert(piece.to_string());
        }
    }
    let missing: Vec<&String> = used.iter().filter(|k| !english.contains_key(*k)).collect();
    assert!(missing.is_empty(), "keys the widget uses but widget/en.json lacks: {missing:?}");
    let unused: Vec<&String> = english.keys().filter(|k| !used.contains(*k)).collect();
    assert!(unused.is_empty(), "widget/en.json keys the widget never uses: {unused:?}");
    assert!(used.len() >= 10, "the scan found too few keys: {used:?}");
}
