"""Bronze rows to silver rows in one pure step: parse, validate, flag."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import polars as pl

from makerates_lake.silver.parse import parse_bronze
from makerates_lake.silver.validate import (
    Validated,
    flag_suspicious,
    payload_rejects,
    validate,
)
from makerates_lake.silver.versions import rules_for

#: Bronze rows below which a batch is parsed in one piece (a thread would cost more).
MIN_ROWS_PER_PART = 1_000


@dataclass(frozen=True)
class SilverBatch:
    """Rows for ``silver.rates`` and ``silver.rejects``, in table column order."""

    rates: pl.DataFrame
    rejects: pl.DataFrame


def transform_bronze(
    bronze: pl.DataFrame,
    *,
    transform_version: int,
    jump_threshold: float = 0.1,
    stale_after: timedelta = timedelta(hours=96),
    on_sorted: Callable[[pl.DataFrame], object] | None = None,
) -> SilverBatch:
    """Turn bronze rows into silver rows and rejects.

    Args:
        bronze: Bronze rows with :data:`~makerates_lake.silver.parse.BRONZE_COLUMNS`.
        transform_version: Version stamped on every row (must be a known version).
        jump_threshold: See :func:`~makerates_lake.silver.validate.flag_suspicious`.
        stale_after: See :func:`~makerates_lake.silver.validate.flag_suspicious`.
        on_sorted: See :func:`~makerates_lake.silver.validate.flag_suspicious`.

    Raises:
        UnknownTransformVersionError: ``transform_version`` is not implemented.
    """
    checked = check_bronze(bronze, transform_version=transform_version)
    # Jump flags here see this batch only; writers that add to existing silver rows
    # recompute them over the neighbouring days (silver.build).
    rates = flag_suspicious(
        checked.rates, jump_threshold=jump_threshold, stale_after=stale_after, on_sorted=on_sorted
    )
    # flag_suspicious returns the rates in SILVER_ORDER already.
    return SilverBatch(rates=rates, rejects=checked.rejects)


def check_bronze(bronze: pl.DataFrame, *, transform_version: int) -> Validated:
    """Parse and validate bronze rows, without the flags that look across rows.

    Every rule but the jump flags is a function of one bronze row, so bronze may be
    checked a batch at a time and the valid rows flagged later, over all of them
    (:func:`~makerates_lake.silver.validate.flag_suspicious`).

    Returns:
        Valid rows (``is_jump`` False, ``is_stale`` holding ``is_latest``) and the
        rejects, sorted.

    Raises:
        UnknownTransformVersionError: ``transform_version`` is not implemented.
    """
    rules_for(transform_version)
    parts = _parts(bronze)
    if len(parts) == 1:
        checked = [_parse_and_validate(bronze, transform_version)]
    else:
        with ThreadPoolExecutor(len(parts), thread_name_prefix="silver-parse") as pool:
            checked = list(
                pool.map(lambda part: _parse_and_validate(part, transform_version), parts)
            )
    good = pl.concat([part.rates for part in checked], how="vertical_relaxed")
    rejects = pl.concat([part.rejects for part in checked], how="vertical_relaxed")
    # A stable order makes two rebuilds byte-for-byte comparable.
    return Validated(rates=good, rejects=sort_rejects(rejects))


def sort_rejects(rejects: pl.DataFrame) -> pl.DataFrame:
    """Rejects in the order silver writes them."""
    return rejects.sort(
        "extraction_timestamp", "extraction_id", "rule", "quote_currency", nulls_last=True
    )


def _parts(bronze: pl.DataFrame) -> list[pl.DataFrame]:
    """``bronze`` cut into consecutive slices, one per Polars thread for a big batch.

    Parsing and validating are mostly string operations on one column, which Polars runs
    on one thread: slices parsed on threads of their own use the other cores. Every
    bronze row, and so every rate of one payload, stays in one slice, in order.
    """
    count = min(pl.thread_pool_size(), bronze.height // MIN_ROWS_PER_PART)
    if count < 2:
        return [bronze]
    size = -(-bronze.height // count)
    return [bronze.slice(offset, size) for offset in range(0, bronze.height, size)]


def _parse_and_validate(bronze: pl.DataFrame, transform_version: int) -> Validated:
    """Valid rates of ``bronze`` and every reject (payload-level first), in reject columns."""
    parsed = parse_bronze(bronze)
    checked = validate(parsed.rates, transform_version=transform_version)
    rejects = pl.concat(
        [payload_rejects(parsed.rejects, transform_version=transform_version), checked.rejects],
        how="vertical_relaxed",
    )
    return Validated(rates=checked.rates, rejects=rejects)
