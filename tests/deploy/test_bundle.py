"""The offline bundle: built with deploy/build-bundle, installed with pip told to use no index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile

import pytest

from tests.deploy.conftest import BASH, BUILD_BUNDLE, InstalledServer, missing, run_install

pytestmark = pytest.mark.slow

# Every way pip or anything else could reach a network goes to a closed port.
NO_NETWORK = {
    "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
    "PIP_EXTRA_INDEX_URL": "http://127.0.0.1:9/simple",
    "http_proxy": "http://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle")
    built = subprocess.run(
        [BASH, str(BUILD_BUNDLE), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHON": sys.executable},
    )
    if built.returncode != 0:
        missing(f"deploy/build-bundle failed (it downloads wheels: no network?):\n{built.stderr[-3000:]}")
    return next(out.glob("ebookserver-*.tar.gz"))


def test_the_bundle_holds_the_installer_units_and_a_wheel_for_every_dependency(bundle):
    with tarfile.open(bundle) as archive:
        names = archive.getnames()
    top = names[0].split("/")[0]
    for expected in ("install.sh", "BUNDLE-INFO", "SHA256SUMS", "README.md", "systemd/ebookserver.service"):
        assert f"{top}/{expected}" in names, expected
    wheels = {name.split("/")[-1].split("-")[0].lower() for name in names if name.endswith(".whl")}
    assert {"ebookserver", "flask", "waitress", "pymupdf", "lxml", "whoosh_reloaded"} <= wheels
    assert not [name for name in names if name.endswith((".tar.gz", ".zip"))], "sdists need building: not offline"


def test_install_from_the_bundle_uses_no_network(bundle, tmp_path):
    root = tmp_path / "root"
    result = run_install("--bundle", str(bundle), "--root", str(root), env=NO_NETWORK)
    assert "Installed: ebookserver" in result.stdout
    server = InstalledServer(root)
    with server:
        status, body = server.get("/healthz")
        assert status == 200 and json.loads(body)["status"] == "ok"


def test_a_damaged_bundle_is_refused(bundle, tmp_path):
    damaged = tmp_path / "rusak.tar.gz"
    damaged.write_bytes(bundle.read_bytes()[: bundle.stat().st_size // 2])
    result = subprocess.run(
        [BASH, str(BUILD_BUNDLE.parent / "install.sh"), "--bundle", str(damaged), "--root", str(tmp_path / "root")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "install.sh:" in result.stderr
    assert not (tmp_path / "root" / "opt/ebookserver").exists()
