"""Forms (Flask-WTF): CSRF on every one, validation messages in the reader's language.

WTForms ships no Indonesian catalog, so forms take their translations from ours, and the
WTForms messages that can reach a librarian are listed here to be extracted into it.
"""

from __future__ import annotations

import datetime

from flask import g
from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import EqualTo, InputRequired, Length, Optional, Regexp, ValidationError

from catalog import accounts, records
from catalog.i18n import N_
from ebookserver import i18n, names

# Built-in WTForms and Flask-WTF messages, for extraction into our catalog.
WTFORMS_MESSAGES = (
    N_("This field is required."),
    N_("Not a valid choice."),
    N_("Not a valid integer value."),
    N_("Not a valid date value."),
    N_("Invalid input."),
    N_("The CSRF token is missing."),
    N_("The CSRF token has expired."),
    N_("The CSRF tokens do not match."),
    N_("The CSRF token is invalid."),
    N_("The CSRF session token is missing."),
)


class Form(FlaskForm):
    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            return i18n.translations(i18n.normalise_language(g.get("language")))


def _required():
    return InputRequired(message=_("Please fill this in."))


class LoginForm(Form):
    username = StringField(_("User name"), validators=[_required(), Length(max=64)])
    password = PasswordField(_("Password"), validators=[_required(), Length(max=256)])


class PasswordFields:
    """A new password typed twice."""

    password = PasswordField(
        _("Password"),
        validators=[
            _required(),
            Length(min=accounts.MIN_PASSWORD_LENGTH, max=256, message=_("At least %(min)d characters.")),
        ],
        description=_("At least 12 characters. A few words you will remember is a good password."),
    )
    confirm = PasswordField(
        _("Password again"), validators=[_required(), EqualTo("password", message=_("The two passwords differ."))]
    )


class AccountFields(PasswordFields):
    username = StringField(
        _("User name"),
        validators=[
            _required(),
            Regexp(r"^[A-Za-z0-9._-]{3,32}$", message=_("3 to 32 letters, digits, dots, dashes or underscores.")),
        ],
    )
    full_name = StringField(_("Full name"), validators=[_required(), Length(max=100)])


class IdentityFields:
    name = StringField(_("Library name"), validators=[_required(), Length(max=120)])
    npp = StringField(
        _("NPP (library number)"),
        validators=[Optional(), Regexp(r"^[0-9.\- ]{4,30}$", message=_("Digits only, as on the NPP certificate."))],
    )
    village = StringField(_("Village / kelurahan"), validators=[Optional(), Length(max=100)])
    district = StringField(_("District (kecamatan)"), validators=[Optional(), Length(max=100)])
    regency = StringField(_("Regency / city"), validators=[Optional(), Length(max=100)])
    province = StringField(_("Province"), validators=[Optional(), Length(max=100)])
    opening_hours = StringField(
        _("Opening hours"), validators=[Optional(), Length(max=200)], description=_("e.g. Senin–Sabtu 08.00–15.00")
    )


class SetupForm(Form, IdentityFields, AccountFields):
    setup_code = StringField(
        _("Setup code"),
        validators=[_required(), Length(max=20)],
        description=_("Shown when the server starts, and by the command “ebookserver setup-code”."),
    )


class IdentityForm(Form, IdentityFields):
    pass


class UserForm(Form, AccountFields):
    role = SelectField(
        _("Role"),
        choices=[SelectChoice("librarian", _("Librarian")), SelectChoice("admin", _("Administrator"))],
        default="librarian",
    )


class NewPasswordForm(Form, PasswordFields):
    pass


class OwnPasswordForm(Form, PasswordFields):
    """A signed-in librarian's own new password: the current one first (a PC left signed in
    must not be enough to take the account over)."""

    current = PasswordField(_("Current password"), validators=[_required(), Length(max=256)])


class ConfirmForm(Form):
    """A button that changes something: only its CSRF token."""


