//! The crowd task a collector runs beside serving: every interval it counts newly stored reports
//! into the rollups and, if it is the leader, runs the detector over the trailing window and
//! stores the events. Also what `vantage-collector detect` runs once.

use std::time::Duration;

use super::cells::BUCKET_SECS;
use super::detect::{detect, Config, Event};
use super::store::{CrowdDb, CrowdError};

/// Events are re-detected over this trailing stretch on every round; older ones stay as stored.
pub const REDETECT_SECS: i64 = 2 * 86_400;

/// Catches the rollups up, then runs the detector over [since − history, until) and returns the
/// events that overlap [since, until).
pub async fn detect_range(db: &CrowdDb, cfg: &Config, since: i64, until: i64) -> Result<Vec<Event>, CrowdError> {
    db.catch_up().await?;
    let history = cfg.history_days * 86_400;
    let rollup = db.rollup(since - history, until, None).await?;
    let mut events = detect(&rollup, cfg);
    events.retain(|e| e.start_secs < until && (e.last_secs >= since || e.ongoing));
    Ok(events)
}

/// One round of the task: count new reports; if leader, detect and store. Returns the events
/// stored (none when not the leader).
pub async fn round(db: &CrowdDb, cfg: &Config, now: i64) -> Result<Option<usize>, CrowdError> {
    db.catch_up().await?;
    if !db.try_lead().await? {
        return Ok(None);
    }
    let until = now - now.rem_euclid(BUCKET_SECS) + BUCKET_SECS;
    let from = until - REDETECT_SECS;
    let events = detect_range(db, cfg, from, until).await?;
    db.replace_events(from, &events).await?;
    Ok(Some(events.len()))
}

/// Runs rounds every `every` until the process ends; errors are logged and retried.
pub async fn run(db: std::sync::Arc<CrowdDb>, cfg: Config, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match round(&db, &cfg, crate::ingest::now_secs()).await {
            Ok(Some(n)) => tracing::debug!(events = n, "crowd round: detector ran"),
            Ok(None) => tracing::debug!("crowd round: rollups counted; another collector leads the detector"),
            Err(e) => tracing::error!(error = %e, "crowd round failed; retrying next round"),
        }
    }
}
