"""The statistics push as the administrator sees it (`/kelola/statistik/kirim`), and the privacy
notice everyone can read (`/privasi`). The push itself runs only from `ebookserver push-stats`."""

from __future__ import annotations

import csv
import datetime
import io
import json

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import gettext

from catalog import counter, events, outbox, stats, usage
from catalog.i18n import N_
from ebookserver import auth, names
from ebookserver.charts import bar_chart
from ebookserver.database import get_db
from ebookserver.views import staff

blueprint = Blueprint("stats", __name__)
staff.MENU.append(("stats.usage_page", N_("Statistics")))
# The period in the address (Indonesian words) -> catalog/usage.py's period.
PERIODS = {"hari": "day", "bulan": "month", "tahun": "year"}
PERIOD_NAMES = {"hari": N_("Today"), "bulan": N_("This month"), "tahun": N_("This year")}
KIND_NAMES = {
    events.VISIT: N_("Visits (catalogue sessions)"),
    events.SEARCH: N_("Searches"),
    events.ZERO_RESULT_SEARCH: N_("Searches that found nothing"),
    events.RECORD_VIEW: N_("Book pages viewed"),
    events.READ: N_("Books opened in the reader"),
    events.DOWNLOAD: N_("Downloads"),
    events.LOAN: N_("E-book loans"),
    events.RETURN: N_("E-book early returns"),
    events.RENEW: N_("E-book renewals"),
    events.HOLD: N_("Holds placed"),
    events.HOLD_FULFILLED: N_("Holds fulfilled"),
    events.HOLD_EXPIRED: N_("Holds expired"),
    events.REFUSAL_NO_LICENCE: N_("Borrowing refused: no licence"),
    events.REFUSAL_LIMIT: N_("Borrowing refused: all copies out"),
    events.KIOSK_SESSION: N_("Kiosk sessions"),
}


def _period() -> tuple[str, datetime.datetime, datetime.datetime]:
    chosen = request.args.get("periode", "bulan")
    if chosen not in PERIODS:
        abort(404)
    now = datetime.datetime.now(datetime.UTC)
    start, end = usage.period_bounds(PERIODS[chosen], now, current_app.config["EBOOKSERVER"].timezone)
    return chosen, start, end


def _figures(chosen: str, start: datetime.datetime, end: datetime.datetime) -> dict:
    connection = get_db()
    return {
        "summary": usage.summary(connection, start, end),
        "top": usage.top_titles(connection, start, end),
        "missing": usage.zero_result_queries(connection, start, end),
        "by_ddc": usage.use_by(connection, start, end, "ddc"),
        "by_language": usage.use_by(connection, start, end, "language"),
        "uses": usage.series(connection, PERIODS[chosen], start, end, usage.USE_KINDS),
        "visits": usage.series(connection, PERIODS[chosen], start, end, (events.VISIT,)),
    }


def _ddc_name(code: str) -> str:
    return gettext(names.DDC_CLASSES[code]) if code in names.DDC_CLASSES else gettext("No class")


def _language_name(code: str) -> str:
    if not code:
        return gettext("Unknown language")
    return gettext(names.LANGUAGES[code]) if code in names.LANGUAGES else code


@blueprint.get(f"{auth.STAFF_PREFIX}/statistik")
def usage_page():
    chosen, start, end = _period()
    figures = _figures(chosen, start, end)
    every = {"hari": 3, "bulan": 2, "tahun": 1}[chosen]
    return render_template(
        "staff/stats_usage.html",
        chosen=chosen,
        periods=PERIOD_NAMES,
        start=start,
        last=end - datetime.timedelta(days=1),
        kind_names=KIND_NAMES,
        uses_chart=bar_chart(figures["uses"], title=gettext("Books used (opened, downloaded, borrowed)"), every=every),
        visits_chart=bar_chart(figures["visits"], title=gettext("Visits"), every=every),
        ddc_name=_ddc_name,
        language_name=_language_name,
        **figures,
    )


@blueprint.get(f"{auth.STAFF_PREFIX}/statistik/unduh.csv")
def usage_csv():
    chosen, start, end = _period()
    figures = _figures(chosen, start, end)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([gettext("Section"), gettext("What"), gettext("Count")])
    writer.writerow(
        [gettext("Period"), f"{start.date().isoformat()} – {(end - datetime.timedelta(days=1)).date().isoformat()}", ""]
    )
    for kind, count in figures["summary"].items():
        writer.writerow([gettext("Totals"), gettext(KIND_NAMES.get(kind, kind)), count])
    for entry in figures["top"]:
        writer.writerow([gettext("Top titles"), entry["title"], entry["uses"]])
    for entry in figures["missing"]:
        writer.writerow([gettext("Searches that found nothing"), entry["query"], entry["searches"]])
    for code, count in figures["by_ddc"]:
        writer.writerow([gettext("Use by DDC class"), _ddc_name(code), count])
    for code, count in figures["by_language"]:
        writer.writerow([gettext("Use by language"), _language_name(code), count])
    return _download(out.getvalue(), f"statistik-{chosen}-{start.date().isoformat()}.csv", "text/csv")


@blueprint.get(f"{auth.STAFF_PREFIX}/statistik/counter/<view>.<form>")
def counter_view(view: str, form: str):
    if view not in (*counter.TITLE_VIEWS, "PR_P1") or form not in ("json", "csv"):
        abort(404)
    _chosen, start, end = _period()
    first, last = start.date(), (end - datetime.timedelta(days=1)).date()
    settings = current_app.config["EBOOKSERVER"]
    when = {"timezone": settings.timezone, "now": datetime.datetime.now(datetime.UTC)}
    if view == "PR_P1":
        report = counter.pr_p1(get_db(), first, last, **when)
    else:
        build = counter.tr_b1 if view == "TR_B1" else counter.tr_b2
        report = build(get_db(), first, last, min_count=settings.stats_min_count, **when)
    name = f"{view}-{first.isoformat()}-{last.isoformat()}.{form}"
    if form == "json":
        return _download(json.dumps(report, ensure_ascii=False, indent=2), name, "application/json")
    return _download(counter.to_csv(report, first, last), name, "text/csv")


def _download(body: str, name: str, mimetype: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


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
        keep_days=settings.events_keep_days,
        sends=bool(settings.upstream_url),
        not_counted=stats.NOT_YET_COUNTED,
    )
