"""Binary COPY encoding from Arrow: stream framing, each type's bytes, numeric digits."""

from __future__ import annotations

import struct
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal, localcontext

import pyarrow as pa
import pytest

from makerates_lake.publish.errors import CopyEncodeError
from makerates_lake.publish.pgcopy import HEADER, TRAILER, encode, numeric_digits, uuid_bytes


def _decode(stream: bytes) -> list[list[bytes]]:
    """Split a binary COPY stream into rows of raw field values (a reference parser)."""
    assert stream.startswith(HEADER)
    assert stream.endswith(TRAILER)
    body, rows, at = stream[len(HEADER) : -len(TRAILER)], [], 0
    while at < len(body):
        (count,) = struct.unpack_from(">h", body, at)
        at += 2
        row = []
        for _ in range(count):
            (length,) = struct.unpack_from(">i", body, at)
            at += 4
            row.append(body[at : at + length])
            at += length
        rows.append(row)
    return rows


def _numeric(raw: bytes) -> Decimal:
    """PostgreSQL's binary numeric back to a Decimal (reference decoder)."""
    ndigits, weight, sign, dscale = struct.unpack_from(">hhHH", raw)
    digits = struct.unpack_from(f">{ndigits}H", raw, 8)
    assert all(d < 10_000 for d in digits)
    with localcontext(prec=80):  # 38 digits need more than the default 28
        value = sum(
            (Decimal(d) * Decimal(10_000) ** (weight - i) for i, d in enumerate(digits)),
            Decimal(0),
        ).quantize(Decimal(1).scaleb(-dscale))
        return -value if sign == 0x4000 else +value


@pytest.mark.parametrize(
    "text",
    [
        "0", "1", "-1.5", "0.000000000000000001", "-0.000000000000000001", "0.8672",
        "12345.6789", "10000", "9999.9999", "18446744073709551616.5",
        "99999999999999999999.999999999999999999", "-99999999999999999999.999999999999999999",
    ],
)  # fmt: skip
def test_numeric_digits_round_trip(text: str) -> None:
    """Every decimal128(38, 18) value decodes back to itself, sign and scale included."""
    array = pa.array([Decimal(text)], pa.decimal128(38, 18))
    raw = numeric_digits(array).tobytes()
    assert _numeric(raw) == Decimal(text)
    assert struct.unpack_from(">H", raw, 6) == (18,)


@pytest.mark.parametrize(("precision", "scale"), [(10, 0), (12, 3), (9, 9), (20, 5)])
def test_numeric_digits_other_scales(precision: int, scale: int) -> None:
    """Scales that are not a multiple of four pad the last digit group correctly."""
    values = [Decimal("1").scaleb(-scale), Decimal(10 ** (precision - scale) - 1).scaleb(0)]
    values = [v.quantize(Decimal(1).scaleb(-scale)) for v in values]
    raw = numeric_digits(pa.array(values, pa.decimal128(precision, scale)))
    assert [_numeric(r.tobytes()) for r in raw] == values


@pytest.mark.parametrize(
    ("texts", "ndigits", "weight"),
    [
        (["1.5", "2.25"], 2, 0),  # units and one fraction group; 4 integer, 3 fraction unused
        (["0.000000000000000001", "-0.00000000000000002"], 1, -5),
        (["12345", "0"], 2, 1),
        (["0", "0"], 0, 0),
    ],
)
def test_numeric_places_zero_in_every_value_are_left_out(
    texts: list[str], ndigits: int, weight: int
) -> None:
    """Only the digit places some value uses are sent; every value still decodes exactly."""
    values = [Decimal(t) for t in texts]
    raw = numeric_digits(pa.array(values, pa.decimal128(38, 18)))
    assert raw.shape == (len(values), 4 + ndigits)
    assert all(struct.unpack_from(">hh", r.tobytes()) == (ndigits, weight) for r in raw)
    assert [_numeric(r.tobytes()) for r in raw] == values


def test_numeric_digits_of_a_sliced_array() -> None:
    """An array offset (a slice) is honoured."""
    array = pa.array([Decimal("1"), Decimal("2.5"), Decimal("-3")], pa.decimal128(38, 18))
    assert [_numeric(r.tobytes()) for r in numeric_digits(array.slice(1))] == [
        Decimal("2.5"),
        Decimal("-3"),
    ]


def _table() -> pa.Table:
    return pa.table(
        {
            "d": pa.array([date(2000, 1, 1), date(1970, 1, 1), date(2026, 3, 2)], pa.date32()),
            "s": ["EUR", "", "ÉÉ-long"],
            "b": [True, False, True],
            "i": pa.array([-1, 2**63 - 1, 0], pa.int64()),
            "t": pa.array(
                [datetime(2000, 1, 1, tzinfo=UTC), datetime(1970, 1, 1, tzinfo=UTC), None],
                pa.timestamp("us", tz="UTC"),
            ).fill_null(datetime(2026, 3, 2, 1, 2, 3, 4, tzinfo=UTC)),
            "r": pa.array([Decimal("1.5"), Decimal("0"), Decimal("-2")], pa.decimal128(38, 18)),
        }
    )