class AnnouncementForm(Form):
    title = StringField(_("Title"), validators=[_required(), Length(max=200)])
    date = DateField(
        _("Date"),
        validators=[Optional()],
        description=_("Leave empty for a notice without a date (e.g. “New books have arrived”)."),
    )
    time = TimeField(_("Starts at"), validators=[Optional()])
    end_time = TimeField(_("Ends at"), validators=[Optional()])
    place = StringField(_("Place"), validators=[Optional(), Length(max=200)])
    description = TextAreaField(_("Description"), validators=[Optional(), Length(max=5000)])
    image = FileField(_("Picture"), description=_("JPEG, PNG or GIF, at most 15 MB."))
    remove_image = BooleanField(_("Remove the picture"))
    published = BooleanField(_("Show on the home page and the TV"), default=True)

    def validate_time(self, field) -> None:
        if field.data and not self.date.data:
            raise ValidationError(_("A time needs a date."))

    def validate_end_time(self, field) -> None:
        if field.data and self.time.data and field.data <= self.time.data:
            raise ValidationError(_("The end must be after the start."))

    def values(self) -> dict:
        """The fields as catalog.announcements stores them (local times `YYYY-MM-DDTHH:MM`)."""
        starts = ends = None
        if self.date.data:
            day = self.date.data.isoformat()
            starts = f"{day}T{self.time.data.strftime('%H:%M') if self.time.data else '00:00'}"
            ends = f"{day}T{self.end_time.data.strftime('%H:%M')}" if self.end_time.data else None
        return {
            "title": self.title.data,
            "starts_at": starts,
            "ends_at": ends,
            "place": self.place.data,
            "description": self.description.data,
            "published": self.published.data,
        }

    @staticmethod
    def data_from(event: dict) -> dict:
        starts, ends = event["starts_at"], event["ends_at"]
        parse_day = datetime.date.fromisoformat
        parse_time = datetime.time.fromisoformat
        return {
            "title": event["title"],
            "date": parse_day(starts[:10]) if starts else None,
            "time": parse_time(starts[11:16]) if starts and starts[11:16] != "00:00" else None,
            "end_time": parse_time(ends[11:16]) if ends else None,
            "place": event["place"],
            "description": event["description"],
            "published": bool(event["published"]),
        }


class MemberForm(Form):
    name = StringField(_("Name"), validators=[_required(), Length(max=100)])
    number = StringField(
        _("Member number"),
        validators=[Optional(), Length(max=32)],
        description=_("Leave empty and a number is made, e.g. A2026-0042-5. Or type the number from the old card."),
    )
    birth_year = IntegerField(
        _("Year of birth"),
        validators=[Optional(strip_whitespace=True)],
        description=_("Only the year, for the statistics by age."),
    )
    gender = SelectField(
        _("Gender"),
        choices=[SelectChoice("", _("Not given")), SelectChoice("L", _("Male")), SelectChoice("P", _("Female"))],
        default="",
    )
    category = SelectField(_("Member category"), choices=[])
    address = StringField(_("Address"), validators=[Optional(), Length(max=200)], description=_("Optional."))
    phone = StringField(_("Phone"), validators=[Optional(), Length(max=20)], description=_("Optional."))


class PinForm(Form):
    pin = PasswordField(
        _("PIN"),
        validators=[_required(), Regexp(r"^[0-9]{4,8}$", message=_("4 to 8 digits."))],
        description=_("4 to 8 digits. The member types it to sign in and borrow e-books."),
    )
    confirm = PasswordField(_("PIN again"), validators=[_required(), EqualTo("pin", message=_("The two PINs differ."))])


class CheckoutForm(Form):
    member = StringField(_("Member number"), validators=[_required(), Length(max=32)])
    barcode = StringField(_("Barcode of the book"), validators=[_required(), Length(max=64)])


class BarcodeForm(Form):
    barcode = StringField(_("Barcode of the book"), validators=[_required(), Length(max=64)])


