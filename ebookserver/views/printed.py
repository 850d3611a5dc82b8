"""The print catalogue in the librarian's workspace (`/kelola/cetak`): the printed books, a
new printed book by hand, and each book's copies. Importing, exporting and labels (files in
and out) are in `ebookserver.views.printed_files`, on the same blueprint. The domain work is
in `catalog.printcat`."""

from __future__ import annotations

import datetime
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from catalog import db, editing, records
from catalog.errors import RecordNotFound
from catalog.i18n import N_
from catalog.printcat import copies
from catalog.printcat.model import ItemNotFound
from ebookserver import auth, forms, names
from ebookserver.database import get_db
from ebookserver.views import staff

blueprint = Blueprint("printed", __name__, url_prefix=auth.STAFF_PREFIX + "/cetak")
staff.MENU.extend(
    [
        ("printed.index", N_("Printed books")),
        ("printed.import_page", N_("Import MARC / CSV")),
        ("printed.labels", N_("Labels")),
    ]
)
PAGE_SIZE = 50
# The form field each record check in catalog.editing reports, on the new-book form.
_BOOK_FIELDS = {"isbns": "isbn", "authors": "authors", "title": "title", "year": "year", "ddc": "ddc"}


def _record_or_404(record_id: int) -> dict[str, Any]:
    try:
        return records.get_record(get_db(), record_id)
    except (RecordNotFound, OverflowError):
        abort(404)


def _copy_or_404(record_id: int, item_id: int) -> dict[str, Any]:
    try:
        copy = copies.get_copy(get_db(), item_id)
    except (ItemNotFound, OverflowError):
        abort(404)
    if copy["record_id"] != record_id:
        abort(404)
    return copy


def _reindex(record_ids: list[int]) -> None:
    connection = get_db()
    for record_id in record_ids:
        editing.refresh_index(current_app.config["SEARCH_INDEX"], connection, record_id)


# --- printed books and their copies -------------------------------------------------------


@blueprint.get("/")
def index():
    text = request.args.get("q", "").strip()[:200]
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 10_000)
    total, found = copies.printed_records(get_db(), text, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render_template(
        "staff/printed/index.html", records=found, total=total, query=text, page=page, more=page * PAGE_SIZE < total
    )


@blueprint.route("/buku/baru", methods=["GET", "POST"])
def book_new():
    form = forms.PrintedBookForm()
    if form.validate_on_submit():
        connection = get_db()
        values = {
            "title": form.title.data,
            "subtitle": form.subtitle.data,
            "authors": (form.authors.data or "").splitlines(),
            "publisher": form.publisher.data,
            "place": form.place.data,
            "year": (form.year.data or "").strip(),
            "isbns": [form.isbn.data],
            "language": form.language.data,
            "ddc": (form.ddc.data or "").strip(),
        }
        try:
            with db.transaction(connection):
                record_id = copies.add_printed_book(connection, values, latest_year=datetime.date.today().year + 1)
                staff.audit("print.book.add", f"record:{record_id}", {"title": form.title.data})
                if form.barcode.data:
                    _add_copy(record_id, form, form.barcode.data, "available")
        except editing.InvalidRecordField as error:
            field = getattr(form, _BOOK_FIELDS.get(error.field, ""), None)
            (field.errors if field is not None else form.form_errors).append(staff.message_of(error))
        except copies.CopyRefused as error:
            form.barcode.errors.append(staff.message_of(error))
        else:
            _reindex([record_id])
            flash(_("“%(title)s” was added to the catalogue.", title=form.title.data))
            return redirect(url_for("printed.copies_page", record_id=record_id))
    return render_template("staff/printed/book_new.html", form=form)


def _add_copy(record_id: int, form, barcode: str, status: str) -> int:
    item_id = copies.add_copy(
        get_db(),
        record_id,
        barcode=barcode,
        call_number=form.call_number.data,
        location=form.location.data,
        status=status,
    )
    staff.audit("print.copy.add", f"item:{item_id}", {"record_id": record_id, "barcode": barcode.strip()})
    return item_id


@blueprint.route("/buku/<int:record_id>/eksemplar", methods=["GET", "POST"])
def copies_page(record_id: int):
    record = _record_or_404(record_id)
    connection = get_db()
    listed = copies.record_copies(connection, record_id)
    form = forms.CopyForm(
        data={"call_number": copies.suggested_call_number(record, listed)} if request.method == "GET" else None
    )
    if form.validate_on_submit():
        try:
            with db.transaction(connection):
                _add_copy(record_id, form, form.barcode.data, form.status.data)
        except copies.CopyRefused as error:
            form.barcode.errors.append(staff.message_of(error))
        else:
            _reindex([record_id])
            flash(_("Copy %(barcode)s added.", barcode=form.barcode.data.strip()))
            return redirect(url_for("printed.copies_page", record_id=record_id))
    return render_template(
        "staff/printed/copies.html", record=record, copies=listed, form=form, statuses=names.ITEM_STATUSES
    )


@blueprint.route("/buku/<int:record_id>/eksemplar/<int:item_id>", methods=["GET", "POST"])
def copy_edit(record_id: int, item_id: int):
    record = _record_or_404(record_id)
    copy = _copy_or_404(record_id, item_id)
    on_loan = copy["status"] == "on-loan"
    form = forms.CopyChangeForm(data=copy if request.method == "GET" else None, on_loan=on_loan)
    if form.validate_on_submit():
        connection = get_db()
        try:
            with db.transaction(connection):
                changed = copies.change_copy(
                    connection,
                    item_id,
                    call_number=form.call_number.data,
                    location=form.location.data,
                    status=form.status.data,
                )
                if changed:
                    staff.audit("print.copy.edit", f"item:{item_id}", {"barcode": copy["barcode"], **changed})
        except copies.CopyRefused as error:
            form.status.errors.append(staff.message_of(error))
        else:
            _reindex([record_id])
            flash(_("Copy %(barcode)s saved.", barcode=copy["barcode"]))
            return redirect(url_for("printed.copies_page", record_id=record_id))
    return render_template("staff/printed/copy_edit.html", record=record, copy=copy, form=form)


@blueprint.route("/buku/<int:record_id>/eksemplar/<int:item_id>/hapus", methods=["GET", "POST"])
def copy_delete(record_id: int, item_id: int):
    record = _record_or_404(record_id)
    copy = _copy_or_404(record_id, item_id)
    form = forms.ConfirmForm()
    if form.validate_on_submit():
        connection = get_db()
        try:
            with db.transaction(connection):
                copies.remove_copy(connection, item_id)
                staff.audit(
                    "print.copy.delete", f"item:{item_id}", {"record_id": record_id, "barcode": copy["barcode"]}
                )
        except copies.CopyRefused as error:
            flash(staff.message_of(error), "error")
        else:
            _reindex([record_id])
            flash(_("Copy %(barcode)s was removed.", barcode=copy["barcode"]))
            return redirect(url_for("printed.copies_page", record_id=record_id))
    return render_template("staff/printed/copy_delete.html", record=record, copy=copy, form=form)


from ebookserver.views import printed_files  # noqa: E402, F401 - its routes are on this blueprint
