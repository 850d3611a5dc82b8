"""Fixtures for the deployment tests: systemd-analyze, a wheel of this checkout, an installed tree.

These tests run as root in CI (a container without systemd) and as any user elsewhere. What
they need and may lack (systemd-analyze, network to build a wheel) is skipped with a reason
on a developer's machine and is a failure under CI=true.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "deploy" / "install.sh"
BUILD_BUNDLE = ROOT / "deploy" / "build-bundle"
UNITS_DIR = ROOT / "systemd"
BASH = shutil.which("bash") or "/bin/bash"
_SOURCE_IGNORED = shutil.ignore_patterns(
    ".git",
    ".venv",
    "venv",
    "data",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    "bench",
)


def missing(reason: str):
    """Skip on a developer's machine; fail under CI, where everything must be there."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if not found:
        missing("systemd-analyze is not installed (Debian: apt-get install systemd)")
    return found


def copy_source(target: Path) -> Path:
    """This checkout without virtualenvs, data or build output (building in place would leave build/)."""
    shutil.copytree(ROOT, target, ignore=_SOURCE_IGNORED)
    return target


@pytest.fixture(scope="session")
def package_wheel(tmp_path_factory) -> Path:
    """A wheel of this checkout, built like a release is (needs setuptools, from the index);
    EBOOKSERVER_TEST_WHEEL=FILE tests that wheel instead, e.g. a release candidate."""
    if os.environ.get("EBOOKSERVER_TEST_WHEEL"):
        return Path(os.environ["EBOOKSERVER_TEST_WHEEL"]).absolute()
    work = tmp_path_factory.mktemp("wheel")
    source = copy_source(work / "source")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(work / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if built.returncode != 0:
        missing(f"could not build a wheel of this checkout (no network for setuptools?):\n{built.stderr[-2000:]}")
    return next((work / "dist").glob("ebookserver-*.whl"))


def run_install(*arguments: str, env: dict | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [BASH, str(INSTALL), *arguments],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, f"install.sh failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class InstalledServer:
    """`ebookserver serve` from an installed tree, as the unit starts it (but on a free port)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "EBOOKSERVER_CONFIG": str(self.root / "etc/ebookserver/ebookserver.toml"),
            "EBOOKSERVER_DATA_DIR": str(self.root / "var/lib/ebookserver"),
            "PYTHONUNBUFFERED": "1",
        }

    def command(self, *arguments: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [str(self.root / "opt/ebookserver/bin/ebookserver"), *arguments],
            capture_output=True,
            text=True,
            timeout=300,
            env=self.env(),
        )
        if check:
            assert result.returncode == 0, f"ebookserver {' '.join(arguments)}:\n{result.stdout}\n{result.stderr}"
        return result

    def __enter__(self) -> InstalledServer:
        self.log = open(self.root / "serve.log", "w")
        self.process = subprocess.Popen(
            [
                str(self.root / "opt/ebookserver/bin/ebookserver"),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=self.env(),
            start_new_session=True,
        )
        return self

    def get(self, path: str, deadline_seconds: float = 60) -> tuple[int, bytes]:
        deadline = time.monotonic() + deadline_seconds
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as response:
                    return response.status, response.read()
            except urllib.error.HTTPError as error:
                return error.code, error.read()
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise AssertionError(
                        f"the installed server did not answer {path}:\n{(self.root / 'serve.log').read_text()[-4000:]}"
                    ) from None
                time.sleep(0.3)

    def __exit__(self, *exc_info) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)  # the server and its worker processes: our own session
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(timeout=10)
        self.log.close()
