"""The monthly report for the programme (`/kelola/statistik/bulanan`): the month's figures on a
page, and the same as an A4 PDF to print, sign and send (catalog/monthly.py counts them)."""

from __future__ import annotations

import datetime

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import format_date, gettext

from catalog import members, monthly
from catalog.i18n import N_
from ebookserver import auth
from ebookserver.database import get_db
from ebookserver.pdf import html_to_pdf

blueprint = Blueprint("monthly", __name__, url_prefix=f"{auth.STAFF_PREFIX}/statistik/bulanan")
GENDER_NAMES = {"L": N_("Male"), "P": N_("Female"), members.UNKNOWN: N_("Not recorded")}
PDF_CSS = """
body { font-family: sans-serif; font-size: 10pt; }
h1 { font-size: 15pt; margin: 0 0 4pt 0; }
h2 { font-size: 11.5pt; margin: 10pt 0 3pt 0; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 0.5pt solid #555; padding: 2pt 4pt; text-align: left; }
td.n, th.n { text-align: right; }
p { margin: 2pt 0; }
"""


def _month() -> monthly.Month:
    """The month in `?bulan=YYYY-MM`; without one, last month (the report is made after it ends)."""
    text = request.args.get("bulan")
    if text is None:
        now = datetime.datetime.now(datetime.UTC)
        return monthly.Month.containing(now, current_app.config["EBOOKSERVER"].timezone).previous
    try:
        return monthly.Month.parse(text)
    except ValueError:
        abort(404)


def _figures(month: monthly.Month) -> dict:
    report = monthly.report(get_db(), month, timezone=current_app.config["EBOOKSERVER"].timezone)
    return {
        "report": report,
        "month_name": format_date(month.first, "MMMM yyyy"),
        "gender_names": GENDER_NAMES,
    }


@blueprint.get("")
def page():
    month = _month()
    return render_template("staff/monthly.html", month=month, **_figures(month))


@blueprint.get("/<text>.pdf")
def pdf(text: str):
    try:
        month = monthly.Month.parse(text)
    except ValueError:
        abort(404)
    figures = _figures(month)
    html = render_template("staff/monthly_pdf.html", month=month, **figures)
    title = gettext("Monthly report %(month)s", month=figures["month_name"])
    response = Response(html_to_pdf(html, css=PDF_CSS, title=title), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="laporan-bulanan-{month}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response
