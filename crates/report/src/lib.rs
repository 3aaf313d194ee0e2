//! Vantage's shared vocabulary, compiled for both the wasm client and the native collector.
//!
//! Everything that must mean the same on both sides of the wire lives here, defined once:
//! the target list a client measures ([`target`]), what one probe attempt observed
//! ([`evidence`]), the rules that turn evidence into a verdict ([`verdict`]), and the report a
//! client submits with its validation ([`report`]), and the collector's HTTP vocabulary
//! ([`wire`]: endpoint paths, error codes and body, the stored answer, country codes), and the
//! newsroom widget's messages to its host page ([`widget`]). These are plain functions over plain data,
//! tested natively; the browser and the collector are thin shells around them.

pub mod evidence;
pub mod report;
pub mod target;
pub mod timestamp;
pub mod verdict;
pub mod widget;
pub mod wire;

pub use evidence::{Attempt, Outcome, Phases, ProbeKind, TimingSource};
pub use report::{measurements_from, BrowserInfo, Measurement, Report, ValidationError, SCHEMA_VERSION};
pub use target::{Asset, Target, TargetList};
pub use verdict::{
    decide, is_independent_control, throughput, ControlStatus, Decision, Reason, RunContext, Throughput, Verdict,
};
pub use wire::{CountryCode, ErrorBody, ErrorCode, Stored};
