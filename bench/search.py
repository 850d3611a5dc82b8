"""Search benchmark: our Whoosh index against SQLite FTS5 over the same 10,000 books.

    python bench/search.py [--books 10000] [--workdir /tmp/bench-search] [--seed 1] [--queries 200]
                           [--http-clients 20] [--http-seconds 30] [--skip-http] [--profile]

What it does, in order:

1. Prints the machine's facts and any other benchmark running beside this one (the machine
   is shared and noisy, so every figure that matters is a ratio against FTS5 measured in the
   same run, and each phase reports how much CPU other benchmarks used while it ran).
2. Generates the catalogue, or reuses the one cached in the workdir for the same books,
   seed and generator version: records inserted straight into a fresh SQLite catalogue with
   `catalog.records.add_record` (no file import). Each book has 20-50 KB of text in 5-40
   pages or chapters; 70% are Indonesian and 30% English, drawn with a Zipf distribution
   from a few thousand words per language: real common words, real Indonesian roots with
   their affixed forms (me-, di-, ber-, pe-an, -kan, -nya, ...; so stemming matters),
   invented words in the same shapes. Titles, authors, subjects, years, some ISBNs.
   Generation time is printed but is not a measured figure.
3. Builds our index: `rebuild_index(open_index(datadir), connection)` in a fresh process,
   timed, with its peak RSS (this process and its children) sampled; MB/s is of source
   text (the UTF-8 bytes of every page/chapter), MB = 10^6 bytes; sizes and RSS in MiB.
4. Builds the FTS5 reference over the same text in a fresh process: one row per
   page/chapter (`unicode61 remove_diacritics 2`), a small metadata FTS table for fielded
   queries and a plain table of languages for filtered ones; then 'optimize'.
5. Runs the fixed query set (one word, two words, phrase, prefix, fielded, filtered,
   misspelled) once through `catalog.search.search` in a fresh process, and once through the
   FTS5 equivalent (top 10 books by best page, up to 3 `snippet()`s from each, title, total)
   in another, after a warm-up of one query of each kind that is not in the measured set.
6. Unless --skip-http: starts `python -m ebookserver serve` (waitress) on 127.0.0.1, waits
   for /healthz to report the index, and has --http-clients threads (keep-alive) search
   /api/v1/search for --http-seconds, sampling the server's RSS.

Human-readable lines first, then one JSON line with every figure, the ratios ours/FTS5 and
whether each goal of the issue is met. Per-query details are in the workdir (*.jsonl).
Not a test: nothing here is asserted, and it is not collected by pytest.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import importlib.metadata
import json
import math
import multiprocessing
import os
import platform
import pstats
import random
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from catalog import db, records  # noqa: E402
from catalog.datadir import DataDir  # noqa: E402
from catalog.extract.model import Contributor, Extraction, TextUnit  # noqa: E402
from catalog.search.analysis import ENGLISH_STOPWORDS, indonesian_stopwords  # noqa: E402

# Bump when the books generated for a seed change, so an old cache is not reused.
GENERATOR_VERSION = 1
BOOK_CHARS = (20_000, 50_000)
BOOK_UNITS = (5, 40)
INDONESIAN_SHARE = 0.70
PDF_SHARE = 0.5
ISBN_SHARE = 0.10
INSERT_BATCH = 200
HTTP_TIMEOUT = 120  # seconds a client waits for one response before counting an error
MB = 1000 * 1000
MIB = 1024 * 1024

GOALS = {
    "query_p95_ratio_max": 3.0,
    "query_p95_ms_max": 100.0,
    "search_rss_mib_max": 400.0,
    "build_mb_per_s_min": 3.0,
    "http_p95_ms_max": 200.0,
    "http_errors_max": 0,
    "server_rss_mib_max": 600.0,
}
KINDS = ("word", "two_words", "phrase", "prefix", "fielded", "filtered", "misspelled")

# --------------------------------------------------------------------------------------
# Words
# --------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


# Indonesian function words, most frequent first (roughly).
INDONESIAN_FUNCTION = _words("""
yang dan di ini itu dengan untuk tidak dari dalam akan pada juga ke karena tersebut bisa ada
mereka lebih kami sudah atau saat oleh menjadi orang kita hanya telah namun seperti bahwa jika
harus masih dapat setelah kata banyak sangat semua sebagai para sebuah secara bagi antara sampai
tentang kemudian selalu pernah belum sering lalu sekarang dulu agar tetapi serta maka hingga
ketika sejak bahkan beberapa setiap tahun hari baru besar
""")
# Indonesian roots that take the verbal affixes, in Sastrawi's dictionary.
INDONESIAN_VERB_ROOTS = _words("""
baca tulis ajar tanam bangun kerja jual beli pakai kirim cari lihat dengar bicara masak cuci
sapu tanya jawab pikir rasa hitung ukur tambah sehat didik tani ternak panen pelihara lindung
bantu dukung kembang tumbuh hasil olah simpan jaga rawat obat periksa latih gabung kumpul susun
atur pimpin perintah pilih ubah pindah buka tutup tunggu temu kenal harap percaya guna manfaat
milik bayar pinjam sewa tukar kunjung tinggal hidup lahir bersih aman damai adil makmur cetak
terbit cerita nyanyi tari lukis ukir tenun anyam usaha dagang modal untung tabung pupuk tangkap
dayung pancing tebang bakar rusak sakit paham ingat lupa jelas kembali ambil antar angkat
bagi bahas beri bina buat catat cipta coba daftar dapat dorong duduk gambar ganti gerak gunting
hadap hafal hemat hias hormat isi jahit jemur kelola kenang kupas lapor layan lempar lepas
lukis mandi masuk minum muat mulai nilai olah pasang pelajar pesan petik pikul potong pukul
putar rakit rekam ringkas sambut sapa sebar sedia siap siram sisih sulam tabur tahan tanggung
tarik tawar tebar tekan terang tiup tolong tonton tulis tumbuk ulang undang urus
""")
INDONESIAN_NOUN_ROOTS = _words("""
desa kota negara daerah rumah buku air tanah hutan sungai laut pulau gunung nelayan padi jagung
sayur buah bunga pohon kayu batu pasar jembatan listrik lampu musim angin cuaca bencana guru
murid siswa anak keluarga warga masyarakat adat budaya sejarah lagu seni agama ilmu harga uang
koperasi bibit sapi kambing ayam kopi teh beras gula garam minyak kain baju perahu kapal sepeda
surat kabar berita telepon komputer internet halaman kalimat huruf angka peta pustaka kebun
sawah ladang ikan dongeng pantai sekolah kampung kecamatan kabupaten provinsi pemuda bidan
dokter perawat petugas hujan banjir kemarau panas dingin
""")
ENGLISH_FUNCTION = _words("""
the of and to a in is that for it as was with be by on not he this are or his from at which
but have an they you were her she there one all we their been has will would more if no when
can said who so what up about into them out some than other only its also then two over
""")
ENGLISH_STEMS = _words("""
village school library book water child learn read write community health education farm
history culture language story knowledge environment source activity program result good
first second year day world life work house land river forest market teacher student family
government report chapter page study local plant grow harvest fish rain season tree seed soil
rice corn vegetable fruit flower road bridge city country island mountain sea boat people
woman mother father teach build help care clean cook sell buy pay save money price trade small
large new old long short strong clear village doctor nurse medicine school lesson letter word
number picture map paper print publish listen speak answer question think count measure
protect support develop open close wait meet know remember forget hope believe use own rent
visit live born safe peace fair rich poor weather flood fire wind song dance paint weave
business capital profit bank loan seed fertilizer garden field catch sail net cut burn break
sick understand return take carry share discuss give make note create try list get push sit
draw change move keep decorate respect fill sew dry manage record serve prepare pull press
blow watch invite organize repeat collect arrange lead choose village coast province district
""")

ID_ONSETS = ["b", "c", "d", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "w", "y", "ng", "ny", "", ""]
ID_ONSETS += ["b", "k", "m", "p", "s", "t"]  # the frequent ones twice
ID_VOWELS = ["a", "a", "a", "i", "i", "u", "u", "e", "e", "o"]
ID_CODAS = ["", "", "", "", "n", "ng", "r", "k", "t", "s", "l", "h", "m"]
EN_ONSETS = _words("b bl br c ch cl cr d dr f fl fr g gl gr h j k l m n p pl pr r s sh sl sp st str t th tr w wh y")
EN_VOWELS = _words("a e i o u a e i o ea ee oo ou ai oa")
EN_CODAS = [*_words("nd nt st ck ll ng rt rn sh th n t d r s m p x lk mp"), "", "", ""]
EN_SUFFIXES = ["ing", "ed", "s", "er", "tion", "ness", "ment", "ly", "able"]

FIRST_NAMES = _words("""Siti Budi Dewi Agus Sri Ahmad Rina Joko Putri Andi Wayan Made Nyoman Ketut Fitri Yusuf Ayu
Bambang Indah Hendra Maria Yohanes Nur Rizki Eko Wulan John Sarah David Emily Peter Grace Dian Teguh Ratna""")
LAST_NAMES = _words("""Santoso Rahayu Wijaya Saputra Hidayat Lestari Nugroho Siregar Nasution Simanjuntak Pratama
Kusuma Harahap Wibowo Setiawan Gunawan Hutapea Tanjung Sinaga Smith Brown Taylor Wilson Clarke Purba Manurung
Sitompul Halim Susanto Kurniawan Permana Sembiring Tarigan Pohan Lubis Daulay Effendi Hasibuan Batubara""")
PUBLISHERS = [
    "Kementerian Pendidikan dan Kebudayaan",
    "Balai Pustaka",
    "Penerbit Desa Membaca",
    "Yayasan Literasi Nusantara",
    "Community Library Press",
    "Open Books Indonesia",
    "Gramedia",
    "Pustaka Jaya",
]
SUBJECTS = {
    "id": [
        "Pertanian",
        "Pendidikan",
        "Sejarah",
        "Kesehatan",
        "Cerita rakyat",
        "Lingkungan",
        "Perikanan",
        "Peternakan",
        "Koperasi",
        "Kebudayaan",
        "Bahasa Indonesia",
        "Keterampilan",
        "Agama",
        "Geografi",
    ],
    "en": [
        "Agriculture",
        "Education",
        "History",
        "Health",
        "Folk tales",
        "Environment",
        "Fisheries",
        "Livestock",
        "Cooperatives",
        "Culture",
        "Reading",
        "Crafts",
        "Geography",
    ],
}


def _nasal(base: str, root: str) -> str:
    """me-/pe- with the nasal the root's first sound takes: baca -> membaca, tulis -> menulis."""
    first = root[0]
    if first in "aiueogh":
        return base + "ng" + root
    if first == "k":
        return base + "ng" + root[1:]
    if first in "bfv":
        return base + "m" + root
    if first == "p":
        return base + "m" + root[1:]
    if first == "t":
        return base + "n" + root[1:]
    if first in "dcjz":
        return base + "n" + root
    if first == "s":
        return base + "ny" + root[1:]
    return base + root


