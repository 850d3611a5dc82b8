"""Importing files and folders into the catalogue, one atomic step per file.

For each file: refuse what is empty or too large, hash it, report a file already stored
as a duplicate, copy it into the data directory's tmp/ (so the bytes read are the bytes
kept), extract it in a worker process, then move the copy into place and commit the
record in one transaction. A crash between those last steps can leave only files that no
record names; they are swept away when the next import starts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from catalog import db, records, search
from catalog.datadir import DataDir, is_disk_full, write_atomically
from catalog.errors import CatalogError, IndexNotUpdated, RefusedFile, StorageFull, UnreadableSource
from catalog.extract import Extraction, Limits, check_size
from catalog.i18n import N_
from catalog.search.index import SearchIndex
from catalog.workers import ExtractionPool, Job, PoolSettings

_CHUNK = 1024 * 1024


@dataclasses.dataclass
class ImportOutcome:
    path: Path
    status: str  # imported | duplicate | refused
    record_id: int | None = None
    sha256: str | None = None
    error: CatalogError | None = None
    size: int = 0
    pages: int = 0

    @property
    def reason_code(self) -> str | None:
        return self.error.code if self.error else None


def expand_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """Every regular file named, and every non-hidden file under the folders named, sorted."""
    for path in paths:
        if path.is_dir():
            for folder, subfolders, files in os.walk(path):
                subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
                for name in sorted(files):
                    if not name.startswith("."):
                        yield Path(folder) / name
        else:
            yield path


class Importer:
    def __init__(self, datadir: DataDir, limits: Limits, pool: PoolSettings, index: SearchIndex | None = None) -> None:
        self.datadir = datadir
        self.limits = limits
        self.pool = pool
        self.index = index
        # Set by `run` when the books were stored but the index could not take them in.
        self.index_problem: IndexNotUpdated | None = None

    def run(
        self, paths: Iterable[Path], on_outcome: Callable[[ImportOutcome], None] | None = None
    ) -> list[ImportOutcome]:
        outcomes: list[ImportOutcome] = []

        def report(outcome: ImportOutcome) -> None:
            outcomes.append(outcome)
            self._log(connection, outcome)
            if on_outcome:
                on_outcome(outcome)

        self.datadir.create()
        with self.datadir.ingest_lock(), contextlib.closing(self.datadir.connect()) as connection:
            sweep(self.datadir, connection)
            # Copies of a file whose first copy is still being read wait for its outcome.
            waiting: dict[str, list[Path]] = {}
            jobs = self._jobs(expand_paths(paths), connection, waiting, report)
            for job, result in ExtractionPool(self.limits, self.pool).run(jobs):
                if isinstance(result, Extraction):
                    outcome = self._store(connection, job, result)
                else:
                    _remove(job.path)
                    outcome = ImportOutcome(Path(job.original_name), "refused", sha256=job.key[0], error=result)
                report(outcome)
                for copy in waiting.pop(job.key[0], []):
                    status = "duplicate" if outcome.status == "imported" else outcome.status
                    report(dataclasses.replace(outcome, path=copy, status=status))
            sweep(self.datadir, connection)
            if self.index is not None:
                imported = [outcome.record_id for outcome in outcomes if outcome.status == "imported"]
                self.index_problem = _update_index(self.index, connection, imported)
        return outcomes

    def _jobs(self, files, connection, waiting: dict[str, list[Path]], report) -> Iterator[Job]:
        for path in files:
            try:
                job = self._prepare(path, connection, waiting)
            except RefusedFile as error:
                report(ImportOutcome(path, "refused", error=error))
                continue
            if isinstance(job, ImportOutcome):
                report(job)
            elif job is not None:
                yield job

    def _prepare(self, path: Path, connection: sqlite3.Connection, waiting: dict[str, list[Path]]):
        """A job for the workers, an outcome known at once, or None for a copy of a file in flight."""
        try:
            size = path.stat().st_size
            check_size(size, self.limits)
            sha256 = _hash(path)
            existing = records.find_file(connection, sha256)
            if existing is not None:
                return ImportOutcome(path, "duplicate", record_id=existing["record_id"], sha256=sha256, size=size)
            if sha256 in waiting:
                waiting[sha256].append(path)
                return None
            copy = self.datadir.tmp_dir / f"{sha256}.{uuid.uuid4().hex}.part"
            if _copy_and_hash(path, copy) != sha256:
                _remove(copy)
                raise UnreadableSource(detail=N_("the file changed while it was being read"))
        except OSError as error:
            if is_disk_full(error):
                raise StorageFull() from error
            raise UnreadableSource(detail=error.strerror or str(error)) from error
        waiting[sha256] = []
        return Job(key=(sha256, size), path=copy, original_name=str(path))

    def _store(self, connection: sqlite3.Connection, job: Job, extraction: Extraction) -> ImportOutcome:
        sha256, size = job.key
        book = self.datadir.book_path(sha256, extraction.format)
        written: list[Path] = []
        try:
            book.parent.mkdir(parents=True, exist_ok=True)
            os.replace(job.path, book)
            written.append(book)
            cover = None
            if extraction.cover_jpeg:
                for target, content in (
                    (self.datadir.cover_path(sha256), extraction.cover_jpeg),
                    (self.datadir.thumb_path(sha256), extraction.thumb_jpeg),
                ):
                    write_atomically(target, content)
                    written.append(target)
                cover = self.datadir.cover_path(sha256).name
            with db.transaction(connection):
                record_id = records.add_record(
                    connection,
                    extraction,
                    sha256=sha256,
                    size=size,
                    original_name=Path(job.original_name).name,
                    cover=cover,
                )
        except (OSError, sqlite3.Error) as error:
            for path in [*written, job.path]:
                _remove(path)
            if is_disk_full(error):
                refusal: RefusedFile = StorageFull()
            else:
                refusal = UnreadableSource(detail=str(error))
            return ImportOutcome(Path(job.original_name), "refused", sha256=sha256, error=refusal, size=size)
        return ImportOutcome(Path(job.original_name), "imported", record_id, sha256, size=size, pages=extraction.pages)

    def _log(self, connection: sqlite3.Connection, outcome: ImportOutcome) -> None:
        try:
            with db.transaction(connection):
                connection.execute(
                    "INSERT INTO import_log (path, sha256, status, record_id, reason_code, reason)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        str(outcome.path),
                        outcome.sha256,
                        outcome.status,
                        outcome.record_id,
                        outcome.reason_code,
                        str(outcome.error) if outcome.error else None,
                    ),
                )
        except sqlite3.Error:
            pass  # the log is a convenience; a full disk must not turn a report into a crash


def _update_index(index: SearchIndex, connection: sqlite3.Connection, imported: list[int]) -> IndexNotUpdated | None:
    """Index the records just imported (and repair a stale index); a full disk is reported, not
    raised: the records are committed already, and the count check finds the index stale later."""
    try:
        search.index_records(index, connection, imported)
        search.ensure_index(index, connection)
    except (OSError, sqlite3.Error) as error:
        if not is_disk_full(error):
            raise
        return IndexNotUpdated() if imported else None  # only a repair failed: the next one tries again
    return None


def sweep(datadir: DataDir, connection: sqlite3.Connection) -> list[Path]:
    """Remove what an interrupted import left: tmp/ copies and stored files no record names."""
    removed = []
    for leftover in datadir.tmp_dir.glob("*"):
        _remove(leftover)
        removed.append(leftover)
    known = {sha for (sha,) in connection.execute("SELECT sha256 FROM ebook_files")}
    for sha256, path in datadir.stored_files():
        if sha256 not in known:
            _remove(path)
            removed.append(path)
    return removed


def _hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_and_hash(source: Path, target: Path) -> str:
    digest = hashlib.sha256()
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with source.open("rb") as reader, target.open("wb") as writer:
            while chunk := reader.read(_CHUNK):
                digest.update(chunk)
                writer.write(chunk)
            writer.flush()
            os.fsync(writer.fileno())
    except BaseException:
        _remove(target)
        raise
    return digest.hexdigest()


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
