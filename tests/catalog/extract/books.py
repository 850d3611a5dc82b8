"""EPUBs whose chapters carry real structure (and hostile payloads) for the chapter tests."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pymupdf
from ebooklib import epub

PICTURE_CHAPTER = """<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Kebun</title>
<script>document.title = "dicuri " + document.cookie</script><style>body { display: none }</style>
<link rel="stylesheet" href="http://contoh.invalid/gaya.css"/></head>
<body onload="alert(1)">
<h1 id="awal">Kebun Sekolah</h1>
<p>Anak-anak menanam <em>sayur</em> dan <strong>bunga</strong> di kebun sekolah.</p>
<ul><li>Tomat</li><li>Cabai</li></ul>
<table><caption>Jadwal menyiram</caption><tr><th>Hari</th><th>Kelas</th></tr><tr><td>Senin</td><td>4A</td></tr></table>
<figure><img src="images/kebun.png" alt="Kebun sekolah yang hijau"/><figcaption>Kebun kami</figcaption></figure>
<img src="x" onerror="alert(2)"/>
<img src="images/logo.svg" alt="Logo sekolah"/>
<img src="http://contoh.invalid/pelacak.png" alt="Pelacak"/>
<svg xmlns="http://www.w3.org/2000/svg" onload="alert(3)"><script>alert(4)</script><circle r="5"/></svg>
<p><a href="bab2.xhtml#lanjut">Lanjut ke bab kompos</a> · <a href="javascript:alert(5)">klik</a>
· <a href="http://contoh.invalid/">situs luar</a> · <a href="#awal">ke atas</a>
· <a href="../../rahasia.xhtml">rahasia</a></p>
<iframe src="/logout"></iframe><form action="http://contoh.invalid/"><input name="sandi"/></form>
<object data="film.swf"></object><embed src="film.swf"/>
<p style="color: red" onclick="alert(6)">Siswa belajar membuat kompos.</p>
</body></html>"""
SECOND_CHAPTER = """<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Kompos</title></head>
<body><h2>Kompos</h2><p id="lanjut">Kompos dibuat dari daun kering.</p></body></html>"""
HOSTILE_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(7)"><script>alert(8)</script><circle r="5"/></svg>'
)
HTML_AS_PNG = b"<html><script>alert(9)</script></html>"


def picture_png() -> bytes:
    """A small real PNG: a 6×4 green picture."""
    pixmap = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 6, 4), False)
    pixmap.set_rect(pixmap.irect, (20, 140, 60))
    return pixmap.tobytes("png")


def picture_epub(directory: Path, name: str = "kebun", *, title: str = "Kebun Sekolah Kami") -> Path:
    """An EPUB 3 whose first chapter has a heading, emphasis, a list, a table, a picture, an
    in-book link to the second chapter, and script, event-handler, SVG, frame and form payloads;
    its manifest also lists an SVG picture and an HTML file disguised as a PNG."""
    book = epub.EpubBook()
    book.set_identifier(f"urn:uuid:chapter-test-{name}")
    book.set_title(title)
    book.set_language("id")
    book.add_author("Dewi Lestari")
    first = epub.EpubHtml(title="Kebun", file_name="bab1.xhtml", lang="id")
    first.content = PICTURE_CHAPTER
    second = epub.EpubHtml(title="Kompos", file_name="bab2.xhtml", lang="id")
    second.content = SECOND_CHAPTER
    for item in (
        first,
        second,
        epub.EpubItem(uid="kebun", file_name="images/kebun.png", media_type="image/png", content=picture_png()),
        epub.EpubItem(uid="logo", file_name="images/logo.svg", media_type="image/svg+xml", content=HOSTILE_SVG),
        epub.EpubItem(uid="palsu", file_name="images/palsu.png", media_type="image/png", content=HTML_AS_PNG),
    ):
        book.add_item(item)
    book.toc = [first, second]
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = [first, second]
    path = directory / f"{name}.epub"
    epub.write_epub(str(path), book)
    # ebooklib rewrites a chapter (its head's scripts and the body's attributes go): put the
    # hostile document in as written.
    replace_entry(path, "EPUB/bab1.xhtml", PICTURE_CHAPTER.encode("utf-8"))
    return path


def replace_entry(path: Path, name: str, content: bytes) -> None:
    """Rewrite *path* with the entry *name* holding *content* (mimetype stays first, stored)."""
    with zipfile.ZipFile(path) as archive:
        entries = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w") as archive:
        for info, data in entries:
            compression = zipfile.ZIP_STORED if info.filename == "mimetype" else zipfile.ZIP_DEFLATED
            archive.writestr(info.filename, content if info.filename == name else data, compress_type=compression)
