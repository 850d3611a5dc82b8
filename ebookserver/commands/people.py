"""Commands about people: staff accounts, members and patrons, and the lending desk's loans of
printed copies."""

from __future__ import annotations

import json

import click

from catalog import accounts, db
from catalog.datadir import SETUP_CODE
from catalog.errors import CatalogError
from ebookserver.commands.base import Context, main, pass_context


@main.group()
def user() -> None:
    """Staff accounts: add, list, set a new password."""


@user.command("add")
@click.argument("username")
@click.option("--name", "full_name", default="", help="Full name (default: the user name).")
@click.option(
    "--role", type=click.Choice(accounts.ROLES), default="librarian", show_default=True, help="What the account may do."
)
@click.password_option(help="The password (asked twice when not given).")
@pass_context
def user_add(context: Context, username: str, full_name: str, role: str, password: str) -> None:
    """Add a staff account (the first one may be an admin made here instead of in the browser)."""
    _ = context.gettext
    with context.open_catalogue() as connection:
        try:
            with db.transaction(connection):
                user_id = accounts.create_user(connection, username, full_name, role, password)
                accounts.audit(connection, None, "(shell)", "user.add", f"user:{user_id}", {"username": username})
        except CatalogError as error:
            raise click.ClickException(error.render(context.gettext)) from error
    context.datadir.forget_secret(SETUP_CODE)
    click.echo(_("Account %(username)s created (%(role)s).") % {"username": username, "role": role})


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def user_list(context: Context, as_json: bool) -> None:
    """List staff accounts."""
    with context.open_catalogue() as connection:
        users = [
            {key: row[key] for key in ("id", "username", "full_name", "role", "active", "last_login_at")}
            for row in accounts.list_users(connection)
        ]
    if as_json:
        click.echo(json.dumps(users, ensure_ascii=False, indent=2))
        return
    for row in users:
        state = "" if row["active"] else " (off)"
        click.echo(f"{row['username']}\t{row['role']}\t{row['full_name']}{state}")


@user.command("password")
@click.argument("username")
@click.password_option(help="The new password (asked twice when not given).")
@pass_context
def user_password(context: Context, username: str, password: str) -> None:
    """Set a new password for an account (and end its sessions), e.g. a forgotten admin password."""
    _ = context.gettext
    with context.open_catalogue() as connection:
        found = [row for row in accounts.list_users(connection) if row["username"].lower() == username.lower()]
        if not found:
            raise click.ClickException(_("There is no account named %(username)s.") % {"username": username})
        try:
            with db.transaction(connection):
                accounts.set_password(connection, found[0]["id"], password)
                accounts.audit(connection, None, "(shell)", "user.password", f"user:{found[0]['id']}", None)
        except CatalogError as error:
            raise click.ClickException(error.render(context.gettext)) from error
    click.echo(_("The password of %(username)s was changed.") % {"username": found[0]["username"]})


# --- members and the circulation of printed copies -------------------------------------------


@main.group()
def member() -> None:
    """Members (patrons): register, list, set a PIN."""


@member.command("add")
@click.argument("name")
@click.option("--number", help="Member number (default: generated, e.g. A2026-0001-1).")
@click.option("--birth-year", type=int, help="Year of birth.")
@click.option("--gender", type=click.Choice(["L", "P"], case_sensitive=False), help="L (laki-laki) or P (perempuan).")
@click.option("--category", default="umum", show_default=True, help="Member category: umum, pelajar, anak, ….")
@click.option("--address", help="Address (optional).")
@click.option("--phone", help="Phone number (optional).")
@click.option("--json", "as_json", is_flag=True, help="Print the member as a JSON object.")
@pass_context
def member_add(context: Context, name: str, as_json: bool, **fields: object) -> None:
    """Register a member."""
    from catalog import members

    _ = context.gettext
    with context.open_catalogue() as connection:
        try:
            with db.transaction(connection):
                added = members.register_member(connection, name, **fields)
                accounts.audit(connection, None, "(shell)", "member.add", f"member:{added['id']}", None)
        except CatalogError as error:
            raise click.ClickException(error.render(context.gettext)) from error
    if as_json:
        click.echo(json.dumps(added, ensure_ascii=False, indent=1))
        return
    click.echo(_("Member registered: %(number)s, %(name)s.") % added)


@member.command("list")
@click.argument("query", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of members.")
@pass_context
def member_list(context: Context, query: str | None, as_json: bool) -> None:
    """List members by name, or those whose number or name matches QUERY."""
    from catalog import members

    _ = context.gettext
    with context.open_catalogue() as connection:
        found = members.list_members(connection, query)
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False, indent=1))
        return
    for row in found:
        state = "  " + _("(blocked)") if row["blocked"] else ""
        click.echo(f"{row['number']:<16} {row['category']:<8} {row['name']}{state}")


@member.command("pin")
@click.argument("number")
@pass_context
def member_pin(context: Context, number: str) -> None:
    """Set or reset a member's PIN (asked twice, not shown)."""
    from catalog import members, pins

    _ = context.gettext
    with context.open_catalogue() as connection:
        try:
            found = members.get_member(connection, number)
            pin = click.prompt(_("New PIN (4–8 digits)"), hide_input=True, confirmation_prompt=_("Repeat the PIN"))
            with db.transaction(connection):
                pins.set_pin(connection, found["number"], pin)
                accounts.audit(connection, None, "(shell)", "member.pin", f"member:{found['id']}", None)
        except CatalogError as error:
            raise click.ClickException(error.render(context.gettext)) from error
    click.echo(_("The PIN of %(number)s was set.") % {"number": found["number"]})


