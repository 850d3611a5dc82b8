"""Import benchmark: build a realistic collection of books, import it, compare with bare PyMuPDF.

    python bench/ingest.py [--books 1000] [--pdf-share 0.5] [--workdir /tmp/bench-ingest] [--seed 1] [--keep]

What it does, in order:

1. Measures how much pure-Python work two busy processes get done compared with one (on a
   shared VM the two "cores" may not be two cores' worth), and prints the machine's facts.
2. Generates the collection (or reuses the books already generated in the workdir): EPUBs
   of 200-800 KB with 10-40 chapters, and PDFs of 1-5 MB with 50-300 text pages, in mixed
   Indonesian and English with a Zipf-like word distribution. Each book is made from its
   own seed (`seed:index`), so a collection of N books is the first N books of a larger one
   and books are generated only when missing. Generation runs on every core and its time is
   printed separately; it is not part of any figure below.
3. Reference: PyMuPDF's bare text extraction over the same PDFs (open, `page.get_text()` on
   every page), in one process and in two processes. Both run in child processes so the
   benchmark's main process stays as small as the importer's would be.
4. Imports the whole collection (EPUBs and PDFs, in book order) into a fresh data directory
   with the project's `Importer`, sampling the memory of the main process and of all its
   children (the forkserver and the extraction workers) and the per-core CPU use.
5. Imports the PDFs alone into another fresh data directory: the same work as the reference,
   so its pages/s divided by the reference's pages/s is the ratio the goal is about
   (import >= 60% of bare extraction on 2 cores, peak RSS < 500 MB). The PDF pages/s of the
   whole-collection import is diluted by the EPUBs sharing its wall time, so it is printed
   but not used for the ratio.
6. Measures the reference again (unless `--reference-runs 1`): this machine's speed drifts
   from minute to minute, so the ratio uses the mean of the clean runs before and after the
   imports (of all of them when none was clean), and the ratio against each run is printed too.

This machine is shared, and other jobs on it change wall-clock rates by a factor of two or
more. So each timed phase first waits (up to `--wait-quiet` seconds) for idle CPUs; each
phase reports the share of CPU time that went to processes outside the benchmark and warns
above 5%; and the rates are also given per CPU-second of the benchmark's own processes
(main + workers for the import, the workers for the reference), whose ratio is much less
disturbed by other jobs than the wall-clock ratio.

Human-readable lines first, then one JSON line with every figure (also written to
WORKDIR/last-result.json). Not a test: nothing here
is asserted, and it is not collected by pytest.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import html
import importlib.metadata
import json
import math
import multiprocessing
import os
import platform
import random
import resource
import shutil
import statistics
import sys
import threading
import time
import zlib
from pathlib import Path

import psutil

# Bump when the books generated for a seed change, so an old cache is not reused.
GENERATOR_VERSION = 1
GOAL_RATIO = 0.60
GOAL_PEAK_RSS_MB = 500
NOT_OURS_LIMIT = 0.05  # above this share of CPU time spent by other processes, a measurement is not clean
IMPORT_PROCESSES = 2
KB = 1000
MB = 1000 * 1000
MIB = 1024 * 1024

EPUB_BYTES = (200 * KB, 800 * KB)
EPUB_CHAPTERS = (10, 40)
PDF_BYTES = (1 * MB, 5 * MB)
PDF_PAGES = (50, 300)

# --------------------------------------------------------------------------------------
# Words
# --------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


# Common Indonesian words, most frequent first (roughly).
INDONESIAN_WORDS = _words("""
yang dan di ini itu dengan untuk tidak dari dalam akan pada juga ke karena tersebut bisa ada
mereka lebih kami sudah atau saat oleh menjadi orang kita hanya telah namun seperti bahwa jika
harus masih dapat setelah kata banyak tahun sangat baru hari anak semua sebagai besar rumah
desa sekolah buku air tanah waktu bersama guru pemerintah masyarakat belajar membaca menulis
kerja kota negara daerah jalan pasar hutan sungai laut pulau gunung petani nelayan ibu bapak
keluarga warga kepala dinas kesehatan pendidikan pertanian sejarah budaya bahasa cerita
pengetahuan lingkungan sumber kegiatan program hasil cara baik lain pertama kedua beberapa
setiap antara sampai tentang kemudian selalu pernah belum sering lalu sekarang dulu besok
perpustakaan pembaca halaman bab membangun menanam panen padi jagung sayur ikan hujan musim
""")

# Common English words, most frequent first (roughly).
ENGLISH_WORDS = _words("""
the of and to a in is that for it as was with be by on not he this are or his from at which
but have an they you were her she there one all we their been has will would more if no when
can said who so what up about into them out time people village school library book water
children learning reading community health education farming history culture language story
knowledge environment source activity program result way good other first second several
every between until then always never often now before after year day world life work house
land river forest market teacher student family government report chapter page study local
""")

ONSETS = ["b", "c", "d", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "w", "y", "ng", "ny", "", ""]
ONSETS += ["b", "k", "m", "p", "s", "t"]  # the frequent ones twice
VOWELS = ["a", "a", "a", "i", "i", "u", "u", "e", "e", "o"]
CODAS = ["", "", "", "", "n", "ng", "r", "k", "t", "s", "l", "h", "m"]
PREFIXES = ["me", "mem", "men", "meng", "ber", "di", "ter", "pe", "pem", "pen", "per", "ke", "se"]
SUFFIXES = ["kan", "an", "i", "nya", "lah"]

FIRST_NAMES = _words("""Siti Budi Dewi Agus Sri Ahmad Rina Joko Putri Andi Wayan Made Nyoman Ketut Fitri Yusuf Ayu
Bambang Indah Hendra Maria Yohanes Nur Rizki Eko Wulan John Sarah David Emily Peter Grace""")
LAST_NAMES = _words("""Santoso Rahayu Wijaya Saputra Hidayat Lestari Nugroho Siregar Nasution Simanjuntak Pratama
Kusuma Harahap Wibowo Setiawan Gunawan Hutapea Tanjung Sinaga Smith Brown Taylor Wilson Clarke""")
PUBLISHERS = [
    "Kementerian Pendidikan dan Kebudayaan",
    "Balai Pustaka",
    "Penerbit Desa Membaca",
    "Yayasan Literasi Nusantara",
    "Community Library Press",
    "Open Books Indonesia",
]
SUBJECTS = [
    "Pertanian",
    "Pendidikan",
    "Sejarah",
    "Kesehatan",
    "Cerita rakyat",
    "Lingkungan",
    "Agriculture",
    "Education",
    "History",
    "Health",
    "Folk tales",
    "Environment",
]
PDF_PAPERS = [("A4", 0.5), ("letter", 0.2), ("A5", 0.3)]


class Vocabulary:
    """A few thousand words, ranked per language, with Zipf-Mandelbrot weights."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"{seed}:vocabulary")
        known = set(INDONESIAN_WORDS) | set(ENGLISH_WORDS)
        synthetic: list[str] = []
        while len(synthetic) < 3200:
            root = "".join(
                rng.choice(ONSETS) + rng.choice(VOWELS) + (rng.choice(CODAS) if rng.random() < 0.5 else "")
                for _ in range(rng.choice((2, 2, 2, 3)))
            )
            if rng.random() < 0.35:
                root = rng.choice(PREFIXES) + root
            if rng.random() < 0.25:
                root += rng.choice(SUFFIXES)
            if 3 <= len(root) <= 14 and root not in known:
                known.add(root)
                synthetic.append(root)
        self.words = {
            # Indonesian text: real words on top, invented ones below, English loan words sprinkled in.
            "id": INDONESIAN_WORDS + _sprinkle(synthetic, ENGLISH_WORDS, every=25),
            # English text: real English words on top, Indonesian words (names, places, terms) below.
            "en": ENGLISH_WORDS + _sprinkle(synthetic, INDONESIAN_WORDS, every=12),
        }
        self.cum_weights = {}
        for language, words in self.words.items():
            total, cumulative = 0.0, []
            for rank in range(len(words)):
                total += 1.0 / (rank + 2.7) ** 1.05
                cumulative.append(total)
            self.cum_weights[language] = cumulative

    def paragraph(self, rng: random.Random, language: str) -> str:
        lengths = [rng.randint(5, 22) for _ in range(rng.randint(2, 7))]
        tokens = rng.choices(self.words[language], cum_weights=self.cum_weights[language], k=sum(lengths))
        sentences, start = [], 0
        for length in lengths:
            words = tokens[start : start + length]
            start += length
            if length > 10 and rng.random() < 0.4:
                words[length // 2] += ","
            if rng.random() < 0.03:
                words[-1] = str(rng.randint(2, 2024))
            words[0] = words[0].capitalize()
            sentences.append(" ".join(words) + rng.choices(".?!", weights=(20, 1, 1))[0])
        return " ".join(sentences)

    def paragraphs(self, rng: random.Random, language: str, chars: int) -> list[str]:
        """Paragraphs adding up to at least *chars* characters."""
        found, total = [], 0
        while total < chars:
            found.append(self.paragraph(rng, language))
            total += len(found[-1]) + 1
        return found

    def title(self, rng: random.Random, language: str) -> str:
        words = rng.choices(self.words[language][20:600], k=rng.randint(2, 6))
        return " ".join(word.capitalize() for word in words)


def _sprinkle(base: list[str], extra: list[str], every: int) -> list[str]:
    """*base* with the *extra* words inserted one every *every* positions after the first 100."""
    if not extra:
        return list(base)
    result, extras = list(base[:100]), list(extra)
    for position, word in enumerate(base[100:]):
        result.append(word)
        if extras and position % every == 0:
            result.append(extras.pop(0))
    return result + extras


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def isbn13(rng: random.Random) -> str:
    digits = "978602" + "".join(str(rng.randint(0, 9)) for _ in range(6))
    check = (10 - sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits)) % 10) % 10
    return digits + str(check)


