-- Hour and day rollups beside the 15-minute ones, kept by the crowd job in the same
-- transaction, so that a month of aggregates reads a few thousand rows instead of a quarter of a
-- million. Idempotent: the crowd job applies it at every start. The backfill fills them from the
-- 15-minute cells once, when they are new (a cell already there is left alone).
CREATE TABLE IF NOT EXISTS rollup_targets_hour (
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
INSERT INTO rollup_targets_hour
SELECT bucket / 3600 * 3600, probe_cc, probe_asn, target_id, bool_or(control), SUM(reachable), SUM(blocked), SUM(timeout), SUM(throttled), SUM(tampered),
       SUM(local_block), SUM(inconclusive), SUM(reports), SUM(controls_loaded)
FROM rollup_targets WHERE NOT EXISTS (SELECT 1 FROM rollup_targets_hour)
GROUP BY bucket / 3600 * 3600, probe_cc, probe_asn, target_id
ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS rollup_targets_day (
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
INSERT INTO rollup_targets_day
SELECT bucket / 86400 * 86400, probe_cc, probe_asn, target_id, bool_or(control), SUM(reachable), SUM(blocked), SUM(timeout), SUM(throttled), SUM(tampered),
       SUM(local_block), SUM(inconclusive), SUM(reports), SUM(controls_loaded)
FROM rollup_targets WHERE NOT EXISTS (SELECT 1 FROM rollup_targets_day)
GROUP BY bucket / 86400 * 86400, probe_cc, probe_asn, target_id
ON CONFLICT DO NOTHING;
