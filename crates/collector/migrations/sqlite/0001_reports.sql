-- Reports and their measurements. No column can hold an address: country and network are
-- derived at ingestion and the address is dropped; times are kept to the minute.
CREATE TABLE reports (
    id                       INTEGER PRIMARY KEY,
    report_id                TEXT NOT NULL UNIQUE,
    received_minute          TEXT NOT NULL,
    measurement_start_minute TEXT NOT NULL,
    -- The same minute as seconds since the epoch, for range queries.
    measurement_start        INTEGER NOT NULL,
    probe_cc                 TEXT NOT NULL,
    probe_asn                INTEGER NOT NULL,
    software_name            TEXT NOT NULL,
    software_version         TEXT NOT NULL,
    targets_version          TEXT NOT NULL,
    browser_family           TEXT NOT NULL,
    browser_major            INTEGER NOT NULL,
    connection_type          TEXT,
    deadline_ms              REAL NOT NULL
);
CREATE INDEX reports_start ON reports (measurement_start);
CREATE INDEX reports_cc_start ON reports (probe_cc, measurement_start);

CREATE TABLE measurements (
    id          INTEGER PRIMARY KEY,
    report      INTEGER NOT NULL REFERENCES reports (id),
    target_id   TEXT NOT NULL,
    input       TEXT NOT NULL,
    control     INTEGER NOT NULL,
    verdict     TEXT NOT NULL,
    evidence    TEXT NOT NULL
);
CREATE INDEX measurements_report ON measurements (report);
