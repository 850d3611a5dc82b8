"""`/healthz`: is the database reachable and up to date, where is the index, how much disk is free."""

from __future__ import annotations

import sqlite3

from flask import Blueprint, current_app, jsonify

from catalog import db, records
from ebookserver.database import get_db
from ebookserver.doctor import disk_space

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
    index = current_app.config["SEARCH_INDEX"]
    meta = index.meta()
    report["index"] = {
        "ok": bool(meta) and meta.get("records") == report["database"].get("records"),
        "check_at_start": current_app.config.get("INDEX_CHECK"),
        "records": meta.get("records"),
        "schema_version": meta.get("schema_version"),
    }  # (no file system paths: anyone on the network may ask; `ebookserver doctor` shows them)
    try:
        report["disk"] = disk_space(datadir.root)  # ok: at least 2 GB and 10% free
    except OSError as error:
        report["disk"] = {"ok": False, "error": str(error)}
    if not report["database"].get("ok"):
        report["status"] = "error"
    return jsonify(report), 200 if report["status"] == "ok" else 503
