-- Licences belong to the title (the lending issue): open access; lending with a number of
-- licensed copies and a loan period; or reading in the library only. ebook_files.licence is
-- no longer read. A withdrawn record stays in the database but is not shown to patrons.

ALTER TABLE records ADD COLUMN licence TEXT NOT NULL DEFAULT 'open-access'
    CHECK (licence IN ('open-access', 'lending', 'in-library'));
ALTER TABLE records ADD COLUMN licence_copies INTEGER CHECK (licence_copies IS NULL OR licence_copies >= 0);
ALTER TABLE records ADD COLUMN loan_days INTEGER CHECK (loan_days IS NULL OR loan_days > 0);
ALTER TABLE records ADD COLUMN withdrawn INTEGER NOT NULL DEFAULT 0 CHECK (withdrawn IN (0, 1));
UPDATE records SET licence = 'lending', licence_copies = 1
    WHERE id IN (SELECT record_id FROM ebook_files WHERE licence != 'open-access');

-- Events and announcements, for the OPAC home page and the TV kiosk.
CREATE TABLE announcements (
    id           INTEGER PRIMARY KEY,
    title        TEXT NOT NULL,
    starts_at    TEXT,                      -- the event's local date and time (YYYY-MM-DDTHH:MM); NULL: a notice
    ends_at      TEXT,
    place        TEXT,
    description  TEXT,
    image        TEXT,                      -- file name in the data directory's images/ folder
    published    INTEGER NOT NULL DEFAULT 1 CHECK (published IN (0, 1)),
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX announcements_starts ON announcements(starts_at);