# --- the print catalogue (ebookserver.views.printed) --------------------------------------


class PrintImportForm(Form):
    file = FileField(
        _("File"),
        description=_("MARC (.mrc, ISO 2709), MARCXML (.xml), or the CSV export of SLiMS or INLISLite."),
    )
    format = SelectField(
        _("Format"),
        choices=[
            SelectChoice("auto", _("Recognise it by itself")),
            SelectChoice("marc", _("MARC 21 (ISO 2709)")),
            SelectChoice("marcxml", _("MARCXML")),
            SelectChoice("slims", _("SLiMS (CSV)")),
            SelectChoice("inlislite", _("INLISLite (CSV)")),
        ],
        default="auto",
    )


class CopyFields:
    """Where a copy is and how it is shelved."""

    call_number = StringField(
        _("Call number"),
        validators=[Optional(), Length(max=100)],
        description=_(
            "As on the spine label: DDC number, three letters of the author, one of the title, e.g. 899.221 TOE b."
        ),
    )
    location = StringField(
        _("Shelf or place"), validators=[Optional(), Length(max=100)], description=_("e.g. Rak anak 2")
    )


class PrintedBookForm(Form, CopyFields):
    title = StringField(_("Title"), validators=[_required(), Length(max=500)])
    subtitle = StringField(_("Subtitle"), validators=[Optional(), Length(max=500)])
    authors = TextAreaField(
        _("Authors"),
        validators=[Optional(), Length(max=2000)],
        description=_("One per line, e.g. Pramoedya Ananta Toer."),
    )
    publisher = StringField(_("Publisher"), validators=[Optional(), Length(max=200)])
    place = StringField(_("Place of publication"), validators=[Optional(), Length(max=100)])
    year = StringField(
        _("Year"), validators=[Optional(), Regexp(r"^\s*[0-9]{4}\s*$", message=_("Four digits, e.g. 2019."))]
    )
    isbn = StringField(
        _("ISBN"), validators=[Optional(), Length(max=30)], description=_("10 or 13 digits, with or without dashes.")
    )
    language = SelectField(_("Language"), choices=[], default="id")
    ddc = StringField(_("DDC number"), validators=[Optional(), Length(max=30)], description=_("e.g. 899.221"))
    barcode = StringField(
        _("Barcode of the first copy"),
        validators=[Optional(), Length(max=64)],
        description=_("Optional: scan or type it to add the first copy at once."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.language.choices = [SelectChoice("", _("Not given"))] + [
            SelectChoice(code, _(name)) for code, name in names.LANGUAGES.items()
        ]


def _status_choices(include_on_loan: bool) -> list[SelectChoice]:
    return [
        SelectChoice(status, _(names.ITEM_STATUSES[status]))
        for status in records.ITEM_STATUSES
        if include_on_loan or status != "on-loan"
    ]


class CopyForm(Form, CopyFields):
    barcode = StringField(_("Barcode"), validators=[_required(), Length(max=64)])
    status = SelectField(_("Status"), choices=[], default="available")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.status.choices = _status_choices(False)


class CopyChangeForm(Form, CopyFields):
    status = SelectField(_("Status"), choices=[])

    def __init__(self, *args, on_loan: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.status.choices = _status_choices(on_loan)


class LabelForm(Form):
    which = SelectField(
        _("Which copies"),
        choices=[
            SelectChoice("barcodes", _("The barcodes typed below")),
            SelectChoice("record", _("Every copy of one book")),
            SelectChoice("import", _("The copies added by the last import")),
        ],
        default="barcodes",
    )
    barcodes = TextAreaField(
        _("Barcodes"),
        validators=[Optional(), Length(max=20000)],
        description=_("One per line; a barcode scanner types them for you."),
    )
    record = IntegerField(
        _("Book number"),
        validators=[Optional(strip_whitespace=True)],
        description=_("The number in the book's address, e.g. 12 for /buku/12."),
    )
