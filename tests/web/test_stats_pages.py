"""The administrator's page on the statistics push, and the public privacy notice."""

from __future__ import annotations

import contextlib
import datetime
from zoneinfo import ZoneInfo

from catalog import db, outbox
from tests.web.client import Client
from tests.web.test_stats_push import nobody_listens


def test_the_push_page_shows_backlog_last_success_and_last_error(workspace):
    admin = workspace.set_up()
    page = admin.get("/kelola/statistik/kirim")
    assert page.status == 200
    assert "Statistik yang dikirim" in page.text and "upstream_url" in page.text
    clock = datetime.datetime(2026, 11, 1, 3, tzinfo=datetime.UTC)
    down = nobody_listens()
    with contextlib.closing(workspace.datadir.connect()) as connection:
        with db.transaction(connection):
            connection.execute("INSERT INTO records (title, created_at) VALUES ('Buku', '2026-10-30T01:00:00Z')")
        outbox.queue_days(connection, timezone="Asia/Jakarta", now=clock, min_count=5)
        outbox.send(
            connection,
            url=down,
            token="rahasia",
            now=lambda: clock,
            sleep=lambda _s: None,
            timeout=1,
        )
    page = admin.get("/kelola/statistik/kirim")
    assert f"Tidak ada jawaban dari {down}" in page.text and "2 laporan harian" in page.text
    page = admin.get("/kelola/statistik/kirim?lang=en")
    assert "Waiting to be sent" in page.text and "2 daily reports" in page.text and "oldest: 2026-10-30" in page.text
    assert f"No answer from {down}" in page.text
    assert "rahasia" not in page.text


def test_the_push_page_is_for_admins_only(workspace):
    workspace.set_up()
    workspace.add_user("dewi", "librarian")
    assert workspace.sign_in("dewi").get("/kelola/statistik/kirim").status == 403
    assert Client(workspace.base).get("/kelola/statistik/kirim").status == 302


def test_the_privacy_notice_says_what_is_counted_and_sent_in_both_languages(workspace):
    visitor = Client(workspace.base)
    page = visitor.get("/privasi")
    assert page.status == 200
    assert "Privasi" in page.text and "kelompok umur" in page.text and "5" in page.text
    assert "tidak ada penerima" in page.text.lower()
    english = visitor.get("/privasi?lang=en")
    assert "What is never sent" in english.text and "member number" in english.text


def _kinds(workspace) -> dict[str, int]:
    with contextlib.closing(workspace.datadir.connect()) as connection:
        return dict(connection.execute("SELECT kind, count(*) FROM events GROUP BY kind").fetchall())


def test_visits_searches_and_views_are_counted_without_a_patron(workspace):
    admin = workspace.set_up()
    with contextlib.closing(workspace.datadir.connect()) as connection, db.transaction(connection):
        book = connection.execute(
            "INSERT INTO records (title, ddc, language) VALUES ('Menanam Padi', '633', 'id')"
        ).lastrowid
        for _reader in range(5):  # stats_min_count: fewer would be withheld from the title-level export
            connection.execute("INSERT INTO events (kind, record_id) VALUES ('read', ?)", (book,))
    visitor = Client(workspace.base)
    assert visitor.get("/").status == 200
    assert visitor.cookie("kunjungan") == "1"
    visitor.get("/")
    visitor.get("/cari?q=Kapal+Selam")
    visitor.get("/cari?q=kapal+selam&page=2")  # another page of the same search: not another search
    assert visitor.get(f"/buku/{book}").status == 200
    Client(workspace.base).get(f"/buku/{book}")  # a second browser: a second visit
    counted = _kinds(workspace)
    assert counted["visit"] == 2 and counted["search"] == 1 and counted["zero_result_search"] == 1
    assert counted["record_view"] == 2
    with contextlib.closing(workspace.datadir.connect()) as connection:
        # kept under the library's own date (the workspace's time zone), not the UTC date
        today = datetime.datetime.now(ZoneInfo(workspace.app.config["EBOOKSERVER"].timezone)).date().isoformat()
        assert [tuple(row) for row in connection.execute("SELECT day, query, searches FROM zero_result_queries")] == [
            (today, "kapal selam", 1)
        ]
        assert set(connection.execute("SELECT * FROM events").fetchone().keys()) == {"id", "at", "kind", "record_id"}

    page = admin.get("/kelola/statistik")
    assert page.status == 200 and "Statistik" in page.text and "<svg" in page.body
    assert "kapal selam" in page.text and "Menanam Padi" in page.text and "Teknologi" in page.text
    assert "Bulan ini" in page.text and admin.get("/kelola/statistik?periode=hari").status == 200
    assert admin.get("/kelola/statistik?periode=tahun").status == 200
    assert admin.get("/kelola/statistik?periode=minggu").status == 404
    export = admin.get("/kelola/statistik/unduh.csv?periode=tahun")
    assert export.status == 200 and "kapal selam" in export.text and "Menanam Padi" in export.text
    platform = admin.get("/kelola/statistik/counter/PR_P1.csv")
    assert platform.status == 200 and "NPP:3204012345" in platform.text and "Searches_Platform" in platform.text
    titles = admin.get("/kelola/statistik/counter/TR_B1.json")
    assert titles.status == 200 and '"Report_ID": "TR_B1"' in titles.text and "Menanam Padi" in titles.text
    refused = admin.get("/kelola/statistik/counter/TR_B2.csv")
    assert refused.status == 200 and "Book Access Denied" in refused.text
    assert admin.get("/kelola/statistik/counter/TR_B9.csv").status == 404
    assert 'href="/kelola/statistik"' in admin.get("/kelola/").body  # in the staff menu


def test_the_statistics_page_is_for_librarians(workspace):
    workspace.set_up()
    workspace.add_user("dewi", "librarian")
    assert workspace.sign_in("dewi").get("/kelola/statistik").status == 200
    assert Client(workspace.base).get("/kelola/statistik").status == 302


def test_a_kiosk_session_is_counted_once_until_the_screen_falls_idle(workspace):
    workspace.set_up()
    with contextlib.closing(workspace.datadir.connect()) as connection, db.transaction(connection):
        book = connection.execute("INSERT INTO records (title) VALUES ('Menanam Padi')").lastrowid
    screen = Client(workspace.base)
    screen.get("/kiosk")
    assert "kiosk_session" not in _kinds(workspace)  # the showcase turns by itself
    assert screen.get(f"/kiosk/buku/{book}").status == 200
    screen.get("/kiosk/rak/new")
    assert _kinds(workspace)["kiosk_session"] == 1


def test_an_unknown_counter_view_is_not_found(workspace):
    admin = workspace.set_up()
    assert admin.get("/kelola/statistik/counter/TR_B9.csv").status == 404
    assert admin.get("/kelola/statistik/counter/PR_P1.xml").status == 404
