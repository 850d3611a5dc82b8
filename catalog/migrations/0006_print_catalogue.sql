-- The print catalogue: bibliographic fields that printed books (MARC, SLiMS, INLISLite) carry,
-- and where a record came from. Records may now have print items only, e-book files only, or both.

ALTER TABLE records ADD COLUMN edition TEXT;              -- MARC 250
ALTER TABLE records ADD COLUMN extent TEXT;               -- MARC 300: e.g. "xii, 180 hlm. : ilus. ; 21 cm"
ALTER TABLE records ADD COLUMN series TEXT;               -- MARC 490
ALTER TABLE records ADD COLUMN classification TEXT;       -- MARC 084: a local classification
ALTER TABLE records ADD COLUMN place TEXT;                -- MARC 260/264 $a: place of publication
ALTER TABLE records ADD COLUMN source TEXT NOT NULL DEFAULT 'file'
    CHECK (source IN ('file', 'librarian', 'marc', 'slims', 'inlislite'));
