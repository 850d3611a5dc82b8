"""The `ebookserver` command: every operation a sysadmin or a script needs."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

import click

from catalog import accounts, db, printcat, records
from catalog import search as search_engine
from catalog.datadir import SETUP_CODE, DataDir, new_setup_code
from catalog.errors import CatalogError
from catalog.ingest import Importer, ImportOutcome, expand_paths
from ebookserver.i18n import both_languages, gettext_for
from ebookserver.settings import SECRET_SETTINGS, Settings, SettingsError, example_config, load_settings


class Context:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.datadir = DataDir(settings.data_dir)
        self.gettext = gettext_for(settings.language)

    def open_catalogue(self):
        self.datadir.create()
        return contextlib.closing(self.datadir.connect())


pass_context = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="EBOOKSERVER_DATA_DIR",
    help="Data directory (default ./data; env EBOOKSERVER_DATA_DIR).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="EBOOKSERVER_CONFIG",
    help="TOML config file (env EBOOKSERVER_CONFIG).",
)
@click.pass_context
def main(click_context: click.Context, data_dir: Path | None, config_file: Path | None) -> None:
    """ebookserver: catalogue, full-text search and e-lending for village libraries."""
    try:
        settings = load_settings(config_file, overrides={"data_dir": data_dir})
    except SettingsError as error:
        raise click.UsageError(str(error)) from error
    click_context.obj = Context(settings)


@main.command()
@pass_context
def init(context: Context) -> None:
    """Create the data directory and database (or upgrade an existing one)."""
    _ = context.gettext
    applied = context.datadir.create()
    click.echo(_("Data directory ready: %(path)s") % {"path": context.datadir.root})
    for name in applied:
        click.echo(_("  applied migration %(name)s") % {"name": name})


@main.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per file.")
@pass_context
def import_(context: Context, paths: tuple[Path, ...], as_json: bool) -> None:
    """Import EPUB and PDF files, and folders of them (recursively)."""
    _ = context.gettext
    context.datadir.create()
    index = search_engine.open_index(context.datadir)
    importer = Importer(context.datadir, context.settings.limits(), context.settings.pool(), index)
    show_progress = sys.stderr.isatty()
    total = sum(1 for _path in expand_paths(paths)) if show_progress else 0
    with (
        click.progressbar(length=total, label=_("Importing"), file=sys.stderr, show_pos=True)
        if show_progress
        else contextlib.nullcontext() as bar
    ):

        def on_outcome(outcome: ImportOutcome) -> None:
            if as_json:
                click.echo(json.dumps(_outcome_json(outcome, context.settings.language), ensure_ascii=False))
            if bar is not None:
                bar.update(1)

        outcomes = importer.run(paths, on_outcome)
    refused = [outcome for outcome in outcomes if outcome.status == "refused"]
    summary = _("%(imported)d imported, %(duplicate)d already present, %(refused)d refused.") % {
        "imported": sum(outcome.status == "imported" for outcome in outcomes),
        "duplicate": sum(outcome.status == "duplicate" for outcome in outcomes),
        "refused": len(refused),
    }
    out = sys.stderr if as_json else sys.stdout
    for outcome in refused:
        click.echo(_("Refused: %(path)s") % {"path": outcome.path}, file=out)
        click.echo("  " + both_languages(outcome.error.render, context.settings.language), file=out)
    click.echo(summary, file=out)
    if importer.index_problem is not None:
        click.echo(both_languages(importer.index_problem.render, context.settings.language), file=sys.stderr)
    if refused or importer.index_problem is not None:
        sys.exit(1)


def _outcome_json(outcome: ImportOutcome, language: str) -> dict:
    return {
        "path": str(outcome.path),
        "status": outcome.status,
        "id": outcome.record_id,
        "sha256": outcome.sha256,
        "reason": outcome.error.render(gettext_for(language)) if outcome.error else None,
        "reason_en": outcome.error.render() if outcome.error else None,
        "reason_code": outcome.reason_code,
    }


@main.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of records.")
@pass_context
def list_(context: Context, as_json: bool) -> None:
    """List the records in the catalogue."""
    with context.open_catalogue() as connection:
        found = records.list_records(connection)
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False, indent=1))
        return
    for record in found:
        authors = "; ".join(record["authors"])
        click.echo(
            f"{record['id']:>6}  {record['format'] or '-':<4}  {record['title']}" + (f" — {authors}" if authors else "")
        )


@main.command()
@click.argument("record_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the record as a JSON object.")
@pass_context
def show(context: Context, record_id: int, as_json: bool) -> None:
    """Show one record."""
    _ = context.gettext
    with context.open_catalogue() as connection:
        try:
            record = records.get_record(connection, record_id)
        except CatalogError as error:
            raise click.ClickException(error.render(context.gettext)) from error
    if as_json:
        click.echo(json.dumps(record, ensure_ascii=False, indent=1))
        return
    labels = {
        "title": _("Title"),
        "subtitle": _("Subtitle"),
        "authors": _("Authors"),
        "publisher": _("Publisher"),
        "year": _("Year"),
        "language": _("Language"),
        "identifiers": _("Identifiers"),
        "subjects": _("Subjects"),
        "format": _("Format"),
        "pages": _("Pages"),
        "has_text": _("Has text"),
        "sha256": "SHA-256",
    }
    for key, label in labels.items():
        value = record[key]
        if isinstance(value, list):
            value = "; ".join(value)
        elif isinstance(value, dict):
            value = ", ".join(f"{scheme}: {identifier}" for scheme, identifier in value.items())
        elif isinstance(value, bool):
            value = _("yes") if value else _("no")
        if value not in (None, ""):
            click.echo(f"{label}: {value}")


@main.command()
@click.argument("query")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (the same as /api/v1/search).")
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True, help="Books per page.")
@click.option("--page", type=click.IntRange(1), default=1, show_default=True, help="Page of results.")
@click.option(
    "--sort", type=click.Choice(sorted(search_engine.service.SORTS)), default="relevance", help="Order of results."
)
@pass_context
def search(context: Context, query: str, as_json: bool, limit: int, page: int, sort: str) -> None:
    """Search the catalogue and the text inside every book."""
    _ = context.gettext
    with context.open_catalogue() as connection:
        index = search_engine.open_index(context.datadir)
        search_engine.ensure_index(index, connection)
        result = search_engine.search(
            index, connection, search_engine.SearchRequest(query, page=page, page_size=limit, sort=sort)
        )
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=1))
        return
    click.echo(_("%(total)d books found.") % {"total": result["total"]})
    if result["suggestion"]:
        click.echo(_("Did you mean: %(suggestion)s?") % {"suggestion": result["suggestion"]})
    for hit in result["hits"]:
        authors = "; ".join(hit["authors"])
        click.echo(f"\n[{hit['id']}] {hit['title']}" + (f" — {authors}" if authors else ""))
        for found in hit["snippets"]:
            where = (
                _("p. %(page)d") % {"page": found["page"]}
                if "page" in found
                else _("ch. %(chapter)d") % {"chapter": found["chapter"]}
            )
            click.echo(f"    {where}: {found['text']}")
        if hit["more_matches"]:
            click.echo("    " + _("and %(count)d more places in this book") % {"count": hit["more_matches"]})


@main.command()
@pass_context
def reindex(context: Context) -> None:
    """Rebuild the search index from the catalogue while searches continue."""
    with context.open_catalogue() as connection:
        count = search_engine.rebuild_index(search_engine.open_index(context.datadir), connection)
    click.echo(context.gettext("Search index rebuilt: %(count)d books.") % {"count": count})


@main.command()
@click.option("--host", help="Address to listen on (setting: host).")
@click.option("--port", type=int, help="Port to listen on (setting: port).")
@pass_context
def serve(context: Context, host: str | None, port: int | None) -> None:
    """Run the web server (waitress), in `workers` processes sharing one port."""
    import waitress

    from ebookserver.app import create_app

    given = {name: value for name, value in (("host", host), ("port", port)) if value is not None}
    settings = Settings({**context.settings.values, **given})
    workers = settings.workers if settings.workers > 0 else os.cpu_count() or 1
    if workers == 1:
        app = create_app(settings)
    click.echo(
        context.gettext("Serving %(name)s on http://%(host)s:%(port)s/")
        % {"name": settings.library_name, "host": settings.host, "port": settings.port}
    )
    if workers == 1:
        waitress.serve(app, host=settings.host, port=settings.port, threads=settings.threads, ident="ebookserver")
        return
    _serve_in_processes(settings, workers)


def _serve_in_processes(settings: Settings, workers: int) -> None:
    """Pre-fork serving: the port is bound once, here, before any thread, database or index is
    opened; each worker process then builds the application itself and runs waitress on the
    shared socket (the kernel hands each new connection to one of them). A worker that dies
    is started again; SIGTERM or SIGINT stops them all."""
    import signal
    import socket
    import time

    import waitress

    from ebookserver.app import create_app

    family, _type, _proto, _name, address = socket.getaddrinfo(
        settings.host, settings.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    listener = socket.create_server(address, family=family, backlog=1024)
    sys.stdout.flush()
    sys.stderr.flush()

    def start(number: int) -> int:
        pid = os.fork()
        if pid:
            return pid
        exit_code = 0
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            app = create_app(settings)
            waitress.serve(app, sockets=[listener], threads=settings.threads, ident="ebookserver")
        except KeyboardInterrupt:
            pass
        except BaseException:  # noqa: BLE001 - reported, then this worker ends and is restarted
            import traceback

            traceback.print_exc()
            exit_code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(exit_code)
        return 0  # not reached

    stopping = False

    def stop(signum, _frame) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    children: dict[int, tuple[int, float]] = {}  # pid -> (worker number, started at)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for number in range(workers):
        children[start(number)] = (number, time.monotonic())
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        number, started = children.pop(pid, (None, 0.0))
        if number is None or stopping:
            continue
        click.echo(f"ebookserver: worker {number} (pid {pid}) ended with status {status}; starting it again", err=True)
        if time.monotonic() - started < 5:
            time.sleep(1)  # a worker that fails at once is not restarted in a tight loop
        if not stopping:
            children[start(number)] = (number, time.monotonic())
    listener.close()


@main.command()
@click.option("--example", is_flag=True, help="Print a config file with every setting and its help text.")
@pass_context
def config(context: Context, example: bool) -> None:
    """Print the effective settings."""
    if example:
        click.echo(example_config())
        return
    for name, value in context.settings.values.items():
        if name in SECRET_SETTINGS and value:
            value = "(set, not shown)"
        click.echo(f"{name} = {json.dumps(str(value) if isinstance(value, Path) else value)}")


@main.command("setup-code")
@pass_context
def setup_code(context: Context) -> None:
    """Print the code that first-run setup in the browser asks for."""
    _ = context.gettext
    with context.open_catalogue() as connection:
        if accounts.has_users(connection):
            raise click.ClickException(_("This library has already been set up."))
    code = context.datadir.secret(SETUP_CODE, new_setup_code)
    click.echo(_("Setup code: %(code)s (open /kelola/siapkan in a browser)") % {"code": code})


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


# --- the print catalogue --------------------------------------------------------------------


@main.group()
def catalogue() -> None:
    """The print catalogue: import from MARC, SLiMS or INLISLite, export MARCXML, print labels."""


@catalogue.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "layout",
    type=click.Choice(printcat.FORMATS),
    default="auto",
    show_default=True,
    help="Layout of the file (auto: recognised from its first bytes or header row).",
)
@click.option("--dry-run", is_flag=True, help="Only report what the import would do; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as a JSON object.")
@pass_context
def catalogue_import(context: Context, file: Path, layout: str, dry_run: bool, as_json: bool) -> None:
    """Import printed books from a MARC21, MARCXML, SLiMS or INLISLite file: all of it, or nothing."""
    _ = context.gettext
    parsed = printcat.read_print_file(file.read_bytes(), layout)
    with context.open_catalogue() as connection:
        report = printcat.import_records(connection, parsed, dry_run=dry_run or bool(parsed.errors))
        if report.committed:
            index = search_engine.open_index(context.datadir)
            try:
                search_engine.index_records(index, connection, report.record_ids)
                search_engine.ensure_index(index, connection)
            finally:
                index.close()
    if as_json:
        click.echo(json.dumps(report.as_dict(context.gettext), ensure_ascii=False, indent=1))
    else:
        for problem in report.problems:
            click.echo(problem.render(context.gettext))
        if report.dry_run:
            click.echo(_("Dry run: nothing was written."))
        click.echo(
            _(
                "%(new)d new records, %(merged)d merged into records already in the catalogue, "
                "%(items)d new copies, %(skipped)d copies skipped, %(errors)d errors."
            )
            % {
                "new": report.new_records,
                "merged": report.merged_records,
                "items": report.new_items,
                "skipped": report.skipped_items,
                "errors": len(report.errors),
            }
        )
    if report.errors:
        click.echo(_("Nothing was imported: fix the errors above and import the file again."), err=True)
        sys.exit(1)


@catalogue.command("export")
@click.argument("record_ids", nargs=-1, type=int)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file instead of standard output."
)
@pass_context
def catalogue_export(context: Context, record_ids: tuple[int, ...], out: Path | None) -> None:
    """Export the catalogue (or the records given by number) as MARCXML."""
    with context.open_catalogue() as connection:
        try:
            document = printcat.export_marcxml(connection, record_ids or None)
        except CatalogError as error:
            raise click.ClickException(error.render(context.gettext)) from error
    if out is None:
        click.echo(document.decode("utf-8"), nl=False)
    else:
        out.write_bytes(document)


@catalogue.command("labels")
@click.argument("item_ids", nargs=-1, required=True, type=int)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The PDF file to write.")
@pass_context
def catalogue_labels(context: Context, item_ids: tuple[int, ...], out: Path) -> None:
    """Make an A4 PDF of spine and barcode labels for the printed copies given by number."""
    with context.open_catalogue() as connection:
        try:
            pdf = printcat.label_sheet(connection, item_ids, library_name=context.settings.library_name)
        except CatalogError as error:
            raise click.ClickException(error.render(context.gettext)) from error
    out.write_bytes(pdf)
    click.echo(context.gettext("%(count)d labels written to %(path)s") % {"count": len(item_ids), "path": out})


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


# --- backup, restore and health ---------------------------------------------------------------


@main.command()
@click.argument("destination", type=click.Path(file_okay=False, path_type=Path))
@click.option("--keep", type=click.IntRange(1), help="Snapshots to keep (setting: backup_keep).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as a JSON object.")
@pass_context
def backup(context: Context, destination: Path, keep: int | None, as_json: bool) -> None:
    """Back up the data directory into DESTINATION while the server runs."""
    from catalog import backup as backups

    _ = context.gettext
    try:
        report = backups.backup(context.datadir, destination, keep=keep or context.settings.backup_keep)
    except CatalogError as error:
        raise click.ClickException(error.render(_)) from error
    for warning in report.warnings:
        click.echo(warning.render(_), err=True)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=1))
        return
    click.echo(
        _("Backup %(snapshot)s: %(records)d records, %(files)d files (%(copied)d new, %(megabytes).1f MB copied).")
        % {
            "snapshot": report.snapshot,
            "records": report.records,
            "files": report.files,
            "copied": report.copied,
            "megabytes": report.copied_bytes / 1024 / 1024,
        }
    )
    if report.removed:
        click.echo(_("Older snapshots deleted: %(names)s") % {"names": ", ".join(report.removed)})


@main.command()
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as a JSON object.")
@pass_context
def restore(context: Context, source: Path, as_json: bool) -> None:
    """Restore a backup (SOURCE: a backup folder or one snapshot in it) into an empty data directory."""
    import os

    from catalog import backup as backups

    _ = context.gettext
    root = context.datadir.root
    owner = None
    if os.geteuid() == 0:  # root restoring for the server: the files belong to the data directory's owner
        existing = root if root.exists() else root.parent
        owner = (existing.stat().st_uid, existing.stat().st_gid)
    try:
        report = backups.restore(source, context.datadir, owner=owner)
    except CatalogError as error:
        raise click.ClickException(error.render(_)) from error
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=1))
        return
    click.echo(
        _("Restored %(snapshot)s into %(path)s: %(records)d records, %(files)d files, every checksum correct.")
        % {"snapshot": report.snapshot.name, "path": root, "records": report.records, "files": report.files}
    )
    click.echo(_("The search index is rebuilt when the server starts (or run: ebookserver reindex)."))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the findings as a JSON array.")
@pass_context
def doctor(context: Context, as_json: bool) -> None:
    """Check configuration, permissions, disk, database, index, clock and upstream; advise in plain words."""
    from ebookserver import doctor as checks

    config_file = click.get_current_context().find_root().params.get("config_file")
    findings = checks.examine(context.settings, config_file)
    if as_json:
        click.echo(json.dumps([finding.as_dict(context.gettext) for finding in findings], ensure_ascii=False, indent=1))
    else:
        marks = {"ok": "[ OK ]", "warning": "[ !! ]", "problem": "[ XX ]", "skipped": "[ -- ]"}
        for finding in findings:
            click.echo(f"{marks[finding.status]} {finding.render(context.gettext)}")
            if finding.advice:
                click.echo("        → " + both_languages(finding.render_advice, context.settings.language))
    if any(finding.status == "problem" for finding in findings):
        sys.exit(1)


# --- e-lending: patrons and licences ---------------------------------------------------------


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


@main.group()
def licence() -> None:
    """How each e-book may be used: open access, or lent in a number of copies."""


@licence.command("set")
@click.argument("record_id", type=int)
@click.option("--open", "open_access", is_flag=True, help="Open access: anyone may read and download it.")
@click.option("--copies", type=click.IntRange(1, 1000), help="Lend it: how many patrons may borrow it at once.")
@click.option("--loan-days", type=click.IntRange(1, 365), help="Days a loan lasts (default: the loan_days setting).")
@click.option("--in-library-only", is_flag=True, help="Readable only from the library's own PCs (library_networks).")
@click.option(
    "--stamped-download", is_flag=True, help="With --copies: borrowers may download the PDF stamped with their number."
)
@pass_context
def licence_set(
    context: Context,
    record_id: int,
    open_access: bool,
    copies: int | None,
    loan_days: int | None,
    in_library_only: bool,
    stamped_download: bool,
) -> None:
    """Set the licence of the book RECORD_ID: --open, or --copies N [--loan-days D] [--in-library-only]."""
    from catalog import lending

    _ = context.gettext
    if open_access == (copies is not None or in_library_only):
        raise click.UsageError(
            _("Give either --open or --copies N (with --loan-days D and --in-library-only if wanted).")
        )
    if (loan_days is not None or stamped_download) and copies is None:
        raise click.UsageError(_("--loan-days and --stamped-download need --copies."))
    with context.open_catalogue() as connection:
        try:
            with db.transaction(connection):
                result = lending.set_licence(
                    connection,
                    record_id,
                    open_access=open_access,
                    copies=copies,
                    loan_days=loan_days,
                    in_library_only=in_library_only,
                    stamped_download=stamped_download,
                )
                accounts.audit(connection, None, "(shell)", "record.licence", f"record:{record_id}", result)
        except CatalogError as error:
            raise click.ClickException(error.render(_)) from error
    if result["licence"] == "open-access":
        click.echo(_("Book %(id)s is open access.") % {"id": record_id})
    elif result["copies"] is None:
        click.echo(_("Book %(id)s can be read in the library only, without a loan.") % {"id": record_id})
    else:
        terms = {"id": record_id, "copies": result["copies"], "days": result["loan_days"] or context.settings.loan_days}
        if result["licence"] == "in-library":
            click.echo(_("Book %(id)s is lent in the library only: %(copies)s copies, %(days)s days a loan.") % terms)
        else:
            click.echo(_("Book %(id)s is lent: %(copies)s copies, %(days)s days a loan.") % terms)


# --- statistics upstream and harvesting (the statistics issue) ----------------------------------


def _utc_now():
    import datetime

    return datetime.datetime.now(datetime.UTC)


@main.command("push-stats")
@click.option("--include-today", is_flag=True, help="Also send today so far, as a provisional revision.")
@click.option(
    "--recount",
    "recount",
    multiple=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Count this completed day again and send it as a new revision (repeatable).",
)
@pass_context
def push_stats(context: Context, include_today: bool, recount: tuple) -> None:
    """Send every completed day's usage report not yet acknowledged to upstream_url."""
    from catalog import events, outbox

    _ = context.gettext
    settings = context.settings
    with context.open_catalogue() as connection:
        queued = outbox.queue_days(
            connection,
            timezone=settings.timezone,
            now=_utc_now(),
            min_count=settings.stats_min_count,
            include_today=include_today,
            recount=tuple(moment.date() for moment in recount),
        )
        if accounts.identity(connection) is None:
            raise click.ClickException(
                _("The library has no name yet: finish first-run setup (/kelola/siapkan) before sending statistics.")
            )
        click.echo(_("Reports added to the outbox: %(count)s") % {"count": len(queued)})
        folded = events.compact(
            connection, timezone=settings.timezone, keep_days=settings.events_keep_days, now=_utc_now()
        )
        if folded:
            click.echo(
                _("Usage events older than %(days)s days folded into daily counts: %(count)s")
                % {"days": settings.events_keep_days, "count": folded}
            )
        if not settings.upstream_url:
            waiting = len(outbox.waiting(connection))
            click.echo(_("upstream_url is not set: %(count)s reports wait in the outbox.") % {"count": waiting})
            return
        result = outbox.send(connection, url=settings.upstream_url, token=settings.upstream_token, now=_utc_now)
    click.echo(
        _("Reports sent: %(sent)s; still waiting: %(waiting)s") % {"sent": len(result.sent), "waiting": result.waiting}
    )
    if result.not_before:
        click.echo(
            _("The next try is not before %(moment)s (after an earlier failure).") % {"moment": result.not_before}
        )
    if result.error:
        raise click.ClickException(_("Sending stopped: %(error)s") % {"error": outbox.describe(result.error, _)})


