"""A full disk for real (a small tmpfs holding the data directory, see fulldisk.py): uploads,
command-line imports and a backup that do not fit say so in Indonesian, leave no partial file
and no damage, and the server goes on serving search and reading throughout."""

from __future__ import annotations

import pytest

from catalog.backup import BackupDiskFull
from catalog.errors import IndexNotUpdated, StorageFull
from ebookserver.i18n import gettext_for
from tests.robustness.fulldisk import mounting, run_in

INDONESIAN = gettext_for("id")


@pytest.fixture(scope="module")
def facts(tmp_path_factory) -> dict:
    """Every scenario, run once (in a private mount namespace when mounting needs one)."""
    workdir = tmp_path_factory.mktemp("full-disk")
    prefix, how = mounting(workdir / "probe")
    if prefix is None:
        pytest.skip(f"no small filesystem can be made here: {how}")
    return run_in(prefix, workdir)


def _unharmed(step: dict, records: int) -> None:
    """What must hold after every attempt, whatever its outcome."""
    assert step["integrity"] == "ok"
    assert step["leftovers"] == []
    assert step["records"] == records
    assert step["reading"] == {"home": 200, "search": 200, "search_hits": True, "record": 200, "reader": 200}


def test_an_upload_that_does_not_arrive_is_refused_with_507_and_a_message(facts):
    first = facts["upload"][0]
    assert first["http"] == 507
    assert "Disk server penuh: unggahan tidak disimpan." in first["answer"]
    _unharmed(first, facts["before"]["records"])
    assert first["stored_files"] == facts["before"]["stored_files"]


def test_an_upload_that_cannot_be_stored_or_indexed_says_so_and_keeps_the_catalogue_whole(facts):
    records = facts["before"]["records"]
    steps = facts["upload"]
    assert steps[-1]["status"] == "imported", "the sweep never reached enough room"
    for step in steps[1:]:
        answer = step["answer"]
        if step["kind"] == "refused":
            assert answer["files"][0]["status"] == "refused"
            assert StorageFull().render(INDONESIAN) in answer["html"]
            assert step["stored_files"] == facts["before"]["stored_files"]
        elif step["kind"] == "not-indexed":
            assert answer["error"] == IndexNotUpdated().render(INDONESIAN)
        _unharmed(step, records + (step["status"] == "imported"))


def test_a_command_line_import_that_does_not_fit_is_refused_in_indonesian(facts):
    records = facts["upload"][-1]["records"]
    steps = facts["import"]
    assert steps[-1]["status"] == "imported"
    for step in steps:
        assert "Traceback" not in step["output"]
        if step["kind"] == "refused":
            assert step["exit"] == 1 and step["reason_code"] == "disk-full"
            assert StorageFull().render(INDONESIAN) in step["output"]
        elif step["kind"] == "not-indexed":
            assert step["exit"] == 1 and IndexNotUpdated().render(INDONESIAN) in step["output"]
        else:
            assert step["exit"] == 0
        _unharmed(step, records + (step["status"] == "imported"))


def test_the_disk_filling_while_the_index_is_written_happened_and_was_repaired(facts):
    """Between "not stored" and "stored and indexed" there is room for the book but not for its
    index entries; with room again, the next import brings the index up to date."""
    kinds = [step["kind"] for step in facts["upload"] + facts["import"]]
    assert "not-indexed" in kinds
    recovery = facts["recovery"]
    assert recovery["exit"] == 0 and recovery["index"] == []


def test_a_backup_into_a_full_disk_says_so_and_leaves_no_partial_snapshot(facts):
    backup = facts["backup"]
    assert backup["exit"] == 1 and "Traceback" not in backup["output"]
    assert BackupDiskFull(path=backup["destination"]).render(INDONESIAN) in backup["output"]
    assert backup["backup_leftovers"] == [".lock"]
    _unharmed(backup, facts["recovery"]["records"])
    assert facts["backup_after"]["exit"] == 0
    assert facts["index_after"]["ok"]
