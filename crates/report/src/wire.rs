//! The collector's HTTP vocabulary, defined once for the client, the collector and the tests:
//! endpoint paths, the answer to a stored report, the error body and its codes, and the
//! country code every public figure is keyed by.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Endpoint paths.
pub mod path {
    pub const TARGETS: &str = "/api/v1/targets";
    pub const REPORTS: &str = "/api/v1/reports";
    pub const EXPORT: &str = "/api/v1/export";
    pub const AGGREGATES: &str = "/api/v1/aggregates";
    pub const EVENTS: &str = "/api/v1/events";
    /// The recent crowd picture of the requester's own country and network (`?hours=1..24`).
    pub const NEARBY: &str = "/api/v1/nearby";
    pub const HEALTH: &str = "/healthz";
    pub const METRICS: &str = "/metrics";
}

/// The answer to a stored report (201): its id and nothing that counts or orders visitors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stored {
    pub report_id: String,
}

/// What went wrong, as a stable machine-readable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not JSON of the report's shape (400).
    MalformedJson,
    /// The report is JSON but breaks a rule (422).
    InvalidReport,
    /// A measurement names a target or URL of no list the collector served (422).
    UnknownTarget,
    /// A query parameter is wrong (400).
    InvalidQuery,
    /// The body is not `application/json` or `text/plain` (415).
    UnsupportedMediaType,
    /// The body is larger than a report can be (413).
    TooLarge,
    /// The body ended before its announced length (400).
    IncompleteBody,
    /// The body did not arrive in time (408).
    BodyTimeout,
    /// A page of an origin that may not submit sent it (403).
    ForbiddenOrigin,
    /// A report with this id is already stored (409): a retry of a stored report.
    DuplicateReport,
    /// Too many reports from one network address (429, with `Retry-After`).
    RateLimited,
    /// The collector is at a limit (503, with `Retry-After`): e.g. too many exports at once.
    Busy,
    /// The collector is stopping (503).
    ShuttingDown,
    /// No such endpoint (404).
    NotFound,
    /// The endpoint does not take this method (405, with `Allow`).
    MethodNotAllowed,
    /// The collector failed (500).
    Internal,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 16] = [
        ErrorCode::MalformedJson,
        ErrorCode::InvalidReport,
        ErrorCode::UnknownTarget,
        ErrorCode::InvalidQuery,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::TooLarge,
        ErrorCode::IncompleteBody,
        ErrorCode::BodyTimeout,
        ErrorCode::ForbiddenOrigin,
        ErrorCode::DuplicateReport,
        ErrorCode::RateLimited,
        ErrorCode::Busy,
        ErrorCode::ShuttingDown,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::Internal,
    ];

    /// The code as the error body spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::InvalidReport => "invalid_report",
            ErrorCode::UnknownTarget => "unknown_target",
            ErrorCode::InvalidQuery => "invalid_query",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::IncompleteBody => "incomplete_body",
            ErrorCode::BodyTimeout => "body_timeout",
            ErrorCode::ForbiddenOrigin => "forbidden_origin",
            ErrorCode::DuplicateReport => "duplicate_report",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Busy => "busy",
            ErrorCode::ShuttingDown => "shutting_down",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Internal => "internal",
        }
    }

    /// The HTTP status this code is answered with.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::MalformedJson | ErrorCode::InvalidQuery | ErrorCode::IncompleteBody => 400,
            ErrorCode::ForbiddenOrigin => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::BodyTimeout => 408,
            ErrorCode::DuplicateReport => 409,
            ErrorCode::TooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::InvalidReport | ErrorCode::UnknownTarget => 422,
            ErrorCode::RateLimited => 429,
            ErrorCode::Internal => 500,
            ErrorCode::Busy | ErrorCode::ShuttingDown => 503,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every error the API answers, as JSON: what went wrong, where, and what to change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    pub error: ErrorCode,
    /// The field or parameter to change, when one is to blame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub detail: String,
}

/// An ISO 3166-1 alpha-2 country code in capitals (`PK`), or `ZZ` for unknown, as OONI does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// Where the country is not known (no GeoIP database, or an address it does not hold).
    pub const UNKNOWN: CountryCode = CountryCode(*b"ZZ");

    /// Two ASCII letters, in either case.
    pub fn parse(code: &str) -> Option<CountryCode> {
        match code.as_bytes() {
            &[a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                Some(CountryCode([a.to_ascii_uppercase(), b.to_ascii_uppercase()]))
            }
            _ => None,
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("ZZ")
    }

    pub fn is_known(&self) -> bool {
        *self != CountryCode::UNKNOWN
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CountryCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        CountryCode::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a two-letter country code")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_spells_as_serde_does_and_has_a_status() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
            assert!((400..600).contains(&code.status()), "{code}");
        }
        assert_eq!(ErrorCode::RateLimited.status(), 429);
        assert_eq!(ErrorCode::InvalidReport.status(), 422);
        assert_eq!(ErrorCode::DuplicateReport.status(), 409);
        assert_eq!(ErrorCode::Busy.status(), 503);
    }

    #[test]
    fn an_error_body_round_trips_and_refuses_strangers() {
        let body =
            ErrorBody { error: ErrorCode::InvalidReport, field: Some("report_id".into()), detail: "too short".into() };
        let json = serde_json::to_string(&body).unwrap();
        assert_eq!(json, r#"{"error":"invalid_report","field":"report_id","detail":"too short"}"#);
        assert_eq!(serde_json::from_str::<ErrorBody>(&json).unwrap(), body);
        let without_field = r#"{"error":"not_found","detail":"no such API endpoint"}"#;
        assert_eq!(serde_json::from_str::<ErrorBody>(without_field).unwrap().field, None);
        assert!(serde_json::from_str::<ErrorBody>(r#"{"error":"nope","detail":""}"#).is_err());
    }

    #[test]
    fn country_codes_are_two_letters_in_capitals() {
        assert_eq!(CountryCode::parse("pk").unwrap().as_str(), "PK");
        assert_eq!(CountryCode::parse("IR").unwrap().to_string(), "IR");
        for bad in ["", "P", "PAK", "P1", "é", "ÅÅ", " PK"] {
            assert_eq!(CountryCode::parse(bad), None, "{bad:?}");
        }
        assert!(!CountryCode::UNKNOWN.is_known());
        assert!(CountryCode::parse("pk").unwrap().is_known());
        assert_eq!(serde_json::to_string(&CountryCode::parse("pk").unwrap()).unwrap(), "\"PK\"");
        assert_eq!(serde_json::from_str::<CountryCode>("\"ir\"").unwrap().as_str(), "IR");
        assert!(serde_json::from_str::<CountryCode>("\"IRN\"").is_err());
    }

    #[test]
    fn stored_says_only_the_report_id() {
        let json = serde_json::to_string(&Stored { report_id: "ab".repeat(16) }).unwrap();
        assert_eq!(json, format!(r#"{{"report_id":"{}"}}"#, "ab".repeat(16)));
        assert!(serde_json::from_str::<Stored>(r#"{"report_id":"a","id":7}"#).is_err());
    }
}
