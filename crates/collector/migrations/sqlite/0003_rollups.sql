-- Rollups the crowd job keeps from stored reports, so that aggregates and the detector never
-- scan raw measurements: per (15-minute bucket, country, network, target) the count of each
-- verdict, distinct reports and reports whose controls loaded; per (bucket, country, network)
-- the reports and those whose controls loaded. Hour and day are summed from these.
-- Idempotent (IF NOT EXISTS): the crowd job applies it too, whichever runs first.
CREATE TABLE IF NOT EXISTS rollup_targets (
    bucket          INTEGER NOT NULL,
    probe_cc        TEXT NOT NULL,
    probe_asn       INTEGER NOT NULL,
    target_id       TEXT NOT NULL,
    control         INTEGER NOT NULL,
    reachable       INTEGER NOT NULL,
    blocked         INTEGER NOT NULL,
    timeout         INTEGER NOT NULL,
    throttled       INTEGER NOT NULL,
    tampered        INTEGER NOT NULL,
    local_block     INTEGER NOT NULL,
    inconclusive    INTEGER NOT NULL,
    reports         INTEGER NOT NULL,
    controls_loaded INTEGER NOT NULL,
    PRIMARY KEY (probe_cc, bucket, probe_asn, target_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS rollup_targets_bucket ON rollup_targets (bucket);
CREATE TABLE IF NOT EXISTS rollup_places (
    bucket          INTEGER NOT NULL,
    probe_cc        TEXT NOT NULL,
    probe_asn       INTEGER NOT NULL,
    reports         INTEGER NOT NULL,
    controls_loaded INTEGER NOT NULL,
    PRIMARY KEY (probe_cc, bucket, probe_asn)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS rollup_places_bucket ON rollup_places (bucket);
-- The last report (row id) counted into the rollups.
CREATE TABLE IF NOT EXISTS rollup_position (id INTEGER PRIMARY KEY CHECK (id = 1), last_report INTEGER NOT NULL);
-- Events as the detector last found them; body is the event as the API returns it.
CREATE TABLE IF NOT EXISTS crowd_events (
    id      TEXT PRIMARY KEY,
    kind    TEXT NOT NULL,
    country TEXT,
    start   INTEGER NOT NULL,
    last    INTEGER NOT NULL,
    body    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS crowd_events_start ON crowd_events (start);
