"""Path traversal on every route that serves a file: static files, covers, event pictures, an
EPUB's pictures in the reader and on the TV, downloads and the browse pages. Requests are sent
byte for byte (no client tidies the `..` away); none may return a file from outside its place."""

from __future__ import annotations

import http.client
import urllib.parse

import pytest

# Ways to say "go up" or "start from the root" that a careless join would follow.
ESCAPES = [
    "../../../../../../etc/passwd",
    "..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "%252e%252e%252f%252e%252e%252fetc%252fpasswd",
    "..%5c..%5c..%5c..%5cetc%5cpasswd",
    "/etc/passwd",
    "%2fetc%2fpasswd",
    "....//....//....//etc/passwd",
    "site.css%00.jpg",
    "..%00/secret_key",
    "{data}/secret_key",
    "../secret_key",
    "../../secret_key",
    "../catalogue.sqlite3",
    "..%2f..%2fcatalogue.sqlite3",
]
# Each file-serving route, with the place the name goes.
ROUTES = [
    "/static/{name}",
    "/covers/{name}.jpg",
    "/covers/{name}/besar.jpg",
    "/kegiatan/gambar/{name}.jpg",
    "/baca/{book}/gambar/{name}",
    "/kiosk/baca/{book}/gambar/{name}",
    "/jelajah/subject/{name}",
    "/opds/subjek/{name}",
    "/unduh/{name}",
    "/baca/{book}/{name}",
]
LEAKS = ("root:x:0:0", "SQLite format 3")


def _raw_get(base: str, target: str) -> tuple[int, bytes]:
    address = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=20)
    try:
        connection.putrequest("GET", target, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("route", ROUTES)
def test_no_file_route_serves_anything_from_outside_its_folder(hostile_site, route):
    datadir = hostile_site.library.datadir.root
    secret = hostile_site.app.secret_key.encode()
    for escape in ESCAPES:
        name = escape.format(data=str(datadir).lstrip("/"))
        target = route.format(book=hostile_site.library.ids["kebun"], name=name)
        status, body = _raw_get(hostile_site.base, target)
        assert status in (400, 404, 308), f"{target} answered {status}"
        for leak in (*LEAKS, secret.decode()):
            assert leak.encode() not in body, f"{target} leaked {leak[:12]!r}"


def test_the_legitimate_files_of_those_routes_are_served(hostile_site):
    """So the refusals above are refusals, not a broken route."""
    book = hostile_site.library.ids["kebun"]
    for target in (
        "/static/site.css",
        f"/baca/{book}/gambar/EPUB/images/kebun.png",
        f"/kiosk/baca/{book}/gambar/EPUB/images/kebun.png",
    ):
        status, _body = _raw_get(hostile_site.base, target)
        assert status == 200, target
