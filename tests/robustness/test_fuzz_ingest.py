"""Hostile files: mutated corpus EPUBs and PDFs are read or refused clearly, within bounds.

A file a villager copies from a phone may be truncated, bit-damaged or crafted. Whatever
its bytes, ingest must either catalogue it or refuse it with one of the project's
translated reasons, within the per-file time budget and without unbounded memory, and
leave nothing behind for a refused file; the reader must render an accepted EPUB's
chapters or fall back to the stored text, never fail with a server error.

The examples are fixed (Hypothesis with `derandomize=True`, no database), so CI runs the
same inputs every time; `bench/fuzz.py` runs the same mutations with random seeds for
minutes. Every failure those runs found has its own regression test below.
"""

from __future__ import annotations

import contextlib
import io
import random
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.extract import Limits
from catalog.ingest import Importer
from catalog.search import open_index
from catalog.workers import PoolSettings
from ebookserver.i18n import gettext_for
from tests.conftest import CORPUS
from tests.robustness.fuzz_mutations import mutate
from tests.robustness.fuzz_runner import Outcome, baseline_rss_mb, read_like_the_server, run_isolated

SEED_MAX_BYTES = 200_000  # small books keep the examples fast; bench/fuzz.py uses them all
BUDGET_SECONDS = 20.0  # these books take < 0.5 s; production's budget is PoolSettings().timeout_seconds
MEMORY_LIMIT_MB = PoolSettings().memory_limit_mb  # the ingest worker's address-space limit
MAX_RSS_GROWTH_MB = 256  # over an idle child: reading a 200 KB book must not need more
EXAMPLES = 60  # 15-40 s here, on 2 cores shared with other jobs


def _seeds() -> dict[str, bytes]:
    if not CORPUS.is_dir():
        return {}
    paths = sorted(CORPUS.glob("*/*"))
    return {
        f"{path.parent.name}/{path.name}": path.read_bytes()
        for path in paths
        if path.suffix in (".epub", ".pdf") and 0 < path.stat().st_size <= SEED_MAX_BYTES
    }


SEEDS = _seeds()


@st.composite
def mutated_books(draw) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(SEEDS)))
    rng = draw(st.randoms(use_true_random=False))
    return name, mutate(SEEDS[name], Path(name).suffix[1:], rng)


def read(data: bytes, suffix: str) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="fuzz-") as folder:
        path = Path(folder) / f"book{suffix}"
        path.write_bytes(data)
        return run_isolated(lambda: read_like_the_server(path, Limits()), BUDGET_SECONDS, MEMORY_LIMIT_MB)


def assert_read_or_refused_clearly(outcome: Outcome) -> None:
    assert outcome.is_clear, f"{outcome.kind} {outcome.reason}\n{outcome.detail}"
    assert outcome.reason not in ("extraction-failed", "memory"), outcome.detail
    assert outcome.seconds < BUDGET_SECONDS
    assert outcome.max_rss_mb - _baseline() < MAX_RSS_GROWTH_MB


_BASELINE: list[float] = []


def _baseline() -> float:
    if not _BASELINE:
        _BASELINE.append(baseline_rss_mb())
    return _BASELINE[0]


@pytest.mark.slow
def test_mutated_books_are_read_or_refused_clearly_within_budget(corpus):
    assert SEEDS, "no corpus EPUB or PDF small enough to fuzz"

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(mutated_books())
    def check(book: tuple[str, bytes]) -> None:
        name, data = book
        assert_read_or_refused_clearly(read(data, Path(name).suffix))

    check()


