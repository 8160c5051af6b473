"""The gold star schema as pure functions of silver rows (Polars in, Polars out).

* :mod:`~makerates_lake.gold.facts`: ``fact_rate``, how the rate of a (date, base,
  quote, source) and the best of each (date, base, quote) are chosen, and cross rates;
* :mod:`~makerates_lake.gold.precision`: the precision rule of cross rates, for one
  pair (:func:`divide`) and for whole columns (:func:`divide_series`);
* :mod:`~makerates_lake.gold.dimensions`: ``dim_date``, ``dim_currency``, ``dim_source``.

This module gathers their public names, which is where the gold build, conversions and
lineage find them.
"""

from __future__ import annotations

from makerates_lake.gold.dimensions import SOURCES, SourceInfo, dim_currency, dim_date, dim_source
from makerates_lake.gold.facts import (
    DEFAULT_CROSS_BASES,
    FACT_COLUMNS,
    TIER_PRIORITY,
    cross_facts,
    direct_facts,
    fact_rate,
)
from makerates_lake.gold.precision import MAX_SCALE, RATE_DTYPE, divide, divide_series, round_rate

__all__ = [
    "DEFAULT_CROSS_BASES",
    "FACT_COLUMNS",
    "MAX_SCALE",
    "RATE_DTYPE",
    "SOURCES",
    "TIER_PRIORITY",
    "SourceInfo",
    "cross_facts",
    "dim_currency",
    "dim_date",
    "dim_source",
    "direct_facts",
    "divide",
    "divide_series",
    "fact_rate",
    "round_rate",
]
