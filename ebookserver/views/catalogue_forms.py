"""The forms of the catalogue workspace: a record's fields, its licence, its cover, a folder
to import. Values are checked again by `catalog.editing`, which has the last word."""

from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms import Form as SubForm
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from catalog import editing
from ebookserver import names
from ebookserver.forms import Form


def _required():
    return InputRequired(message=_("Please fill this in."))


class ContributorFields(SubForm):
    name = StringField(_("Name"), validators=[Optional(), Length(max=200)])
    # Not limited to the choices: a role an import brought (a MARC relator code) is kept.
    role = SelectField(
        _("Role"),
        choices=[SelectChoice(code, _(label)) for code, label in editing.CONTRIBUTOR_ROLES.items()],
        validate_choice=False,
    )


IDENTIFIER_LABELS = {"issn": "ISSN", "doi": "DOI", "url": "URL", "uuid": "UUID", "other": _("Other")}


class IdentifierFields(SubForm):
    scheme = SelectField(
        _("Kind"), choices=[SelectChoice(code, IDENTIFIER_LABELS[code]) for code in editing.IDENTIFIER_SCHEMES]
    )
    value = StringField(_("Identifier"), validators=[Optional(), Length(max=300)])


class RecordForm(Form):
    title = StringField(_("Title"), validators=[_required(), Length(max=500)])
    subtitle = StringField(_("Subtitle"), validators=[Optional(), Length(max=500)])
    authors = FieldList(StringField(_("Author")), label=_("Authors"), min_entries=1)
    contributors = FieldList(FormField(ContributorFields), label=_("Other contributors"), min_entries=1)
    subjects = FieldList(StringField(_("Subject")), label=_("Subjects"), min_entries=1)
    publisher = StringField(_("Publisher"), validators=[Optional(), Length(max=200)])
    place = StringField(_("Place of publication"), validators=[Optional(), Length(max=100)])
    year = StringField(_("Year"), validators=[Optional(), Length(max=10)])
    edition = StringField(_("Edition"), validators=[Optional(), Length(max=100)], description=_("e.g. Cetakan ke-2"))
    series = StringField(_("Series"), validators=[Optional(), Length(max=300)])
    extent = StringField(
        _("Extent"), validators=[Optional(), Length(max=200)], description=_("e.g. xii, 180 hlm. : ilus. ; 21 cm")
    )
    language = StringField(
        _("Language"), validators=[Optional(), Length(max=20)], description=_("A code: id, en, jv, su…")
    )
    ddc_class = SelectField(_("DDC class"), default="")
    ddc = StringField(
        _("DDC number"), validators=[Optional(), Length(max=30)], description=_("Optional, e.g. 899.221 or 633.18")
    )
    classification = StringField(
        _("Local classification"), validators=[Optional(), Length(max=50)], description=_("e.g. a call number prefix")
    )
    isbns = FieldList(StringField(_("ISBN")), label=_("ISBN"), min_entries=1)
    identifiers = FieldList(FormField(IdentifierFields), label=_("Other identifiers"), min_entries=1)
    description = TextAreaField(_("Description"), validators=[Optional(), Length(max=10_000)])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The class names in the reader's language, "300 · Ilmu sosial".
        for entry in self.contributors:
            role = entry.form.role.data
            if role and role not in editing.CONTRIBUTOR_ROLES:
                entry.form.role.choices = [*entry.form.role.choices, SelectChoice(role, role)]
        self.ddc_class.choices = [SelectChoice("", gettext("— none —"))] + [
            SelectChoice(code, f"{code}00 · {gettext(label)}") for code, label in names.DDC_CLASSES.items()
        ]


class LicenceForm(Form):
    licence = RadioField(
        _("How the e-book may be used"),
        choices=[
            SelectChoice("open-access", _("Open access: anyone may read and download it")),
            SelectChoice("lending", _("Lending: a number of copies, each lent for some days")),
            SelectChoice("in-library", _("Read in the library only")),
        ],
        default="open-access",
    )
    licence_copies = IntegerField(
        _("Copies"),
        validators=[Optional(), NumberRange(min=1, max=1000, message=_("From %(min)s to %(max)s."))],
        description=_("For lending: how many patrons may borrow it at once."),
    )
    loan_days = IntegerField(
        _("Loan days"),
        validators=[Optional(), NumberRange(min=1, max=365, message=_("From %(min)s to %(max)s."))],
        description=_("For lending: a loan ends by itself after this many days."),
    )
    stamped_download = BooleanField(
        _("Borrowers may also download the PDF, stamped on every page with their member number and due date")
    )


class CoverImageForm(Form):
    image = FileField(_("A picture (JPEG, PNG or GIF)"), validators=[InputRequired(message=_("Choose a picture."))])


class CoverPageForm(Form):
    page = IntegerField(
        _("Page of the PDF"),
        validators=[InputRequired(message=_("Give a page number.")), NumberRange(min=1, message=_("From page 1."))],
    )


class FolderForm(Form):
    folder = StringField(
        _("Folder on the server"),
        validators=[_required(), Length(max=1000)],
        description=_("e.g. /media/pustaka/FLASHDISK — a USB drive plugged into the server."),
    )
