"""Files in and out of the print catalogue, on the `printed` blueprint: importing a MARC /
SLiMS / INLISLite file (upload, dry-run report, then commit), the MARCXML export and the A4
label sheets.

Between the report and the commit the uploaded file waits in the data directory's tmp/ under
a random name that only the signed session knows; it is deleted after the import, when
another file is chosen, or after a day.
"""

from __future__ import annotations

import datetime
import re
import secrets
import time
import unicodedata
from pathlib import Path

from flask import Response, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from catalog import accounts, db, printcat, records
from catalog import search as search_engine
from catalog.errors import CatalogError, RecordNotFound
from catalog.printcat import copies
from ebookserver import forms
from ebookserver.database import get_db
from ebookserver.i18n import normalise_language, translations
from ebookserver.views import staff
from ebookserver.views.printed import blueprint

MAX_FILE_BYTES = 50 * 1024 * 1024
PENDING_KEY = "print_import"
_PENDING_NAME = re.compile(r"^[0-9a-f]{32}$")
_PENDING_HOURS = 24


def _gettext():
    return translations(normalise_language(g.get("language"))).gettext


def _library_name() -> str:
    return (accounts.identity(get_db()) or {}).get("name") or current_app.config["EBOOKSERVER"].library_name


def _download(content: bytes, mimetype: str, name: str) -> Response:
    response = Response(content, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60] or "perpustakaan"


# --- import: upload, dry-run report, commit ------------------------------------------------


def _pending_path(token: str) -> Path:
    return current_app.config["DATADIR"].tmp_dir / f"print-import-{token}.dat"


def _forget_pending() -> None:
    pending = session.pop(PENDING_KEY, None)
    if pending and _PENDING_NAME.match(str(pending.get("token", ""))):
        _pending_path(pending["token"]).unlink(missing_ok=True)
    cutoff = time.time() - _PENDING_HOURS * 3600
    for stale in current_app.config["DATADIR"].tmp_dir.glob("print-import-*.dat"):
        if stale.stat().st_mtime < cutoff:
            stale.unlink(missing_ok=True)


def _receive(upload, token: str) -> bool:
    """Stream the upload into tmp/ under *token*; False (and nothing kept) when it is too large."""
    path = _pending_path(token)
    written = 0
    with path.open("wb") as out:
        while chunk := upload.stream.read(1024 * 1024):
            written += len(chunk)
            if written > MAX_FILE_BYTES:
                break
            out.write(chunk)
    if written > MAX_FILE_BYTES:
        path.unlink(missing_ok=True)
        return False
    return True


@blueprint.get("/impor")
def import_page():
    return render_template("staff/printed/import.html", form=forms.PrintImportForm(), report=None)