def slug(title: str) -> str:
    return "-".join(title.lower().split())[:60]


# --------------------------------------------------------------------------------------
# Book plans and generation (runs in worker processes)
# --------------------------------------------------------------------------------------


def book_plan(seed: int, index: int, pdf_share: float) -> dict:
    """What book number *index* is: cheap to compute, so the cache can be checked without generating."""
    rng = random.Random(f"{seed}:{index}:plan")
    kind = "pdf" if rng.random() < pdf_share else "epub"
    language = "id" if rng.random() < 0.65 else "en"
    vocabulary = _vocabulary(seed)
    title = vocabulary.title(rng, language)
    if kind == "pdf":
        size, parts = rng.uniform(*PDF_BYTES), rng.randint(*PDF_PAGES)
    else:
        size, parts = rng.uniform(*EPUB_BYTES), rng.randint(*EPUB_CHAPTERS)
    return {
        "index": index,
        "kind": kind,
        "language": language,
        "title": title,
        "target_bytes": int(size),
        "parts": parts,  # PDF pages or EPUB chapters
        "name": f"{index:05d}-{slug(title)}.{kind}",
    }


_VOCABULARIES: dict[int, Vocabulary] = {}
_CALIBRATIONS: dict[int, dict[str, float]] = {}


def _vocabulary(seed: int) -> Vocabulary:
    if seed not in _VOCABULARIES:
        _VOCABULARIES[seed] = Vocabulary(seed)
    return _VOCABULARIES[seed]


