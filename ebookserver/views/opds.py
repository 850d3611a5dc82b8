"""OPDS 1.2 catalogue (`/opds`) for reading apps (Thorium, KOReader, Aldiko, Librera…).

A navigation root (new, most read, by subject area, by language, search), acquisition feeds
with paging (`next`/`previous`/`first`/`last`), OpenSearch, and complete entries. Every URL is
absolute. Open-access titles carry an open-access acquisition link; the lending module adds
borrow links for licensed ones (`lending_links`). The XML is built with lxml, so everything is
escaped; tests validate the feeds against the OPDS 1.2 RelaxNG schema.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import math
from collections.abc import Callable, Iterable
from typing import Any

from flask import Blueprint, Response, abort, current_app, g, request, url_for
from flask_babel import gettext as _
from lxml import etree

from catalog import accounts, browse, events, lending, pins
from catalog import search as search_engine
from catalog.errors import CatalogError, RecordNotFound
from catalog.records import get_record
from ebookserver import names
from ebookserver.access import may_download
from ebookserver.database import get_db
from ebookserver.views import record_or_404
from ebookserver.views.staff import message_of

blueprint = Blueprint("opds", __name__, url_prefix="/opds")
ATOM = "http://www.w3.org/2005/Atom"
DC = "http://purl.org/dc/terms/"
OPDS = "http://opds-spec.org/2010/catalog"
OPENSEARCH = "http://a9.com/-/spec/opensearch/1.1/"
NSMAP = {None: ATOM, "dc": DC, "opds": OPDS, "opensearch": OPENSEARCH}
_BY_PREFIX = {"": ATOM, "dc": DC, "opds": OPDS, "opensearch": OPENSEARCH}
NAVIGATION = "application/atom+xml;profile=opds-catalog;kind=navigation"
ACQUISITION = "application/atom+xml;profile=opds-catalog;kind=acquisition"
ENTRY = "application/atom+xml;type=entry;profile=opds-catalog"
MEDIA_TYPES = {"epub": "application/epub+zip", "pdf": "application/pdf"}
PAGE_SIZE = 25
BORROW = "http://opds-spec.org/acquisition/borrow"
REVOKE = "http://librarysimplified.org/terms/rel/revoke"
SHELF = "http://opds-spec.org/shelf"
AUTH_DOCUMENT = "application/opds-authentication+json"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _element(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    """A child element; `tag` is `name` (Atom) or `prefix:name` (dc, opds, opensearch)."""
    prefix, _sep, local = tag.rpartition(":")
    element = etree.SubElement(parent, f"{{{_BY_PREFIX[prefix]}}}{local}", attributes)
    if text is not None:
        element.text = text
    return element


def _link(parent: etree._Element, rel: str, href: str, kind: str, title: str | None = None) -> etree._Element:
    attributes = {"rel": rel, "href": href, "type": kind}
    if title:
        attributes["title"] = title
    return _element(parent, "link", **attributes)


def _feed(title: str, kind: str, endpoint: str, **arguments: Any) -> etree._Element:
    """A feed with its id, title, author, self/start/search links."""
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap=NSMAP)
    self_url = url_for(endpoint, _external=True, **arguments)
    _element(feed, "id", self_url)
    _element(feed, "title", title)
    _element(feed, "updated", _now())
    author = _element(feed, "author")
    _element(author, "name", _library_name())
    _element(author, "uri", url_for("opac.index", _external=True))
    _link(feed, "self", self_url, kind)
    _link(feed, "start", url_for("opds.root", _external=True), NAVIGATION)
    if endpoint != "opds.root":
        _link(feed, "up", url_for("opds.root", _external=True), NAVIGATION)
    _link(feed, "search", url_for("opds.opensearch", _external=True), "application/opensearchdescription+xml")
    return feed


def _library_name() -> str:
    from ebookserver.app import library_identity

    identity = library_identity()
    return (identity or {}).get("name") or current_app.config["EBOOKSERVER"].library_name


def _respond(feed: etree._Element, kind: str) -> Response:
    body = etree.tostring(feed, xml_declaration=True, encoding="utf-8")
    return Response(body, content_type=f"{kind};charset=utf-8")


def _navigation_entry(feed: etree._Element, title: str, href: str, kind: str, content: str, rel: str = "subsection"):
    entry = _element(feed, "entry")
    _element(entry, "title", title)
    _element(entry, "id", href)
    _element(entry, "updated", _now())
    _element(entry, "content", content, type="text")
    _link(entry, rel, href, kind)


def _pages(feed: etree._Element, endpoint: str, page: int, total: int, **arguments: Any) -> None:
    """Paging links and OpenSearch counts."""
    last = max(1, math.ceil(total / PAGE_SIZE))
    _element(feed, "opensearch:totalResults", str(total))
    _element(feed, "opensearch:itemsPerPage", str(PAGE_SIZE))
    _element(feed, "opensearch:startIndex", str((page - 1) * PAGE_SIZE + 1))
    _link(feed, "first", url_for(endpoint, _external=True, page=1, **arguments), ACQUISITION)
    _link(feed, "last", url_for(endpoint, _external=True, page=last, **arguments), ACQUISITION)
    if page > 1:
        _link(feed, "previous", url_for(endpoint, _external=True, page=page - 1, **arguments), ACQUISITION)
    if page < last:
        _link(feed, "next", url_for(endpoint, _external=True, page=page + 1, **arguments), ACQUISITION)


def _entry(parent: etree._Element, record: dict[str, Any], *, complete: bool = False) -> etree._Element:
    entry = _element(parent, "entry")
    _element(entry, "title", record["title"])
    _element(entry, "id", f"urn:ebookserver:record:{record['id']}")
    _element(entry, "updated", record.get("updated_at") or record["created_at"])
    for name in record["authors"]:
        author = _element(entry, "author")
        _element(author, "name", name)
        _element(author, "uri", url_for("opac.browse_by", kind="author", value=name, _external=True))
    if record.get("language"):
        _element(entry, "dc:language", record["language"])
    if record.get("publisher"):
        _element(entry, "dc:publisher", record["publisher"])
    if record.get("year"):
        _element(entry, "dc:issued", str(record["year"]))
    for scheme, value in record.get("identifiers", {}).items():
        if scheme == "isbn":
            _element(entry, "dc:identifier", f"urn:isbn:{value}")
    for term in record.get("subjects", []):
        _element(entry, "category", term=term, label=term)
    ddc = (record.get("ddc") or "")[:1]
    if ddc in names.DDC_CLASSES:
        _element(entry, "category", term=ddc + "00", scheme="http://dewey.info/class/", label=_(names.DDC_CLASSES[ddc]))
    if record.get("description"):
        _element(entry, "summary" if not complete else "content", record["description"], type="text")
    if record.get("has_cover"):
        _link(
            entry,
            "http://opds-spec.org/image",
            url_for("opac.cover", sha256=record["sha256"], _external=True),
            "image/jpeg",
        )
        _link(
            entry,
            "http://opds-spec.org/image/thumbnail",
            url_for("opac.thumbnail", sha256=record["sha256"], _external=True),
            "image/jpeg",
        )
    _link(entry, "alternate", url_for("opac.record", record_id=record["id"], _external=True), "text/html")
    if not complete:
        _link(entry, "alternate", url_for("opds.entry", record_id=record["id"], _external=True), ENTRY, _("Full entry"))
    if lending.needs_loan(record):
        _lending_links(entry, record)
        return entry
    for file in record["files"]:
        if may_download(record, file):
            _link(
                entry,
                "http://opds-spec.org/acquisition/open-access",
                url_for("reader.download", record_id=record["id"], file=file["id"], _external=True),
                MEDIA_TYPES.get(file["format"], "application/octet-stream"),
            )
    return entry


def _stamp(moment: datetime.datetime | None) -> str | None:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _lending_links(entry: etree._Element, record: dict[str, Any]) -> None:
    """A lent title: read it in the browser while the patron's loan runs (and return it early),
    otherwise a borrow link with the copies, the queue and when a copy frees
    (`opds:availability`, `opds:holds`, `opds:copies`, as lending OPDS servers carry them)."""
    policy = current_app.config["EBOOKSERVER"].lending_policy()
    patron = g.get("patron")
    loan = lending.active_loan(get_db(), record["id"], patron["id"]) if patron else None
    if loan is not None:
        reading = _link(
            entry,
            "http://opds-spec.org/acquisition",
            url_for("reader.start", record_id=record["id"], _external=True),
            "text/html",
            _("Read in the browser"),
        )
        _element(
            reading,
            "opds:availability",
            status="available",
            since=_stamp(loan["loaned_at"]),
            until=_stamp(loan["due_at"]),
        )
        _link(
            entry, REVOKE, url_for("opds.give_back", record_id=record["id"], _external=True), ENTRY, _("Return early")
        )
        return
    state = lending.availability(get_db(), record["id"], policy=policy)
    borrow = _link(entry, BORROW, url_for("opds.borrow", record_id=record["id"], _external=True), ENTRY, _("Borrow"))
    _element(borrow, "opds:indirectAcquisition", type="text/html")
    attributes = {"status": "available" if state["available"] > 0 else "unavailable"}
    if state["available"] <= 0 and state.get("wait_estimate"):
        attributes["until"] = _stamp(state["wait_estimate"])
    _element(borrow, "opds:availability", **attributes)
    _element(borrow, "opds:holds", total=str(state["holds"]))
    _element(borrow, "opds:copies", total=str(state["copies"]), available=str(max(state["available"], 0)))


def _acquisition(title: str, endpoint: str, total: int, records: Iterable[dict], page: int, **arguments: Any):
    feed = _feed(title, ACQUISITION, endpoint, page=page, **arguments)
    _pages(feed, endpoint, page, total, **arguments)
    for record in records:
        _entry(feed, record)
    return _respond(feed, ACQUISITION)


def _page() -> int:
    return min(max(request.args.get("page", 1, type=int) or 1, 1), 10_000)


@blueprint.get("")
def root():
    feed = _feed(_("%(library)s: e-books", library=_library_name()), NAVIGATION, "opds.root")
    # Feed-level links come before the entries (RFC 4287).
    _link(feed, SHELF, url_for("opds.shelf", _external=True), ACQUISITION, _("My loans"))
    _link(feed, "http://opds-spec.org/auth/document", url_for("opds.authentication", _external=True), AUTH_DOCUMENT)
    for title, endpoint, kind, content, rel in (
        (_("New arrivals"), "opds.newest", ACQUISITION, _("The newest books first."), "http://opds-spec.org/sort/new"),
        (
            _("Most read"),
            "opds.popular",
            ACQUISITION,
            _("The books opened most often lately."),
            "http://opds-spec.org/sort/popular",
        ),
        (
            _("By subject area"),
            "opds.subjects",
            NAVIGATION,
            _("The ten main classes of the Dewey Decimal Classification."),
            "subsection",
        ),
        (_("By language"), "opds.languages", NAVIGATION, _("Books in each language."), "subsection"),
    ):
        _navigation_entry(feed, title, url_for(endpoint, _external=True), kind, content, rel=rel)
    return _respond(feed, NAVIGATION)


@blueprint.get("/baru")
def newest():
    page = _page()
    total, records = browse.records_in(get_db(), "new", limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return _acquisition(_("New arrivals"), "opds.newest", total, records, page)


@blueprint.get("/populer")
def popular():
    records = events.most_read(get_db(), days=90, limit=PAGE_SIZE)
    return _acquisition(_("Most read"), "opds.popular", len(records), records, 1)


@blueprint.get("/subjek")
def subjects():
    feed = _feed(_("By subject area"), NAVIGATION, "opds.subjects")
    for value, count in browse.counts(get_db())["ddc"]:
        href = url_for("opds.subject", value=value, _external=True)
        label = f"{value}00 {_(names.DDC_CLASSES[value])}"
        _navigation_entry(feed, label, href, ACQUISITION, _("%(num)s books", num=count))
    return _respond(feed, NAVIGATION)


@blueprint.get("/subjek/<value>")
def subject(value: str):
    if value not in names.DDC_CLASSES:
        abort(404)
    page = _page()
    total, records = browse.records_in(get_db(), "ddc", value, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    title = f"{value}00 {_(names.DDC_CLASSES[value])}"
    return _acquisition(title, "opds.subject", total, records, page, value=value)


@blueprint.get("/bahasa")
def languages():
    feed = _feed(_("By language"), NAVIGATION, "opds.languages")
    for value, count in browse.counts(get_db())["language"]:
        label = _(names.LANGUAGES[value]) if value in names.LANGUAGES else value
        href = url_for("opds.language", value=value, _external=True)
        _navigation_entry(feed, label, href, ACQUISITION, _("%(num)s books", num=count))
    return _respond(feed, NAVIGATION)


@blueprint.get("/bahasa/<value>")
def language(value: str):
    page = _page()
    total, records = browse.records_in(get_db(), "language", value, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    if not total:
        abort(404)
    label = _(names.LANGUAGES[value]) if value in names.LANGUAGES else value
    return _acquisition(label, "opds.language", total, records, page, value=value)


@blueprint.get("/cari")
def search():
    text = request.args.get("q", "").strip()[:500]
    page = _page()
    if not text:
        return _acquisition(_("Search"), "opds.search", 0, [], 1, q="")
    found = search_engine.search(
        current_app.config["SEARCH_INDEX"],
        get_db(),
        search_engine.SearchRequest(text, page=page, page_size=PAGE_SIZE),
    )
    records = []
    for hit in found["hits"]:
        with contextlib.suppress(RecordNotFound):
            record = get_record(get_db(), hit["id"])
            if not record["withdrawn"]:
                records.append(record)
    return _acquisition(_("Search: %(query)s", query=text), "opds.search", found["total"], records, page, q=text)


@blueprint.get("/opensearch.xml")
def opensearch():
    root = etree.Element(f"{{{OPENSEARCH}}}OpenSearchDescription", nsmap={None: OPENSEARCH})
    etree.SubElement(root, f"{{{OPENSEARCH}}}ShortName").text = _library_name()[:16]
    etree.SubElement(root, f"{{{OPENSEARCH}}}Description").text = _(
        "Search the titles, authors and the words inside every book."
    )
    etree.SubElement(root, f"{{{OPENSEARCH}}}InputEncoding").text = "UTF-8"
    etree.SubElement(root, f"{{{OPENSEARCH}}}OutputEncoding").text = "UTF-8"
    template = url_for("opds.search", _external=True) + "?q={searchTerms}&page={startPage?}"
    etree.SubElement(root, f"{{{OPENSEARCH}}}Url", type=ACQUISITION, template=template)
    body = etree.tostring(root, xml_declaration=True, encoding="utf-8")
    return Response(body, mimetype="application/opensearchdescription+xml")


@blueprint.get("/buku/<int:record_id>")
def entry(record_id: int):
    record = record_or_404(record_id)
    if record.get("withdrawn"):
        abort(404)
    element = _entry(etree.Element(f"{{{ATOM}}}feed", nsmap=NSMAP), record, complete=True)
    root = etree.Element(f"{{{ATOM}}}entry", nsmap=NSMAP)
    root.extend(list(element))
    return _respond(root, ENTRY)


# --- lending through reading apps: HTTP Basic with member number and PIN --------------------


def _patron(cookie: bool) -> dict[str, Any] | None:
    """The patron: by HTTP Basic (member number and PIN), with the same lockout and per-address
    limits as the sign-in page; or, where *cookie* allows (reading, never changing anything),
    signed in on this browser. Borrowing and returning take HTTP Basic only, so another site
    cannot make a signed-in browser borrow (these routes need no CSRF token)."""
    if cookie and g.get("patron"):
        return g.patron
    credentials = request.authorization
    if credentials is None or credentials.type != "basic" or not credentials.username:
        return None
    connection, client = get_db(), request.remote_addr or "unknown"
    accounts.refuse_client_if_limited(connection, client)
    try:
        g.patron = pins.verify_pin(connection, credentials.username, credentials.password or "")
    except CatalogError:
        accounts.note_failure(connection, client)
        raise
    return g.patron


def _problem(status: int, title: str, detail: str | None = None) -> Response:
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    response = Response(json.dumps(body, ensure_ascii=False), status=status, content_type="application/problem+json")
    if status == 401:
        response.headers["WWW-Authenticate"] = f'Basic realm="{_library_name()}", charset="UTF-8"'
        response.headers["Link"] = (
            f'<{url_for("opds.authentication", _external=True)}>; rel="http://opds-spec.org/auth/document"'
        )
    return response


def _as_patron(action: Callable[[dict[str, Any]], Response], *, cookie: bool = False) -> Response:
    try:
        patron = _patron(cookie)
    except CatalogError as error:
        return _problem(401, _("Signing in failed"), message_of(error))
    if patron is None:
        return _problem(401, _("Sign in with your member number and PIN"))
    return action(patron)


def _entry_response(record_id: int, status: int = 200) -> Response:
    root = etree.Element(f"{{{ATOM}}}entry", nsmap=NSMAP)
    root.extend(list(_entry(etree.Element(f"{{{ATOM}}}feed", nsmap=NSMAP), record_or_404(record_id), complete=True)))
    response = _respond(root, ENTRY)
    response.status_code = status
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blueprint.route("/pinjam/<int:record_id>", methods=["GET", "POST"])
def borrow(record_id: int):
    """Borrow (201 with the loan) or join the queue (202 with the hold)."""
    return _lending_action(
        record_id, lambda *args, **kw: 201 if lending.borrow(*args, **kw)["outcome"] == "loan" else 202
    )


@blueprint.route("/kembalikan/<int:record_id>", methods=["GET", "POST"])
def give_back(record_id: int):
    """Return a loan early (the revoke link)."""
    return _lending_action(record_id, lambda *args, **kw: lending.return_loan(*args, **kw) and 200)


def _lending_action(record_id: int, act: Callable[..., int]) -> Response:
    """Run a lending change for the patron of this request and answer with the updated entry."""

    def run(patron):
        record_or_404(record_id)
        policy = current_app.config["EBOOKSERVER"].lending_policy()
        try:
            status = act(get_db(), record_id, patron["id"], policy=policy)
        except CatalogError as error:
            return _problem(403, _("Not possible"), message_of(error))
        return _entry_response(record_id, status)

    return _as_patron(run)


@blueprint.get("/rak")
def shelf():
    def act(patron):
        policy = current_app.config["EBOOKSERVER"].lending_policy()
        mine = lending.shelf(get_db(), patron["id"], policy=policy)
        record_ids = [item["record_id"] for item in [*mine["loans"], *mine["holds"]]]
        records = []
        for record_id in dict.fromkeys(record_ids):
            with contextlib.suppress(RecordNotFound):
                records.append(get_record(get_db(), record_id))
        response = _acquisition(_("My loans"), "opds.shelf", len(records), records, 1)
        response.headers["Cache-Control"] = "private, no-store"
        return response

    return _as_patron(act, cookie=True)


# Reading apps send HTTP Basic on every request and no cookie: nothing for a CSRF token to protect.
blueprint.record_once(lambda state: [state.app.extensions["csrf"].exempt(view) for view in (borrow, give_back)])


@blueprint.get("/auth")
def authentication():
    """The Authentication for OPDS document: how a reading app signs a patron in."""
    document = {
        "id": url_for("opds.authentication", _external=True),
        "title": _library_name(),
        "description": _("Members sign in with their member number and PIN."),
        "links": [
            {
                "rel": "start",
                "href": url_for("opds.root", _external=True),
                "type": ACQUISITION.replace("acquisition", "navigation"),
            },
            {"rel": "help", "href": url_for("opac.index", _external=True), "type": "text/html"},
        ],
        "authentication": [
            {
                "type": "http://opds-spec.org/auth/basic",
                "labels": {"login": _("Member number"), "password": _("PIN")},
            }
        ],
    }
    return Response(json.dumps(document, ensure_ascii=False), content_type=AUTH_DOCUMENT)
