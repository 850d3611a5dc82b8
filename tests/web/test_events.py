"""Events and announcements: the librarian posts one with a picture, patrons see it on the home
page and its own page with the date in Indonesian; past events leave the home page."""

from __future__ import annotations

import contextlib
import datetime
import re
import urllib.parse
import urllib.request
import uuid

import pymupdf
import pytz

from catalog import announcements, db


def _multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, content, mimetype) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {mimetype}\r\n\r\n"
        )
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _post_event(client, fields: dict, picture: bytes | None = None, path: str = "/kelola/kegiatan"):
    token = client.get(path).csrf_token()
    body, content_type = _multipart(
        {"csrf_token": token, **fields}, {"image": ("poster.png", picture, "image/png")} if picture else {}
    )
    request = urllib.request.Request(client.base + path, data=body, headers={"Content-Type": content_type})  # noqa: S310
    try:
        with client.opener.open(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()


def _png(width: int = 400, height: int = 300) -> bytes:
    pixmap = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, width, height), False)
    pixmap.set_rect(pixmap.irect, (200, 120, 40))
    return pixmap.tobytes("png")


def _jakarta_today() -> datetime.date:
    return datetime.datetime.now(pytz.timezone("Asia/Jakarta")).date()


def test_a_librarian_posts_an_event_with_a_picture_and_patrons_see_it_in_indonesian(workspace):
    admin = workspace.set_up()
    day = _jakarta_today() + datetime.timedelta(days=3)
    status, _body = _post_event(
        admin,
        {
            "title": "Dongeng Sore untuk Anak",
            "date": day.isoformat(),
            "time": "15:00",
            "end_time": "16:30",
            "place": "Ruang baca",
            "description": "Kak Rina membacakan cerita rakyat.",
            "published": "y",
        },
        _png(),
    )
    assert status == 302
    home = admin.get("/")
    assert "Dongeng Sore untuk Anak" in home.text and "Kegiatan" in home.text
    months = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober"]
    months += ["November", "Desember"]
    assert f"{day.day} {months[day.month - 1]} {day.year}, 15.00–16.30" in home.text
    [link] = re.findall(r'href="(/kegiatan/\d+)"', home.body)
    page = admin.get(link)
    assert "Kak Rina membacakan cerita rakyat." in page.text and "Tempat: Ruang baca" in page.text
    [picture] = re.findall(r'src="(/kegiatan/gambar/[0-9a-f]{64}\.jpg)"', page.body)
    image = admin.get(picture)
    assert image.status == 200 and image.headers["Content-Type"] == "image/jpeg"
    with contextlib.closing(workspace.datadir.connect()) as connection:
        [entry] = [row for row in connection.execute("SELECT * FROM audit_log WHERE action = 'event.add'")]
        assert entry["username"] == "sari"


def test_a_picture_that_is_not_an_image_is_refused_and_nothing_is_saved(workspace):
    admin = workspace.set_up()
    status, body = _post_event(admin, {"title": "Lomba Mewarnai", "published": "y"}, b"<svg onload=alert(1)>")
    assert status == 200 and "Ini bukan gambar yang dapat dipakai" in " ".join(body.split())
    with contextlib.closing(workspace.datadir.connect()) as connection:
        assert connection.execute("SELECT count(*) FROM announcements").fetchone()[0] == 0
    assert list(workspace.datadir.images_dir.iterdir()) == []


def test_a_time_needs_a_date_and_the_end_comes_after_the_start(workspace):
    admin = workspace.set_up()
    _status, body = _post_event(admin, {"title": "Rapat", "time": "10:00"})
    assert "Jam perlu tanggal" in body
    _status, body = _post_event(
        admin, {"title": "Rapat", "date": _jakarta_today().isoformat(), "time": "10:00", "end_time": "09:00"}
    )
    assert "Akhir harus setelah mulai" in body


def test_past_and_hidden_events_leave_the_home_page_notices_stay(workspace):
    workspace.set_up()
    yesterday = (_jakarta_today() - datetime.timedelta(days=1)).isoformat()
    with contextlib.closing(workspace.datadir.connect()) as connection, db.transaction(connection):
        announcements.add(connection, {"title": "Pameran Kemarin", "starts_at": f"{yesterday}T09:00"})
        announcements.add(connection, {"title": "Acara Rahasia", "starts_at": "2999-01-01T09:00", "published": False})
        announcements.add(connection, {"title": "Buku baru sudah datang"})
    home = workspace.sign_in("sari").get("/")
    assert "Buku baru sudah datang" in home.text
    assert "Pameran Kemarin" not in home.text and "Acara Rahasia" not in home.text
    hidden_id = re.findall(r"/kelola/kegiatan/(\d+)\"", workspace.sign_in("sari").get("/kelola/kegiatan").body)
    assert any(workspace.sign_in("sari").get(f"/kegiatan/{number}").status == 404 for number in hidden_id)


def test_a_librarian_edits_and_deletes_an_event(workspace):
    admin = workspace.set_up()
    _post_event(admin, {"title": "Kelas Menulis", "date": "2999-05-01", "time": "09:00", "published": "y"})
    [number] = re.findall(r'/kelola/kegiatan/(\d+)"', admin.get("/kelola/kegiatan").body)
    form = admin.get(f"/kelola/kegiatan/{number}")
    assert 'value="Kelas Menulis"' in form.body and 'value="2999-05-01"' in form.body
    status, _ = _post_event(
        admin,
        {"title": "Kelas Menulis Puisi", "date": "2999-05-01", "time": "10:00", "published": "y"},
        path=f"/kelola/kegiatan/{number}",
    )
    assert status == 302
    assert "Kelas Menulis Puisi" in admin.get("/kegiatan").text
    deleted = admin.post(f"/kelola/kegiatan/{number}/hapus", {}, form_page="/kelola/kegiatan")
    assert deleted.status == 302
    assert f"/kegiatan/{number}" not in admin.get("/kegiatan").body
    assert admin.get(f"/kegiatan/{number}").status == 404
    assert urllib.parse.urlsplit(deleted.location).path == "/kelola/kegiatan"
