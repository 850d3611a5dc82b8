"""Per-segment values read once and kept with the segment's reader: field lengths, column
values (a page's book), documents by value."""

from __future__ import annotations

import struct

from whoosh.columns import NumericColumn, RefBytesColumn
from whoosh.util.numeric import byte_to_length


def segment_cache(reader) -> dict:
    """What is worth keeping about one segment (field lengths, columns, term infos): kept
    with its reader, which Whoosh reuses across refreshes while the segment is unchanged."""
    return reader.__dict__.setdefault("_fast_cache", {})


def column(reader, field: str) -> list:
    """A segment's column of *field* (a sortable field), as a list, values as text."""
    cache = segment_cache(reader)
    key = ("column", field)
    values = cache.get(key)
    if values is None:
        raw = column_values(reader.column_reader(field, translate=False))
        values = [value.decode("utf-8") if isinstance(value, bytes) else value for value in raw]
        cache[key] = values
    return values


LENGTHS = [byte_to_length(byte) if byte else None for byte in range(256)]  # as doc_field_length gives them


def column_values(column_reader) -> list:
    """Every document's value in a column: the two kinds this index reads (field lengths,
    one byte each; ids, references to their unique values) read in one piece of the file,
    any other kind one value at a time as Whoosh does."""
    kind = type(column_reader)
    if kind is RefBytesColumn.Reader:
        count, size = column_reader._doccount, column_reader._itemsize
        data = column_reader._dbfile.get(column_reader._basepos, count * size)
        refs = struct.unpack(f"!{count}{column_reader._typecode}", data)
        uniques = column_reader._uniques
        return [uniques[ref] for ref in refs]
    if kind is NumericColumn.Reader and column_reader._typecode == "B":
        stored = column_reader._count
        values = list(column_reader._dbfile.get(column_reader._basepos, stored))
        return values + [column_reader._default] * (column_reader._doccount - stored)
    return list(column_reader)


def documents_by_value(searcher, field: str) -> list[tuple[int, dict]]:
    """For each segment: (offset, value of the *field* column -> its live documents)."""
    found = []
    for leaf, offset in searcher.leaf_searchers():
        reader = leaf.reader()
        if reader.doc_count_all() == 0:  # an empty index (e.g. a catalogue of printed books only)
            continue
        cache = segment_cache(reader)
        key = ("by-value", field)
        by_value = cache.get(key)
        if by_value is None:
            deleted = deleted_in(reader) or ()
            by_value = {}
            for docnum, value in enumerate(column(reader, field)):
                if docnum not in deleted:
                    by_value.setdefault(value, []).append(docnum)
            cache[key] = by_value
        found.append((offset, by_value))
    return found


def deleted_in(reader):
    """The segment's deleted documents, or None when it has none."""
    return reader.deleted_docs_set if reader.has_deletions() else None
