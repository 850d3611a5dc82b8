"""COUNTER Release 5 metrics and two of its standard views, from the events table.

The metric names follow the COUNTER Code of Practice, Release 5, as far as they fit a library
that never records who did what:

- `Searches_Platform`: every catalogue search (the first result page; paging is not a search).
- `Total_Item_Investigations`: record pages opened, books opened in the reader and downloads (in
  COUNTER every request is also an investigation).
- `Total_Item_Requests`: books opened in the reader and downloads.
- `Unique_Item_Investigations`, `Unique_Item_Requests`, `Unique_Title_Requests`: COUNTER counts
  these once per *user session*. We keep no session or patron identifier with an event, so here
  they count **each record at most once per day** (the library's local day): ten readers of one
  book on one day count once, one reader on three days counts three times. An item is a
  catalogue record (the book, whatever its files), so an item is also a title and
  `Unique_Title_Requests` equals `Unique_Item_Requests`.
- `No_License`: borrowing refused because the library holds no licensed copy of the title.
- `Limit_Exceeded`: borrowing refused because every licensed copy was out (the patron was queued).

Loans, holds, visits and members are not COUNTER metrics; they are in `catalog/stats.py`.

Views: `TR_B1` (Book Requests, per title: Total_Item_Requests and Unique_Title_Requests),
`TR_B2` (Book Access Denied, per title: Limit_Exceeded and No_License) and `PR_P1` (Platform
Usage: Searches_Platform, Total_Item_Requests, Unique_Item_Requests, Unique_Title_Requests), as
JSON shaped like COUNTER_SUSHI and as COUNTER's tabular CSV, with the library's NPP as the
institution ID. Title-level counts below `stats_min_count` are withheld (and said to be, in the
header's Exceptions).
"""

from __future__ import annotations

import csv
import datetime
import io
import sqlite3
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from catalog import accounts, events

SEARCHES_PLATFORM = "Searches_Platform"
TOTAL_ITEM_INVESTIGATIONS = "Total_Item_Investigations"
UNIQUE_ITEM_INVESTIGATIONS = "Unique_Item_Investigations"
TOTAL_ITEM_REQUESTS = "Total_Item_Requests"
UNIQUE_ITEM_REQUESTS = "Unique_Item_Requests"
UNIQUE_TITLE_REQUESTS = "Unique_Title_Requests"
NO_LICENSE = "No_License"
LIMIT_EXCEEDED = "Limit_Exceeded"
METRICS = (
    SEARCHES_PLATFORM,
    TOTAL_ITEM_INVESTIGATIONS,
    UNIQUE_ITEM_INVESTIGATIONS,
    TOTAL_ITEM_REQUESTS,
    UNIQUE_ITEM_REQUESTS,
    UNIQUE_TITLE_REQUESTS,
    NO_LICENSE,
    LIMIT_EXCEEDED,
)
REQUESTS = (events.READ, events.DOWNLOAD)
INVESTIGATIONS = (events.RECORD_VIEW, *REQUESTS)
# Event kinds counted as one metric each, nothing unique about them.
PLAIN = {events.SEARCH: SEARCHES_PLATFORM, events.REFUSAL_NO_LICENCE: NO_LICENSE, events.REFUSAL_LIMIT: LIMIT_EXCEEDED}
PLATFORM = "ebookserver"
TR_B1_METRICS = (TOTAL_ITEM_REQUESTS, UNIQUE_TITLE_REQUESTS)
TR_B2_METRICS = (LIMIT_EXCEEDED, NO_LICENSE)
PR_P1_METRICS = (SEARCHES_PLATFORM, TOTAL_ITEM_REQUESTS, UNIQUE_ITEM_REQUESTS, UNIQUE_TITLE_REQUESTS)
_STAMP = "%Y-%m-%dT%H:%M:%SZ"
# The title-level views: Report_ID -> (Report_Name, metrics).
TITLE_VIEWS = {
    "TR_B1": ("Book Requests (Excluding OA_Gold)", TR_B1_METRICS),
    "TR_B2": ("Book Access Denied", TR_B2_METRICS),
}


