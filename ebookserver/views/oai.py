"""`/oai`: the OAI-PMH 2.0 provider for union catalogues (the protocol is in `catalog.oai`)."""

from __future__ import annotations

import datetime

from flask import Blueprint, Response, current_app, request, url_for

from catalog import accounts, oai
from ebookserver.database import get_db

blueprint = Blueprint("oai", __name__)


def repository(base_url: str, record_url: str | None) -> oai.Repository:
    """This library as an OAI-PMH repository."""
    settings = current_app.config["EBOOKSERVER"]
    identity = accounts.identity(get_db()) or {}
    return oai.Repository(
        name=identity.get("name") or settings.library_name,
        base_url=base_url,
        admin_email=settings.oai_admin_email or oai.DEFAULT_ADMIN_EMAIL,
        repository_id=oai.repository_id(identity.get("npp")),
        record_url=record_url,
        page_size=current_app.config.get("OAI_PAGE_SIZE", oai.PAGE_SIZE),
    )


@blueprint.route("/oai", methods=["GET", "POST"])
def endpoint():
    arguments = list(request.form.items(multi=True) if request.method == "POST" else request.args.items(multi=True))
    record_url = url_for("opac.record", record_id=0, _external=True)[:-1] + "{id}"
    document = oai.respond(
        get_db(),
        repository(url_for("oai.endpoint", _external=True), record_url),
        arguments,
        datetime.datetime.now(datetime.UTC),
    )
    return Response(document, mimetype="text/xml", headers={"Cache-Control": "no-store"})
