"""The librarian's workspace on a real waitress server: first-run setup, signing in and out,
lockout, CSRF, sessions that end, accounts and roles, and that no staff route opens to anyone
who is not signed in with the right role."""

from __future__ import annotations

import contextlib
import re

import pytest

from catalog import accounts, db, members, pins
from catalog.datadir import SETUP_CODE, DataDir
from tests.web.client import Client
from tests.web.conftest import STAFF_PASSWORD as PASSWORD


def test_first_run_setup_asks_for_the_code_then_makes_the_admin_and_the_library(workspace):
    base, datadir = workspace.base, workspace.datadir
    visitor = Client(base)
    assert visitor.get("/kelola/").location == "/kelola/masuk?next=/kelola/"
    assert visitor.get("/kelola/masuk").location == "/kelola/siapkan"
    page = visitor.get("/kelola/siapkan")
    assert page.status == 200 and "Siapkan perpustakaan" in page.text and "Kode penyiapan" in page.text

    wrong = visitor.post("/kelola/siapkan", workspace.setup_data(setup_code="00000000"))
    assert wrong.status == 200 and "Ini bukan kode penyiapan" in wrong.text
    weak = visitor.post("/kelola/siapkan", workspace.setup_data(password="perpus", confirm="perpus"))
    assert "Minimal 12 karakter" in weak.text
    differ = visitor.post("/kelola/siapkan", workspace.setup_data(confirm=PASSWORD + "x"))
    assert "Kedua kata sandi berbeda" in differ.text
    with contextlib.closing(datadir.connect()) as connection:
        assert not accounts.has_users(connection)  # nothing half-made by the refusals

    admin = workspace.set_up()
    dashboard = admin.get("/kelola/")
    assert dashboard.status == 200 and "Dasbor" in dashboard.text and "Masuk sebagai Ibu Sari" in dashboard.text
    assert "Perpustakaan Desa Sukamaju" in Client(base).get("/").text  # the name on every page
    assert not (datadir.root / SETUP_CODE).exists()  # the code is used up
    # Setup cannot run twice: it now leads to signing in.
    assert Client(base).get("/kelola/siapkan").location == "/kelola/masuk"
    with contextlib.closing(datadir.connect()) as connection:
        assert accounts.identity(connection)["npp"] == "3204012345"
        [entry] = accounts.audit_entries(connection)
        assert (entry["username"], entry["action"]) == ("sari", "setup")


def test_wrong_passwords_lock_the_account_and_say_so_in_indonesian(workspace):
    base, datadir = workspace.base, workspace.datadir
    workspace.set_up()
    client = Client(base)
    for attempt in range(accounts.LOCK_AFTER_FAILURES):
        response = client.post("/kelola/masuk", {"username": "sari", "password": "salah sekali"})
        assert response.status == 401
        if attempt < accounts.LOCK_AFTER_FAILURES - 1:
            assert "Nama pengguna atau kata sandi salah" in response.text
    assert "dikunci selama 15 menit" in " ".join(response.text.split())
    # Even the right password is refused while the lock lasts.
    locked = client.post("/kelola/masuk", {"username": "sari", "password": PASSWORD})
    assert locked.status == 401 and "dikunci" in locked.text
    with contextlib.closing(datadir.connect()) as connection:
        connection.execute("UPDATE users SET locked_until = '2000-01-01T00:00:00Z'")
    assert client.post("/kelola/masuk", {"username": "sari", "password": PASSWORD}).status == 302


def test_forms_without_their_csrf_token_are_refused_with_a_page_in_indonesian(workspace):
    admin = workspace.set_up()
    response = admin.post("/kelola/pengguna", {"username": "budi", "full_name": "Budi"}, token=False)
    assert response.status == 400 and "Formulir tidak dapat dipakai" in response.text
    forged = admin.post("/kelola/keluar", {"csrf_token": "forged"}, token=False)
    assert forged.status == 400
    assert admin.get("/kelola/").status == 200  # still signed in: the forged sign-out did nothing


def test_signing_out_ends_the_session_on_the_server(workspace):
    base, datadir = workspace.base, workspace.datadir
    admin = workspace.set_up()
    token = admin.cookie("staff_session")
    response = admin.post("/kelola/keluar", {}, form_page="/kelola/")
    assert response.status == 302 and response.location == "/kelola/masuk"
    assert "cache" in response.headers["Clear-Site-Data"]
    # A copy of the old cookie (left in a shared PC's browser) opens nothing.
    stale = Client(base)
    assert stale.get("/kelola/", headers={"Cookie": f"staff_session={token}"}).location.startswith("/kelola/masuk")
    with contextlib.closing(datadir.connect()) as connection:
        assert connection.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0


def test_an_idle_session_expires(workspace):
    datadir = workspace.datadir
    admin = workspace.set_up()
    with contextlib.closing(datadir.connect()) as connection:
        connection.execute("UPDATE sessions SET last_seen_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-31 minutes')")
    assert admin.get("/kelola/").location == "/kelola/masuk?next=/kelola/"


