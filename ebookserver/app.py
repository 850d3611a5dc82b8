"""The application factory: nothing is built at import time."""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import flask_babel
from flask import Flask, g, request
from flask_wtf.csrf import CSRFProtect
from markupsafe import Markup, escape

from catalog import accounts
from catalog import search as search_engine
from catalog.datadir import SETUP_CODE, DataDir, new_setup_code
from ebookserver import auth, database, i18n, logs
from ebookserver.settings import Settings, load_settings


def create_app(
    settings: Settings | None = None, overrides: Mapping[str, Any] | None = None, check_index: bool = True
) -> Flask:
    settings = settings or load_settings(overrides=overrides)
    app = Flask(__name__)
    app.config["EBOOKSERVER"] = settings
    app.config["DATADIR"] = DataDir(settings.data_dir)
    app.config["DATADIR"].create()
    app.config["SEARCH_INDEX"] = search_engine.open_index(app.config["DATADIR"])
    app.config["SEARCH_INDEX"].results_cached = settings.search_results_cached
    if check_index:
        _check_index_in_background(app)
    _announce_setup(app)
    logs.quiet_waitress_queue()
    https = settings.public_url.strip().lower().startswith("https://")

    @app.before_request
    def choose_language() -> None:
        g.language = i18n.choose_language(request, settings.language)

    # Translations in templates, dates and numbers in the reader's language.
    i18n.Babel(
        app,
        default_locale=settings.language,
        default_timezone=settings.timezone,
        locale_selector=lambda: g.get("language", settings.language),
    )

    @app.after_request
    def remember_language(response):
        # (In the JSON API `lang` filters by the books' language; nothing to remember.)
        if request.args.get("lang") in i18n.LANGUAGES and not request.path.startswith("/api/"):
            response.set_cookie("lang", request.args["lang"], max_age=365 * 24 * 3600, samesite="Lax")
        if auth.served_over_https():
            _secure_cookies(response)
        if https:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy", "default-src 'self'; object-src 'none'; frame-ancestors 'self'"
        )
        return response

    @app.context_processor
    def page_globals() -> dict[str, Any]:
        from ebookserver.views.staff import MENU

        identity = library_identity()
        return {
            "library_name": (identity or {}).get("name") or settings.library_name,
            "opening_hours": (identity or {}).get("opening_hours") or settings.opening_hours,
            "staff": g.get("staff"),
            "staff_menu": MENU,
            "language": g.get("language", settings.language),
            "languages": i18n.LANGUAGE_NAMES,
            "language_url": _language_url,
        }

    app.jinja_env.filters["number"] = flask_babel.format_decimal
    app.jinja_env.filters["filesize"] = lambda size: i18n.file_size(size, g.get("language", "id"))
    app.jinja_env.filters["highlighted"] = _highlighted
    app.jinja_env.filters["date"] = i18n.date_of

    app.jinja_env.filters["datetime"] = i18n.datetime_of
    app.jinja_env.filters["local_time"] = i18n.local_time
    app.secret_key = settings.secret_key or app.config["DATADIR"].secret("secret_key", lambda: secrets.token_hex(32))
    app.config.update(
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="ebookserver",
        SESSION_COOKIE_SECURE=https,  # behind a TLS proxy waitress sees http: trust public_url
        WTF_CSRF_TIME_LIMIT=None,  # a token lives as long as the signed session cookie
    )
    CSRFProtect(app)

    database.init_app(app)
    auth.init_app(app)
    from ebookserver.views import (
        api,
        catalogue,
        desk,
        errors,
        events,
        health,
        kiosk,
        monthly,
        oai,
        opac,
        opds,
        patron,
        printed,
        reader,
        staff,
        stats,
    )

    app.register_blueprint(opac.blueprint)
    app.register_blueprint(reader.blueprint)
    app.register_blueprint(patron.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(staff.blueprint)
    app.register_blueprint(catalogue.blueprint)
    app.register_blueprint(events.blueprint)
    app.register_blueprint(desk.blueprint)
    app.register_blueprint(opds.blueprint)
    app.register_blueprint(printed.blueprint)
    app.register_blueprint(oai.blueprint)
    app.extensions["csrf"].exempt(oai.blueprint)  # harvesters may POST their requests
    app.register_blueprint(stats.blueprint)
    app.register_blueprint(monthly.blueprint)
    kiosk.register(app)  # the TV kiosk, its reader and the librarian's controls
    errors.register(app)
    return app


def _secure_cookies(response) -> None:
    """Over https every cookie is Secure, whichever view set it (runs after all the others)."""
    cookies = response.headers.getlist("Set-Cookie")
    if any("; secure" not in cookie.lower() for cookie in cookies):
        response.headers.setlist(
            "Set-Cookie", [cookie if "; secure" in cookie.lower() else cookie + "; Secure" for cookie in cookies]
        )


def _language_url(code: str) -> str:
    """This page in another language (the choice is remembered in a cookie)."""
    arguments = request.args.to_dict()
    arguments["lang"] = code
    return request.path + "?" + urlencode(arguments)


def library_identity() -> dict[str, Any] | None:
    """The library's identity from first-run setup, read once per request."""
    if "identity" not in g:
        g.identity = accounts.identity(database.get_db())
    return g.identity


def _highlighted(snippet: dict) -> Markup:
    """A snippet's text with its highlights in <mark>, everything else escaped."""
    text, pieces, cursor = snippet["text"], [], 0
    for start, end in snippet.get("highlights", []):
        if start < cursor:
            continue
        pieces.append(escape(text[cursor:start]))
        pieces.append(Markup("<mark>") + escape(text[start:end]) + Markup("</mark>"))
        cursor = end
    pieces.append(escape(text[cursor:]))
    return Markup("").join(pieces)


def _announce_setup(app: Flask) -> None:
    """While there is no account, say where first-run setup is and its code (in the journal)."""
    with contextlib.closing(app.config["DATADIR"].connect()) as connection:
        if accounts.has_users(connection):
            return
    code = app.config["DATADIR"].secret(SETUP_CODE, new_setup_code)
    logging.getLogger("ebookserver").warning(
        "no staff account yet: open /kelola/siapkan in a browser to set the library up; setup code %s", code
    )


def _check_index_in_background(app: Flask) -> None:
    """At start, rebuild a missing, stale or corrupt index without holding up the server."""

    def check() -> None:
        log = logging.getLogger("ebookserver.search")
        try:
            with contextlib.closing(app.config["DATADIR"].connect()) as connection:
                state = search_engine.ensure_index(app.config["SEARCH_INDEX"], connection)
        except Exception:  # a full disk, a damaged database: say so instead of "checking" for ever
            app.config["INDEX_CHECK"] = "failed"
            log.exception("the search index could not be checked or rebuilt at start; see `ebookserver doctor`")
            return
        app.config["INDEX_CHECK"] = state
        log.info("search index at start: %s", state)

    app.config["INDEX_CHECK"] = "checking"
    threading.Thread(target=check, name="index-check", daemon=True).start()
