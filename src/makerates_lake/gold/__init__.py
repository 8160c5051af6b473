"""Gold: the star schema (dim_currency, dim_date, dim_source, fact_rate) and conversions."""

from makerates_lake.gold.build import GoldResult, build_gold, read_facts
from makerates_lake.gold.convert import Quote, RateBook, convert
from makerates_lake.gold.errors import GoldError, NoRateError

__all__ = [
    "GoldError",
    "GoldResult",
    "NoRateError",
    "Quote",
    "RateBook",
    "build_gold",
    "convert",
    "read_facts",
]
