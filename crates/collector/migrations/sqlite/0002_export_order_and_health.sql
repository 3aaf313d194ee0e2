-- Exports are ordered by measurement minute, then report id (random), so that their order says
-- nothing about who reported first; each page continues after the last (minute, report id).
CREATE INDEX reports_start_report ON reports (measurement_start, report_id);
-- One row that a health check rewrites to prove the storage still takes writes.
CREATE TABLE health (id INTEGER PRIMARY KEY, checked_minute INTEGER NOT NULL);
