-- The bibliographic catalogue: records, their contributors, identifiers, subjects,
-- the e-book files that carry them and the text of each page or chapter.

CREATE TABLE records (
    id            INTEGER PRIMARY KEY,
    title         TEXT NOT NULL,
    title_source  TEXT NOT NULL DEFAULT 'metadata' CHECK (title_source IN ('metadata', 'filename', 'librarian')),
    subtitle      TEXT,
    publisher     TEXT,
    year          INTEGER,
    language      TEXT,
    description   TEXT,
    ddc           TEXT,
    cover         TEXT,            -- name of the cover image in the covers/ folder
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE record_titles (
    record_id  INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    title      TEXT NOT NULL,
    PRIMARY KEY (record_id, position)
);

CREATE TABLE contributors (
    record_id  INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    name       TEXT NOT NULL,
    sort_name  TEXT,
    role       TEXT NOT NULL DEFAULT 'aut',   -- MARC relator code: aut, edt, trl, ill, ...
    creator    INTEGER NOT NULL DEFAULT 1 CHECK (creator IN (0, 1)),  -- 1: creator, 0: other contributor
    PRIMARY KEY (record_id, position)
);
CREATE INDEX contributors_name ON contributors(name);

CREATE TABLE identifiers (
    record_id  INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,
    scheme     TEXT NOT NULL,                 -- isbn, issn, doi, uuid, url, other
    value      TEXT NOT NULL,
    PRIMARY KEY (record_id, scheme, value)
);
CREATE INDEX identifiers_value ON identifiers(scheme, value);

CREATE TABLE subjects (
    record_id  INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    term       TEXT NOT NULL,
    PRIMARY KEY (record_id, position)
);
CREATE INDEX subjects_term ON subjects(term);

CREATE TABLE ebook_files (
    id             INTEGER PRIMARY KEY,
    record_id      INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,
    format         TEXT NOT NULL CHECK (format IN ('epub', 'pdf')),
    sha256         TEXT NOT NULL UNIQUE,
    size           INTEGER NOT NULL,
    pages          INTEGER NOT NULL,          -- PDF pages, or EPUB spine documents
    has_text       INTEGER NOT NULL CHECK (has_text IN (0, 1)),
    licence        TEXT NOT NULL DEFAULT 'open-access',
    original_name  TEXT NOT NULL,
    imported_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX ebook_files_record ON ebook_files(record_id);

-- One row per PDF page or EPUB spine document, in reading order. The text is stored
-- zlib-compressed; it is what the search index is rebuilt from.
CREATE TABLE text_units (
    file_id  INTEGER NOT NULL REFERENCES ebook_files(id) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,               -- 1-based page number or chapter number
    label    TEXT,                           -- chapter title from the table of contents
    href     TEXT,                           -- EPUB spine document, for the reader's deep links
    text_z   BLOB NOT NULL,
    PRIMARY KEY (file_id, seq)
);