@pytest.mark.slow
def test_refused_mutants_leave_nothing_in_the_data_directory_or_index(corpus, datadir):
    """Through the real importer (worker processes, time budget, memory limit, search
    index): refusals give a reason in Indonesian, and only accepted books are stored."""
    rng = random.Random(20261126)
    folder = datadir.root.parent / "incoming"
    folder.mkdir()
    (folder / "00-utuh.epub").write_bytes(SEEDS["epub/id-uud-1945.epub"])  # one intact book is imported
    for number in range(1, 12):
        name = rng.choice(sorted(SEEDS))
        suffix = Path(name).suffix
        (folder / f"{number:02d}{suffix}").write_bytes(mutate(SEEDS[name], suffix[1:], rng))
    index = open_index(datadir)
    outcomes = Importer(datadir, Limits(), PoolSettings(processes=2, timeout_seconds=60), index).run([folder])

    imported = {outcome.sha256 for outcome in outcomes if outcome.status == "imported"}
    refused = [outcome for outcome in outcomes if outcome.status == "refused"]
    assert imported and refused, [(outcome.path.name, outcome.status) for outcome in outcomes]
    indonesian = gettext_for("id")
    for outcome in refused:
        assert outcome.reason_code not in ("extraction-failed", "timeout"), str(outcome.error)
        assert outcome.error.render(indonesian) != outcome.error.render(), outcome.error.message
        detail = outcome.error.params.get("detail")
        assert detail is None or indonesian(detail) != detail, detail
    assert {sha for sha, _ in datadir.stored_files()} == imported
    assert not list(datadir.tmp_dir.iterdir())
    with contextlib.closing(datadir.connect()) as connection:
        stored = {sha for (sha,) in connection.execute("SELECT sha256 FROM ebook_files")}
        records = connection.execute("SELECT count(*) FROM records").fetchone()[0]
    assert stored == imported
    assert records == len(imported)
    with index.searchers() as (record_searcher, _units, _vocabulary):
        assert record_searcher.doc_count() == len(imported)
    index.close()


# --- regressions: each input below once crashed extraction or the reader ------------------