@blueprint.post("/impor")
def import_check():
    form = forms.PrintImportForm()
    upload = form.file.data
    if form.validate_on_submit() and not (upload and getattr(upload, "filename", "")):
        form.file.errors.append(_("Choose the file to import."))
    if form.errors or not upload:
        return render_template("staff/printed/import.html", form=form, report=None), 400
    _forget_pending()
    token = secrets.token_hex(16)
    if not _receive(upload, token):
        form.file.errors.append(_("The file is larger than %(size)s MB.", size=MAX_FILE_BYTES // (1024 * 1024)))
        return render_template("staff/printed/import.html", form=form, report=None), 413
    name = Path(upload.filename.replace("\\", "/")).name[:200]
    data = _pending_path(token).read_bytes()
    report = printcat.import_records(get_db(), printcat.read_print_file(data, form.format.data))
    if report.errors:
        _pending_path(token).unlink(missing_ok=True)
    else:
        session[PENDING_KEY] = {"token": token, "format": form.format.data, "name": name}
    return render_template(
        "staff/printed/import.html",
        form=form,
        report=report,
        name=name,
        gettext_for_report=_gettext(),
        confirm=forms.ConfirmForm(),
    )


@blueprint.post("/impor/simpan")
def import_commit():
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    pending = session.get(PENDING_KEY) or {}
    token, layout = str(pending.get("token", "")), pending.get("format")
    path = _pending_path(token) if _PENDING_NAME.match(token) else None
    if path is None or layout not in printcat.FORMATS or not path.is_file():
        session.pop(PENDING_KEY, None)
        flash(_("The uploaded file is no longer on the server. Please choose it again."), "error")
        return redirect(url_for("printed.import_page"))
    try:
        data = path.read_bytes()
    finally:
        _forget_pending()
    connection = get_db()
    parsed = printcat.read_print_file(data, layout)
    try:
        report = printcat.import_records(connection, parsed, dry_run=False)
    except CatalogError as error:
        flash(staff.message_of(error), "error")
        report = printcat.import_records(connection, parsed)
        return render_template(
            "staff/printed/import.html",
            form=forms.PrintImportForm(),
            report=report,
            name=pending.get("name"),
            gettext_for_report=_gettext(),
            confirm=forms.ConfirmForm(),
        ), 400
    search_engine.index_records(current_app.config["SEARCH_INDEX"], connection, report.record_ids)
    with db.transaction(connection):
        staff.audit(
            copies.IMPORT_ACTION,
            None,
            {
                "file": pending.get("name"),
                "format": parsed.format,
                "new_records": report.new_records,
                "merged_records": report.merged_records,
                "new_items": report.new_items,
                "record_ids": report.record_ids,
                "item_ids": report.item_ids,
            },
        )
    return render_template(
        "staff/printed/import_done.html", report=report, name=pending.get("name"), gettext_for_report=_gettext()
    )


# --- export and labels ----------------------------------------------------------------------


@blueprint.get("/ekspor")
def export_page():
    return render_template("staff/printed/export.html", numbers=request.args.get("nomor", "")[:2000])


@blueprint.get("/ekspor/marcxml")
def export_download():
    scope = request.args.get("cakupan", "semua")
    connection = get_db()
    today = datetime.date.today().isoformat()
    slug = _slug(_library_name())
    if scope == "cetak":
        _total, found = copies.printed_records(connection, request.args.get("q", "").strip()[:200], limit=None)
        record_ids, name = sorted(record["id"] for record in found), f"katalog-cetak-{slug}-{today}.xml"
    elif scope == "nomor":
        record_ids = _numbers(request.args.get("nomor", ""))
        if not record_ids:
            flash(_("Type the numbers of the books to export, e.g. 3, 7, 10-12."), "error")
            return redirect(url_for("printed.export_page"))
        name = f"buku-{record_ids[0]}-{today}.xml" if len(record_ids) == 1 else f"katalog-{slug}-pilihan-{today}.xml"
    else:
        record_ids, name = None, f"katalog-{slug}-{today}.xml"
    try:
        document = printcat.export_marcxml(connection, record_ids)
    except (RecordNotFound, OverflowError) as error:
        message = staff.message_of(error) if isinstance(error, CatalogError) else _("That number is too large.")
        flash(message, "error")
        return redirect(url_for("printed.export_page", nomor=request.args.get("nomor", "")[:2000]))
    return _download(document, "application/marcxml+xml", name)


def _numbers(text: str) -> list[int]:
    """Record numbers from `3, 7, 10-12` (at most 10,000), in order, each once."""
    found: dict[int, None] = {}
    for first, last in re.findall(r"(\d{1,9})(?:\s*-\s*(\d{1,9}))?", text):
        start, end = int(first), int(last or first)
        for number in range(start, min(max(start, end), start + 10_000) + 1):
            found.setdefault(number)
            if len(found) >= 10_000:
                return list(found)
    return list(found)


@blueprint.route("/label", methods=["GET", "POST"])
def labels():
    connection = get_db()
    if request.method == "GET":
        chosen = request.args.get("buku", type=int)
        which = "record" if chosen else "import" if request.args.get("dari") == "impor" else "barcodes"
        form = forms.LabelForm(data={"which": which, "record": chosen})
    else:
        form = forms.LabelForm()
    if form.validate_on_submit():
        item_ids = _chosen_items(form)
        if item_ids:
            pdf = printcat.label_sheet(connection, item_ids, library_name=_library_name())
            return _download(pdf, "application/pdf", f"label-{datetime.date.today().isoformat()}.pdf")
    return render_template(
        "staff/printed/labels.html", form=form, last_import=len(copies.last_import_items(connection))
    ), (200 if request.method == "GET" else 400)


def _chosen_items(form: forms.LabelForm) -> list[int]:
    """The copies the form asks for; [] with the form's errors filled when there are none."""
    connection = get_db()
    if form.which.data == "record":
        try:
            record = records.get_record(connection, form.record.data) if form.record.data else None
        except (RecordNotFound, OverflowError):
            record = None
        if record is None:
            form.record.errors.append(_("There is no book with this number."))
            return []
        item_ids = copies.items_of_record(connection, record["id"])
        if not item_ids:
            form.record.errors.append(_("“%(title)s” has no printed copies yet.", title=record["title"]))
        return item_ids
    if form.which.data == "import":
        item_ids = copies.last_import_items(connection)
        if not item_ids:
            form.which.errors.append(_("The last import added no copies that are still in the catalogue."))
        return item_ids
    item_ids, unknown = copies.items_with_barcodes(connection, (form.barcodes.data or "").splitlines())
    if unknown:
        form.barcodes.errors.append(_("Not in the catalogue: %(barcodes)s.", barcodes=", ".join(unknown[:20])))
        return []
    if not item_ids:
        form.barcodes.errors.append(_("Type or scan at least one barcode."))
    return item_ids
