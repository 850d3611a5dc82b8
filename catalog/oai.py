"""OAI-PMH 2.0: one request's arguments in, the response document out.

No Flask here: the `/oai` view and `ebookserver export-oai` both call `respond`. Errors are the
protocol's own (`<error code="…">`, status 200); lists come in pages of `page_size` with a
resumption token that carries the request and the last id sent (keyset paging, so records
added while a harvester walks the list do not shift it).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import json
import re
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from lxml import etree

from catalog import oai_store, records

OAI_NAMESPACE = "http://www.openarchives.org/OAI/2.0/"
OAI_SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
PAGE_SIZE = 100
DEFAULT_ADMIN_EMAIL = "pengelola@perpustakaan.invalid"  # when the oai_admin_email setting is empty
VERBS = ("Identify", "ListMetadataFormats", "ListSets", "ListIdentifiers", "ListRecords", "GetRecord")
# verb: (required arguments, optional arguments); a resumption token excludes everything else.
ARGUMENTS = {
    "Identify": ((), ()),
    "ListMetadataFormats": ((), ("identifier",)),
    "ListSets": ((), ()),
    "ListIdentifiers": (("metadataPrefix",), ("from", "until", "set")),
    "ListRecords": (("metadataPrefix",), ("from", "until", "set")),
    "GetRecord": (("identifier", "metadataPrefix"), ()),
}
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SECOND = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


@dataclasses.dataclass(frozen=True)
class Repository:
    """Who answers: the name, the base URL, the contact, the identifier prefix."""

    name: str
    base_url: str
    admin_email: str
    repository_id: str  # identifiers are `oai:<repository_id>:<record id>`
    record_url: str | None = None  # e.g. `http://host/buku/{id}`; None: no URL in the metadata
    page_size: int = PAGE_SIZE

    def identifier(self, record_id: int) -> str:
        return f"oai:{self.repository_id}:{record_id}"

    def record_id(self, identifier: str) -> int | None:
        prefix = f"oai:{self.repository_id}:"
        number = identifier[len(prefix) :] if identifier.startswith(prefix) else ""
        return int(number) if number.isdigit() and len(number) < 16 else None


class ProtocolError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def repository_id(npp: str | None) -> str:
    """The identifier namespace: the library's NPP when it has one."""
    cleaned = re.sub(r"[^A-Za-z0-9]", "", npp or "")
    return f"perpustakaan.npp{cleaned}" if cleaned else "perpustakaan.ebookserver"


def respond(
    connection: sqlite3.Connection,
    repository: Repository,
    arguments: Sequence[tuple[str, str]],
    now: datetime.datetime,
) -> bytes:
    """The response document to a request with these (name, value) pairs, as UTF-8 XML."""
    root = etree.Element(f"{{{OAI_NAMESPACE}}}OAI-PMH", nsmap={None: OAI_NAMESPACE, "xsi": oai_store.XSI})
    root.set(f"{{{oai_store.XSI}}}schemaLocation", f"{OAI_NAMESPACE} {OAI_SCHEMA}")
    _add(root, "responseDate", _stamp(now))
    request = _add(root, "request", repository.base_url)
    try:
        verb, values = _checked_arguments(arguments)
        body = _VERB_HANDLERS[verb](connection, repository, values)
    except ProtocolError as error:
        body = etree.Element(f"{{{OAI_NAMESPACE}}}error", code=error.code)
        body.text = error.message
    if body.get("code") not in ("badVerb", "badArgument"):  # the request echoed only when it was legal
        for name, value in arguments:
            request.set(name, value)
    root.append(body)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _checked_arguments(arguments: Sequence[tuple[str, str]]) -> tuple[str, dict[str, str]]:
    verbs = [value for name, value in arguments if name == "verb"]
    if len(verbs) != 1 or verbs[0] not in VERBS:
        raise ProtocolError("badVerb", "The verb is missing, repeated or not an OAI-PMH verb.")
    verb = verbs[0]
    values: dict[str, str] = {}
    for name, value in arguments:
        if name == "verb":
            continue
        if name in values:
            raise ProtocolError("badArgument", f"The argument {name} is repeated.")
        values[name] = value
    required, optional = ARGUMENTS[verb]
    allowed = {*required, *optional}
    if "resumptionToken" in values and verb in ("ListIdentifiers", "ListRecords", "ListSets"):
        if len(values) > 1:
            raise ProtocolError("badArgument", "resumptionToken is an exclusive argument.")
        return verb, values
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise ProtocolError("badArgument", f"{verb} does not take the argument(s) {', '.join(unknown)}.")
    missing = [name for name in required if not values.get(name)]
    if missing:
        raise ProtocolError("badArgument", f"{verb} needs the argument(s) {', '.join(missing)}.")
    return verb, values


