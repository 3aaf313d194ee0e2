//! The newsroom widget's messages to the page that embeds it (`postMessage`), defined once:
//! the widget builds them from these types (through `serde-wasm-bindgen` in the engine, by
//! hand in the few lines of script that run before the click) and the tests read what a host
//! page received back into them, so a change to what newsrooms receive is a compile error or
//! a failing test, never a silent drift.
//!
//! Every message is an object `{type, version, ...}`. Results carry per platform the verdict
//! only: no timings, which a host page could use to fingerprint its readers' networks.

use serde::{Deserialize, Serialize};

use crate::Verdict;

/// The version of the message format; a host can ignore versions it does not know.
pub const VERSION: u32 = 1;

/// One platform's verdict, by the ids and names of the self-test page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetVerdict {
    pub target: String,
    pub verdict: Verdict,
}

/// A message from the widget to its host page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum WidgetMessage {
    /// The card is shown; nothing has been measured.
    #[serde(rename = "vantage:ready")]
    Ready { version: u32 },
    /// The visitor started the test: `done` of `total` probes have finished.
    #[serde(rename = "vantage:progress")]
    Progress { version: u32, done: u32, total: u32 },
    /// The test finished: each platform's verdict (controls included, marked by their ids).
    #[serde(rename = "vantage:result")]
    Result { version: u32, results: Vec<TargetVerdict> },
    /// The widget's content is `height` CSS pixels tall: the host sizes the frame to it.
    #[serde(rename = "vantage:resize")]
    Resize { version: u32, height: u32 },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_flat_objects_named_by_type() {
        let m = WidgetMessage::Result {
            version: VERSION,
            results: vec![TargetVerdict { target: "x".into(), verdict: Verdict::Blocked }],
        };
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            serde_json::json!({"type": "vantage:result", "version": 1, "results": [{"target": "x", "verdict": "blocked"}]})
        );
        let resize: WidgetMessage =
            serde_json::from_str(r#"{"type":"vantage:resize","version":1,"height":212}"#).unwrap();
        assert_eq!(resize, WidgetMessage::Resize { version: 1, height: 212 });
        // Timings or anything else a host could fingerprint with are not part of the format.
        assert!(serde_json::from_str::<WidgetMessage>(
            r#"{"type":"vantage:result","version":1,"results":[{"target":"x","verdict":"blocked","ms":12}]}"#
        )
        .is_err());
        assert!(serde_json::from_str::<WidgetMessage>(r#"{"type":"vantage:other","version":1}"#).is_err());
    }
}
