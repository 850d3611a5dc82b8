"""The server's log under a rush: waitress's queue warnings are held to one a minute."""

from __future__ import annotations

import logging

from ebookserver.logs import WAITRESS_QUEUE, AtMostEvery, quiet_waitress_queue


def test_a_rush_of_queue_warnings_logs_one_line_then_says_how_many_were_held(caplog, monkeypatch):
    clock = iter([0.0] + [1.0] * 99 + [61.0])
    monkeypatch.setattr("ebookserver.logs.time.monotonic", lambda: next(clock))
    logger = logging.getLogger("test.rush")
    logger.addFilter(AtMostEvery(60))
    with caplog.at_level(logging.WARNING, logger="test.rush"):
        for depth in range(101):
            logger.warning("Task queue depth is %d", depth)
    assert [record.getMessage() for record in caplog.records] == [
        "Task queue depth is 0",
        "Task queue depth is 100 (and 99 more such warnings since the last one)",
    ]


def test_the_filter_is_put_on_waitress_once_however_many_apps_start():
    quiet_waitress_queue()
    quiet_waitress_queue()
    filters = logging.getLogger(WAITRESS_QUEUE).filters
    assert sum(isinstance(existing, AtMostEvery) for existing in filters) == 1
