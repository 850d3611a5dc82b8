"""Who is signed in, and what each route lets them do.

Staff sign in with a user name and password; the session lives on the server (catalog.accounts)
and the browser holds only a random token in an HttpOnly cookie. Every route under `/kelola`
needs a signed-in librarian unless it is listed in PUBLIC_STAFF_ENDPOINTS, and a view marked
`@admin_only` needs an admin: access is denied by default, so a new page cannot forget it.

Patrons sign in with their member number and PIN (catalog.pins); their session lives on the
server too, in its own cookie (`patron_session`), which is a session cookie: nothing outlives
the browser on a shared library PC. It ends on "Keluar", and after `patron_idle_minutes`
without activity. `g.patron` is the signed-in member (or None); a patron is nobody to /kelola.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, abort, current_app, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from catalog import accounts, members
from catalog.errors import MemberNotFound
from ebookserver.database import get_db

STAFF_COOKIE = "staff_session"
PATRON_COOKIE = "patron_session"
STAFF_PREFIX = "/kelola"
# Endpoints under /kelola that anyone may open: signing in and first-run setup.
PUBLIC_STAFF_ENDPOINTS = frozenset({"staff.login", "staff.setup"})


def admin_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a staff view as admin-only (users, settings, the audit log)."""
    view.required_role = "admin"  # type: ignore[attr-defined]
    return view


def required_role(endpoint: str | None) -> str | None:
    """None for public routes, else `librarian` or `admin`."""
    if endpoint is None or endpoint in PUBLIC_STAFF_ENDPOINTS or endpoint == "static":
        return None
    rule_path = next((rule.rule for rule in current_app.url_map.iter_rules(endpoint)), "")
    if not rule_path.startswith(STAFF_PREFIX):
        return None
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "required_role", "librarian")


def init_app(app: Flask) -> None:
    @app.before_request
    def load_patron() -> None:
        g.patron = None
        token = request.cookies.get(PATRON_COOKIE)
        if not token:
            return
        settings = app.config["EBOOKSERVER"]
        connection = get_db()
        member_id = accounts.resume_session(
            connection,
            "member",
            token,
            idle_minutes=settings.patron_idle_minutes,
            max_hours=settings.session_max_hours,
        )
        try:
            g.patron = members.get_member_by_id(connection, member_id) if member_id else None
        except MemberNotFound:
            g.patron = None
        if g.patron is None:
            g.forget_patron = True  # signed out by the server: idle too long, or deleted
            flash(_("You were signed out after a while without activity. Sign in again to borrow and read."))

    @app.before_request
    def load_staff() -> Any:
        g.staff = None
        token = request.cookies.get(STAFF_COOKIE)
        if token:
            settings = app.config["EBOOKSERVER"]
            connection = get_db()
            user_id = accounts.resume_session(
                connection,
                "staff",
                token,
                idle_minutes=settings.staff_idle_minutes,
                max_hours=settings.session_max_hours,
            )
            user = accounts.get_user(connection, user_id) if user_id else None
            if user is not None and user["active"]:
                g.staff = user
            else:
                g.forget_staff = True
        role = required_role(request.endpoint)
        if role is None:
            return None
        if g.staff is None:
            return redirect(url_for("staff.login", next=safe_next(request.full_path)))
        if role == "admin" and g.staff["role"] != "admin":
            abort(403)
        return None

    @app.after_request
    def staff_headers(response):
        if g.get("forget_staff"):
            response.delete_cookie(STAFF_COOKIE, path="/")
        if g.get("forget_patron"):
            response.delete_cookie(PATRON_COOKIE, path="/")
        if g.get("patron") is not None:
            # A page made for a signed-in patron is never kept by a shared PC's browser.
            response.headers["Cache-Control"] = "no-store"
        if request.path.startswith(STAFF_PREFIX):
            # Nothing a librarian saw stays in the shared PC's cache.
            response.headers["Cache-Control"] = "no-store"
        return response


def served_over_https() -> bool:
    """Whether cookies must be Secure: the request came over HTTPS, or the library's address
    (`public_url`) is https:// (a proxy in front ends TLS, so waitress itself sees plain HTTP)."""
    return request.is_secure or current_app.config["EBOOKSERVER"].public_url.strip().lower().startswith("https://")


def set_staff_cookie(response, token: str) -> None:
    g.forget_staff = False  # a stale cookie sent with the sign-in must not undo the new one
    response.set_cookie(STAFF_COOKIE, token, httponly=True, samesite="Lax", secure=served_over_https(), path="/")


def set_patron_cookie(response, token: str) -> None:
    """A session cookie (no expiry): closing the browser forgets it."""
    g.forget_patron = False
    response.set_cookie(PATRON_COOKIE, token, httponly=True, samesite="Lax", secure=served_over_https(), path="/")


def safe_next(target: str | None) -> str | None:
    """A path on this site to go back to after signing in, or None (never another host)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target.rstrip("?") or None
