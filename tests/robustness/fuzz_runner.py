"""Reading one file as the server does, in a forked child under the ingest worker's limits.

The child runs `extract_file` (what an ingest worker runs) under the worker's address-space
limit, then renders each chapter and picture of an accepted EPUB as the reader does. The
parent kills it past the time budget and collects how it ended, how long it took and its
peak resident memory (`wait4`), so a fuzzer can tell apart: accepted, refused with one of
the project's translated reasons, crashed (any other exception: a bug to fix), killed past
the budget, or died (a signal or an exit without a reply, such as a crash inside MuPDF).

A forked child starts with its parent's memory, so its peak RSS includes the parent's
(reported as the baseline by `baseline_rss_mb`); the production worker starts smaller.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import resource
import select
import signal
import time
import traceback
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

from catalog.errors import CatalogError
from catalog.extract import Limits, extract_file
from catalog.extract.chapter import IMAGE_TYPES, chapter_html, chapter_image, read_package

MAX_CHAPTERS = 40  # enough to cover every structure; more would only repeat the same code
MAX_PICTURES = 20


@dataclasses.dataclass
class Outcome:
    kind: str  # accepted | refused | crashed | timeout | died
    reason: str  # the refusal's code, the exception's type, or the signal
    detail: str  # the refusal's message, or the traceback
    seconds: float
    max_rss_mb: float
    chapters: int = 0
    chapter_seconds: float = 0.0

    @property
    def is_clear(self) -> bool:
        """Accepted, or refused with a reason the user is told: what a safe server must do."""
        return self.kind in ("accepted", "refused")


def read_like_the_server(path: Path, limits: Limits) -> dict:
    """Import-time extraction, then the reader's rendering of each chapter and picture,
    catching only what the reader's views catch (they show the stored text instead)."""
    extraction = extract_file(path, limits, original_name=path.name)
    started = time.perf_counter()
    rendered = 0
    if extraction.format == "epub":
        for unit in extraction.units[:MAX_CHAPTERS]:
            if unit.href:
                rendered += 1
                with contextlib.suppress(CatalogError, OSError):
                    chapter_html(
                        path,
                        unit.href,
                        limits,
                        chapter_url=lambda href, fragment: f"/read/{href}#{fragment}",
                        image_url=lambda name: f"/picture/{name}",
                        highlight=lambda text: [(0, min(4, len(text)))],
                    )
        for name in _pictures(path):
            with contextlib.suppress(CatalogError, OSError):
                chapter_image(path, name, limits)
    return {"chapters": rendered, "chapter_seconds": time.perf_counter() - started}


def _pictures(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as archive:
            media_types = read_package(archive).media_types
    except (CatalogError, OSError, zipfile.BadZipFile):
        return []
    return [name for name, media_type in media_types.items() if media_type in IMAGE_TYPES][:MAX_PICTURES]


def run_isolated(task: Callable[[], dict], budget_seconds: float, memory_limit_mb: int) -> Outcome:
    """Run *task* in a forked child limited to *memory_limit_mb* of address space, killed
    after *budget_seconds*."""
    read_fd, write_fd = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: never returns, never runs the parent's exit handlers
        os.close(read_fd)
        status = 0
        try:
            reply = _child(task, memory_limit_mb)
            with os.fdopen(write_fd, "wb") as pipe:
                pickle.dump(reply, pipe)
        except BaseException:  # noqa: BLE001 - the parent reports a child without a reply as died
            status = 70
        finally:
            os._exit(status)
    os.close(write_fd)
    data, timed_out = _read_until(read_fd, started + budget_seconds)
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.monotonic() - started
    rss = usage.ru_maxrss / 1024
    if timed_out:
        return Outcome("timeout", "timeout", f"killed after {budget_seconds:.0f} s", seconds, rss)
    try:
        kind, reason, detail, extra = pickle.loads(data)  # noqa: S301 - written by our own child
    except (pickle.UnpicklingError, EOFError, ValueError):
        reason = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit {os.WEXITSTATUS(status)}"
        return Outcome("died", reason, "the child ended without a reply", seconds, rss)
    return Outcome(kind, reason, detail, seconds, rss, extra.get("chapters", 0), extra.get("chapter_seconds", 0.0))


def _child(task: Callable[[], dict], memory_limit_mb: int) -> tuple[str, str, str, dict]:
    """What the ingest worker does around `extract_file` (see catalog.workers), except that
    an unexpected exception is reported as a crash, with its traceback, not a refusal."""
    if memory_limit_mb:
        limit = memory_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    warnings.simplefilter("ignore")  # a worker's warnings are never errors, as pytest makes them
    try:
        return ("accepted", "", "", task())
    except CatalogError as error:
        return ("refused", error.code, str(error), {})
    except MemoryError:
        return ("refused", "memory", "it needs more memory than allowed", {})
    except Exception as error:  # noqa: BLE001 - this is what the fuzzer looks for
        return ("crashed", type(error).__name__, traceback.format_exc(), {})


def _read_until(fd: int, deadline: float) -> tuple[bytes, bool]:
    chunks = []
    with os.fdopen(fd, "rb", buffering=0) as pipe:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return b"".join(chunks), True
            ready, _, _ = select.select([pipe], [], [], remaining)
            if ready:
                chunk = pipe.read(65536)
                if not chunk:
                    return b"".join(chunks), False
                chunks.append(chunk)


def baseline_rss_mb() -> float:
    """Peak RSS of a child that does nothing: the part of every figure that is the parent's."""
    return run_isolated(dict, 30, 0).max_rss_mb