INDONESIAN_AFFIXES = {
    "me": lambda r: _nasal("me", r),
    "di": lambda r: "di" + r,
    "pe": lambda r: _nasal("pe", r),
    "pe-an": lambda r: _nasal("pe", r) + "an",
    "-an": lambda r: r + "an",
    "me-kan": lambda r: _nasal("me", r) + "kan",
    "di-kan": lambda r: "di" + r + "kan",
    "me-i": lambda r: _nasal("me", r) + "i",
    "ber": lambda r: ("be" if r[0] == "r" else "ber") + r,
    "ter": lambda r: "ter" + r,
    "ke-an": lambda r: "ke" + r + "an",
    "per-an": lambda r: "per" + r + "an",
    "-nya": lambda r: r + "nya",
}
NOUN_AFFIXES = ("-nya", "-an", "ke-an", "per-an", "ber")


def _english_forms(stem: str, rng: random.Random) -> list[str]:
    if stem.endswith("e"):
        forms = [stem + "s", stem + "d", stem[:-1] + "ing", stem + "r"]
    elif stem.endswith("y") and stem[-2:-1] not in ("a", "e", "o", "u"):
        forms = [stem[:-1] + "ies", stem[:-1] + "ied", stem + "ing"]
    else:
        forms = [stem + "s", stem + "ed", stem + "ing", stem + "er"]
    return [stem, *rng.sample(forms, rng.randint(1, len(forms)))]


