"""The librarian's workspace (`/kelola`): first-run setup, signing in and out, the dashboard,
accounts, the library's identity and the audit log. Access is checked for every route by
`ebookserver.auth` (librarian by default, admin where marked)."""

from __future__ import annotations

import datetime
import hmac
import shutil
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from catalog import accounts, circulation, db, members, records
from catalog.datadir import SETUP_CODE, new_setup_code
from catalog.errors import CatalogError
from catalog.passwords import verify_secret
from ebookserver import auth, forms, names
from ebookserver.database import get_db
from ebookserver.i18n import normalise_language, translations

blueprint = Blueprint("staff", __name__, url_prefix=auth.STAFF_PREFIX)
# The workspace's menu after the dashboard: (endpoint, label marked with N_). Other staff
# blueprints add their entries when they are registered.
MENU: list[tuple[str, str]] = []


def setup_code() -> str:
    """The one-time code first-run setup asks for (kept in the data directory until used)."""
    return current_app.config["DATADIR"].secret(SETUP_CODE, new_setup_code)


def today_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["EBOOKSERVER"].timezone)


def desk_policy() -> circulation.CirculationPolicy:
    """The circulation rules from the settings."""
    return current_app.config["EBOOKSERVER"].circulation_policy()


def _client() -> str:
    return request.remote_addr or "unknown"


def message_of(error: CatalogError) -> str:
    return error.render(translations(normalise_language(g.get("language"))).gettext)


def audit(action: str, target: str | None = None, detail: dict[str, Any] | None = None) -> None:
    """Record what the signed-in staff member did; call inside the change's transaction."""
    accounts.audit(get_db(), g.staff["id"], g.staff["username"], action, target, detail)


def _signed_in(user_id: int, target: str | None):
    token = accounts.start_session(get_db(), "staff", user_id)
    response = redirect(auth.safe_next(target) or url_for("staff.dashboard"))
    auth.set_staff_cookie(response, token)
    return response


@blueprint.route("/siapkan", methods=["GET", "POST"])
def setup():
    connection = get_db()
    if accounts.has_users(connection):
        return redirect(url_for("staff.login"))
    settings = current_app.config["EBOOKSERVER"]
    form = forms.SetupForm(
        data={"name": settings.library_name, "opening_hours": settings.opening_hours}
        if request.method == "GET"
        else None
    )
    if form.validate_on_submit():
        try:
            accounts.refuse_client_if_limited(connection, _client())
            if not hmac.compare_digest(form.setup_code.data.strip().replace("-", "").replace(" ", ""), setup_code()):
                accounts.note_failure(connection, _client())
                form.setup_code.errors.append(_("This is not the setup code. Look at the server's screen or log."))
            else:
                identity = {field: getattr(form, field).data for field in accounts.IDENTITY_FIELDS}
                user_id = accounts.create_first_admin(
                    connection, identity, form.username.data, form.full_name.data, form.password.data
                )
                current_app.config["DATADIR"].forget_secret(SETUP_CODE)
                flash(_("The library is set up. Welcome!"))
                return _signed_in(user_id, None)
        except CatalogError as error:
            form.form_errors.append(message_of(error))
    return render_template("staff/setup.html", form=form)


@blueprint.route("/masuk", methods=["GET", "POST"])
def login():
    connection = get_db()
    if not accounts.has_users(connection):
        return redirect(url_for("staff.setup"))
    if g.staff is not None:
        return redirect(auth.safe_next(request.args.get("next")) or url_for("staff.dashboard"))
    form = forms.LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(connection, form.username.data, form.password.data, _client())
        except CatalogError as error:
            form.form_errors.append(message_of(error))
        else:
            return _signed_in(user["id"], request.args.get("next"))
    return render_template("staff/login.html", form=form), 200 if not form.errors else 401


@blueprint.post("/keluar")
def logout():
    form = forms.ConfirmForm()
    if form.validate_on_submit():
        token = request.cookies.get(auth.STAFF_COOKIE)
        if token:
            accounts.end_session(get_db(), token)
    response = redirect(url_for("staff.login"))
    response.delete_cookie(auth.STAFF_COOKIE, path="/")
    # Nothing of the session stays in this browser (a shared PC).
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    flash(_("You have signed out."))
    return response


