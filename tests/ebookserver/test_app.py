"""The web app: the catalogue page, /healthz, errors, languages — as a visitor sees them."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request

from catalog.ingest import Importer
from tests.builders import make_epub, make_pdf


def _import(app, *paths):
    settings = app.config["EBOOKSERVER"]
    return Importer(app.config["DATADIR"], settings.limits(), settings.pool(), app.config["SEARCH_INDEX"]).run(
        list(paths)
    )


def test_empty_catalogue_page_is_in_indonesian_by_default(client):
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="id">' in page
    assert "Perpustakaan Desa" in page  # the default library name
    assert "ebookserver import" in page  # tells the librarian how to add books


def test_catalogue_lists_records_with_authors_and_thumbnails(app, client, tmp_path):
    _import(app, make_pdf(tmp_path, title="Panduan Bertani", author="Dinas Pertanian"))
    page = client.get("/").get_data(as_text=True)
    assert "Panduan Bertani" in page
    assert "Dinas Pertanian" in page
    thumb = page.split('<img src="', 1)[1].split('"', 1)[0]
    response = client.get(thumb)
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    assert response.get_data().startswith(b"\xff\xd8\xff")
    response.close()


def test_hostile_titles_are_escaped(app, client, tmp_path):
    _import(app, make_epub(tmp_path, title='<script>alert("opac")</script>', name="xss.epub"))
    page = client.get("/").get_data(as_text=True)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(" in page


def test_english_is_chosen_by_query_cookie_or_browser(client):
    english = client.get("/?lang=en")
    assert '<html lang="en">' in english.get_data(as_text=True)
    assert "lang=en" in " ".join(english.headers.getlist("Set-Cookie"))  # beside the visit cookie
    # the cookie keeps the choice on the next page
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)


def test_browser_language_is_respected(app):
    fresh = app.test_client()
    page = fresh.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in page
    page = fresh.get("/", headers={"Accept-Language": "id-ID,id;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="id">' in page


def test_unknown_page_is_a_404_page_with_a_way_back(client):
    response = client.get("/tidak-ada")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert 'href="/"' in page
    english = client.get("/tidak-ada?lang=en").get_data(as_text=True)
    assert "Page not found" in english


def test_healthz_reports_database_state(app, client, tmp_path):
    _import(app, make_pdf(tmp_path))
    report = client.get("/healthz").get_json()
    assert report["status"] == "ok"
    assert report["database"]["ok"] is True
    assert report["database"]["records"] == 1
    assert "index" in report


def test_bad_cover_names_are_not_found(client):
    assert client.get("/covers/..%2f..%2fcatalogue.sqlite3.jpg").status_code == 404
    assert client.get("/covers/" + "0" * 64 + ".jpg").status_code == 404


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_runs_waitress_answering_healthz_and_pages(tmp_path):
    port = _free_port()
    command = [sys.executable, "-m", "ebookserver", "--data-dir", str(tmp_path / "data"), "serve", "--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    report = json.load(response)
                    server_header = response.headers["Server"]
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        assert report["status"] == "ok"
        assert server_header == "ebookserver"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            assert '<html lang="id">' in response.read().decode()
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_search_on_an_empty_catalogue_answers_no_results(app):
    import contextlib

    from catalog import search as search_engine

    with contextlib.closing(app.config["DATADIR"].connect()) as connection:
        search_engine.ensure_index(app.config["SEARCH_INDEX"], connection, processes=1)
    response = app.test_client().get("/api/v1/search?q=buku")
    assert response.status_code == 200
    assert response.get_json()["total"] == 0
    assert response.get_json()["message"] == "no-results"
