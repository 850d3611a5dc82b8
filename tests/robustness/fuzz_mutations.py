"""Mutations of real EPUB and PDF files, for fuzzing the ingest and the reader.

Every mutation draws its choices from a `random.Random`, so one engine serves two drivers:
the pytest test hands it Hypothesis's `st.randoms()` (reproducible, shrinkable) and
`bench/fuzz.py` a seeded `random.Random` (fast, for long runs). Besides blind byte
damage (flips, truncation, chunks deleted or duplicated), an EPUB is taken apart as a ZIP
and one of its members mutated or the archive's structure changed, and a PDF's tokens
(numbers, names, keywords) are replaced with hostile values, because blind flips rarely
get past a ZIP's CRC or a PDF's cross-reference table to the parsers behind them.
"""

from __future__ import annotations

import io
import random
import re
import warnings
import zipfile
from collections.abc import Callable

Mutation = Callable[[bytes, random.Random], bytes]

_HOSTILE_NUMBERS = [b"0", b"-1", b"1", b"2147483647", b"4294967296", b"-2147483648", b"99999999999999999999", b"1e308"]
_PDF_TOKENS = [
    b"obj", b"endobj", b"stream", b"endstream", b"xref", b"trailer", b"startxref", b"<<", b">>", b"[", b"]",
    b"/Length 999999999", b"/Filter/FlateDecode", b"/Filter/LZWDecode", b"/Filter/JBIG2Decode", b"/Type/Pages",
    b"/Count 2147483647", b"/Kids[1 0 R 1 0 R]", b"/Parent 1 0 R", b"/Outlines 1 0 R", b"/Encrypt<</V 9>>",
    b"/Metadata", b"%%EOF", b"(\\", b"<FE", b"1 0 R", b"[" * 2000, b"<<" * 2000,
]  # fmt: skip
_XML_SNIPPETS = [
    b'<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>',
    b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
    b'<!DOCTYPE x SYSTEM "http://example.invalid/x.dtd">',
    b"&b;", b"&e;", b"&#0;", b"&#xFFFE;", b"<![CDATA[", b"]]>", b"<?xml version='1.0'?>",
    b'<?xml version="1.0" encoding="x-unknown"?>', b'<?xml version="1.0" encoding="UTF-16"?>',
    b"\xff\xfe", b"\xef\xbb\xbf",
    b"<a>" * 5000, b"</a>" * 50, b"<", b">", b'"', b"xmlns:x='", b" href='../../../../etc/passwd'",
    b" href='javascript:alert(1)'", b" src='data:image/png;base64,AAAA'", b" id='" + b"x" * 70000 + b"'",
    b"<svg><script>alert(1)</script></svg>", b"<img src='%'/>", b"<a href='%zz#'>x</a>", b"<h0>", b"<h9>",
]  # fmt: skip
_HOSTILE_HREFS = [
    "", "#", "%", "%00", "../../../../etc/passwd", "/etc/passwd", "C:\\x", "javascript:alert(1)", "x" * 5000,
    "a/../../b", "\x00", " ", "?", "#frag", "//host/x", "é.xhtml", "a%2F..%2F..%2Fb",
]  # fmt: skip


# --- blind byte damage -------------------------------------------------------------------


def flip_bytes(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    out = bytearray(data)
    for _ in range(rng.randint(1, 16)):
        position = rng.randrange(len(out))
        out[position] = rng.randrange(256) if rng.random() < 0.5 else out[position] ^ (1 << rng.randrange(8))
    return bytes(out)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data))] if data else data


