"""The other end of the daily push: `ebookserver receiver`, for a regional library (and the tests).

Its own small Flask app and SQLite database. `POST /api/v1/reports` takes one daily report with
`Authorization: Bearer <token>`, checks it against the published schema, and stores each
report id once: the same id again is acknowledged without being counted twice, and for the same
library and date a higher revision replaces the current one. `/` shows the libraries with their
latest figures, `/laporan.csv` exports the current report of every library and day.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import hmac
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, jsonify, render_template, request

from catalog import db, stats
from ebookserver.i18n import LANGUAGES, gettext_for, normalise_language

SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
    report_id    TEXT PRIMARY KEY,
    library_key  TEXT NOT NULL,
    day          TEXT NOT NULL,
    revision     INTEGER NOT NULL,
    document     TEXT NOT NULL,
    received_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS current_reports (
    library_key  TEXT NOT NULL,
    day          TEXT NOT NULL,
    report_id    TEXT NOT NULL REFERENCES reports(report_id),
    revision     INTEGER NOT NULL,
    PRIMARY KEY (library_key, day)
);
"""
CSV_COLUMNS = (
    "npp", "name", "village", "district", "regency", "province", "date", "revision", "provisional",
    "reads", "downloads", "ebook_loans", "print_loans", "print_returns", "new_members",
    "titles", "ebook_titles", "print_titles", "print_copies",
)  # fmt: skip


def open_database(path: Path | str) -> sqlite3.Connection:
    connection = db.connect(path)
    connection.executescript(SCHEMA)
    return connection


def store(connection: sqlite3.Connection, document: dict[str, Any], received_at: str) -> str:
    """Keep a validated report: `stored`, `duplicate` (this id is here already), `replaced` (a
    higher revision of a day), or `superseded` (a higher revision of that day is here already)."""
    key, day, revision = document["library"]["key"], document["period"]["date"], document["revision"]
    with db.transaction(connection):
        if connection.execute("SELECT 1 FROM reports WHERE report_id = ?", (document["report_id"],)).fetchone():
            return "duplicate"
        connection.execute(
            "INSERT INTO reports (report_id, library_key, day, revision, document, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (document["report_id"], key, day, revision, json.dumps(document, ensure_ascii=False), received_at),
        )
        current = connection.execute(
            "SELECT revision FROM current_reports WHERE library_key = ? AND day = ?", (key, day)
        ).fetchone()
        if current is not None and current["revision"] >= revision:
            return "superseded"
        connection.execute(
            "INSERT OR REPLACE INTO current_reports (library_key, day, report_id, revision) VALUES (?, ?, ?, ?)",
            (key, day, document["report_id"], revision),
        )
        return "stored" if current is None else "replaced"


def load_file(connection: sqlite3.Connection, path: Path, received_at: str) -> dict[str, int]:
    """Store the reports of an `export-stats` file (brought on a USB stick): how many of each
    outcome; a report outside the schema is counted as `invalid` and not stored."""
    outcomes: dict[str, int] = {}
    documents = json.loads(path.read_text(encoding="utf-8"))
    for document in documents if isinstance(documents, list) else [documents]:
        try:
            stats.validate(document)
            outcome = store(connection, document, received_at)
        except stats.ReportInvalid:
            outcome = "invalid"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def current_documents(connection: sqlite3.Connection) -> list[dict[str, Any]]:
    """The current report of every library and day, by library then day."""
    rows = connection.execute(
        "SELECT r.document FROM current_reports c JOIN reports r ON r.report_id = c.report_id"
        " ORDER BY c.library_key, c.day"
    ).fetchall()
    return [json.loads(row[0]) for row in rows]


def latest_by_library(connection: sqlite3.Connection) -> list[dict[str, Any]]:
    """Each library's most recent day, with the number of days received."""
    latest: dict[str, dict[str, Any]] = {}
    for document in current_documents(connection):
        entry = latest.setdefault(document["library"]["key"], {"days": 0})
        entry.update(document=document)
        entry["days"] += 1
    return sorted(latest.values(), key=lambda entry: (entry["document"]["library"].get("name") or "").lower())


def csv_row(document: dict[str, Any]) -> list[Any]:
    library, counts = document["library"], document["counts"]
    return [
        *(library.get(field) or "" for field in ("npp", "name", "village", "district", "regency", "province")),
        document["period"]["date"],
        document["revision"],
        int(document["provisional"]),
        counts["reads"],
        counts["downloads"],
        counts.get("ebook_loans", ""),
        counts["print_loans"],
        counts["print_returns"],
        counts["new_members"]["total"],
        *(counts["collection"][field] for field in ("titles", "ebook_titles", "print_titles", "print_copies")),
    ]


def create_receiver_app(database: Path | str, token: str, language: str = "id") -> Flask:
    """The receiver's web app; *token* is the bearer token every sender must present."""
    if not token:
        raise ValueError("the receiver needs a token (--token or EBOOKSERVER_RECEIVER_TOKEN)")
    app = Flask(__name__)
    open_database(database).close()

    def connection() -> sqlite3.Connection:
        if "receiver_db" not in g:
            g.receiver_db = db.connect(database)
        return g.receiver_db

    @app.teardown_appcontext
    def close(_error: BaseException | None) -> None:
        opened = g.pop("receiver_db", None)
        if opened is not None:
            opened.close()

    @app.post("/api/v1/reports")
    def receive():
        offered = request.headers.get("Authorization", "")
        if not hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
            return jsonify(status="unauthorized", error="missing or wrong bearer token"), 401
        document = request.get_json(silent=True)
        if document is None:
            return jsonify(status="invalid", error="the body is not JSON"), 400
        try:
            stats.validate(document)
        except stats.ReportInvalid as error:
            return jsonify(status="invalid", error=str(error)), 422
        now = datetime.datetime.now(datetime.UTC)
        outcome = store(connection(), document, stats.stamp(now))
        return jsonify(status=outcome, report_id=document["report_id"]), 201 if outcome in (
            "stored",
            "replaced",
        ) else 200

    @app.get("/")
    def libraries():
        chosen = normalise_language(request.args.get("lang"), language)
        return render_template(
            "receiver/libraries.html",
            _=gettext_for(chosen),
            language=chosen,
            languages=LANGUAGES,
            libraries=latest_by_library(connection()),
        )

    @app.get("/laporan.csv")
    def export_csv():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        for document in current_documents(connection()):
            writer.writerow(csv_row(document))
        return Response(
            buffer.getvalue(),
            mimetype="text/csv",
            headers={"Content-Disposition": "attachment; filename=laporan-harian.csv"},
        )

    return app


def reports_in(path: Path | str) -> int:
    """How many reports a receiver database holds (for the command's start-up line)."""
    with contextlib.closing(open_database(path)) as connection:
        return connection.execute("SELECT count(*) FROM reports").fetchone()[0]
