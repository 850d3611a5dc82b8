"""One connection per request, from the one place connections are made (`catalog.db`)."""

from __future__ import annotations

import sqlite3

from flask import Flask, current_app, g


def get_db() -> sqlite3.Connection:
    if "db" not in g:
        g.db = current_app.config["DATADIR"].connect()
    return g.db


def close_db(_error: BaseException | None = None) -> None:
    connection = g.pop("db", None)
    if connection is not None:
        connection.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(close_db)
