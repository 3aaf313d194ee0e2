//! The Vantage web client: a single page compiled to WebAssembly and drawn as plain DOM that
//! measures, from the visitor's own connection and only after they click, whether social-media
//! platforms are reachable, and submits anonymised results only if they choose to.
//!
//! `app` holds the page, `probe` the browser measurements, `run` a whole run, `api` the
//! collector's endpoints and `i18n` every word shown. Verdict rules and the report schema
//! live in the shared `vantage-report` crate.

pub mod api;
pub mod app;
pub mod i18n;
pub mod probe;
pub mod run;
