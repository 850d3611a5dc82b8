"""The Bahasa Indonesia catalogue: complete, faithful to its placeholders, and really used.

The message ids are extracted from the source here, with the mapping in `babel.cfg`, so a
string added without a translation fails this test and is named in the failure.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from catalog.errors import CorruptEbook, EmptyFile
from catalog.i18n import N_
from ebookserver.i18n import both_languages, gettext_for, translations

try:
    from babel.messages.frontend import parse_mapping_cfg
except ImportError:  # Babel before 2.14 only has the older name
    from babel.messages.frontend import parse_mapping as parse_mapping_cfg

ROOT = Path(__file__).resolve().parents[2]
PO_FILE = ROOT / "ebookserver" / "translations" / "id" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "lazy_gettext": None}

# A %-directive with a name, e.g. `%(size_mb)s` or `%(num)d`.
PLACEHOLDER = re.compile(r"%\(([^)]*)\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]")


@functools.cache
def extracted() -> dict[tuple[str | tuple[str, ...], str | None], list[str]]:
    """Every message in the source, as `pybabel extract -F babel.cfg -k N_ -k lazy_gettext` finds it."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle, "babel.cfg")
    messages: dict[tuple[str | tuple[str, ...], str | None], list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS
    ):
        messages.setdefault((message, context), []).append(f"{filename}:{lineno}")
    return messages


@functools.cache
def indonesian() -> Catalog:
    with open(PO_FILE, "rb") as handle:
        return read_po(handle, locale="id")


def is_translated(message, num_plurals: int) -> bool:
    if message is None or message.fuzzy:
        return False
    if message.pluralizable:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        return len(strings) >= num_plurals and all(strings[:num_plurals])
    return bool(message.string)


def placeholders(text: str) -> set[str]:
    return {match.group(0) for match in PLACEHOLDER.finditer(text)}


def stray_percent(text: str) -> bool:
    """A `%` that is neither a placeholder nor `%%` breaks `%`-formatting at run time."""
    return "%" in PLACEHOLDER.sub("", text).replace("%%", "")


def test_extraction_finds_messages_from_every_kind_of_source():
    ids = {message if isinstance(message, str) else message[0] for message, _context in extracted()}
    assert EmptyFile.message in ids  # N_ in catalog/
    assert "Importing" in ids  # _() in ebookserver/
    assert "Back to the catalogue" in ids  # _() in a Jinja template
    assert "%(num)s page" in ids  # ngettext() in a Jinja template
    assert "The form had expired. Please send it again." in ids  # gettext() in a macro file
    assert "The 4 to 8 digits the librarian gave you." in ids  # lazy_gettext() in a form


def test_no_source_folder_is_one_the_extraction_skips():
    """Babel's extraction silently skips folders whose names begin with `_` or `.`: their
    messages would never be translated (the form macros once were, in `_parts/`)."""
    skipped = [
        str(folder.relative_to(ROOT))
        for top in ("catalog", "ebookserver")
        for folder in (ROOT / top).rglob("*")
        if folder.is_dir() and folder.name.startswith(("_", ".")) and folder.name != "__pycache__"
    ]
    assert skipped == []


def test_every_message_in_the_source_has_an_indonesian_translation():
    catalog = indonesian()
    assert not catalog.fuzzy, "the header of the Indonesian catalogue is marked fuzzy"
    missing = []
    for (message, context), locations in sorted(extracted().items(), key=lambda item: item[1][0]):
        msgid = message if isinstance(message, str) else message[0]
        entry = catalog.get(msgid, context=context)
        if not is_translated(entry, catalog.num_plurals) or entry.pluralizable != isinstance(message, tuple):
            missing.append(f"  {msgid!r}  ({', '.join(locations)})")
    assert not missing, (
        f"{len(missing)} message(s) have no Indonesian translation (missing, empty or fuzzy) in "
        f"{PO_FILE.relative_to(ROOT)}; update it with `pybabel update` and translate them:\n" + "\n".join(missing)
    )


def test_indonesian_catalogue_has_one_plural_form():
    assert indonesian().plural_forms == "nplurals=1; plural=0;"


def test_translations_keep_the_placeholders_of_their_message_id():
    wrong = []
    for entry in indonesian():
        if not entry.id:
            continue
        if entry.pluralizable:
            expected = placeholders(entry.id[1])
            strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        else:
            expected = placeholders(entry.id)
            strings = (entry.string,)
        for string in strings:
            if string and (placeholders(string) != expected or stray_percent(string)):
                wrong.append(f"  {entry.id!r}: expected {sorted(expected)}, got {string!r}")
    assert not wrong, "translations whose placeholders differ from their message id:\n" + "\n".join(wrong)


def test_gettext_for_indonesian_uses_the_catalogue():
    gettext = gettext_for("id")
    translated = gettext(EmptyFile.message)
    assert translated == indonesian()[EmptyFile.message].string
    assert translated != EmptyFile.message
    assert gettext_for("id-ID")(EmptyFile.message) == translated
    assert gettext_for("en")(EmptyFile.message) == EmptyFile.message


def test_plural_messages_use_the_single_indonesian_form():
    expected = indonesian()["%(num)s page"].string[0]
    for count in (1, 2, 5):
        assert translations("id").ngettext("%(num)s page", "%(num)s pages", count) == expected


def test_error_renders_in_indonesian_and_in_english():
    indonesian_text = EmptyFile().render(gettext_for("id"))
    english_text = EmptyFile().render()
    assert english_text == EmptyFile.message
    assert indonesian_text == indonesian()[EmptyFile.message].string
    assert indonesian_text != english_text


def test_error_details_are_translated_with_the_sentence():
    detail = N_("the ZIP archive is damaged")
    error = CorruptEbook(detail=detail)
    catalog = indonesian()
    expected = catalog[CorruptEbook.message].string % {"detail": catalog[detail].string}
    assert error.render(gettext_for("id")) == expected
    assert error.render() == CorruptEbook.message % {"detail": detail}


def test_both_languages_gives_indonesian_then_english():
    indonesian_text = EmptyFile().render(gettext_for("id"))
    english_text = EmptyFile().render()
    both = both_languages(EmptyFile().render)
    assert indonesian_text in both
    assert english_text in both
    assert both == f"{indonesian_text} / {english_text}"
