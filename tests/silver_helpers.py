"""Builders shared by the silver and gold tests (plain module: conftest belongs to the lead)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import strategies as st

from makerates_lake import source_names
from makerates_lake.bronze.record import BronzeRecord
from makerates_lake.bronze.writer import records_to_arrow
from makerates_lake.settings import Settings
from makerates_lake.silver.parse import BRONZE_COLUMNS

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE_ZIP = Path(__file__).parents[1] / "src/makerates_lake/data/eurofxref-hist-sample.zip"
WHEN = datetime(2024, 5, 3, 16, 30, tzinfo=UTC)

V6_URL = "https://v6.exchangerate-api.com/v6/[REDACTED]/latest/USD"


def record(
    body: bytes | str,
    *,
    source: str = source_names.EXCHANGERATE_API,
    url: str = V6_URL,
    version: str | None = "v6",
    status: int | None = 200,
    when: datetime = WHEN,
    **extra: Any,
) -> BronzeRecord:
    """A bronze record as extraction would store it."""
    raw = body.encode() if isinstance(body, str) else body
    if status is None:
        extra.setdefault("error_message", "connection refused")
    return BronzeRecord.create(
        source_name=source,
        source_version=version,
        request_url=url,
        raw_response=raw,
        http_status_code=status,
        extraction_timestamp=when,
        **extra,
    )


def frame(*records: BronzeRecord) -> pl.DataFrame:
    """Bronze records as the frame silver reads."""
    table = pl.from_arrow(records_to_arrow(list(records)))
    assert isinstance(table, pl.DataFrame)
    return table.select(BRONZE_COLUMNS)


def v6_latest(rates: str, *, base: str = "USD", unix: int = 1714694401) -> str:
    """An ExchangeRate-API v6 latest body around a raw ``conversion_rates`` object text."""
    return (
        '{"result":"success","time_last_update_unix":'
        + str(unix)
        + ',"base_code":"'
        + base
        + '","conversion_rates":'
        + rates
        + "}"
    )


def plain_settings(settings: Settings) -> dict[str, str]:
    """Settings as string arguments a spawned process can rebuild them from."""
    values = {"home": str(settings.home)}
    if settings.catalog_uri:
        values["catalog_uri"] = settings.catalog_uri
        values["warehouse"] = settings.resolved_warehouse
        values["bronze_warehouse"] = settings.resolved_bronze_warehouse
    if settings.s3_endpoint:
        values["s3_endpoint"] = settings.s3_endpoint
        values["s3_access_key_id"] = settings.s3_access_key_id or ""
        secret = settings.s3_secret_access_key
        values["s3_secret_access_key"] = secret.reveal() if secret else ""
    return values


def transform_worker(settings_values: dict[str, str], barrier: Any) -> tuple[int, int]:
    """Run in a spawned process: open the lake, wait for the other worker, transform silver.

    Returns:
        (bronze rows it transformed, silver rates it wrote).
    """
    from makerates_lake.settings import load_settings
    from makerates_lake.silver.build import transform
    from makerates_lake.store.catalog import open_lake

    lake = open_lake(load_settings(**settings_values))  # type: ignore[arg-type]
    barrier.wait(timeout=120)  # both start reading pending bronze together
    result = transform(lake)
    return result.extractions, result.rates


def mostly(clean: list[str], odd: list[str]) -> st.SearchStrategy[str]:
    """A clean value nine times in ten, so that most bodies reach a vectorised reader."""
    return st.integers(0, 9).flatmap(lambda i: st.sampled_from(odd if i == 0 else clean))


def sorted_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows in one canonical order, to compare readers that emit them differently."""
    return frame.sort(pl.all(), nulls_last=True)


def only_exact_reader(monkeypatch: pytest.MonkeyPatch, vectorised: str) -> None:
    """Make ``silver.parse`` skip the vectorised reader named ``vectorised``."""
    from makerates_lake.silver import parse
    from makerates_lake.silver.payloads import RAW_RATE_SCHEMA

    def nothing(bronze: pl.DataFrame, candidates: pl.Series) -> tuple[pl.DataFrame, pl.Series]:
        del candidates
        return pl.DataFrame(schema=RAW_RATE_SCHEMA), pl.Series([False] * bronze.height)

    monkeypatch.setattr(parse, vectorised, nothing)
