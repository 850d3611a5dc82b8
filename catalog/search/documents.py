"""What the index holds for a record: one record document and one document per page or chapter.

The record document carries the metadata and the whole text without positions (so a book
matches when its words are anywhere in it, and facets count books, not pages); the unit
documents carry each page's or chapter's text with positions, for phrases and so a hit can
say where it is. All text is analysed here (see `analysis`) and stored as space-separated
terms.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import zlib
from collections.abc import Iterator

from catalog.search.analysis import detect_language, language_of, terms, words


@dataclasses.dataclass
class RecordDocuments:
    record_id: int
    record: dict
    units: list[dict]
    vocabulary: set[str] = dataclasses.field(default_factory=set)


def ddc_class(ddc: str | None) -> str | None:
    """`398.2` -> `300`: the main class a DDC number belongs to."""
    if ddc and ddc[:1].isdigit():
        return ddc[0] + "00"
    return None


def availability(licence: str, has_files: bool) -> str:
    """How a patron gets the book: `open` (read and download), `licensed` (borrow it),
    `in-library` (read on the library's PCs), or `print` (on the shelf only)."""
    if not has_files:
        return "print"
    return {"open-access": "open", "lending": "licensed"}.get(licence, licence)


def indexable_count(connection: sqlite3.Connection) -> int:
    """How many records the index should hold: every one not withdrawn."""
    return connection.execute("SELECT count(*) FROM records WHERE withdrawn = 0").fetchone()[0]


def documents_for(connection: sqlite3.Connection, record_id: int) -> RecordDocuments | None:
    row = connection.execute("SELECT * FROM records WHERE id = ?", (record_id,)).fetchone()
    if row is None or row["withdrawn"]:  # a withdrawn title is not searchable
        return None
    people = [r["name"] for r in connection.execute("SELECT name FROM contributors WHERE record_id = ?", (record_id,))]
    subjects = [r["term"] for r in connection.execute("SELECT term FROM subjects WHERE record_id = ?", (record_id,))]
    identifiers = [
        r["value"] for r in connection.execute("SELECT value FROM identifiers WHERE record_id = ?", (record_id,))
    ]
    files = connection.execute(
        "SELECT id, format, licence FROM ebook_files WHERE record_id = ? ORDER BY id", (record_id,)
    ).fetchall()
    texts = []
    for file in files:
        for unit in connection.execute(
            "SELECT seq, text_z FROM text_units WHERE file_id = ? ORDER BY seq", (file["id"],)
        ):
            texts.append((file["id"], unit["seq"], zlib.decompress(unit["text_z"]).decode("utf-8")))
    language = row["language"] or detect_language(" ".join(text for *_, text in texts[:20]))
    unit_documents = []
    content: list[str] = []
    vocabulary: set[str] = set()
    for file_id, seq, text in texts:
        unit_terms = terms(text, language)
        if not unit_terms:
            continue
        content.extend(unit_terms)
        vocabulary.update(words(text))
        unit_documents.append(
            {
                "record_id": str(record_id),
                "file_id": file_id,
                "seq": seq,
                "language": language_of(language),
                "text": " ".join(unit_terms),
            }
        )
    metadata_text = " ".join(filter(None, [row["title"], row["subtitle"], *people, *subjects, row["publisher"]]))
    vocabulary.update(words(metadata_text))
    record = {
        "id": str(record_id),
        "title": _analysed(" ".join(filter(None, [row["title"], row["subtitle"]])), language),
        "authors": _analysed(" ".join(people), language),
        "subjects": _analysed(" ".join(subjects), language),
        "publisher": _analysed(row["publisher"], language),
        "meta": _analysed(
            " ".join(
                filter(
                    None,
                    [
                        row["title"],
                        row["title"],
                        row["subtitle"],
                        *people,
                        *people,
                        *subjects,
                        row["publisher"],
                        row["description"],
                    ],
                )
            ),
            language,
        ),
        "content": " ".join(content),
        "identifiers": " ".join(_identifier_forms(identifiers)),
        "language": (language or "und").split("-", 1)[0].lower(),
        "format": " ".join(sorted({file["format"] for file in files})) or "print",
        "ddc": row["ddc"] or "",
        "ddc_class": ddc_class(row["ddc"]) or "none",
        "year": row["year"] if row["year"] is not None else -1,
        "availability": availability(row["licence"], bool(files)),
        "title_sort": (row["title"] or "").casefold()[:200],
        "added": row["created_at"],
    }
    spelling = {word for word in vocabulary if 3 <= len(word) <= 30 and word.isalpha()}
    return RecordDocuments(record_id, record, unit_documents, spelling)


@dataclasses.dataclass(frozen=True)
class Shard:
    """Some of a catalogue's records, to analyse and index in one process (picklable)."""

    database: str
    record_ids: tuple[int, ...]

    def documents(self) -> Iterator[RecordDocuments]:
        from catalog import db

        connection = db.connect(self.database)
        try:
            for record_id in self.record_ids:
                documents = documents_for(connection, record_id)
                if documents is not None:
                    yield documents
        finally:
            connection.close()


def shards(connection: sqlite3.Connection, processes: int = 1, batch: int = 16) -> list[Shard]:
    """Every record, dealt out in batches of *batch* to *processes* shards of about equal work."""
    database = _database_path(connection)
    if database is None:
        raise ValueError("the catalogue must be a database file to be indexed")
    record_ids = [
        record_id for (record_id,) in connection.execute("SELECT id FROM records WHERE withdrawn = 0 ORDER BY id")
    ]
    count = max(1, min(processes, len(record_ids) // batch))
    dealt: list[list[int]] = [[] for _ in range(count)]
    for number, start in enumerate(range(0, len(record_ids), batch)):
        dealt[number % count].extend(record_ids[start : start + batch])
    return [Shard(database, tuple(ids)) for ids in dealt]


def _database_path(connection: sqlite3.Connection) -> str | None:
    for _seq, name, path in connection.execute("PRAGMA database_list"):
        if name == "main" and path:
            return path
    return None


def _analysed(text: str | None, language: str | None) -> str:
    return " ".join(terms(text, language)) if text else ""


def _identifier_forms(identifiers: list[str]) -> list[str]:
    forms = []
    for value in identifiers:
        folded = value.strip().lower()
        forms.append(folded.replace(" ", ""))
        compact = folded.replace("-", "").replace(" ", "")
        if compact != folded:
            forms.append(compact)
    return forms
