-- Staff accounts, sessions, the library's identity and the audit log.
-- There is no default account: the first admin is made by first-run setup or `ebookserver user add`.

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    full_name      TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('admin', 'librarian')),
    password_hash  TEXT NOT NULL,
    active         INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    failed_logins  INTEGER NOT NULL DEFAULT 0,
    locked_until   TEXT,
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    last_login_at  TEXT
);

-- Sessions live on the server: the cookie holds a random token, this table its SHA-256. Logging
-- out, an expired session or a deactivated account ends it here, whatever the browser keeps.
CREATE TABLE sessions (
    token_hash    TEXT PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('staff', 'member')),
    subject_id    INTEGER NOT NULL,           -- users.id or members.id
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    last_seen_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX sessions_subject ON sessions(kind, subject_id);

-- Failed sign-ins per client address, for rate limiting (pruned as they age).
CREATE TABLE login_failures (
    id       INTEGER PRIMARY KEY,
    client   TEXT NOT NULL,
    at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX login_failures_client ON login_failures(client, at);

-- The library's identity, set at first-run setup; one row.
CREATE TABLE library (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    name           TEXT NOT NULL,
    npp            TEXT,                     -- Nomor Pokok Perpustakaan
    village        TEXT,                     -- desa / kelurahan
    district       TEXT,                     -- kecamatan
    regency        TEXT,                     -- kabupaten / kota
    province       TEXT,
    opening_hours  TEXT,
    updated_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

-- Who changed what. `username` is kept even if the account is later deleted.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    user_id   INTEGER REFERENCES users(id) ON DELETE SET NULL,
    username  TEXT NOT NULL,
    action    TEXT NOT NULL,                 -- e.g. record.edit, member.add, user.add
    target    TEXT,                          -- e.g. record:12
    detail    TEXT                           -- JSON: what changed
);
CREATE INDEX audit_log_at ON audit_log(at);
