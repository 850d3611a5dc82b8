"""A search-index commit that fails because the disk is full: the writer's lock and temporary
files go with it, the books already committed stay, the importer says what happened, and the
next import brings the index up to date. (The same on a real full filesystem:
tests/robustness/test_full_disk.py.)"""

from __future__ import annotations

import contextlib
import errno
import time

import pytest
from whoosh.writing import SegmentWriter

from catalog import search
from catalog.errors import IndexNotUpdated
from tests.catalog.search.library import book_epub, build_library, importer


def _full_disk(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.fixture
def library(tmp_path):
    folder = tmp_path / "books"
    folder.mkdir()
    built = build_library(folder, [book_epub(folder, "padi", title="Menanam Padi", chapters=("Petani menanam padi.",))])
    yield built
    built.index.close()


def test_a_failed_commit_frees_the_lock_and_leaves_no_temporary_files(library, tmp_path, monkeypatch):
    book = book_epub(tmp_path, "nelayan", title="Kisah Nelayan", chapters=("Nelayan berangkat ke laut.",))
    [outcome] = importer(library.datadir, None).run([book])  # in the database, not yet in the index
    monkeypatch.setattr(SegmentWriter, "commit", _full_disk)
    with contextlib.closing(library.datadir.connect()) as connection:
        with pytest.raises(OSError):
            search.index_records(library.index, connection, [outcome.record_id])
        monkeypatch.undo()
        assert not list(library.index.current().glob("*.tmp"))
        library.index.write_timeout = 2  # a lock still held would make the next writer give up
        started = time.monotonic()
        search.index_records(library.index, connection, [outcome.record_id])
    assert time.monotonic() - started < 2
    library.ids["nelayan"] = outcome.record_id
    assert library.found("nelayan") == {"nelayan"}


def test_the_importer_keeps_the_books_and_says_the_index_missed_them(library, tmp_path, monkeypatch):
    first = book_epub(tmp_path, "nelayan", title="Kisah Nelayan", chapters=("Nelayan berangkat ke laut.",))
    monkeypatch.setattr(SegmentWriter, "commit", _full_disk)
    running = importer(library.datadir, library.index)
    [outcome] = running.run([first])
    assert outcome.status == "imported"
    assert isinstance(running.index_problem, IndexNotUpdated)
    assert "search does not find them yet" in running.index_problem.render()
    library.ids["nelayan"] = outcome.record_id
    assert library.found("nelayan") == set()
    # Room again: the next import indexes its own book and repairs what the index missed.
    monkeypatch.undo()
    second = book_epub(tmp_path, "pasar", title="Pasar Pagi", chapters=("Ikan dijual di pasar pagi.",))
    running = importer(library.datadir, library.index)
    [later] = running.run([second])
    library.ids["pasar"] = later.record_id
    assert running.index_problem is None
    assert library.found("nelayan") == {"nelayan"} and library.found("pasar") == {"pasar"}
