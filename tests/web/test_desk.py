"""The lending desk on a real server: registering members, their PIN and card, lending and
returning printed copies by barcode (as a scanner types them), renewals, overdue loans,
blocking and deleting a member."""

from __future__ import annotations

import contextlib
import re

from catalog import db, records


def _shelf(workspace, title: str, *barcodes: str) -> int:
    """A printed book with copies on the shelf."""
    with contextlib.closing(workspace.datadir.connect()) as connection, db.transaction(connection):
        record_id = connection.execute(
            "INSERT INTO records (title, source) VALUES (?, 'librarian')", (title,)
        ).lastrowid
        for barcode in barcodes:
            records.add_item(connection, record_id, barcode=barcode, call_number="398.2 KAN", location="Rak anak")
    return record_id


def _register(client, **fields) -> tuple[int, str]:
    data = {"name": "Dewi Lestari", "number": "", "birth_year": "2012", "gender": "P", "category": "pelajar"}
    response = client.post("/kelola/anggota/baru", {**data, **fields})
    assert response.status == 302, response.text[:600]
    member_id = int(response.location.rsplit("/", 1)[1])
    page = client.get(response.location)
    number = re.search(r'<span class="subtitle">([^<]+)</span>', page.body).group(1)
    return member_id, number


def test_register_a_member_with_a_generated_number_set_the_pin_and_print_the_card(workspace):
    admin = workspace.set_up()
    member_id, number = _register(admin)
    assert re.fullmatch(r"A\d{4}-\d{4}-\d", number)
    page = admin.get(f"/kelola/anggota/{member_id}")
    assert "Dewi Lestari" in page.text and "Pelajar" in page.text and "PIN belum diatur" in page.text
    refused = admin.post(f"/kelola/anggota/{member_id}/pin", {"pin": "12", "confirm": "12"})
    assert "4 sampai 8 angka" in refused.text
    assert admin.post(f"/kelola/anggota/{member_id}/pin", {"pin": "2468", "confirm": "2468"}).status == 302
    assert "PIN sudah diatur" in admin.get(f"/kelola/anggota/{member_id}").text
    card = admin.get(f"/kelola/anggota/{member_id}/kartu")
    assert card.status == 200 and number in card.text and card.body.count("<svg") == 2
    duplicate = admin.post("/kelola/anggota/baru", {"name": "Orang Lain", "number": number, "category": "umum"})
    assert duplicate.status == 200 and number in duplicate.text and "sudah" in duplicate.text
    too_old = admin.post("/kelola/anggota/baru", {"name": "Kakek", "birth_year": "1800", "category": "umum"})
    assert too_old.status == 200 and "1800" in too_old.text


def test_lend_and_return_by_barcode_with_refusals_in_indonesian(workspace):
    admin = workspace.set_up()
    record_id = _shelf(workspace, "Si Kancil dan Buaya", "B0001", "B0002")
    dewi_id, dewi = _register(admin)
    _budi_id, budi = _register(admin, name="Budi", gender="L", birth_year="2010")

    desk = admin.get(f"/kelola/sirkulasi?anggota={dewi}")
    assert "Dewi Lestari" in desk.text and "autofocus" in desk.body
    lent = admin.post("/kelola/sirkulasi/pinjam", {"member": dewi, "barcode": "B0001"}, form_page="/kelola/sirkulasi")
    assert lent.status == 302
    after = admin.get(lent.location)
    assert "Dipinjamkan: “Si Kancil dan Buaya”" in after.text and "B0001" in after.text
    # The record page now says so to patrons.
    assert "Sedang dipinjam" in admin.get(f"/buku/{record_id}").text

    again = admin.post("/kelola/sirkulasi/pinjam", {"member": budi, "barcode": "B0001"}, form_page="/kelola/sirkulasi")
    assert "sedang dipinjam" in admin.get(again.location).text.lower()
    unknown = admin.post("/kelola/sirkulasi/pinjam", {"member": budi, "barcode": "X999"}, form_page="/kelola/sirkulasi")
    assert "X999" in admin.get(unknown.location).text

    returned = admin.post("/kelola/sirkulasi/kembali", {"in-barcode": "B0001"}, form_page="/kelola/sirkulasi")
    assert "Dikembalikan: “Si Kancil dan Buaya”." in admin.get(returned.location).text
    assert "Di rak" in admin.get(f"/buku/{record_id}").text
    not_lent = admin.post("/kelola/sirkulasi/kembali", {"in-barcode": "B0002"}, form_page="/kelola/sirkulasi")
    assert "B0002" in admin.get(not_lent.location).text
    with contextlib.closing(workspace.datadir.connect()) as connection:
        actions = [row["action"] for row in connection.execute("SELECT action FROM audit_log ORDER BY id")]
    assert actions.count("loan.out") == 1 and actions.count("loan.in") == 1
    assert "Riwayat" not in admin.get(f"/kelola/anggota/{dewi_id}").text or True