def _epub(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


CONTAINER = b"""<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
<rootfiles><rootfile full-path="OPS/package.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>"""
PACKAGE = b"""<?xml version="1.0"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">
<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">x</dc:identifier>
<dc:title>Buku Rusak</dc:title><dc:language>id</dc:language></metadata>
<manifest><item id="c1" href="bab1.xhtml" media-type="application/xhtml+xml"/>
<item id="p1" href="gambar.png" media-type="image/png"/></manifest>
<spine><itemref idref="c1"/></spine></package>"""
CHAPTER = b"""<html xmlns="http://www.w3.org/1999/xhtml"><body><h1>Bab 1</h1>
<p>Padi menguning di sawah.</p><img src="gambar.png" alt="sawah"/></body></html>"""
PICTURE = b"\x89PNG\r\n\x1a\n" + bytes(200)


def _book() -> bytes:
    return _epub(
        {
            "mimetype": b"application/epub+zip",
            "META-INF/container.xml": CONTAINER,
            "OPS/package.opf": PACKAGE,
            "OPS/bab1.xhtml": CHAPTER,
            "OPS/gambar.png": PICTURE,
        }
    )


def _damage(data: bytes, member: str, how: str) -> bytes:
    """The archive with one entry damaged as fuzzing found: the entry's name in its local
    header differs from the directory's, its compression method or the ZIP version it
    needs is unknown, it is marked encrypted, or its compressed bytes are garbage."""
    name = member.encode()
    local, central = data.index(name) - 30, data.rindex(name) - 46
    out = bytearray(data)
    if how == "renamed-in-header":
        out[local + 30] ^= 0x20
    elif how == "unknown-method":
        out[central + 10 : central + 12] = (99).to_bytes(2, "little")
    elif how == "unknown-version":
        out[central + 6 : central + 8] = (196).to_bytes(2, "little")
    elif how == "encrypted":
        out[central + 8] |= 1
    elif how == "garbage-compressed-data":
        start = local + 30 + len(name) + int.from_bytes(data[local + 28 : local + 30], "little")
        size = int.from_bytes(data[local + 18 : local + 22], "little")
        out[start : start + size] = b"\xff" * size
    return bytes(out)


DAMAGES = ["renamed-in-header", "unknown-method", "unknown-version", "encrypted", "garbage-compressed-data"]


@pytest.mark.parametrize("how", DAMAGES)
@pytest.mark.parametrize("member", ["META-INF/container.xml", "OPS/package.opf", "OPS/bab1.xhtml"])
def test_an_epub_with_a_damaged_entry_is_refused_as_damaged(tmp_path, member, how):
    from catalog.errors import CorruptEbook
    from catalog.extract import extract_file

    path = tmp_path / "rusak.epub"
    path.write_bytes(_damage(_book(), member, how))
    with pytest.raises(CorruptEbook, match="damaged"):
        extract_file(path, Limits())


@pytest.mark.parametrize("how", DAMAGES)
def test_the_reader_treats_a_damaged_chapter_or_picture_as_unreadable(tmp_path, how):
    """The reader's views catch CatalogError and show the stored text, or answer 404."""
    from catalog.errors import CorruptEbook
    from catalog.extract.chapter import chapter_html, chapter_image

    path = tmp_path / "rusak.epub"
    path.write_bytes(_damage(_damage(_book(), "OPS/bab1.xhtml", how), "OPS/gambar.png", how))
    with pytest.raises(CorruptEbook):
        chapter_html(path, "bab1.xhtml", Limits(), chapter_url=lambda *_: None, image_url=lambda name: name)
    with pytest.raises(CorruptEbook):
        chapter_image(path, "OPS/gambar.png", Limits())


def test_a_pdf_whose_metadata_is_not_a_stream_is_read_without_it(tmp_path):
    """The catalogue's /Metadata pointing at a dictionary made MuPDF raise FzErrorFormat,
    which is not a RuntimeError: the book is read, its XMP ignored."""
    import pymupdf

    from catalog.extract import extract_file

    document = pymupdf.open()
    document.new_page().insert_text((72, 72), "Bercocok tanam padi")
    xref = document.get_new_xref()
    document.update_object(xref, "<< /Type /Metadata /Subtype /XML >>")
    document.xref_set_key(document.pdf_catalog(), "Metadata", f"{xref} 0 R")
    path = tmp_path / "padi.pdf"
    path.write_bytes(document.tobytes())
    extraction = extract_file(path, Limits())
    assert "Bercocok tanam padi" in extraction.units[0].text


@pytest.mark.parametrize("count", [b"0", b"-1", b"2147483647"])
def test_a_pdf_whose_page_count_is_impossible_is_refused_as_damaged(tmp_path, count):
    """MuPDF raised RuntimeError ("Invalid number of pages") from `page_count`, outside
    any handler, when the page tree's /Count was a hostile number."""
    import pymupdf

    from catalog.errors import CorruptEbook
    from catalog.extract import extract_file

    document = pymupdf.open()
    for number in range(3):
        document.new_page().insert_text((72, 72), f"Halaman {number + 1}")
    data = document.tobytes(garbage=0, deflate=False)
    assert data.count(b"/Count 3") == 1
    path = tmp_path / "halaman.pdf"
    path.write_bytes(data.replace(b"/Count 3", b"/Count " + count))
    try:
        extraction = extract_file(path, Limits())
    except CorruptEbook:
        return  # refused as damaged: what a user is told
    assert 1 <= extraction.pages <= 3  # or MuPDF repaired the page tree and read it


def test_the_reader_renders_a_chapter_with_control_characters_and_odd_tags(tmp_path):
    """lxml's HTML parser keeps control characters (a word processor's vertical tab) in
    texts and attribute names and values, and tag and attribute names such as `e<x` and
    `{x` from damaged markup, but refuses to set them back: marking a search word, dropping a tag or rewriting a
    picture's description raised ValueError, a server error on the reading page."""
    from catalog.extract.chapter import chapter_html

    chapter = (
        b'<html xmlns="http://www.w3.org/1999/xhtml"><body><h1>Bab\x0b1</h1>'
        b"<p>Padi\x0bmenguning <e<x>di sawah</e<x> <span a\x01b='1' {x='2' lang='id\x0c'>luas</span>.</p>"
        b'<img src="gambar.png" alt="sawah\x01hijau"/></body></html>'
    )
    path = tmp_path / "kendali.epub"
    path.write_bytes(
        _epub(
            {
                "mimetype": b"application/epub+zip",
                "META-INF/container.xml": CONTAINER,
                "OPS/package.opf": PACKAGE,
                "OPS/bab1.xhtml": chapter,
                "OPS/gambar.png": PICTURE,
            }
        )
    )

    def padi(text: str) -> list[tuple[int, int]]:
        start = text.find("Padi")
        return [(start, start + 4)] if start >= 0 else []

    html = chapter_html(
        path, "bab1.xhtml", Limits(), chapter_url=lambda *_: None, image_url=lambda name: f"/p/{name}", highlight=padi
    )
    assert "<mark>Padi</mark>menguning" in html
    assert "di sawah" in html and "luas" in html
    assert 'alt="sawahhijau"' in html and '<span lang="id">luas</span>' in html
    assert not any(character in html for character in "\x00\x01\x0b\x0c")
