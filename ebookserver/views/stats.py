"""The statistics push as the administrator sees it (`/kelola/statistik/kirim`), and the privacy
notice everyone can read (`/privasi`). The push itself runs only from `ebookserver push-stats`."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_babel import gettext

from catalog import outbox, stats
from ebookserver import auth
from ebookserver.database import get_db

blueprint = Blueprint("stats", __name__)


@blueprint.get(f"{auth.STAFF_PREFIX}/statistik/kirim")
@auth.admin_only
def push_status():
    settings = current_app.config["EBOOKSERVER"]
    connection = get_db()
    return render_template(
        "staff/stats_push.html",
        status=outbox.status(connection),
        waiting=outbox.waiting(connection)[:50],
        upstream_url=settings.upstream_url,
        token_set=bool(settings.upstream_token),
        describe=lambda failure: outbox.describe(failure, gettext),
    )


@blueprint.get("/privasi")
def privacy():
    settings = current_app.config["EBOOKSERVER"]
    return render_template(
        "privacy.html",
        min_count=settings.stats_min_count,
        sends=bool(settings.upstream_url),
        not_counted=stats.NOT_YET_COUNTED,
    )
