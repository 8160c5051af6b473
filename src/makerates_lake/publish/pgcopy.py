"""Arrow -> PostgreSQL binary COPY, encoded column-wise with NumPy (pure; no connection).

Why not ADBC's own ``adbc_ingest``: for a publish it costs a second connection (plus its
type catalog query) and a row-at-a-time encoder in the driver, and measured in one run
against this module it loads the publish rows at less than half the speed
(``benchmarks/README.md``, "Storage core"). Here every column is encoded as a whole:

* rows are grouped by the byte lengths of their text values; every group is one
  NumPy structured array whose fields are the binary COPY fields, filled column by column
  with strided copies, so no Python code runs per row;
* ``decimal128(p, s)`` is written as a PostgreSQL ``numeric`` with the same base-10000
  digit places for every value of a block (a value's own leading and trailing zero digits
  are allowed: the server strips them), computed from the 128-bit unscaled integers by
  long division on 32-bit limbs;
* canonical UUID text is written as the 16 bytes of a ``uuid``.

The encoded values are exactly what PostgreSQL's own binary receive functions read; the
integration tests compare a load through this module with one through ADBC row for row.
Row order inside a group is kept; groups follow each other by first appearance.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from makerates_lake.publish.errors import CopyEncodeError

HEADER: Final = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
"""Binary COPY signature, flags (no OIDs) and an empty header extension."""
TRAILER: Final = b"\xff\xff"
"""The int16 -1 that ends a binary COPY stream."""

_PG_EPOCH_DAYS: Final = 10_957  # 2000-01-01 - 1970-01-01, in days
_PG_EPOCH_MICROS: Final = _PG_EPOCH_DAYS * 86_400 * 1_000_000
_NUMERIC_POS: Final = 0x0000
_NUMERIC_NEG: Final = 0x4000
_DEC_DIGITS: Final = 4  # decimal digits per numeric digit (NBASE 10000)
_BASE: Final = np.uint64(10_000)
_LIMB_MASK: Final = np.uint64(0xFFFFFFFF)

_U64 = npt.NDArray[np.uint64]

_UUID_TEXT: Final = 36
_UUID_HYPHENS: Final = (8, 13, 18, 23)
_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def encode(
    table: pa.Table, *, rows_per_chunk: int = 65_536, uuids: Collection[str] = ()
) -> Iterator[bytes | memoryview]:
    """``table`` as a binary COPY stream: header, row blocks, trailer.

    Args:
        table: Columns in the target table's order; types date32, string, bool, int64,
            int32, timestamp[us, tz] and decimal128 are supported. No nulls.
        rows_per_chunk: Rows per yielded block, so the caller can send one block while
            the next is encoded.
        uuids: Text columns to send as PostgreSQL ``uuid`` (see :func:`uuid_bytes`),
            converted block by block so that this too overlaps with the sending.

    Raises:
        CopyEncodeError: A column has nulls or an unsupported type.
    """
    refuse_nulls(table)
    return encode_blocks(blocks_of(table, rows_per_chunk), uuids=uuids)


def blocks_of(table: pa.Table, rows_per_block: int) -> Iterator[pa.Table]:
    """``table`` in slices of ``rows_per_block`` rows, each column one chunk."""
    # Chunks combined once (a column of one chunk is kept as it is); a block is then a
    # slice of each array, which copies nothing.
    whole = table.combine_chunks()
    for start in range(0, table.num_rows, rows_per_block):
        yield whole.slice(start, rows_per_block)


def encode_blocks(
    blocks: Iterable[pa.Table], *, uuids: Collection[str] = ()
) -> Iterator[bytes | memoryview]:
    """Tables of one schema as one binary COPY stream: header, each table, trailer.

    The blocks are taken one at a time, so a caller can produce the next while this one
    is sent. A column of one chunk is encoded as it is; one of several is combined first.

    Raises:
        CopyEncodeError: A column has nulls or an unsupported type.
    """
    yield HEADER
    for block in blocks:
        refuse_nulls(block)
        yield _encode_rows(
            [
                (name in uuids, _one_array(column))
                for name, column in zip(block.column_names, block.columns, strict=True)
            ]
        )
    yield TRAILER


def _one_array(column: pa.ChunkedArray) -> pa.Array:
    # A single chunk is taken as it is: combining it would copy it.
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def refuse_nulls(table: pa.Table) -> None:
    """Raise :class:`CopyEncodeError` naming the first column of ``table`` with a null."""
    for name, column in zip(table.column_names, table.columns, strict=True):
        if column.null_count:
            raise CopyEncodeError("a column has nulls", column=name)


def _encode_rows(columns: list[tuple[bool, pa.Array]]) -> memoryview:
    """One block: each column given with whether it is sent as a uuid."""
    fields = [_fixed(_uuid_field(c)) if is_uuid else _field(c) for is_uuid, c in columns]
    # Rows whose text columns all have the same byte lengths form one fixed-width
    # structured array; text columns of one length throughout do not split groups.
    varying = [w for v, w in fields if v.dtype is None and w.size and w.min() != w.max()]
    if not varying:
        # A view of the block, not a copy: psycopg slices what it sends, and a slice of a
        # memoryview copies nothing.
        return _block(fields, None).view(np.uint8).data
    keys = np.stack(varying, axis=1)
    _, first, group = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    group = group.reshape(-1)
    parts = [_block(fields, np.flatnonzero(group == g)).view(np.uint8) for g in np.argsort(first)]
    return np.concatenate(parts).data


def _uuid_field(array: pa.Array) -> npt.NDArray[np.uint8]:
    # Each distinct id is converted once: an extraction's id repeats on all of its rates.
    encoded = pc.dictionary_encode(array)
    indices: npt.NDArray[np.intp] = encoded.indices.to_numpy()
    return uuid_bytes(encoded.dictionary)[indices]


@dataclass(frozen=True)
class _Values:
    """One column ready for blocks: fixed-width values, or text as Arrow offsets and bytes."""

    dtype: np.dtype[np.generic] | None  # None for text (its width varies per group)
    fixed: npt.NDArray[np.generic] | None = None
    offsets: npt.NDArray[np.int64] | None = None
    data: npt.NDArray[np.uint8] | None = None


# A column's values and the byte width of each row's value.
_Field = tuple[_Values, npt.NDArray[np.int64]]


def _field(array: pa.Array) -> _Field:
    kind = array.type
    n = len(array)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        offsets = np.frombuffer(
            array.buffers()[1],
            dtype=np.int64 if pa.types.is_large_string(kind) else np.int32,
            count=n + 1,
            offset=array.offset * (8 if pa.types.is_large_string(kind) else 4),
        ).astype(np.int64)
        data_buffer = array.buffers()[2]
        data = (
            np.frombuffer(data_buffer, dtype=np.uint8)
            if data_buffer is not None
            else np.zeros(0, dtype=np.uint8)
        )
        return _Values(None, offsets=offsets, data=data), np.diff(offsets)
    if pa.types.is_date32(kind):
        days = array.cast(pa.int32()).to_numpy() - np.int32(_PG_EPOCH_DAYS)
        return _fixed(days.astype(">i4"))
    if pa.types.is_timestamp(kind) and kind.unit == "us" and kind.tz is not None:
        micros = array.cast(pa.int64()).to_numpy() - np.int64(_PG_EPOCH_MICROS)
        return _fixed(micros.astype(">i8"))
    if pa.types.is_int64(kind):
        return _fixed(array.to_numpy().astype(">i8"))
    if pa.types.is_int32(kind):
        return _fixed(array.to_numpy().astype(">i4"))
    if pa.types.is_boolean(kind):
        return _fixed(array.to_numpy(zero_copy_only=False).astype(np.uint8))
    if pa.types.is_decimal128(kind):
        return _fixed(numeric_digits(array))
    raise CopyEncodeError("no binary COPY encoding for this Arrow type", type=str(kind))


def _fixed(values: npt.NDArray[np.generic]) -> _Field:
    itemsize = values.dtype.itemsize * (values.shape[1] if values.ndim == 2 else 1)
    dtype = np.dtype((values.dtype, values.shape[1])) if values.ndim == 2 else values.dtype
    return _Values(dtype, fixed=values), np.full(len(values), itemsize, dtype=np.int64)


def _block(fields: list[_Field], rows: npt.NDArray[np.intp] | None) -> npt.NDArray[np.void]:
    """Rows ``rows`` (None: all), of equal text lengths, as a structured array of fields."""
    first = 0 if rows is None else int(rows[0])
    count = len(fields[0][1]) if rows is None else len(rows)
    layout: list[tuple[str, object]] = [("count", ">i2")]
    for i, (values, width) in enumerate(fields):
        layout.append((f"l{i}", ">i4"))
        item = int(width[first])
        layout.append((f"v{i}", values.dtype if values.dtype is not None else ("u1", item)))
    block = np.empty(count, dtype=np.dtype(layout))
    block["count"] = len(fields)
    for i, (values, width) in enumerate(fields):
        item = int(width[first])
        block[f"l{i}"] = item
        if values.fixed is not None:
            block[f"v{i}"] = values.fixed if rows is None else values.fixed[rows]
            continue
        assert values.offsets is not None
        assert values.data is not None
        if item == 0:
            continue
        starts = values.offsets[:-1] if rows is None else values.offsets[rows]
        if rows is None or bool(np.all(np.diff(starts) == item)):
            # Contiguous strings of one length: a reshape of the data buffer, no gather.
            begin = int(starts[0])
            block[f"v{i}"] = values.data[begin : begin + count * item].reshape(-1, item)
        else:
            block[f"v{i}"] = values.data[starts[:, None] + np.arange(item)]
    return block


def numeric_digits(array: pa.Array) -> npt.NDArray[np.uint16]:
    """``decimal128(p, s)`` values as PostgreSQL binary ``numeric`` (``(n, 4 + digits)``).

    Every value gets the same digit layout: the base-10000 digit places of ``p - s``
    integer and ``s`` fraction decimal digits, less the leading and trailing places that
    are zero in every value; weight accordingly, ``dscale = s``.

    Raises:
        CopyEncodeError: A value exceeds the type's precision (a corrupt array).
    """
    kind = array.type
    precision, scale = kind.precision, kind.scale
    n = len(array)
    words = np.frombuffer(array.buffers()[1], dtype="<u4", count=4 * n, offset=16 * array.offset)
    # Four contiguous 32-bit limbs (held in uint64 for headroom), least significant first.
    limbs = [np.ascontiguousarray(words[i::4], dtype=np.uint64) for i in range(4)]
    negative = (limbs[3] >> np.uint64(31)).astype(bool)
    _negate(limbs, negative)
    frac_groups = -(-scale // _DEC_DIGITS)
    int_groups = max(1, -(-(precision - scale) // _DEC_DIGITS))
    digits = np.zeros((n, int_groups + frac_groups), dtype=np.uint16)
    column = int_groups + frac_groups - 1
    # Pad the fraction to whole groups: the last group holds the remainder times 10^pad.
    # One division yields it and the group before it (there is always one).
    pad = frac_groups * _DEC_DIGITS - scale
    if pad:
        short = np.uint64(10 ** (_DEC_DIGITS - pad))
        both = _divmod_small(limbs, 10 ** (2 * _DEC_DIGITS - pad))
        high = both // short
        digits[:, column] = (both - high * short) * np.uint64(10**pad)
        digits[:, column - 1] = high
        column -= 2
    # 128-bit long division only while some value needs more than 64 bits; rates rarely do.
    while column >= 1 and (limbs[2].any() or limbs[3].any()):
        pair = _divmod_small(limbs, 10 ** (2 * _DEC_DIGITS))
        high = pair // _BASE
        digits[:, column] = pair - high * _BASE
        digits[:, column - 1] = high
        column -= 2
    if limbs[2].any() or limbs[3].any():
        raise CopyEncodeError("a value does not fit its declared precision", type=str(kind))
    value = (limbs[1] << np.uint64(32)) | limbs[0]
    while column >= 0 and value.any():  # the digits left are leading zeros once value is 0
        quotient = value // _BASE
        digits[:, column] = value - quotient * _BASE
        value = quotient
        column -= 1
    if value.any():
        raise CopyEncodeError("a value does not fit its declared precision", type=str(kind))
    # Digit places that are zero in every value are left out (fewer bytes to send and for
    # the server to read); the weight moves with the first place kept.
    kept = np.flatnonzero(digits.any(axis=0))
    first, end = (int(kept[0]), int(kept[-1]) + 1) if kept.size else (int_groups - 1,) * 2
    digits = digits[:, first:end]
    weight = int_groups - 1 - first  # power of 10000 of the first digit (an int16)
    out = np.empty((n, 4 + digits.shape[1]), dtype=">u2")
    out[:, 0] = digits.shape[1]
    out[:, 1] = weight & 0xFFFF
    out[:, 2] = np.where(negative, _NUMERIC_NEG, _NUMERIC_POS)
    out[:, 3] = scale
    out[:, 4:] = digits
    return out


def _negate(limbs: list[_U64], mask: npt.NDArray[np.bool_]) -> None:
    """Two's complement negation of the 128-bit values selected by ``mask``, in place."""
    if not mask.any():
        return
    carry = np.ones(int(mask.sum()), dtype=np.uint64)
    for limb in limbs:
        value = (~limb[mask] & _LIMB_MASK) + carry
        limb[mask] = value & _LIMB_MASK
        carry = value >> np.uint64(32)


