"""Fixtures shared by every test: data directories, the app, the command runner, the corpus."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from catalog.datadir import DataDir
from catalog.extract import Limits
from catalog.ingest import Importer
from catalog.workers import PoolSettings
from ebookserver.app import create_app
from ebookserver.cli import main
from ebookserver.settings import load_settings

SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS = SHARED / "corpus"


@pytest.fixture
def corpus() -> Path:
    """The shared corpus; skipped with a reason when absent, never under CI."""
    if not (CORPUS / "MANIFEST.tsv").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the shared corpus is missing at {CORPUS}")
        pytest.skip(f"the shared corpus is not at {CORPUS}")
    return CORPUS


def manifest_rows(corpus_dir: Path) -> list[dict]:
    """MANIFEST.tsv rows; `expected` parsed as JSON where it is JSON (hostile rows are prose)."""
    with open(corpus_dir / "MANIFEST.tsv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    for row in rows:
        text = row["expected"]
        try:
            decoder = json.JSONDecoder()
            row["facts"], end = decoder.raw_decode(text)
            row["note"] = text[end:].strip()
        except json.JSONDecodeError:
            row["facts"], row["note"] = None, text
    return rows


@pytest.fixture
def datadir(tmp_path: Path) -> DataDir:
    directory = DataDir(tmp_path / "data")
    directory.create()
    return directory


@pytest.fixture
def importer(datadir: DataDir) -> Importer:
    """A real importer with two worker processes and a short time budget."""
    return Importer(datadir, Limits(), PoolSettings(processes=2, timeout_seconds=60))


@pytest.fixture
def settings(tmp_path: Path):
    return load_settings(environ={}, overrides={"data_dir": tmp_path / "data"})


@pytest.fixture
def app(settings):
    application = create_app(settings, check_index=False)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(tmp_path: Path, monkeypatch):
    """Runs `ebookserver` commands against a data directory of this test's own."""
    monkeypatch.setenv("EBOOKSERVER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("EBOOKSERVER_CONFIG", raising=False)
    cli_runner = CliRunner()

    def invoke(*args: str):
        return cli_runner.invoke(main, [str(arg) for arg in args], catch_exceptions=False)

    return invoke
