//! The data policy is one text: `docs/privacy.md`, served to visitors as `static/privacy.html`
//! (the page the consent text links to). This test renders the Markdown with the small
//! converter below — enough for the headings, paragraphs, lists, tables and inline code,
//! emphasis and strong text the policy uses — and fails when the served page differs.
//!
//! After editing `docs/privacy.md`, regenerate the page with
//! `VANTAGE_BLESS=1 cargo test --test privacy_page`.
#![cfg(not(target_arch = "wasm32"))]

use std::path::Path;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// `code`, **strong** and *emphasis*; code spans are taken literally.
fn inline(text: &str) -> String {
    let mut out = String::new();
    for (i, piece) in text.split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str(&format!("<code>{}</code>", escape(piece)));
            continue;
        }
        let mut s = escape(piece);
        for (marker, tag) in [("**", "strong"), ("*", "em")] {
            let parts: Vec<&str> = s.split(marker).collect();
            if parts.len() >= 3 {
                let mut joined = String::new();
                for (j, p) in parts.iter().enumerate() {
                    if j > 0 {
                        let closing = j % 2 == 0;
                        // An unpaired last marker stays as written.
                        if !closing && j == parts.len() - 1 {
                            joined.push_str(marker);
                        } else {
                            joined.push_str(&format!("<{}{tag}>", if closing { "/" } else { "" }));
                        }
                    }
                    joined.push_str(p);
                }
                s = joined;
            }
        }
        out.push_str(&s);
    }
    out
}

fn cells(row: &str) -> Vec<String> {
    row.trim().trim_matches('|').split('|').map(|c| inline(c.trim())).collect()
}

/// Markdown to HTML, for the subset `docs/privacy.md` uses.
fn render(md: &str) -> String {
    let lines: Vec<&str> = md.lines().collect();
    let mut html = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.trim().is_empty() {
            i += 1;
        } else if let Some(level) = line.starts_with('#').then(|| line.chars().take_while(|c| *c == '#').count()) {
            html.push(format!("<h{level}>{}</h{level}>", inline(line[level..].trim())));
            i += 1;
        } else if line.starts_with('|') {
            let mut rows = Vec::new();
            while i < lines.len() && lines[i].starts_with('|') {
                rows.push(lines[i]);
                i += 1;
            }
            let head: String = cells(rows[0]).iter().map(|c| format!("<th scope=\"col\">{c}</th>")).collect();
            let body: String = rows
                .iter()
                .skip(2)
                .map(|r| format!("<tr>{}</tr>", cells(r).iter().map(|c| format!("<td>{c}</td>")).collect::<String>()))
                .collect::<Vec<_>>()
                .join("\n");
            html.push(format!("<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"));
        } else if line.starts_with("- ") {
            let mut items: Vec<String> = Vec::new();
            while i < lines.len() && (lines[i].starts_with("- ") || lines[i].starts_with("  ")) {
                match lines[i].strip_prefix("- ") {
                    Some(rest) => items.push(rest.to_string()),
                    None => {
                        let last = items.last_mut().expect("a continuation follows an item");
                        last.push(' ');
                        last.push_str(lines[i].trim());
                    }
                }
                i += 1;
            }
            let items: Vec<String> = items.iter().map(|it| format!("<li>{}</li>", inline(it))).collect();
            html.push(format!("<ul>\n{}\n</ul>", items.join("\n")));
        } else {
            let mut para = Vec::new();
            while i < lines.len()
                && !lines[i].trim().is_empty()
                && !lines[i].starts_with(['#', '|'])
                && !lines[i].starts_with("- ")
            {
                para.push(lines[i].trim());
                i += 1;
            }
            html.push(format!("<p>{}</p>", inline(&para.join(" "))));
        }
    }
    html.join("\n")
}

fn page(md: &str) -> String {
    format!(
        r#"<!doctype html>
<!-- Generated from docs/privacy.md by tests/privacy_page.rs; edit the Markdown, not this file. -->
<html lang="en" dir="ltr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Vantage — data policy</title>
<link rel="stylesheet" href="/static/style.css">
</head>
<body>
<main class="vantage doc">
<p><a href="/">Back to the test</a></p>
{}
</main>
</body>
</html>
"#,
        render(md)
    )
}

#[test]
fn the_served_privacy_page_is_docs_privacy_md() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let md = std::fs::read_to_string(root.join("docs/privacy.md")).expect("docs/privacy.md");
    let want = page(&md);
    let served = root.join("static/privacy.html");
    if std::env::var_os("VANTAGE_BLESS").is_some() {
        std::fs::write(&served, &want).expect("write static/privacy.html");
    }
    let got = std::fs::read_to_string(&served).unwrap_or_default();
    assert!(
        got == want,
        "static/privacy.html is not docs/privacy.md as rendered: run `VANTAGE_BLESS=1 cargo test --test privacy_page`"
    );
}

#[test]
fn the_converter_renders_what_the_policy_uses() {
    assert_eq!(inline("a `x<y>` *b* **c**"), "a <code>x&lt;y&gt;</code> <em>b</em> <strong>c</strong>");
    let html = render("# T\n\nSome\ntext.\n\n- one\n  more\n- two\n\n| a | b |\n|---|---|\n| `c` | d |\n");
    assert_eq!(
        html,
        "<h1>T</h1>\n<p>Some text.</p>\n<ul>\n<li>one more</li>\n<li>two</li>\n</ul>\n<table>\n<thead><tr><th scope=\"col\">a</th><th scope=\"col\">b</th></tr></thead>\n<tbody>\n<tr><td><code>c</code></td><td>d</td></tr>\n</tbody>\n</table>"
    );
}
