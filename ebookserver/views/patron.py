"""The patron's side of e-lending: signing in with member number and PIN, signing out, the
account page (loans, holds, the opt-in reading history), and borrowing, returning, renewing
and leaving a queue. Each view reads the request, calls one function of catalog.lending (or
catalog.pins / catalog.accounts), and redirects with a message in the patron's language."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext, ngettext
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import InputRequired, Length

from catalog import accounts, lending, pins, reading
from catalog.errors import CatalogError, MemberLocked, RecordNotFound, TooManyAttempts, WrongPin
from ebookserver import access, auth, i18n
from ebookserver.database import get_db
from ebookserver.forms import ConfirmForm, Form
from ebookserver.views.staff import message_of

blueprint = Blueprint("patron", __name__)


class SignInForm(Form):
    number = StringField(
        lazy_gettext("Member number"),
        validators=[InputRequired(message=lazy_gettext("Please fill this in.")), Length(max=32)],
        description=lazy_gettext("As on your library card, e.g. A2026-0042-5."),
    )
    pin = PasswordField(
        lazy_gettext("PIN"),
        validators=[InputRequired(message=lazy_gettext("Please fill this in.")), Length(max=8)],
        description=lazy_gettext("The 4 to 8 digits the librarian gave you."),
    )


class HistoryForm(Form):
    keep = BooleanField(lazy_gettext("Keep a list of the books I open"))


def _policy() -> lending.LendingPolicy:
    return current_app.config["EBOOKSERVER"].lending_policy()


def _no_store(response):
    response = make_response(response)
    response.headers["Cache-Control"] = "no-store"
    return response


def patron_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Send a visitor to sign in first, and back here afterwards."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("patron") is None:
            if request.method == "GET":
                back = request.full_path
            else:  # after signing in, back to the book (a POST cannot be repeated by a redirect)
                back = url_for("opac.record", record_id=kwargs["record_id"]) if "record_id" in kwargs else None
            return redirect(url_for("patron.sign_in", next=auth.safe_next(back)))
        return view(*args, **kwargs)

    return wrapped


# --- signing in and out ---------------------------------------------------------------------


@blueprint.route("/masuk", methods=["GET", "POST"])
def sign_in():
    target = auth.safe_next(request.args.get("next")) or url_for("patron.account")
    if g.get("patron") is not None:
        return redirect(target)
    form = SignInForm()
    status = 200
    if form.validate_on_submit():
        connection = get_db()
        client = request.remote_addr or "unknown"
        try:
            accounts.refuse_client_if_limited(connection, client)
            member = pins.verify_pin(connection, form.number.data, form.pin.data)
        except (WrongPin, MemberLocked) as error:
            accounts.note_failure(connection, client)
            form.form_errors.append(message_of(error))
            status = 401
        except TooManyAttempts as error:
            form.form_errors.append(message_of(error))
            status = 429
        else:
            old = request.cookies.get(auth.PATRON_COOKIE)
            if old:
                accounts.end_session(connection, old)
            response = redirect(target)
            auth.set_patron_cookie(response, accounts.start_session(connection, "member", member["id"]))
            flash(_("Welcome, %(name)s.", name=member["name"]))
            return response
    return _no_store((render_template("patron/sign_in.html", form=form), status))


@blueprint.post("/keluar")
def sign_out():
    if ConfirmForm().validate_on_submit():
        token = request.cookies.get(auth.PATRON_COOKIE)
        if token:
            accounts.end_session(get_db(), token)
    g.patron = None
    response = redirect(url_for("patron.sign_in"))
    response.delete_cookie(auth.PATRON_COOKIE, path="/")
    # Nothing of the patron stays in this browser (a shared PC).
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    response.headers["Cache-Control"] = "no-store"
    flash(_("You have signed out. Nothing of yours stays on this computer."))
    return response


# --- the account page -----------------------------------------------------------------------


@blueprint.get("/akun")
@patron_required
def account():
    connection, member_id = get_db(), g.patron["id"]
    keeps = reading.keeps_history(connection, member_id)
    response = _no_store(
        render_template(
            "patron/account.html",
            shelf=lending.shelf(connection, member_id, policy=_policy()),
            keeps_history=keeps,
            history=reading.reading_history(connection, member_id) if keeps else [],
            history_form=HistoryForm(keep=not keeps),
            confirm=ConfirmForm(),
            hold_hours=_policy().hold_ready_hours,
        )
    )
    # A page left open on a shared PC goes away by itself when the session would end.
    idle = current_app.config["EBOOKSERVER"].patron_idle_minutes
    response.headers["Refresh"] = f"{idle * 60}; url={url_for('patron.sign_in')}"
    return response


@blueprint.post("/akun/riwayat")
@patron_required
def history_choice():
    form = HistoryForm()
    if form.validate_on_submit():
        reading.set_keep_history(get_db(), g.patron["id"], form.keep.data)
        flash(
            _("Your reading history is kept from now on. You can delete it at any time.")
            if form.keep.data
            else _("Your reading history is off and what was kept is deleted.")
        )
    return redirect(url_for("patron.account") + "#history")


@blueprint.post("/akun/riwayat/hapus")
@patron_required
def history_delete():
    if ConfirmForm().validate_on_submit():
        reading.clear_history(get_db(), g.patron["id"])
        flash(_("Your reading history was deleted."))
    return redirect(url_for("patron.account") + "#history")


# --- borrowing ------------------------------------------------------------------------------


def _lending_action(record_id: int, action: Callable[[], Any]) -> Any:
    """Run one lending change; a refusal becomes a message, an unknown title a 404."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        return action()
    except RecordNotFound:
        abort(404)
    except CatalogError as error:
        flash(message_of(error), "error")
        return None