@blueprint.get("/")
def dashboard():
    connection = get_db()
    usage = shutil.disk_usage(current_app.config["DATADIR"].root)
    problems = connection.execute(
        "SELECT * FROM import_log WHERE status = 'refused' AND at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-30 days')"
        " ORDER BY id DESC LIMIT 10"
    ).fetchall()
    figures = {
        "records": records.count_records(connection),
        "ebooks": connection.execute("SELECT count(*) FROM ebook_files").fetchone()[0],
        "copies": connection.execute("SELECT count(*) FROM items WHERE status != 'withdrawn'").fetchone()[0],
        "members": members.count_members(connection),
    }
    today = circulation.circulation_today(connection, policy=desk_policy())
    since = datetime.datetime.now(today_zone()).replace(hour=0, minute=0, second=0, microsecond=0)
    figures["new_members_today"] = members.member_statistics(connection, registered_since=since)["new"]
    return render_template(
        "staff/dashboard.html",
        figures=figures,
        today=today,
        problems=problems,
        disk={"free": usage.free, "total": usage.total, "low": usage.free < 2 * 1024**3},
    )


# --- accounts (admin) ------------------------------------------------------------------


@blueprint.route("/pengguna", methods=["GET", "POST"])
@auth.admin_only
def users():
    connection = get_db()
    form = forms.UserForm()
    if form.validate_on_submit():
        try:
            with db.transaction(connection):
                user_id = accounts.create_user(
                    connection, form.username.data, form.full_name.data, form.role.data, form.password.data
                )
                audit("user.add", f"user:{user_id}", {"username": form.username.data, "role": form.role.data})
        except CatalogError as error:
            form.form_errors.append(message_of(error))
        else:
            flash(_("Account %(username)s created.", username=form.username.data))
            return redirect(url_for("staff.users"))
    return render_template(
        "staff/users.html", form=form, users=accounts.list_users(connection), confirm=forms.ConfirmForm()
    )


@blueprint.post("/pengguna/<int:user_id>/aktif")
@auth.admin_only
def toggle_user(user_id: int):
    connection = get_db()
    form = forms.ConfirmForm()
    user = accounts.get_user(connection, user_id)
    if user is None:
        abort(404)
    if form.validate_on_submit():
        if user["id"] == g.staff["id"]:
            flash(_("You cannot switch off your own account."), "error")
        else:
            with db.transaction(connection):
                accounts.set_active(connection, user_id, not user["active"])
                audit("user.deactivate" if user["active"] else "user.activate", f"user:{user_id}")
            flash(_("Account %(username)s updated.", username=user["username"]))
    return redirect(url_for("staff.users"))


@blueprint.route("/pengguna/<int:user_id>/sandi", methods=["GET", "POST"])
@auth.admin_only
def reset_password(user_id: int):
    connection = get_db()
    user = accounts.get_user(connection, user_id)
    if user is None:
        abort(404)
    form = forms.NewPasswordForm()
    if form.validate_on_submit():
        try:
            with db.transaction(connection):
                accounts.set_password(connection, user_id, form.password.data)
                audit("user.password", f"user:{user_id}")
        except CatalogError as error:
            form.form_errors.append(message_of(error))
        else:
            flash(_("The password of %(username)s was changed; their sessions were ended.", username=user["username"]))
            return redirect(url_for("staff.users"))
    return render_template("staff/password.html", form=form, user=user)


@blueprint.route("/sandi", methods=["GET", "POST"])
def own_password():
    """Any librarian changes their own password; every other session of the account ends and
    this browser gets a new one."""
    connection = get_db()
    form = forms.OwnPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.refuse_client_if_limited(connection, _client())
            if not verify_secret(form.current.data, g.staff["password_hash"]):
                accounts.note_failure(connection, _client())
                form.current.errors.append(_("This is not your current password."))
            else:
                with db.transaction(connection):
                    accounts.set_password(connection, g.staff["id"], form.password.data)
                    audit("user.password", f"user:{g.staff['id']}")
                flash(_("Your password was changed. You were signed out everywhere else."))
                return _signed_in(g.staff["id"], None)
        except CatalogError as error:
            form.form_errors.append(message_of(error))
    return render_template("staff/own_password.html", form=form)


@blueprint.route("/perpustakaan", methods=["GET", "POST"])
@auth.admin_only
def library():
    connection = get_db()
    form = forms.IdentityForm(data=accounts.identity(connection) if request.method == "GET" else None)
    if form.validate_on_submit():
        values = {field: getattr(form, field).data for field in accounts.IDENTITY_FIELDS}
        with db.transaction(connection):
            accounts.set_identity(connection, values)
            audit("library.edit", "library", values)
        flash(_("The library's details were saved."))
        return redirect(url_for("staff.library"))
    return render_template("staff/library.html", form=form)


@blueprint.get("/audit")
@auth.admin_only
def audit_log():
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    entries = accounts.audit_entries(get_db(), limit=100, offset=(page - 1) * 100)
    return render_template("staff/audit.html", entries=entries, page=page, audit_actions=names.AUDIT_ACTIONS)
