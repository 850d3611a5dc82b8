-- What happens in the library, as it happens, with no patron identifier: a book opened in
-- the reader, a download, a search. The statistics (and "most read" on the home page) are
-- counted from these.

CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    kind       TEXT NOT NULL,
    record_id  INTEGER REFERENCES records(id) ON DELETE SET NULL
);
CREATE INDEX events_kind_at ON events(kind, at);
