-- What each import did with each file, so the librarian can see later why a file was
-- refused without having kept the terminal output.

CREATE TABLE import_log (
    id           INTEGER PRIMARY KEY,
    at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    path         TEXT NOT NULL,
    sha256       TEXT,
    status       TEXT NOT NULL CHECK (status IN ('imported', 'duplicate', 'refused')),
    record_id    INTEGER REFERENCES records(id) ON DELETE SET NULL,
    reason_code  TEXT,
    reason       TEXT
);
CREATE INDEX import_log_at ON import_log(at);
