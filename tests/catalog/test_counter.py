"""COUNTER Release 5 metrics and the TR_B1 and PR_P1 views, against counts worked out by hand."""

from __future__ import annotations

import contextlib
import csv
import datetime
import io

import pytest

from catalog import counter, db
from catalog.datadir import DataDir

FIRST, LAST = datetime.date(2026, 11, 1), datetime.date(2026, 12, 31)  # Asia/Jakarta, UTC+7
NOW = datetime.datetime(2027, 1, 2, 3, tzinfo=datetime.UTC)  # the clock the report says it was made by


@pytest.fixture
def connection(tmp_path):
    datadir = DataDir(tmp_path / "data")
    datadir.create()
    with contextlib.closing(datadir.connect()) as opened:
        with db.transaction(opened):
            opened.execute("INSERT INTO library (id, name, npp) VALUES (1, 'Perpustakaan Desa Sukamaju', '3204012345')")
        yield opened


@pytest.fixture
def usage(connection):
    """Two books and their events; the comments give each one's local (UTC+7) day."""
    with db.transaction(connection):
        padi = connection.execute(
            "INSERT INTO records (title, publisher, year) VALUES ('Menanam Padi', 'Tani Press', 2020)"
        ).lastrowid
        ayam = connection.execute("INSERT INTO records (title) VALUES ('Beternak Ayam')").lastrowid
        connection.execute(
            "INSERT INTO identifiers (record_id, scheme, value) VALUES (?, 'isbn', '9786020000001')", (padi,)
        )
        for at, kind, record in [
            ("2026-10-31T16:59:59Z", "read", padi),  # Oct 31: before the period
            ("2026-11-02T01:00:00Z", "record_view", padi),  # Nov 2
            ("2026-11-02T02:00:00Z", "read", padi),  # Nov 2
            ("2026-11-02T03:00:00Z", "read", padi),  # Nov 2
            ("2026-11-02T16:30:00Z", "download", padi),  # Nov 2, 23:30 local
            ("2026-11-02T17:30:00Z", "read", padi),  # Nov 3, 00:30 local: another day
            ("2026-11-05T01:00:00Z", "record_view", ayam),  # Nov 5
            ("2026-11-05T02:00:00Z", "refusal_limit", ayam),
            ("2026-11-06T02:00:00Z", "refusal_no_licence", padi),
            ("2026-11-07T02:00:00Z", "search", None),
            ("2026-11-07T02:01:00Z", "search", None),
            ("2026-11-07T02:02:00Z", "search", None),
            ("2026-11-07T02:02:00Z", "zero_result_search", None),  # also one of the three searches
            ("2026-11-07T02:03:00Z", "visit", None),  # not a COUNTER metric
            ("2026-12-01T01:00:00Z", "read", ayam),  # Dec 1
            ("2026-12-01T05:00:00Z", "read", ayam),  # Dec 1
            ("2026-12-10T05:00:00Z", "search", None),
            ("2026-12-31T17:00:00Z", "read", ayam),  # Jan 1 local: after the period
        ]:
            connection.execute("INSERT INTO events (at, kind, record_id) VALUES (?, ?, ?)", (at, kind, record))
    return padi, ayam


def test_metrics_per_record_and_month(connection, usage):
    padi, ayam = usage
    found = counter.metrics(connection, FIRST, LAST, timezone="Asia/Jakarta")
    assert found[padi] == {
        "Total_Item_Investigations": {"2026-11": 5},
        "Unique_Item_Investigations": {"2026-11": 2},  # Nov 2 and Nov 3
        "Total_Item_Requests": {"2026-11": 4},
        "Unique_Item_Requests": {"2026-11": 2},
        "Unique_Title_Requests": {"2026-11": 2},
        "No_License": {"2026-11": 1},
    }
    assert found[ayam] == {
        "Total_Item_Investigations": {"2026-11": 1, "2026-12": 2},
        "Unique_Item_Investigations": {"2026-11": 1, "2026-12": 1},
        "Limit_Exceeded": {"2026-11": 1},
        "Total_Item_Requests": {"2026-12": 2},
        "Unique_Item_Requests": {"2026-12": 1},
        "Unique_Title_Requests": {"2026-12": 1},
    }
    assert found[None] == {"Searches_Platform": {"2026-11": 3, "2026-12": 1}}


