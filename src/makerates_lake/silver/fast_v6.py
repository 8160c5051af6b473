"""A vectorised reader for the common ExchangeRate-API / open.er-api payload (pure).

:func:`~makerates_lake.silver.payloads.parse_v6` decodes each payload with ``json.loads``
and a callback per number, which is exact but costs about 0.15 ms per payload of 160
rates: most of a reprocess. Almost every stored payload has one shape, a flat JSON
object with scalar members and one flat ``conversion_rates`` (or ``rates``) object of
``"XXX": number`` pairs. For exactly that shape this module gives the same rows in a few
Polars string operations over the whole column:

* :data:`CANONICAL` must match the whole body. It is a subset of the JSON grammar
  (RFC 8259 whitespace, numbers, strings without escapes or control characters), so a
  body it accepts is valid JSON whose rate texts are the literal number tokens, which
  is also what ``json.loads(parse_float=str, parse_int=str)`` returns.
* Anything the slow reader treats specially is left to it: ``error`` or ``result:
  "error"``, history dates (``year``/``month``/``day``), pair and amount answers, a
  member given twice, a non-string ``base_code``, a ``time_last_update_unix`` that is
  not a plain integer of at most 10 digits, nested rates, quoted rates, keys that are
  not three capital letters, an empty rates object, and bytes that are not UTF-8.

Duplicate quotes inside the rates object are kept, in order, as the slow reader keeps
them, so the ``duplicate_quote`` rule still sees them. A property test compares both
readers on generated payloads.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

import polars as pl

from makerates_lake.silver.payloads import RAW_RATE_SCHEMA, V6_PATH

_WS = r"[ \t\n\r]*"
_NUMBER = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
_STRING = r'"[^"\\\x00-\x1f]*"'
_SCALAR = f"(?:{_STRING}|{_NUMBER}|true|false|null)"
_MEMBER = f'"[a-z_]+"{_WS}:{_WS}{_SCALAR}'
_PAIR = f'"[A-Z]{{3}}"{_WS}:{_WS}{_NUMBER}'
_RATES = f'"(?:conversion_rates|rates)"{_WS}:{_WS}\\{{{_WS}{_PAIR}(?:{_WS},{_WS}{_PAIR})*{_WS}\\}}'
_ANY = f"(?:{_MEMBER}|{_RATES})"
#: The whole-body pattern a payload must match to take the vectorised path.
CANONICAL = f"^{_WS}\\{{{_WS}{_ANY}(?:{_WS},{_WS}{_ANY})*{_WS}\\}}{_WS}$"


def _key(name: str) -> str:
    return f'"{name}"{_WS}:'


# Members the slow reader acts on in ways this module does not reproduce.
_SPECIAL = _key("(?:error|year|month|day|conversion_rate|target_code|conversion_amounts)")
_RATES_KEY = _key("(?:conversion_rates|rates)")


# The rates object, replaced by a marker member: the checks and extractions below then
# run on the few hundred characters around it, not on the 160 rates of every body.
_RATES_OBJECT = f'"(conversion_rates|rates)"{_WS}:{_WS}\\{{[^}}]*\\}}'
_MARKER = '"@${1}@":0'


def _eligible(body: pl.Expr, outer: pl.Expr) -> pl.Expr:
    base = _key("base_code")
    unix = _key("time_last_update_unix")
    result = _key("result")
    return (
        body.str.contains(CANONICAL)
        & ~outer.str.contains(_SPECIAL)
        & (outer.str.count_matches('"@(?:conversion_rates|rates)@"') == 1)
        & ~outer.str.contains(_RATES_KEY)
        & (outer.str.count_matches(result) <= 1)
        & ~outer.str.contains(f'{result}{_WS}"error"')
        & (outer.str.count_matches(base) == outer.str.count_matches(f'{base}{_WS}"'))
        & (outer.str.count_matches(base) <= 1)
        & (
            (outer.str.count_matches(unix) == 0)
            | (
                (outer.str.count_matches(unix) == 1)
                & outer.str.contains(f"{unix}{_WS}[0-9]{{1,10}}{_WS}[,}}]")
            )
        )
    ).fill_null(False)


def _texts(raw: pl.Series) -> pl.Series:
    """Bodies as text; null where the bytes are not UTF-8 (the slow reader reports those)."""
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


def _request_columns(
    urls: Sequence[str | None], versions: Sequence[str | None]
) -> tuple[list[str | None], list[str], list[bool]]:
    """Requested base, ``<version>`` prefix and latest flag, as the slow reader derives them."""
    requested: list[str | None] = []
    endpoints: list[str] = []
    latest: list[bool] = []
    for url, version in zip(urls, versions, strict=True):
        match = V6_PATH.search(urlsplit(url or "").path)
        endpoint = match.group(1).lower() if match else "latest"
        requested.append(match.group(2).upper() if match else None)
        endpoints.append(f"{version or 'v6'}|{endpoint}")
        latest.append(endpoint != "history")
    return requested, endpoints, latest


def parse_canonical(bronze: pl.DataFrame, candidates: pl.Series) -> tuple[pl.DataFrame, pl.Series]:
    """Read the candidate rows that have the canonical shape.

    Args:
        bronze: Bronze rows (``raw_response``, ``request_url``, ``source_version``).
        candidates: Boolean mask of rows a v6 reader would read (successful answers).

    Returns:
        Raw rate rows (:data:`~makerates_lake.silver.payloads.RAW_RATE_SCHEMA`, ``row`` is
        the bronze row number) and the mask of rows they cover; the other rows still
        need the slow reader.
    """
    empty = pl.DataFrame(schema=RAW_RATE_SCHEMA)
    if not candidates.any():
        return empty, candidates
    rows = (
        bronze.select("raw_response", "request_url", "source_version")
        .with_row_index("row")
        .filter(candidates)
    )
    body, outer = pl.col("body"), pl.col("outer")
    rows = (
        rows.with_columns(_texts(rows.get_column("raw_response")).alias("body"))
        .drop("raw_response")
        .with_columns(body.str.replace_all(_RATES_OBJECT, _MARKER).alias("outer"))
        .filter(_eligible(body, outer))
    )
    handled = pl.Series("handled", [False] * bronze.height).scatter(rows.get_column("row"), True)
    if rows.height == 0:
        return empty, handled
    requested, endpoints, latest = _request_columns(
        rows.get_column("request_url").to_list(), rows.get_column("source_version").to_list()
    )
    unix = outer.str.extract(f"{_key('time_last_update_unix')}{_WS}([0-9]+)", 1).cast(pl.Int64)
    open_api = outer.str.contains('"@rates@"', literal=True)
    per_payload = rows.select(
        "row",
        outer.str.extract(f'{_key("base_code")}{_WS}"([^"]*)"', 1).alias("base_currency"),
        pl.from_epoch(unix, time_unit="s").dt.date().cast(pl.String).alias("rate_date"),
        unix.alias("provider_updated_unix"),
        pl.Series(endpoints).str.split_exact("|", 1).alias("_ve"),
        open_api.alias("_open"),
        pl.Series("requested_base", requested, dtype=pl.String),
        pl.Series("is_latest", latest, dtype=pl.Boolean),
        body.str.extract(f"{_RATES_KEY}{_WS}\\{{([^}}]*)\\}}", 1).alias("_pairs"),
    ).unnest("_ve")
    # schema_version as parse_v6 spells it: <version>[-open]-<endpoint>-flat.
    per_payload = per_payload.with_columns(
        pl.when("_open")
        .then(pl.concat_str("field_0", pl.lit("-open-"), "field_1", pl.lit("-flat")))
        .otherwise(pl.concat_str("field_0", pl.lit("-"), "field_1", pl.lit("-flat")))
        .alias("schema_version")
    )
    # Inside the canonical rates object every comma separates two "XXX": number pairs.
    rates = (
        per_payload.with_columns(pl.col("_pairs").str.split(","))
        .explode("_pairs", empty_as_null=True)
        .with_columns(pl.col("_pairs").str.strip_chars(" \t\n\r"))
        .with_columns(
            pl.col("_pairs").str.slice(1, 3).alias("quote_currency"),
            pl.col("_pairs").str.slice(5).str.strip_chars_start(" \t\n\r:").alias("rate_text"),
        )
    )
    return rates.select(
        [pl.col(name).cast(dtype) for name, dtype in RAW_RATE_SCHEMA.items()]
    ), handled
