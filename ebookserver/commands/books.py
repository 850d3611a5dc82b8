"""Commands about books: importing e-books, listing, showing and searching the catalogue,
rebuilding the index, the print catalogue (MARC and CSV files, labels) and e-book licences."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import click

from catalog import accounts, db, printcat, records
from catalog import search as search_engine
from catalog.errors import CatalogError
from catalog.ingest import Importer, ImportOutcome, expand_paths
from ebookserver.commands.base import Context, main, pass_context
from ebookserver.i18n import both_languages, gettext_for


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


# --- e-lending: licences ------------------------------------------------------------------------


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
