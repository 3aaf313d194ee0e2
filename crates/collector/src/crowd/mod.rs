//! The crowd: many visitors' reports turned into aggregates and disruption events.
//!
//! ```text
//! stored reports ──► cells.rs (15-minute counts per bucket, country, network, target, verdict)
//!                        │           └─► aggregates (hour and day derived; thin cells withheld)
//!                        ▼
//!                    detect.rs (per series: open, extend, close; outage / connectivity /
//!                               censorship; grouping; summaries) ──► events
//! ```
//!
//! `store.rs` keeps the cells in rollup tables (a follow-up job, `job.rs`, counts reports stored
//! since its last position) and the events found; `api.rs` serves them, `nearby.rs` the recent
//! picture of the requester's own place; `import.rs` loads an export back into a store.
//!
//! `cells.rs` and `detect.rs` are pure: counts in, counts and events out, no storage and no
//! clock. Cells with fewer
//! than `min_reports` distinct reports are used by the detector only pooled with others and are
//! never published on their own ("not enough reports").

pub mod api;
pub mod cells;
pub mod cli;
pub mod detect;
pub mod import;
pub mod job;
pub mod nearby;
pub mod store;

pub use cells::{bucket_of, Published, Rollup, BUCKET_SECS, DEFAULT_MIN_REPORTS, NOT_ENOUGH_REPORTS};
pub use detect::{detect, Config, Event, EventCounts, EventKind, VerdictMix};