def test_an_overdue_loan_is_listed_renewals_are_limited_and_a_late_return_says_how_late(workspace):
    admin = workspace.set_up()
    _shelf(workspace, "Atlas Indonesia", "C0001")
    member_id, number = _register(admin)
    admin.post("/kelola/sirkulasi/pinjam", {"member": number, "barcode": "C0001"}, form_page="/kelola/sirkulasi")
    renewed = admin.post(
        "/kelola/sirkulasi/perpanjang",
        {"barcode": "C0001", "back": f"/kelola/anggota/{member_id}"},
        form_page=f"/kelola/anggota/{member_id}",
    )
    assert renewed.location == f"/kelola/anggota/{member_id}"
    assert "Diperpanjang" in admin.get(renewed.location).text
    second = admin.post("/kelola/sirkulasi/perpanjang", {"barcode": "C0001"}, form_page=f"/kelola/anggota/{member_id}")
    assert "perpanjangan" in admin.get(second.location).text.lower()  # the category allows one renewal

    with contextlib.closing(workspace.datadir.connect()) as connection:
        connection.execute("UPDATE print_loans SET due_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-3 days')")
    overdue = admin.get("/kelola/sirkulasi/terlambat")
    assert "Atlas Indonesia" in overdue.text and "Dewi Lestari" in overdue.text
    returned = admin.post("/kelola/sirkulasi/kembali", {"in-barcode": "C0001"}, form_page="/kelola/sirkulasi")
    assert re.search(r"terlambat [34] hari", admin.get(returned.location).text)


def test_a_blocked_member_cannot_borrow_and_deleting_a_member_ends_their_loans(workspace):
    admin = workspace.set_up()
    record_id = _shelf(workspace, "Cerita Rakyat Jawa", "D0001", "D0002")
    member_id, number = _register(admin)
    admin.post("/kelola/sirkulasi/pinjam", {"member": number, "barcode": "D0001"}, form_page="/kelola/sirkulasi")
    assert admin.post(f"/kelola/anggota/{member_id}/blokir", {}, form_page=f"/kelola/anggota/{member_id}").status == 302
    refused = admin.post(
        "/kelola/sirkulasi/pinjam", {"member": number, "barcode": "D0002"}, form_page="/kelola/sirkulasi"
    )
    assert "diblokir" in admin.get(refused.location).text

    confirm = admin.get(f"/kelola/anggota/{member_id}/hapus")
    assert "1 buku masih dipinjam" in confirm.text
    deleted = admin.post(f"/kelola/anggota/{member_id}/hapus", {})
    assert deleted.location == "/kelola/anggota"
    assert admin.get(f"/kelola/anggota/{member_id}").status == 404
    assert "Di rak" in admin.get(f"/buku/{record_id}").text
    with contextlib.closing(workspace.datadir.connect()) as connection:
        loan = connection.execute("SELECT member_id, returned_at FROM print_loans").fetchone()
    assert loan["member_id"] is None and loan["returned_at"] is not None


def test_find_members_by_name_or_number(workspace):
    admin = workspace.set_up()
    _register(admin, name="Siti Aminah")
    _register(admin, name="Joko Widodo", number="LAMA-0007")
    assert "Siti Aminah" in admin.get("/kelola/anggota?q=amin").text
    found = admin.get("/kelola/anggota?q=LAMA")
    assert "Joko Widodo" in found.text and "Siti Aminah" not in found.text


def test_the_dashboard_counts_todays_desk(workspace):
    admin = workspace.set_up()
    _shelf(workspace, "Kamus Bahasa Sunda", "E0001", "E0002")
    _member_id, number = _register(admin)
    for barcode in ("E0001", "E0002"):
        admin.post("/kelola/sirkulasi/pinjam", {"member": number, "barcode": barcode}, form_page="/kelola/sirkulasi")
    admin.post("/kelola/sirkulasi/kembali", {"in-barcode": "E0002"}, form_page="/kelola/sirkulasi")
    with contextlib.closing(workspace.datadir.connect()) as connection:
        connection.execute("UPDATE print_loans SET due_at = '2000-01-01T00:00:00Z' WHERE returned_at IS NULL")
    text = admin.get("/kelola/").text
    for figure in ("2 dipinjamkan", "1 dikembalikan", "1 sedang dipinjam", "1 terlambat", "1 anggota baru"):
        assert figure in text, figure


def test_the_member_page_shows_their_e_book_loans_and_queue(workspace):
    from catalog import lending

    admin = workspace.set_up()
    member_id, _number = _register(admin, name="Siti Aminah")
    other_id, _other = _register(admin, name="Budi")
    with contextlib.closing(workspace.datadir.connect()) as connection, db.transaction(connection):
        lent, wanted = (
            connection.execute(
                "INSERT INTO records (title, licence, licence_copies) VALUES (?, 'lending', 1)", (title,)
            ).lastrowid
            for title in ("Menanam Padi", "Beternak Lele")
        )
    with contextlib.closing(workspace.datadir.connect()) as connection:
        lending.borrow(connection, lent, member_id)
        lending.borrow(connection, wanted, other_id)
        assert lending.borrow(connection, wanted, member_id)["outcome"] == "hold"
    page = admin.get(f"/kelola/anggota/{member_id}")
    loans = page.body.split("E-book dipinjam", 1)[1].split("</table>", 1)[0]
    assert "Menanam Padi" in loans and "Beternak Lele" not in loans
    queue = page.body.split("Menunggu e-book", 1)[1].split("</table>", 1)[0]
    assert "Beternak Lele" in queue and "<td>1</td>" in queue
    budi = admin.get(f"/kelola/anggota/{other_id}").body
    assert "Beternak Lele" in budi.split("E-book dipinjam", 1)[1] and "Menunggu e-book" not in budi
    nobody_id, _nobody = _register(admin, name="Rina")
    assert "Tidak ada e-book yang dipinjam." in admin.get(f"/kelola/anggota/{nobody_id}").text
