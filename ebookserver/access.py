"""Who may read or download which title: the one check every reading route calls.

Licences belong to the title (`records.licence`, see catalog.lending): open-access titles may
be read and downloaded by anyone; a title that needs a loan may be read only by the signed-in
patron (`g.patron`, from the browser's session or, for reading apps, HTTP Basic) whose loan of
it is running at this moment; an in-library title only from the library's own address ranges
(the `library_networks` setting). A licensed title is never downloaded whole, except as a PDF
stamped for its borrower where the library allows that. A withdrawn title is not offered at
all. The answer is worked out once per request and title.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Any

from flask import current_app, g, request

from catalog import lending
from ebookserver.database import get_db

# Why reading is allowed or refused (the reader explains a refusal with it).
OPEN, ON_LOAN, IN_LIBRARY = "open", "on-loan", "in-library"
WITHDRAWN, OUTSIDE_LIBRARY, SIGN_IN, NO_LOAN, LOAN_ENDED = (
    "withdrawn",
    "outside-library",
    "sign-in",
    "no-loan",
    "loan-ended",
)


@dataclasses.dataclass(frozen=True)
class Access:
    allowed: bool
    reason: str
    loan: dict[str, Any] | None = None  # the running loan, or the one that ended


def reading_access(record: dict[str, Any]) -> Access:
    """May whoever sent this request read *record* now, and why (not)."""
    cache = g.setdefault("reading_access", {})
    if record["id"] not in cache:
        cache[record["id"]] = _decide(record)
    return cache[record["id"]]


def _decide(record: dict[str, Any]) -> Access:
    if record.get("withdrawn"):
        return Access(False, WITHDRAWN)
    if lending.in_library_only(record) and not from_the_library():
        return Access(False, OUTSIDE_LIBRARY)
    if not lending.needs_loan(record):
        return Access(True, IN_LIBRARY if lending.in_library_only(record) else OPEN)
    patron = g.get("patron")
    if patron is None:
        return Access(False, SIGN_IN)
    loan = lending.latest_loan(get_db(), record["id"], patron["id"])
    if loan is None:
        return Access(False, NO_LOAN)
    return Access(True, ON_LOAN, loan) if loan["active"] else Access(False, LOAN_ENDED, loan)


def from_the_library() -> bool:
    """Whether the request comes from one of the library's own address ranges."""
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in current_app.config["EBOOKSERVER"].library_networks())


def may_read(record: dict[str, Any], file: dict[str, Any]) -> bool:
    return reading_access(record).allowed


def may_download(record: dict[str, Any], file: dict[str, Any]) -> bool:
    """Only open-access titles are handed out as whole files."""
    return not record.get("withdrawn") and record.get("licence") == "open-access"


def may_download_stamped(record: dict[str, Any], file: dict[str, Any]) -> bool:
    """A borrower may download a lent PDF stamped with their number and due date, when the
    library allows it for the title."""
    return (
        file["format"] == "pdf"
        and reading_access(record).reason == ON_LOAN
        and lending.allows_stamped_download(get_db(), record["id"])
    )
