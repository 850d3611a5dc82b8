"""A folder import running in the background (a USB drive from the web page), with its progress.

The server may run several processes, so a job's state lives in the data directory, not in
memory: `imports/<id>.json` (what the progress page shows, rewritten as files are done) and
`imports/<id>.outcomes.jsonl` (one line per file, for the result list). One job at a time:
the running job holds a lock on `imports/running.lock`, and a second start is refused. The
importer itself also holds the ingest lock, so a job never writes files while another import
(the command line, an upload) does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import fcntl
import json
import os
import re
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from catalog import errors
from catalog.datadir import write_atomically
from catalog.errors import CatalogError, RefusedFile
from catalog.i18n import N_
from catalog.ingest import Importer, ImportOutcome, expand_paths

KEEP_JOBS = 10
SAVE_EVERY_SECONDS = 0.5
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")


class FolderUnusable(CatalogError):
    code = "folder-unusable"
    message = N_("The folder %(path)s cannot be imported: %(reason)s.")


class ImportRunning(CatalogError):
    code = "import-running"
    message = N_("An import is already running. Wait until it has finished.")


FOLDER_MISSING = N_("it does not exist")
FOLDER_NOT_A_FOLDER = N_("it is a file, not a folder")
FOLDER_NOT_READABLE = N_("the server may not read it")
FOLDER_NOT_ABSOLUTE = N_("give the whole path, starting with /")
JOB_STOPPED = N_("the server stopped while it ran; import the folder again to finish it")


def check_folder(text: str) -> Path:
    """The folder a librarian typed, when it exists, is a folder and can be read."""
    path = Path(text.strip())
    if not path.is_absolute():
        raise FolderUnusable(path=text, reason=FOLDER_NOT_ABSOLUTE)
    if not path.exists():
        raise FolderUnusable(path=text, reason=FOLDER_MISSING)
    if not path.is_dir():
        raise FolderUnusable(path=text, reason=FOLDER_NOT_A_FOLDER)
    if not os.access(path, os.R_OK | os.X_OK):
        raise FolderUnusable(path=text, reason=FOLDER_NOT_READABLE)
    return path


def suggested_folders(roots: tuple[str, ...] = ("/media", "/mnt", "/run/media")) -> list[str]:
    """Where USB drives are usually mounted: /media/<user>/<drive>, /mnt/<drive>."""
    found: list[str] = []
    for root in roots:
        try:
            children = sorted(child for child in Path(root).iterdir() if child.is_dir())
        except OSError:
            continue
        for child in children:
            found.append(str(child))
            with contextlib.suppress(OSError):
                found += [str(grandchild) for grandchild in sorted(child.iterdir()) if grandchild.is_dir()]
    return found[:50]


@dataclasses.dataclass
class ImportJob:
    """What a progress page shows of one folder import."""

    id: str
    folder: str
    started_by: str
    pid: int = 0
    total: int = 0
    done: int = 0
    imported: int = 0
    duplicate: int = 0
    refused: int = 0
    finished: bool = False
    failure: str | None = None
    started_at: str = dataclasses.field(
        default_factory=lambda: datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    )

    def count(self, status: str) -> int:
        return {"imported": self.imported, "duplicate": self.duplicate, "refused": self.refused}[status]

    @property
    def percent(self) -> int:
        return 100 if self.finished or not self.total else min(100, self.done * 100 // self.total)


class ImportJobs:
    """The folder imports of a data directory (in its `imports/` folder)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def start(self, importer: Importer, source: Path, started_by: str) -> ImportJob:
        """Start importing *source* in a thread of this process; ImportRunning if a job runs."""
        self.folder.mkdir(parents=True, exist_ok=True)
        lock = open(self.folder / "running.lock", "a")  # noqa: SIM115 - held by the job's thread until it ends
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise ImportRunning() from None
        job = ImportJob(uuid.uuid4().hex, str(source), started_by, pid=os.getpid())
        self._save(job)
        self._forget_old()
        threading.Thread(target=self._run, args=(importer, job, lock), name=f"import-{job.id[:8]}", daemon=True).start()
        return job

    def get(self, job_id: str) -> ImportJob | None:
        if not _JOB_ID.match(job_id):
            return None
        try:
            job = ImportJob(**json.loads((self.folder / f"{job_id}.json").read_text()))
        except (OSError, ValueError, TypeError):
            return None
        if not job.finished and not _alive(job.pid):
            job.finished, job.failure = True, JOB_STOPPED
        return job

    def running(self) -> ImportJob | None:
        """The job that holds the lock now, if any."""
        if not (self.folder / "running.lock").exists():
            return None
        with open(self.folder / "running.lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pass
            else:
                fcntl.flock(lock, fcntl.LOCK_UN)
                return None
        jobs = [self.get(path.stem) for path in self._job_files()]
        return next((job for job in reversed(jobs) if job is not None and not job.finished), None)

    def outcomes(self, job: ImportJob) -> list[ImportOutcome]:
        """Each file's outcome, with its refusal rebuilt so that it reads in any language."""
        found = []
        with contextlib.suppress(FileNotFoundError), open(self.folder / f"{job.id}.outcomes.jsonl") as lines:
            for line in lines:
                entry = json.loads(line)
                found.append(
                    ImportOutcome(
                        Path(entry["path"]),
                        entry["status"],
                        record_id=entry["record_id"],
                        error=_error(entry["error"], entry["params"]) if entry["error"] else None,
                    )
                )
        return found

    def _run(self, importer: Importer, job: ImportJob, lock) -> None:
        saved = 0.0
        try:
            job.total = sum(1 for _path in expand_paths([Path(job.folder)]))
            self._save(job)
            with open(self.folder / f"{job.id}.outcomes.jsonl", "a") as lines:

                def note(outcome: ImportOutcome) -> None:
                    nonlocal saved
                    lines.write(json.dumps(_entry(outcome)) + "\n")
                    lines.flush()
                    job.done += 1
                    setattr(job, outcome.status, getattr(job, outcome.status) + 1)
                    if time.monotonic() - saved >= SAVE_EVERY_SECONDS:
                        self._save(job)
                        saved = time.monotonic()

                importer.run([Path(job.folder)], on_outcome=note)
        except Exception as error:  # noqa: BLE001 - the page must say the job stopped, whatever happened
            job.failure = str(error) or type(error).__name__
        finally:
            job.finished = True
            with contextlib.suppress(OSError):
                self._save(job)
            fcntl.flock(lock, fcntl.LOCK_UN)
            lock.close()

    def _save(self, job: ImportJob) -> None:
        write_atomically(self.folder / f"{job.id}.json", json.dumps(dataclasses.asdict(job)).encode())

    def _job_files(self) -> list[Path]:
        return sorted(self.folder.glob("*.json"), key=lambda path: path.stat().st_mtime)

    def _forget_old(self) -> None:
        for path in self._job_files()[:-KEEP_JOBS]:
            for stale in (path, path.with_name(path.stem + ".outcomes.jsonl")):
                with contextlib.suppress(FileNotFoundError):
                    stale.unlink()


def _entry(outcome: ImportOutcome) -> dict[str, Any]:
    error = outcome.error
    return {
        "path": str(outcome.path),
        "status": outcome.status,
        "record_id": outcome.record_id,
        "error": type(error).__name__ if error else None,
        "params": {
            name: value if isinstance(value, int | float) else str(value) for name, value in error.params.items()
        }
        if error
        else {},
    }


def _error(name: str, params: dict[str, Any]) -> CatalogError:
    error_class = getattr(errors, name, None)
    if not (isinstance(error_class, type) and issubclass(error_class, CatalogError)):
        error_class = RefusedFile
    return error_class(**params)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
