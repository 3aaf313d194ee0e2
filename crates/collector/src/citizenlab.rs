//! Import of Citizen Lab test lists (`url,category_code,category_description,date_added,
//! source,notes`), the format OONI's global and per-country lists use, into Vantage targets.
//!
//! Each row becomes a target probed on its own site: the image is the origin's
//! `/favicon.ico`, the fetch is the listed URL. Categories are kept; plain-HTTP URLs are
//! upgraded to HTTPS (Vantage probes HTTPS only); internationalised host names become their
//! ASCII (punycode) form in URLs and stay readable in the display name. Rows that cannot be
//! probed are skipped, each with a reason and its line number.
//!
//! A test list is not a list a collector can serve as it is: Pakistan's has 670 rows, a served
//! list at most [`MAX_TARGETS`], and a page needs controls. So the operator says what the
//! result is ([`Scope`]): a country's additions to the global list (the room left beside it is
//! the limit, and hosts the global list already measures are left out) or a list of its own
//! (the global list's controls are added); which categories to keep; and how many targets.
//! Under HTTPS a network sees only the host, so one target per host measures all a browser
//! can: further rows of a host are left out. The result is checked as `targets check` would
//! check it, so what the import writes a collector can serve.

use std::collections::{BTreeMap, HashSet};

use vantage_report::target::MAX_TARGETS;
use vantage_report::{Target, TargetList};

/// The header of a Citizen Lab test list, exactly.
pub const HEADER: [&str; 6] = ["url", "category_code", "category_description", "date_added", "source", "notes"];

/// What the imported list is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// A country's additions, served after the global list to visitors from that country
    /// (saved as `XX.json` in the collector's `--targets-dir`).
    Country(String),
    /// A list served on its own (`--targets FILE`): the global list's controls are added.
    Standalone,
}

/// What to import.
#[derive(Debug, Clone)]
pub struct Options {
    pub version: String,
    pub scope: Scope,
    /// Category codes to keep (`NEWS`, `HUMR`, `POLR`, ...); all when empty.
    pub categories: Vec<String>,
    /// At most this many imported targets; the room the list has when absent.
    pub limit: Option<usize>,
}

/// What an import produced.
#[derive(Debug)]
pub struct Import {
    pub list: TargetList,
    /// `line N: what happened`, for rows skipped or changed, then what was left out in bulk.
    pub notes: Vec<String>,
}

fn id_from_host(host: &str) -> String {
    let host = host.strip_prefix("www.").unwrap_or(host);
    let id: String =
        host.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    id.chars().take(56).collect()
}

/// A host without its `www.`, lower-cased: `www.bbc.com` and `bbc.com` are one site to a censor
/// that blocks by name far more often than not.
fn site_of(host: &str) -> String {
    let host = host.to_ascii_lowercase();
    host.strip_prefix("www.").unwrap_or(&host).to_string()
}

/// The site of a list URL (`https://host/...`), if it names one.
fn site_of_url(url: &str) -> Option<String> {
    url::Url::parse(url).ok()?.host_str().map(site_of)
}

