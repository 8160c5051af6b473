"""One module per provider; each builds requests and judges responses, never parses rates."""

from __future__ import annotations

from makerates_lake.extract.sources.base import Source, SourceRequest
from makerates_lake.extract.sources.ecb import EcbDaily, EcbHistory
from makerates_lake.extract.sources.exchangerate_api import ExchangeRateApi
from makerates_lake.extract.sources.frankfurter import Frankfurter
from makerates_lake.extract.sources.open_er_api import OpenErApi

__all__ = [
    "EcbDaily",
    "EcbHistory",
    "ExchangeRateApi",
    "Frankfurter",
    "OpenErApi",
    "Source",
    "SourceRequest",
]
