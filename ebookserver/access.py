"""Who may read or download which file: the one check every reading route calls.

Open-access files may be read and downloaded by anyone. Licensed files need a loan, which
the lending module will grant; until then they are refused here and nowhere else.
"""

from __future__ import annotations

from typing import Any


def may_read(record: dict[str, Any], file: dict[str, Any]) -> bool:
    return file.get("licence") == "open-access"


def may_download(record: dict[str, Any], file: dict[str, Any]) -> bool:
    return file.get("licence") == "open-access"
