"""The librarian's controls of the TV kiosk (`/kelola/kiosk`): which slides it rotates through
and how fast, the picks, whether events are shown, and when the library is open (outside those
hours the TV dims to a night screen). Signed-in librarians only, like every `/kelola` page."""

from __future__ import annotations

import datetime
import re

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _
from wtforms import BooleanField, IntegerField, SelectMultipleField, TextAreaField, TimeField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from catalog import db, kiosk
from catalog.errors import RecordNotFound
from catalog.i18n import N_
from ebookserver import forms
from ebookserver.database import get_db
from ebookserver.views import staff

blueprint = Blueprint("kiosk_staff", __name__)
staff.MENU.append(("kiosk_staff.controls", N_("TV kiosk")))
WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"), N_("Sunday"))


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class KioskForm(forms.Form):
    slides = CheckboxesField(
        _("Slides"), choices=[SelectChoice(name, _(title)) for name, title in kiosk.SLIDE_TITLES.items()]
    )
    interval_seconds = IntegerField(
        _("Seconds per slide"),
        validators=[InputRequired(), NumberRange(min=kiosk.MIN_INTERVAL, max=kiosk.MAX_INTERVAL)],
    )
    show_events = BooleanField(_("Show the library's events"))
    picks = TextAreaField(
        _("The librarian's picks"),
        validators=[Optional()],
        description=_(
            "Book numbers, one per line or separated by spaces: the number ends the book's address (/buku/12)."
        ),
    )
    open_days = CheckboxesField(
        _("Open on"), coerce=int, choices=[SelectChoice(day, _(name)) for day, name in enumerate(WEEKDAYS, 1)]
    )
    opens_at = TimeField(_("Opens at"), validators=[Optional()])
    closes_at = TimeField(
        _("Closes at"),
        validators=[Optional()],
        description=_("Outside these hours the TV shows a dim night screen. Leave both empty to keep it on."),
    )

    def validate_picks(self, field) -> None:
        if field.data and not re.fullmatch(r"[\d\s,]*", field.data):
            raise ValidationError(gettext("Write only book numbers, e.g. 12 15 40."))

    def validate_closes_at(self, field) -> None:
        if bool(field.data) != bool(self.opens_at.data):
            raise ValidationError(gettext("Give both the opening and the closing time, or neither."))

    def pick_ids(self) -> list[int]:
        return [int(number) for number in re.findall(r"\d+", self.picks.data or "")]

    def chosen(self) -> kiosk.KioskSettings:
        return kiosk.KioskSettings(
            slides=tuple(self.slides.data or ()),
            interval_seconds=self.interval_seconds.data,
            show_events=self.show_events.data,
            open_days=tuple(self.open_days.data or ()),
            opens_at=self.opens_at.data.strftime("%H:%M") if self.opens_at.data else None,
            closes_at=self.closes_at.data.strftime("%H:%M") if self.closes_at.data else None,
        )


def _form_data(chosen: kiosk.KioskSettings, picks: list[dict]) -> dict:
    def clock(value: str | None):
        return datetime.time.fromisoformat(value) if value else None

    return {
        "slides": list(chosen.slides),
        "interval_seconds": chosen.interval_seconds,
        "show_events": chosen.show_events,
        "picks": " ".join(str(record["id"]) for record in picks),
        "open_days": list(chosen.open_days),
        "opens_at": clock(chosen.opens_at),
        "closes_at": clock(chosen.closes_at),
    }


@blueprint.route("/kelola/kiosk", methods=["GET", "POST"])
def controls():
    connection = get_db()
    chosen, picks = kiosk.settings(connection), kiosk.picks(connection)
    form = KioskForm(data=_form_data(chosen, picks) if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            with db.transaction(connection):
                kiosk.save_settings(connection, form.chosen())
                kiosk.set_picks(connection, form.pick_ids())
                staff.audit(
                    "kiosk.edit",
                    "kiosk",
                    {"slides": form.slides.data, "interval": form.interval_seconds.data, "picks": form.pick_ids()},
                )
        except RecordNotFound as error:
            form.picks.errors.append(staff.message_of(error))
        else:
            flash(gettext("The TV kiosk's settings were saved."))
            return redirect(url_for("kiosk_staff.controls"))
    return render_template("staff/kiosk.html", form=form, chosen=chosen, picks=picks)