class Vocabulary:
    """A few thousand words per language, ranked, with Zipf-Mandelbrot weights."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"{seed}:vocabulary")
        taken: set[str] = set(INDONESIAN_FUNCTION) | set(ENGLISH_FUNCTION)

        def add(word: str, into: list[tuple[float, str]], score: float) -> None:
            if word not in taken and 2 <= len(word) <= 20:
                taken.add(word)
                into.append((score, word))

        indonesian: list[tuple[float, str]] = []
        for root in dict.fromkeys(INDONESIAN_VERB_ROOTS):
            add(root, indonesian, rng.random() * 0.5)
            for affix in rng.sample(sorted(INDONESIAN_AFFIXES), rng.randint(4, 8)):
                add(INDONESIAN_AFFIXES[affix](root), indonesian, rng.random() * 0.7)
        for root in dict.fromkeys(INDONESIAN_NOUN_ROOTS):
            add(root, indonesian, rng.random() * 0.4)
            for affix in rng.sample(NOUN_AFFIXES, rng.randint(1, 3)):
                add(INDONESIAN_AFFIXES[affix](root), indonesian, rng.random() * 0.8)
        add("perpustakaan", indonesian, 0.05)
        add("pustakawan", indonesian, 0.3)
        synthetic_id = 0
        while synthetic_id < 900:
            root = "".join(
                rng.choice(ID_ONSETS) + rng.choice(ID_VOWELS) + (rng.choice(ID_CODAS) if rng.random() < 0.5 else "")
                for _ in range(rng.choice((2, 2, 2, 3)))
            )
            if not 3 <= len(root) <= 10 or root in taken:
                continue
            synthetic_id += 1
            add(root, indonesian, 0.3 + rng.random() * 0.7)
            for affix in rng.sample(sorted(INDONESIAN_AFFIXES), rng.randint(0, 3)):
                add(INDONESIAN_AFFIXES[affix](root), indonesian, 0.4 + rng.random() * 0.6)

        english: list[tuple[float, str]] = []
        for stem in dict.fromkeys(ENGLISH_STEMS):
            for number, form in enumerate(_english_forms(stem, rng)):
                add(form, english, rng.random() * (0.5 if number == 0 else 0.8))
        synthetic_en = 0
        while synthetic_en < 2000:
            word = "".join(
                rng.choice(EN_ONSETS) + rng.choice(EN_VOWELS) + rng.choice(EN_CODAS)
                for _ in range(rng.choice((1, 2, 2, 3)))
            )
            if rng.random() < 0.3:
                word += rng.choice(EN_SUFFIXES)
            if 3 <= len(word) <= 14 and word not in taken:
                synthetic_en += 1
                add(word, english, 0.3 + rng.random() * 0.7)

        indonesian.sort()
        english.sort()
        id_content = [word for _, word in indonesian]
        en_content = [word for _, word in english]
        # Loan words and names: a few English words in Indonesian text and the other way round.
        self.words = {
            "id": INDONESIAN_FUNCTION + _sprinkle(id_content, en_content[:300], every=20),
            "en": ENGLISH_FUNCTION + _sprinkle(en_content, id_content[:200], every=15),
        }
        self.cum_weights = {}
        for language, words in self.words.items():
            total, cumulative = 0.0, []
            for rank in range(len(words)):
                total += 1.0 / (rank + 2.7) ** 1.05
                cumulative.append(total)
            self.cum_weights[language] = cumulative
        self.all_words = set(self.words["id"]) | set(self.words["en"])

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

    def text(self, rng: random.Random, language: str, chars: int) -> str:
        """Paragraphs of about *chars* characters (the last one cut at a word)."""
        found, total = [], 0
        while total < chars:
            found.append(self.paragraph(rng, language))
            total += len(found[-1]) + 2
        text = "\n\n".join(found)
        if len(text) > chars:
            cut = text.rfind(" ", 0, chars)
            text = text[: cut if cut > chars // 2 else chars].rstrip(",") + "."
        return text

    def title(self, rng: random.Random, language: str) -> str:
        words = rng.choices(self.words[language][60:700], k=rng.randint(2, 6))
        return " ".join(word.capitalize() for word in words)

    def content_words(self, language: str) -> list[str]:
        """The words worth searching for, most frequent first."""
        stops = indonesian_stopwords() | ENGLISH_STOPWORDS
        return [word for word in self.words[language] if len(word) >= 4 and word.isalpha() and word not in stops]


def _sprinkle(base: list[str], extra: list[str], every: int) -> list[str]:
    """*base* with the *extra* words inserted one every *every* positions after the first 100."""
    result, extras = list(base[:100]), list(extra)
    for position, word in enumerate(base[100:]):
        result.append(word)
        if extras and position % every == 0:
            result.append(extras.pop(0))
    return result + extras


def isbn13(rng: random.Random) -> str:
    digits = "978602" + "".join(str(rng.randint(0, 9)) for _ in range(6))
    check = (10 - sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits)) % 10) % 10
    return digits + str(check)


# --------------------------------------------------------------------------------------
# The catalogue (generated once per books/seed/generator version, then reused)
# --------------------------------------------------------------------------------------

_VOCABULARIES: dict[int, Vocabulary] = {}


def vocabulary(seed: int) -> Vocabulary:
    if seed not in _VOCABULARIES:
        _VOCABULARIES[seed] = Vocabulary(seed)
    return _VOCABULARIES[seed]


def make_book(task: tuple[int, int]) -> tuple[int, Extraction]:
    """Book number *index* of the collection for *seed*: always the same book."""
    seed, index = task
    words = vocabulary(seed)
    rng = random.Random(f"{seed}:{index}:book")
    language = "id" if rng.random() < INDONESIAN_SHARE else "en"
    file_format = "pdf" if rng.random() < PDF_SHARE else "epub"
    target = rng.randint(*BOOK_CHARS)
    shares = [rng.uniform(0.5, 1.5) for _ in range(rng.randint(*BOOK_UNITS))]
    heading = "Bab" if language == "id" else "Chapter"
    units = []
    for seq, share in enumerate(shares, start=1):
        text = words.text(rng, language, max(300, int(target * share / sum(shares))))
        if file_format == "epub":
            label, href = f"{heading} {seq}: {words.title(rng, language)}", f"text/ch{seq:03d}.xhtml"
        else:
            label, href = None, None
        units.append(TextUnit(seq=seq, text=text, label=label, href=href))
    authors = [
        Contributor(f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}") for _ in range(rng.choice((1, 1, 1, 2, 3)))
    ]
    extraction = Extraction(
        format=file_format,
        title=words.title(rng, language),
        subtitle=words.title(rng, language) if rng.random() < 0.3 else None,
        creators=authors,
        language=language,
        identifiers=[("isbn", isbn13(rng))] if rng.random() < ISBN_SHARE else [],
        publisher=rng.choice(PUBLISHERS),
        year=rng.randint(1960, 2024) if rng.random() < 0.95 else None,
        subjects=rng.sample(SUBJECTS[language], rng.randint(1, 3)),
        description=words.paragraph(rng, language) if rng.random() < 0.4 else None,
        pages=len(units),
        units=units,
    )
    return index, extraction


def catalogue(workdir: Path, books: int, seed: int) -> tuple[DataDir, dict]:
    """The generated catalogue for these parameters, from the cache or made now."""
    folder = workdir / f"catalogue-g{GENERATOR_VERSION}-s{seed}-n{books}"
    manifest_path = folder / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        manifest["cached"] = True
        return DataDir(folder), manifest
    shutil.rmtree(folder, ignore_errors=True)
    datadir = DataDir(folder)
    datadir.create()
    started = time.perf_counter()
    text_bytes = units = 0
    languages = {"id": 0, "en": 0}
    formats = {"epub": 0, "pdf": 0}
    vocabulary(seed)  # built before the pool forks, so the workers inherit it
    with contextlib.closing(datadir.connect()) as connection, multiprocessing.Pool(os.cpu_count() or 1) as pool:
        batch: list[tuple[int, Extraction]] = []

        def flush() -> None:
            with db.transaction(connection):
                for index, extraction in batch:
                    records.add_record(
                        connection,
                        extraction,
                        sha256=hashlib.sha256(f"bench-search:{seed}:{index}".encode()).hexdigest(),
                        size=sum(len(unit.text) for unit in extraction.units) // 3 + 50_000,
                        original_name=f"{index:05d}.{extraction.format}",
                        cover=None,
                    )
            batch.clear()

        for index, extraction in pool.imap(make_book, [(seed, index) for index in range(books)], chunksize=25):
            text_bytes += sum(len(unit.text.encode("utf-8")) for unit in extraction.units)
            units += len(extraction.units)
            languages[extraction.language] += 1
            formats[extraction.format] += 1
            batch.append((index, extraction))
            if len(batch) >= INSERT_BATCH:
                flush()
            if (index + 1) % 1000 == 0:
                print(f"  generated {index + 1}/{books} books", flush=True)
        if batch:
            flush()
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    manifest = {
        "books": books,
        "seed": seed,
        "generator_version": GENERATOR_VERSION,
        "units": units,
        "text_bytes": text_bytes,
        "languages": languages,
        "formats": formats,
        "vocabulary": {language: len(words) for language, words in vocabulary(seed).words.items()},
        "generation_seconds": round(time.perf_counter() - started, 1),
        "database_bytes": datadir.database_path.stat().st_size,
    }
    manifest_path.write_text(json.dumps(manifest))
    manifest["cached"] = False
    return datadir, manifest


# --------------------------------------------------------------------------------------
# The query set
# --------------------------------------------------------------------------------------


def _pick_word(rng: random.Random, words: list[str], low: int = 10, high: int = 1500) -> str:
    """A word by rank, log-uniform between *low* and *high*: common words and rarer ones."""
    high = min(high, len(words) - 1)
    return words[int(math.exp(rng.uniform(math.log(low), math.log(high))))]


def _misspelled(rng: random.Random, word: str, known: set[str]) -> str | None:
    for _ in range(20):
        position = rng.randint(1, len(word) - 2)
        edit = rng.choice(("delete", "swap", "replace"))
        if edit == "delete":
            typo = word[:position] + word[position + 1 :]
        elif edit == "swap":
            typo = word[:position] + word[position + 1] + word[position] + word[position + 2 :]
        else:
            typo = word[:position] + rng.choice("abcdefghijklmnoprstuwy") + word[position + 1 :]
        if typo != word and typo not in known:
            return typo
    return None


def _query(kind: str, q: str, match: str, *, table: str = "units", language: str | None = None) -> dict:
    filters = [["language", language]] if language else []
    params = {"q": q, **({"lang": language} if language else {})}
    return {
        "kind": kind,
        "q": q,
        "filters": filters,
        "path": "/api/v1/search?" + urllib.parse.urlencode(params),
        "fts": {"table": table, "match": match, **({"language": language} if language else {})},
    }


def make_queries(datadir: DataDir, seed: int, books: int, count: int, salt: str) -> list[dict]:
    """*count* queries, the kinds in turn, the same for the same seed, books and salt."""
    rng = random.Random(f"{seed}:{books}:{salt}:queries")
    words = vocabulary(seed)
    content = {language: words.content_words(language) for language in ("id", "en")}
    stops = indonesian_stopwords() | ENGLISH_STOPWORDS
    prefixes_used: set[str] = set()
    queries: list[dict] = []
    with contextlib.closing(datadir.connect()) as connection:
        record_ids = [row[0] for row in connection.execute("SELECT id FROM records ORDER BY id")]
        isbns = [row[0] for row in connection.execute("SELECT value FROM identifiers WHERE scheme = 'isbn'")]
        attempts = 0
        while len(queries) < count and attempts < 100 * count:
            # The kinds in turn; a draw that is no use (a repeated prefix, a word without a typo
            # outside the vocabulary...) is drawn again for the same kind, so the kinds stay even.
            kind = KINDS[len(queries) % len(KINDS)]
            attempts += 1
            language = "id" if rng.random() < INDONESIAN_SHARE else "en"
            pool = content[language]
            if kind == "word":
                word = _pick_word(rng, pool)
                queries.append(_query(kind, word, f'"{word}"'))
            elif kind == "two_words":
                first, second = _pick_word(rng, pool), _pick_word(rng, pool)
                if first == second:
                    continue
                queries.append(_query(kind, f"{first} {second}", f'"{first}" AND "{second}"'))
            elif kind == "phrase":
                pair = _phrase_from_text(rng, connection, rng.choice(record_ids), stops)
                if pair is None:
                    continue
                queries.append(_query(kind, f'"{pair}"', f'"{pair}"'))
            elif kind == "prefix":
                if salt == "measured" and "perpus" not in prefixes_used:  # the example, measured once
                    stem = "perpus"
                else:
                    word = _pick_word(rng, pool, 10, 800)
                    if len(word) < 6:
                        continue
                    stem = word[: rng.randint(4, min(6, len(word) - 1))]
                if stem in prefixes_used:
                    continue
                prefixes_used.add(stem)
                queries.append(_query(kind, f"{stem}*", f"{stem}*"))
            elif kind == "fielded":
                queries.append(_fielded(rng, connection, rng.choice(record_ids), isbns, stops))
            elif kind == "filtered":
                word = _pick_word(rng, pool)
                queries.append(_query(kind, word, f'"{word}"', language=rng.choice(("id", "en"))))
            else:
                typo = _misspelled(rng, _pick_word(rng, [w for w in pool if len(w) >= 6], 5, 800), words.all_words)
                if typo is None:
                    continue
                queries.append(_query(kind, typo, f'"{typo}"'))
    return queries


def _phrase_from_text(rng: random.Random, connection, record_id: int, stops: set[str]) -> str | None:
    """Two neighbouring words from a page of the book: a phrase that is in the collection."""
    import zlib

    rows = connection.execute(
        "SELECT t.text_z FROM text_units t JOIN ebook_files f ON f.id = t.file_id WHERE f.record_id = ?", (record_id,)
    ).fetchall()
    text = zlib.decompress(rng.choice(rows)[0]).decode("utf-8").lower()
    pairs = [
        (a, b)
        for a, b in re.findall(r"(?=\b([a-z]{4,}) ([a-z]{4,})\b)", text)
        if a not in stops and b not in stops and a != b
    ]
    return " ".join(rng.choice(pairs)) if pairs else None


def _fielded(rng: random.Random, connection, record_id: int, isbns: list[str], stops: set[str]) -> dict:
    field = rng.choice(("title", "title", "author", "subject", "isbn" if isbns else "author"))
    if field == "isbn":
        value = rng.choice(isbns)
        return _query("fielded", f"isbn:{value}", f'isbn : "{value}"', table="meta")
    if field == "author":
        name = connection.execute(
            "SELECT name FROM contributors WHERE record_id = ? ORDER BY position LIMIT 1", (record_id,)
        ).fetchone()[0]
        last = name.split()[-1]
        return _query("fielded", f"pengarang:{last}", f'authors : "{last.lower()}"', table="meta")
    if field == "subject":
        term = connection.execute(
            "SELECT term FROM subjects WHERE record_id = ? ORDER BY position LIMIT 1", (record_id,)
        ).fetchone()[0]
        word = max(term.split(), key=len)
        return _query("fielded", f"subjek:{word}", f'subjects : "{word.lower()}"', table="meta")
    title = connection.execute("SELECT title FROM records WHERE id = ?", (record_id,)).fetchone()[0]
    candidates = [word for word in title.lower().split() if word.isalpha() and len(word) >= 4 and word not in stops]
    word = rng.choice(candidates or title.lower().split())
    return _query("fielded", f"judul:{word}", f'title : "{word}"', table="meta")


# --------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": round(percentile(values, 0.50), 2),
        "p95": round(percentile(values, 0.95), 2),
        "p99": round(percentile(values, 0.99), 2),
        "mean": round(sum(values) / len(values), 2),
        "max": round(max(values), 2),
    }


def latency_report(details: list[dict]) -> dict:
    by_kind = {}
    for kind in KINDS:
        items = [item for item in details if item["kind"] == kind]
        by_kind[kind] = {
            **summary([item["ms"] for item in items]),
            "zero_hits": sum(1 for item in items if not item["hits"]),
            "mean_total": round(sum(item["total"] for item in items) / len(items), 1) if items else None,
        }
    return {"overall": summary([item["ms"] for item in details]), "by_kind": by_kind}


class PeakRss(threading.Thread):
    """Samples the RSS of a process plus all its children until stopped or the process ends."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak = 0
        self.last = 0
        self.processes_seen: set[int] = set()
        # CPU seconds of every process of the tree, last seen: worker pools started through a
        # forkserver are not our children, so getrusage(RUSAGE_CHILDREN) misses them.
        self._cpu: dict[tuple[int, float], float] = {}
        self._stop_event = threading.Event()

    @property
    def cpu_seconds(self) -> float:
        return sum(self._cpu.values())

    def run(self) -> None:
        try:
            process = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop_event.is_set():
            try:
                total = 0
                for member in [process, *process.children(recursive=True)]:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        total += member.memory_info().rss
                        cpu = member.cpu_times()
                        self._cpu[(member.pid, member.create_time())] = cpu.user + cpu.system
                        self.processes_seen.add(member.pid)
            except psutil.NoSuchProcess:
                return
            self.last = total
            self.peak = max(self.peak, total)
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)