def _by_first_field(rows: list[list[bytes]]) -> dict[bytes, list[bytes]]:
    return {row[0]: row for row in rows}


def test_every_type_is_encoded_as_postgres_reads_it() -> None:
    """Dates and timestamps from 2000-01-01, big-endian ints, 1-byte bools, UTF-8 text."""
    rows = _by_first_field(_decode(b"".join(encode(_table()))))
    assert len(rows) == 3
    first = rows[struct.pack(">i", 0)]
    assert first[1:5] == [b"EUR", b"\x01", struct.pack(">q", -1), struct.pack(">q", 0)]
    assert _numeric(first[5]) == Decimal("1.5")
    second = rows[struct.pack(">i", -10_957)]
    assert second[1] == b""
    assert second[3] == struct.pack(">q", 2**63 - 1)
    assert second[4] == struct.pack(">q", -946_684_800_000_000)
    third = rows[struct.pack(">i", 9_557)]
    assert third[1] == "ÉÉ-long".encode()
    assert _numeric(third[5]) == Decimal("-2")


@pytest.mark.parametrize("chunk", [1, 2, 1000])
def test_rows_survive_any_chunking_in_order_per_text_length(chunk: int) -> None:
    """Every row is encoded once whatever the block size; equal-length rows keep order."""
    table = pa.table({"s": ["aa", "b", "cc", "d", "ee"], "n": pa.array(range(5), pa.int64())})
    rows = _decode(b"".join(encode(table, rows_per_chunk=chunk)))
    assert sorted(r[0] for r in rows) == [b"aa", b"b", b"cc", b"d", b"ee"]
    assert [r[0] for r in rows if len(r[0]) == 2] == [b"aa", b"cc", b"ee"]
    assert all(struct.unpack(">q", r[1])[0] == "abcde".index(r[0][0:1].decode()) for r in rows)


def test_empty_table_is_header_and_trailer() -> None:
    """No rows: a valid stream with nothing between header and trailer."""
    assert b"".join(encode(_table().slice(0, 0))) == HEADER + TRAILER


def test_nulls_and_unsupported_types_are_refused() -> None:
    """A null, or a type without an encoding, raises before any byte is produced."""
    with pytest.raises(CopyEncodeError, match="nulls") as caught:
        next(encode(pa.table({"s": ["a", None]})))
    assert caught.value.context == {"column": "s"}
    with pytest.raises(CopyEncodeError, match="no binary COPY encoding"):
        list(encode(pa.table({"f": pa.array([1.5], pa.float64())})))


IDS = [str(uuid.UUID(int=i * 0x0123456789ABCDEF0123456789ABCDEF % 2**128)) for i in range(5)]


def test_uuid_text_becomes_its_sixteen_bytes() -> None:
    """Canonical UUID text gives the bytes of uuid.UUID, also from a slice or large_string."""
    array = pa.array(IDS)
    assert [bytes(r) for r in uuid_bytes(array)] == [uuid.UUID(i).bytes for i in IDS]
    assert [bytes(r) for r in uuid_bytes(array.slice(2))] == [uuid.UUID(i).bytes for i in IDS[2:]]
    assert [bytes(r) for r in uuid_bytes(array.cast(pa.large_string()))] == [
        uuid.UUID(i).bytes for i in IDS
    ]
    assert uuid_bytes(array.slice(0, 0)).shape == (0, 16)


@pytest.mark.parametrize(
    "bad",
    [
        IDS[1].upper(), "{" + IDS[1][1:-1] + "}", IDS[1].replace("-", "") + "abcd",
        IDS[1][:8] + "0" + IDS[1][9:], IDS[1][:-1] + "g", IDS[1][:-1], IDS[1] + "0", "", None,
    ],
)  # fmt: skip
def test_other_spellings_of_a_uuid_are_refused(bad: str | None) -> None:
    """Only the canonical spelling is taken (PostgreSQL would give it back otherwise)."""
    with pytest.raises(CopyEncodeError, match="not a canonical UUID") as caught:
        uuid_bytes(pa.array([IDS[0], bad, IDS[2]], pa.string()))
    assert caught.value.context == {"value": repr(bad)}


def test_uuid_columns_are_sent_as_sixteen_bytes() -> None:
    """A text column named in ``uuids`` is sent as each id's 16 bytes (repeated ids too),
    other text columns as text."""
    ids = [IDS[i] for i in (0, 1, 0, 2, 2, 3, 4, 1)]
    table = pa.table({"u": ids, "s": ids})
    rows = _decode(b"".join(encode(table, uuids=("u",), rows_per_chunk=3)))
    assert [(r[0], r[1]) for r in rows] == [(uuid.UUID(i).bytes, i.encode()) for i in ids]
    with pytest.raises(CopyEncodeError, match="not a canonical UUID"):
        list(encode(table.set_column(0, "u", pa.array(["x"] * len(ids))), uuids=("u",)))
