"""Security headers on every kind of answer, and the flags of every cookie the server sets:
HttpOnly and SameSite always, Secure once the library's address is https://, and a new
session token at each sign-in."""

from __future__ import annotations

import http.cookies

import pytest

from ebookserver.app import create_app
from ebookserver.settings import load_settings
from tests.security.conftest import PATRON_NUMBER, PATRON_PIN
from tests.web.client import Client
from tests.web.conftest import STAFF_PASSWORD, serving

ANSWERS = [
    ("anonymous", "/"),  # an HTML page
    ("anonymous", "/tidak-ada"),  # an error page
    ("anonymous", "/api/v1/search?q=padi"),  # JSON
    ("anonymous", "/api/v1/records/999999"),  # a JSON error
    ("anonymous", "/opds"),  # an Atom feed
    ("anonymous", "/oai?verb=Identify"),  # OAI-PMH XML
    ("anonymous", "/static/site.css"),  # a static file
    ("anonymous", "/baca/{kebun}/1"),  # the reader (its own, stricter policy)
    ("anonymous", "/baca/{kebun}/gambar/EPUB/images/kebun.png"),  # a chapter's picture
    ("anonymous", "/kiosk"),  # the TV
    ("anonymous", "/kelola/masuk"),  # staff sign-in
    ("librarian", "/kelola/"),  # a staff page
    ("patron", "/akun"),  # a patron's page
]


@pytest.mark.parametrize(("who", "template"), ANSWERS)
def test_every_kind_of_answer_carries_the_security_headers(hostile_site, who, template):
    path = template.format(kebun=hostile_site.library.ids["kebun"])
    response = hostile_site.client(who).get(path)
    assert response.status in (200, 404), (path, response.status)
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff", path
    assert headers["Referrer-Policy"] == "same-origin", path
    policy = headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in policy or "sandbox" in policy, (path, policy)
    assert "object-src 'none'" in policy or "default-src 'none'" in policy, (path, policy)
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, (path, policy)
    assert "Strict-Transport-Security" not in headers, "HSTS on a plain-http library would lock its PCs out"
    if who != "anonymous":
        assert headers["Cache-Control"] == "no-store", f"{path} may stay in a shared PC's cache"


def _set_cookies(response) -> dict[str, http.cookies.Morsel]:
    jar: dict[str, http.cookies.Morsel] = {}
    for header in response.headers.get_all("Set-Cookie") or []:
        parsed = http.cookies.SimpleCookie()
        parsed.load(header)
        jar.update(parsed)
    return jar


def _submit(base: str, path: str, fields: dict) -> tuple[object, dict[str, http.cookies.Morsel]]:
    """GET the form, POST it back with its token, sending the cookie by hand (a Secure cookie
    would not travel over the test's plain http); returns the answer and every cookie set."""
    form = Client(base).get(path)
    cookies = _set_cookies(form)
    sent = "; ".join(f"{name}={morsel.value}" for name, morsel in cookies.items())
    answer = Client(base).request(path, {**fields, "csrf_token": form.csrf_token()}, headers={"Cookie": sent})
    return answer, {**cookies, **_set_cookies(answer)}


def _sign_in_both(base: str) -> dict[str, http.cookies.Morsel]:
    """Every cookie set while a librarian and a patron sign in and a page changes language."""
    staff, cookies = _submit(base, "/kelola/masuk", {"username": "admin", "password": STAFF_PASSWORD})
    patron, more = _submit(base, "/masuk", {"number": PATRON_NUMBER, "pin": PATRON_PIN})
    assert staff.status == patron.status == 302
    return {**cookies, **more, **_set_cookies(Client(base).get("/?lang=en"))}


def test_cookies_are_httponly_and_samesite_and_not_secure_on_plain_http(hostile_site):
    cookies = _sign_in_both(hostile_site.base)
    assert {"ebookserver", "staff_session", "patron_session", "lang"} <= set(cookies)
    for name, cookie in cookies.items():
        assert cookie["samesite"] == "Lax", name
        if name != "lang":  # the interface language is no secret
            assert cookie["httponly"], f"{name} can be read by scripts"
        # On the library's plain-http network a Secure cookie would never come back.
        assert not cookie["secure"], name
    for name in ("staff_session", "patron_session"):
        assert not cookies[name]["expires"] and not cookies[name]["max-age"], f"{name} outlives the browser"


@pytest.fixture
def https_site(hostile_site):
    """The same library, its address set to https:// (TLS ended by a proxy in front)."""
    settings = load_settings(
        environ={}, overrides={"data_dir": hostile_site.library.datadir.root, "public_url": "https://pustaka.example"}
    )
    app = create_app(settings, check_index=False)
    try:
        with serving(app, threads=2) as base:
            yield base
    finally:
        app.config["SEARCH_INDEX"].close()


def test_behind_https_every_cookie_is_secure_and_hsts_is_sent(https_site):
    cookies = _sign_in_both(https_site)
    assert {"ebookserver", "staff_session", "patron_session", "lang"} <= set(cookies)
    for name, cookie in cookies.items():
        assert cookie["secure"], f"{name} would travel over plain http"
    assert "max-age=" in Client(https_site).get("/").headers["Strict-Transport-Security"]


def test_each_sign_in_gets_a_new_session_token_never_a_planted_one(hostile_site):
    patron = hostile_site.client("patron")
    first = patron.cookie("patron_session")
    assert patron.get("/akun").status == 200
    # Signing in again in another browser, then here again: a fresh token each time.
    other = hostile_site.client("patron")
    assert other.cookie("patron_session") != first
    staff_tokens = {hostile_site.client("librarian").cookie("staff_session") for _ in range(2)}
    assert len(staff_tokens) == 2
    # A token planted in the browser before sign-in (session fixation) is replaced, not adopted,
    # and the stale cookie does not undo the new one.
    for path, cookie, fields in (
        ("/kelola/masuk", "staff_session", {"username": "librarian", "password": STAFF_PASSWORD}),
        ("/masuk", "patron_session", {"number": PATRON_NUMBER, "pin": PATRON_PIN}),
    ):
        form = Client(hostile_site.base).get(path)
        planted = f"ebookserver={_set_cookies(form)['ebookserver'].value}; {cookie}=planted-by-someone"
        fields = {**fields, "csrf_token": form.csrf_token()}
        response = Client(hostile_site.base).request(path, fields, headers={"Cookie": planted})
        assert response.status == 302, path
        assert _set_cookies(response)[cookie].value not in ("", "planted-by-someone"), path
