"""The Whoosh index behind a small interface: add or replace records, remove them, search,
rebuild — with one writer at a time and searchers that never see a half-written index.

Layout: `index/gen-<n>/` holds a complete index (two Whoosh indexes, `records` and
`units`, plus `meta.json`); the symbolic link `index/current` names the one in use.
A rebuild writes a new generation and swaps the link atomically, so searches go on
against the old one until the new one is complete.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import multiprocessing
import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.fields import ID, NUMERIC, STORED, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.writing import LockError, SegmentWriter

from catalog.datadir import write_atomically
from catalog.search.documents import RecordDocuments, Shard
from catalog.search.fields import Terms
from catalog.search.vocabulary import Vocabulary

SCHEMA_VERSION = 7
log = logging.getLogger("ebookserver.search")
# The postings (as Whoosh counts their size) a rebuild keeps in memory per index and
# process; each time they reach this, they are written out as one segment.
SEGMENT_MB = 160


def record_schema() -> Schema:
    return Schema(
        id=ID(stored=True, unique=True),
        # For fielded queries (judul:, pengarang:, subjek:, penerbit:)
        title=Terms(),
        authors=Terms(),
        subjects=Terms(),
        publisher=Terms(),
        # For plain words: all the metadata in one field (title and authors weigh more by
        # repetition), and the whole text. Two fields per word keep queries cheap.
        meta=Terms(field_boost=4.0),
        # Without positions: a phrase is looked for in the pages/chapters (small documents),
        # never in a whole book's positions.
        content=Terms(phrase=False),
        identifiers=Terms(phrase=False, field_boost=5.0),
        language=ID(sortable=True),
        format=Terms(phrase=False, sortable=True),
        ddc=ID(),
        ddc_class=ID(sortable=True),
        year=NUMERIC(sortable=True, signed=True),
        availability=ID(sortable=True),
        title_sort=ID(sortable=True),
        added=ID(sortable=True),
    )


def unit_schema() -> Schema:
    return Schema(
        record_id=ID(stored=True, sortable=True),
        file_id=STORED(),
        seq=NUMERIC(stored=True),
        language=STORED(),  # the analysis chain its text went through (for snippets)
        text=Terms(),
    )


class SearchIndex:
    """One per data directory and process. Thread-safe: writes are serialised by a lock
    (and across processes by Whoosh's own lock, waited for); searches share one searcher
    pair under a lock, refreshed when another writer has committed."""

    def __init__(self, root: Path, write_timeout: float = 60.0) -> None:
        self.root = Path(root)
        self.write_timeout = write_timeout
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._searchers: tuple | None = None
        self._generation: Path | None = None

    # --- generations -------------------------------------------------------------------

    @property
    def current_link(self) -> Path:
        return self.root / "current"

    def current(self) -> Path | None:
        try:
            target = os.readlink(self.current_link)
        except OSError:
            return None
        path = self.root / target
        return path if path.is_dir() else None

    def meta(self) -> dict:
        generation = self.current()
        if generation is None:
            return {}
        try:
            return json.loads((generation / "meta.json").read_text())
        except (OSError, ValueError):
            return {}

    def state(self, record_count: int) -> str:
        """`ok`, `missing`, `stale` (schema or record count differ) or `corrupt`."""
        generation = self.current()
        if generation is None:
            return "missing"
        meta = self.meta()
        if meta.get("schema_version") != SCHEMA_VERSION:
            return "stale"
        try:
            records, units = self._open(generation)
            with records.searcher() as searcher:
                count = searcher.doc_count()
                list(searcher.lexicon("content"))[:1]  # reads the term index
            with units.searcher() as searcher:
                searcher.doc_count()
            vocabulary = Vocabulary(generation)
            try:
                integrity = vocabulary.connection.execute("PRAGMA quick_check").fetchone()[0]
            finally:
                vocabulary.close()
            if integrity != "ok":
                return "corrupt"
        except Exception:  # noqa: BLE001 - any failure to open means the files are damaged
            return "corrupt"
        return "ok" if count == record_count else "stale"

    def _new_generation(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f"gen-{time.time_ns()}"
        path.mkdir()
        storage = FileStorage(str(path))
        storage.create_index(record_schema(), indexname="records")
        storage.create_index(unit_schema(), indexname="units")
        return path

    def _publish(self, generation: Path, record_count: int) -> None:
        meta = {"schema_version": SCHEMA_VERSION, "records": record_count, "built_at": time.time()}
        write_atomically(generation / "meta.json", json.dumps(meta).encode())
        previous = self.current()
        link = self.root / f".current-{time.time_ns()}"
        os.symlink(generation.name, link)
        os.replace(link, self.current_link)
        # The generation just replaced stays until the next swap, for searches that opened
        # it a moment ago; older ones go (readers holding their files open keep them).
        for old in self.root.glob("gen-*"):
            if old not in (generation, previous):
                shutil.rmtree(old, ignore_errors=True)

    def _open(self, generation: Path):
        storage = FileStorage(str(generation), supports_mmap=False)
        return storage.open_index("records"), storage.open_index("units")

    # --- writing -----------------------------------------------------------------------

    def ensure(self, record_count: int, source: Callable[[], Sequence[Shard]]) -> str:
        """Rebuild the index when it is missing, stale or corrupt; returns the state found.

        Several server processes start at once: a file lock lets one check (and rebuild)
        while the others wait, then find the index as it left it."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".ensure.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                found = self.state(record_count)
                if found != "ok":
                    log.warning(
                        "search index is %s; rebuilding it from the catalogue (%d records)", found, record_count
                    )
                    self.rebuild(source())
                return found
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def rebuild(self, shards: Sequence[Shard]) -> int:
        """Build a complete new generation from *shards*, then swap it in.

        Each shard is analysed and written as a Whoosh segment of its own, in a worker
        process when there are several, so every core works; the segments are then
        committed together. Nothing is visible until the new generation is complete.
        """
        with self._write_lock:
            generation = self._new_generation()
            try:
                records, units = self._open(generation)
                record_writer = records.writer()
                unit_writer = units.writer()
                try:
                    if len(shards) > 1:
                        with ProcessPoolExecutor(
                            len(shards), mp_context=multiprocessing.get_context("forkserver")
                        ) as executor:
                            # A worker that dies raises BrokenProcessPool here, never hangs.
                            written = list(executor.map(_write_shard, [generation] * len(shards), shards))
                    else:
                        written = [_write_shard(generation, shard) for shard in shards]
                except BaseException:
                    record_writer.cancel()
                    unit_writer.cancel()
                    raise
                vocabulary = Vocabulary(generation)
                try:
                    vocabulary.add_counts(part.words for part in written)
                finally:
                    vocabulary.close()
                for writer, name in ((unit_writer, "units"), (record_writer, "records")):
                    segments = [segment for part in written for segment in part.segments[name]]
                    writer._close_segment()  # the commit half of Whoosh's MpWriter
                    writer._commit_toc(segments)
                    writer._finish()
                count = sum(part.count for part in written)
                self._publish(generation, count)
            except BaseException:
                shutil.rmtree(generation, ignore_errors=True)
                raise
        self._close_searchers()
        return count

    def update(self, documents: Iterable[RecordDocuments], removed: Iterable[int] = ()) -> None:
        """Add or replace records and remove others, in one commit of each index."""
        documents, removed = list(documents), [str(record_id) for record_id in removed]
        if not documents and not removed:
            return
        with self._write_lock:
            generation = self.current()
            if generation is None:
                generation = self._new_generation()
                self._publish(generation, 0)
            records, units = self._open(generation)
            record_writer = self._writer(records)
            try:
                unit_writer = self._writer(units)
            except BaseException:
                record_writer.cancel()
                raise
            try:
                for record_id in removed:
                    record_writer.delete_by_term("id", record_id)
                    unit_writer.delete_by_term("record_id", record_id)
                for document in documents:
                    unit_writer.delete_by_term("record_id", str(document.record_id))
                    for unit in document.units:
                        unit_writer.add_document(**unit)
                    record_writer.update_document(**document.record)
                vocabulary = Vocabulary(generation)
                try:
                    vocabulary.add_books(document.vocabulary for document in documents)
                finally:
                    vocabulary.close()
                unit_writer.commit()
                record_writer.commit()
            except BaseException:
                # A failed commit (a full disk) must not keep Whoosh's lock or its temporary
                # files: later writers would wait for the lock until they time out.
                _abandon(unit_writer)
                _abandon(record_writer)
                raise
            with records.searcher() as searcher:
                count = searcher.doc_count()
            meta = {**self.meta(), "records": count}
            write_atomically(generation / "meta.json", json.dumps(meta).encode())

    def _writer(self, index):
        deadline = time.monotonic() + self.write_timeout
        while True:
            try:
                return index.writer(limitmb=64)
            except LockError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    # --- reading -----------------------------------------------------------------------

    @contextlib.contextmanager
    def searchers(self):
        """(record searcher, unit searcher, vocabulary), exclusive to the caller while the block runs."""
        with self._read_lock:
            generation = self.current()
            if generation is None:
                yield None
                return
            if self._searchers is None or generation != self._generation:
                self._close_searchers_locked()
                self._searchers, self._generation = self._open_current()
            else:
                record_searcher, unit_searcher, _vocabulary = self._searchers
                if not record_searcher.up_to_date() or not unit_searcher.up_to_date():
                    # New searchers, not Whoosh's refresh(): refresh reuses the reader of
                    # every segment it knew, with that segment's deletions as they were,
                    # so a book removed or edited since would still be found.
                    self._close_searchers_locked()
                    self._searchers, self._generation = self._open_current()
            yield self._searchers

    def _open_current(self, attempts: int = 5):
        """Searchers on the current generation; if a swap removes it meanwhile, the new one."""
        for attempt in range(attempts):
            generation = self.current()
            if generation is None:
                raise whoosh_index.EmptyIndexError("no current search index")
            try:
                records, units = self._open(generation)
                return (records.searcher(), units.searcher(), Vocabulary(generation)), generation
            except (whoosh_index.EmptyIndexError, OSError):
                if attempt == attempts - 1:
                    raise
                time.sleep(0.01)
        raise AssertionError("unreachable")

    def _close_searchers(self) -> None:
        with self._read_lock:
            self._close_searchers_locked()

    def _close_searchers_locked(self) -> None:
        if self._searchers is not None:
            for searcher in self._searchers:
                searcher.close()
        self._searchers = None
        self._generation = None

    def close(self) -> None:
        self._close_searchers()


def _abandon(writer) -> None:
    """Cancel a Whoosh writer whatever state a failure left it in: its lock and temporary files go."""
    if writer.is_closed:
        return
    with contextlib.suppress(Exception):
        writer.cancel()
    if not writer.is_closed:
        with contextlib.suppress(Exception):
            writer._tempstorage.destroy()
        with contextlib.suppress(Exception):
            writer.writelock.release()
        writer.is_closed = True


@dataclasses.dataclass
class _Written:
    segments: dict[str, list]  # index name -> its new segments
    count: int
    words: Counter


def _write_shard(generation: Path, shard: Shard) -> _Written:
    """Analyse and write one shard's records as segments of each index (not yet committed).

    A segment is closed when its postings reach `SEGMENT_MB`: Whoosh would otherwise sort
    them out to disk in runs and merge those back, which costs more than the building.
    """
    storage = FileStorage(str(generation), supports_mmap=False)
    indexes = {name: storage.open_index(name) for name in ("records", "units")}

    def new_writer(name: str) -> _ShardWriter:
        return _ShardWriter(indexes[name], _lk=False, limitmb=SEGMENT_MB * 2)

    writers = {name: new_writer(name) for name in indexes}
    segments: dict[str, list] = {name: [] for name in indexes}
    count, words = 0, Counter()
    try:
        for document in shard.documents():
            writers["records"].add_document(**document.record)
            for unit in document.units:
                writers["units"].add_document(**unit)
            words.update(document.vocabulary)
            count += 1
            for name, writer in writers.items():
                if writer.pool.currentsize > SEGMENT_MB * 1024 * 1024:
                    segments[name].append(writer._finalize_segment())  # as Whoosh's MpWriter does
                    writers[name] = new_writer(name)
        for name, writer in writers.items():
            if writer._added:
                segments[name].append(writer._finalize_segment())
            else:
                writer._close_segment()
    except BaseException:
        for writer in writers.values():
            writer.cancel()
        raise
    return _Written(segments, count, words)


class _ShardWriter(SegmentWriter):
    """Whoosh's segment writer, reading each document's field lengths once when it writes the
    postings (Whoosh reads them back from disk once per posting)."""

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        per_document = self.per_document_reader()
        try:
            lengths = _Lengths(per_document)
            self.fieldwriter.add_postings(self.schema, lengths, self.pool.iter_postings())
            self.fieldwriter.close()
        finally:
            per_document.close()


class _Lengths:
    def __init__(self, per_document) -> None:
        self.per_document = per_document
        self.cache: dict[str, list[int]] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> int:
        lengths = self.cache.get(fieldname)
        if lengths is None:
            count = self.per_document.doc_count_all()
            lengths = [self.per_document.doc_field_length(number, fieldname, default) for number in range(count)]
            self.cache[fieldname] = lengths
        return lengths[docnum]