def other_benchmarks() -> dict[int, psutil.Process]:
    """Benchmark processes on this machine that are not this one or its children."""
    mine = {os.getpid(), *(child.pid for child in psutil.Process().children(recursive=True))}
    found = {}
    for process in psutil.process_iter(["pid", "cmdline"]):
        command = " ".join(process.info["cmdline"] or [])
        if process.pid not in mine and "bench" in command and "python" in command:
            found[process.pid] = process
    return found


def _cpu_snapshot() -> tuple[dict, dict]:
    """CPU seconds of every process that is not this one or its children, and of the benchmarks among them."""
    mine = {os.getpid(), *(child.pid for child in psutil.Process().children(recursive=True))}
    every, benchmarks = {}, {}
    for process in psutil.process_iter(["cmdline", "cpu_times", "create_time"]):
        cpu = process.info["cpu_times"]
        if process.pid in mine or cpu is None:
            continue
        key = (process.pid, process.info["create_time"])
        every[key] = cpu.user + cpu.system
        command = " ".join(process.info["cmdline"] or [])
        if "bench" in command and "python" in command:
            benchmarks[key] = every[key]
    return every, benchmarks


class Phase:
    """Wall time of a step, and how busy the machine, other processes and other benchmarks were meanwhile."""

    def __init__(self, name: str, log: dict) -> None:
        self.name, self.log = name, log

    def __enter__(self) -> Phase:
        self.before = _cpu_snapshot()
        self.system_before = psutil.cpu_times()
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        seconds = time.perf_counter() - self.started
        after = _cpu_snapshot()
        system_after = psutil.cpu_times()
        used = [
            sum(max(0.0, cpu - before.get(key, 0.0)) for key, cpu in now.items())
            for before, now in zip(self.before, after, strict=True)
        ]
        idle = (system_after.idle + getattr(system_after, "iowait", 0)) - (
            self.system_before.idle + getattr(self.system_before, "iowait", 0)
        )
        self.seconds = seconds
        self.busy = (psutil.cpu_count() or 1) - idle / seconds if seconds else 0.0
        self.log[self.name] = {
            "seconds": round(seconds, 2),
            "machine_busy_cores": round((psutil.cpu_count() or 1) - idle / seconds, 2) if seconds else None,
            # Processes that ended during the phase are missed here: see `ours()` for a better figure.
            "other_processes_cores_seen": round(used[0] / seconds, 2) if seconds else None,
            "other_bench_cpu_seconds": round(used[1], 1),
            "other_bench_cores": round(used[1] / seconds, 2) if seconds else None,
        }

    def ours(self, cpu_seconds: float) -> None:
        """Record how much of the machine's busy time was this step's, and so how much was others'."""
        if self.seconds:
            mine = cpu_seconds / self.seconds
            self.log[self.name]["our_cores"] = round(mine, 2)
            self.log[self.name]["other_processes_cores"] = round(max(0.0, self.busy - mine), 2)


