//! Import of Citizen Lab test lists (`url,category_code,category_description,date_added,
//! source,notes`), the format OONI's global and per-country lists use, into Vantage targets.
//!
//! Each row becomes a target probed on its own site: the image is the origin's
//! `/favicon.ico`, the fetch is the listed URL. Categories are kept; plain-HTTP URLs are
//! upgraded to HTTPS (Vantage probes HTTPS only); internationalised host names become their
//! ASCII (punycode) form in URLs and stay readable in the display name. Rows that cannot be
//! probed are skipped, each with a reason and its line number.

use std::collections::HashSet;

use vantage_report::{Target, TargetList};

/// The header of a Citizen Lab test list, exactly.
pub const HEADER: [&str; 6] = ["url", "category_code", "category_description", "date_added", "source", "notes"];

/// What an import produced.
#[derive(Debug)]
pub struct Import {
    pub list: TargetList,
    /// `line N: what happened`, for rows skipped or changed.
    pub notes: Vec<String>,
}

fn id_from_host(host: &str) -> String {
    let host = host.strip_prefix("www.").unwrap_or(host);
    let id: String =
        host.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    id.chars().take(56).collect()
}

/// Converts a test list; `version` becomes the list's version.
pub fn import(csv_text: &str, version: &str) -> Result<Import, String> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(csv_text.as_bytes());
    let header = reader.headers().map_err(|e| format!("line 1: {e}"))?.clone();
    if header.iter().collect::<Vec<_>>() != HEADER {
        return Err(format!("line 1: the header must be exactly `{}`", HEADER.join(",")));
    }
    let mut targets: Vec<Target> = Vec::new();
    let mut ids = HashSet::new();
    let mut notes = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("{e}"))?;
        let line = record.position().map_or(0, |p| p.line());
        let (raw_url, category) = (record.get(0).unwrap_or("").trim(), record.get(1).unwrap_or("").trim());
        let mut url = match url::Url::parse(raw_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => u,
            Ok(u) => {
                notes.push(format!("line {line}: skipped {raw_url}: scheme {} cannot be probed", u.scheme()));
                continue;
            }
            Err(e) => {
                notes.push(format!("line {line}: skipped {raw_url:?}: {e}"));
                continue;
            }
        };
        let host = match url.host() {
            Some(url::Host::Domain(h)) => h.to_string(),
            _ => {
                notes.push(format!("line {line}: skipped {raw_url}: needs a host name, not an address"));
                continue;
            }
        };
        if url.scheme() == "http" {
            let _ = url.set_scheme("https");
            notes.push(format!("line {line}: {raw_url} upgraded to https"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            notes.push(format!("line {line}: skipped {raw_url}: carries credentials"));
            continue;
        }
        let (display, _) = idna::domain_to_unicode(&host);
        let name: String = display.strip_prefix("www.").unwrap_or(&display).chars().take(80).collect();
        let base = id_from_host(&host);
        let mut id = base.clone();
        let mut n = 2;
        while !ids.insert(id.clone()) {
            id = format!("{base}-{n}");
            n += 1;
        }
        targets.push(Target {
            id,
            name,
            category: category.to_string(),
            control: false,
            images: vec![format!("{}/favicon.ico", url.origin().ascii_serialization())],
            fetch: url.to_string(),
            throughput: None,
        });
    }
    Ok(Import { list: TargetList { version: version.to_string(), targets }, notes })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../tests/fixtures/citizenlab-ir.csv");

    #[test]
    fn imports_the_citizen_lab_format_with_quoting_empty_notes_and_non_ascii() {
        let import = import(FIXTURE, "citizenlab-ir.2024-01-07").unwrap();
        let t = &import.list.targets;
        let ids: Vec<&str> = t.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["bbc-com", "bbc-com-2", "xn--d1abbgf6aiiy-xn--p1ai", "twitter-com", "signal-org"]);
        // A quoted URL with a comma in its query; categories kept.
        assert_eq!(t[1].fetch, "https://www.bbc.com/persian?x=1,2");
        assert_eq!(t[1].category, "NEWS");
        // Plain HTTP upgraded, favicon derived from the origin.
        assert_eq!(t[0].fetch, "https://www.bbc.com/");
        assert_eq!(t[0].images, ["https://www.bbc.com/favicon.ico"]);
        // An internationalised name: punycode in URLs, readable in the name.
        assert_eq!(t[2].name, "президент.рф");
        assert_eq!(t[2].images, ["https://xn--d1abbgf6aiiy.xn--p1ai/favicon.ico"]);
        assert_eq!(t[3].category, "GRP");
        // Rows that cannot be probed are skipped, and said so with their line.
        assert!(import.notes.iter().any(|n| n.starts_with("line 7:") && n.contains("address")), "{:?}", import.notes);
        assert!(import.notes.iter().any(|n| n.starts_with("line 8:") && n.contains("ftp")), "{:?}", import.notes);
        assert!(import.notes.iter().any(|n| n.starts_with("line 2:") && n.contains("upgraded")), "{:?}", import.notes);
    }

    #[test]
    fn the_import_round_trips_through_the_vantage_format() {
        let imported = import(FIXTURE, "ir-1").unwrap().list;
        // Country additions carry no control; merged with the global list they validate.
        let global = crate::targets::load(None).unwrap();
        let merged = global.with_additions("IR", &imported).unwrap();
        let json = serde_json::to_string_pretty(&imported).unwrap();
        assert_eq!(TargetList::parse(&json).unwrap(), imported);
        let reloaded = TargetList::from_json(&serde_json::to_string(&merged).unwrap()).unwrap();
        assert_eq!(reloaded, merged);
    }

    #[test]
    fn a_file_in_another_format_is_refused() {
        let e = import("url,category\nhttps://a.example/,NEWS\n", "1").unwrap_err();
        assert!(e.contains("header"), "{e}");
    }
}
