-- The TV kiosk (issue 8): what the librarian lets it show, when the library is open (the
-- night screen outside those hours), the librarian's picks, and the TV's browser engine as
-- last seen (so the librarian knows what the TV runs).

CREATE TABLE kiosk_settings (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    slides            TEXT NOT NULL DEFAULT 'new,popular,picks,events,hours',
    interval_seconds  INTEGER NOT NULL DEFAULT 12 CHECK (interval_seconds BETWEEN 3 AND 600),
    show_events       INTEGER NOT NULL DEFAULT 1 CHECK (show_events IN (0, 1)),
    open_days         TEXT NOT NULL DEFAULT '1,2,3,4,5,6',   -- ISO weekdays, 1 = Monday
    opens_at          TEXT,                                  -- HH:MM local time; NULL: always on
    closes_at         TEXT,
    engine            TEXT,                                  -- the TV's browser engine, from its user agent
    engine_seen_at    TEXT,
    updated_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
INSERT INTO kiosk_settings (id) VALUES (1);

CREATE TABLE kiosk_picks (
    record_id  INTEGER PRIMARY KEY REFERENCES records(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL
);
