"""Gold: the star schema (dim_currency, dim_date, dim_source, fact_rate) and conversions."""

from makerates_lake.gold.build import (
    GoldResult,
    RunResult,
    build_gold,
    read_facts,
    run_reprocess,
    run_transform,
)
from makerates_lake.gold.convert import Quote, RateBook, convert
from makerates_lake.gold.errors import GoldError, NoRateError

__all__ = [
    "GoldError",
    "GoldResult",
    "NoRateError",
    "Quote",
    "RateBook",
    "RunResult",
    "build_gold",
    "convert",
    "read_facts",
    "run_reprocess",
    "run_transform",
]