def test_totals_over_the_period(connection, usage):
    assert counter.totals(connection, FIRST, LAST, timezone="Asia/Jakarta") == {
        "Searches_Platform": 4,
        "Total_Item_Investigations": 8,
        "Unique_Item_Investigations": 4,
        "Total_Item_Requests": 6,
        "Unique_Item_Requests": 3,
        "Unique_Title_Requests": 3,
        "No_License": 1,
        "Limit_Exceeded": 1,
    }
    # the library's day decides: in UTC the download of Nov 2, 23:30 local would still be Nov 2,
    # but the read at 00:30 local on Nov 3 is another day (one more unique request)
    only_nov_2 = counter.totals(
        connection, datetime.date(2026, 11, 2), datetime.date(2026, 11, 2), timezone="Asia/Jakarta"
    )
    assert only_nov_2["Total_Item_Requests"] == 3 and only_nov_2["Unique_Item_Requests"] == 1


def test_pr_p1_as_json_and_csv(connection, usage):
    report = counter.pr_p1(connection, FIRST, LAST, timezone="Asia/Jakarta", now=NOW)
    header = report["Report_Header"]
    assert header["Report_ID"] == "PR_P1" and header["Release"] == "5" and header["Created"] == "2027-01-02T03:00:00Z"
    assert header["Institution_ID"] == [{"Type": "Proprietary", "Value": "NPP:3204012345"}]
    [item] = report["Report_Items"]
    assert item["Performance"] == [
        {
            "Period": {"Begin_Date": "2026-11-01", "End_Date": "2026-11-30"},
            "Instance": [
                {"Metric_Type": "Searches_Platform", "Count": 3},
                {"Metric_Type": "Total_Item_Requests", "Count": 4},
                {"Metric_Type": "Unique_Item_Requests", "Count": 2},
                {"Metric_Type": "Unique_Title_Requests", "Count": 2},
            ],
        },
        {
            "Period": {"Begin_Date": "2026-12-01", "End_Date": "2026-12-31"},
            "Instance": [
                {"Metric_Type": "Searches_Platform", "Count": 1},
                {"Metric_Type": "Total_Item_Requests", "Count": 2},
                {"Metric_Type": "Unique_Item_Requests", "Count": 1},
                {"Metric_Type": "Unique_Title_Requests", "Count": 1},
            ],
        },
    ]
    rows = list(csv.reader(io.StringIO(counter.to_csv(report, FIRST, LAST))))
    assert ["Institution_ID", "NPP:3204012345"] in rows and ["Report_ID", "PR_P1"] in rows
    headings = rows.index([]) + 1
    assert rows[headings] == ["Platform", "Metric_Type", "Reporting_Period_Total", "Nov-2026", "Dec-2026"]
    assert rows[headings + 1 :] == [
        ["ebookserver", "Searches_Platform", "4", "3", "1"],
        ["ebookserver", "Total_Item_Requests", "6", "4", "2"],
        ["ebookserver", "Unique_Item_Requests", "3", "2", "1"],
        ["ebookserver", "Unique_Title_Requests", "3", "2", "1"],
    ]


