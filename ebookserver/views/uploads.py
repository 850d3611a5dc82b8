"""Uploading e-books from the browser and importing a server folder, on the catalogue blueprint.

Uploads are streamed into the data directory's tmp/ (`ebookserver.uploads`) and imported by
`catalog.ingest` exactly as the command line imports them. The upload route checks its CSRF
token itself, after the body has been parsed by our stream factory: Flask-WTF's automatic
check would parse the body first, into memory and the system's temporary folder.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import unquote

from flask import abort, current_app, g, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms.validators import ValidationError

from catalog import db, editing, import_jobs
from catalog.errors import CatalogError, RecordNotFound
from catalog.ingest import Importer, ImportOutcome
from ebookserver import names, uploads
from ebookserver.database import get_db
from ebookserver.forms import ConfirmForm
from ebookserver.settings import MB
from ebookserver.views.catalogue import blueprint, message
from ebookserver.views.catalogue_forms import FolderForm
from ebookserver.views.staff import audit

FILE_FIELD = "files"
# Room for the multipart headers and the CSRF field around one file.
ENVELOPE_BYTES = 64 * 1024
PROGRESS_REFRESH_SECONDS = 3


def _importer(files: int | None = None) -> Importer:
    settings = current_app.config["EBOOKSERVER"]
    pool = settings.pool()
    if files:
        pool = dataclasses.replace(pool, processes=max(1, min(pool.processes, files)))
    return Importer(current_app.config["DATADIR"], settings.limits(), pool, current_app.config["SEARCH_INDEX"])


def _jobs() -> import_jobs.ImportJobs:
    return import_jobs.ImportJobs(current_app.config["DATADIR"].root / "imports")


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _max_bytes() -> int:
    return current_app.config["EBOOKSERVER"].max_file_mb * MB


@blueprint.get("/unggah")
def upload_page():
    return render_template("staff/catalogue/upload.html", **_upload_context())


def _upload_context(**extra: Any) -> dict[str, Any]:
    return {
        "form": ConfirmForm(formdata=None),  # the body is ours to read (see above)
        "max_file_mb": current_app.config["EBOOKSERVER"].max_file_mb,
        "running": _jobs().running(),
        "results": [],
        "problem": None,
        "names": names,
        **extra,
    }


@blueprint.post("/unggah")
def upload():
    header_token = request.headers.get("X-CSRFToken")
    if header_token:
        _check_csrf(header_token)  # before the body is parsed
    limit = _max_bytes()
    single = request.headers.get("X-Upload-Single") == "1"
    if single and (request.content_length or 0) > limit + ENVELOPE_BYTES:
        return _refuse(413, _too_large(uploads.safe_name(unquote(request.headers.get("X-Upload-Name", "")), "")))
    received = uploads.Upload(current_app.config["DATADIR"].tmp_dir, limit)
    try:
        received.parse(request.stream, request.mimetype, request.content_length, request.mimetype_params)
    except uploads.UploadTooLarge as error:
        return _refuse(413, _too_large(error.name))
    except uploads.UploadDiskFull:
        return _refuse(507, _("The server's disk is full: the upload was not kept. Free some space and try again."))
    except ValueError:
        abort(400)
    try:
        if not header_token:
            _check_csrf(received.form.get("csrf_token", ""))
        chosen = received.chosen(FILE_FIELD)
        if not chosen:
            return _refuse(400, _("Choose at least one EPUB or PDF file."))
        importer = _importer(len(chosen))
        with uploads.readable_paths(chosen) as paths:
            outcomes = importer.run(paths)
    finally:
        received.close()
    _audit_imports(outcomes)
    results = [_preview(outcome) for outcome in outcomes]
    problem = message(importer.index_problem) if importer.index_problem else None
    if _wants_json():
        reply = {
            "files": [{"name": result["name"], "status": result["status"]} for result in results],
            "html": render_template("staff/catalogue/_outcomes.html", results=results, names=names),
        }
        return jsonify({**reply, "error": problem} if problem else reply)
    return render_template("staff/catalogue/upload.html", **_upload_context(results=results, problem=problem))


def _check_csrf(token: str) -> None:
    try:
        validate_csrf(token)
    except ValidationError as error:
        raise CSRFError(str(error)) from None


def _too_large(name: str | None) -> str:
    limit = current_app.config["EBOOKSERVER"].max_file_mb
    if name:
        return _(
            "“%(name)s” is larger than %(limit)s MB, the largest file this server accepts.", name=name, limit=limit
        )
    return _("The file is larger than %(limit)s MB, the largest file this server accepts.", limit=limit)


def _refuse(status: int, problem: str):
    if _wants_json():
        return jsonify({"error": problem}), status
    return render_template("staff/catalogue/upload.html", **_upload_context(problem=problem)), status


def _audit_imports(outcomes: list[ImportOutcome]) -> None:
    imported = [outcome for outcome in outcomes if outcome.status == "imported"]
    if not imported:
        return
    with db.transaction(get_db()):
        for outcome in imported:
            audit("record.upload", f"record:{outcome.record_id}", {"file": outcome.path.name})


def _preview(outcome: ImportOutcome) -> dict[str, Any]:
    """What the librarian sees about one file: the record made or found, or why it was refused."""
    record = None
    if outcome.record_id is not None:
        try:
            record = editing.editable(get_db(), outcome.record_id)
        except RecordNotFound:
            record = None
    return {
        "name": outcome.path.name,
        "status": outcome.status,
        "record": record,
        "reason": message(outcome.error) if outcome.error else None,
    }


# --- a folder on the server (a USB drive) ----------------------------------------------------


@blueprint.route("/impor-folder", methods=["GET", "POST"])
def folder_import():
    form = FolderForm()
    running = _jobs().running()
    if form.validate_on_submit():
        try:
            folder = import_jobs.check_folder(form.folder.data)
            job = _jobs().start(_importer(), folder, g.staff["username"])
        except import_jobs.FolderUnusable as error:
            form.folder.errors.append(message(error))
        except CatalogError as error:
            form.form_errors.append(message(error))
        else:
            with db.transaction(get_db()):
                audit("catalogue.import_folder", str(folder), {"job": job.id})
            return redirect(url_for("catalogue.folder_progress", job_id=job.id))
    return render_template(
        "staff/catalogue/folder.html", form=form, running=running, folders=import_jobs.suggested_folders()
    )


@blueprint.get("/impor-folder/<job_id>")
def folder_progress(job_id: str):
    job = _jobs().get(job_id)
    if job is None:
        abort(404)
    results = [_preview(outcome) for outcome in _jobs().outcomes(job)] if job.finished else []
    response = make_response(render_template("staff/catalogue/progress.html", job=job, results=results, names=names))
    if not job.finished:
        response.headers["Refresh"] = str(PROGRESS_REFRESH_SECONDS)  # works without JavaScript
    return response


# The upload route checks its token itself (see the module's docstring).
blueprint.record_once(lambda state: state.app.extensions["csrf"].exempt(upload))