def test_the_admin_adds_a_librarian_who_cannot_open_admin_pages_and_is_switched_off(workspace):
    base, datadir = workspace.base, workspace.datadir
    admin = workspace.set_up()
    weak = admin.post(
        "/kelola/pengguna",
        {
            "full_name": "Budi",
            "username": "budi",
            "role": "librarian",
            "password": "perpustakaan",
            "confirm": "perpustakaan",
        },
    )
    assert "Minimal 12 karakter" in weak.text
    added = admin.post(
        "/kelola/pengguna",
        {
            "full_name": "Budi Santoso",
            "username": "budi",
            "role": "librarian",
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )
    assert added.status == 302
    assert "Akun budi dibuat" in admin.get("/kelola/pengguna").text
    taken = admin.post(
        "/kelola/pengguna",
        {"full_name": "Budi 2", "username": "BUDI", "role": "librarian", "password": PASSWORD, "confirm": PASSWORD},
    )
    assert "Sudah ada akun bernama BUDI" in taken.text

    librarian = workspace.sign_in("budi")
    assert librarian.get("/kelola/").status == 200
    for path in ("/kelola/pengguna", "/kelola/perpustakaan", "/kelola/audit"):
        refused = librarian.get(path)
        assert refused.status == 403 and "Akun Anda tidak boleh membuka halaman ini" in refused.text
    assert "Pengguna" not in librarian.get("/kelola/").text.split("Dasbor", 1)[1].split("Dasbor", 1)[0]

    page = admin.get("/kelola/pengguna")
    [budi_id] = re.findall(r"/kelola/pengguna/(\d+)/aktif", page.body)
    assert admin.post(f"/kelola/pengguna/{budi_id}/aktif", {}, form_page="/kelola/pengguna").status == 302
    assert librarian.get("/kelola/").location.startswith("/kelola/masuk")  # switched off: signed out at once
    assert Client(base).post("/kelola/masuk", {"username": "budi", "password": PASSWORD}).status == 401
    with contextlib.closing(datadir.connect()) as connection:
        actions = [entry["action"] for entry in accounts.audit_entries(connection)]
    assert actions[:2] == ["user.deactivate", "user.add"]
    assert "Mematikan akun" in admin.get("/kelola/audit").text


def test_the_admin_edits_the_library_details(workspace):
    base = workspace.base
    admin = workspace.set_up()
    form = admin.get("/kelola/perpustakaan")
    assert 'value="Sukamaju"' in form.body
    saved = admin.post(
        "/kelola/perpustakaan",
        {**{k: v for k, v in workspace.setup_data().items() if k in accounts.IDENTITY_FIELDS}, "name": "TBM Pelangi"},
    )
    assert saved.status == 302
    assert "TBM Pelangi" in Client(base).get("/").text


def test_every_staff_route_refuses_visitors_and_admin_routes_refuse_librarians(workspace):
    """Walks the whole URL map, so a page added later cannot forget its access check."""
    base, app = workspace.base, workspace.app
    workspace.set_up()
    workspace.add_user("budi", "librarian")
    visitor, librarian = Client(base), workspace.sign_in("budi")
    with contextlib.closing(workspace.datadir.connect()) as connection:
        members.register_member(connection, "Siti Aminah", number="S-1")
        pins.set_pin(connection, "S-1", "2468")
    patron = Client(base)
    assert patron.post("/masuk", {"number": "S-1", "pin": "2468"}).status == 302 and patron.cookie("patron_session")
    staff_rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/kelola")]
    assert len(staff_rules) >= 8
    checked = 0
    for rule in staff_rules:
        if rule.endpoint in ("staff.login", "staff.setup"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", "1", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            data = {} if method == "POST" else None
            response = visitor.request(path, data=data)
            assert response.status in (302, 400), f"{method} {path} answered a visitor with {response.status}"
            if response.status == 302:
                assert response.location.startswith("/kelola/masuk"), (method, path)
            # A signed-in patron is nobody to the librarian's workspace.
            as_patron = patron.request(path, data=data)
            assert as_patron.status in (302, 400), f"{method} {path} answered a patron with {as_patron.status}"
            if as_patron.status == 302:
                assert as_patron.location.startswith("/kelola/masuk"), (method, path)
            if getattr(app.view_functions[rule.endpoint], "required_role", "librarian") == "admin" and method == "GET":
                assert librarian.request(path).status == 403, f"a librarian opened {path}"
            checked += 1
    assert checked >= 8


def test_sign_in_is_rate_limited_per_computer(tmp_path):
    datadir = DataDir(tmp_path / "data")
    datadir.create()
    with contextlib.closing(datadir.connect()) as connection:
        with db.transaction(connection):
            accounts.create_user(connection, "sari", "Sari", "admin", PASSWORD)
        for _ in range(accounts.CLIENT_FAILURES_LIMIT):
            with pytest.raises(accounts.LoginRefused):
                accounts.authenticate(connection, f"nobody{_}", "x", "10.0.0.9")
        with pytest.raises(accounts.TooManyAttempts):
            accounts.authenticate(connection, "sari", PASSWORD, "10.0.0.9")
        # Another computer is not held up.
        assert accounts.authenticate(connection, "sari", PASSWORD, "10.0.0.10")["username"] == "sari"