def test_tr_b1_per_title_as_json_and_csv(connection, usage):
    padi, ayam = usage
    report = counter.tr_b1(connection, FIRST, LAST, timezone="Asia/Jakarta", now=NOW)
    assert report["Report_Header"]["Report_ID"] == "TR_B1"
    first, second = report["Report_Items"]
    assert first["Title"] == "Menanam Padi" and first["YOP"] == "2020" and first["Publisher"] == "Tani Press"
    assert {"Type": "ISBN", "Value": "9786020000001"} in first["Item_ID"]
    assert first["Performance"] == [
        {
            "Period": {"Begin_Date": "2026-11-01", "End_Date": "2026-11-30"},
            "Instance": [
                {"Metric_Type": "Total_Item_Requests", "Count": 4},
                {"Metric_Type": "Unique_Title_Requests", "Count": 2},
            ],
        }
    ]
    assert second["Title"] == "Beternak Ayam" and second["Performance"][0]["Period"]["Begin_Date"] == "2026-12-01"
    rows = list(csv.reader(io.StringIO(counter.to_csv(report, FIRST, LAST))))
    body = rows[rows.index([]) + 2 :]
    assert body == [
        ["Menanam Padi", "Tani Press", "ebookserver", f"ebookserver:{padi}", "9786020000001", "2020",
         "Total_Item_Requests", "4", "4", "0"],
        ["Menanam Padi", "Tani Press", "ebookserver", f"ebookserver:{padi}", "9786020000001", "2020",
         "Unique_Title_Requests", "2", "2", "0"],
        ["Beternak Ayam", "", "ebookserver", f"ebookserver:{ayam}", "", "0001", "Total_Item_Requests", "2", "0", "2"],
        ["Beternak Ayam", "", "ebookserver", f"ebookserver:{ayam}", "", "0001", "Unique_Title_Requests", "1", "0", "1"],
    ]  # fmt: skip


def test_no_npp_means_no_institution_id(connection, usage):
    with db.transaction(connection):
        connection.execute("UPDATE library SET npp = NULL")
    report = counter.pr_p1(connection, FIRST, LAST, timezone="Asia/Jakarta", now=NOW)
    assert report["Report_Header"]["Institution_ID"] == []


def test_the_librarians_periods_and_use_by_class_and_language(connection, usage):
    from catalog import usage as librarian

    now = datetime.datetime(2026, 11, 30, 18, tzinfo=datetime.UTC)  # Dec 1, 01:00 in Jakarta
    start, end = librarian.period_bounds("month", now, "Asia/Jakarta")
    assert (start.isoformat(), end.isoformat()) == ("2026-12-01T00:00:00+07:00", "2027-01-01T00:00:00+07:00")
    day = librarian.period_bounds("day", now, "Asia/Jakarta")
    assert day[1] - day[0] == datetime.timedelta(days=1)
    start, end = librarian.period_bounds("year", now, "Asia/Jakarta")
    with db.transaction(connection):
        connection.execute("UPDATE records SET ddc = '633.1', language = 'id' WHERE title = 'Menanam Padi'")
    assert librarian.use_by(connection, start, end, "ddc") == [("6", 5), ("", 2)]  # reads and downloads (Oct 31 too)
    assert librarian.use_by(connection, start, end, "language") == [("id", 5), ("", 2)]
    assert [entry["title"] for entry in librarian.top_titles(connection, start, end)] == [
        "Menanam Padi",
        "Beternak Ayam",
    ]
    by_month = dict(librarian.series(connection, "year", start, end, librarian.USE_KINDS))
    assert by_month["10"] == 1 and by_month["11"] == 4 and by_month["12"] == 2 and by_month["1"] == 0


def test_tr_b2_lists_the_titles_readers_were_refused(connection, usage):
    padi, ayam = usage
    report = counter.tr_b2(connection, FIRST, LAST, timezone="Asia/Jakarta", now=NOW)
    assert report["Report_Header"]["Report_ID"] == "TR_B2"
    assert report["Report_Header"]["Report_Name"] == "Book Access Denied"
    refused = {item["Title"]: item["Performance"] for item in report["Report_Items"]}
    assert refused == {
        "Menanam Padi": [
            {
                "Period": {"Begin_Date": "2026-11-01", "End_Date": "2026-11-30"},
                "Instance": [{"Metric_Type": "No_License", "Count": 1}],
            }
        ],
        "Beternak Ayam": [
            {
                "Period": {"Begin_Date": "2026-11-01", "End_Date": "2026-11-30"},
                "Instance": [{"Metric_Type": "Limit_Exceeded", "Count": 1}],
            }
        ],
    }
    rows = list(csv.reader(io.StringIO(counter.to_csv(report, FIRST, LAST))))
    assert rows[rows.index([]) + 2 :] == [
        ["Menanam Padi", "Tani Press", "ebookserver", f"ebookserver:{padi}", "9786020000001", "2020",
         "No_License", "1", "1", "0"],
        ["Beternak Ayam", "", "ebookserver", f"ebookserver:{ayam}", "", "0001", "Limit_Exceeded", "1", "1", "0"],
    ]  # fmt: skip


