"""Events and announcements: the public list and pages, and the librarian's editor."""

from __future__ import annotations

import datetime
import re

import pytz
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from catalog import announcements, db
from catalog.errors import CatalogError
from catalog.i18n import N_
from ebookserver import forms
from ebookserver.database import get_db
from ebookserver.views import staff

blueprint = Blueprint("events", __name__)
staff.MENU.append(("events.manage", N_("Events")))
_IMAGE_NAME = re.compile(r"^[0-9a-f]{64}(-small)?$")


def local_now() -> str:
    """Now in the library's time zone, as `YYYY-MM-DDTHH:MM` (how event times are stored)."""
    zone = pytz.timezone(current_app.config["EBOOKSERVER"].timezone)
    return datetime.datetime.now(zone).strftime("%Y-%m-%dT%H:%M")


@blueprint.get("/kegiatan")
def listing():
    return render_template("events/list.html", events=announcements.upcoming(get_db(), local_now(), limit=50))


@blueprint.get("/kegiatan/<int:announcement_id>")
def show(announcement_id: int):
    event = announcements.get(get_db(), announcement_id)
    if event is None or not event["published"]:
        abort(404)
    return render_template("events/show.html", event=event)


@blueprint.get("/kegiatan/gambar/<name>.jpg")
def image(name: str):
    if not _IMAGE_NAME.match(name):
        abort(404)
    path = current_app.config["DATADIR"].images_dir / f"{name}.jpg"
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype="image/jpeg", max_age=7 * 24 * 3600)


# --- the librarian's editor ---------------------------------------------------------------


@blueprint.route("/kelola/kegiatan", methods=["GET", "POST"])
def manage():
    form = forms.AnnouncementForm()
    if form.validate_on_submit() and _save(form, None):
        return redirect(url_for("events.manage"))
    return render_template(
        "staff/events.html", form=form, events=announcements.listed(get_db()), confirm=forms.ConfirmForm()
    )


@blueprint.route("/kelola/kegiatan/<int:announcement_id>", methods=["GET", "POST"])
def edit(announcement_id: int):
    event = announcements.get(get_db(), announcement_id)
    if event is None:
        abort(404)
    form = forms.AnnouncementForm(data=forms.AnnouncementForm.data_from(event) if request.method == "GET" else None)
    if form.validate_on_submit() and _save(form, event):
        return redirect(url_for("events.manage"))
    return render_template("staff/event_edit.html", form=form, event=event)


@blueprint.post("/kelola/kegiatan/<int:announcement_id>/hapus")
def delete(announcement_id: int):
    connection = get_db()
    event = announcements.get(connection, announcement_id)
    if event is None:
        abort(404)
    if forms.ConfirmForm().validate_on_submit():
        with db.transaction(connection):
            announcements.delete(connection, announcement_id)
            staff.audit("event.delete", f"event:{announcement_id}", {"title": event["title"]})
        flash(_("“%(title)s” was deleted.", title=event["title"]))
    return redirect(url_for("events.manage"))


def _save(form: forms.AnnouncementForm, event: dict | None) -> bool:
    """Store the form (and its picture); False with the form's errors filled when refused."""
    values = form.values()
    values["image"] = None if form.remove_image.data else (event or {}).get("image")
    upload = form.image.data
    if upload and getattr(upload, "filename", ""):
        try:
            values["image"] = announcements.store_image(current_app.config["DATADIR"], upload.read())
        except CatalogError as error:
            form.image.errors.append(staff.message_of(error))
            return False
    connection = get_db()
    with db.transaction(connection):
        if event is None:
            new_id = announcements.add(connection, values)
            staff.audit("event.add", f"event:{new_id}", {"title": values["title"], "starts_at": values["starts_at"]})
        else:
            announcements.update(connection, event["id"], values)
            staff.audit(
                "event.edit", f"event:{event['id']}", {"title": values["title"], "starts_at": values["starts_at"]}
            )
    flash(_("“%(title)s” was saved.", title=values["title"]))
    return True
