"""A vectorised reader for the common Frankfurter v1 one-day answer (pure).

``{"amount":1.0,"base":"EUR","date":"2024-01-02","rates":{"AUD":1.6147,...}}`` is what a
Frankfurter backfill stores once per day, thousands of payloads for the ECB history. The
per-payload :func:`~makerates_lake.silver.payloads.parse_frankfurter` is exact but slow
over that many; for exactly this shape (the whole body matches
:data:`~makerates_lake.silver.canonical_json.CANONICAL`) this module gives the same rows
in a few Polars string operations over the whole column. Left to the exact reader: a
series (nested ``rates``), v2 arrays, an ``amount`` other than a plain 1 (the exact
reader divides the rates by it), a ``message`` (provider error), ``base`` or
``date`` missing, given twice or not a string, a ``conversion_rates`` member, keys that
are not three capital letters, an empty rates object, and bytes that are not UTF-8. A
property test compares both readers on generated payloads.
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
    single_string,
    string_member,
)
from makerates_lake.silver.payloads import RAW_RATE_SCHEMA, Request


def _eligible(body: pl.Expr, outside: pl.Expr) -> pl.Expr:
    return (
        body.str.contains(CANONICAL)
        & (outside.str.count_matches('"@rates@"', literal=True) == 1)
        & ~outside.str.contains('"@conversion_rates@"', literal=True)
        & ~outside.str.contains(RATES_KEY)
        & ~outside.str.contains(key("message"))
        & single_string(outside, "base")
        & single_string(outside, "date")
        & _for_one_unit(outside)
    ).fill_null(False)


def _for_one_unit(outside: pl.Expr) -> pl.Expr:
    """No ``amount``, or exactly one that is a plain 1: rates need no division."""
    amount = key("amount")
    return (outside.str.count_matches(amount) == 0) | (
        (outside.str.count_matches(amount) == 1)
        & outside.str.contains(f"{amount}{WS}1(?:\\.0+)?{WS}[,}}]")
    )


def _version_or_v1() -> pl.Expr:
    """``request.source_version or "v1"``: an empty version counts as none."""
    version = pl.col("source_version")
    return pl.when(version.fill_null("") == "").then(pl.lit("v1")).otherwise(version)


def _request_columns(
    urls: Sequence[str | None], params: Sequence[str | None]
) -> tuple[list[str], list[bool]]:
    """Requested base and latest flag, as :func:`parse_frankfurter` derives them."""
    requested: list[str] = []
    latest: list[bool] = []
    for url, stored in zip(urls, params, strict=True):
        text = url or ""
        if "?" in text or stored:  # the rare case: the exact reader's own rule
            query = Request("", None, text, stored, None).query()
            requested.append((query.get("base") or query.get("from") or "EUR").upper())
        else:
            requested.append("EUR")
        latest.append("latest" in text and "latest" in urlsplit(text).path)
    return requested, latest


def parse_frankfurter_days(
    bronze: pl.DataFrame, candidates: pl.Series
) -> tuple[pl.DataFrame, pl.Series]:
    """Read the candidate rows that are canonical Frankfurter one-day answers.

    Args:
        bronze: Bronze rows (``raw_response``, ``request_url``, ``request_params``,
            ``source_version``).
        candidates: Boolean mask of rows the Frankfurter reader would read.

    Returns:
        Raw rate rows (:data:`~makerates_lake.silver.payloads.RAW_RATE_SCHEMA`, ``row`` is
        the bronze row number) and the mask of rows they cover.
    """
    empty = pl.DataFrame(schema=RAW_RATE_SCHEMA)
    if not candidates.any():
        return empty, candidates
    rows, handled = eligible_rows(
        bronze, candidates, ("request_url", "request_params", "source_version"), _eligible
    )
    outside = OUTER
    if rows.height == 0:
        return empty, handled
    requested, latest = _request_columns(
        rows.get_column("request_url").to_list(), rows.get_column("request_params").to_list()
    )
    per_payload = rows.select(
        "row",
        string_member(outside, "base").alias("base_currency"),
        string_member(outside, "date").alias("rate_date"),
        pl.lit(None, pl.Int64).alias("provider_updated_unix"),
        pl.concat_str(pl.lit("frankfurter-"), _version_or_v1(), pl.lit("-day")).alias(
            "schema_version"
        ),
        pl.Series("requested_base", requested, dtype=pl.String),
        pl.Series("is_latest", latest, dtype=pl.Boolean),
        PAIRS.alias("_pairs"),
    )
    return rate_rows(per_payload), handled
