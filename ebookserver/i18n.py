"""Translations: Bahasa Indonesia first, English second.

Message catalogs live as `.po` files in `ebookserver/translations/`; they are compiled in
memory with Babel the first time a language is used, so there is no build step and no
compiled file to keep in step. The web app uses Flask-Babel (locale per request, dates and
numbers in the reader's language, Jinja's i18n extension) with `CatalogDomain`, which hands it
these in-memory catalogs; the command line uses `gettext_for()`.
"""

from __future__ import annotations

import datetime
import functools
import gettext as gettext_module
import io
from collections.abc import Callable
from importlib import resources

import flask_babel
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}


@functools.cache
def translations(language: str) -> gettext_module.NullTranslations:
    """The compiled catalog for *language*; English (the message ids) needs none."""
    po_file = resources.files("ebookserver") / "translations" / language / "LC_MESSAGES" / "messages.po"
    if language == "en" or not po_file.is_file():
        return NullTranslations()
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)


class CatalogDomain(flask_babel.Domain):
    """Flask-Babel's message domain, served from the `.po` files compiled in memory."""

    def get_translations(self) -> gettext_module.NullTranslations:
        locale = flask_babel.get_locale()
        return translations(normalise_language(str(locale) if locale else None))


class Babel(flask_babel.Babel):
    """Flask-Babel with our catalogs (it would otherwise look for compiled `.mo` files)."""

    @functools.cached_property
    def domain_instance(self) -> flask_babel.Domain:
        return CatalogDomain()


def gettext_for(language: str) -> Callable[[str], str]:
    return translations(normalise_language(language)).gettext


def normalise_language(value: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """`id`, `id-ID`, `in` (old code) -> `id`; `en-GB` -> `en`; anything else -> *default*."""
    primary = (value or "").strip().lower().replace("_", "-").split("-", 1)[0]
    if primary == "in":
        primary = "id"
    return primary if primary in LANGUAGES else default


def both_languages(message: Callable[[Callable[[str], str]], str], first: str = DEFAULT_LANGUAGE) -> str:
    """A message in *first* and then the other language, e.g. `Berkas kosong. / The file is empty.`"""
    order = [first] + [language for language in LANGUAGES if language != first]
    texts = []
    for language in order:
        text = message(gettext_for(language))
        if text not in texts:
            texts.append(text)
    return " / ".join(texts)


def choose_language(request, default: str) -> str:
    """The language for a web request: `?lang=`, then the `lang` cookie, then Accept-Language."""
    for value in (request.args.get("lang"), request.cookies.get("lang")):
        if value and normalise_language(value, "") in LANGUAGES:
            return normalise_language(value)
    best = request.accept_languages.best_match(["id", "in", "en"], default=None)
    return normalise_language(best, default) if best else default


def file_size(size: int, language: str) -> str:
    """`1,5 MB` in Indonesian, `1.5 MB` in English."""
    value, units = float(size), ["B", "KB", "MB", "GB"]
    while value >= 1024 and len(units) > 1:
        value /= 1024
        units.pop(0)
    return f"{format_decimal(round(value, 1), locale=normalise_language(language))} {units[0]}"


# --- dates and times in the reader's language and the library's time zone (web requests) ---


def date_of(timestamp: str) -> str:
    """A stored UTC timestamp (`2026-11-25T07:30:00Z`) as a date in the library's time zone:
    `25 November 2026`, `November 25, 2026`."""
    return flask_babel.format_date(_utc(timestamp), "long")


def datetime_of(timestamp: str) -> str:
    """A stored UTC timestamp as a short date and time in the library's time zone."""
    return flask_babel.format_datetime(_utc(timestamp), "short")


def local_time(stamp: str, with_time: bool = True) -> str:
    """A local `YYYY-MM-DDTHH:MM` (an event's time, already in the library's zone) for people:
    `Sabtu, 28 November 2026, 09.00`."""
    moment = datetime.datetime.fromisoformat(stamp)
    if not with_time:
        return flask_babel.format_date(moment.date(), "full")
    return flask_babel.format_datetime(moment, "EEEE, d MMMM y, HH.mm", rebase=False)


def _utc(timestamp: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