# --- the verbs ----------------------------------------------------------------------------------


def _identify(connection: sqlite3.Connection, repository: Repository, _values: Mapping[str, str]) -> etree._Element:
    body = etree.Element(f"{{{OAI_NAMESPACE}}}Identify")
    _add(body, "repositoryName", repository.name)
    _add(body, "baseURL", repository.base_url)
    _add(body, "protocolVersion", "2.0")
    _add(body, "adminEmail", repository.admin_email)
    _add(body, "earliestDatestamp", oai_store.earliest_datestamp(connection) or "2000-01-01T00:00:00Z")
    _add(body, "deletedRecord", "persistent")
    _add(body, "granularity", "YYYY-MM-DDThh:mm:ssZ")
    return body


def _list_metadata_formats(
    connection: sqlite3.Connection, repository: Repository, values: Mapping[str, str]
) -> etree._Element:
    if "identifier" in values:
        header = _header_of(connection, repository, values["identifier"])
        if header["deleted"]:
            raise ProtocolError("noMetadataFormats", "The item is deleted: no metadata is kept for it.")
    body = etree.Element(f"{{{OAI_NAMESPACE}}}ListMetadataFormats")
    for prefix, schema, namespace in oai_store.FORMATS:
        element = _add(body, "metadataFormat")
        _add(element, "metadataPrefix", prefix)
        _add(element, "schema", schema)
        _add(element, "metadataNamespace", namespace)
    return body


def _list_sets(connection: sqlite3.Connection, _repository: Repository, values: Mapping[str, str]) -> etree._Element:
    if "resumptionToken" in values:
        raise ProtocolError("badResumptionToken", "ListSets returns every set at once; there is nothing to resume.")
    sets = oai_store.known_sets(connection)
    if not sets:
        raise ProtocolError("noSetHierarchy", "The catalogue is empty, so it has no sets yet.")
    body = etree.Element(f"{{{OAI_NAMESPACE}}}ListSets")
    for spec, name in sets:
        element = _add(body, "set")
        _add(element, "setSpec", spec)
        _add(element, "setName", name)
    return body


def _list_identifiers(connection, repository, values) -> etree._Element:
    return _list(connection, repository, values, "ListIdentifiers")


def _list_records(connection, repository, values) -> etree._Element:
    return _list(connection, repository, values, "ListRecords")


def _list(connection: sqlite3.Connection, repository: Repository, values: Mapping[str, str], verb: str):
    if "resumptionToken" in values:
        query = _read_token(values["resumptionToken"], verb)
    else:
        query = {
            "prefix": values["metadataPrefix"],
            "from": values.get("from"),
            "until": values.get("until"),
            "set": values.get("set"),
            "after": 0,
            "cursor": 0,
        }
        _check_query(connection, query)
    since, until = _bounds(query["from"], query["until"])
    found, total = oai_store.headers(
        connection,
        after_id=query["after"],
        since=since,
        until=until,
        set_spec=query["set"],
        limit=repository.page_size + 1,
    )
    if not found and query["cursor"] == 0:
        raise ProtocolError("noRecordsMatch", "No record matches these arguments.")
    if not found:
        raise ProtocolError("badResumptionToken", "The resumption token points past the end of the list.")
    page, more = found[: repository.page_size], len(found) > repository.page_size
    body = etree.Element(f"{{{OAI_NAMESPACE}}}{verb}")
    for header in page:
        if verb == "ListIdentifiers":
            body.append(_header(connection, repository, header))
        else:
            body.append(_record(connection, repository, header, query["prefix"]))
    if more or query["cursor"]:
        sent = query["cursor"] + len(page)
        token = _add(body, "resumptionToken", _write_token(verb, query, page[-1]["id"], sent) if more else None)
        token.set("completeListSize", str(max(total, sent)))
        token.set("cursor", str(query["cursor"]))
    return body


def _get_record(connection: sqlite3.Connection, repository: Repository, values: Mapping[str, str]) -> etree._Element:
    header = _header_of(connection, repository, values["identifier"])
    if values["metadataPrefix"] not in _prefixes():
        raise ProtocolError("cannotDisseminateFormat", f"No metadata format {values['metadataPrefix']!r} here.")
    body = etree.Element(f"{{{OAI_NAMESPACE}}}GetRecord")
    body.append(_record(connection, repository, header, values["metadataPrefix"]))
    return body