def run_step(step: str, arguments: list[str], workdir: Path, phases: dict, profile: bool) -> dict:
    """Run one step of the worker in a fresh process, sampling its peak RSS."""
    out = workdir / f"{step}.json"
    out.unlink(missing_ok=True)
    command = [sys.executable, str(HERE / "_search_worker.py"), step, *arguments, "--out", str(out)]
    if profile:
        command += ["--profile", str(workdir / f"{step}.prof")]
    with Phase(step, phases) as phase:
        process = subprocess.Popen(command, cwd=ROOT)
        sampler = PeakRss(process.pid)
        sampler.start()
        code = process.wait()
        sampler.stop()
    phase.ours(sampler.cpu_seconds)
    if code != 0:
        raise SystemExit(f"step {step} failed with exit code {code}")
    result = json.loads(out.read_text())
    result["sampled_peak_rss_mib"] = round(sampler.peak / MIB, 1)
    result["peak_rss_mib"] = round(max(sampler.peak / MIB, result["vm_hwm_mib"] or 0), 1)
    result["processes"] = len(sampler.processes_seen)
    result["sampled_cpu_seconds"] = round(sampler.cpu_seconds, 2)
    result["overlap"] = phases[step]
    return result


def tree_bytes(path: Path) -> int:
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


# --------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(port: int, path: str, timeout: float = 10.0) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _server_threads() -> int | None:
    with contextlib.suppress(Exception):  # only a fact for the report
        from ebookserver.settings import load_settings

        return load_settings().threads
    return None


