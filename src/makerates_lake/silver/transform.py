"""Bronze rows to silver rows in one pure step: parse, validate, flag."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import polars as pl

from makerates_lake.silver.parse import parse_bronze
from makerates_lake.silver.validate import flag_suspicious, payload_rejects, validate
from makerates_lake.silver.versions import rules_for


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
) -> SilverBatch:
    """Turn bronze rows into silver rows and rejects.

    Args:
        bronze: Bronze rows with :data:`~makerates_lake.silver.parse.BRONZE_COLUMNS`.
        transform_version: Version stamped on every row (must be a known version).
        jump_threshold: See :func:`~makerates_lake.silver.validate.flag_suspicious`.
        stale_after: See :func:`~makerates_lake.silver.validate.flag_suspicious`.

    Raises:
        UnknownTransformVersionError: ``transform_version`` is not implemented.
    """
    rules_for(transform_version)
    parsed = parse_bronze(bronze)
    checked = validate(parsed.rates, transform_version=transform_version)
    # Jump flags here see this batch only; writers that add to existing silver rows
    # recompute them over the neighbouring days (silver.build).
    rates = flag_suspicious(checked.rates, jump_threshold=jump_threshold, stale_after=stale_after)
    rejects = pl.concat(
        [payload_rejects(parsed.rejects, transform_version=transform_version), checked.rejects],
        how="vertical_relaxed",
    )
    # A stable order makes two rebuilds byte-for-byte comparable (flag_suspicious
    # returns the rates in SILVER_ORDER already).
    return SilverBatch(
        rates=rates,
        rejects=rejects.sort(
            "extraction_timestamp", "extraction_id", "rule", "quote_currency", nulls_last=True
        ),
    )
