"""A librarian's first day in real headless Chromium: set the library up, register a member,
lend a book with a barcode scanner (which types the code and Enter), post an event; and axe-core
on every workspace page."""

from __future__ import annotations

import contextlib
import datetime

import pytest

from catalog import db, records
from tests.web.conftest import STAFF_PASSWORD


def _axe_serious(page) -> list[str]:
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright", reason="in the test extra")
    options = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}}
    response = axe_module.Axe().run(page, options=options).response
    return [
        f"{violation['id']}: {[node['target'] for node in violation['nodes']][:3]}"
        for violation in response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def test_a_librarians_first_day(workspace, page):
    with contextlib.closing(workspace.datadir.connect()) as connection, db.transaction(connection):
        record_id = connection.execute("INSERT INTO records (title) VALUES ('Si Kancil')").lastrowid
        records.add_item(connection, record_id, barcode="B0042", call_number="398.2 KAN", location="Rak anak")
    found = {}

    page.goto(workspace.base + "/kelola/")
    page.wait_for_url("**/kelola/siapkan")
    found["setup"] = _axe_serious(page)
    data = workspace.setup_data()
    page.get_by_label("Kode penyiapan").fill(data["setup_code"])
    page.get_by_label("Nama perpustakaan").fill("Perpustakaan Desa Sukamaju")
    page.get_by_label("NPP (Nomor Pokok Perpustakaan)").fill("3204012345")
    page.get_by_label("Nama lengkap").fill("Ibu Sari")
    page.get_by_label("Nama pengguna").fill("sari")
    page.get_by_label("Kata sandi", exact=True).fill(STAFF_PASSWORD)
    page.get_by_label("Ulangi kata sandi").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Siapkan").click()
    page.wait_for_url("**/kelola/")
    assert page.get_by_role("heading", level=1).inner_text() == "Dasbor"
    found["dashboard"] = _axe_serious(page)

    page.get_by_role("navigation", name="Pengelolaan perpustakaan").get_by_role(
        "link", name="Anggota", exact=True
    ).click()
    page.get_by_role("link", name="Daftarkan anggota").click()
    found["member form"] = _axe_serious(page)
    page.get_by_label("Nama", exact=True).fill("Dewi Lestari")
    page.get_by_label("Tahun lahir").fill("2012")
    page.get_by_label("Jenis kelamin").select_option("P")
    page.get_by_role("button", name="Simpan").click()
    page.wait_for_url("**/kelola/anggota/*")
    number = page.locator("h1 .subtitle").inner_text()
    found["member"] = _axe_serious(page)

    page.get_by_role("navigation", name="Pengelolaan perpustakaan").get_by_role("link", name="Meja sirkulasi").click()
    found["desk"] = _axe_serious(page)
    page.keyboard.type(number)  # the member number field has the focus: the scanner types
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/kelola/sirkulasi?anggota={number}")
    assert page.evaluate("document.activeElement.name") == "barcode"
    page.keyboard.type("B0042")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert "Dipinjamkan: “Si Kancil”" in page.locator(".flashes").inner_text()
    assert page.evaluate("document.activeElement.name") == "barcode"  # ready for the next book

    page.get_by_role("navigation", name="Pengelolaan perpustakaan").get_by_role("link", name="Kegiatan").click()
    found["events"] = _axe_serious(page)
    page.get_by_label("Judul").fill("Dongeng Sore")
    page.get_by_label("Tanggal").fill((datetime.date.today() + datetime.timedelta(days=2)).isoformat())
    page.get_by_label("Jam mulai").fill("15:00")
    page.get_by_role("button", name="Simpan").click()
    page.goto(workspace.base + "/")
    assert "Dongeng Sore" in page.locator("section.upcoming").inner_text()

    for path in (
        "/kelola/pengguna",
        "/kelola/perpustakaan",
        "/kelola/audit",
        "/kelola/sirkulasi/terlambat",
        "/kelola/statistik",
        "/kelola/statistik/bulanan",
        "/kelola/statistik/kirim",
    ):
        page.goto(workspace.base + path)
        found[path] = _axe_serious(page)
    page.get_by_role("button", name="Keluar").click()
    page.wait_for_url("**/kelola/masuk")
    found["login"] = _axe_serious(page)
    assert {name: problems for name, problems in found.items() if problems} == {}
    assert page.context.cookies() == [] or all(cookie["name"] != "staff_session" for cookie in page.context.cookies())