def _calibration(seed: int) -> dict[str, float]:
    """Compression ratios and image sizes, measured once per process on fixed samples."""
    if seed in _CALIBRATIONS:
        return _CALIBRATIONS[seed]
    import pymupdf

    calibration = _CALIBRATIONS[seed] = {}

    vocabulary = _vocabulary(seed)
    rng = random.Random(f"{seed}:calibration")
    for language in ("id", "en"):
        sample = "".join(f"<p>{p}</p>\n" for p in vocabulary.paragraphs(rng, language, 200 * KB)).encode()
        calibration[f"deflate_ratio_{language}"] = len(sample) / len(zlib.compress(sample, 6))
    # Noise JPEG bytes per pixel at the quality used.
    width, height = 400, 300
    pixmap = pymupdf.Pixmap(pymupdf.csRGB, width, height, rng.randbytes(width * height * 3), False)
    calibration["jpeg_bytes_per_pixel"] = len(pixmap.tobytes("jpeg", jpg_quality=70)) / (width * height)
    # Stored bytes per character of page text (content stream with deflate).
    empty = pymupdf.open()
    full = pymupdf.open()
    chars = 0
    for _ in range(4):
        empty.new_page()
        page = full.new_page()
        text = "\n".join(vocabulary.paragraphs(rng, "id", 3500))[:3500]
        if page.insert_textbox(pymupdf.Rect(50, 50, 545, 792), text, fontname="helv", fontsize=10) >= 0:
            chars += len(text)
    calibration["pdf_bytes_per_char"] = max(
        0.05, (len(full.tobytes(garbage=1, deflate=True)) - len(empty.tobytes(garbage=1, deflate=True))) / chars
    )
    return calibration


def generate_book(task: tuple[int, float, int, str]) -> tuple[int, str, float]:
    """Write one book (atomically) into the cache folder; returns (index, kind, seconds)."""
    seed, pdf_share, index, folder = task[0], task[1], task[2], Path(task[3])
    started = time.perf_counter()
    plan = book_plan(seed, index, pdf_share)
    target = folder / plan["name"]
    partial = target.with_name(f".{target.name}.part")
    if plan["kind"] == "pdf":
        _write_pdf(partial, plan, seed)
    else:
        _write_epub(partial, plan, seed)
    os.replace(partial, target)
    return index, plan["kind"], time.perf_counter() - started


def _cover_png(rng: random.Random, title: str, author: str) -> bytes:
    import pymupdf

    document = pymupdf.open()
    page = document.new_page(width=300, height=450)
    background = tuple(rng.uniform(0.1, 0.7) for _ in range(3))
    page.draw_rect(page.rect, color=None, fill=background)
    page.draw_rect(pymupdf.Rect(20, 300, 280, 430), color=None, fill=tuple(rng.uniform(0.5, 1.0) for _ in range(3)))
    page.insert_textbox(pymupdf.Rect(20, 40, 280, 280), title, fontname="hebo", fontsize=26, color=(1, 1, 1))
    page.insert_textbox(pymupdf.Rect(30, 330, 270, 420), author, fontname="helv", fontsize=16, color=(0, 0, 0))
    png = page.get_pixmap().tobytes("png")
    document.close()
    return png


def _write_epub(path: Path, plan: dict, seed: int) -> None:
    from ebooklib import epub

    vocabulary, calibration = _vocabulary(seed), _calibration(seed)
    rng = random.Random(f"{seed}:{plan['index']}:book")
    language, chapters = plan["language"], plan["parts"]
    authors = [person(rng) for _ in range(rng.choice((1, 1, 1, 2, 3)))]
    cover = _cover_png(rng, plan["title"], authors[0])

    book = epub.EpubBook()
    book.set_identifier(f"urn:uuid:{rng.getrandbits(128):032x}")
    book.set_title(plan["title"])
    book.set_language(language)
    for author in authors:
        book.add_author(author)
    book.add_metadata("DC", "publisher", rng.choice(PUBLISHERS))
    book.add_metadata("DC", "date", f"{rng.randint(1995, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}")
    for subject in rng.sample(SUBJECTS, rng.randint(1, 3)):
        book.add_metadata("DC", "subject", subject)
    book.add_metadata("DC", "description", vocabulary.paragraph(rng, language))
    if rng.random() < 0.5:
        book.add_metadata("DC", "identifier", f"urn:isbn:{isbn13(rng)}")
    book.set_cover("images/cover.png", cover)
    style = epub.EpubItem(
        uid="style", file_name="style/book.css", media_type="text/css", content=b"p { text-indent: 1em; margin: 0; }"
    )
    book.add_item(style)

    # Text so that the deflated chapters fill what the cover and the package leave of the target.
    overhead = len(cover) + 6 * KB + 900 * chapters
    ratio = calibration[f"deflate_ratio_{language}"] * 0.96  # ebooklib's XHTML adds a little to each chapter
    raw_chars = max(chapters * 2 * KB, (plan["target_bytes"] - overhead) * ratio)
    shares = [rng.uniform(0.4, 1.6) for _ in range(chapters)]
    heading = "Bab" if language == "id" else "Chapter"
    documents = []
    for number, share in enumerate(shares, start=1):
        chapter_title = f"{heading} {number}: {vocabulary.title(rng, language)}"
        body = "\n".join(
            f"<p>{html.escape(p)}</p>"
            for p in vocabulary.paragraphs(rng, language, int(raw_chars * share / sum(shares)))
        )
        document = epub.EpubHtml(title=chapter_title, file_name=f"text/ch{number:03d}.xhtml", lang=language)
        document.content = f"<html><body><h1>{html.escape(chapter_title)}</h1>\n{body}</body></html>"
        document.add_item(style)
        book.add_item(document)
        documents.append(document)
    book.toc = documents
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["cover", "nav", *documents]
    epub.write_epub(str(path), book, {"epub3_pages": False})