def _divmod_small(limbs: list[_U64], divisor: int) -> _U64:
    """Divide the 128-bit values in place by ``divisor`` (< 2^31); return the remainders."""
    d = np.uint64(divisor)
    remainder = np.zeros(len(limbs[0]), dtype=np.uint64)
    top = len(limbs)
    while top > 1 and not limbs[top - 1].any():  # zero limbs on top stay zero
        top -= 1
    for limb in reversed(limbs[:top]):
        current = (remainder << np.uint64(32)) | limb
        limb[:] = current // d
        remainder = current - limb * d
    return remainder


def uuid_bytes(array: pa.Array) -> npt.NDArray[np.uint8]:
    """Canonical UUID text (lower case, hyphenated) as PostgreSQL's binary ``uuid``: 16 bytes.

    Only the canonical spelling is taken, because it is the one PostgreSQL gives back as
    text: any other spelling would be read back changed.

    Raises:
        CopyEncodeError: A value is not a canonical UUID (the first one is named).
    """
    text = array.cast(pa.string()) if pa.types.is_large_string(array.type) else array
    n = len(text)
    if n == 0:
        return np.zeros((0, 16), dtype=np.uint8)
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32, count=n + 1, offset=4 * text.offset)
    raw = b""
    if text.null_count == 0 and bool(np.all(np.diff(offsets) == _UUID_TEXT)):
        data = np.frombuffer(text.buffers()[2], dtype=np.uint8)
        chars = data[offsets[0] : offsets[0] + _UUID_TEXT * n].reshape(n, _UUID_TEXT)
        raw = chars.tobytes()
        # Hyphens where they belong in every row, and nothing but hex digits besides them.
        if not (
            bool(np.all(chars[:, _UUID_HYPHENS] == ord("-")))
            and raw.translate(None, b"0123456789abcdef") == b"-" * (len(_UUID_HYPHENS) * n)
        ):
            raw = b""
    if not raw:
        bad = next(v for v in text.to_pylist() if not isinstance(v, str) or not _UUID.fullmatch(v))
        raise CopyEncodeError("not a canonical UUID", value=repr(bad))
    return np.frombuffer(binascii.unhexlify(raw.translate(None, b"-")), np.uint8).reshape(n, 16)
