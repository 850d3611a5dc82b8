-- Printed copies (items) on the library's shelves. A record may have print items, e-book
-- files, or both. The status is the shelf's state; loans of print copies come with circulation.

CREATE TABLE items (
    id           INTEGER PRIMARY KEY,
    record_id    INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,
    barcode      TEXT NOT NULL UNIQUE,
    call_number  TEXT,                       -- e.g. 899.221 AND l
    location     TEXT,                       -- shelf or room, e.g. Rak anak 2
    status       TEXT NOT NULL DEFAULT 'available'
                 CHECK (status IN ('available', 'on-loan', 'reference', 'in-repair', 'lost', 'withdrawn')),
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX items_record ON items(record_id);
