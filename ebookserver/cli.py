"""The `ebookserver` command: every operation a sysadmin or a script needs."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import click

from catalog import records
from catalog import search as search_engine
from catalog.datadir import DataDir
from catalog.errors import CatalogError
from catalog.ingest import Importer, ImportOutcome, expand_paths
from ebookserver.i18n import both_languages, gettext_for
from ebookserver.settings import Settings, SettingsError, example_config, load_settings


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
    if refused:
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
    """Run the web server (waitress)."""
    import waitress

    from ebookserver.app import create_app

    given = {name: value for name, value in (("host", host), ("port", port)) if value is not None}
    settings = Settings({**context.settings.values, **given})
    app = create_app(settings)
    click.echo(
        context.gettext("Serving %(name)s on http://%(host)s:%(port)s/")
        % {"name": settings.library_name, "host": settings.host, "port": settings.port}
    )
    waitress.serve(app, host=settings.host, port=settings.port, threads=settings.threads, ident="ebookserver")


@main.command()
@click.option("--example", is_flag=True, help="Print a config file with every setting and its help text.")
@pass_context
def config(context: Context, example: bool) -> None:
    """Print the effective settings."""
    if example:
        click.echo(example_config())
        return
    for name, value in context.settings.values.items():
        click.echo(f"{name} = {json.dumps(str(value) if isinstance(value, Path) else value)}")
