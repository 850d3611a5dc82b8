"""`ebookserver patron add` and `ebookserver licence set` through click's runner."""

from __future__ import annotations

import contextlib
import os

import pytest

from catalog import pins
from catalog.datadir import DataDir
from catalog.errors import WrongPin


@pytest.fixture
def catalogue(runner):
    assert runner("init").exit_code == 0
    datadir = DataDir(os.environ["EBOOKSERVER_DATA_DIR"])
    with contextlib.closing(datadir.connect()) as connection:
        record_id = connection.execute("INSERT INTO records (title) VALUES ('Laskar Pelangi')").lastrowid
    return datadir, record_id


def test_patron_add_registers_a_member_who_can_sign_in(runner, catalogue):
    datadir, _record_id = catalogue
    result = runner("patron", "add", "A-17", "--name", "Siti Aminah", "--pin", "2468", "--category", "pelajar")
    assert result.exit_code == 0 and "A-17" in result.output
    with contextlib.closing(datadir.connect()) as connection:
        member = pins.verify_pin(connection, "A-17", "2468")
        assert (member["name"], member["category"]) == ("Siti Aminah", "pelajar")
        with pytest.raises(WrongPin):
            pins.verify_pin(connection, "A-17", "1111")
    again = runner("patron", "add", "A-17", "--name", "Orang Lain", "--pin", "2468")
    assert again.exit_code == 1 and "A-17" in again.output
    bad_pin = runner("patron", "add", "A-18", "--name", "Budi", "--pin", "12")
    assert bad_pin.exit_code == 1
    with contextlib.closing(datadir.connect()) as connection:
        assert connection.execute("SELECT count(*) FROM members").fetchone()[0] == 1  # nothing half-made


def test_licence_set_open_copies_and_in_library(runner, catalogue):
    datadir, record_id = catalogue

    def licence():
        with contextlib.closing(datadir.connect()) as connection:
            row = connection.execute(
                "SELECT licence, licence_copies, loan_days FROM records WHERE id = ?", (record_id,)
            ).fetchone()
            return tuple(row)

    assert runner("licence", "set", record_id, "--copies", "2", "--loan-days", "5").exit_code == 0
    assert licence() == ("lending", 2, 5)
    assert runner("licence", "set", record_id, "--copies", "1", "--stamped-download").exit_code == 0
    assert licence() == ("lending", 1, None)
    assert runner("licence", "set", record_id, "--copies", "1", "--in-library-only").exit_code == 0
    assert licence() == ("in-library", 1, None)
    assert runner("licence", "set", record_id, "--open").exit_code == 0
    assert licence() == ("open-access", None, None)
    for wrong in ((), ("--open", "--copies", "2"), ("--loan-days", "3"), ("--copies", "0"), ("--stamped-download",)):
        assert runner("licence", "set", record_id, *wrong).exit_code == 2, wrong
    assert licence() == ("open-access", None, None)
    missing = runner("licence", "set", "999", "--copies", "1")
    assert missing.exit_code == 1 and "999" in missing.output
