"""The printed guides: `python docs/build.py OUTDIR [--url http://192.168.1.10] [--images DIR]`.

Makes two A4 PDFs from the markdown beside this script, with PyMuPDF's Story (HTML and CSS laid
out into pages, no browser or LaTeX needed):

- `panduan-pustakawan.pdf`, the librarian's handbook with its screenshots and page numbers;
- `panduan-pemustaka.pdf`, one poster for the reading room: how to search, read and borrow,
  the server's address in large letters and a QR code that opens it.

The screenshots come from docs/img (made by docs/screenshots.py), or from --images. The address
comes from --url, else the `public_url` setting of the configuration in use.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from pathlib import Path

import markdown
import pymupdf
import segno

DOCS = Path(__file__).resolve().parent
if str(DOCS.parent) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(DOCS.parent))

from ebookserver.pdf import html_to_pdf  # noqa: E402 - after the checkout is on the path
from ebookserver.settings import load_settings  # noqa: E402

HANDBOOK = DOCS / "panduan-pustakawan.md"
POSTER = DOCS / "panduan-pemustaka.md"
IMAGE_LINK = re.compile(r"!\[[^\]]*\]\((img/[^)\s]+)\)")

HANDBOOK_CSS = """
body { font-family: sans-serif; font-size: 10.5pt; line-height: 1.35; }
h1 { font-size: 20pt; margin-bottom: 6pt; }
h2 { font-size: 15pt; margin-top: 14pt; color: #0b5a3c; }
h3 { font-size: 12pt; margin-top: 10pt; }
img { width: 100%; border: 1px solid #999; margin-top: 4pt; margin-bottom: 8pt; }
code { font-family: monospace; font-size: 9.5pt; }
table { border-collapse: collapse; width: 100%; }
td, th { border: 1px solid #999; padding: 3pt; vertical-align: top; font-size: 9.5pt; }
"""

POSTER_CSS = """
body { font-family: sans-serif; font-size: 14pt; line-height: 1.3; text-align: center; }
h1 { font-size: 30pt; color: #0b5a3c; margin-bottom: 4pt; }
h2 { font-size: 18pt; margin-top: 10pt; margin-bottom: 2pt; color: #0b5a3c; }
p { margin-top: 2pt; margin-bottom: 2pt; }
img { width: 55%; border: 1px solid #999; }
img.qr { width: 28%; border: none; }
.address { font-size: 28pt; font-weight: bold; }
"""


def referenced_images(text: str) -> list[str]:
    """The `img/…` pictures a guide's markdown shows, in order."""
    return IMAGE_LINK.findall(text)


def to_html(text: str) -> str:
    return markdown.markdown(text, extensions=["tables", "sane_lists"], output_format="html")


def _write(html: str, css: str, archive: pymupdf.Archive, path: Path, *, margin: float, numbered: bool) -> int:
    """Lay *html* out on A4 pages into *path*; returns the number of pages."""
    title = re.search(r"<h1>(.*?)</h1>", html)[1]
    path.write_bytes(html_to_pdf(html, css=css, title=title, archive=archive, margin=margin, numbered=numbered))
    with pymupdf.open(path) as document:
        return document.page_count


def _archive(images: Path) -> pymupdf.Archive:
    archive = pymupdf.Archive()
    archive.add(str(images), "img")
    return archive


def missing_images(text: str, images: Path) -> list[str]:
    return [name for name in referenced_images(text) if not (images / Path(name).name).is_file()]


def build_handbook(outdir: Path, images: Path) -> Path:
    text = HANDBOOK.read_text(encoding="utf-8")
    if missing := missing_images(text, images):
        raise SystemExit(f"{HANDBOOK.name} shows pictures that {images} lacks: {missing}")
    path = outdir / "panduan-pustakawan.pdf"
    _write(to_html(text), HANDBOOK_CSS, _archive(images), path, margin=48, numbered=True)
    return path


def build_poster(outdir: Path, images: Path, url: str) -> Path:
    """The poster on exactly one page: the address in the text and in the QR code."""
    text = POSTER.read_text(encoding="utf-8").replace("{alamat}", url)
    if missing := missing_images(text, images):
        raise SystemExit(f"{POSTER.name} shows pictures that {images} lacks: {missing}")
    qr = io.BytesIO()
    segno.make(url, error="m").save(qr, kind="png", scale=10, border=2)
    archive = _archive(images)
    archive.add((qr.getvalue(), "qr.png"))
    html = re.sub(r'<img alt="QR" src="qr.png"\s*/?>', '<img class="qr" alt="QR" src="qr.png">', to_html(text))
    path = outdir / "panduan-pemustaka.pdf"
    pages = _write(html, POSTER_CSS, archive, path, margin=36, numbered=False)
    if pages != 1:
        raise SystemExit(f"the poster takes {pages} pages; shorten {POSTER.name} so that it fits on one")
    return path


def configured_url() -> str:
    """The `public_url` setting of the configuration in use (EBOOKSERVER_CONFIG and so on)."""
    return load_settings().public_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path, help="folder for the PDFs")
    parser.add_argument("--url", help="the server's address for the poster (default: the public_url setting)")
    parser.add_argument("--images", type=Path, default=DOCS / "img", help="the screenshots (default docs/img)")
    arguments = parser.parse_args(argv)
    url = arguments.url or configured_url()
    if not url:
        parser.error("give the server's address with --url, or set public_url in the configuration")
    arguments.outdir.mkdir(parents=True, exist_ok=True)
    for path in (
        build_handbook(arguments.outdir, arguments.images),
        build_poster(arguments.outdir, arguments.images, url),
    ):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
