"""Who can read the files that hold secrets: the data folder `ebookserver init` makes, the
cookie-signing key, and a config file with a secret in it (the server warns when every user of
the computer can read it; install.sh's 0640 config is checked in tests/deploy)."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from ebookserver.app import create_app
from ebookserver.cli import main
from ebookserver.settings import load_settings


@pytest.fixture
def usual_umask():
    """The umask most accounts have (022), whatever the test runner's is."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_makes_a_data_folder_other_users_cannot_enter(tmp_path, usual_umask):
    data = tmp_path / "data"
    result = CliRunner().invoke(main, ["--data-dir", str(data), "init"], env={"EBOOKSERVER_CONFIG": ""})
    assert result.exit_code == 0, result.output
    assert _mode(data) & 0o007 == 0, oct(_mode(data))
    assert (data / "catalogue.sqlite3").is_file()


def test_the_cookie_signing_key_is_readable_by_its_owner_only(tmp_path, usual_umask):
    app = create_app(load_settings(environ={}, overrides={"data_dir": tmp_path / "data"}), check_index=False)
    app.config["SEARCH_INDEX"].close()
    key = tmp_path / "data" / "secret_key"
    assert _mode(key) == 0o600
    assert key.read_text().strip() == app.secret_key and len(app.secret_key) >= 32


@pytest.mark.parametrize(
    ("mode", "content", "warned"),
    [
        (0o644, 'secret_key = "kunci-rahasia-panjang"\n', True),
        (0o644, 'upstream_token = "token-kabupaten"\n', True),
        (0o640, 'secret_key = "kunci-rahasia-panjang"\n', False),
        (0o600, 'upstream_token = "token-kabupaten"\n', False),
        (0o644, 'library_name = "TBM Pelangi"\n', False),  # nothing secret to protect
    ],
)
def test_a_world_readable_config_with_a_secret_is_warned_about(tmp_path, caplog, mode, content, warned):
    config = tmp_path / "ebookserver.toml"
    config.write_text(content)
    config.chmod(mode)
    with caplog.at_level(logging.WARNING, logger="ebookserver"):
        settings = load_settings(config, environ={})
    warnings = [
        record.getMessage() for record in caplog.records if "every user of this computer" in record.getMessage()
    ]
    assert bool(warnings) is warned
    if warned:
        assert str(config) in warnings[0] and "chmod 640" in warnings[0]
        assert "kunci-rahasia" not in warnings[0] and "token-kabupaten" not in warnings[0]
    assert settings.library_name  # the server still starts: a warning, not a refusal


def test_config_prints_no_secret(tmp_path):
    config = tmp_path / "ebookserver.toml"
    config.write_text('secret_key = "kunci-rahasia-panjang"\nupstream_token = "token-kabupaten"\n')
    config.chmod(0o600)
    result = CliRunner().invoke(main, ["--config", str(config), "--data-dir", str(tmp_path / "data"), "config"])
    assert result.exit_code == 0, result.output
    assert "kunci-rahasia" not in result.output and "token-kabupaten" not in result.output
    assert "secret_key" in result.output


def test_the_service_writes_files_other_users_cannot_read():
    """The server makes its database, covers and index under systemd with this umask."""
    unit = (Path(__file__).resolve().parents[2] / "systemd" / "ebookserver.service").read_text()
    [umask] = [line.split("=", 1)[1].strip() for line in unit.splitlines() if line.startswith("UMask=")]
    assert int(umask, 8) & 0o007 == 0o007, umask