@blueprint.post("/pinjam/<int:record_id>")
@patron_required
def borrow(record_id: int):
    result = _lending_action(record_id, lambda: lending.borrow(get_db(), record_id, g.patron["id"], policy=_policy()))
    if result is None:
        return redirect(url_for("opac.record", record_id=record_id))
    if result["outcome"] == "loan":
        loan = result["loan"]
        flash(_("Borrowed: “%(title)s”, until %(due)s.", title=loan["title"], due=moment(loan["due_at"])))
        return redirect(url_for("reader.start", record_id=record_id))
    hold = result["hold"]
    flash(
        _(
            "No copy is free now, so you joined the queue for “%(title)s”: you are number %(position)s.",
            title=hold["title"],
            position=hold["position"],
        )
    )
    return redirect(url_for("patron.account") + "#holds")


@blueprint.post("/kembalikan/<int:record_id>")
@patron_required
def give_back(record_id: int):
    loan = _lending_action(
        record_id, lambda: lending.return_loan(get_db(), record_id, g.patron["id"], policy=_policy())
    )
    if loan is not None:
        flash(_("Returned: “%(title)s”. Thank you!", title=loan["title"]))
    return redirect(url_for("patron.account"))


@blueprint.post("/perpanjang/<int:record_id>")
@patron_required
def renew(record_id: int):
    loan = _lending_action(record_id, lambda: lending.renew(get_db(), record_id, g.patron["id"], policy=_policy()))
    if loan is not None:
        flash(_("Renewed: “%(title)s”, now until %(due)s.", title=loan["title"], due=moment(loan["due_at"])))
    return redirect(url_for("patron.account"))


@blueprint.post("/antrean/<int:record_id>/batal")
@patron_required
def leave_queue(record_id: int):
    if _lending_action(
        record_id, lambda: lending.cancel_hold(get_db(), record_id, g.patron["id"], policy=_policy()) or True
    ):
        flash(_("You left the queue."))
    return redirect(url_for("patron.account") + "#holds")


# --- for the record page and the templates --------------------------------------------------


def offer(record: dict[str, Any]) -> dict[str, Any] | None:
    """What the record page offers for a title that needs a loan: its availability, and the
    signed-in patron's own loan or place in the queue."""
    if not lending.needs_loan(record) or record.get("withdrawn"):
        return None
    connection, patron = get_db(), g.get("patron")
    result: dict[str, Any] = {
        "availability": lending.availability(connection, record["id"], policy=_policy()),
        "loan": None,
        "hold": None,
        "stamped": False,
    }
    if patron is not None:
        result["loan"] = lending.active_loan(connection, record["id"], patron["id"])
        result["stamped"] = any(access.may_download_stamped(record, file) for file in record["files"])
        shelf = lending.shelf(connection, patron["id"], policy=_policy())
        result["hold"] = next((hold for hold in shelf["holds"] if hold["record_id"] == record["id"]), None)
    return result


def moment(value) -> str:
    """A datetime (UTC) as a short date and time in the library's time zone."""
    return i18n.datetime_of(value.isoformat()) if value else ""


def time_left(seconds: int) -> str:
    """`3 days 4 hours`, `5 hours`, `12 minutes`: what is left of a loan."""
    days, rest = divmod(max(0, int(seconds)), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        text = ngettext("%(num)s day", "%(num)s days", days)
        return text + (" " + ngettext("%(num)s hour", "%(num)s hours", hours) if hours else "")
    if hours:
        return ngettext("%(num)s hour", "%(num)s hours", hours)
    return ngettext("%(num)s minute", "%(num)s minutes", max(minutes, 1))


@blueprint.app_template_filter("moment")
def _moment_filter(value) -> str:
    return moment(value)


@blueprint.app_template_filter("time_left")
def _time_left_filter(seconds: int) -> str:
    return time_left(seconds)


@blueprint.app_context_processor
def _patron_globals() -> dict[str, Any]:
    return {"patron": g.get("patron")}
