"""install.sh into a throwaway root: install, run the installed server, upgrade with data, uninstall.

`--root DIR` installs as if DIR were /: no user is created and systemctl is never called, so
this runs in a container without systemd. The package is a wheel of this checkout.
"""

from __future__ import annotations

import json
import os
import pwd
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.builders import make_epub, make_pdf
from tests.deploy.conftest import BASH, INSTALL, InstalledServer, run_install
from tests.deploy.test_units import exposure, units_pointing_at

pytestmark = pytest.mark.slow
PREFIX = "/opt/ebookserver"


@pytest.fixture(scope="module")
def installed(tmp_path_factory, package_wheel):
    root = tmp_path_factory.mktemp("root")
    result = run_install("--root", str(root), "--package", str(package_wheel))
    return root, result


def test_install_lays_out_program_config_data_and_units(installed):
    root, result = installed
    assert (root / "opt/ebookserver/bin/ebookserver").is_file()
    config_path = root / "etc/ebookserver/ebookserver.toml"
    config = tomllib.loads(config_path.read_text())
    assert config["data_dir"] == "/var/lib/ebookserver"
    assert config["host"] == "0.0.0.0"  # noqa: S104 (every interface: the PCs, phones and TV)
    assert config["port"] == 80
    assert len(config["secret_key"]) == 64
    assert stat.S_IMODE(config_path.stat().st_mode) == 0o640
    assert (root / "var/lib/ebookserver/catalogue.sqlite3").is_file()
    for unit in ("ebookserver.service", "ebookserver-backup.timer", "ebookserver-stats.timer"):
        assert (root / "etc/systemd/system" / unit).is_file()
    assert "systemctl not called" in result.stdout
    assert "http://" in result.stdout  # the address to open on the PCs
    assert "/kelola/siapkan" in result.stdout  # and the setup code for first-run setup


def test_installed_units_verify_against_the_installed_program(installed, systemd_analyze, tmp_path):
    root, _result = installed
    for unit in units_pointing_at(root / "opt/ebookserver", tmp_path / "units"):
        result = subprocess.run(
            [systemd_analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True, cwd=unit.parent
        )
        assert result.returncode == 0 and not result.stderr.strip(), f"{unit.name}:\n{result.stderr}"
        if unit.suffix == ".service":
            level = exposure(systemd_analyze, unit)
            assert level is None or level <= 2.0, f"{unit.name}: exposure {level}"


def test_the_installed_server_starts_and_answers_healthz(installed, tmp_path):
    root, _result = installed
    server = InstalledServer(root)
    make_pdf(tmp_path, title="Panduan Bertani", pages=("Menanam padi di sawah.",))
    server.command("import", str(tmp_path / "panduan-bertani.pdf"))
    with server:
        status, body = server.get("/healthz")
        report = json.loads(body)
        assert status == 200, report
        assert report["status"] == "ok" and report["database"]["records"] == 1
        assert report["disk"]["free_bytes"] > 0
        status, page = server.get("/")
        assert status == 200 and b"<html" in page.lower()
    doctor = server.command("doctor", "--json", check=False)
    checks = {finding["check"]: finding["status"] for finding in json.loads(doctor.stdout)}
    assert checks["database"] == "ok" and checks["files"] == "ok", doctor.stdout


def test_rerun_upgrades_in_place_keeping_config_and_data_after_a_backup(installed, package_wheel, tmp_path):
    root, _result = installed
    server = InstalledServer(root)
    make_epub(tmp_path, title="Cerita Rakyat", chapters=("Malin Kundang.",))
    server.command("import", str(tmp_path / "cerita-rakyat.epub"))
    before = json.loads(server.command("list", "--json").stdout)
    config_before = (root / "etc/ebookserver/ebookserver.toml").read_bytes()

    result = run_install("--root", str(root), "--package", str(package_wheel))

    assert "Configuration kept" in result.stdout
    assert (root / "etc/ebookserver/ebookserver.toml").read_bytes() == config_before
    snapshots = list((root / "var/backups/ebookserver/snapshots").iterdir())
    assert snapshots, "no backup was taken before the upgrade"
    assert json.loads(server.command("list", "--json").stdout) == before
    with server:
        status, body = server.get("/healthz")
        assert status == 200 and json.loads(body)["database"]["records"] == len(before)


def test_uninstall_keeps_data_and_config_unless_purged(tmp_path, package_wheel):
    root = tmp_path / "root"
    run_install("--root", str(root), "--package", str(package_wheel), "--no-start")
    result = run_install("uninstall", "--root", str(root))
    assert not (root / "opt/ebookserver").exists()
    assert not (root / "etc/systemd/system/ebookserver.service").exists()
    assert (root / "var/lib/ebookserver/catalogue.sqlite3").is_file()
    assert (root / "etc/ebookserver/ebookserver.toml").is_file()
    assert "Kept" in result.stdout
    run_install("uninstall", "--purge", "--root", str(root))
    assert not (root / "var/lib/ebookserver").exists() and not (root / "etc/ebookserver").exists()


REAL_INSTALL_WANTED = os.environ.get("CI") == "true" or os.environ.get("EBOOKSERVER_TEST_REAL_INSTALL") == "1"


@pytest.mark.skipif(
    not REAL_INSTALL_WANTED or os.geteuid() != 0 or Path("/run/systemd/system").exists() or Path(PREFIX).exists(),
    reason="installs into this machine's /opt, /etc and /var and creates a user: only as root in a throwaway "
    "container without systemd and without ebookserver (CI, or EBOOKSERVER_TEST_REAL_INSTALL=1)",
)
def test_a_real_install_creates_the_user_and_gives_it_the_data_then_purges(package_wheel):
    python = ["--python", "/usr/bin/python3"] if Path("/usr/bin/python3").exists() else []
    try:
        result = run_install("--package", str(package_wheel), *python)
        assert "systemd is not running here" in result.stdout
        user = pwd.getpwnam("ebookserver")
        assert user.pw_shell.endswith("nologin")
        for folder in ("/var/lib/ebookserver", "/var/backups/ebookserver", "/var/lib/ebookserver/catalogue.sqlite3"):
            assert Path(folder).stat().st_uid == user.pw_uid, folder
        config = Path("/etc/ebookserver/ebookserver.toml").stat()
        assert (config.st_uid, config.st_gid, stat.S_IMODE(config.st_mode)) == (0, user.pw_gid, 0o640)
        upgrade = run_install("--package", str(package_wheel), *python)
        assert "Configuration kept" in upgrade.stdout
        assert any(Path("/var/backups/ebookserver/snapshots").iterdir())
    finally:
        subprocess.run([BASH, str(INSTALL), "uninstall", "--purge"], capture_output=True, timeout=300)
    assert not Path(PREFIX).exists() and not Path("/var/lib/ebookserver").exists()
    with pytest.raises(KeyError):
        pwd.getpwnam("ebookserver")
