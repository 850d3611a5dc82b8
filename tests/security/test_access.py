"""Access control over the whole URL map: every route is listed here with who may use it, and
each is tried by a visitor, a signed-in patron, a librarian and an admin. A route added later
without an entry fails the test, so nobody can forget to decide."""

from __future__ import annotations

import contextlib
import re
import urllib.parse

import pytest

from catalog import db
from ebookserver import auth
from tests.security.conftest import PATRON_NUMBER, PATRON_PIN
from tests.web.conftest import STAFF_PASSWORD

# Who may use each endpoint. `public`: anyone (reading routes then apply the title's licence);
# `patron`: a signed-in member; `reading-app`: a member by HTTP Basic (reading apps);
# `staff`: a librarian or admin; `admin`: an admin only. The staff routes are listed by the
# decorator's verdict, checked against ADMIN below.
PUBLIC = {
    "static",
    "opac.index",
    "opac.results",
    "opac.record",
    "opac.thumbnail",
    "opac.cover",
    "opac.browse_by",
    "opac.newest",
    "reader.start",
    "reader.read",
    "reader.page_image",
    "reader.picture",
    "reader.download",
    "reader.stamped_download",
    "api.search",
    "api.record",
    "api.description",
    "health.healthz",
    "events.listing",
    "events.show",
    "events.image",
    "kiosk.showcase",
    "kiosk.book",
    "kiosk.slides",
    "kiosk.qr_code",
    "kiosk.shelf",
    "kiosk_reader.start",
    "kiosk_reader.read",
    "kiosk_reader.page_image",
    "kiosk_reader.picture",
    "opds.root",
    "opds.authentication",
    "opds.languages",
    "opds.language",
    "opds.newest",
    "opds.entry",
    "opds.search",
    "opds.opensearch",
    "opds.popular",
    "opds.subjects",
    "opds.subject",
    "oai.endpoint",
    "stats.privacy",
    "patron.sign_in",
    "patron.sign_out",
    "staff.login",
    "staff.setup",
}
PATRON = {
    "patron.account",
    "patron.history_choice",
    "patron.history_delete",
    "patron.leave_queue",
    "patron.give_back",
    "patron.renew",
    "patron.borrow",
}
# Public routes where the title's licence may still refuse (an open title has no stamped copy).
LICENCE_DECIDES = {"reader.stamped_download"}
READING_APP = {"opds.borrow", "opds.give_back", "opds.shelf"}
ADMIN = {
    "staff.audit_log",
    "staff.users",
    "staff.toggle_user",
    "staff.reset_password",
    "staff.library",
    "stats.push_status",
}


def _rules(app):
    return [rule for rule in app.url_map.iter_rules()]


def _path(rule, hostile_site) -> str:
    """The rule with real ids of this library put into it."""
    values = {
        "record_id": hostile_site.library.ids["kebun"],
        "member_id": hostile_site.member_id,
        "user_id": hostile_site.users["librarian"],
        "announcement_id": hostile_site.announcement_id,
        "item_id": 1,
        "seq": 1,
        "sha256": "0" * 64,
        "kind": "author",
        "shelf": "new",
        "view": "tr",
        "form": "csv",
    }

    def value(match: re.Match) -> str:
        return str(values.get(match.group(1), "x"))

    return re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_0-9]+)>", value, rule.rule)


def _audience(rule) -> str:
    if rule.endpoint in PATRON:
        return "patron"
    if rule.endpoint in READING_APP:
        return "reading-app"
    if rule.rule.startswith(auth.STAFF_PREFIX) and rule.endpoint not in auth.PUBLIC_STAFF_ENDPOINTS:
        return "admin" if rule.endpoint in ADMIN else "staff"
    assert rule.endpoint in PUBLIC, f"{rule.rule} ({rule.endpoint}) is in no access list: decide who may use it"
    return "public"


def test_every_endpoint_is_listed_once_and_the_lists_name_no_stale_route(hostile_site):
    endpoints = {rule.endpoint for rule in _rules(hostile_site.app)}
    for audience in (PUBLIC, PATRON, READING_APP, ADMIN):
        assert audience <= endpoints, f"stale entries: {sorted(audience - endpoints)}"
    for rule in _rules(hostile_site.app):
        _audience(rule)
    # The admin list and the code's @admin_only agree.
    marked = {
        endpoint
        for endpoint, view in hostile_site.app.view_functions.items()
        if getattr(view, "required_role", None) == "admin"
    }
    assert marked == ADMIN