def delete_chunk(data: bytes, rng: random.Random) -> bytes:
    if len(data) < 2:
        return data
    start = rng.randrange(len(data))
    return data[:start] + data[start + rng.randint(1, max(1, len(data) // rng.choice((4, 16, 256)))) :]


def duplicate_chunk(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    start = rng.randrange(len(data))
    chunk = data[start : start + rng.randint(1, 4096)]
    at = rng.randrange(len(data) + 1)
    return data[:at] + chunk * rng.choice((1, 2, 50)) + data[at:]


def insert_token(tokens: list[bytes]) -> Mutation:
    def mutation(data: bytes, rng: random.Random) -> bytes:
        at = rng.randrange(len(data) + 1)
        return data[:at] + rng.choice(tokens) + data[at:]

    return mutation


BYTE_MUTATIONS: list[Mutation] = [flip_bytes, truncate, delete_chunk, duplicate_chunk]


# --- PDF tokens ----------------------------------------------------------------------------

_PDF_NUMBER = re.compile(rb"(?<![\w.])-?\d+(?![\w.])")
_PDF_NAME = re.compile(rb"/[A-Za-z]+")
_PDF_NAMES = [b"/Pages", b"/Page", b"/Catalog", b"/Root", b"/Info", b"/Size", b"/Prev", b"/XRefStm", b"/ObjStm", b"/N"]


def replace_pdf_number(data: bytes, rng: random.Random) -> bytes:
    """A number (an object number, a /Length, an offset, a /Count) becomes a hostile one."""
    return _replace_match(data, _PDF_NUMBER, lambda: rng.choice(_HOSTILE_NUMBERS), rng)


_PDF_KEYED_NUMBER = re.compile(
    rb"/(?:Count|Length|Size|Prev|First|N|W|Index|Rotate|Dest|Page|Columns|BitsPerComponent)(?:\s+|\s*\[\s*)(-?\d+)"
)


def replace_pdf_value(data: bytes, rng: random.Random) -> bytes:
    """The number after a structural key (/Count, /Length, /Size, /Prev, /W ...) made hostile:
    what MuPDF trusts to size its tables and loops."""
    start = rng.randrange(max(1, len(data) - 65536))
    matches = list(_PDF_KEYED_NUMBER.finditer(data, start, start + 65536)) or list(_PDF_KEYED_NUMBER.finditer(data))
    if not matches:
        return replace_pdf_number(data, rng)
    match = rng.choice(matches)
    return data[: match.start(1)] + rng.choice(_HOSTILE_NUMBERS) + data[match.end(1) :]


def replace_pdf_name(data: bytes, rng: random.Random) -> bytes:
    return _replace_match(data, _PDF_NAME, lambda: rng.choice(_PDF_NAMES), rng)


def _replace_match(data: bytes, pattern: re.Pattern, replacement: Callable[[], bytes], rng: random.Random) -> bytes:
    # Look in a random window, not the whole file: a large PDF has a million tokens.
    start = rng.randrange(max(1, len(data) - 65536))
    matches = list(pattern.finditer(data, start, start + 65536))
    if not matches:
        return flip_bytes(data, rng)
    match = rng.choice(matches)
    return data[: match.start()] + replacement() + data[match.end() :]


PDF_MUTATIONS: list[Mutation] = [
    *BYTE_MUTATIONS,
    insert_token(_PDF_TOKENS),
    replace_pdf_number,
    replace_pdf_value,
    replace_pdf_value,
    replace_pdf_name,
]


# --- EPUB as a ZIP -------------------------------------------------------------------------

Members = list[tuple[zipfile.ZipInfo, bytes]]


_MAX_UNPACKED = 64 * 1024 * 1024  # the corpus's zip bomb is mutated as bytes, never inflated


def _members(data: bytes) -> Members | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > _MAX_UNPACKED:
                return None
            return [(info, archive.read(info)) for info in archive.infolist()]
    except Exception:  # noqa: BLE001 - an earlier mutation broke the archive: fall back to byte damage
        return None


def _pack(members: Members) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are one of the mutations
        with zipfile.ZipFile(buffer, "w") as archive:
            for info, content in members:
                archive.writestr(info, content)
    return buffer.getvalue()


def _is_xml(name: str) -> bool:
    return name.lower().endswith((".xml", ".opf", ".ncx", ".xhtml", ".html", ".htm", ".svg", ".smil"))


def mutate_member(members: Members, rng: random.Random) -> Members:
    """One member's content damaged; XML members (container, OPF, NCX, chapters) most often."""
    xml = [index for index, (info, _) in enumerate(members) if _is_xml(info.filename)]
    index = rng.choice(xml) if xml and rng.random() < 0.8 else rng.randrange(len(members))
    info, content = members[index]
    if _is_xml(info.filename) and rng.random() < 0.6:
        content = rng.choice(XML_MUTATIONS)(content, rng)
    else:
        content = rng.choice(BYTE_MUTATIONS)(content, rng)
    return [*members[:index], (info, content), *members[index + 1 :]]


def drop_member(members: Members, rng: random.Random) -> Members:
    index = rng.randrange(len(members))
    return members[:index] + members[index + 1 :]


def rename_member(members: Members, rng: random.Random) -> Members:
    index = rng.randrange(len(members))
    info, content = members[index]
    new_name = rng.choice(
        [
            info.filename.upper(),
            info.filename + "x",
            "../" + info.filename,
            "/" + info.filename,
            members[rng.randrange(len(members))][0].filename,  # a duplicate name
            info.filename.replace("/", "\\"),
            "a" * 300 + ".xhtml",
        ]
    )
    renamed = _copy_info(info, new_name)
    return [*members[:index], (renamed, content), *members[index + 1 :]]


def add_compressed_member(members: Members, rng: random.Random) -> Members:
    """A member of zeros that compresses very well: above or below the zip-bomb ratio limit."""
    size = rng.choice((1024 * 1024, 1024 * 1024 + 1, 4 * 1024 * 1024, 24 * 1024 * 1024))
    name = rng.choice(["OEBPS/bomb.xhtml", "bomb.bin", members[rng.randrange(len(members))][0].filename])
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    return [*members, (info, b"\0" * size)]


def recompress_member(members: Members, rng: random.Random) -> Members:
    index = rng.randrange(len(members))
    info, content = members[index]
    changed = _copy_info(info, info.filename)
    changed.compress_type = rng.choice((zipfile.ZIP_STORED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA))
    return [*members[:index], (changed, content), *members[index + 1 :]]


def swap_members(members: Members, rng: random.Random) -> Members:
    """Two members' contents exchanged: an image where the OPF should be, and so on."""
    first, second = rng.randrange(len(members)), rng.randrange(len(members))
    swapped = list(members)
    swapped[first] = (members[first][0], members[second][1])
    swapped[second] = (members[second][0], members[first][1])
    return swapped


def _copy_info(info: zipfile.ZipInfo, name: str) -> zipfile.ZipInfo:
    copy = zipfile.ZipInfo(name, date_time=info.date_time)
    copy.compress_type = info.compress_type
    copy.external_attr = info.external_attr
    return copy


MEMBER_MUTATIONS = [
    mutate_member, mutate_member, mutate_member, drop_member, rename_member, add_compressed_member,
    recompress_member, swap_members,
]  # fmt: skip


# Raw archive damage that re-packing would repair: central-directory fields of one entry.
_CENTRAL_FIELDS = [(6, 2), (8, 2), (10, 2), (20, 4), (24, 4), (28, 2), (30, 2), (38, 4), (42, 4)]


def damage_central_directory(data: bytes, rng: random.Random) -> bytes:
    """One field of one central-directory entry (version needed, flags, method, sizes, name
    length, attributes, offset) set to a hostile value: what zipfile trusts before reading."""
    headers = [match.start() for match in re.finditer(rb"PK\x01\x02", data)]
    if not headers:
        return flip_bytes(data, rng)
    header = rng.choice(headers)
    offset, width = rng.choice(_CENTRAL_FIELDS)
    value = rng.choice([0, 1, 99, 0xFFFF, 0xFFFFFFFF, rng.randrange(256**width)]) % (256**width)
    at = header + offset
    return data[:at] + value.to_bytes(width, "little") + data[at + width :]


# --- XML text ------------------------------------------------------------------------------


def replace_href(content: bytes, rng: random.Random) -> bytes:
    pattern = re.compile(rb"""(href|src|full-path|idref|xlink:href)=(["'])[^"']*\2""")
    matches = list(pattern.finditer(content))
    if not matches:
        return insert_token(_XML_SNIPPETS)(content, rng)
    match = rng.choice(matches)
    value = rng.choice(_HOSTILE_HREFS).encode("utf-8", "surrogatepass")
    return content[: match.start()] + match.group(1) + b'="' + value + b'"' + content[match.end() :]


def drop_element(content: bytes, rng: random.Random) -> bytes:
    """A start or end tag removed: unbalanced markup, a manifest item or spine entry lost."""
    tags = list(re.finditer(rb"</?[A-Za-z][^<>]*>", content))
    if not tags:
        return content
    tag = rng.choice(tags)
    return content[: tag.start()] + content[tag.end() :]


def nest_deeply(content: bytes, rng: random.Random) -> bytes:
    depth = rng.choice((300, 3000, 30000))
    at = content.find(b">", content.find(b"<body")) + 1 or len(content) // 2
    return content[:at] + b"<div>" * depth + b"x" + b"</div>" * depth + content[at:]


def add_doctype(content: bytes, rng: random.Random) -> bytes:
    declaration = rng.choice(_XML_SNIPPETS[:3])
    match = re.search(rb"<\?xml[^>]*\?>", content)
    at = match.end() if match else 0
    return content[:at] + declaration + content[at:]


XML_MUTATIONS: list[Mutation] = [replace_href, drop_element, nest_deeply, add_doctype, insert_token(_XML_SNIPPETS)]


def mutate_epub(data: bytes, rng: random.Random) -> bytes:
    roll = rng.random()
    if roll < 0.7:
        members = _members(data)
        if members:
            return _pack(rng.choice(MEMBER_MUTATIONS)(members, rng))
    if roll < 0.8:
        return damage_central_directory(data, rng)
    return rng.choice(BYTE_MUTATIONS)(data, rng)


def mutate(data: bytes, kind: str, rng: random.Random) -> bytes:
    """*data* (an `epub` or `pdf`) after one to three mutations (rarely, unchanged)."""
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        data = mutate_epub(data, rng) if kind == "epub" else rng.choice(PDF_MUTATIONS)(data, rng)
    return data
