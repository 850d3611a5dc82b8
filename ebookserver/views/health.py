"""`/healthz`: is the database reachable and up to date, and where is the index."""

from __future__ import annotations

import sqlite3

from flask import Blueprint, current_app, jsonify

from catalog import db, records
from ebookserver.database import get_db

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():
    datadir = current_app.config["DATADIR"]
    report = {"status": "ok", "database": {}, "index": {}}
    try:
        connection = get_db()
        version = db.schema_version(connection)
        report["database"] = {
            "ok": version == db.latest_version(),
            "schema_version": version,
            "latest_schema_version": db.latest_version(),
            "records": records.count_records(connection),
        }
    except sqlite3.Error as error:
        report["database"] = {"ok": False, "error": str(error)}
    index_present = datadir.index_dir.is_dir() and any(datadir.index_dir.iterdir())
    report["index"] = {"ok": True, "present": index_present, "path": str(datadir.index_dir)}
    if not report["database"].get("ok"):
        report["status"] = "error"
    return jsonify(report), 200 if report["status"] == "ok" else 503
