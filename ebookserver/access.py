"""Who may read or download which title: the one check every reading route calls.

Licences belong to the title (`records.licence`): open-access titles may be read and
downloaded by anyone; a lending title needs a loan and an in-library title the library's own
PCs, which the lending module grants. Until then they are refused here and nowhere else.
A withdrawn title is not offered at all.
"""

from __future__ import annotations

from typing import Any


def may_read(record: dict[str, Any], file: dict[str, Any]) -> bool:
    return not record.get("withdrawn") and record.get("licence") == "open-access"


def may_download(record: dict[str, Any], file: dict[str, Any]) -> bool:
    return not record.get("withdrawn") and record.get("licence") == "open-access"