/// Converts a test list for `global` (the list the collector serves to everyone).
pub fn import(csv_text: &str, options: &Options, global: &TargetList) -> Result<Import, String> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(csv_text.as_bytes());
    let header = reader.headers().map_err(|e| format!("line 1: {e}"))?.clone();
    if header.iter().collect::<Vec<_>>() != HEADER {
        return Err(format!("line 1: the header must be exactly `{}`", HEADER.join(",")));
    }
    let controls: Vec<Target> = global.targets.iter().filter(|t| t.control).cloned().collect();
    let room = match &options.scope {
        Scope::Country(_) => MAX_TARGETS.saturating_sub(global.targets.len()),
        Scope::Standalone => MAX_TARGETS.saturating_sub(controls.len()),
    };
    let limit = match options.limit {
        Some(0) => return Err("--limit must be at least 1".into()),
        Some(n) if n > room => {
            return Err(format!(
                "--limit {n} is more than the list has room for: {room} (a served list holds at most {MAX_TARGETS} targets{})",
                match &options.scope {
                    Scope::Country(_) => format!(", and the global list has {}", global.targets.len()),
                    Scope::Standalone => format!(", {} of them the controls", controls.len()),
                }
            ))
        }
        Some(n) => n,
        None => room,
    };
    let wanted: HashSet<String> = options.categories.iter().map(|c| c.trim().to_ascii_uppercase()).collect();
    // Sites the global list already measures: a country addition repeating them would measure
    // the same thing twice under another name.
    let measured: BTreeMap<String, &str> = match options.scope {
        Scope::Country(_) => global
            .targets
            .iter()
            .flat_map(|t| t.urls().filter_map(site_of_url).map(move |s| (s, t.id.as_str())))
            .collect(),
        Scope::Standalone => BTreeMap::new(),
    };
    let mut targets: Vec<Target> = Vec::new();
    // Ids are unique across what is served together: the controls added, or the global list.
    let mut ids: HashSet<String> = match options.scope {
        Scope::Country(_) => global.targets.iter().map(|t| t.id.clone()).collect(),
        Scope::Standalone => controls.iter().map(|t| t.id.clone()).collect(),
    };
    let mut sites = HashSet::new();
    let mut notes = Vec::new();
    let (mut other_category, mut over_limit) = (BTreeMap::<String, usize>::new(), Vec::new());
    for record in reader.records() {
        let record = record.map_err(|e| format!("{e}"))?;
        let line = record.position().map_or(0, |p| p.line());
        let (raw_url, category) = (record.get(0).unwrap_or("").trim(), record.get(1).unwrap_or("").trim());
        if !wanted.is_empty() && !wanted.contains(&category.to_ascii_uppercase()) {
            *other_category.entry(category.to_string()).or_default() += 1;
            continue;
        }
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
        if !url.username().is_empty() || url.password().is_some() {
            notes.push(format!("line {line}: skipped {raw_url}: carries credentials"));
            continue;
        }
        // A row the list's own rules would refuse is skipped here, not left to fail the list.
        let category = category.to_ascii_uppercase();
        if category.is_empty()
            || category.len() > 16
            || !category.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        {
            notes.push(format!("line {line}: skipped {raw_url}: category {category:?} is not a category code"));
            continue;
        }
        let upgraded = url.scheme() == "http";
        if upgraded {
            let _ = url.set_scheme("https");
        }
        let favicon = format!("{}/favicon.ico", url.origin().ascii_serialization());
        if let Err(e) =
            vantage_report::target::check_url(url.as_str()).and_then(|()| vantage_report::target::check_url(&favicon))
        {
            notes.push(format!("line {line}: skipped {raw_url}: {e}"));
            continue;
        }
        let site = site_of(&host);
        if let Some(id) = measured.get(&site) {
            notes
                .push(format!("line {line}: skipped {raw_url}: the global list measures {site} already (target {id})"));
            continue;
        }
        if !sites.insert(site.clone()) {
            notes.push(format!(
                "line {line}: skipped {raw_url}: {site} is imported already (a network sees only the host)"
            ));
            continue;
        }
        if targets.len() == limit {
            over_limit.push(line);
            continue;
        }
        if upgraded {
            notes.push(format!("line {line}: {raw_url} upgraded to https"));
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
            category,
            control: false,
            images: vec![favicon],
            fetch: url.to_string(),
            throughput: None,
        });
    }
    if !other_category.is_empty() {
        let left: Vec<String> = other_category.iter().map(|(c, n)| format!("{c} {n}")).collect();
        notes.push(format!(
            "{} row(s) of other categories left out ({})",
            other_category.values().sum::<usize>(),
            left.join(", ")
        ));
    }
    if let (Some(first), Some(last)) = (over_limit.first(), over_limit.last()) {
        notes.push(format!(
            "{} row(s) past the limit of {limit} left out (lines {first} to {last}); choose with --category or --limit",
            over_limit.len()
        ));
    }
    if targets.is_empty() {
        return Err("no row could be imported (see the notes)".into());
    }
    let list = match &options.scope {
        Scope::Country(country) => {
            let list = TargetList { version: options.version.clone(), targets };
            global
                .with_additions(country, &list)
                .map_err(|e| format!("the additions would not serve beside the global list: {e}"))?;
            list
        }
        Scope::Standalone => {
            let list = TargetList { version: options.version.clone(), targets: [targets, controls].concat() };
            list.validate().map_err(|e| format!("the list would not serve: {e}"))?;
            list
        }
    };
    Ok(Import { list, notes })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../tests/fixtures/citizenlab-ir.csv");

    fn options(scope: Scope) -> Options {
        Options { version: "ir-1".into(), scope, categories: Vec::new(), limit: None }
    }

    fn global() -> TargetList {
        crate::targets::load(None).unwrap()
    }

    fn ids(list: &TargetList) -> Vec<&str> {
        list.targets.iter().map(|t| t.id.as_str()).collect()
    }

    #[test]
    fn imports_the_citizen_lab_format_with_quoting_empty_notes_and_non_ascii() {
        let import = import(FIXTURE, &options(Scope::Standalone), &global()).unwrap();
        let t = &import.list.targets;
        let g = global();
        let controls: Vec<&str> = g.targets.iter().filter(|t| t.control).map(|t| t.id.as_str()).collect();
        assert_eq!(
            ids(&import.list),
            [&["bbc-com", "xn--d1abbgf6aiiy-xn--p1ai", "twitter-com", "signal-org"], &controls[..]].concat()
        );
        // Plain HTTP upgraded, favicon derived from the origin, categories kept.
        assert_eq!(t[0].fetch, "https://www.bbc.com/");
        assert_eq!(t[0].images, ["https://www.bbc.com/favicon.ico"]);
        assert_eq!(t[0].category, "NEWS");
        // An internationalised name: punycode in URLs, readable in the name.
        assert_eq!(t[1].name, "президент.рф");
        assert_eq!(t[1].images, ["https://xn--d1abbgf6aiiy.xn--p1ai/favicon.ico"]);
        assert_eq!(t[2].category, "GRP");
        // Rows that cannot be probed are skipped, and said so with their line; a second URL of
        // a host measures nothing more (a network sees only the host under HTTPS).
        let said = |line: &str, what: &str| import.notes.iter().any(|n| n.starts_with(line) && n.contains(what));
        assert!(
            said("line 7:", "address") && said("line 8:", "ftp") && said("line 2:", "upgraded"),
            "{:?}",
            import.notes
        );
        assert!(said("line 3:", "imported already"), "{:?}", import.notes);
        // What it writes is what `targets check` accepts.
        assert_eq!(TargetList::parse(&serde_json::to_string(&import.list).unwrap()).unwrap(), import.list);
    }

    #[test]
    fn a_country_addition_leaves_out_what_the_global_list_measures_and_serves_beside_it() {
        let import = import(FIXTURE, &options(Scope::Country("IR".into())), &global()).unwrap();
        // signal.org is the global list's Signal target already; no control is added.
        assert_eq!(ids(&import.list), ["bbc-com", "xn--d1abbgf6aiiy-xn--p1ai", "twitter-com"]);
        assert!(
            import.notes.iter().any(|n| n.starts_with("line 6:") && n.contains("target signal")),
            "{:?}",
            import.notes
        );
        let merged = global().with_additions("IR", &import.list).unwrap();
        let json = serde_json::to_string_pretty(&import.list).unwrap();
        assert_eq!(TargetList::parse(&json).unwrap(), import.list);
        assert_eq!(TargetList::from_json(&serde_json::to_string(&merged).unwrap()).unwrap(), merged);
    }

    /// A list of a real country's size (Pakistan's has 670 rows in many categories, many
    /// hosts more than once): the operator chooses categories and a limit, and whatever they
    /// choose, the result serves.
    fn large_list() -> String {
        let categories = ["NEWS", "HUMR", "POLR", "REL", "GRP", "PORN", "GMB", "LGBT", "ANON", "MMED"];
        let mut csv = HEADER.join(",");
        for i in 0..670 {
            // Every fifth row is another page of a host listed before.
            let host = if i % 5 == 4 { format!("site{}.example.pk", i - 1) } else { format!("site{i}.example.pk") };
            csv.push_str(&format!("\nhttp://{host}/page{i},{},x,2019-01-01,,", categories[i % categories.len()]));
        }
        csv
    }

    #[test]
    fn a_country_sized_list_is_cut_to_what_the_operator_chose_and_what_fits() {
        let csv = large_list();
        let g = global();
        // Everything, as a country addition: as many as fit beside the global list, no more.
        let all = import(&csv, &options(Scope::Country("PK".into())), &g).unwrap();
        assert_eq!(all.list.targets.len(), MAX_TARGETS - g.targets.len());
        assert!(g.with_additions("PK", &all.list).is_ok());
        assert!(all.notes.iter().any(|n| n.contains("past the limit")), "{:?}", all.notes.last());
        // News, human rights and political criticism, at most 40.
        let chosen = Options {
            categories: vec!["news".into(), "HUMR".into(), "POLR".into()],
            limit: Some(40),
            ..options(Scope::Country("PK".into()))
        };
        let some = import(&csv, &chosen, &g).unwrap();
        assert_eq!(some.list.targets.len(), 40);
        assert!(some.list.targets.iter().all(|t| ["NEWS", "HUMR", "POLR"].contains(&t.category.as_str())));
        assert!(
            some.notes.iter().any(|n| n.contains("other categories left out") && n.contains("PORN")),
            "{:?}",
            some.notes
        );
        // A list of its own: the controls come with it, and it still holds at most MAX_TARGETS.
        let own = import(&csv, &options(Scope::Standalone), &g).unwrap();
        assert_eq!(own.list.targets.len(), MAX_TARGETS);
        assert!(own.list.validate().is_ok());
    }

    #[test]
    fn a_limit_the_list_cannot_hold_or_a_choice_that_keeps_nothing_is_an_error() {
        let g = global();
        let room = MAX_TARGETS - g.targets.len();
        let too_many = Options { limit: Some(room + 1), ..options(Scope::Country("PK".into())) };
        let e = import(&large_list(), &too_many, &g).unwrap_err();
        assert!(e.contains(&format!("room for: {room}")), "{e}");
        let zero = Options { limit: Some(0), ..options(Scope::Standalone) };
        assert!(import(&large_list(), &zero, &g).unwrap_err().contains("at least 1"));
        let nothing = Options { categories: vec!["XYZ".into()], ..options(Scope::Standalone) };
        assert!(import(FIXTURE, &nothing, &g).unwrap_err().contains("no row"));
    }

    #[test]
    fn rows_the_list_would_refuse_are_skipped_with_their_line_not_fatal_to_the_import() {
        let csv = format!(
            "{}\nhttps://ok.example/,NEWS,,,,\nhttps://lower.example/,news,,,,\nhttps://empty.example/,,,,,\n\
             https://under_score.example/,NEWS,,,,\nhttps://long.example/{},NEWS,,,,\nhttps://x.com/,GRP,,,,\n",
            HEADER.join(","),
            "a".repeat(3000)
        );
        let first = import(&csv, &options(Scope::Country("PK".into())), &global()).unwrap();
        let import = &first;
        // A lower-case code is the same code; x.com is the global list's X, so it is left out.
        assert_eq!(ids(&import.list), ["ok-example", "lower-example"], "{:?}", import.notes);
        assert_eq!(import.list.targets[1].category, "NEWS");
        for line in ["line 4:", "line 5:", "line 6:", "line 7:"] {
            assert!(import.notes.iter().any(|n| n.starts_with(line)), "{line} {:?}", import.notes);
        }
        // An id the global list uses is not taken by an addition.
        let csv = format!("{}\nhttps://youtube.example/,NEWS,,,,\n", HEADER.join(","));
        let mut g = global();
        g.targets.iter_mut().find(|t| t.id == "youtube").unwrap().id = "youtube-example".into();
        let second = super::import(&csv, &options(Scope::Country("PK".into())), &g).unwrap();
        assert_eq!(ids(&second.list), ["youtube-example-2"]);
    }

    #[test]
    fn a_file_in_another_format_is_refused() {
        let e = import("url,category\nhttps://a.example/,NEWS\n", &options(Scope::Standalone), &global()).unwrap_err();
        assert!(e.contains("header"), "{e}");
    }
}
