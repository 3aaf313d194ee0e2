//! What the self-test browser tests share: axe-core injected into the page, keyboard moves,
//! element geometry, and screenshots for `docs/screenshots/`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use vantage_lab::browser::Browser;

pub const TAB: &str = "\u{e004}";
pub const ENTER: &str = "\u{e007}";
pub const SPACE: &str = " ";

/// axe-core's script, as `cargo xtask setup` installs it.
fn axe_source() -> String {
    let path = std::env::var_os("VANTAGE_AXE").map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/axe/node_modules/axe-core/axe.min.js")
    });
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("axe-core is missing at {} ({e}): run `cargo xtask setup`", path.display()))
}

/// Runs every axe-core rule on the page as it stands and returns the violations, one line
/// each (rule, impact, help, the first offending elements).
pub async fn axe_violations(b: &Browser) -> Vec<String> {
    let loaded = b.client.execute("return typeof axe !== 'undefined'", vec![]).await.expect("probe for axe");
    if loaded != Value::Bool(true) {
        b.client.execute(&axe_source(), vec![]).await.expect("inject axe-core");
    }
    let script = r#"
        const done = arguments[arguments.length - 1];
        axe.run(document, { resultTypes: ['violations'] })
           .then(r => done(r.violations.map(v =>
               `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 4).map(n => n.target.join(' ')).join(' | ')}`)))
           .catch(e => done(['axe failed: ' + e]));
    "#;
    let v = b.client.execute_async(script, vec![]).await.expect("axe.run");
    v.as_array().expect("a list").iter().map(|l| l.as_str().unwrap_or_default().to_string()).collect()
}

/// Asserts that axe-core finds nothing wrong, naming the state checked.
pub async fn assert_accessible(b: &Browser, state: &str) {
    let violations = axe_violations(b).await;
    assert!(violations.is_empty(), "axe-core violations in the {state} state:\n{}", violations.join("\n"));
}

/// Whether the focused element matches `selector`.
pub async fn focused(b: &Browser, selector: &str) -> bool {
    let v = b
        .client
        .execute(
            "return !!document.activeElement && document.activeElement.matches(arguments[0])",
            vec![selector.into()],
        )
        .await
        .expect("read the focus");
    v == Value::Bool(true)
}

/// Presses `key` on whatever has the focus, as a keyboard would.
pub async fn press(b: &Browser, key: &str) {
    b.client.active_element().await.expect("a focused element").send_keys(key).await.expect("press a key");
}

/// Presses Tab until `selector` has the focus; panics after `max` presses.
pub async fn tab_to(b: &Browser, selector: &str, max: usize) {
    for _ in 0..max {
        if focused(b, selector).await {
            return;
        }
        press(b, TAB).await;
    }
    let at = b
        .client
        .execute("return document.activeElement && document.activeElement.outerHTML.slice(0, 200)", vec![])
        .await
        .unwrap_or_default();
    panic!("{max} presses of Tab never reached {selector}; the focus is on {at}");
}

/// Whether the focused element shows a focus outline.
pub async fn focus_is_visible(b: &Browser) -> bool {
    let v = b
        .client
        .execute(
            "const s = getComputedStyle(document.activeElement); return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2",
            vec![],
        )
        .await
        .expect("read the focus style");
    v == Value::Bool(true)
}

/// The left edge (CSS px) of the element matching `selector`.
pub async fn left(b: &Browser, selector: &str) -> f64 {
    let v = b
        .client
        .execute("return document.querySelector(arguments[0]).getBoundingClientRect().left", vec![selector.into()])
        .await
        .expect("read a position");
    v.as_f64().unwrap_or_else(|| panic!("no element {selector}"))
}

/// Waits until `selector` matches an element.
pub async fn wait_for(b: &Browser, selector: &str, within: Duration) {
    let t0 = std::time::Instant::now();
    loop {
        let found = b
            .client
            .execute("return !!document.querySelector(arguments[0])", vec![selector.into()])
            .await
            .expect("query the page");
        if found == Value::Bool(true) {
            return;
        }
        if t0.elapsed() > within {
            let text = b.client.execute("return document.body.innerText", vec![]).await.unwrap_or_default();
            panic!("nothing matched {selector} within {within:?}; the page says: {text}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Desktop and phone sizes the screenshots are taken at.
pub const DESKTOP: (u32, u32) = (1280, 1100);
pub const PHONE: (u32, u32) = (360, 1500);

/// Saves a screenshot as `docs/screenshots/NAME.png` when `VANTAGE_SCREENSHOTS=docs` is set
/// (or into the directory it names); the window is resized to `size` first and back after,
/// and scrolled so that `from` (a selector) is at the top.
pub async fn screenshot(b: &Browser, name: &str, size: (u32, u32), from: Option<&str>) {
    let Some(dir) = std::env::var_os("VANTAGE_SCREENSHOTS") else { return };
    let dir = if dir == "docs" { Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots") } else { dir.into() };
    b.client.set_window_size(size.0, size.1).await.expect("resize the window");
    let scroll = "const e = arguments[0] && document.querySelector(arguments[0]); \
                  if (e) { e.scrollIntoView({ block: 'start' }); } else { window.scrollTo(0, 0); }";
    b.client.execute(scroll, vec![from.into()]).await.expect("scroll");
    tokio::time::sleep(Duration::from_millis(150)).await;
    let png = b.client.screenshot().await.expect("a screenshot");
    std::fs::create_dir_all(&dir).expect("screenshot directory");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write a screenshot");
    b.client.set_window_size(DESKTOP.0, DESKTOP.1).await.expect("resize the window back");
}
