-- Usage statistics (the statistics issue, item 1): the words of searches that found nothing,
-- for "what to buy next". One row per (UTC day, query) with how often it was searched; no
-- patron, session or address is kept, and no time finer than the day.
CREATE TABLE zero_result_queries (
    day       TEXT NOT NULL,                    -- YYYY-MM-DD (UTC)
    query     TEXT NOT NULL,                    -- lower-cased, spaces collapsed, at most 200 characters
    searches  INTEGER NOT NULL DEFAULT 1 CHECK (searches >= 1),
    PRIMARY KEY (day, query)
);

-- Record-level counting (COUNTER views, top titles) reads events by record and time.
CREATE INDEX IF NOT EXISTS events_record_at ON events(record_id, at);
