"""`ebookserver doctor`'s checks one by one, and the disk part of /healthz."""

from __future__ import annotations

import contextlib
import datetime
import os
import shutil
import sqlite3
from collections import namedtuple

import pytest

from ebookserver import doctor
from ebookserver.i18n import gettext_for
from ebookserver.settings import load_settings

NOW = datetime.datetime(2026, 11, 26, 3, 0, tzinfo=datetime.UTC)
Usage = namedtuple("Usage", "total used free")
GB = 1024**3


@pytest.fixture
def connection(datadir):
    with contextlib.closing(sqlite3.connect(datadir.database_path)) as opened:
        yield opened


def test_a_clock_behind_the_catalogue_is_a_problem_with_advice_in_both_languages(connection):
    connection.execute("INSERT INTO audit_log (at, username, action) VALUES ('2026-11-27T08:00:00Z', 'x', 'y')")
    connection.commit()
    finding = doctor.check_clock(connection, NOW)
    assert finding.status == "problem"
    assert "2026-11-27T08:00:00Z" in finding.render()
    assert "timedatectl" in finding.render_advice()
    indonesian = finding.render_advice(gettext_for("id"))
    assert "Atur tanggal dan jam" in indonesian


def test_a_clock_before_this_version_existed_is_a_problem(connection):
    assert doctor.check_clock(connection, datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC)).status == "problem"
    assert doctor.check_clock(connection, NOW).status == "ok"


@pytest.mark.parametrize(
    ("free", "status"), [(50 * GB, "ok"), (int(1.5 * GB), "warning"), (100 * 1024 * 1024, "problem")]
)
def test_disk_space_thresholds(datadir, monkeypatch, free, status):
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(100 * GB, 100 * GB - free, free))
    assert doctor.check_disk(datadir).status == status


def test_upstream_is_skipped_with_a_note_while_no_address_is_set(settings):
    finding = doctor.check_upstream(settings)
    assert finding.status == "skipped" and "upstream_url" in finding.render()


def test_an_unreachable_upstream_is_a_warning_not_a_problem(settings, monkeypatch):
    configured = type(settings)({**settings.values, "upstream_url": "https://perpusnas.example/api"})

    def offline(request, timeout):
        raise OSError("Network is unreachable")

    finding = doctor.check_upstream(configured, opener=offline)
    assert finding.status == "warning" and "outbox" in finding.render()


def test_a_world_readable_config_with_the_secret_key_is_a_warning(tmp_path):
    config = tmp_path / "ebookserver.toml"
    config.write_text('secret_key = "rahasia"\nhost = "0.0.0.0"\n')
    config.chmod(0o644)
    settings = load_settings(config, environ={}, overrides={"data_dir": tmp_path / "data"})
    statuses = [finding.status for finding in doctor.check_config(settings, config)]
    assert statuses == ["warning"]
    config.chmod(0o640)
    assert [finding.status for finding in doctor.check_config(settings, config)] == ["ok"]


def test_a_server_listening_on_localhost_only_gets_advice(settings):
    findings = doctor.check_config(settings, None)
    advice = [finding.render_advice() for finding in findings if finding.status == "warning"]
    assert any('host = "0.0.0.0"' in text for text in advice)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_files_owned_by_another_user_are_reported(datadir):
    stray = datadir.files_dir / "ab" / "stray.epub"
    stray.parent.mkdir()
    stray.write_bytes(b"x")
    os.chown(stray, 65534, 65534)
    findings = doctor.check_data_dir(datadir)
    assert [finding.status for finding in findings] == ["warning"]
    assert "chown -R ebookserver:ebookserver" in findings[0].render_advice()


def test_a_missing_data_directory_is_a_problem(tmp_path):
    from catalog.datadir import DataDir

    findings = doctor.check_data_dir(DataDir(tmp_path / "tidak-ada"))
    assert [finding.status for finding in findings] == ["problem"]


def test_healthz_reports_free_disk(client):
    report = client.get("/healthz").get_json()
    assert report["disk"]["free_bytes"] > 0
    assert report["disk"]["total_bytes"] >= report["disk"]["free_bytes"]
    assert isinstance(report["disk"]["ok"], bool)
