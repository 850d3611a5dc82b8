-- Members (patrons) and the circulation of printed copies.

CREATE TABLE member_categories (
    code         TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    loan_days    INTEGER NOT NULL DEFAULT 7 CHECK (loan_days > 0),
    max_loans    INTEGER NOT NULL DEFAULT 3 CHECK (max_loans >= 0),
    max_renewals INTEGER NOT NULL DEFAULT 1 CHECK (max_renewals >= 0)
);
INSERT INTO member_categories (code, name, loan_days, max_loans, max_renewals) VALUES
    ('umum', 'Umum', 7, 3, 1),
    ('pelajar', 'Pelajar', 7, 3, 1),
    ('anak', 'Anak-anak', 7, 2, 1);

CREATE TABLE members (
    id             INTEGER PRIMARY KEY,
    number         TEXT NOT NULL UNIQUE COLLATE NOCASE,   -- on the card (barcode/QR)
    name           TEXT NOT NULL,
    birth_year     INTEGER,
    gender         TEXT CHECK (gender IN ('L', 'P')),     -- laki-laki / perempuan, as the programme counts
    address        TEXT,
    phone          TEXT,
    category       TEXT NOT NULL DEFAULT 'umum' REFERENCES member_categories(code),
    pin_hash       TEXT,                                   -- NULL until a PIN is set
    blocked        INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),
    failed_logins  INTEGER NOT NULL DEFAULT 0,
    locked_until   TEXT,
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

-- Loans of printed copies. A deleted member's loans are ended and kept without the member.
CREATE TABLE print_loans (
    id           INTEGER PRIMARY KEY,
    item_id      INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    member_id    INTEGER REFERENCES members(id) ON DELETE SET NULL,
    loaned_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    due_at       TEXT NOT NULL,
    returned_at  TEXT,
    renewals     INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX print_loans_open_item ON print_loans(item_id) WHERE returned_at IS NULL;
CREATE INDEX print_loans_member ON print_loans(member_id, returned_at);
CREATE INDEX print_loans_due ON print_loans(due_at) WHERE returned_at IS NULL;