_VERB_HANDLERS = {
    "Identify": _identify,
    "ListMetadataFormats": _list_metadata_formats,
    "ListSets": _list_sets,
    "ListIdentifiers": _list_identifiers,
    "ListRecords": _list_records,
    "GetRecord": _get_record,
}


# --- pieces -------------------------------------------------------------------------------------


def _prefixes() -> tuple[str, ...]:
    return tuple(prefix for prefix, _schema, _namespace in oai_store.FORMATS)


def _header_of(connection: sqlite3.Connection, repository: Repository, identifier: str) -> dict[str, Any]:
    record_id = repository.record_id(identifier)
    header = oai_store.header(connection, record_id) if record_id is not None else None
    if header is None:
        raise ProtocolError("idDoesNotExist", f"There is no item {identifier!r} in this repository.")
    return header


def _header(connection: sqlite3.Connection, repository: Repository, header: dict[str, Any]) -> etree._Element:
    element = etree.Element(f"{{{OAI_NAMESPACE}}}header")
    if header["deleted"]:
        element.set("status", "deleted")
    _add(element, "identifier", repository.identifier(header["id"]))
    _add(element, "datestamp", header["datestamp"])
    for spec in oai_store.header_sets(connection, header["id"]):
        _add(element, "setSpec", spec)
    return element


def _record(
    connection: sqlite3.Connection, repository: Repository, header: dict[str, Any], prefix: str
) -> etree._Element:
    element = etree.Element(f"{{{OAI_NAMESPACE}}}record")
    element.append(_header(connection, repository, header))
    if not header["deleted"]:
        record = records.get_record(connection, header["id"])
        metadata = _add(element, "metadata")
        if prefix == "oai_dc":
            url = repository.record_url.format(id=header["id"]) if repository.record_url else None
            metadata.append(oai_store.dublin_core(record, url))
        else:
            metadata.append(oai_store.marc21(connection, record))
    return element


def _check_query(connection: sqlite3.Connection, query: dict[str, Any]) -> None:
    for name in ("from", "until"):
        if query[name] and not (_DAY.match(query[name]) or _SECOND.match(query[name])):
            raise ProtocolError("badArgument", f"{name} is not a date (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ).")
        if query[name]:
            try:
                _parse(query[name])
            except ValueError:
                raise ProtocolError("badArgument", f"{name} is not a real date.") from None
    if query["from"] and query["until"]:
        if len(query["from"]) != len(query["until"]):
            raise ProtocolError("badArgument", "from and until must have the same granularity.")
        if query["from"] > query["until"]:
            raise ProtocolError("badArgument", "from is later than until.")
    if query["set"] and not oai_store.is_set_spec(query["set"]):
        if not oai_store.known_sets(connection):
            raise ProtocolError("noSetHierarchy", "The catalogue is empty, so it has no sets yet.")
        raise ProtocolError("badArgument", f"{query['set']!r} is not a set of this repository.")
    if query["set"] and not oai_store.known_sets(connection):
        raise ProtocolError("noSetHierarchy", "The catalogue is empty, so it has no sets yet.")
    if query["prefix"] not in _prefixes():
        raise ProtocolError("cannotDisseminateFormat", f"No metadata format {query['prefix']!r} here.")


def _bounds(since: str | None, until: str | None) -> tuple[str | None, str | None]:
    """Day-granularity bounds as whole days in UTC seconds."""
    if since and _DAY.match(since):
        since += "T00:00:00Z"
    if until and _DAY.match(until):
        until += "T23:59:59Z"
    return since, until


def _parse(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, "%Y-%m-%d" if _DAY.match(text) else "%Y-%m-%dT%H:%M:%SZ")


def _write_token(verb: str, query: dict[str, Any], last_id: int, sent: int) -> str:
    page = {**query, "verb": verb, "after": last_id, "cursor": sent}
    return base64.urlsafe_b64encode(json.dumps(page, separators=(",", ":")).encode()).decode().rstrip("=")


def _read_token(token: str, verb: str) -> dict[str, Any]:
    try:
        query = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        fields = ("prefix", "from", "until", "set", "after", "cursor")
        if not isinstance(query, dict) or query.get("verb") != verb or any(name not in query for name in fields):
            raise ValueError(token)
        if not isinstance(query["after"], int) or not isinstance(query["cursor"], int):
            raise ValueError(token)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ProtocolError("badResumptionToken", "The resumption token is not one this repository gave.") from None
    return query


def _stamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _add(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{OAI_NAMESPACE}}}{name}")
    if text is not None:
        element.text = text
    return element
