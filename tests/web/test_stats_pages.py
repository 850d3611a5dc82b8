"""The administrator's page on the statistics push, and the public privacy notice."""

from __future__ import annotations

import contextlib
import datetime

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