def _server_workers() -> int | None:
    """The server processes `ebookserver serve` runs (setting `workers`; 0: one per core)."""
    with contextlib.suppress(Exception):  # only a fact for the report
        from ebookserver.settings import load_settings

        return load_settings().workers or os.cpu_count()
    return None


def http_benchmark(datadir: DataDir, plan: dict, clients: int, seconds: float, workdir: Path, phases: dict) -> dict:
    port = free_port()
    log_path = workdir / "server.log"
    command = [sys.executable, "-m", "ebookserver", "--data-dir", str(datadir.root), "serve"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    with open(log_path, "wb") as log:
        server = subprocess.Popen(command, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    sampler = PeakRss(server.pid)
    sampler.start()
    try:
        started = time.perf_counter()
        health = None
        while time.perf_counter() - started < 600:
            if server.poll() is not None:
                raise SystemExit(f"the server exited with code {server.returncode}; see {log_path}")
            with contextlib.suppress(OSError, http.client.HTTPException, ValueError):
                status, body = _get(port, "/healthz")
                health = json.loads(body)
                index = health.get("index", {})
                if status == 200 and index.get("ok") and index.get("check_at_start") not in (None, "checking"):
                    break
            time.sleep(0.2)
        else:
            raise SystemExit(f"the server did not report its index within 600 s: {health}")
        ready_seconds = time.perf_counter() - started
        rss_ready = sampler.last
        for query in plan["warmup"]:
            _get(port, query["path"], timeout=HTTP_TIMEOUT)

        queries = plan["queries"]
        latencies: list[tuple[str, float]] = []
        errors: list[str] = []
        timeouts = [0]
        lock = threading.Lock()

        def client(number: int, deadline: float) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)
            # Clients start at different places of the list, and on different kinds of query.
            position = number * len(queries) // clients + number
            own: list[tuple[str, float]] = []
            own_errors: list[str] = []
            own_timeouts = 0
            while time.perf_counter() < deadline:
                query = queries[position % len(queries)]
                position += 1
                begun = time.perf_counter()
                try:
                    connection.request("GET", query["path"])
                    response = connection.getresponse()
                    body = response.read()
                    if response.status != 200 or b'"hits"' not in body:
                        own_errors.append(f"{response.status} {query['path']}")
                    own.append((query["kind"], (time.perf_counter() - begun) * 1000))
                except (OSError, http.client.HTTPException) as error:
                    own_errors.append(f"{type(error).__name__}: {error} {query['path']}")
                    if isinstance(error, TimeoutError):
                        # Counted in the latencies at the time waited: a lower bound.
                        own_timeouts += 1
                        own.append((query["kind"], (time.perf_counter() - begun) * 1000))
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)
            connection.close()
            with lock:
                latencies.extend(own)
                errors.extend(own_errors)
                timeouts[0] += own_timeouts

        own_cpu_before = sum(psutil.Process().cpu_times()[:2])
        server_cpu_before = sampler.cpu_seconds
        with Phase("http", phases) as phase:
            deadline = time.perf_counter() + seconds
            threads = [threading.Thread(target=client, args=(n, deadline), daemon=True) for n in range(clients)]
            begun = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=max(1.0, deadline - time.perf_counter()) + HTTP_TIMEOUT + 30)
            elapsed = time.perf_counter() - begun
        phase.ours(sampler.cpu_seconds - server_cpu_before + sum(psutil.Process().cpu_times()[:2]) - own_cpu_before)
        stuck = sum(thread.is_alive() for thread in threads)
        with lock:
            done = list(latencies)
            failures = list(errors)
        by_kind = {kind: summary([ms for k, ms in done if k == kind]) for kind in KINDS}
        return {
            "clients": clients,
            "seconds": round(elapsed, 2),
            "requests": len(done) - timeouts[0],
            "requests_per_s": round((len(done) - timeouts[0]) / elapsed, 2) if elapsed else None,
            "timeouts": timeouts[0],
            "timeout_seconds": HTTP_TIMEOUT,
            "latency_ms": summary([ms for _, ms in done]),
            "by_kind": by_kind,
            "errors": len(failures) + stuck,
            "error_samples": failures[:5],
            "clients_still_running": stuck,
            "ready_seconds": round(ready_seconds, 2),
            "server_rss_ready_mib": round(rss_ready / MIB, 1),
            "server_peak_rss_mib": round(sampler.peak / MIB, 1),
            "server_rss_end_mib": round(sampler.last / MIB, 1),
            "server_threads": _server_threads(),
            "server_workers": _server_workers(),
            "server_processes_seen": len(sampler.processes_seen),
            "overlap": phases["http"],
        }
    finally:
        sampler.stop()
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def machine_facts() -> dict:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    import whoosh

    return {
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "ram_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "python": platform.python_version(),
        "whoosh": whoosh.versionstring(),
        "whoosh_distribution": _distribution_version("Whoosh-Reloaded") or _distribution_version("Whoosh"),
        "sqlite": sqlite3.sqlite_version,
        "waitress": _distribution_version("waitress"),
        "platform": platform.platform(),
        "load_average": [round(value, 2) for value in os.getloadavg()],
    }


