"""The `ebookserver` group itself and what every subcommand is handed: the settings, the data
directory and the messages in the chosen language."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from catalog.datadir import DataDir
from ebookserver.i18n import gettext_for
from ebookserver.settings import Settings, SettingsError, load_settings


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