def test_title_counts_below_the_minimum_are_withheld_and_said_to_be(connection, usage):
    report = counter.tr_b1(connection, FIRST, LAST, timezone="Asia/Jakarta", now=NOW, min_count=3)
    [item] = report["Report_Items"]  # only Menanam Padi's 4 requests in November reach 3
    assert item["Title"] == "Menanam Padi"
    assert item["Performance"][0]["Instance"] == [{"Metric_Type": "Total_Item_Requests", "Count": 4}]
    [exception] = report["Report_Header"]["Exceptions"]
    # withheld: Padi's 2 unique in Nov; Ayam's 2 requests and 1 unique in Dec
    assert exception["Data"] == "withheld=5" and "3" in exception["Message"]
    rows = list(csv.reader(io.StringIO(counter.to_csv(report, FIRST, LAST))))
    assert any(row[0] == "Exceptions" and "withheld=5" in row[1] for row in rows if row)
    assert "Exceptions" not in counter.tr_b1(connection, FIRST, LAST, timezone="Asia/Jakarta", now=NOW)["Report_Header"]


def test_folding_old_events_into_daily_counts_changes_no_figure(connection, usage):
    """After `events_keep_days` the raw events go and their daily counts stay: COUNTER, the
    librarian's page and the daily report give the same numbers before and after."""
    from catalog import events, stats
    from catalog import usage as librarian

    def figures():
        start, end = librarian.period_bounds(
            "year", datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC), "Asia/Jakarta"
        )
        return (
            counter.metrics(connection, FIRST, LAST, timezone="Asia/Jakarta"),
            librarian.summary(connection, start, end),
            librarian.top_titles(connection, start, end),
            librarian.use_by(connection, start, end, "ddc"),
            dict(librarian.series(connection, "year", start, end, librarian.USE_KINDS)),
            dict(librarian.series(connection, "month", *librarian.period_bounds(
                "month", datetime.datetime(2026, 11, 15, tzinfo=datetime.UTC), "Asia/Jakarta"), librarian.USE_KINDS)),
            stats.counts(connection, *stats.day_bounds(datetime.date(2026, 11, 2), "Asia/Jakarta"), 2026, 1),
            events.most_read(connection, days=100000),
        )  # fmt: skip

    before = figures()
    # keep 10 days at Dec 15 local: everything up to Dec 4 local is folded; Dec 10 and later stay raw
    folded = events.compact(
        connection, timezone="Asia/Jakarta", keep_days=10, now=datetime.datetime(2026, 12, 15, 5, tzinfo=datetime.UTC)
    )
    assert folded == 16
    assert connection.execute("SELECT min(at) FROM events").fetchone()[0] == "2026-12-10T05:00:00Z"
    # the read at 00:30 local on Nov 3 is kept as Nov 3 (17:00 UTC the day before), not as Nov 2
    assert [
        tuple(row)
        for row in connection.execute(
            "SELECT at, n FROM event_days WHERE kind = 'read' AND at LIKE '2026-11-0%' ORDER BY at"
        )
    ] == [("2026-11-01T17:00:00Z", 2), ("2026-11-02T17:00:00Z", 1)]
    assert figures() == before
    # nothing is folded twice
    assert (
        events.compact(
            connection,
            timezone="Asia/Jakarta",
            keep_days=10,
            now=datetime.datetime(2026, 12, 15, 5, tzinfo=datetime.UTC),
        )
        == 0
    )
    assert figures() == before
    with pytest.raises(ValueError):
        events.compact(connection, timezone="Asia/Jakarta", keep_days=0, now=NOW)