def _write_pdf(path: Path, plan: dict, seed: int) -> None:
    import pymupdf

    vocabulary, calibration = _vocabulary(seed), _calibration(seed)
    rng = random.Random(f"{seed}:{plan['index']}:book")
    language, pages = plan["language"], plan["parts"]
    paper = rng.choices([name for name, _ in PDF_PAPERS], weights=[weight for _, weight in PDF_PAPERS])[0]
    width, height = pymupdf.paper_size(paper)
    fontsize = rng.choice((10, 10.5, 11, 11, 12)) if paper != "A5" else rng.choice((9, 10, 10.5))
    margin = 0.09 * width
    frame = pymupdf.Rect(margin, margin, width - margin, height - margin - 20)
    capacity = _textbox_capacity(frame, fontsize)
    authors = [person(rng) for _ in range(rng.choice((1, 1, 2)))]

    # Which pages carry a picture, and how large: noise JPEGs make up the weight that text does not.
    fills = [
        rng.choice((0.75, 0.85, 0.9, 0.92)) if rng.random() > 0.06 else rng.uniform(0.1, 0.5) for _ in range(pages)
    ]
    text_bytes = sum(fills) * capacity * calibration["pdf_bytes_per_char"] + 8 * KB + 600 * pages
    text_bytes *= 0.95  # measured: the estimate above is a little high (short last lines, short pages)
    budget = max(50 * KB, plan["target_bytes"] - text_bytes)
    images = min(pages - 1, max(1, round(budget / rng.uniform(180 * KB, 350 * KB))))
    image_pages = set(rng.sample(range(1, pages), images))
    per_image = budget / images
    # Half the PDFs open with a full-page picture, as scanned covers do: a smooth one, as photos are.
    cover_image = rng.random() < 0.5

    document = pymupdf.open()
    heading = "Bab" if language == "id" else "Chapter"
    chapter = 0
    for number in range(pages):
        page = document.new_page(width=width, height=height)
        if number == 0:
            if cover_image:
                _insert_smooth_image(page, page.rect, rng)
            else:
                page.insert_textbox(pymupdf.Rect(frame.x0, 150, frame.x1, 400), plan["title"], fontname="hebo",
                                    fontsize=24, align=pymupdf.TEXT_ALIGN_CENTER)  # fmt: skip
            page.insert_textbox(pymupdf.Rect(frame.x0, 420, frame.x1, 480), "; ".join(authors), fontname="helv",
                                fontsize=14, align=pymupdf.TEXT_ALIGN_CENTER)  # fmt: skip
            continue
        box = pymupdf.Rect(frame)
        if number == 1 or rng.random() < 0.07:
            chapter += 1
            page.insert_text((frame.x0, frame.y0 + 16), f"{heading} {chapter}", fontname="hebo", fontsize=16)
            box.y0 += 36
        if number in image_pages:
            picture = pymupdf.Rect(box.x0, box.y0 + box.height * 0.55, box.x1, box.y1)
            box.y1 = picture.y0 - 10
            _insert_noise_image(page, picture, per_image, calibration, rng)
        chars = int(fills[number] * capacity * box.height / frame.height)
        text = "\n".join(vocabulary.paragraphs(rng, language, chars))[:chars].rsplit(" ", 1)[0] + "."
        while text and page.insert_textbox(box, text, fontname="helv", fontsize=fontsize) < 0:
            text = text[: int(len(text) * 0.92)]  # nothing is written when the text does not fit
        page.insert_text((width / 2 - 8, height - margin / 2), str(number + 1), fontname="helv", fontsize=9)

    document.set_metadata(
        {
            "title": plan["title"],
            "author": "; ".join(authors),
            "subject": rng.choice(SUBJECTS),
            "keywords": ", ".join(rng.sample(SUBJECTS, 2)),
            "creator": rng.choice(("Microsoft Word", "LibreOffice Writer", "Adobe InDesign")),
            "producer": "bench/ingest.py",
            "creationDate": f"D:{rng.randint(1995, 2024)}0{rng.randint(1, 9)}1{rng.randint(0, 9)}120000",
        }
    )
    document.xref_set_key(document.pdf_catalog(), "Lang", f"({language})")
    document.save(path, garbage=1, deflate=True)
    document.close()


def _textbox_capacity(box, fontsize: float) -> int:
    """Characters of running text that fit in *box* with Helvetica, a little on the safe side."""
    chars_per_line = box.width / (fontsize * 0.50)
    lines = box.height / (fontsize * 1.38)
    return int(chars_per_line * lines * 0.93)


def _insert_noise_image(page, rect, size: float, calibration: dict, rng: random.Random) -> None:
    import pymupdf

    pixels = size / calibration["jpeg_bytes_per_pixel"]
    width = max(16, int(math.sqrt(pixels * 4 / 3)))
    height = max(16, int(pixels / width))
    pixmap = pymupdf.Pixmap(pymupdf.csRGB, width, height, rng.randbytes(width * height * 3), False)
    page.insert_image(rect, stream=pixmap.tobytes("jpeg", jpg_quality=70))


def _insert_smooth_image(page, rect, rng: random.Random) -> None:
    """A photo-like picture (about 50 KB): a few random colours blown up to 600 x 800 pixels."""
    import pymupdf

    small = pymupdf.Pixmap(pymupdf.csRGB, 12, 16, rng.randbytes(12 * 16 * 3), False)
    page.insert_image(rect, stream=pymupdf.Pixmap(small, 600, 800, None).tobytes("jpeg", jpg_quality=80))


# --------------------------------------------------------------------------------------
# Reference: bare PyMuPDF text extraction
# --------------------------------------------------------------------------------------


def bare_extract(path: str) -> tuple[int, int]:
    """Open the PDF and extract the text of every page; returns (pages, characters)."""
    import pymupdf

    pages = chars = 0
    with pymupdf.open(path) as document:
        for page in document:
            chars += len(page.get_text())
            pages += 1
    return pages, chars


def _warm(_: int) -> int:
    import pymupdf  # noqa: F401 - imported before timing starts

    return 0


