"""Power cuts: SIGKILL the server and the importer while they import, upload, commit the index,
lend and send statistics; after each restart nothing acknowledged is lost (see invariants.py).
A short run of the loop `bench/powercut.py --kills 100` measures."""

from __future__ import annotations

from tests.robustness.powercut import PHASES, run_powercuts

CUTS = 8  # each phase once, then import, upload and index again


def test_power_cuts_lose_nothing_that_was_acknowledged(tmp_path):
    report = run_powercuts(tmp_path / "library", CUTS, seed=7, log=lambda line: None)
    assert report.problems == []
    assert [cut.phase for cut in report.cuts] == [*PHASES, *PHASES][:CUTS]
    # The cuts came while the work ran, and the work was acknowledged in between: otherwise
    # the checks above would have had nothing to find.
    assert sum(cut.mid_work for cut in report.cuts) >= CUTS // 2
    assert report.answers.get("import", 0) + report.answers.get("upload", 0) > 0
    assert report.answers.get("borrow", 0) > 0
    assert report.reports_received > 0
    # Every restart ended with the server answering and its index checked (rebuilt if needed).
    assert all(cut.index_found in ("ok", "stale", "missing", "corrupt") for cut in report.cuts)
