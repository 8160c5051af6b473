"""Render query results as a text table, CSV or JSON (pure).

Decimals are written as their exact text in every format (JSON strings, not floats),
so ``0.86720`` never becomes ``0.8672000000000001``.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Final

import pyarrow as pa

FORMATS: Final = ("table", "csv", "json")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _json_value(value: object) -> object:
    if isinstance(value, Decimal | datetime | date | bytes):
        return value.hex() if isinstance(value, bytes) else _text(value)
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    return value


def render(result: pa.Table, fmt: str) -> str:
    """``result`` as ``table``, ``csv`` or ``json`` text.

    Raises:
        ValueError: Unknown format.
    """
    rows = result.to_pylist()
    names = result.column_names
    if fmt == "json":
        return json.dumps([{k: _json_value(v) for k, v in row.items()} for row in rows], indent=1)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(names)
        writer.writerows([_text(row[n]) for n in names] for row in rows)
        return buffer.getvalue().rstrip("\n")
    if fmt == "table":
        cells = [[_text(row[n]) for n in names] for row in rows]
        widths = [max([len(n), *(len(r[i]) for r in cells)]) for i, n in enumerate(names)]
        lines = [
            " | ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)),
            "-+-".join("-" * w for w in widths),
        ]
        lines += [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
        lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
        return "\n".join(lines)
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
