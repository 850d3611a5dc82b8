"""The library bench/load.py runs against, and the addresses its clients visit.

The generated catalogue of bench/search.py has the text of its books but no book files. So
that reading costs what it costs in a real library (a PDF page drawn as an image), real PDFs
from the shared corpus are put in place as the files of some generated PDF books; importing
them instead would change the search index, and updating an index of 10,000 books takes
longer than the benchmark. Some titles are put on loan licences with few copies, so that
fifty patrons borrowing at once meet full titles and queues, and members with PINs are
registered for the clients to sign in as. All of it is done once per data directory.
"""

from __future__ import annotations

import contextlib
import json
import random
import shutil
import sys
import urllib.parse
from pathlib import Path

from catalog import db, lending, members, pins
from catalog.datadir import DataDir

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import opac as opac_bench  # noqa: E402  (bench/opac.py: results pages of the generated queries)

CORPUS = HERE.parent.parent / "shared" / "corpus" / "pdf"
REAL_PDFS = {  # file: pages
    "id-uu-39-1999-ham.pdf": 8,
    "pdfjs-tracemonkey.pdf": 14,
    "pypdf-pdflatex-4-pages.pdf": 4,
    "id-pp-05-2021-scanned.pdf": 6,
}
ATTACHED = 40  # generated PDF books given a real file
MEMBER_PREFIX = "LOAD-"
PIN = "2468"
LENT_TITLES = 25  # titles lent in LENT_COPIES copies: 50 patrons meet full titles
LENT_COPIES = 2
MEMBERS = 80  # enough for the largest sweep step
ZERO_RESULT_WORDS = ("qwzxv", "zzkrtp", "xylofonika", "bbbqqq", '"kambing terbang biru"')
ENGLISH_WORDS = ("library", "village", "water", "children", "history", "school", "rice")


def _attached_path(datadir: DataDir) -> Path:
    return datadir.root / "load-attached.json"


def prepare(datadir: DataDir) -> None:
    """Real files, loan licences and members, once (the members say it was done)."""
    with contextlib.closing(datadir.connect()) as connection:
        done = connection.execute(
            "SELECT count(*) FROM members WHERE number LIKE ?", (MEMBER_PREFIX + "%",)
        ).fetchone()[0]
        if done >= MEMBERS and _attached_path(datadir).exists():
            return
        attached = _attach_files(datadir, connection)
        rng = random.Random("load:lent")
        lent = [int(record_id) for record_id in list(attached)[: LENT_TITLES // 3]]
        others = [row[0] for row in connection.execute("SELECT id FROM records WHERE id <= 2000 ORDER BY id")]
        others = [record_id for record_id in others if str(record_id) not in attached]
        lent += rng.sample(others, LENT_TITLES - len(lent))
        for record_id in lent:
            with db.transaction(connection):
                lending.set_licence(connection, record_id, copies=LENT_COPIES, loan_days=14)
        for number in range(1, MEMBERS + 1):
            member_number = f"{MEMBER_PREFIX}{number:04d}"
            if connection.execute("SELECT 1 FROM members WHERE number = ?", (member_number,)).fetchone():
                continue
            with db.transaction(connection):
                members.register_member(connection, f"Pembaca Uji {number}", number=member_number)
            pins.set_pin(connection, member_number, PIN)


def _attach_files(datadir: DataDir, connection) -> dict[str, int]:
    """Copies real PDFs as the files of ATTACHED generated PDF books; {record id: pages}."""
    rows = connection.execute(
        "SELECT record_id, sha256 FROM ebook_files WHERE format = 'pdf' ORDER BY record_id LIMIT ?", (ATTACHED,)
    ).fetchall()
    attached = {}
    for number, (record_id, sha256) in enumerate(rows):
        name, pages = list(REAL_PDFS.items())[number % len(REAL_PDFS)]
        target = datadir.book_path(sha256, "pdf")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CORPUS / name, target)
        attached[str(record_id)] = pages
    _attached_path(datadir).write_text(json.dumps(attached))
    return attached


def plan(datadir: DataDir, seed: int, books: int) -> dict:
    """Every address the clients visit, by kind, drawn once from the library as it is."""
    rng = random.Random(f"{seed}:{books}:load")
    attached = {int(record_id): pages for record_id, pages in json.loads(_attached_path(datadir).read_text()).items()}
    with contextlib.closing(datadir.connect()) as connection:
        sql = connection.execute
        open_ids = [
            row[0] for row in sql("SELECT id FROM records WHERE licence = 'open-access' ORDER BY random() LIMIT 400")
        ]
        lent = [row[0] for row in sql("SELECT id FROM records WHERE licence = 'lending' ORDER BY id")]
        authors = [row[0] for row in sql("SELECT DISTINCT name FROM contributors ORDER BY random() LIMIT 60")]
        subjects = [row[0] for row in sql("SELECT DISTINCT term FROM subjects ORDER BY random() LIMIT 60")]
        text_pages = sql(
            "SELECT f.record_id, t.seq FROM ebook_files f JOIN records r ON r.id = f.record_id"
            " JOIN text_units t ON t.file_id = f.id WHERE r.licence = 'open-access' AND t.seq <= 3"
            " ORDER BY random() LIMIT 300"
        ).fetchall()
    searches = opac_bench.results_paths(datadir, seed, books, 140)
    searches += ["/cari?" + urllib.parse.urlencode({"q": word}) for word in ZERO_RESULT_WORDS + ENGLISH_WORDS]
    rng.shuffle(searches)
    browse = ["/", "/jelajah/baru", "/jelajah/baru?page=3", "/jelajah/language/id", "/jelajah/language/en"]
    browse += ["/jelajah/format/pdf", "/jelajah/format/epub?page=2"]
    browse += [f"/jelajah/author/{urllib.parse.quote(name)}" for name in authors]
    browse += [f"/jelajah/subject/{urllib.parse.quote(term)}" for term in subjects]
    # A page of text from the catalogue, or a page of a PDF and its image (a third of the time).
    reading = [[f"/baca/{record_id}/{seq}"] for record_id, seq in text_pages]
    for record_id, pages in attached.items():
        if record_id not in lent:
            for seq in range(1, min(pages, 4) + 1):
                reading += [[f"/baca/{record_id}/{seq}", f"/baca/{record_id}/{seq}.png"]] * 2
    kiosk = ["/kiosk", "/kiosk/isi", "/kiosk/rak/new", "/kiosk/rak/popular", "/kiosk/rak/hours"]
    kiosk += [f"/kiosk/buku/{record_id}" for record_id in open_ids[:40]]
    kiosk += [f"/kiosk/qr/{record_id}.svg" for record_id in open_ids[40:50]]
    kiosk += [f"/kiosk/baca/{record_id}/{seq}" for record_id, seq in text_pages[:40]]
    return {
        "search": searches,
        "browse": browse,
        "record": [f"/buku/{record_id}" for record_id in open_ids + lent],
        "reading": reading,
        "kiosk": kiosk,
        "lent": lent,
        "attached": sorted(attached),
        "members": [f"{MEMBER_PREFIX}{number:04d}" for number in range(1, MEMBERS + 1)],
        "pin": PIN,
        "reference": ["/healthz", "/static/site.css"],
    }
