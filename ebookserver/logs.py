"""Keeping the server's log readable on a small disk: waitress warns "Task queue depth is N" for
every request that has to wait for a thread, which under a rush is thousands of lines a minute
(journald on an SD card, and the one line that matters lost among them)."""

from __future__ import annotations

import logging
import time

WAITRESS_QUEUE = "waitress.queue"


class AtMostEvery(logging.Filter):
    """Let one record through per *seconds*; the next one says how many were held back."""

    def __init__(self, seconds: float = 60.0) -> None:
        super().__init__()
        self.seconds = seconds
        self.last: float | None = None
        self.held = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        if self.last is not None and now - self.last < self.seconds:
            self.held += 1
            return False
        if self.held:
            record.msg = f"{record.msg} (and {self.held} more such warnings since the last one)"
        self.last, self.held = now, 0
        return True


def quiet_waitress_queue(seconds: float = 60.0) -> None:
    """At most one queue-depth warning a minute (once per process, however many apps it makes)."""
    logger = logging.getLogger(WAITRESS_QUEUE)
    if not any(isinstance(existing, AtMostEvery) for existing in logger.filters):
        logger.addFilter(AtMostEvery(seconds))
