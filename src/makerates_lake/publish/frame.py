"""What one publish holds: the last N days of best gold rates, denormalised (pure, Polars).

The window ends at the latest rate date in gold (not today), so a publish is a pure
function of the gold snapshot and ``days``: publishing the same snapshot again yields
the same rows, which is what makes ``publish`` idempotent.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Final

import polars as pl
import pyarrow as pa

from makerates_lake.publish.errors import InvalidCurrencyError, PublishConfigError

COLUMNS: Final = (
    "rate_date",
    "base_currency",
    "quote_currency",
    "rate",
    "source_name",
    "is_derived",
    "extraction_id",
    "published_at",
    "gold_snapshot_id",
)
"""Columns of the published view, in order (a publish table stores all but the last two,
which are the same on every row of one publish)."""

PER_PUBLISH_COLUMNS: Final = ("published_at", "gold_snapshot_id")
"""View columns that are the same on every row of one publish: the view adds them."""

TABLE_COLUMNS: Final = tuple(c for c in COLUMNS if c not in PER_PUBLISH_COLUMNS)
"""Columns stored in a publish table, in order."""

TABLE_SCHEMA: Final = pa.schema(
    [
        ("rate_date", pa.date32()),
        ("base_currency", pa.string()),
        ("quote_currency", pa.string()),
        ("rate", pa.decimal128(38, 18)),
        ("source_name", pa.string()),
        ("is_derived", pa.bool_()),
        ("extraction_id", pa.string()),
    ]
)
"""Arrow rows of a publish table; ``extraction_id`` is canonical UUID text."""

UUID_COLUMNS: Final = ("extraction_id",)
"""Text columns stored as PostgreSQL ``uuid``."""

FACT_COLUMNS: Final = (
    "rate_date", "base_currency", "quote_currency", "rate", "source_name", "is_derived",
    "extraction_id", "is_best",
)  # fmt: skip
"""Columns read from ``gold.fact_rate``."""

_CODE: Final = re.compile(r"[A-Z]{3}")


def window(last: date, days: int) -> tuple[date, date]:
    """First and last rate date of a ``days``-long window ending at ``last``.

    Raises:
        PublishConfigError: ``days`` is not positive.
    """
    if days <= 0:
        raise PublishConfigError("days must be a positive number", days=days)
    return last - timedelta(days=days - 1), last


def check_codes(codes: list[str]) -> None:
    """Every code is three capital ASCII letters.

    Raises:
        InvalidCurrencyError: Names the first offending code.
    """
    for code in codes:
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            raise InvalidCurrencyError("not a three-letter ISO 4217 code", code=repr(code))


def publish_frame(
    facts: pl.DataFrame, *, days: int, published_at: datetime, gold_snapshot_id: int
) -> pl.DataFrame:
    """The rows of one publish: best rates of the last ``days`` days present in ``facts``.

    Args:
        facts: ``gold.fact_rate`` rows (at least :data:`FACT_COLUMNS`).
        days: Window length in days, ending at the latest ``rate_date``.
        published_at: Stamp on every row (timezone-aware).
        gold_snapshot_id: The gold snapshot the rows come from.

    Raises:
        PublishConfigError: ``days`` is not positive.
        InvalidCurrencyError: A base or quote code is malformed.
    """
    if facts.height == 0:
        window(date.today(), days)  # still reject a bad ``days``
        return _empty()
    last: date = facts.get_column("rate_date").max()  # type: ignore[assignment]
    first, _ = window(last, days)
    rows = facts.filter(pl.col("is_best") & (pl.col("rate_date") >= first)).sort(
        "rate_date", "base_currency", "quote_currency"
    )
    for column in ("base_currency", "quote_currency"):
        check_codes(rows.get_column(column).unique().to_list())
    return rows.select(
        "rate_date",
        "base_currency",
        "quote_currency",
        "rate",
        "source_name",
        "is_derived",
        "extraction_id",
        pl.lit(published_at).dt.convert_time_zone("UTC").alias("published_at"),
        pl.lit(gold_snapshot_id, dtype=pl.Int64).alias("gold_snapshot_id"),
    )


def table_rows(frame: pl.DataFrame) -> pa.Table:
    """The stored columns of a publish frame, as Arrow in :data:`TABLE_SCHEMA`."""
    return frame.select(TABLE_COLUMNS).to_arrow().cast(TABLE_SCHEMA)


def _empty() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "rate_date": pl.Date,
            "base_currency": pl.String,
            "quote_currency": pl.String,
            "rate": pl.Decimal(38, 18),
            "source_name": pl.String,
            "is_derived": pl.Boolean,
            "extraction_id": pl.String,
            "published_at": pl.Datetime("us", "UTC"),
            "gold_snapshot_id": pl.Int64,
        }
    )


def table_name(gold_snapshot_id: int, days: int) -> str:
    """Name of the table one publish writes: one per (gold snapshot, days)."""
    sign = "n" if gold_snapshot_id < 0 else ""
    return f"rates_s{sign}{abs(gold_snapshot_id)}_d{days}"


def tag_name(published_at: datetime) -> str:
    """The Iceberg tag put on the published gold snapshot."""
    return f"published-{published_at.astimezone(UTC):%Y%m%dT%H%M%S%fZ}"
