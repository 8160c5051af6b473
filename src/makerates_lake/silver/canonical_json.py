"""The canonical JSON shape that the vectorised readers take, as regular expressions (pure).

Most stored payloads are one flat JSON object: scalar members and one flat rates object
of ``"XXX": number`` pairs. :data:`CANONICAL` must match a whole body for a vectorised
reader to read it. It is a subset of the JSON grammar (RFC 8259 whitespace, numbers,
strings without escapes or control characters), so a body it accepts is valid JSON
whose rate texts are the literal number tokens, which is also what the exact
``json.loads`` reader (:func:`~makerates_lake.silver.payloads.load_json`) returns.
Anything else goes to that reader.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from makerates_lake.silver.payloads import RAW_RATE_SCHEMA

WS = r"[ \t\n\r]*"
_NUMBER = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
_STRING = r'"[^"\\\x00-\x1f]*"'
_SCALAR = f"(?:{_STRING}|{_NUMBER}|true|false|null)"
_MEMBER = f'"[a-z_]+"{WS}:{WS}{_SCALAR}'
_PAIR = f'"[A-Z]{{3}}"{WS}:{WS}{_NUMBER}'
_RATES = f'"(?:conversion_rates|rates)"{WS}:{WS}\\{{{WS}{_PAIR}(?:{WS},{WS}{_PAIR})*{WS}\\}}'
_ANY = f"(?:{_MEMBER}|{_RATES})"
#: The whole-body pattern a payload must match to take a vectorised path.
CANONICAL = f"^{WS}\\{{{WS}{_ANY}(?:{WS},{WS}{_ANY})*{WS}\\}}{WS}$"

#: Any member that names a rates object.
RATES_KEY = f'"(?:conversion_rates|rates)"{WS}:'
# The rates member up to the brace that opens its object.
_RATES_OPEN = f"{RATES_KEY}{WS}\\{{"


def key(name: str) -> str:
    """Pattern of a member name (a regex alternative is allowed) and its colon."""
    return f'"{name}"{WS}:'


def string_member(outer_body: pl.Expr, name: str) -> pl.Expr:
    """The value of string member ``name`` (canonical strings need no unescaping)."""
    return outer_body.str.extract(f'{key(name)}{WS}"([^"]*)"', 1)


def single_string(outer_body: pl.Expr, name: str) -> pl.Expr:
    """``name`` occurs exactly once, with a string value."""
    return (outer_body.str.count_matches(key(name)) == 1) & (
        outer_body.str.count_matches(f'{key(name)}{WS}"') == 1
    )


def texts(raw: pl.Series) -> pl.Series:
    """Bodies as text; null where the bytes are not UTF-8 (the exact reader reports those)."""
    try:
        return raw.cast(pl.String)
    except pl.exceptions.PolarsError:  # one invalid body fails the whole cast
        decoded: list[str | None] = []
        for body in raw.to_list():
            try:
                decoded.append(None if body is None else body.decode("utf-8"))
            except UnicodeDecodeError:
                decoded.append(None)
        return pl.Series(raw.name, decoded, dtype=pl.String)


def rate_rows(per_payload: pl.DataFrame, body_column: str = "_pairs") -> pl.DataFrame:
    """One raw rate row per ``"XXX": number`` pair of the rates text in ``body_column``.

    Inside a canonical rates object every comma separates two pairs, and duplicate
    quotes stay, in order, as the exact reader keeps them.

    Returns:
        The rows in :data:`~makerates_lake.silver.payloads.RAW_RATE_SCHEMA`.
    """
    pairs = pl.col(body_column)
    # Only the columns kept are repeated for every pair (the readers' helpers are not).
    kept = [name for name in RAW_RATE_SCHEMA if name not in ("quote_currency", "rate_text")]
    rows = (
        per_payload.select(*kept, pairs.str.split(","))
        .explode(body_column, empty_as_null=True)
        .with_columns(pairs.str.strip_chars(" \t\n\r"))
        .with_columns(
            pairs.str.slice(1, 3).alias("quote_currency"),
            pairs.str.slice(5).str.strip_chars_start(" \t\n\r:").alias("rate_text"),
        )
    )
    return rows.select([pl.col(name).cast(dtype) for name, dtype in RAW_RATE_SCHEMA.items()])


#: Column names :func:`eligible_rows` gives the body, the body with its rates object
#: replaced by a marker member ``"@<key>@":0`` (the checks and extractions then run on
#: the few hundred characters around it, not on the 160 rates of every body), and the
#: inside of that rates object.
BODY, OUTER, PAIRS = pl.col("body"), pl.col("outer"), pl.col("pairs")


def _split_at_rates(rows: pl.DataFrame) -> pl.DataFrame:
    """``outer`` and ``pairs`` of each ``body`` (``raw_response`` holds its bytes).

    The rates object is the first ``"conversion_rates"`` or ``"rates"`` member whose
    value opens with a brace, up to the first closing brace after it (a regex match of
    the same). Only that first one is cut out, so a body with a second rates object
    keeps its name in ``outer``, which every reader's shape check rejects. The cut is
    made on the bytes (Polars finds byte offsets; its string slices count characters),
    at ASCII braces and quotes, so both sides stay UTF-8.
    """
    start, open_, close = pl.col("_start"), pl.col("_open"), pl.col("_close")
    rest = pl.col("_rest")
    rows = rows.with_columns(
        BODY.str.find(_RATES_OPEN).alias("_start"),
        # Bodies that are not UTF-8 have no text: leave their bytes out of the cuts.
        pl.when(BODY.is_not_null()).then(pl.col("raw_response")).alias("_bytes"),
    ).with_columns(pl.col("_bytes").bin.slice(start).alias("_rest"))
    rows = rows.with_columns(
        rest.cast(pl.String).str.find("{", literal=True).alias("_open"),
        rest.cast(pl.String).str.find("}", literal=True).alias("_close"),
        rest.cast(pl.String).str.starts_with('"conversion_rates"').alias("_long"),
    )
    marker = (
        pl.when("_long").then(pl.lit('"@conversion_rates@":0')).otherwise(pl.lit('"@rates@":0'))
    )
    return rows.with_columns(
        pl.when(close.is_null())
        .then(BODY)
        .otherwise(
            pl.concat_str(
                pl.col("_bytes").bin.slice(0, start).cast(pl.String),
                marker,
                rest.bin.slice(close + 1).cast(pl.String),
            )
        )
        .alias("outer"),
        pl.when(close.is_not_null())
        .then(rest.bin.slice(open_ + 1, close - open_ - 1).cast(pl.String))
        .alias("pairs"),
    ).drop("_start", "_bytes", "_rest", "_open", "_close", "_long")


def eligible_rows(
    bronze: pl.DataFrame,
    candidates: pl.Series,
    columns: tuple[str, ...],
    eligible: Callable[[pl.Expr, pl.Expr], pl.Expr],
) -> tuple[pl.DataFrame, pl.Series]:
    """The candidate rows a vectorised reader takes, and the mask of them over ``bronze``.

    Args:
        bronze: Bronze rows.
        candidates: Rows the reader's source would read at all.
        columns: Request columns the reader needs besides the body.
        eligible: Given the ``body`` and ``outer`` columns, whether a row has the shape.

    Returns:
        Rows with ``row`` (bronze row number), ``columns``, ``body``, ``outer`` and
        ``pairs``.
    """
    rows = bronze.select("raw_response", *columns).with_row_index("row").filter(candidates)
    rows = rows.with_columns(texts(rows.get_column("raw_response")).alias("body"))
    rows = _split_at_rates(rows).drop("raw_response").filter(eligible(BODY, OUTER))
    handled = pl.Series("handled", [False] * bronze.height).scatter(rows.get_column("row"), True)
    return rows, handled
