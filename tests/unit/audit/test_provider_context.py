"""The provider's value is found where the stored bytes write it, for every payload shape."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest

from makerates_lake.audit.lineage import payload_text
from makerates_lake.audit.provider_context import Unpacked, locate, unpack
from makerates_lake.audit.render import _shown
from makerates_lake.bronze.record import BronzeRecord
from makerates_lake.silver.parse import parse_bronze
from tests.silver_helpers import frame
from tests.unit.audit.test_provider_value import _XML, SHAPES

# A v6 history answer in amounts gives the amount; silver divides it by the amount asked.
_PER_UNIT = {"v6 history amounts"}


def _rates(rec: BronzeRecord) -> list[tuple[str, str, str]]:
    rates = parse_bronze(frame(rec)).rates
    found = sorted(
        {
            (str(d), str(b), str(q))
            for d, b, q in zip(
                rates["rate_date"], rates["base_currency"], rates["quote_currency"], strict=True
            )
        }
    )
    # A history file holds thousands: about 30 spread over it and the last are enough.
    return found if len(found) <= 200 else [*found[:: len(found) // 30], found[-1]]


@pytest.mark.parametrize(
    ("name", "rec"), [(s[0], s[1]) for s in SHAPES if s[2]], ids=[s[0] for s in SHAPES if s[2]]
)
def test_every_rate_silver_reads_is_found_at_its_offset(name: str, rec: BronzeRecord) -> None:
    """For each rate of a payload the context's value is the text silver read, and the
    offsets point at the fragment and the value in the (unpacked) bytes."""
    row: dict[str, Any] = frame(rec).row(0, named=True)
    unpacked = unpack(rec.raw_response)
    for day, base, quote in _rates(rec):
        text = payload_text(row, day, base, quote)
        assert isinstance(text, str)
        assert unpacked is not None
        context = locate(unpacked, rec.source_name, day, quote, text)
        assert context is not None, (day, base, quote)
        data = unpacked.data
        fragment = context.fragment.encode()
        assert data[context.offset : context.offset + len(fragment)] == fragment
        value = context.value.encode()
        assert data[context.value_offset : context.value_offset + len(value)] == value
        assert context.line_number == data[: context.offset].count(b"\n") + 1
        if name not in _PER_UNIT:
            # Silver keeps a rate given as a JSON string with its quotes; a CSV cell stripped.
            assert text in {context.value.strip(), context.value.strip().strip('"')}


def test_a_zip_is_read_through_its_csv_member() -> None:
    """Offsets of a zipped CSV count in the member, which is named."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", "not this one")
        archive.writestr("hist.csv", "Date,USD,JPY,\n2024-01-03,1.0919,155.52,\n")
    unpacked = unpack(buffer.getvalue())
    assert unpacked is not None
    assert unpacked.member == "hist.csv"
    context = locate(unpacked, "ecb-history", "2024-01-03", "JPY", "155.52")
    assert context is not None
    assert (context.line_number, context.offset, context.value_offset) == (2, 14, 32)
    assert (context.field, context.column_number, context.value) == ("JPY", 3, "155.52")
    assert "zip member hist.csv (uncompressed bytes)" in context.where()


def test_a_zip_silver_cannot_read_gives_no_bytes_to_look_in() -> None:
    """A damaged zip, or one without a CSV member, unpacks to nothing (no exception)."""
    assert unpack(b"PK\x03\x04 not really a zip") is None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("rates.txt", "Date,USD\n")
    assert unpack(buffer.getvalue()) is None


def test_the_xml_element_is_the_currency_cube_of_the_day() -> None:
    """ECB daily XML: the ``Cube currency= rate=`` element and its rate attribute."""
    data = _XML.encode()
    context = locate(Unpacked(data), "ecb-daily", "2026-08-17", "GBP", "0.86720")
    assert context is not None
    assert context.fragment == "<Cube currency='GBP' rate='0.86720'/>"
    assert context.offset == data.index(b"<Cube currency='GBP'")
    assert (context.field, context.value) == ("rate", "0.86720")


def test_a_series_names_the_member_of_the_asked_day() -> None:
    """Frankfurter v1 series: the same quote under two dates; the asked day's is found."""
    body = b'{"rates":{"2024-01-02":{"EUR":0.91},"2024-01-03":{"EUR":0.9150}}}'
    context = locate(Unpacked(body), "frankfurter", "2024-01-03", "EUR", "0.9150")
    assert context is not None
    assert context.fragment == '"EUR":0.9150'
    assert context.field == "rates.2024-01-03.EUR"
    assert context.offset == body.index(b'"EUR":0.9150')


def test_no_rate_or_no_such_quote_has_no_context() -> None:
    """Nothing is invented: an absent quote, or no value, gives None."""
    body = b'{"conversion_rates":{"EUR":0.9}}'
    assert locate(Unpacked(body), "exchangerate-api", "2024-05-03", "GBP", "0.8") is None
    assert locate(Unpacked(body), "exchangerate-api", "2024-05-03", "EUR", None) is None
    csv = b"Date,USD,\n2024-01-02,1.09,\n"
    assert locate(Unpacked(csv), "ecb-history", "2024-01-09", "USD", "1.09") is None


def test_control_characters_in_stored_text_are_escaped_when_shown() -> None:
    """A body's terminal escapes never reach the terminal as such."""
    assert _shown("1.09\x1b[2J") == "1.09\\x1b[2J"
    assert _shown("2024-01-02,1.09,") == "2024-01-02,1.09,"