@main.group()
def loan() -> None:
    """Lending printed copies: out, in, renew, overdue."""


def _circulation_policy(context: Context):

    return context.settings.circulation_policy()


def _local_date(context: Context, stamp: str) -> str:
    """A stored UTC time as a date in the library's time zone and the configured language."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from babel.dates import format_date

    from ebookserver.i18n import normalise_language

    moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    language = normalise_language(context.settings.language)
    return format_date(moment.astimezone(ZoneInfo(context.settings.timezone)).date(), "long", locale=language)


def _days_late(context: Context, days: int) -> str:
    from ebookserver.i18n import normalise_language, translations

    ngettext = translations(normalise_language(context.settings.language)).ngettext
    return ngettext("%(days)d day late", "%(days)d days late", days) % {"days": days}


def _loan_command(context: Context, as_json: bool, action) -> dict:
    """Run one circulation *action* on a fresh connection; a refusal exits with its message."""
    with context.open_catalogue() as connection:
        try:
            done = action(connection, _circulation_policy(context))
        except CatalogError as error:
            raise click.ClickException(error.render(context.gettext)) from error
    if as_json:
        click.echo(json.dumps(done, ensure_ascii=False, indent=1))
    return done


@loan.command("out")
@click.argument("barcode")
@click.argument("member_number", metavar="MEMBER")
@click.option("--json", "as_json", is_flag=True, help="Print the loan as a JSON object.")
@pass_context
def loan_out(context: Context, barcode: str, member_number: str, as_json: bool) -> None:
    """Lend the copy with BARCODE to the member with number MEMBER."""
    from catalog import circulation

    done = _loan_command(
        context,
        as_json,
        lambda connection, policy: circulation.check_out(connection, barcode, member_number, policy=policy),
    )
    if not as_json:
        click.echo(
            context.gettext("Lent: %(barcode)s “%(title)s” to %(member)s, due %(due)s.")
            % {
                "barcode": done["barcode"],
                "title": done["title"],
                "member": f"{done['member_number']} {done['member_name']}",
                "due": _local_date(context, done["due_at"]),
            }
        )


@loan.command("in")
@click.argument("barcode")
@click.option("--json", "as_json", is_flag=True, help="Print the ended loan as a JSON object.")
@pass_context
def loan_in(context: Context, barcode: str, as_json: bool) -> None:
    """Take back the copy with BARCODE."""
    from catalog import circulation

    done = _loan_command(
        context, as_json, lambda connection, policy: circulation.check_in(connection, barcode, policy=policy)
    )
    if not as_json:
        click.echo(context.gettext("Returned: %(barcode)s “%(title)s”.") % done)
        if done["overdue"]:
            click.echo(context.gettext("Overdue: %(late)s.") % {"late": _days_late(context, done["days_late"])})


@loan.command("renew")
@click.argument("barcode")
@click.option("--json", "as_json", is_flag=True, help="Print the renewed loan as a JSON object.")
@pass_context
def loan_renew(context: Context, barcode: str, as_json: bool) -> None:
    """Renew the loan of the copy with BARCODE."""
    from catalog import circulation

    done = _loan_command(
        context, as_json, lambda connection, policy: circulation.renew(connection, barcode, policy=policy)
    )
    if not as_json:
        click.echo(
            context.gettext("Renewed: %(barcode)s, now due %(due)s.")
            % {"barcode": done["barcode"], "due": _local_date(context, done["due_at"])}
        )


@loan.command("overdue")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of overdue loans.")
@pass_context
def loan_overdue(context: Context, as_json: bool) -> None:
    """List the loans past their due date, the longest overdue first."""
    from catalog import circulation

    late = _loan_command(
        context, as_json, lambda connection, policy: circulation.overdue_loans(connection, policy=policy)
    )
    if as_json:
        return
    _ = context.gettext
    if not late:
        click.echo(_("No loans are overdue."))
    for row in late:
        click.echo(
            f"{row['barcode']:<12} {row['member_number'] or '-':<16} {row['member_name'] or '-'}  "
            + _("due %(due)s (%(late)s): %(title)s")
            % {
                "due": _local_date(context, row["due_at"]),
                "late": _days_late(context, row["days_late"]),
                "title": row["title"],
            }
        )


# --- e-lending: patrons -------------------------------------------------------------------------


@main.group()
def patron() -> None:
    """Patrons (members) who sign in with their number and PIN to borrow e-books."""


@patron.command("add")
@click.argument("number")
@click.option("--name", required=True, help="The member's name.")
@click.option("--pin", required=True, help="The PIN the member signs in with (4 to 8 digits).")
@click.option("--category", default="umum", show_default=True, help="Member category (its loan limits).")
@pass_context
def patron_add(context: Context, number: str, name: str, pin: str, category: str) -> None:
    """Register a member with NUMBER (as on their card) and a PIN, ready to sign in and borrow."""
    from catalog import members, pins

    _ = context.gettext
    with context.open_catalogue() as connection:
        try:
            with db.transaction(connection):
                member = members.register_member(connection, name, number=number, category=category)
                pins.set_pin(connection, member["number"], pin)
                accounts.audit(connection, None, "(shell)", "member.add", f"member:{member['id']}", {"number": number})
        except CatalogError as error:
            raise click.ClickException(error.render(_)) from error
    click.echo(_("%(name)s is now a member, number %(number)s.") % {"name": member["name"], "number": member["number"]})
