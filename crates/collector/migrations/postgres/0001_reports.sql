-- Reports, one row each with its measurements as JSON, partitioned by the day the measurement
-- started (partitions are created as days arrive). No column can hold an address.
CREATE TABLE reports (
    id                bigserial NOT NULL,
    report_id         text NOT NULL,
    day               date NOT NULL,
    received_minute   timestamptz NOT NULL,
    measurement_start timestamptz NOT NULL,
    probe_cc          text NOT NULL,
    probe_asn         bigint NOT NULL,
    software_name     text NOT NULL,
    software_version  text NOT NULL,
    targets_version   text NOT NULL,
    browser_family    text NOT NULL,
    browser_major     integer NOT NULL,
    connection_type   text,
    deadline_ms       double precision NOT NULL,
    measurements      jsonb NOT NULL,
    -- A retried submission carries the same id and start time, hence the same day: stored once.
    PRIMARY KEY (report_id, day)
) PARTITION BY RANGE (day);
CREATE INDEX reports_start ON reports (measurement_start);
CREATE INDEX reports_cc_start ON reports (probe_cc, measurement_start);
