"""The catalogue in the librarian's workspace (`/kelola/katalog`): the list of titles, editing
a record's fields, licence and cover, withdrawing and deleting. Uploads and folder imports
are in `ebookserver.views.uploads`, on the same blueprint. Access: a signed-in librarian
(`ebookserver.auth`)."""

from __future__ import annotations

import datetime
from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms import FieldList

from catalog import covers, db, editing, lending, listing
from catalog.errors import CatalogError, RecordNotFound
from catalog.i18n import N_
from ebookserver import auth, names
from ebookserver.database import get_db
from ebookserver.forms import ConfirmForm
from ebookserver.i18n import normalise_language, translations
from ebookserver.views import catalogue_forms as forms
from ebookserver.views.staff import MENU, audit

blueprint = Blueprint("catalogue", __name__, url_prefix=auth.STAFF_PREFIX + "/katalog")
MENU.extend(
    [
        ("catalogue.index", N_("Catalogue")),
        ("catalogue.upload_page", N_("Upload e-books")),
        ("catalogue.folder_import", N_("Import a folder")),
    ]
)
PAGE_SIZE = 50
EMPTY_ROWS = 2  # empty author, subject, ISBN… inputs offered below the filled ones


def message(error: CatalogError) -> str:
    """A domain error in the reader's language."""
    return error.render(translations(normalise_language(g.get("language"))).gettext)


def _record_or_404(record_id: int) -> dict[str, Any]:
    try:
        return editing.editable(get_db(), record_id)
    except (RecordNotFound, OverflowError):
        abort(404)


def _search_index():
    return current_app.config["SEARCH_INDEX"]


@blueprint.get("/")
def index():
    text = request.args.get("q", "").strip()[:200]
    show = request.args.get("tampil", "")
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 10_000)
    total, found = listing.staff_list(
        get_db(), text, withdrawn_only=show == "ditarik", limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    return render_template(
        "staff/catalogue/index.html",
        text=text,
        show=show,
        records=found,
        total=total,
        page=page,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        recent=listing.recent_imports(get_db(), limit=15),
        names=names,
    )


@blueprint.route("/<int:record_id>", methods=["GET", "POST"])
def edit(record_id: int):
    record = _record_or_404(record_id)
    form = forms.RecordForm(data=_form_data(record) if request.method == "GET" else None)
    problems: dict[str, str] = {}
    if form.validate_on_submit():
        connection = get_db()
        try:
            with db.transaction(connection):
                changed = editing.update_record(
                    connection, record_id, _values(form), latest_year=datetime.date.today().year + 1
                )
                if changed:
                    audit("record.edit", f"record:{record_id}", _audit_detail(changed))
        except editing.InvalidRecordField as error:
            target = getattr(form, error.field, None)
            if target is not None and not isinstance(target, FieldList):
                target.errors = [*target.errors, message(error)]
            else:
                problems[error.field] = message(error)
            form.form_errors.append(_("The record was not saved: correct the fields marked below."))
        except CatalogError as error:
            form.form_errors.append(message(error))
        else:
            editing.refresh_index(_search_index(), connection, record_id)
            flash(_("Saved. The changes are in the catalogue and in search.") if changed else _("Nothing changed."))
            return redirect(url_for("catalogue.edit", record_id=record_id))
    elif request.method == "POST":
        form.form_errors.append(_("The record was not saved: correct the fields marked below."))
    _pad(form)
    return _edit_page(record, form, problems=problems)


def _edit_page(record: dict, form=None, status: int = 200, **forms_and_problems):
    licence = forms.LicenceForm(
        data={
            "licence": record["licence"],
            "licence_copies": record["licence_copies"],
            "loan_days": record["loan_days"],
            "stamped_download": lending.allows_stamped_download(get_db(), record["id"]),
        }
    )
    page = {
        "record": record,
        "form": form,
        "licence_form": licence,
        "cover_form": forms.CoverImageForm(),
        "page_form": forms.CoverPageForm(),
        "confirm": ConfirmForm(),
        "problems": {},
        "suggestions": listing.suggestions(get_db()),
        "names": names,
        "roles": editing.CONTRIBUTOR_ROLES,
        **forms_and_problems,
    }
    if page["form"] is None:
        page["form"] = forms.RecordForm(data=_form_data(record))
        _pad(page["form"])
    return render_template("staff/catalogue/edit.html", **page), status


def _audit_detail(changed: dict[str, Any], limit: int = 200) -> dict[str, Any]:
    """The new values, long texts shortened: what the audit log keeps of an edit."""
    return {name: value[:limit] if isinstance(value, str) else value for name, value in changed.items()}


def _form_data(record: dict) -> dict[str, Any]:
    identifiers = record["all_identifiers"]
    ddc = record["ddc"] or ""
    return {
        **{name: record.get(name) for name in editing.TEXT_FIELDS},
        "year": str(record["year"]) if record["year"] is not None else "",
        "language": record["language"],
        "ddc_class": ddc[:1] if ddc[:1].isdigit() else "",
        "ddc": ddc if ddc and not (len(ddc) == 3 and ddc.endswith("00")) else "",
        "authors": record["authors"],
        "subjects": record["subjects"],
        "contributors": [{"name": name, "role": role} for name, role in record["other_contributors"]],
        "isbns": [value for scheme, value in identifiers if scheme == "isbn"],
        "identifiers": [{"scheme": scheme, "value": value} for scheme, value in identifiers if scheme != "isbn"],
    }


def _pad(form: forms.RecordForm) -> None:
    """Offer empty inputs after the filled ones, so a name can be added without JavaScript."""
    for field in (form.authors, form.subjects, form.isbns, form.contributors, form.identifiers):
        filled = sum(1 for entry in field.entries if _filled(entry.data))
        while len(field.entries) < filled + EMPTY_ROWS:
            field.append_entry()


def _filled(data: Any) -> bool:
    if isinstance(data, dict):
        return bool((data.get("name") or data.get("value") or "").strip())
    return bool((data or "").strip())


def _values(form: forms.RecordForm) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(form, name).data for name in editing.TEXT_FIELDS}
    values.update(
        year=form.year.data,
        language=form.language.data,
        ddc_class=form.ddc_class.data,
        ddc=form.ddc.data,
        authors=form.authors.data,
        subjects=form.subjects.data,
        isbns=form.isbns.data,
        contributors=[(entry["name"], entry["role"]) for entry in form.contributors.data],
        identifiers=[(entry["scheme"], entry["value"]) for entry in form.identifiers.data],
    )
    return values