def bare_rate(context, paths: list[Path], processes: int) -> dict:
    with Sampler() as sampler, context.Pool(processes) as pool:
        pool.map(_warm, range(processes))
        started = time.perf_counter()
        results = list(pool.imap_unordered(bare_extract, [str(p) for p in paths], chunksize=1))
        seconds = time.perf_counter() - started
    pages = sum(pages for pages, _ in results)
    size = sum(p.stat().st_size for p in paths)
    sampled = sampler.figures()
    return {
        "processes": processes,
        "seconds": round(seconds, 2),
        "pages": pages,
        "chars": sum(chars for _, chars in results),
        "pages_per_s": round(pages / seconds, 1),
        "files_per_s": round(len(paths) / seconds, 2),
        "mb_per_s": round(size / MB / seconds, 2),
        "peak_worker_rss_mb": sampled["largest_worker_hwm_mb"],
        "cpu_s": sampled["children_cpu_s"],
        # CPU time is much less disturbed by other processes than wall time: the noise-resistant figure
        "pages_per_cpu_s": round(pages / sampled["children_cpu_s"], 1) if sampled["children_cpu_s"] else 0.0,
        "cpu_share_not_ours": sampled["cpu_share_not_ours"],
    }


def wait_for_quiet(limit_seconds: float) -> float:
    """Wait (up to *limit_seconds*) until the CPUs have been nearly idle for 3 s; returns the busy % last seen."""
    deadline, quiet, busy = time.monotonic() + limit_seconds, 0, 0.0
    while True:
        busy = psutil.cpu_percent(interval=1.0)
        quiet = quiet + 1 if busy < 15 else 0
        if quiet >= 3 or time.monotonic() >= deadline:
            break
    if quiet < 3:
        print(f"  (the machine is busy with other work: {busy:.0f} % CPU; measuring anyway)", flush=True)
    return busy


def reference(context, pdfs: list[Path], wait: float) -> dict:
    found = {}
    for processes in (1, IMPORT_PROCESSES):
        wait_for_quiet(wait)
        found[f"{processes}p"] = figures = bare_rate(context, pdfs, processes)
        print(
            f"  {processes} process{'es' if processes > 1 else ''}: {figures['pages']} pages in"
            f" {figures['seconds']:.1f} s, {figures['pages_per_s']:.1f} pages/s, {figures['files_per_s']:.2f} files/s,"
            f" {figures['mb_per_s']:.1f} MB/s, {figures['pages_per_cpu_s']:.0f} pages per CPU-s"
            f" (largest worker {figures['peak_worker_rss_mb']:.0f} MB)",
            flush=True,
        )
        warn_if_busy(figures)
    return found


def _spin(seconds: float) -> int:
    """Pure-Python busy work for about *seconds*; returns the loops done."""
    loops, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for _ in range(10_000):
            loops += 1
    return loops


def cpu_scaling(context, processes: int) -> dict:
    """How much more work *processes* processes get done than one: on a VM, often less than that."""
    single = _spin(2.0)
    with context.Pool(processes) as pool:
        parallel = sum(pool.map(_spin, [2.0] * processes))
    return {"processes": processes, "speedup": round(parallel / single, 2)}


# --------------------------------------------------------------------------------------
# Sampling memory and CPU
# --------------------------------------------------------------------------------------


def _total(times) -> float:
    return sum(times) - getattr(times, "guest", 0) - getattr(times, "guest_nice", 0)


