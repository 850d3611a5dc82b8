"""The systemd units: valid for systemd-analyze, hardened, timers that catch up after a night off."""

from __future__ import annotations

import configparser
import re
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import UNITS_DIR

UNITS = sorted(path.name for path in UNITS_DIR.iterdir() if path.suffix in (".service", ".timer"))
MAX_EXPOSURE = 2.0


def test_the_expected_units_are_there():
    for name in (
        "ebookserver.service",
        "ebookserver-backup.service",
        "ebookserver-backup.timer",
        "ebookserver-stats.service",
        "ebookserver-stats.timer",
    ):
        assert name in UNITS, f"systemd/{name} is missing"


def units_pointing_at(program_dir: Path, target: Path) -> list[Path]:
    """Copies of the units whose /opt/ebookserver is *program_dir* (verify checks ExecStart exists)."""
    target.mkdir(parents=True, exist_ok=True)
    copies = []
    for name in UNITS:
        text = (UNITS_DIR / name).read_text().replace("/opt/ebookserver", str(program_dir))
        (target / name).write_text(text)
        copies.append(target / name)
    return copies


@pytest.fixture
def fake_program(tmp_path) -> Path:
    program_dir = tmp_path / "opt" / "ebookserver"
    (program_dir / "bin").mkdir(parents=True)
    program = program_dir / "bin" / "ebookserver"
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    return program_dir


@pytest.mark.parametrize("name", UNITS)
def test_systemd_analyze_verify_accepts_the_unit(name, systemd_analyze, fake_program, tmp_path):
    units = units_pointing_at(fake_program, tmp_path / "units")
    unit = next(path for path in units if path.name == name)
    result = subprocess.run(
        [systemd_analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=60, cwd=unit.parent
    )
    assert result.returncode == 0 and not result.stderr.strip(), f"systemd-analyze verify {name}:\n{result.stderr}"


def exposure(systemd_analyze: str, unit: Path) -> float | None:
    """The overall exposure of `systemd-analyze security --offline=yes`, None when not supported (< 250)."""
    result = subprocess.run(
        [systemd_analyze, "security", "--offline=yes", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=unit.parent,
    )
    if "offline" in result.stderr and "unrecognized" in result.stderr:
        return None
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, f"no exposure level in:\n{result.stdout[-2000:]}\n{result.stderr}"
    return float(match.group(1))


@pytest.mark.parametrize("name", [name for name in UNITS if name.endswith(".service")])
def test_services_are_hardened_to_an_exposure_of_at_most_2(name, systemd_analyze, fake_program, tmp_path):
    unit = next(path for path in units_pointing_at(fake_program, tmp_path / "units") if path.name == name)
    level = exposure(systemd_analyze, unit)
    if level is None:
        pytest.skip("this systemd-analyze has no `security --offline` (systemd < 250)")
    assert level <= MAX_EXPOSURE, f"{name}: exposure {level} > {MAX_EXPOSURE} (systemd-analyze security --offline=yes)"


def read_unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str
    parser.read(UNITS_DIR / name)
    return parser


def test_the_server_binds_port_80_by_capability_not_as_root():
    service = read_unit("ebookserver.service")["Service"]
    assert service["User"] == "ebookserver"
    assert service["AmbientCapabilities"] == "CAP_NET_BIND_SERVICE"
    assert service["CapabilityBoundingSet"] == "CAP_NET_BIND_SERVICE"
    assert service["ReadWritePaths"] == "/var/lib/ebookserver"
    assert service["ProtectSystem"] == "strict"
    assert service["Restart"] == "on-failure"
    assert "EBOOKSERVER_CONFIG=/etc/ebookserver/ebookserver.toml" in service["Environment"]


@pytest.mark.parametrize("name", ["ebookserver-backup.timer", "ebookserver-stats.timer"])
def test_timers_catch_up_after_a_night_switched_off(name):
    timer = read_unit(name)["Timer"]
    assert timer["Persistent"] == "true"
    assert timer["OnCalendar"]


def test_the_backup_service_backs_up_into_its_only_other_writable_folder():
    service = read_unit("ebookserver-backup.service")["Service"]
    destination = service["ExecStart"].split()[-1]
    assert service["ExecStart"].split()[1] == "backup"
    assert destination in service["ReadWritePaths"].split()


def test_the_statistics_service_runs_the_push_command_the_cli_has():
    from click.testing import CliRunner

    from ebookserver.cli import main

    service = read_unit("ebookserver-stats.service")["Service"]
    program, command = service["ExecStart"].split()
    assert program == "/opt/ebookserver/bin/ebookserver"
    assert CliRunner().invoke(main, [command, "--help"]).exit_code == 0
