//! Property tests of the report decoder, the collector's front door: whatever arrives, it
//! answers Ok or a named error, never panics, and what it accepts is valid and round-trips.
//!
//! Run with `cargo test -p vantage-report --test decoder_props`.

use proptest::prelude::*;
use serde_json::{json, Value};
use vantage_report::Report;

const NOW: i64 = 1_702_825_260; // 2023-12-17T15:01:00Z

fn valid() -> Value {
    json!({
        "schema_version": 1,
        "report_id": "0123456789abcdef0123456789abcdef",
        "software_name": "vantage-web",
        "software_version": "0.1.0",
        "targets_version": "t-1",
        "measurement_start_time": "2023-12-17T15:00:00.000Z",
        "deadline_ms": 5000.0,
        "browser": {"family": "chromium", "major": 156},
        "measurements": [
            {"target_id": "x", "input": "https://x.example/i.png", "control": false, "verdict": "blocked",
             "reason": {"kind": "failed_fast", "failed": 1, "attempts": 1, "slowest_ms": 40.0},
             "attempts": [{"probe": "image", "outcome": "error", "duration_ms": 40.0, "trial": 0, "cold": true, "timing": "clock"}]},
            {"target_id": "c", "input": "https://c.example/c.png", "control": true, "verdict": "reachable",
             "reason": {"kind": "all_succeeded", "attempts": 1, "slowest_ms": 9.0},
             "attempts": [{"probe": "image", "outcome": "ok", "duration_ms": 9.0, "trial": 0, "cold": true, "timing": "resource_timing"}]}
        ]
    })
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("JSON numbers are finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every place in the valid report a mutation can land.
fn paths(v: &Value, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(prefix.clone());
    match v {
        Value::Object(m) => m.iter().for_each(|(k, c)| paths(c, [prefix.clone(), vec![k.clone()]].concat(), out)),
        Value::Array(a) => {
            a.iter().enumerate().for_each(|(i, c)| paths(c, [prefix.clone(), vec![i.to_string()]].concat(), out))
        }
        _ => {}
    }
}

fn set(v: &mut Value, path: &[String], new: Value) {
    let Some((last, parents)) = path.split_last() else {
        *v = new;
        return;
    };
    let mut cur = v;
    for p in parents {
        cur = match cur {
            Value::Object(m) => m.get_mut(p).expect("path exists"),
            Value::Array(a) => &mut a[p.parse::<usize>().expect("index")],
            _ => unreachable!(),
        };
    }
    match cur {
        Value::Object(m) => {
            m.insert(last.clone(), new);
        }
        Value::Array(a) => a[last.parse::<usize>().expect("index")] = new,
        _ => unreachable!(),
    }
}

fn check(body: &[u8]) {
    match Report::from_json(body, NOW) {
        Ok(r) => {
            assert_eq!(r.validate(NOW), Ok(()));
            let again = serde_json::to_vec(&r).unwrap();
            assert_eq!(Report::from_json(&again, NOW), Ok(r), "an accepted report round-trips");
        }
        Err(e) => assert!(!e.field.is_empty() && !e.detail.is_empty(), "errors name a field and say why"),
    }
}

#[test]
fn the_valid_report_is_accepted() {
    assert!(Report::from_json(valid().to_string().as_bytes(), NOW).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        check(&body);
    }

    #[test]
    fn one_mutated_field_is_accepted_only_if_still_valid(pick in any::<prop::sample::Index>(), new in any_json()) {
        let mut v = valid();
        let mut all = Vec::new();
        paths(&v, Vec::new(), &mut all);
        let path = pick.get(&all).clone();
        set(&mut v, &path, new);
        check(v.to_string().as_bytes());
    }

    #[test]
    fn truncations_are_malformed_not_panics(cut in 0usize..1000) {
        let body = valid().to_string();
        let cut = cut.min(body.len().saturating_sub(1));
        let e = Report::from_json(&body.as_bytes()[..cut], NOW).unwrap_err();
        prop_assert!(e.malformed || e.field == "(body)", "{e:?}");
    }
}
