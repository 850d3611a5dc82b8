-- E-lending (the lending issue): loans of licensed e-books, the hold queue, where each patron
-- is in each book, and a reading history kept only for patrons who ask for it.
-- A loan ends by itself at due_at: nothing runs at that moment; every access compares the time.

-- How many e-books a member of each category may have on loan at once.
ALTER TABLE member_categories ADD COLUMN max_ebook_loans INTEGER NOT NULL DEFAULT 3 CHECK (max_ebook_loans >= 0);
-- Titles whose borrowers may download the PDF, stamped on every page with their member number
-- and the due date (a lent title is otherwise never handed out as a whole file).
ALTER TABLE records ADD COLUMN stamped_download INTEGER NOT NULL DEFAULT 0 CHECK (stamped_download IN (0, 1));
-- Reading history is off until the patron turns it on.
ALTER TABLE members ADD COLUMN keep_history INTEGER NOT NULL DEFAULT 0 CHECK (keep_history IN (0, 1));

CREATE TABLE ebook_loans (
    id           INTEGER PRIMARY KEY,
    record_id    INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,
    member_id    INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    loaned_at    TEXT NOT NULL,
    due_at       TEXT NOT NULL,              -- the exact moment the loan ends by itself
    returned_at  TEXT,                       -- set only by an early return
    renewals     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ebook_loans_record ON ebook_loans(record_id, due_at) WHERE returned_at IS NULL;
CREATE INDEX ebook_loans_member ON ebook_loans(member_id, due_at);

-- The queue of a title, in order of placed_at. A hold is waiting (ready_at NULL), then ready (a
-- copy reserved for it from ready_at for the hold window), then ended: borrowed, cancelled or
-- expired (not claimed in time; the copy passed to the next).
CREATE TABLE ebook_holds (
    id          INTEGER PRIMARY KEY,
    record_id   INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,
    member_id   INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    placed_at   TEXT NOT NULL,
    ready_at    TEXT,
    ended_at    TEXT,
    ended_how   TEXT CHECK (ended_how IN ('borrowed', 'cancelled', 'expired'))
);
CREATE UNIQUE INDEX ebook_holds_open ON ebook_holds(record_id, member_id) WHERE ended_at IS NULL;
CREATE INDEX ebook_holds_queue ON ebook_holds(record_id, placed_at) WHERE ended_at IS NULL;

-- Up to which moment each title's queue has been worked out (no background job: each change
-- works out what happened since, e.g. loans that ended by themselves, before it writes).
CREATE TABLE ebook_queue_settled (
    record_id   INTEGER PRIMARY KEY REFERENCES records(id) ON DELETE CASCADE,
    settled_at  TEXT NOT NULL
);

-- Where a signed-in patron is in a book, so they read on from there on another device.
CREATE TABLE reading_positions (
    member_id   INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    file_id     INTEGER NOT NULL REFERENCES ebook_files(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (member_id, file_id)
);

-- Books a patron opened, only while members.keep_history is 1; deleted when they ask.
CREATE TABLE reading_history (
    id          INTEGER PRIMARY KEY,
    member_id   INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    record_id   INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,
    read_at     TEXT NOT NULL
);
CREATE INDEX reading_history_member ON reading_history(member_id, read_at);