def _bounds(first: datetime.date, last: datetime.date, timezone: str) -> tuple[str, str]:
    zone = ZoneInfo(timezone)
    start = datetime.datetime.combine(first, datetime.time.min, zone).astimezone(datetime.UTC)
    end = datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time.min, zone)
    return start.strftime(_STAMP), end.astimezone(datetime.UTC).strftime(_STAMP)


def _local_day(at: str, zone: ZoneInfo) -> datetime.date:
    moment = datetime.datetime.strptime(at, _STAMP).replace(tzinfo=datetime.UTC)
    return moment.astimezone(zone).date()


def _month(day: datetime.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def months(first: datetime.date, last: datetime.date) -> list[str]:
    """The months YYYY-MM from *first* to *last*, in order."""
    result, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        result.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return result


def metrics(
    connection: sqlite3.Connection, first: datetime.date, last: datetime.date, *, timezone: str
) -> dict[str | None, dict[str, dict[str, int]]]:
    """Every metric per record and month for the local days *first*..*last*:
    `{record_id or None: {metric: {"YYYY-MM": n}}}`; None holds what belongs to no record
    (searches)."""
    zone = ZoneInfo(timezone)
    start, end = _bounds(first, last, timezone)
    kinds = (*INVESTIGATIONS, *PLAIN)
    marks = ", ".join("?" for _ in kinds)
    rows = connection.execute(
        f"SELECT at, kind, record_id, n FROM event_counts WHERE at >= ? AND at < ? AND kind IN ({marks})",  # noqa: S608
        (start, end, *kinds),
    )
    result: dict[Any, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    investigated: set[tuple[Any, datetime.date]] = set()
    requested: set[tuple[Any, datetime.date]] = set()
    for row in rows:
        day = _local_day(row["at"], zone)
        month, record, kind, n = _month(day), row["record_id"], row["kind"], row["n"]
        if kind in PLAIN:
            result[record][PLAIN[kind]][month] += n
            continue
        result[record][TOTAL_ITEM_INVESTIGATIONS][month] += n
        if (record, day) not in investigated:
            investigated.add((record, day))
            result[record][UNIQUE_ITEM_INVESTIGATIONS][month] += 1
        if kind in REQUESTS:
            result[record][TOTAL_ITEM_REQUESTS][month] += n
            if (record, day) not in requested:
                requested.add((record, day))
                result[record][UNIQUE_ITEM_REQUESTS][month] += 1
                result[record][UNIQUE_TITLE_REQUESTS][month] += 1
    return {record: {metric: dict(by_month) for metric, by_month in found.items()} for record, found in result.items()}


def totals(
    connection: sqlite3.Connection, first: datetime.date, last: datetime.date, *, timezone: str
) -> dict[str, int]:
    """Each metric summed over the whole period and the whole platform."""
    summed = dict.fromkeys(METRICS, 0)
    for found in metrics(connection, first, last, timezone=timezone).values():
        for metric, by_month in found.items():
            summed[metric] += sum(by_month.values())
    return summed


def _header(
    connection: sqlite3.Connection,
    name: str,
    report_id: str,
    wanted: tuple[str, ...],
    first: datetime.date,
    last: datetime.date,
    now: datetime.datetime,
) -> dict[str, Any]:
    identity = accounts.identity(connection) or {}
    institution_ids = [{"Type": "Proprietary", "Value": f"NPP:{identity['npp']}"}] if identity.get("npp") else []
    return {
        "Report_Name": name,
        "Report_ID": report_id,
        "Release": "5",
        "Institution_Name": identity.get("name") or "",
        "Institution_ID": institution_ids,
        "Report_Filters": [
            {"Name": "Begin_Date", "Value": first.isoformat()},
            {"Name": "End_Date", "Value": last.isoformat()},
            {"Name": "Metric_Type", "Value": "|".join(wanted)},
        ],
        "Created": now.astimezone(datetime.UTC).strftime(_STAMP),
        "Created_By": PLATFORM,
    }


def _performance(by_metric: dict[str, dict[str, int]], wanted: tuple[str, ...], periods: list[str]) -> list[dict]:
    """COUNTER_SUSHI's Performance: one entry per month with the wanted metrics that are not zero."""
    result = []
    for month in periods:
        instances = [
            {"Metric_Type": metric, "Count": by_metric.get(metric, {}).get(month, 0)}
            for metric in wanted
            if by_metric.get(metric, {}).get(month, 0)
        ]
        if instances:
            year, number = (int(part) for part in month.split("-"))
            begin = datetime.date(year, number, 1)
            end = (begin.replace(day=28) + datetime.timedelta(days=4)).replace(day=1) - datetime.timedelta(days=1)
            result.append(
                {"Period": {"Begin_Date": begin.isoformat(), "End_Date": end.isoformat()}, "Instance": instances}
            )
    return result


def tr_b1(connection: sqlite3.Connection, first: datetime.date, last: datetime.date, **options: Any) -> dict[str, Any]:
    """TR_B1, Book Requests: per title, Total_Item_Requests and Unique_Title_Requests by month
    (*options*: `timezone`, `now`, `min_count`, as `_title_report` takes them)."""
    return _title_report(connection, "TR_B1", first, last, **options)


def tr_b2(connection: sqlite3.Connection, first: datetime.date, last: datetime.date, **options: Any) -> dict[str, Any]:
    """TR_B2, Book Access Denied: per title, Limit_Exceeded and No_License by month."""
    return _title_report(connection, "TR_B2", first, last, **options)


def _title_report(
    connection: sqlite3.Connection,
    view: str,
    first: datetime.date,
    last: datetime.date,
    *,
    timezone: str,
    now: datetime.datetime,
    min_count: int = 1,
) -> dict[str, Any]:
    """A title-level view. A title's count for a month below *min_count* is withheld (in a village
    a count of one or two can point at a person); how many were withheld is said in the header's
    Exceptions, so the report never looks complete when it is not."""
    name, wanted = TITLE_VIEWS[view]
    found = metrics(connection, first, last, timezone=timezone)
    periods = months(first, last)
    items, withheld = [], 0
    for record_id in sorted(record for record in found if record is not None):
        shown: dict[str, dict[str, int]] = {}
        for metric in wanted:
            for month, count in found[record_id].get(metric, {}).items():
                if count >= min_count:
                    shown.setdefault(metric, {})[month] = count
                else:
                    withheld += count
        performance = _performance(shown, wanted, periods)
        if performance:
            items.append({**_title_item(connection, record_id), "Performance": performance})
    header = _header(connection, name, view, wanted, first, last, now)
    if withheld:
        header["Exceptions"] = [
            {
                "Code": 0,
                "Severity": "Info",
                "Message": f"Counts below {min_count} per title and month are withheld for privacy",
                "Data": f"withheld={withheld}",
            }
        ]
    return {"Report_Header": header, "Report_Items": items}


def _title_item(connection: sqlite3.Connection, record_id: int) -> dict[str, Any]:
    """COUNTER's description of one title (everything but its Performance)."""
    row = connection.execute("SELECT title, publisher, year FROM records WHERE id = ?", (record_id,)).fetchone()
    isbn = connection.execute(
        "SELECT value FROM identifiers WHERE record_id = ? AND scheme = 'isbn' ORDER BY value LIMIT 1", (record_id,)
    ).fetchone()
    item_ids = [{"Type": "Proprietary", "Value": f"{PLATFORM}:{record_id}"}]
    if isbn:
        item_ids.append({"Type": "ISBN", "Value": isbn[0]})
    return {
        "Title": row["title"] if row else "",
        "Item_ID": item_ids,
        "Platform": PLATFORM,
        "Publisher": (row["publisher"] if row else None) or "",
        "Publisher_ID": [],
        "Data_Type": "Book",
        "Section_Type": "Book",
        "YOP": str(row["year"]) if row and row["year"] else "0001",
        "Access_Type": "Controlled",
        "Access_Method": "Regular",
    }


def pr_p1(
    connection: sqlite3.Connection,
    first: datetime.date,
    last: datetime.date,
    *,
    timezone: str,
    now: datetime.datetime,
) -> dict[str, Any]:
    """PR_P1, Platform Usage: searches and requests over the whole platform by month."""
    found = metrics(connection, first, last, timezone=timezone)
    summed: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for by_metric in found.values():
        for metric, by_month in by_metric.items():
            for month, count in by_month.items():
                summed[metric][month] += count
    performance = _performance(summed, PR_P1_METRICS, months(first, last))
    return {
        "Report_Header": _header(connection, "Platform Usage", "PR_P1", PR_P1_METRICS, first, last, now),
        "Report_Items": [{"Platform": PLATFORM, "Performance": performance}] if performance else [],
    }


def _month_label(month: str) -> str:
    year, number = (int(part) for part in month.split("-"))
    return datetime.date(year, number, 1).strftime("%b-%Y")  # COUNTER's Mmm-yyyy (English, C locale)


def to_csv(report: dict[str, Any], first: datetime.date, last: datetime.date) -> str:
    """A TR_B1 or PR_P1 document as COUNTER's tabular report: the header rows, a blank row, the
    column headings, then one row per item and metric with the period total and each month."""
    header = report["Report_Header"]
    periods = months(first, last)
    wanted = next(f["Value"] for f in header["Report_Filters"] if f["Name"] == "Metric_Type").split("|")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    institution = "; ".join(entry["Value"] for entry in header["Institution_ID"])
    for key, value in (
        ("Report_Name", header["Report_Name"]),
        ("Report_ID", header["Report_ID"]),
        ("Release", header["Release"]),
        ("Institution_Name", header["Institution_Name"]),
        ("Institution_ID", institution),
        ("Metric_Types", "; ".join(wanted)),
        ("Report_Filters", f"Begin_Date={first.isoformat()}; End_Date={last.isoformat()}"),
        ("Report_Attributes", ""),
        ("Exceptions", "; ".join(f"{e['Code']}: {e['Message']} ({e['Data']})" for e in header.get("Exceptions", []))),
        ("Reporting_Period", f"Begin_Date={first.isoformat()}; End_Date={last.isoformat()}"),
        ("Created", header["Created"]),
        ("Created_By", header["Created_By"]),
    ):
        writer.writerow([key, value])
    writer.writerow([])
    labels = [_month_label(month) for month in periods]
    if header["Report_ID"] in TITLE_VIEWS:
        writer.writerow(["Title", "Publisher", "Platform", "Proprietary_ID", "ISBN", "YOP", "Metric_Type",
                         "Reporting_Period_Total", *labels])  # fmt: skip
        for item in report["Report_Items"]:
            ids = {entry["Type"]: entry["Value"] for entry in item["Item_ID"]}
            for metric in wanted:
                by_month = _by_month(item["Performance"], metric)
                if by_month:
                    writer.writerow([item["Title"], item["Publisher"], item["Platform"], ids.get("Proprietary", ""),
                                     ids.get("ISBN", ""), item["YOP"], metric, sum(by_month.values()),
                                     *(by_month.get(month, 0) for month in periods)])  # fmt: skip
    else:
        writer.writerow(["Platform", "Metric_Type", "Reporting_Period_Total", *labels])
        for item in report["Report_Items"]:
            for metric in wanted:
                by_month = _by_month(item["Performance"], metric)
                if by_month:
                    writer.writerow(
                        [item["Platform"], metric, sum(by_month.values()), *(by_month.get(m, 0) for m in periods)]
                    )
    return out.getvalue()


def _by_month(performance: list[dict[str, Any]], metric: str) -> dict[str, int]:
    return {
        entry["Period"]["Begin_Date"][:7]: instance["Count"]
        for entry in performance
        for instance in entry["Instance"]
        if instance["Metric_Type"] == metric
    }
