"""What the index holds for a record: one record document and one document per page or chapter.

The record document carries the metadata and the whole text (so a book matches when its
words are anywhere in it, and facets count books, not pages); the unit documents carry
each page's or chapter's text with positions, so a hit can say where it is. All text is
analysed here (see `analysis`) and stored as space-separated terms.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import sqlite3
import zlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

from catalog.search.analysis import detect_language, terms, words


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


def documents_for(connection: sqlite3.Connection, record_id: int) -> RecordDocuments | None:
    row = connection.execute("SELECT * FROM records WHERE id = ?", (record_id,)).fetchone()
    if row is None:
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
            {"record_id": str(record_id), "file_id": file_id, "seq": seq, "text": " ".join(unit_terms)}
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
        "availability": "open" if any(file["licence"] == "open-access" for file in files) else "licensed",
        "title_sort": (row["title"] or "").casefold()[:200],
        "added": row["created_at"],
    }
    spelling = {word for word in vocabulary if 3 <= len(word) <= 30 and word.isalpha()}
    return RecordDocuments(record_id, record, unit_documents, spelling)


def all_documents(connection: sqlite3.Connection, processes: int = 1) -> Iterator[RecordDocuments]:
    """Documents for every record; with `processes` > 1 the analysis runs in worker processes
    (each with its own connection to the same database) while the caller writes the index."""
    record_ids = [record_id for (record_id,) in connection.execute("SELECT id FROM records ORDER BY id")]
    database = _database_path(connection)
    if processes <= 1 or len(record_ids) < 2 * processes or database is None:
        for record_id in record_ids:
            documents = documents_for(connection, record_id)
            if documents is not None:
                yield documents
        return
    batches = [record_ids[start : start + _BATCH] for start in range(0, len(record_ids), _BATCH)]
    # concurrent.futures, not multiprocessing.Pool: a worker that dies raises BrokenProcessPool
    # here instead of being replaced forever while the rebuild waits.
    with ProcessPoolExecutor(
        processes,
        mp_context=multiprocessing.get_context("forkserver"),
        initializer=_open_worker_connection,
        initargs=(database,),
    ) as executor:
        # At most two batches per worker in flight: analysis outruns the index writer, and
        # an unbounded map would pile the analysed collection up in this process's memory.
        pending: deque = deque()
        for batch in batches:
            pending.append(executor.submit(_documents_for_batch, batch))
            if len(pending) >= 2 * processes:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


_BATCH = 16
_worker_connection: sqlite3.Connection | None = None


def _database_path(connection: sqlite3.Connection) -> str | None:
    for _seq, name, path in connection.execute("PRAGMA database_list"):
        if name == "main" and path:
            return path
    return None


def _open_worker_connection(database: str) -> None:
    global _worker_connection
    from catalog import db

    _worker_connection = db.connect(database)


def _documents_for_batch(record_ids: list[int]) -> list[RecordDocuments]:
    assert _worker_connection is not None
    found = (documents_for(_worker_connection, record_id) for record_id in record_ids)
    return [documents for documents in found if documents is not None]


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
