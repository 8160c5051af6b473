"""A vectorised reader for the common ExchangeRate-API / open.er-api payload (pure).

:func:`~makerates_lake.silver.payloads.parse_v6` decodes each payload with ``json.loads``
and a callback per number, which is exact but, per payload of 160 rates, most of a
reprocess. Almost every stored payload has one shape, a flat JSON
object with scalar members and one flat ``conversion_rates`` (or ``rates``) object of
``"XXX": number`` pairs. For exactly that shape this module gives the same rows in a few
Polars string operations over the whole column:

* :data:`~makerates_lake.silver.canonical_json.CANONICAL` must match the whole body
  (see :mod:`makerates_lake.silver.canonical_json`, shared with the Frankfurter reader).
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

from makerates_lake.silver.canonical_json import (
    CANONICAL,
    OUTER,
    PAIRS,
    RATES_KEY,
    WS,
    eligible_rows,
    key,
    rate_rows,
    string_member,
)
from makerates_lake.silver.payloads import RAW_RATE_SCHEMA, V6_PATH

_SPECIAL = key("(?:error|year|month|day|conversion_rate|target_code|conversion_amounts)")


def _eligible(body: pl.Expr, outside: pl.Expr) -> pl.Expr:
    base = key("base_code")
    unix = key("time_last_update_unix")
    result = key("result")
    return (
        body.str.contains(CANONICAL)
        & ~outside.str.contains(_SPECIAL)
        & (outside.str.count_matches('"@(?:conversion_rates|rates)@"') == 1)
        & ~outside.str.contains(RATES_KEY)
        & (outside.str.count_matches(result) <= 1)
        & ~outside.str.contains(f'{result}{WS}"error"')
        & (outside.str.count_matches(base) == outside.str.count_matches(f'{base}{WS}"'))
        & (outside.str.count_matches(base) <= 1)
        & (
            (outside.str.count_matches(unix) == 0)
            | (
                (outside.str.count_matches(unix) == 1)
                & outside.str.contains(f"{unix}{WS}[0-9]{{1,10}}{WS}[,}}]")
            )
        )
    ).fill_null(False)


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
    rows, handled = eligible_rows(bronze, candidates, ("request_url", "source_version"), _eligible)
    outside = OUTER
    if rows.height == 0:
        return empty, handled
    requested, endpoints, latest = _request_columns(
        rows.get_column("request_url").to_list(), rows.get_column("source_version").to_list()
    )
    unix = outside.str.extract(f"{key('time_last_update_unix')}{WS}([0-9]+)", 1).cast(pl.Int64)
    open_api = outside.str.contains('"@rates@"', literal=True)
    per_payload = rows.select(
        "row",
        string_member(outside, "base_code").alias("base_currency"),
        pl.from_epoch(unix, time_unit="s").dt.date().cast(pl.String).alias("rate_date"),
        unix.alias("provider_updated_unix"),
        pl.Series(endpoints).str.split_exact("|", 1).alias("_ve"),
        open_api.alias("_open"),
        pl.Series("requested_base", requested, dtype=pl.String),
        pl.Series("is_latest", latest, dtype=pl.Boolean),
        PAIRS.alias("_pairs"),
    ).unnest("_ve")
    # schema_version as parse_v6 spells it: <version>[-open]-<endpoint>-flat.
    per_payload = per_payload.with_columns(
        pl.when("_open")
        .then(pl.concat_str("field_0", pl.lit("-open-"), "field_1", pl.lit("-flat")))
        .otherwise(pl.concat_str("field_0", pl.lit("-"), "field_1", pl.lit("-flat")))
        .alias("schema_version")
    )
    return rate_rows(per_payload), handled
