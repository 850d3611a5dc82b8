"""The smart-TV kiosk (`/kiosk`): a 10-foot showcase driven by the TV's remote control.

Every screen is server-rendered HTML with its own URL (showcase, a shelf, a book, a page of
a book); `static/kiosk.js`, a classic ES5 script, adds the rotation, spatial navigation with
the arrows, Back, the return to the showcase when nobody touches the remote, and the retries
that keep the last good screen while the server or the network is away. Reading on the TV is
in `kiosk_reader`, the librarian's controls in `kiosk_staff`.
"""

from __future__ import annotations

import datetime
import io
import ipaddress
import socket
import sqlite3
import urllib.parse

import pytz
import segno
from flask import Blueprint, Flask, Response, abort, current_app, render_template, request, url_for

from catalog import db, events, kiosk
from ebookserver.database import get_db
from ebookserver.views import record_or_404
from ebookserver.views.events import local_now

blueprint = Blueprint("kiosk", __name__, url_prefix="/kiosk")
IDLE_SECONDS = 90  # quiet time after which the kiosk returns to its showcase
REFRESH_SECONDS = 300  # how often the showcase fetches fresh slides
RELOAD_HOURS = 6  # a whole-page reload now and then keeps an old TV browser's memory flat
QR_SCALE = 5


def register(app: Flask) -> None:
    """The kiosk's screens, its reader and the librarian's controls."""
    from ebookserver.views import kiosk_reader, kiosk_staff

    app.register_blueprint(blueprint)
    app.register_blueprint(kiosk_reader.blueprint)
    app.register_blueprint(kiosk_staff.blueprint)


def _local_datetime() -> datetime.datetime:
    return datetime.datetime.now(pytz.timezone(current_app.config["EBOOKSERVER"].timezone))


def _seconds(name: str, default: int, low: int, high: int) -> int:
    """A time from the query string (tests and the librarian's preview), else *default*."""
    value = request.args.get(name, type=int)
    return min(max(value, low), high) if value else default


def _showcase_context(shelf: str | None = None) -> dict:
    connection = get_db()
    chosen = kiosk.settings(connection)
    slides = kiosk.showcase(connection, chosen, local_now())
    if shelf is not None:
        slides = [slide for slide in slides if slide["name"] == shelf]
        if not slides:
            abort(404)
    options = {name: request.args[name] for name in ("putar", "segar") if request.args.get(name)}
    return {
        "slides": slides,
        "interval": _seconds("putar", chosen.interval_seconds, 1, kiosk.MAX_INTERVAL),
        "refresh": _seconds("segar", REFRESH_SECONDS, 1, 3600),
        "night": not kiosk.is_open(chosen, _local_datetime()),
        "chosen": chosen,
        "source": url_for("kiosk.slides", **options),
        "generated": datetime.datetime.now(datetime.UTC).strftime("%H%M%S%f"),
    }


def kiosk_screen(template: str, **context) -> Response:
    context.setdefault("idle", _seconds("diam", IDLE_SECONDS, 2, 3600))
    response = Response(render_template(template, reload_hours=RELOAD_HOURS, **context))
    response.headers["Cache-Control"] = "no-store"
    return response


KIOSK_SESSION_COOKIE = "kiosk-sesi"  # lives as long as the idle time: touched again, the same session
INTERACTIVE = ("kiosk.shelf", "kiosk.book")  # pages someone chose (the showcase turns by itself)


@blueprint.after_request
def _note_kiosk_session(response: Response) -> Response:
    """Count a kiosk session when someone starts using the screen after it fell idle."""
    if request.endpoint not in INTERACTIVE or response.status_code != 200:
        return response
    if not request.cookies.get(KIOSK_SESSION_COOKIE):
        try:
            events.log(get_db(), events.KIOSK_SESSION)
        except sqlite3.OperationalError:
            current_app.logger.warning("could not record a kiosk session")
    idle = _seconds("diam", IDLE_SECONDS, 2, 3600)
    response.set_cookie(KIOSK_SESSION_COOKIE, "1", max_age=idle, httponly=True, samesite="Lax")
    return response


@blueprint.get("")
def showcase():
    _note_engine()
    return kiosk_screen("kiosk/showcase.html", screen="showcase", back=None, **_showcase_context())


@blueprint.get("/isi")
def slides():
    """The showcase's content alone, fetched by the script to refresh the screen in place."""
    return kiosk_screen("kiosk/_showcase.html", **_showcase_context())


@blueprint.get("/rak/<any(new, popular, picks, events, hours):shelf>")
def shelf(shelf: str):
    return kiosk_screen(
        "kiosk/showcase.html", screen="shelf", back=url_for("kiosk.showcase"), shelf=shelf, **_showcase_context(shelf)
    )


@blueprint.get("/buku/<int:record_id>")
def book(record_id: int):
    from ebookserver.views.kiosk_reader import readable_file

    record = record_or_404(record_id)
    if record["withdrawn"]:
        abort(404)
    return kiosk_screen(
        "kiosk/book.html",
        screen="book",
        back=url_for("kiosk.showcase"),
        record=record,
        readable=readable_file(record) is not None,
        record_url=record_url(record_id),
    )


@blueprint.get("/qr/<int:record_id>.svg")
def qr_code(record_id: int):
    """A QR code of the record's page on the library's network, dark on light with its quiet zone."""
    record = record_or_404(record_id)
    if record["withdrawn"]:
        abort(404)
    svg = io.BytesIO()
    segno.make(record_url(record_id), error="m", micro=False).save(
        svg, kind="svg", scale=QR_SCALE, border=4, xmldecl=False
    )
    response = Response(svg.getvalue(), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "no-cache"
    return response


@blueprint.app_template_global()
def kiosk_title(name: str) -> str:
    from flask_babel import gettext

    return gettext(kiosk.SLIDE_TITLES[name])


@blueprint.errorhandler(404)
def not_found(_error):
    response = kiosk_screen("kiosk/missing.html", screen="missing", back=url_for("kiosk.showcase"))
    response.status_code = 404
    return response


# --- the library's address in QR codes ------------------------------------------------------


def record_url(record_id: int) -> str:
    return public_url() + url_for("opac.record", record_id=record_id)


def public_url() -> str:
    """The server's address for a phone on the library's Wi-Fi: the `public_url` setting, else
    the address the TV itself used (when it is not this machine), else this machine's own
    address on the network it would reach other hosts through, with the port in use."""
    configured = current_app.config["EBOOKSERVER"].public_url.strip().rstrip("/")
    if configured:
        return configured
    parts = urllib.parse.urlsplit(request.host_url)
    host = parts.hostname or ""
    if host and not _loopback(host):
        return request.host_url.rstrip("/")
    port = f":{parts.port}" if parts.port and parts.port not in (80, 443) else ""
    return f"{parts.scheme}://{_lan_address() or host}{port}"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _lan_address() -> str | None:
    """This machine's address on its main network (a UDP socket sends nothing when connected)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.255.255.255", 1))
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address  # noqa: S104 - compared, not bound


def _note_engine() -> None:
    """Log the TV's browser engine once (when it is new), and remember it for the librarian."""
    engine = kiosk.engine_of(request.headers.get("User-Agent", ""))
    connection = get_db()
    try:
        with db.transaction(connection):
            new = kiosk.note_engine(connection, engine)
    except sqlite3.OperationalError:
        return  # a busy database costs the note, never the screen
    if new:
        current_app.logger.info("kiosk engine: %s (%s)", engine, request.headers.get("User-Agent", "")[:200])
