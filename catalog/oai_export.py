"""`ebookserver export-oai DIR`: the OAI-PMH responses of the whole catalogue as files.

For a box that is offline when the harvester comes: Identify.xml, ListMetadataFormats.xml,
ListSets.xml (when there are sets) and ListRecords-<prefix>-NNNN.xml for each metadata format,
page by page as the live `/oai` gives them (each page's resumption token names the next).
"""

from __future__ import annotations

import datetime
import sqlite3
from pathlib import Path

from lxml import etree

from catalog import accounts, oai, oai_store
from catalog.datadir import write_atomically


def export(
    connection: sqlite3.Connection,
    directory: Path,
    *,
    base_url: str,
    record_url: str | None,
    library_name: str,
    admin_email: str,
    now: datetime.datetime,
) -> list[Path]:
    """Write every response to *directory* (created if missing); returns the files written."""
    identity = accounts.identity(connection) or {}
    repository = oai.Repository(
        name=identity.get("name") or library_name,
        base_url=base_url,
        admin_email=admin_email or oai.DEFAULT_ADMIN_EMAIL,
        repository_id=oai.repository_id(identity.get("npp")),
        record_url=record_url,
    )
    directory.mkdir(parents=True, exist_ok=True)
    written = []

    def write(name: str, arguments: list[tuple[str, str]]) -> etree._Element:
        document = oai.respond(connection, repository, arguments, now)
        path = directory / name
        write_atomically(path, document)
        written.append(path)
        return etree.fromstring(document)

    write("Identify.xml", [("verb", "Identify")])
    write("ListMetadataFormats.xml", [("verb", "ListMetadataFormats")])
    write("ListSets.xml", [("verb", "ListSets")])
    for prefix, _schema, _namespace in oai_store.FORMATS:
        arguments = [("verb", "ListRecords"), ("metadataPrefix", prefix)]
        page = 1
        while True:
            root = write(f"ListRecords-{prefix}-{page:04d}.xml", arguments)
            token = root.find(f".//{{{oai.OAI_NAMESPACE}}}resumptionToken")
            if token is None or not token.text:
                break
            arguments = [("verb", "ListRecords"), ("resumptionToken", token.text)]
            page += 1
    return written