def _hwm_bytes(pid: int) -> int:
    """The process's peak resident set (VmHWM) as the kernel counts it, or 0."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class Sampler:
    """Samples RSS of this process and all its descendants, and CPU use, in a thread."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.me = psutil.Process()
        self.peak_main = self.peak_total = self.peak_child = self.peak_worker = 0
        self.hwm_child: dict[int, int] = {}
        self.worker_pids: set[int] = set()
        self.child_cpu: dict[int, float] = {}
        self.core_samples: list[list[float]] = []
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    def __enter__(self) -> Sampler:
        self.started = time.perf_counter()
        self.cpu_times_start = psutil.cpu_times(percpu=True)
        self.main_cpu_start = self.me.cpu_times()
        psutil.cpu_percent(percpu=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.seconds = time.perf_counter() - self.started
        self.cpu_times_end = psutil.cpu_times(percpu=True)
        self.main_cpu_end = self.me.cpu_times()

    def _run(self) -> None:
        last_cores = time.monotonic()
        while not self._stop.wait(self.interval):
            self._sample()
            if time.monotonic() - last_cores >= 0.5:
                self.core_samples.append(psutil.cpu_percent(percpu=True))
                last_cores = time.monotonic()
        self._sample()

    def _sample(self) -> None:
        try:
            total = main = self.me.memory_info().rss
            children = self.me.children(recursive=True)
        except psutil.Error:
            return
        for child in children:
            try:
                with child.oneshot():
                    rss = child.memory_info().rss
                    cpu = child.cpu_times()
                    parent = child.ppid()
            except psutil.Error:
                continue
            total += rss
            self.peak_child = max(self.peak_child, rss)
            self.hwm_child[child.pid] = max(self.hwm_child.get(child.pid, 0), _hwm_bytes(child.pid), rss)
            self.child_cpu[child.pid] = cpu.user + cpu.system
            if parent != self.me.pid:  # forked by the forkserver: an extraction worker
                self.worker_pids.add(child.pid)
                self.peak_worker = max(self.peak_worker, rss)
        self.samples += 1
        self.peak_main = max(self.peak_main, main)
        self.peak_total = max(self.peak_total, total)

    def figures(self) -> dict:
        pairs = list(zip(self.cpu_times_start, self.cpu_times_end, strict=True))
        busy, busy_seconds = [], 0.0
        for start, end in pairs:
            # guest time is already counted in user and nice
            elapsed = _total(end) - _total(start)
            idle = (end.idle - start.idle) + (getattr(end, "iowait", 0) - getattr(start, "iowait", 0))
            busy.append(round(100 * (elapsed - idle) / elapsed, 1) if elapsed > 0 else 0.0)
            busy_seconds += elapsed - idle
        sampled = [round(statistics.fmean(core), 1) for core in zip(*self.core_samples, strict=True)]
        main_cpu = sum(self.main_cpu_end[:2]) - sum(self.main_cpu_start[:2])
        ours = main_cpu + sum(self.child_cpu.values())
        breakdown = {  # seconds summed over the cores; the workers run niced, so their time shows as "nice"
            field: round(sum(getattr(end, field) - getattr(start, field) for start, end in pairs), 2)
            for field in ("user", "nice", "system", "iowait", "softirq", "steal", "idle")
        }
        worker_hwm = [self.hwm_child[pid] for pid in self.worker_pids if pid in self.hwm_child]
        return {
            "samples": self.samples,
            "peak_rss_main_mb": round(self.peak_main / MIB, 1),
            "peak_rss_total_mb": round(self.peak_total / MIB, 1),
            "largest_worker_rss_mb": round(self.peak_worker / MIB, 1),
            "largest_worker_hwm_mb": round(max(worker_hwm, default=0) / MIB, 1),
            "largest_child_hwm_mb": round(max(self.hwm_child.values(), default=0) / MIB, 1),
            "cpu_percent_per_core_sampled": sampled,
            "cpu_percent_per_core": busy,
            "cpu_percent_avg": round(statistics.fmean(busy), 1) if busy else 0.0,
            "cpu_seconds_all_cores": breakdown,
            # CPU time the machine spent outside this benchmark's processes (other users' jobs, the
            # kernel's own threads): when it is more than a few % of the capacity, the rates are not clean.
            "cpu_s_not_ours": round(busy_seconds - ours, 1),
            "cpu_share_not_ours": round((busy_seconds - ours) / (self.seconds * len(pairs)), 3),
            "main_process_cpu_s": round(main_cpu, 2),
            "children_cpu_s": round(sum(self.child_cpu.values()), 2),
            "main_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MIB, 1),
        }


# --------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------


def run_import(label: str, files: list[Path], datadir_path: Path, profile: Path | None) -> dict:
    from catalog.datadir import DataDir
    from catalog.extract import Limits
    from catalog.ingest import Importer
    from catalog.workers import PoolSettings

    shutil.rmtree(datadir_path, ignore_errors=True)
    datadir = DataDir(datadir_path)
    datadir.create()
    importer = Importer(datadir, Limits(), PoolSettings(processes=IMPORT_PROCESSES, timeout_seconds=300))
    done = [0]
    started = time.perf_counter()

    def progress(outcome) -> None:
        done[0] += 1
        if done[0] % 100 == 0:
            elapsed = time.perf_counter() - started
            print(f"  [{label}] {done[0]}/{len(files)} files, {elapsed:.0f} s", flush=True)

    profiler = cProfile.Profile() if profile else None
    with Sampler() as sampler:
        if profiler:
            profiler.enable()
        outcomes = importer.run(files, on_outcome=progress)
        if profiler:
            profiler.disable()
    seconds = sampler.seconds
    if profiler and profile:
        profiler.dump_stats(str(profile))

    by_status: dict[str, int] = {}
    for outcome in outcomes:
        by_status[outcome.status] = by_status.get(outcome.status, 0) + 1
    imported = [o for o in outcomes if o.status == "imported"]
    pdf_pages = sum(o.pages for o in imported if o.path.suffix == ".pdf")
    epub_chapters = sum(o.pages for o in imported if o.path.suffix == ".epub")
    size = sum(o.size for o in imported)
    stored = sum(p.stat().st_size for p in datadir_path.glob("catalogue.sqlite3*"))
    figures = {
        "files": len(files),
        "imported": by_status.get("imported", 0),
        "duplicate": by_status.get("duplicate", 0),
        "refused": by_status.get("refused", 0),
        "refusals": [f"{o.path.name}: {o.reason_code}: {o.error}" for o in outcomes if o.status == "refused"],
        "seconds": round(seconds, 2),
        "files_per_s": round(len(imported) / seconds, 2),
        "mb": round(size / MB, 1),
        "mb_per_s": round(size / MB / seconds, 2),
        "pdf_pages": pdf_pages,
        "pdf_pages_per_s": round(pdf_pages / seconds, 1),
        "epub_chapters": epub_chapters,
        "units_per_s": round((pdf_pages + epub_chapters) / seconds, 1),
        "database_mb": round(stored / MB, 1),
    }
    figures.update(sampler.figures())
    own_cpu = figures["main_process_cpu_s"] + figures["children_cpu_s"]
    figures["pdf_pages_per_cpu_s"] = round(pdf_pages / own_cpu, 1) if own_cpu else 0.0
    return figures


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def generate(args, context, cache: Path) -> tuple[list[dict], dict]:
    cache.mkdir(parents=True, exist_ok=True)
    for leftover in cache.glob(".*.part"):
        leftover.unlink()
    plans = [book_plan(args.seed, index, args.pdf_share) for index in range(args.books)]
    missing = [plan["index"] for plan in plans if not (cache / plan["name"]).exists()]
    started = time.perf_counter()
    if missing:
        print(f"generating {len(missing)} of {len(plans)} books in {cache} ...", flush=True)
        tasks = [(args.seed, args.pdf_share, index, str(cache)) for index in missing]
        with context.Pool(args.gen_processes) as pool:
            for count, _ in enumerate(pool.imap_unordered(generate_book, tasks, chunksize=1), start=1):
                if count % 50 == 0 or count == len(tasks):
                    print(f"  generated {count}/{len(tasks)} ({time.perf_counter() - started:.0f} s)", flush=True)
    seconds = time.perf_counter() - started
    return plans, {"generated_now": len(missing), "generation_seconds": round(seconds, 1)}


def describe(plans: list[dict], cache: Path, generation: dict) -> dict:
    sizes = {"epub": [], "pdf": []}
    for plan in plans:
        sizes[plan["kind"]].append((cache / plan["name"]).stat().st_size)
    facts = {"books": len(plans), **generation}
    for kind, values in sizes.items():
        low, high = PDF_BYTES if kind == "pdf" else EPUB_BYTES
        parts = [plan["parts"] for plan in plans if plan["kind"] == kind]
        facts[kind] = {
            "count": len(values),
            "mb": round(sum(values) / MB, 1),
            "kb_min": round(min(values, default=0) / KB),
            "kb_median": round(statistics.median(values) / KB) if values else 0,
            "kb_max": round(max(values, default=0) / KB),
            ("pages" if kind == "pdf" else "chapters"): sum(parts),
            "outside_size_range": sum(not low * 0.9 <= value <= high * 1.1 for value in values),
        }
    facts["languages"] = {lang: sum(plan["language"] == lang for plan in plans) for lang in ("id", "en")}
    return facts


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "ram_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "python": platform.python_version(),
        "pymupdf": importlib.metadata.version("pymupdf"),
        "ebooklib": importlib.metadata.version("ebooklib"),
        "platform": platform.platform(),
        "cpu_model": _cpu_model(),
    }


