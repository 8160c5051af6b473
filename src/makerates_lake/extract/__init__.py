"""Extraction: the hardened HTTP client, rate limits, retries, sources, tiers and API keys.

Sources produce bronze records (one per attempt); they never parse rates.
"""

from __future__ import annotations

from makerates_lake.extract.extractor import ExtractionRun, Extractor, TierResult
from makerates_lake.extract.http import HttpClient, HttpRequest, make_ssl_context
from makerates_lake.extract.jobs import BackfillReport, IngestReport, backfill_ecb, ingest
from makerates_lake.extract.ratelimit import RateLimiter, RateLimiters

__all__ = [
    "BackfillReport",
    "ExtractionRun",
    "Extractor",
    "HttpClient",
    "HttpRequest",
    "IngestReport",
    "RateLimiter",
    "RateLimiters",
    "TierResult",
    "backfill_ecb",
    "ingest",
    "make_ssl_context",
]
