"""Where the provider's value is written in the stored bytes, for a trace a person can read.

A trace names the value silver read (:func:`~makerates_lake.audit.lineage.provider_text`);
this module finds that value in the bytes and gives it with what surrounds it: the ECB
history's CSV line and cell (inside the zip's CSV member when the body is the zip), the
JSON member (``"USD": 1.1172``) of an API answer, the ``<Cube currency=... rate=.../>``
element of the ECB's daily XML, each with its byte offset. Offsets count in the bytes the
value is written in: the stored body, or the uncompressed CSV member of a zip.

Pure: bytes in, a :class:`ProviderContext` out; no I/O.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import asdict, dataclass
from typing import Any, Final

from makerates_lake import source_names
from makerates_lake.audit.json_member import find_member
from makerates_lake.silver.ecb_payloads import MAX_UNZIPPED_BYTES

_ZIP_MAGIC: Final = b"PK\x03\x04"
_JSON_SOURCES: Final = frozenset(
    {source_names.EXCHANGERATE_API, source_names.OPEN_ER_API, source_names.FRANKFURTER}
)


@dataclass(frozen=True)
class Unpacked:
    """The bytes a payload's values are written in.

    Attributes:
        data: The stored body, or the uncompressed CSV member of a zip body.
        member: The zip member ``data`` was read from; None when ``data`` is the body.
    """

    data: bytes
    member: str | None = None


def is_zip(body: bytes) -> bool:
    """True when ``body`` is a zip archive (what silver's ECB reader checks too)."""
    return body.startswith(_ZIP_MAGIC)


def unpack(body: bytes) -> Unpacked | None:
    """The CSV member of a zip body, chosen as silver's ECB reader chooses it, or the body.

    None for a zip silver would refuse (damaged, no ``.csv`` member, or one that inflates
    beyond :data:`~makerates_lake.silver.ecb_payloads.MAX_UNZIPPED_BYTES`).
    """
    if not is_zip(body):
        return Unpacked(body)
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            members = [m for m in archive.infolist() if m.filename.lower().endswith(".csv")]
            if not members or members[0].file_size > MAX_UNZIPPED_BYTES:
                return None
            with archive.open(members[0]) as handle:
                data = handle.read(MAX_UNZIPPED_BYTES + 1)
    except Exception:  # any zip silver cannot open (whatever zipfile raises) it rejects
        return None
    # The declared size can lie; silver cuts what inflates beyond the limit, so do we.
    return Unpacked(data[:MAX_UNZIPPED_BYTES], members[0].filename)


@dataclass(frozen=True)
class ProviderContext:
    """The provider's value where the stored bytes hold it.

    Attributes:
        format: ``csv``, ``json`` or ``xml``.
        member: The zip member holding the CSV (offsets count in its uncompressed bytes);
            None when offsets count in the stored body.
        line_number: Line of the fragment, from 1 (a CSV's header is line 1).
        offset: Byte offset of the fragment: the CSV line, the JSON member, the element.
        fragment: The CSV line, the JSON member (``"USD": 1.1172``) or the XML element,
            as written.
        field: Where the value is named: the CSV column, the JSON path
            (``conversion_rates.USD``) or the XML attribute (``rate``).
        value: The value as written: the CSV cell, the JSON literal, the attribute's text.
        value_offset: Byte offset of ``value``.
        column_number: CSV only: the column, from 1 (``Date`` is column 1).
        header: CSV only: the header line.
    """

    format: str
    member: str | None
    line_number: int
    offset: int
    fragment: str
    field: str
    value: str
    value_offset: int
    column_number: int | None = None
    header: str | None = None

    def where(self) -> str:
        """Where the fragment is, in words (member, line and byte offset)."""
        inside = (
            f"zip member {self.member} (uncompressed bytes)"
            if self.member is not None
            else "the stored body"
        )
        return f"{self.format.upper()} line {self.line_number} of {inside}, byte {self.offset}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {**asdict(self), "where": self.where()}


def locate(
    unpacked: Unpacked, source_name: str | None, day: str, quote: str, value: str | None
) -> ProviderContext | None:
    """The context of ``value``, the rate of ``quote`` on ``day`` the payload holds.

    ``value`` is the text silver reads; among several places that could hold the rate it
    picks the one writing exactly that text. None when the bytes hold no such rate.
    """
    if value is None:
        return None
    data = unpacked.data
    if source_name == source_names.ECB_HISTORY:
        return _csv_cell(data, unpacked.member, day, quote)
    if source_name == source_names.ECB_DAILY:
        return _xml_element(data, day, quote)
    if source_name in _JSON_SOURCES:
        return _json_member(data, day, quote, value)
    return None


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _line_number(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


# A CSV field: quoted (doubled quotes inside) or anything up to the next comma. The ECB
# never quotes, but a quoted field must not shift the offsets of the cells after it.
_CSV_FIELD: Final = re.compile(rb'[ \t]*"(?:[^"]|"")*"[ \t]*|[^,]*')


def _csv_fields(line: bytes) -> list[tuple[int, bytes]]:
    """(offset in the line, raw field) of every field of one CSV line."""
    fields: list[tuple[int, bytes]] = []
    at = 0
    while True:
        match = _CSV_FIELD.match(line, at)
        if match is None:  # the pattern matches the empty string, so never; mypy wants it
            break
        fields.append((at, match.group()))
        at = match.end()
        if line[at : at + 1] != b",":
            break
        at += 1
    return fields


def _name(field: bytes) -> str:
    return _text(field).strip().strip('"').strip()


def _csv_cell(data: bytes, member: str | None, day: str, quote: str) -> ProviderContext | None:
    """The ECB history cell of ``quote`` on ``day``: header column and the date's line."""
    header_end = data.find(b"\n")
    header = data[: len(data) if header_end < 0 else header_end].rstrip(b"\r")
    names = [_name(raw) for _, raw in _csv_fields(header)]
    if quote not in names or header_end < 0:
        return None
    column = names.index(quote)
    # Silver strips the Date cell, so blanks around the date still name its line.
    found = re.compile(rb"^[ \t]*" + re.escape(day.encode()) + rb"[ \t]*(?:,|\r?$)", re.M)
    match = found.search(data, header_end + 1)
    if match is None:
        return None
    start = match.start()
    end = data.find(b"\n", start)
    line = data[start : len(data) if end < 0 else end].rstrip(b"\r")
    cells = _csv_fields(line)
    if column >= len(cells):
        return None
    at, cell = cells[column]
    return ProviderContext(
        format="csv",
        member=member,
        line_number=_line_number(data, start),
        offset=start,
        fragment=_text(line),
        field=quote,
        value=_text(cell),
        value_offset=start + at,
        column_number=column + 1,
        header=_text(header),
    )


_QUOTE_CHARS: Final = rb"[\"']"


def _xml_element(data: bytes, day: str, quote: str) -> ProviderContext | None:
    """The ``<Cube currency=quote rate=.../>`` element inside the ``Cube time=day``."""
    day_cube = re.search(rb"\btime\s*=\s*" + _QUOTE_CHARS + re.escape(day.encode()), data)
    start = day_cube.end() if day_cube else 0
    next_day = re.compile(rb"\btime\s*=").search(data, start)
    stop = next_day.start() if next_day else len(data)
    element = re.compile(
        rb"<(?:[\w.-]+:)?Cube\b[^>]*?\bcurrency\s*=\s*"
        + _QUOTE_CHARS
        + re.escape(quote.encode())
        + _QUOTE_CHARS
        + rb"[^>]*>"
    ).search(data, start, stop)
    if element is None:
        return None
    rate = re.compile(rb"\brate\s*=\s*[\"']([^\"']*)[\"']").search(element.group())
    if rate is None:
        return None
    return ProviderContext(
        format="xml",
        member=None,
        line_number=_line_number(data, element.start()),
        offset=element.start(),
        fragment=_text(element.group()),
        field="rate",
        value=_text(rate.group(1)),
        value_offset=element.start() + rate.start(1),
    )


def _json_member(data: bytes, day: str, quote: str, value: str) -> ProviderContext | None:
    """The JSON member holding ``quote``'s rate: named by the quote (``"USD": 1.1172``), or
    a ``rate``-like member beside ``"quote": "USD"`` (Frankfurter v2, v6 pair)."""
    hit = find_member(data, day, quote, value)
    if hit is None:
        return None
    return ProviderContext(
        format="json",
        member=None,
        line_number=_line_number(data, hit.start),
        offset=hit.start,
        fragment=_text(data[hit.start : hit.end]),
        field=".".join(str(part) for part in hit.path),
        value=_text(data[hit.value_start : hit.end]),
        value_offset=hit.value_start,
    )
