"""Commands for running the box: backup, restore, the health check, the daily statistics
pushed upstream (and their receiver), and the OAI-PMH export."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

import click

from catalog import accounts
from catalog.errors import CatalogError
from ebookserver.commands.base import Context, main, pass_context
from ebookserver.i18n import both_languages

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
