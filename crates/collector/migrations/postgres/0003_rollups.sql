-- Rollups the crowd job keeps from stored reports, so that aggregates and the detector never
-- scan raw measurements: per (15-minute bucket, country, network, target) the count of each
-- verdict, distinct reports and reports whose controls loaded; per (bucket, country, network)
-- the reports and those whose controls loaded. Hour and day are summed from these.
-- Idempotent (IF NOT EXISTS): the crowd job applies it too, whichever runs first.
CREATE TABLE IF NOT EXISTS rollup_targets (
    bucket          bigint NOT NULL,
    probe_cc        text NOT NULL,
    probe_asn       bigint NOT NULL,
    target_id       text NOT NULL,
    control         boolean NOT NULL,
    reachable       bigint NOT NULL,
    blocked         bigint NOT NULL,
    timeout         bigint NOT NULL,
    throttled       bigint NOT NULL,
    tampered        bigint NOT NULL,
    local_block     bigint NOT NULL,
    inconclusive    bigint NOT NULL,
    reports         bigint NOT NULL,
    controls_loaded bigint NOT NULL,
    PRIMARY KEY (probe_cc, bucket, probe_asn, target_id)
);
CREATE INDEX IF NOT EXISTS rollup_targets_bucket ON rollup_targets (bucket);
CREATE TABLE IF NOT EXISTS rollup_places (
    bucket          bigint NOT NULL,
    probe_cc        text NOT NULL,
    probe_asn       bigint NOT NULL,
    reports         bigint NOT NULL,
    controls_loaded bigint NOT NULL,
    PRIMARY KEY (probe_cc, bucket, probe_asn)
);
CREATE INDEX IF NOT EXISTS rollup_places_bucket ON rollup_places (bucket);
-- The crowd job reads reports in row-id order from where it stopped.
CREATE INDEX IF NOT EXISTS reports_id ON reports (id);
CREATE TABLE IF NOT EXISTS rollup_position (id integer PRIMARY KEY CHECK (id = 1), last_report bigint NOT NULL);
CREATE TABLE IF NOT EXISTS crowd_events (
    id      text PRIMARY KEY,
    kind    text NOT NULL,
    country text,
    start   bigint NOT NULL,
    last    bigint NOT NULL,
    body    jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS crowd_events_start ON crowd_events (start);
