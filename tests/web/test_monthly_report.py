"""The monthly report for the programme: the month's figures on a page and as an A4 PDF, counted
in the library's local month, on a real server."""

from __future__ import annotations

import contextlib

import pymupdf

from catalog import db
from tests.web.client import Client

# Asia/Jakarta (UTC+7): 2026-10-31T17:00Z is already November 1 there, 2026-11-30T17:00Z is December.
IN_NOVEMBER = ("2026-10-31T17:30:00Z", "2026-11-15T03:00:00Z", "2026-11-30T16:59:00Z")
OUTSIDE = ("2026-10-31T16:59:00Z", "2026-11-30T17:00:00Z")


def _a_month_of_use(workspace) -> None:
    with contextlib.closing(workspace.datadir.connect()) as connection, db.transaction(connection):
        book = connection.execute(
            "INSERT INTO records (title, created_at) VALUES ('Menanam Padi', '2026-10-01T00:00:00Z')"
        ).lastrowid
        connection.execute(
            "INSERT INTO ebook_files (record_id, format, sha256, size, pages, has_text, original_name)"
            " VALUES (?, 'epub', 'x', 1, 1, 1, 'padi.epub')",
            (book,),
        )
        for number in range(3):
            connection.execute(
                "INSERT INTO items (record_id, barcode, created_at) VALUES (?, ?, '2026-10-01T00:00:00Z')",
                (book, f"B{number}"),
            )
        for number, (birth_year, gender, created_at) in enumerate(
            [
                (2016, "P", "2026-11-02T02:00:00Z"),  # 10 in 2026: 7-12, a girl, new in November
                (2010, "L", "2026-11-20T02:00:00Z"),  # 16: 13-18, new in November
                (1980, "P", "2026-09-01T02:00:00Z"),  # registered before November
                (None, None, "2026-11-30T17:30:00Z"),  # December local: not yet a member in November
            ]
        ):
            connection.execute(
                "INSERT INTO members (number, name, birth_year, gender, created_at) VALUES (?, ?, ?, ?, ?)",
                (f"M{number}", f"Anggota {number}", birth_year, gender, created_at),
            )
        item = connection.execute("SELECT id FROM items LIMIT 1").fetchone()[0]
        for at in (*IN_NOVEMBER, *OUTSIDE):
            connection.execute("INSERT INTO events (at, kind) VALUES (?, 'visit')", (at,))
            connection.execute(
                "INSERT INTO print_loans (item_id, loaned_at, due_at, returned_at) VALUES (?, ?, ?, ?)",
                (item, at, at, at),
            )
        connection.execute(
            "INSERT INTO ebook_loans (record_id, member_id, loaned_at, due_at) VALUES (?, 1, '2026-11-10T00:00:00Z',"
            " '2026-11-17T00:00:00Z')",
            (book,),
        )
        for starts_at, title in [
            ("2026-11-08T09:00", "Lomba Mewarnai"),
            ("2026-11-30T23:00", "Dongeng Malam"),  # local times: still November
            ("2026-12-01T09:00", "Bulan Depan"),
        ]:
            connection.execute(
                "INSERT INTO announcements (title, starts_at, place) VALUES (?, ?, 'Balai Desa')", (title, starts_at)
            )


def test_the_monthly_report_on_the_page_and_as_an_a4_pdf(workspace):
    admin = workspace.set_up()
    _a_month_of_use(workspace)
    page = admin.get("/kelola/statistik/bulanan?bulan=2026-11")
    assert page.status == 200 and "November 2026" in page.text
    assert "Sukamaju" in page.text and "3204012345" in page.text and "Jawa Barat" in page.text
    assert "Lomba Mewarnai" in page.text and "Dongeng Malam" in page.text and "Bulan Depan" not in page.text
    assert 'href="/kelola/statistik/bulanan/2026-11.pdf"' in page.body
    assert 'href="/kelola/statistik/bulanan?bulan=2026-10"' in page.body  # the previous month

    pdf = admin.get("/kelola/statistik/bulanan/2026-11.pdf")
    assert pdf.status == 200 and pdf.headers["Content-Type"] == "application/pdf"
    with pymupdf.open(stream=pdf.raw, filetype="pdf") as document:
        assert document[0].rect == pymupdf.paper_rect("a4")
        assert "November 2026" in document.metadata["title"]
        text = " ".join(" ".join(page.get_text().split()) for page in document)
    assert "Perpustakaan Desa Sukamaju" in text and "3204012345" in text
    for place in ("Sukamaju", "Cibeunying", "Kabupaten Bandung", "Jawa Barat"):
        assert place in text
    # the local month: three visits, three print loans and returns, one e-book loan
    assert "Kunjungan (sesi katalog) 3" in text
    assert (
        "Buku cetak dipinjam 3" in text and "Buku cetak dikembalikan 3" in text and "Pinjaman buku elektronik 1" in text
    )
    # members at the month's end (three), crossed by age band and gender; two new, one of each gender
    assert "Anggota pada akhir bulan: 3, 2 di antaranya mendaftar bulan ini." in text
    assert "7-12 tahun 0 1 0 1" in text and "13-18 tahun 1 0 0 1" in text
    assert "Eksemplar cetak 3" in text and "Judul e-book 1" in text
    assert "Lomba Mewarnai" in text and "Dongeng Malam" in text and "Bulan Depan" not in text
    assert "Anggota 0" not in text  # no member is named


def test_the_monthly_report_defaults_to_last_month_and_refuses_nonsense(workspace):
    admin = workspace.set_up()
    page = admin.get("/kelola/statistik/bulanan")
    assert page.status == 200 and "Laporan bulanan" in page.text
    for wrong in ("2026-13", "26-11", "bulan", "2026-1"):
        assert admin.get(f"/kelola/statistik/bulanan?bulan={wrong}").status == 404
        assert admin.get(f"/kelola/statistik/bulanan/{wrong}.pdf").status == 404
    assert Client(workspace.base).get("/kelola/statistik/bulanan/2026-11.pdf").status in (302, 303)
    workspace.add_user("rina", "librarian")
    assert workspace.sign_in("rina").get("/kelola/statistik/bulanan/2026-11.pdf").status == 200