@main.command("export-stats")
@click.option(
    "--from", "first", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="First day (YYYY-MM-DD)."
)
@click.option("--to", "last", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="Last day (YYYY-MM-DD).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="File to write.")
@pass_context
def export_stats(context: Context, first, last, out: Path) -> None:
    """Write the daily reports of completed days in a range to a JSON file (for a USB stick)."""
    from catalog import outbox

    _ = context.gettext
    settings = context.settings
    with context.open_catalogue() as connection:
        outbox.queue_days(connection, timezone=settings.timezone, now=_utc_now(), min_count=settings.stats_min_count)
        documents = outbox.documents(connection, first.date(), last.date())
    out.write_text(json.dumps(documents, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    click.echo(_("%(count)s daily reports written to %(path)s") % {"count": len(documents), "path": out})


@main.command("receiver")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8090, show_default=True, type=int, help="TCP port to listen on.")
@click.option(
    "--database",
    default="receiver.sqlite3",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The receiver's own SQLite database.",
)
@click.option(
    "--load",
    "load",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Store the reports of an export-stats file (from a USB stick) and exit; repeatable.",
)
@click.option(
    "--token",
    envvar="EBOOKSERVER_RECEIVER_TOKEN",
    help="Bearer token senders must present (env EBOOKSERVER_RECEIVER_TOKEN); needed unless --load.",
)
@pass_context
def receiver(context: Context, host: str, port: int, database: Path, load: tuple, token: str | None) -> None:
    """Receive libraries' daily reports (for a regional library): a table and a CSV export."""
    import waitress

    from catalog import stats
    from ebookserver import receiver as receiving

    _ = context.gettext
    if load:
        with contextlib.closing(receiving.open_database(database)) as connection:
            for path in load:
                outcomes = receiving.load_file(connection, path, stats.stamp(_utc_now()))
                summary = ", ".join(f"{outcome} {count}" for outcome, count in sorted(outcomes.items()))
                click.echo(_("%(path)s: %(summary)s") % {"path": path, "summary": summary or "0"})
        return
    if not token:
        raise click.UsageError(_("The receiver needs --token (or EBOOKSERVER_RECEIVER_TOKEN)."))
    app = receiving.create_receiver_app(database, token, context.settings.language)
    click.echo(
        _("Receiving reports at http://%(host)s:%(port)s/api/v1/reports (%(count)s stored in %(path)s)")
        % {"host": host, "port": port, "count": receiving.reports_in(database), "path": database}
    )
    waitress.serve(app, host=host, port=port, threads=4, ident="ebookserver-receiver")


@main.command("export-oai")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--base-url", help="The address harvesters would use (default: public_url + /oai).")
@pass_context
def export_oai(context: Context, directory: Path, base_url: str | None) -> None:
    """Write the OAI-PMH responses of the whole catalogue to DIRECTORY (for an offline box)."""
    from catalog import oai_export

    _ = context.gettext
    settings = context.settings
    site = (settings.public_url or "http://localhost:8080").rstrip("/")
    with context.open_catalogue() as connection:
        written = oai_export.export(
            connection,
            directory,
            base_url=base_url or f"{site}/oai",
            record_url=f"{site}/buku/{{id}}",
            library_name=settings.library_name,
            admin_email=settings.oai_admin_email,
            now=_utc_now(),
        )
    click.echo(_("%(count)s OAI-PMH files written to %(path)s") % {"count": len(written), "path": directory})
