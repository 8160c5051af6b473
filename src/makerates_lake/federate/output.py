"""Render query results as a text table, CSV or JSON (pure).

Decimals are written as their exact text in every format (JSON strings, not floats),
so ``0.86720`` never becomes ``0.8672000000000001``.

JSON output is always valid JSON (RFC 8259), whatever DuckDB type a column has, because
other programs parse it: dates, times and timestamps are ISO 8601 text, intervals ISO 8601
durations (``P1M2DT3S``), binary values hex text, and the floats JSON cannot hold are the
strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (text rather than null, so a missing
value and a non-finite one stay distinguishable). Dates and timestamps outside Python's
range (DuckDB's ``infinity``, say) are text in every format rather than an error. In the
table and CSV formats a list, struct or map is its JSON text, and binary values are hex
text as in JSON.

Column names are made unique first (:func:`unique_names`): same-named columns (``SELECT
1 AS a, 2 AS a``, or ``SELECT *`` over a join) each keep their own values instead of
one hiding the other.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

FORMATS: Final = ("table", "csv", "json")
_NON_FINITE: Final = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def unique_names(names: Iterable[str]) -> list[str]:
    """``names`` with repeats renamed ``name_1``, ``name_2``, ... (DuckDB's pandas style).

    The first column of a name keeps it; a repeat gets the lowest free suffix, never one
    another column already has, so every column stays addressable by name.
    """
    given = list(names)
    taken = set(given)
    seen: set[str] = set()
    result: list[str] = []
    for name in given:
        if name in seen:
            suffix = 1
            while f"{name}_{suffix}" in taken:
                suffix += 1
            name = f"{name}_{suffix}"
            taken.add(name)
        seen.add(name)
        result.append(name)
    return result


def _interval_text(value: pa.MonthDayNano) -> str:
    seconds = Decimal(value.nanoseconds) / Decimal(1_000_000_000)
    return f"P{value.months}M{value.days}DT{seconds.normalize():f}S"


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, pa.MonthDayNano):
        return _interval_text(value)
    if isinstance(value, list | tuple | dict):
        # A list, struct or map as its JSON text, not Python's repr ("datetime.date(...)").
        return json.dumps(_json_value(value), allow_nan=False)
    if isinstance(value, bytes):
        return value.hex()  # as in JSON, not Python's repr (b'PK\x03...')
    return str(value)


def _json_value(value: object) -> object:
    """``value`` as something :func:`json.dumps` writes as strict JSON."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _NON_FINITE[str(value)]
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, pa.MonthDayNano):
        return _interval_text(value)
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return _text(value)  # Decimal, date, time, datetime and anything else as text


def _out_of_range(scalar: pa.Scalar) -> object:
    """A value Python cannot hold (a date past year 9999, DuckDB's ``infinity``) as text.

    Nested values are taken apart so only the offending leaves become text.
    """
    try:
        return scalar.as_py()
    except (OverflowError, ValueError, pa.ArrowException):
        pass
    kind = scalar.type
    if pa.types.is_map(kind):
        return [(_out_of_range(e["key"]), _out_of_range(e["value"])) for e in scalar.values]
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        return [_out_of_range(v) for v in scalar.values]
    if pa.types.is_struct(kind):
        return {kind.field(i).name: _out_of_range(scalar[i]) for i in range(kind.num_fields)}
    width = kind.bit_width if pa.types.is_temporal(kind) else 0
    if width in (32, 64):
        raw = pa.array([scalar]).view(pa.int32() if width == 32 else pa.int64())[0].as_py()
        if raw == 2 ** (width - 1) - 1:
            return "infinity"
        if raw in (-(2 ** (width - 1)), -(2 ** (width - 1)) + 1):
            return "-infinity"
    try:
        return pc.cast(pa.array([scalar]), pa.string())[0].as_py()
    except pa.ArrowException:
        return f"<{kind} value>"


def _values(column: pa.ChunkedArray) -> list[object]:
    try:
        values: list[object] = column.to_pylist()
    except (OverflowError, ValueError, pa.ArrowException):
        return [_out_of_range(s) for s in column]
    return values


def render(result: pa.Table, fmt: str) -> str:
    """``result`` as ``table``, ``csv`` or ``json`` text.

    Columns are read by position and named by :func:`unique_names`, so repeated names
    never mix up values; JSON is strict (see the module docstring for how each type is
    written).

    Raises:
        ValueError: Unknown format.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    names = unique_names(result.column_names)
    columns = [_values(c) for c in result.columns]
    rows: list[Sequence[object]] = list(zip(*columns, strict=True)) if columns else []
    if fmt == "json":
        records = [{n: _json_value(v) for n, v in zip(names, row, strict=True)} for row in rows]
        return json.dumps(records, indent=1, allow_nan=False)
    cells = [[_text(v) for v in row] for row in rows]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(cells)
        return buffer.getvalue().rstrip("\n")
    widths = [max([len(n), *(len(r[i]) for r in cells)]) for i, n in enumerate(names)]
    lines = [
        " | ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)),
        "-+-".join("-" * w for w in widths),
    ]
    lines += [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)
