"""The lending desk: members (register, edit, PIN, block, delete, card) and the circulation
of printed copies (check out and in by barcode, renew, overdue list). A barcode scanner types
the code and Enter, so every form submits on Enter and the next field has the focus."""

from __future__ import annotations

import io
import re
from typing import Any

import barcode
import segno
from barcode.writer import SVGWriter
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from catalog import circulation, db, lending, members, pins
from catalog.errors import CatalogError, MemberNotFound
from catalog.i18n import N_
from ebookserver import forms, i18n
from ebookserver.database import get_db
from ebookserver.views import staff

blueprint = Blueprint("desk", __name__, url_prefix="/kelola")
staff.MENU.extend([("desk.circulation_desk", N_("Lending desk")), ("desk.members_list", N_("Members"))])
PAGE_SIZE = 50


policy = staff.desk_policy


def _member_or_404(member_id: int) -> dict[str, Any]:
    try:
        return members.get_member_by_id(get_db(), member_id)
    except MemberNotFound:
        abort(404)


def _member_form(formdata=None, **data) -> forms.MemberForm:
    form = (
        forms.MemberForm(formdata=formdata, data=data or None)
        if formdata is not None
        else forms.MemberForm(data=data or None)
    )
    form.category.choices = [(row["code"], row["name"]) for row in members.list_categories(get_db())]
    return form


# --- members ------------------------------------------------------------------------------