def code_version() -> dict:
    """The commit measured, and whether the search code differs from it (read-only git)."""
    facts: dict = {}
    git = shutil.which("git")
    if git is None:
        return facts
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        facts["commit"] = subprocess.run(
            [git, "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            [git, "status", "--porcelain", "--", "catalog", "ebookserver"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
        facts["uncommitted_changes"] = [line.strip() for line in changed if line.strip()]
    return facts


def _distribution_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _ratio(ours: float | None, theirs: float | None) -> float | None:
    if ours is None or not theirs:
        return None
    return round(ours / theirs, 2)


def print_profile(path: Path, title: str, limit: int = 25) -> None:
    report = path.with_suffix(".txt")
    with open(report, "w") as handle:
        stats = pstats.Stats(str(path), stream=handle)
        stats.sort_stats("cumulative").print_stats(60)
        stats.sort_stats("tottime").print_stats(60)
    stats = pstats.Stats(str(path))
    total = max(stats.total_tt, 1e-9)
    print(f"\n{title}: top functions by own time (of {total:.1f} s; full listing in {report})")
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:limit]
    for (filename, line, name), (_, calls, own, cumulative, _) in rows:
        where = f"{Path(filename).name}:{line}" if line else filename
        print(f"  {own:7.2f} s {own / total:6.1%}  cum {cumulative:7.2f} s  {calls:>9} calls  {name}  ({where})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--books", type=int, default=10_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench-search"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--queries", type=int, default=200, help="Measured queries (the kinds in turn).")
    parser.add_argument("--http-clients", type=int, default=20)
    parser.add_argument("--http-seconds", type=float, default=30.0)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument(
        "--results-cache",
        type=int,
        default=0,
        help="The server's search_results_cached (default 0: every request searches; the product keeps 64).",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile our build and queries (slows them).")
    args = parser.parse_args()
    # the servers started below inherit it: results are worked out for every request unless asked
    os.environ["EBOOKSERVER_SEARCH_RESULTS_CACHED"] = str(args.results_cache)
    args.workdir.mkdir(parents=True, exist_ok=True)
    phases: dict = {}

    machine = machine_facts()
    code = code_version()
    others = {pid: " ".join(p.info["cmdline"] or [])[:160] for pid, p in other_benchmarks().items()}
    print(f"Machine: {machine['cores']} cores ({machine['usable_cores']} usable), {machine['cpu_model']},")
    print(f"  {machine['ram_gib']} GiB RAM, Python {machine['python']}, Whoosh {machine['whoosh']},")
    print(f"  SQLite {machine['sqlite']}, waitress {machine['waitress']}, load {machine['load_average']}")
    print(f"Code: commit {code.get('commit')}, uncommitted changes in catalog/ebookserver: "
          f"{code.get('uncommitted_changes') or 'none'}")  # fmt: skip
    if others:
        print(f"Other benchmark processes running now ({len(others)}):")
        for pid, command in others.items():
            print(f"  {pid}: {command}")
    if args.profile:
        print("PROFILING: our build and queries run under cProfile, so their times are inflated.")

    print(f"\nCatalogue: {args.books} books, seed {args.seed}")
    datadir, manifest = catalogue(args.workdir, args.books, args.seed)
    text_mb = manifest["text_bytes"] / MB
    print(
        f"  {'reused' if manifest['cached'] else 'generated'} {datadir.root}: {manifest['units']} pages/chapters,"
        f" {text_mb:.1f} MB of text, languages {manifest['languages']}, formats {manifest['formats']},"
        f" vocabulary {manifest['vocabulary']}, generation took {manifest['generation_seconds']} s (not measured)"
    )
    queries = make_queries(datadir, args.seed, args.books, args.queries, "measured")
    warmup = make_queries(datadir, args.seed, args.books, len(KINDS), "warmup")
    plan = {"queries": queries, "warmup": warmup}
    plan_path = args.workdir / f"queries-s{args.seed}-n{args.books}.json"
    plan_path.write_text(json.dumps(plan, ensure_ascii=False, indent=1))
    print(f"  {len(queries)} measured queries ({plan_path}), e.g.:")
    for kind in KINDS:
        example = next(query for query in queries if query["kind"] == kind)
        print(f"    {kind:<11} ours {example['q']!r:<28} {example['filters'] or ''}  FTS5 {example['fts']['match']!r}")

    # ---- builds
    print("\nBuilding our index (rebuild_index) in a fresh process ...", flush=True)
    ours_build = run_step("build-ours", ["--datadir", str(datadir.root)], args.workdir, phases, args.profile)
    ours_build["mb_per_s"] = round(text_mb / ours_build["seconds"], 2)
    ours_build["cpu_seconds"] = max(ours_build["cpu_seconds"], ours_build["sampled_cpu_seconds"])
    ours_build["cores_used"] = round(ours_build["cpu_seconds"] / ours_build["seconds"], 2)
    ours_build["mb_per_cpu_second"] = round(text_mb / ours_build["cpu_seconds"], 3)
    # The process that writes the index: its CPU time bounds the build however many cores are free.
    ours_build["mb_per_writer_cpu_second"] = round(text_mb / ours_build["own_cpu_seconds"], 3)
    print(
        f"  {ours_build['seconds']:.1f} s, {ours_build['mb_per_s']} MB/s of text, {ours_build['cores_used']} cores"
        f" busy on average ({ours_build['processes']} processes), peak RSS {ours_build['peak_rss_mib']} MiB"
        " (all of them),"
        f" index {ours_build['index_bytes'] / MIB:.1f} MiB {ours_build['index_bytes_by_index']};"
        f" {ours_build['mb_per_cpu_second']} MB per CPU second, {ours_build['mb_per_writer_cpu_second']} MB per"
        " CPU second of the writing process (the bound with a core to itself)"
    )
    print("Building the FTS5 reference in a fresh process ...", flush=True)
    fts_path = args.workdir / f"fts5-s{args.seed}-n{args.books}.sqlite3"
    fts_build = run_step(
        "build-fts5", ["--datadir", str(datadir.root), "--fts", str(fts_path)], args.workdir, phases, False
    )
    fts_build["mb_per_s"] = round(text_mb / fts_build["seconds"], 2)
    fts_build["cpu_seconds"] = max(fts_build["cpu_seconds"], fts_build["sampled_cpu_seconds"])
    fts_build["cores_used"] = round(fts_build["cpu_seconds"] / fts_build["seconds"], 2)
    fts_build["mb_per_cpu_second"] = round(text_mb / fts_build["cpu_seconds"], 3)
    # The process that writes the index: its CPU time bounds the build however many cores are free.
    fts_build["mb_per_writer_cpu_second"] = round(text_mb / fts_build["own_cpu_seconds"], 3)
    print(
        f"  {fts_build['seconds']:.1f} s, {fts_build['mb_per_s']} MB/s, peak RSS {fts_build['peak_rss_mib']} MiB,"
        f" database {fts_build['db_bytes'] / MIB:.1f} MiB (index alone {fts_build['index_only_bytes'] / MIB:.1f}"
        f" MiB, the rest is its copy of the text); {fts_build['mb_per_cpu_second']} MB per CPU second"
    )
    if fts_build["text_bytes"] != manifest["text_bytes"]:
        print(
            f"  WARNING: FTS5 read {fts_build['text_bytes']} bytes of text, the manifest says {manifest['text_bytes']}"
        )

    # ---- queries
    print("\nQueries through catalog.search.search in a fresh process ...", flush=True)
    plan_arg = ["--queries", str(plan_path)]
    ours_query = run_step("query-ours", ["--datadir", str(datadir.root), *plan_arg], args.workdir, phases, args.profile)
    ours_latency = latency_report(ours_query.pop("details"))
    print("Queries through FTS5 in a fresh process ...", flush=True)
    fts_query = run_step("query-fts5", ["--fts", str(fts_path), *plan_arg], args.workdir, phases, False)
    fts_latency = latency_report(fts_query.pop("details"))

    print(f"\n  {'kind':<11} {'ours p50/p95/p99 ms':>26}  {'FTS5 p50/p95/p99 ms':>24}  p95 ratio  zero-hit ours/FTS5")
    for kind in (*KINDS, "overall"):
        mine = ours_latency["by_kind"].get(kind) or ours_latency["overall"]
        theirs = fts_latency["by_kind"].get(kind) or fts_latency["overall"]
        zero = f"{mine.get('zero_hits', '')}/{theirs.get('zero_hits', '')}" if kind != "overall" else ""
        print(
            f"  {kind:<11} {mine['p50']:>8.1f} {mine['p95']:>8.1f} {mine['p99']:>8.1f}  "
            f"{theirs['p50']:>7.2f} {theirs['p95']:>7.2f} {theirs['p99']:>7.2f}"
            f"  {_ratio(mine['p95'], theirs['p95'])!s:>9}"
            f"  {zero}"
        )
    print(
        f"  searching process peak RSS: ours {ours_query['peak_rss_mib']} MiB, FTS5 {fts_query['peak_rss_mib']} MiB;"
        f" first (cold) query: ours {ours_query['cold_first_query_ms']:.0f} ms,"
        f" FTS5 {fts_query['cold_first_query_ms']:.1f} ms"
    )
    slowest = sorted(
        (json.loads(line) for line in (args.workdir / "query-ours.jsonl").read_text().splitlines()),
        key=lambda item: -item["ms"],
    )[:5]
    print("  slowest of ours: " + "; ".join(f"{item['q']!r} {item['ms']:.0f} ms" for item in slowest))

    # ---- HTTP
    http_result = None
    if not args.skip_http:
        print(f"\nHTTP: waitress, {args.http_clients} keep-alive clients for {args.http_seconds:g} s ...", flush=True)
        http_result = http_benchmark(datadir, plan, args.http_clients, args.http_seconds, args.workdir, phases)
        latency = http_result["latency_ms"]
        print(
            f"  {http_result['requests']} requests, {http_result['requests_per_s']}/s,"
            f" p50 {latency.get('p50')} p95 {latency.get('p95')} p99 {latency.get('p99')} ms,"
            f" {http_result['errors']} errors ({http_result['timeouts']} timeouts of {HTTP_TIMEOUT} s),"
            f" server peak RSS {http_result['server_peak_rss_mib']} MiB"
            f" (ready after {http_result['ready_seconds']} s at {http_result['server_rss_ready_mib']} MiB;"
            f" {http_result['server_workers']} worker processes of {http_result['server_threads']} threads)"
        )

    # ---- ratios and goals
    ratios = {
        "build_seconds": _ratio(ours_build["seconds"], fts_build["seconds"]),
        "build_peak_rss": _ratio(ours_build["peak_rss_mib"], fts_build["peak_rss_mib"]),
        "size_vs_fts5_database": _ratio(ours_build["index_bytes"], fts_build["db_bytes"]),
        "size_vs_fts5_index_only": _ratio(ours_build["index_bytes"], fts_build["index_only_bytes"]),
        "query_rss": _ratio(ours_query["peak_rss_mib"], fts_query["peak_rss_mib"]),
        **{
            f"query_{name}": _ratio(ours_latency["overall"][name], fts_latency["overall"][name])
            for name in ("p50", "p95", "p99")
        },
        "query_p95_by_kind": {
            kind: _ratio(ours_latency["by_kind"][kind].get("p95"), fts_latency["by_kind"][kind].get("p95"))
            for kind in KINDS
        },
    }
    p95 = ours_latency["overall"]["p95"]
    goals = {
        "query_p95_within_3x_fts5": {"value": ratios["query_p95"], "goal": "<= 3.0"},
        "query_p95_within_100ms": {"value": p95, "goal": "<= 100 ms"},
        "search_rss_below_400mib": {"value": ours_query["peak_rss_mib"], "goal": "< 400 MiB"},
        "build_at_least_3mb_s": {
            "value": ours_build["mb_per_s"],
            "goal": ">= 3 MB/s on 2 cores",
            "cores_used": ours_build["cores_used"],
        },
    }
    goals["query_p95_within_3x_fts5"]["met"] = (ratios["query_p95"] or math.inf) <= GOALS["query_p95_ratio_max"]
    goals["query_p95_within_100ms"]["met"] = p95 <= GOALS["query_p95_ms_max"]
    goals["search_rss_below_400mib"]["met"] = ours_query["peak_rss_mib"] < GOALS["search_rss_mib_max"]
    goals["build_at_least_3mb_s"]["met"] = ours_build["mb_per_s"] >= GOALS["build_mb_per_s_min"]
    if http_result:
        goals["http_p95_within_200ms"] = {
            "value": http_result["latency_ms"].get("p95"),
            "goal": "<= 200 ms",
            "met": (http_result["latency_ms"].get("p95") or math.inf) <= GOALS["http_p95_ms_max"],
        }
        goals["http_zero_errors"] = {
            "value": http_result["errors"],
            "goal": "0",
            "met": http_result["errors"] <= GOALS["http_errors_max"] and http_result["requests"] > 0,
        }
        goals["server_rss_below_600mib"] = {
            "value": http_result["server_peak_rss_mib"],
            "goal": "< 600 MiB",
            "met": http_result["server_peak_rss_mib"] < GOALS["server_rss_mib_max"],
        }
    if args.books != 10_000:
        for goal in goals.values():
            goal["note"] = f"measured at {args.books} books; the goals are stated for 10,000"

    print("\nGoals:")
    for name, goal in goals.items():
        print(f"  {'MET    ' if goal['met'] else 'NOT MET'} {name}: {goal['value']} (goal {goal['goal']})")
    print("CPU use during each phase (cores of 2):")
    for name, phase in phases.items():
        print(
            f"  {name:<11} {phase['seconds']:>8.1f} s  machine busy {phase['machine_busy_cores']},"
            f" ours {phase.get('our_cores')}, other processes {phase.get('other_processes_cores')}"
            f" (other benchmarks seen: {phase['other_bench_cores']})"
        )

    if args.profile:
        print_profile(args.workdir / "build-ours.prof", "Our index build (rebuild_index)")
        print_profile(args.workdir / "query-ours.prof", "Our searches (catalog.search.search)")

    result = {
        "benchmark": "search",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "parameters": {key: (str(value) if isinstance(value, Path) else value) for key, value in vars(args).items()},
        "profiled": args.profile,
        "machine": machine,
        "code": code,
        "other_benchmarks_at_start": list(others.values()),
        "collection": {key: value for key, value in manifest.items()} | {"text_mb": round(text_mb, 2)},
        "ours": {
            "build": ours_build,
            "index_mib": round(ours_build["index_bytes"] / MIB, 1),
            "query": {**ours_latency, **{k: v for k, v in ours_query.items() if k != "overlap"}},
        },
        "fts5": {
            "build": fts_build,
            "database_mib": round(fts_build["db_bytes"] / MIB, 1),
            "index_only_mib": round(fts_build["index_only_bytes"] / MIB, 1),
            "query": {**fts_latency, **{k: v for k, v in fts_query.items() if k != "overlap"}},
        },
        "http": http_result,
        "ratios_ours_over_fts5": ratios,
        "goals": goals,
        "all_goals_met": all(goal["met"] for goal in goals.values()),
        "phases": phases,
    }
    (args.workdir / "result.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, separators=(",", ":")))


if __name__ == "__main__":
    main()