def _cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def print_import(title: str, figures: dict) -> None:
    print(f"\n{title}")
    print(
        f"  {figures['imported']} imported, {figures['duplicate']} duplicate, {figures['refused']} refused"
        f" of {figures['files']} files in {figures['seconds']:.1f} s"
    )
    for refusal in figures["refusals"]:
        print(f"    refused: {refusal}")
    print(
        f"  {figures['files_per_s']:.2f} files/s, {figures['mb_per_s']:.2f} MB/s,"
        f" {figures['pdf_pages_per_s']:.1f} PDF pages/s ({figures['pdf_pages']} pages over the whole wall time),"
        f" {figures['units_per_s']:.1f} pages+chapters/s"
    )
    print(
        f"  peak RSS: main {figures['peak_rss_main_mb']:.0f} MB, main+children {figures['peak_rss_total_mb']:.0f} MB,"
        f" largest worker {figures['largest_worker_hwm_mb']:.0f} MB"
        f" (VmHWM; sampled {figures['largest_worker_rss_mb']:.0f});"
        f" main process lifetime maximum {figures['main_maxrss_mb']:.0f} MB"
    )
    print(
        f"  CPU per core {figures['cpu_percent_per_core']} %"
        f" (psutil samples {figures['cpu_percent_per_core_sampled']}),"
        f" average {figures['cpu_percent_avg']:.0f} %; main process {figures['main_process_cpu_s']:.1f} CPU s,"
        f" children {figures['children_cpu_s']:.1f} CPU s ({figures['pdf_pages_per_cpu_s']:.0f} PDF pages per CPU-s);"
        f" database {figures['database_mb']} MB"
    )
    warn_if_busy(figures)