@blueprint.route("/anggota", methods=["GET"])
def members_list():
    query = request.args.get("q", "").strip()
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    found = members.list_members(get_db(), query or None, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    return render_template(
        "staff/members.html", members=found[:PAGE_SIZE], more=len(found) > PAGE_SIZE, page=page, query=query
    )


@blueprint.route("/anggota/baru", methods=["GET", "POST"])
def member_new():
    form = _member_form(request.form if request.method == "POST" else None, category="umum")
    if form.validate_on_submit():
        connection = get_db()
        try:
            with db.transaction(connection):
                member = members.register_member(
                    connection,
                    form.name.data,
                    number=form.number.data or None,
                    birth_year=form.birth_year.data,
                    gender=form.gender.data or None,
                    address=form.address.data,
                    phone=form.phone.data,
                    category=form.category.data,
                )
                staff.audit("member.add", f"member:{member['id']}", {"number": member["number"]})
        except CatalogError as error:
            form.form_errors.append(staff.message_of(error))
        else:
            flash(_("%(name)s is now a member, number %(number)s.", name=member["name"], number=member["number"]))
            return redirect(url_for("desk.member", member_id=member["id"]))
    return render_template("staff/member_form.html", form=form, member=None)


@blueprint.get("/anggota/<int:member_id>")
def member(member_id: int):
    found = _member_or_404(member_id)
    loans = circulation.member_loans(get_db(), found["number"], include_returned=True, policy=policy())
    return render_template(
        "staff/member.html",
        member=found,
        loans=[loan for loan in loans if not loan["returned_at"]],
        history=[loan for loan in loans if loan["returned_at"]][:20],
        # e-book loans and holds, as the patron sees them on their account page
        shelf=lending.shelf(get_db(), member_id, policy=current_app.config["EBOOKSERVER"].lending_policy()),
        confirm=forms.ConfirmForm(),
        checkout=forms.CheckoutForm(member=found["number"]),
    )


@blueprint.route("/anggota/<int:member_id>/ubah", methods=["GET", "POST"])
def member_edit(member_id: int):
    found = _member_or_404(member_id)
    if request.method == "POST":
        form = _member_form(request.form)
    else:
        form = _member_form(
            **{key: found[key] for key in ("name", "number", "birth_year", "address", "phone")},
            gender=found["gender"] or "",
            category=found["category"],
        )
    if form.validate_on_submit():
        connection = get_db()
        try:
            with db.transaction(connection):
                members.update_member(
                    connection,
                    found["number"],
                    name=form.name.data,
                    new_number=form.number.data or found["number"],
                    birth_year=form.birth_year.data,
                    gender=form.gender.data or None,
                    address=form.address.data,
                    phone=form.phone.data,
                    category=form.category.data,
                )
                staff.audit("member.edit", f"member:{member_id}", None)
        except CatalogError as error:
            form.form_errors.append(staff.message_of(error))
        else:
            flash(_("The member's details were saved."))
            return redirect(url_for("desk.member", member_id=member_id))
    return render_template("staff/member_form.html", form=form, member=found)


@blueprint.route("/anggota/<int:member_id>/pin", methods=["GET", "POST"])
def member_pin(member_id: int):
    found = _member_or_404(member_id)
    form = forms.PinForm()
    if form.validate_on_submit():
        connection = get_db()
        try:
            with db.transaction(connection):
                pins.set_pin(connection, found["number"], form.pin.data)
                staff.audit("member.pin", f"member:{member_id}", None)
        except CatalogError as error:
            form.form_errors.append(staff.message_of(error))
        else:
            flash(_("The PIN was set."))
            return redirect(url_for("desk.member", member_id=member_id))
    return render_template("staff/member_pin.html", form=form, member=found)


@blueprint.post("/anggota/<int:member_id>/blokir")
def member_block(member_id: int):
    found = _member_or_404(member_id)
    if forms.ConfirmForm().validate_on_submit():
        connection = get_db()
        with db.transaction(connection):
            members.set_blocked(connection, found["number"], not found["blocked"])
            staff.audit("member.unblock" if found["blocked"] else "member.block", f"member:{member_id}", None)
        flash(_("The member may borrow again.") if found["blocked"] else _("The member is blocked from borrowing."))
    return redirect(url_for("desk.member", member_id=member_id))


@blueprint.route("/anggota/<int:member_id>/hapus", methods=["GET", "POST"])
def member_delete(member_id: int):
    found = _member_or_404(member_id)
    form = forms.ConfirmForm()
    open_loans = circulation.member_loans(get_db(), found["number"], policy=policy())
    if request.method == "POST" and form.validate_on_submit():
        connection = get_db()
        with db.transaction(connection):
            ended = members.delete_member(connection, found["number"])
            staff.audit("member.delete", f"member:{member_id}", {"number": found["number"], "loans_ended": ended})
        flash(_("The member %(number)s was deleted.", number=found["number"]))
        return redirect(url_for("desk.members_list"))
    return render_template("staff/member_delete.html", member=found, loans=open_loans, form=form)


@blueprint.get("/anggota/<int:member_id>/kartu")
def member_card(member_id: int):
    found = _member_or_404(member_id)
    return render_template(
        "staff/member_card.html", member=found, barcode_svg=barcode_svg(found["number"]), qr_svg=qr_svg(found["number"])
    )


def barcode_svg(value: str) -> Markup:
    """A Code 128 barcode as inline SVG (scanners at the desk read it)."""
    out = io.BytesIO()
    barcode.get("code128", value, writer=SVGWriter()).write(
        out, options={"module_height": 12.0, "write_text": False, "text_distance": 0, "quiet_zone": 2.0}
    )
    svg = out.getvalue().decode("utf-8")
    # Colours as attributes: the Content-Security-Policy blocks style="…", which drew every bar
    # and the background black (an unreadable block on the printed card).
    svg = re.sub(r'style="fill:(\w+);?"', r'fill="\1"', svg)
    return Markup(_scalable(svg[svg.index("<svg") :]))  # noqa: S704 - made here from a validated member number


def qr_svg(value: str) -> Markup:
    out = io.BytesIO()
    segno.make(value, error="m", micro=False).save(out, kind="svg", scale=4, xmldecl=False, svgns=True, title=None)
    return Markup(_scalable(out.getvalue().decode("utf-8")))  # noqa: S704 - made here from a validated member number


def _scalable(svg: str) -> str:
    """Give an SVG a viewBox from its width and height: without one, the card's CSS size clips
    it (the QR code lost its right side) instead of scaling it."""
    size = re.search(r'<svg\b[^>]*?\swidth="([\d.]+)(mm)?"\s+height="([\d.]+)(mm)?"', svg)
    unit = 96 / 25.4 if size[2] else 1  # user units per mm
    width, height = float(size[1]) * unit, float(size[3]) * unit
    return svg.replace("<svg ", f'<svg viewBox="0 0 {width:.2f} {height:.2f}" preserveAspectRatio="none" ', 1)


# --- circulation ----------------------------------------------------------------------------


@blueprint.get("/sirkulasi")
def circulation_desk():
    number = request.args.get("anggota", "").strip()
    member_found, loans = None, []
    if number:
        try:
            member_found = members.get_member(get_db(), number)
            loans = circulation.member_loans(get_db(), member_found["number"], policy=policy())
        except CatalogError as error:
            flash(staff.message_of(error), "error")
    return render_template(
        "staff/circulation.html",
        member=member_found,
        loans=loans,
        checkout=forms.CheckoutForm(member=member_found["number"] if member_found else ""),
        checkin=forms.BarcodeForm(prefix="in"),
        today=circulation.circulation_today(get_db(), policy=policy()),
    )


@blueprint.post("/sirkulasi/pinjam")
def check_out():
    form = forms.CheckoutForm()
    number = form.member.data or ""
    if form.validate_on_submit():
        connection = get_db()
        try:
            with db.transaction(connection):
                loan = circulation.check_out(connection, form.barcode.data, form.member.data, policy=policy())
                staff.audit("loan.out", f"item:{loan['item_id']}", {"member": loan["member_number"]})
        except CatalogError as error:
            flash(staff.message_of(error), "error")
        else:
            flash(
                _("Lent: “%(title)s”, due %(due)s.", title=loan["title"], due=i18n.date_of(loan["due_at"])),
            )
            number = loan["member_number"]
    else:
        flash(_("Type or scan the member number and the book's barcode."), "error")
    return redirect(url_for("desk.circulation_desk", anggota=number) if number else url_for("desk.circulation_desk"))


@blueprint.post("/sirkulasi/kembali")
def check_in():
    form = forms.BarcodeForm(prefix="in")
    if form.validate_on_submit():
        connection = get_db()
        try:
            with db.transaction(connection):
                loan = circulation.check_in(connection, form.barcode.data, policy=policy())
                staff.audit("loan.in", f"item:{loan['item_id']}", {"days_late": loan.get("days_late")})
        except CatalogError as error:
            flash(staff.message_of(error), "error")
        else:
            if loan.get("overdue"):
                flash(
                    _("Returned: “%(title)s”, %(days)s days late.", title=loan["title"], days=loan["days_late"]),
                    "warning",
                )
            else:
                flash(_("Returned: “%(title)s”.", title=loan["title"]))
    return redirect(url_for("desk.circulation_desk"))


@blueprint.post("/sirkulasi/perpanjang")
def renew():
    form = forms.BarcodeForm()
    back = request.form.get("back", "")
    if form.validate_on_submit():
        connection = get_db()
        try:
            with db.transaction(connection):
                loan = circulation.renew(connection, form.barcode.data, policy=policy())
                staff.audit("loan.renew", f"item:{loan['item_id']}", None)
        except CatalogError as error:
            flash(staff.message_of(error), "error")
        else:
            flash(_("Renewed: “%(title)s”, now due %(due)s.", title=loan["title"], due=i18n.date_of(loan["due_at"])))
    target = back if back.startswith("/kelola/") and not back.startswith("//") else url_for("desk.circulation_desk")
    return redirect(target)


@blueprint.get("/sirkulasi/terlambat")
def overdue():
    return render_template("staff/overdue.html", loans=circulation.overdue_loans(get_db(), policy=policy()))
