-- Retention of usage events (the statistics issue, item 1): raw events are kept for
-- `events_keep_days`, then `ebookserver push-stats` (the daily timer) folds each older local day
-- into one count per (kind, record) here and deletes the raw rows. `at` is the UTC moment the
-- library's local day began, so a day's counts fall inside every local day, month and year that
-- holds it. Statistics read `event_counts`, which is both.
CREATE TABLE event_days (
    id         INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,                   -- the local day's start, UTC stamp
    kind       TEXT NOT NULL,
    record_id  INTEGER REFERENCES records(id) ON DELETE SET NULL,
    n          INTEGER NOT NULL CHECK (n >= 1)
);
CREATE INDEX event_days_at ON event_days(at, kind);
CREATE INDEX event_days_record ON event_days(record_id, at);

CREATE VIEW event_counts (at, kind, record_id, n) AS
    SELECT at, kind, record_id, 1 FROM events
    UNION ALL
    SELECT at, kind, record_id, n FROM event_days;
