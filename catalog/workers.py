"""Extraction in worker processes, so both cores work and a bad file cannot hurt the importer.

Each worker handles one file at a time under an address-space limit and a lowered CPU
priority. A file that takes longer than its time budget has its worker killed and
replaced; a worker that dies (a crash inside a C library, the memory limit) costs only
the file it was reading.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import multiprocessing.connection
import os
import resource
import time
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from catalog import errors
from catalog.errors import CatalogError, ExtractionFailed, ExtractionTimeout, RefusedFile
from catalog.extract import Extraction, Limits, extract_file
from catalog.i18n import N_


@dataclasses.dataclass
class Job:
    key: Any
    path: Path
    original_name: str


@dataclasses.dataclass(frozen=True)
class PoolSettings:
    processes: int = 2
    timeout_seconds: float = 120.0
    memory_limit_mb: int = 1536
    nice: int = 10


def _worker_main(connection, limits: Limits, memory_limit_mb: int, nice: int) -> None:
    if memory_limit_mb:
        limit = memory_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if nice:
        os.nice(nice)
    while True:
        try:
            job = connection.recv()
        except EOFError:
            return
        if job is None:
            return
        path, original_name = job
        try:
            reply = ("ok", extract_file(Path(path), limits, original_name))
        except CatalogError as error:
            reply = ("refused", type(error).__name__, error.params)
        except MemoryError:
            reply = ("refused", "ExtractionFailed", {"detail": N_("it needs more memory than allowed")})
        except Exception as error:  # noqa: BLE001 - any failure on a stranger's file is a refusal, not a crash
            reply = ("refused", "ExtractionFailed", {"detail": type(error).__name__})
        connection.send(reply)


class _Worker:
    def __init__(self, context, limits: Limits, settings: PoolSettings) -> None:
        self.connection, child = context.Pipe()
        self.process = context.Process(
            target=_worker_main,
            args=(child, limits, settings.memory_limit_mb, settings.nice),
            daemon=True,
        )
        self.process.start()
        child.close()
        self.job: Job | None = None
        self.deadline = 0.0

    def start(self, job: Job, timeout: float) -> None:
        self.job = job
        self.deadline = time.monotonic() + timeout
        self.connection.send((str(job.path), job.original_name))

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        else:
            with contextlib.suppress(BrokenPipeError, OSError):
                self.connection.send(None)
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.connection.close()


class ExtractionPool:
    """Runs `extract_file` on jobs in worker processes and yields (job, outcome) as they finish.

    The outcome is an `Extraction` or a `RefusedFile`. Jobs are pulled from the iterable
    only when a worker is free, so the caller's preparation of the next file overlaps
    the extraction of the previous ones.
    """

    def __init__(self, limits: Limits, settings: PoolSettings) -> None:
        self.limits = limits
        self.settings = settings
        self.context = multiprocessing.get_context("forkserver")

    def run(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, Extraction | RefusedFile]]:
        pending: deque[Job] = deque()
        source = iter(jobs)
        workers: list[_Worker] = []
        try:
            while True:
                idle = [worker for worker in workers if worker.job is None]
                while idle or len(workers) < self.settings.processes:
                    job = pending.popleft() if pending else next(source, None)
                    if job is None:
                        break
                    worker = idle.pop() if idle else self._spawn(workers)
                    worker.start(job, self.settings.timeout_seconds)
                busy = [worker for worker in workers if worker.job is not None]
                if not busy:
                    return
                timeout = max(0.0, min(worker.deadline for worker in busy) - time.monotonic())
                ready = multiprocessing.connection.wait([worker.connection for worker in busy], timeout)
                for worker in busy:
                    if worker.connection in ready:
                        yield self._collect(worker, workers)
                    elif time.monotonic() >= worker.deadline:
                        job = worker.job
                        self._replace(worker, workers)
                        yield job, ExtractionTimeout(seconds=int(self.settings.timeout_seconds))
        finally:
            for worker in workers:
                worker.stop(kill=worker.job is not None)

    def _spawn(self, workers: list[_Worker]) -> _Worker:
        worker = _Worker(self.context, self.limits, self.settings)
        workers.append(worker)
        return worker

    def _replace(self, worker: _Worker, workers: list[_Worker]) -> None:
        worker.stop(kill=True)
        workers.remove(worker)

    def _collect(self, worker: _Worker, workers: list[_Worker]) -> tuple[Job, Extraction | RefusedFile]:
        job = worker.job
        try:
            reply = worker.connection.recv()
        except (EOFError, OSError):
            self._replace(worker, workers)
            return job, ExtractionFailed(detail=N_("the reader process stopped unexpectedly"))
        worker.job = None
        if reply[0] == "ok":
            return job, reply[1]
        error_class = getattr(errors, reply[1], ExtractionFailed)
        if not (isinstance(error_class, type) and issubclass(error_class, RefusedFile)):
            error_class = ExtractionFailed
        return job, error_class(**reply[2])
