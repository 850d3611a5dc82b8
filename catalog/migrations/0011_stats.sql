-- Statistics and harvesting (the statistics issue): the outbox of daily reports waiting to go
-- upstream, what the last push did, and the tombstones OAI-PMH harvesters need to learn that a
-- record was deleted.

-- One row per report (library, day, revision), kept until the receiver answers 2xx.
CREATE TABLE stats_outbox (
    report_id     TEXT PRIMARY KEY,             -- the idempotency key the receiver stores once
    day           TEXT NOT NULL,                -- YYYY-MM-DD, the library's local date
    revision      INTEGER NOT NULL CHECK (revision >= 1),
    provisional   INTEGER NOT NULL DEFAULT 0 CHECK (provisional IN (0, 1)),  -- today so far
    document      TEXT NOT NULL,                -- the JSON document, exactly as sent
    queued_at     TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_try_at   TEXT NOT NULL,                -- not before this moment (backoff)
    last_error    TEXT,
    sent_at       TEXT                          -- the receiver's 2xx; NULL while waiting
);
CREATE INDEX stats_outbox_waiting ON stats_outbox(day, revision) WHERE sent_at IS NULL;
CREATE INDEX stats_outbox_day ON stats_outbox(day, revision);

-- What the last push did, for the admin page; one row.
CREATE TABLE stats_push_state (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    last_attempt_at  TEXT,
    last_success_at  TEXT,
    last_error       TEXT,
    last_error_at    TEXT
);
INSERT INTO stats_push_state (id) VALUES (1);

-- Deleted records, so that harvesters see them go (OAI-PMH deletedRecord "persistent").
CREATE TABLE oai_deletions (
    record_id   INTEGER PRIMARY KEY,
    deleted_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    sets        TEXT NOT NULL DEFAULT ''       -- the sets it was in, space-separated
);
CREATE INDEX oai_deletions_at ON oai_deletions(deleted_at);