def _methods(rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def _try(client, method: str, path: str, token: str):
    """GET, or POST with a valid CSRF token for this browser (so access, not CSRF, decides)."""
    return client.request(path) if method == "GET" else client.request(path, data={"csrf_token": token})


@pytest.fixture(scope="module")
def browsers(hostile_site):
    clients = {who: hostile_site.client(who) for who in ("anonymous", "patron", "librarian", "admin")}
    forms = {"anonymous": "/masuk", "patron": "/akun", "librarian": "/kelola/anggota/baru", "admin": "/kelola/pengguna"}
    tokens = {who: client.get(forms[who]).csrf_token() for who, client in clients.items()}
    return clients, tokens


def test_visitors_and_patrons_are_sent_to_sign_in_on_every_staff_and_patron_route(hostile_site, browsers):
    clients, tokens = browsers
    checked = 0
    for rule in _rules(hostile_site.app):
        audience = _audience(rule)
        if audience == "public":
            continue
        path = _path(rule, hostile_site)
        for method in _methods(rule):
            for who in ("anonymous", "patron") if audience in ("staff", "admin") else ("anonymous", "librarian"):
                response = _try(clients[who], method, path, tokens[who])
                where = f"{method} {path} as {who}"
                if audience == "reading-app":
                    assert response.status == 401 and "Basic" in response.headers["WWW-Authenticate"], where
                    continue
                sign_in = "/kelola/masuk" if audience in ("staff", "admin") else "/masuk"
                assert response.status == 302, f"{where} answered {response.status}"
                assert response.location.startswith(sign_in), f"{where} went to {response.location}"
                checked += 1
    assert checked >= 80


def test_admin_routes_refuse_librarians_and_open_for_admins(hostile_site, browsers):
    clients, tokens = browsers
    for rule in _rules(hostile_site.app):
        if _audience(rule) != "admin":
            continue
        path = _path(rule, hostile_site)
        for method in _methods(rule):
            # Refused before the view runs, so even a POST changes nothing.
            response = _try(clients["librarian"], method, path, tokens["librarian"])
            assert response.status == 403, f"{method} {path} answered a librarian with {response.status}"
        if "GET" in rule.methods:
            assert clients["admin"].get(path).status == 200, f"an admin could not open {path}"


def test_staff_routes_open_for_librarians_and_public_routes_for_visitors(hostile_site, browsers):
    """GET only: each page opens (200, or a redirect or 404 the page itself chose), never a
    refusal or a sign-in page, and never a server error."""
    clients, _tokens = browsers
    for rule in _rules(hostile_site.app):
        audience = _audience(rule)
        if "GET" not in rule.methods or audience not in ("public", "staff", "patron"):
            continue
        path = _path(rule, hostile_site)
        who = {"public": "anonymous", "staff": "librarian", "patron": "patron"}[audience]
        if rule.endpoint in ("patron.sign_in", "staff.login", "staff.setup"):
            continue  # these redirect a signed-in user onwards, or to sign-in, by design
        response = clients[who].get(path)
        where = f"GET {path} as {who}"
        allowed = (200, 302, 303, 404, 403) if rule.endpoint in LICENCE_DECIDES else (200, 302, 303, 404)
        assert response.status in allowed, f"{where} answered {response.status}"
        if response.status == 302:
            assert not response.location.startswith(("/masuk", "/kelola/masuk")), f"{where} asked to sign in"


# POST routes without a CSRF token, each for a reason: harvesters and reading apps send no cookie.
CSRF_EXEMPT = {"oai.endpoint", "opds.borrow", "opds.give_back"}


def test_every_post_needs_its_csrf_token_even_from_a_signed_in_browser(hostile_site, browsers):
    """Another site cannot make a signed-in librarian's or patron's browser change anything:
    each POST without this session's token is refused (400) before its view runs."""
    clients, tokens = browsers
    checked = 0
    for rule in _rules(hostile_site.app):
        if "POST" not in rule.methods:
            continue
        audience = _audience(rule)
        path = _path(rule, hostile_site)
        who = {"staff": "admin", "admin": "admin", "patron": "patron"}.get(audience, "anonymous")
        if rule.endpoint in CSRF_EXEMPT:
            if audience == "reading-app":  # the patron's cookie is not enough: HTTP Basic only
                assert clients["patron"].request(path, data={}).status == 401, path
            continue
        for forged in ({}, {"csrf_token": tokens["librarian" if who != "librarian" else "patron"]}):
            response = clients[who].request(path, data=forged)
            assert response.status == 400, f"POST {path} as {who} with {forged} answered {response.status}"
            checked += 1
    assert checked >= 2 * 40


def test_a_withdrawn_title_is_gone_from_the_api_as_from_the_catalogue(hostile_site, browsers):
    clients, _tokens = browsers
    record_id = hostile_site.library.ids["padi"]
    with contextlib.closing(hostile_site.library.datadir.connect()) as connection:
        with db.transaction(connection):
            connection.execute("UPDATE records SET withdrawn = 1 WHERE id = ?", (record_id,))
        try:
            for path in (f"/buku/{record_id}", f"/api/v1/records/{record_id}"):
                assert clients["anonymous"].get(path).status == 404, path
                assert clients["librarian"].get(path).status == 200, path
        finally:
            with db.transaction(connection):
                connection.execute("UPDATE records SET withdrawn = 0 WHERE id = ?", (record_id,))


@pytest.mark.parametrize(
    "target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "\\\\evil.example", "javascript:alert(1)"]
)
def test_signing_in_never_sends_the_browser_to_another_site(hostile_site, target):
    staff = hostile_site.client("anonymous")
    query = urllib.parse.urlencode({"next": target})
    fields = {"username": "librarian", "password": STAFF_PASSWORD}
    response = staff.post(f"/kelola/masuk?{query}", fields)
    assert response.status == 302 and response.headers["Location"].startswith(("/", hostile_site.base))
    assert response.location == "/kelola/", response.location
    patron = hostile_site.client("anonymous")
    response = patron.post(f"/masuk?{query}", {"number": PATRON_NUMBER, "pin": PATRON_PIN})
    assert response.status == 302 and response.location == "/akun", response.location
