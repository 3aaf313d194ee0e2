//! Vantage end to end, in real headless Chromium (and Firefox for the censor lab's scenario
//! table): one test binary whose modules are the behaviours. `cargo test --test e2e -- --list`
//! names every test; `cargo test --test e2e firefox::blackhole` runs one scenario in one browser.
//!
//! Run with `cargo xtask test` (it builds the client with Trunk and installs the browsers first).
#![cfg(not(target_arch = "wasm32"))]

/// One `#[tokio::test]` per name and browser, in modules `chromium` and `firefox`, each calling
/// the enclosing module's `run(browser, name)`.
macro_rules! per_browser {
    ($($name:ident),* $(,)?) => {
        mod chromium {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::run(super::BrowserKind::Chromium, stringify!($name)).await;
                }
            )*
        }

        mod firefox {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::run(super::BrowserKind::Firefox, stringify!($name)).await;
                }
            )*
        }
    };
}

mod country_targets;
mod dashboard;
mod refuses_bad_list;
mod run_and_submit;
mod scenarios;
mod self_test_cancel;
mod self_test_crowd;
mod self_test_i18n;
mod self_test_keyboard;
mod self_test_resilience;
mod self_test_share;
mod self_test_support;
mod shipped_list;
mod widget;
mod world;
