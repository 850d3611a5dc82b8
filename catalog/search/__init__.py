"""Full-text search inside every book, behind a small interface.

index = open_index(datadir)          # a SearchIndex for the data directory
ensure_index(index, connection)      # rebuild when missing, stale or corrupt
index_records(index, connection, ids, removed=())   # keep it in step with the database
search(index, connection, SearchRequest("membaca buku"))  # -> dict (see service.py)
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable

from catalog.datadir import DataDir
from catalog.search.documents import documents_for, indexable_count, shards
from catalog.search.index import SearchIndex
from catalog.search.service import SearchRequest, search

__all__ = ["SearchIndex", "SearchRequest", "ensure_index", "index_records", "open_index", "rebuild_index", "search"]


def open_index(datadir: DataDir) -> SearchIndex:
    return SearchIndex(datadir.index_dir)


def ensure_index(index: SearchIndex, connection: sqlite3.Connection, processes: int | None = None) -> str:
    """Check the index against the database and rebuild it if needed; returns what was found."""
    return index.ensure(indexable_count(connection), lambda: shards(connection, processes or os.cpu_count() or 1))


def rebuild_index(index: SearchIndex, connection: sqlite3.Connection, processes: int | None = None) -> int:
    """Rebuild from the database in `processes` worker processes (default: one per core)."""
    return index.rebuild(shards(connection, processes or os.cpu_count() or 1))


def index_records(
    index: SearchIndex, connection: sqlite3.Connection, record_ids: Iterable[int], removed: Iterable[int] = ()
) -> None:
    documents = [documents_for(connection, record_id) for record_id in record_ids]
    index.update([document for document in documents if document is not None], removed)
