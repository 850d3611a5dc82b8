"""Settings: defaults, then the config file, then the environment, then overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from ebookserver.settings import SETTINGS, SettingsError, load_settings


def test_defaults_are_declared_once_with_help():
    names = [setting.name for setting in SETTINGS]
    assert len(names) == len(set(names))
    assert all(setting.help for setting in SETTINGS)
    settings = load_settings(environ={})
    assert settings.port == 8080
    assert settings.language == "id"
    assert settings.limits().max_file_bytes == 500 * 1024 * 1024


def test_config_file_then_environment_then_overrides(tmp_path):
    config = tmp_path / "ebookserver.toml"
    config.write_text('port = 9000\nlibrary_name = "Perpustakaan Sukamaju"\nmax_file_mb = 50\n')
    settings = load_settings(config, environ={"EBOOKSERVER_PORT": "9100"}, overrides={"max_file_mb": 10})
    assert settings.library_name == "Perpustakaan Sukamaju"
    assert settings.port == 9100
    assert settings.max_file_mb == 10
    from_env = load_settings(environ={"EBOOKSERVER_CONFIG": str(config), "EBOOKSERVER_DATA_DIR": "/srv/buku"})
    assert from_env.port == 9000
    assert from_env.data_dir == Path("/srv/buku")


@pytest.mark.parametrize(
    ("content", "message"),
    [("porta = 1\n", "unknown setting"), ("port = 'delapan'\n", "not a valid int"), ("port = \n", "not valid TOML")],
)
def test_a_bad_config_file_says_what_is_wrong(tmp_path, content, message):
    config = tmp_path / "bad.toml"
    config.write_text(content)
    with pytest.raises(SettingsError, match=message):
        load_settings(config, environ={})


def test_cli_reports_a_bad_config_as_a_usage_error(runner, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("porta = 1\n")
    result = runner("--config", config, "list")
    assert result.exit_code == 2
    assert "unknown setting 'porta'" in result.output


def test_an_unknown_time_zone_is_refused_with_its_name():
    with pytest.raises(SettingsError, match="Asia/Jakrta"):
        load_settings(environ={"EBOOKSERVER_TIMEZONE": "Asia/Jakrta"})


def test_the_lending_rules_come_from_the_settings_and_bad_ones_are_refused():
    policy = load_settings(
        environ={"EBOOKSERVER_OVERDUE_CHECKOUT": "allow", "EBOOKSERVER_RENEW_GRACE_DAYS": "2"}
    ).circulation_policy()
    assert (policy.overdue_checkout, policy.renew_grace_days, policy.timezone) == ("allow", 2, "Asia/Jakarta")
    with pytest.raises(SettingsError, match="overdue_checkout"):
        load_settings(environ={"EBOOKSERVER_OVERDUE_CHECKOUT": "maybe"})
