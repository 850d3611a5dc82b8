"""HTTP errors as pages in the user's language (JSON for /api and /healthz)."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from catalog.i18n import N_

_MESSAGES = {
    400: (
        N_("The form could not be used"),
        N_("The form had expired or was sent incompletely. Go back, reload the page and try again."),
    ),
    403: (N_("Not available"), N_("This book cannot be read here. Ask the librarian about borrowing it.")),
    404: (N_("Page not found"), N_("The page you asked for does not exist. It may have moved.")),
    405: (N_("Not allowed"), N_("This page cannot be used that way.")),
    413: (N_("Too large"), N_("What you sent is larger than this server accepts.")),
    500: (N_("Something went wrong"), N_("The server had a problem. Please try again in a moment.")),
}


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return _render(error.code or 500)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        app.logger.exception("unhandled error on %s", request.path)
        return _render(500)


_STAFF_403 = (N_("Not allowed"), N_("Your account may not open this page. Ask the library's administrator."))


def _render(status: int):
    title, explanation = _MESSAGES.get(status, _MESSAGES[500] if status >= 500 else _MESSAGES[404])
    if status == 403 and request.path.startswith("/kelola"):
        title, explanation = _STAFF_403
    if request.path.startswith(("/api/", "/healthz")):
        return jsonify({"error": {"status": status, "title": title}}), status
    return render_template("error.html", status=status, title=title, explanation=explanation), status
