"""Records and their e-book files in the catalogue: adding, reading, listing."""

from __future__ import annotations

import sqlite3
import zlib
from typing import Any

from catalog.errors import RecordNotFound
from catalog.extract.model import Extraction

TEXT_COMPRESSION_LEVEL = 6


def add_record(
    connection: sqlite3.Connection,
    extraction: Extraction,
    *,
    sha256: str,
    size: int,
    original_name: str,
    cover: str | None,
) -> int:
    """Insert a record with its file and text from an extraction; the caller holds the transaction."""
    cursor = connection.execute(
        "INSERT INTO records (title, title_source, subtitle, publisher, year, language, description, cover)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            extraction.title,
            extraction.title_source,
            extraction.subtitle,
            extraction.publisher,
            extraction.year,
            extraction.language,
            extraction.description,
            cover,
        ),
    )
    record_id = cursor.lastrowid
    connection.executemany(
        "INSERT INTO record_titles (record_id, position, title) VALUES (?, ?, ?)",
        [(record_id, position, title) for position, title in enumerate(extraction.other_titles, start=1)],
    )
    people = [(person, 1) for person in extraction.creators] + [(person, 0) for person in extraction.contributors]
    connection.executemany(
        "INSERT INTO contributors (record_id, position, name, sort_name, role, creator) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (record_id, position, person.name, person.sort_name, person.role, creator)
            for position, (person, creator) in enumerate(people, start=1)
        ],
    )
    connection.executemany(
        "INSERT OR IGNORE INTO identifiers (record_id, scheme, value) VALUES (?, ?, ?)",
        [(record_id, scheme, value) for scheme, value in extraction.identifiers],
    )
    connection.executemany(
        "INSERT INTO subjects (record_id, position, term) VALUES (?, ?, ?)",
        [(record_id, position, term) for position, term in enumerate(extraction.subjects, start=1)],
    )
    file_id = connection.execute(
        "INSERT INTO ebook_files (record_id, format, sha256, size, pages, has_text, original_name)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (record_id, extraction.format, sha256, size, extraction.pages, int(extraction.has_text), original_name),
    ).lastrowid
    connection.executemany(
        "INSERT INTO text_units (file_id, seq, label, href, text_z) VALUES (?, ?, ?, ?, ?)",
        [
            (file_id, unit.seq, unit.label, unit.href, zlib.compress(unit.text.encode("utf-8"), TEXT_COMPRESSION_LEVEL))
            for unit in extraction.units
        ],
    )
    return record_id


ITEM_STATUSES = ("available", "on-loan", "reference", "in-repair", "lost", "withdrawn")


def add_item(
    connection: sqlite3.Connection,
    record_id: int,
    *,
    barcode: str,
    call_number: str | None = None,
    location: str | None = None,
    status: str = "available",
) -> int:
    """Add a printed copy of a record; the caller holds the transaction."""
    return connection.execute(
        "INSERT INTO items (record_id, barcode, call_number, location, status) VALUES (?, ?, ?, ?, ?)",
        (record_id, barcode, call_number, location, status),
    ).lastrowid


def get_record(connection: sqlite3.Connection, record_id: int) -> dict[str, Any]:
    """A record as a plain dictionary (the shape `show --json` and the API print)."""
    row = connection.execute("SELECT * FROM records WHERE id = ?", (record_id,)).fetchone()
    if row is None:
        raise RecordNotFound(record_id=record_id)
    return record_from_row(connection, row)


def list_records(connection: sqlite3.Connection, *, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
    """Records in catalogue order (oldest first)."""
    rows = connection.execute(
        "SELECT * FROM records ORDER BY id LIMIT ? OFFSET ?", (-1 if limit is None else limit, offset)
    ).fetchall()
    return [record_from_row(connection, row) for row in rows]


def count_records(connection: sqlite3.Connection) -> int:
    return connection.execute("SELECT count(*) FROM records").fetchone()[0]


def find_file(connection: sqlite3.Connection, sha256: str) -> sqlite3.Row | None:
    return connection.execute("SELECT * FROM ebook_files WHERE sha256 = ?", (sha256,)).fetchone()


def text_units(connection: sqlite3.Connection, file_id: int) -> list[dict[str, Any]]:
    """The stored text of a file, page by page or chapter by chapter."""
    rows = connection.execute(
        "SELECT seq, label, href, text_z FROM text_units WHERE file_id = ? ORDER BY seq", (file_id,)
    ).fetchall()
    return [
        {"seq": row["seq"], "label": row["label"], "href": row["href"], "text": zlib.decompress(row["text_z"]).decode()}
        for row in rows
    ]


def record_from_row(connection: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
    record_id = row["id"]
    people = connection.execute(
        "SELECT name, sort_name, role, creator FROM contributors WHERE record_id = ? ORDER BY position",
        (record_id,),
    ).fetchall()
    identifiers: dict[str, str] = {}
    for scheme, value in connection.execute(
        "SELECT scheme, value FROM identifiers WHERE record_id = ? ORDER BY rowid", (record_id,)
    ):
        identifiers.setdefault(scheme, value)
    files = [
        {
            "id": file["id"],
            "format": file["format"],
            "sha256": file["sha256"],
            "size": file["size"],
            "pages": file["pages"],
            "has_text": bool(file["has_text"]),
            "licence": file["licence"],
            "original_name": file["original_name"],
            "imported_at": file["imported_at"],
        }
        for file in connection.execute("SELECT * FROM ebook_files WHERE record_id = ? ORDER BY id", (record_id,))
    ]
    first_file = files[0] if files else {}
    return {
        "id": record_id,
        "title": row["title"],
        "title_source": row["title_source"],
        "subtitle": row["subtitle"],
        "other_titles": [
            title
            for (title,) in connection.execute(
                "SELECT title FROM record_titles WHERE record_id = ? ORDER BY position", (record_id,)
            )
        ],
        # The creators the file names (dc:creator, the PDF's Author), whatever their roles.
        "authors": [person["name"] for person in people if person["creator"]],
        "contributors": [
            {"name": person["name"], "role": person["role"], "sort_name": person["sort_name"]} for person in people
        ],
        "language": row["language"],
        "identifiers": identifiers,
        "publisher": row["publisher"],
        "year": row["year"],
        "subjects": [
            term
            for (term,) in connection.execute(
                "SELECT term FROM subjects WHERE record_id = ? ORDER BY position", (record_id,)
            )
        ],
        "ddc": row["ddc"],
        "classification": row["classification"],
        "edition": row["edition"],
        "extent": row["extent"],
        "series": row["series"],
        "place": row["place"],
        "source": row["source"],
        "description": row["description"],
        "licence": row["licence"],
        "licence_copies": row["licence_copies"],
        "loan_days": row["loan_days"],
        "withdrawn": bool(row["withdrawn"]),
        "format": first_file.get("format"),
        "pages": first_file.get("pages"),
        "has_cover": row["cover"] is not None,
        "has_text": any(file["has_text"] for file in files),
        "sha256": first_file.get("sha256"),
        "files": files,
        "items": [
            {
                "id": item["id"],
                "barcode": item["barcode"],
                "call_number": item["call_number"],
                "location": item["location"],
                "status": item["status"],
            }
            for item in connection.execute(
                "SELECT * FROM items WHERE record_id = ? ORDER BY call_number, barcode", (record_id,)
            )
        ],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