@blueprint.post("/<int:record_id>/lisensi")
def licence(record_id: int):
    record = _record_or_404(record_id)
    form = forms.LicenceForm()
    if form.validate_on_submit():
        connection = get_db()
        try:
            with db.transaction(connection):
                detail = editing.set_licence(
                    connection,
                    record_id,
                    form.licence.data,
                    form.licence_copies.data,
                    form.loan_days.data,
                    stamped_download=form.stamped_download.data,
                )
                audit("record.licence", f"record:{record_id}", detail)
        except CatalogError as error:
            form.licence.errors = [message(error)]
        else:
            editing.refresh_index(_search_index(), connection, record_id)
            flash(_("The licence was saved."))
            return redirect(url_for("catalogue.edit", record_id=record_id) + "#licence")
    return _replace_form(record, "licence_form", form)


def _replace_form(record: dict, name: str, form) -> tuple[str, int]:
    """The edit page again, with *form* (and its errors) in place of the blank one."""
    return _edit_page(record, status=400, **{name: form})


@blueprint.post("/<int:record_id>/sampul")
def cover_image(record_id: int):
    record = _record_or_404(record_id)
    form = forms.CoverImageForm()
    if form.validate_on_submit():
        image = form.image.data.read(covers.MAX_COVER_BYTES + 1)
        return _change_cover(
            record, form, "cover_form", lambda: covers.from_picture(image, _limits()), {"from": "picture"}
        )
    return _replace_form(record, "cover_form", form)


@blueprint.post("/<int:record_id>/sampul-halaman")
def cover_page(record_id: int):
    record = _record_or_404(record_id)
    form = forms.CoverPageForm()
    if form.validate_on_submit():
        page = form.page.data
        return _change_cover(
            record,
            form,
            "page_form",
            lambda: covers.from_pdf_page(get_db(), current_app.config["DATADIR"], record_id, page, _limits()),
            {"from": "page", "page": page},
        )
    return _replace_form(record, "page_form", form)


def _limits():
    return current_app.config["EBOOKSERVER"].limits()


def _change_cover(record: dict, form, name: str, make, detail: dict):
    """Make the cover (slow, in a worker process), then store it and log it in one transaction."""
    connection = get_db()
    try:
        if not record["files"]:
            raise covers.NoFileForCover()
        cover = make()
        with db.transaction(connection):
            covers.store(connection, current_app.config["DATADIR"], record["id"], cover)
            audit("record.cover", f"record:{record['id']}", detail)
    except CatalogError as error:
        form.form_errors.append(message(error))
        return _replace_form(record, name, form)
    flash(_("The cover was replaced."))
    return redirect(url_for("catalogue.edit", record_id=record["id"]) + "#cover")


@blueprint.post("/<int:record_id>/tarik")
def withdraw(record_id: int):
    record = _record_or_404(record_id)
    if ConfirmForm().validate_on_submit():
        connection = get_db()
        withdrawn = not record["withdrawn"]
        with db.transaction(connection):
            editing.set_withdrawn(connection, record_id, withdrawn)
            audit("record.withdraw" if withdrawn else "record.restore", f"record:{record_id}")
        editing.refresh_index(_search_index(), connection, record_id)
        flash(
            _("The title is withdrawn: patrons no longer find it.")
            if withdrawn
            else _("The title is back in the catalogue.")
        )
    return redirect(url_for("catalogue.edit", record_id=record_id))


@blueprint.route("/<int:record_id>/hapus", methods=["GET", "POST"])
def delete(record_id: int):
    record = _record_or_404(record_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        connection = get_db()
        try:
            with db.transaction(connection):
                unused = editing.delete_record(connection, current_app.config["DATADIR"], record_id)
                audit("record.delete", f"record:{record_id}", {"title": record["title"]})
        except CatalogError as error:
            form.form_errors.append(message(error))
        else:
            editing.remove_stored_files(unused)
            editing.refresh_index(_search_index(), connection, record_id)
            flash(_("“%(title)s” was deleted.", title=record["title"]))
            return redirect(url_for("catalogue.index"))
    return render_template("staff/catalogue/delete.html", record=record, form=form)


from ebookserver.views import uploads  # noqa: E402, F401 - its routes are on this blueprint