def warn_if_busy(figures: dict) -> None:
    if figures["cpu_share_not_ours"] > NOT_OURS_LIMIT:
        print(
            f"  WARNING: {100 * figures['cpu_share_not_ours']:.0f} % of the CPU time went to processes outside this"
            " benchmark: the machine was not quiet, so these rates are not clean"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--books", type=int, default=1000)
    parser.add_argument("--pdf-share", type=float, default=0.5)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench-ingest"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the imported data directories")
    parser.add_argument("--gen-processes", type=int, default=os.cpu_count() or 1, help="processes for generation")
    parser.add_argument(
        "--wait-quiet", type=float, default=120, help="seconds to wait for idle CPUs before each timed phase"
    )
    parser.add_argument("--no-pdf-only", action="store_true", help="skip the second, PDF-only import")
    parser.add_argument(
        "--reference-runs", type=int, default=2, choices=(1, 2), help="bare extraction before (and after) the imports"
    )
    parser.add_argument("--profile", type=Path, help="cProfile the main process during the full import into this file")
    args = parser.parse_args(argv)

    context = multiprocessing.get_context("forkserver")
    workdir = args.workdir.absolute()
    cache = workdir / f"books-v{GENERATOR_VERSION}-seed{args.seed}-pdf{args.pdf_share:g}"
    facts = machine()
    print(
        f"machine: {facts['cpus']} CPUs ({facts['cpu_model']}), {facts['ram_gb']} GB RAM, Python {facts['python']},"
        f" PyMuPDF {facts['pymupdf']}, ebooklib {facts['ebooklib']}"
    )

    facts["cpu_scaling"] = cpu_scaling(context, IMPORT_PROCESSES)
    print(
        f"  {IMPORT_PROCESSES} busy processes do {facts['cpu_scaling']['speedup']:.2f} x the pure-Python work of one"
        f" (ideal {IMPORT_PROCESSES:.2f})",
        flush=True,
    )

    plans, generation = generate(args, context, cache)
    collection = describe(plans, cache, generation)
    print(
        f"collection: {collection['books']} books"
        f" ({collection['languages']['id']} id, {collection['languages']['en']} en)"
        f" in {cache}; generated {generation['generated_now']} now in {generation['generation_seconds']} s"
    )
    for kind in ("epub", "pdf"):
        c = collection[kind]
        unit = "pages" if kind == "pdf" else "chapters"
        print(
            f"  {c['count']} {kind.upper()}s, {c['mb']} MB, size {c['kb_min']}/{c['kb_median']}/{c['kb_max']} KB"
            f" (min/median/max), {c[unit]} {unit}, {c['outside_size_range']} outside the size range"
        )

    all_files = [cache / plan["name"] for plan in plans]
    pdfs = [cache / plan["name"] for plan in plans if plan["kind"] == "pdf"]
    bare_runs: list[dict] = []
    if pdfs:
        print("\nreference: bare PyMuPDF text extraction over the same PDFs (before the imports)")
        bare_runs.append(reference(context, pdfs, args.wait_quiet))

    baseline_rss = psutil.Process().memory_info().rss / MIB
    print(f"\nmain process RSS before importing: {baseline_rss:.0f} MB")
    wait_for_quiet(args.wait_quiet)
    imports = {"all": run_import("all", all_files, workdir / "data-all", args.profile)}
    print_import(
        f"import of the whole collection ({len(all_files)} files, EPUBs and PDFs in book order)", imports["all"]
    )
    if pdfs and not args.no_pdf_only:
        wait_for_quiet(args.wait_quiet)
        imports["pdf_only"] = run_import("pdf", pdfs, workdir / "data-pdf", None)
        print_import(
            f"import of the PDFs alone ({len(pdfs)} files, the same work as the reference)", imports["pdf_only"]
        )

    if pdfs and args.reference_runs > 1:
        print("\nreference again, after the imports (the ratio uses the mean of the clean runs, or of all)")
        bare_runs.append(reference(context, pdfs, args.wait_quiet))
    bare = {}
    if bare_runs:
        for key in bare_runs[0]:
            runs = [run[key] for run in bare_runs]
            # A run disturbed by other jobs would drag the reference down: use the clean ones when there are any.
            clean = [run for run in runs if run["cpu_share_not_ours"] <= NOT_OURS_LIMIT]
            used = clean or runs
            bare[key] = {
                "pages_per_s": round(statistics.fmean(run["pages_per_s"] for run in used), 1),
                "pages_per_cpu_s": round(statistics.fmean(run["pages_per_cpu_s"] for run in used), 1),
                "runs_used": f"{len(clean)} clean" if clean else f"all {len(runs)}, none clean",
                "runs": runs,
            }
    ratio = {}
    if bare and "pdf_only" in imports:
        rate = imports["pdf_only"]["pdf_pages_per_s"]
        ratio = {
            "import_vs_bare_2p": round(rate / bare[f"{IMPORT_PROCESSES}p"]["pages_per_s"], 3),
            "import_vs_bare_1p": round(rate / bare["1p"]["pages_per_s"], 3),
            "import_vs_each_bare_2p_run": [
                round(rate / run["pages_per_s"], 3) for run in bare[f"{IMPORT_PROCESSES}p"]["runs"]
            ],
            # Pages per CPU-second of the importer's processes (main + workers) over pages per CPU-second
            # of bare extraction with 2 processes: what the ratio would be with both cores fully ours.
            "cpu_efficiency_vs_bare_2p": round(
                imports["pdf_only"]["pdf_pages_per_cpu_s"] / bare[f"{IMPORT_PROCESSES}p"]["pages_per_cpu_s"], 3
            ),
        }
    peak = max(figures["peak_rss_total_mb"] for figures in imports.values())
    goal = {
        "ratio_goal": GOAL_RATIO,
        "ratio_met": bool(ratio) and ratio["import_vs_bare_2p"] >= GOAL_RATIO,
        "peak_rss_goal_mb": GOAL_PEAK_RSS_MB,
        "peak_rss_total_mb": peak,
        "peak_rss_met": peak < GOAL_PEAK_RSS_MB,
        "no_refusals": all(figures["refused"] == 0 for figures in imports.values()),
        "quiet_machine": all(
            figures["cpu_share_not_ours"] <= NOT_OURS_LIMIT
            for figures in [*imports.values(), *(run[key] for run in bare_runs for key in run)]
        ),
    }
    print("\nresult")
    if ratio:
        print(
            f"  PDF import {imports['pdf_only']['pdf_pages_per_s']:.1f} pages/s"
            f" = {ratio['import_vs_bare_2p']:.2f} x bare extraction with {IMPORT_PROCESSES} processes"
            f" ({bare[f'{IMPORT_PROCESSES}p']['pages_per_s']:.1f} pages/s, mean of runs used:"
            f" {bare[f'{IMPORT_PROCESSES}p']['runs_used']};"
            f" per run {ratio['import_vs_each_bare_2p_run']}),"
            f" {ratio['import_vs_bare_1p']:.2f} x with 1 process ({bare['1p']['pages_per_s']:.1f} pages/s)"
        )
        print(
            f"  per CPU-second: import {imports['pdf_only']['pdf_pages_per_cpu_s']:.1f} pages (main + workers),"
            f" bare {bare[f'{IMPORT_PROCESSES}p']['pages_per_cpu_s']:.1f} pages:"
            f" {ratio['cpu_efficiency_vs_bare_2p']:.2f} x (the ratio with the cores all ours; noise-resistant)"
        )
        print(f"  goal import >= {GOAL_RATIO:.2f} x bare 2-process rate: {'met' if goal['ratio_met'] else 'NOT met'}")
    verdict = "met" if goal["peak_rss_met"] else "NOT met"
    print(f"  goal peak RSS (main + children) < {GOAL_PEAK_RSS_MB} MB: {peak:.0f} MB, {verdict}")
    print(f"  refusals: {'none' if goal['no_refusals'] else 'SOME (see above)'}")
    if not goal["quiet_machine"]:
        print("  WARNING: other processes used the CPU during some measurements (see above); run again when quiet")

    if not args.keep:
        for name in ("data-all", "data-pdf"):
            shutil.rmtree(workdir / name, ignore_errors=True)
    result = {
        "bench": "ingest",
        "generator_version": GENERATOR_VERSION,
        "argv": sys.argv[1:] if argv is None else argv,
        "machine": facts,
        "collection": collection,
        "main_rss_before_import_mb": round(baseline_rss, 1),
        "bare_extraction": bare,
        "import": imports,
        "ratio": ratio,
        "goal": goal,
    }
    (workdir / "last-result.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
