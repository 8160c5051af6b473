"""Column layout of ``silver.rates`` and ``silver.rejects``, and the rate's type."""

from __future__ import annotations

import polars as pl

from makerates_lake.silver.parse import META_COLUMNS

RATE_DTYPE = pl.Decimal(38, 18)

#: Column order of silver.rates.
SILVER_COLUMNS = (
    *META_COLUMNS,
    "base_currency",
    "quote_currency",
    "rate",
    "rate_text",
    "rate_date",
    "provider_updated_at",
    "schema_version",
    "transform_version",
    "is_jump",
    "is_stale",
)
#: Column order of silver.rejects.
REJECT_COLUMNS = (
    *META_COLUMNS,
    "rule",
    "field",
    "offending_value",
    "detail",
    "base_currency",
    "quote_currency",
    "rate_date",
    "transform_version",
)
