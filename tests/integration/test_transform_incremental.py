"""Incremental transforms read only what a day needs, and still equal a full rebuild."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from makerates_lake import store as storage
from makerates_lake.bronze.record import BronzeRecord
from makerates_lake.bronze.writer import BronzeWriter
from makerates_lake.pipeline import run_reprocess, run_transform
from makerates_lake.silver import pending as silver_pending
from makerates_lake.store.catalog import Lake
from makerates_lake.store.tables import BRONZE_EXTRACTIONS, GOLD_TABLES, SILVER_TABLES, TableSpec
from tests.silver_helpers import record, v6_latest

pytestmark = pytest.mark.integration

_START = date(2024, 1, 1)


def _day(day: date, codes: tuple[str, ...], level: float) -> list[BronzeRecord]:
    unix = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
    out: list[BronzeRecord] = []
    for run in range(2):
        when = datetime(day.year, day.month, day.day, 8 + 8 * run, tzinfo=UTC)
        text = "{" + ",".join(f'"{c}":{level * (i + 1):.4f}' for i, c in enumerate(codes)) + "}"
        out.append(record(v6_latest(text, unix=unix), when=when))
    return out


def _tables(lake: Lake) -> dict[str, pl.DataFrame]:
    return {
        spec.identifier: storage.read(lake, spec).sort(pl.all(), nulls_last=True)
        for spec in (*SILVER_TABLES, *GOLD_TABLES)
        if spec.name not in {"transform_log", "rejects"}
    }


def test_incremental_days_equal_a_full_rebuild(embedded_lake: Lake) -> None:
    """Day after day (a jump, a new currency, a late day and a day that read nothing
    old): silver, facts and dimensions equal a full reprocess of the same bronze."""
    writer = BronzeWriter(embedded_lake)
    codes = ("USD", "EUR", "JPY")
    writer.append([r for i in range(40) for r in _day(_START + timedelta(i), codes, 1.0)])
    run_transform(embedded_lake)
    for i, (codes_now, level) in enumerate(
        [(codes, 1.3), ((*codes, "GBP"), 1.31), (codes, 1.32)], start=45
    ):
        writer.append(_day(_START + timedelta(i), codes_now, level))
        run_transform(embedded_lake)
    writer.append(_day(_START + timedelta(42), codes, 2.0))  # late
    run_transform(embedded_lake)
    assert run_transform(embedded_lake).silver.extractions == 0
    incremental = _tables(embedded_lake)
    run_reprocess(embedded_lake)
    rebuilt = _tables(embedded_lake)
    for name, rows in rebuilt.items():
        assert incremental[name].equals(rows), name
    currency = incremental["gold.dim_currency"].filter(pl.col("currency_code") == "GBP")
    assert currency.get_column("first_rate_date").to_list() == [_START + timedelta(46)]


@pytest.mark.parametrize("newest_appends", [True, False])
def test_pending_bronze_never_reads_all_of_bronze(
    embedded_lake: Lake, monkeypatch: pytest.MonkeyPatch, newest_appends: bool
) -> None:
    """After a full transform, a new day's bronze rows and an old day's late row are
    found from the newest appends, or (when those do not account for them) from the
    per-day counts of the manifests and the log, reading only the days concerned."""
    writer = BronzeWriter(embedded_lake)
    writer.append([r for i in range(30) for r in _day(_START + timedelta(i), ("EUR",), 1.0)])
    run_transform(embedded_lake)
    late = record(v6_latest('{"EUR":1.5}'), when=datetime(2024, 1, 5, 23, tzinfo=UTC))
    writer.append([*_day(_START + timedelta(31), ("EUR",), 1.0), late])
    if not newest_appends:
        monkeypatch.setattr(storage, "newest_appended_rows", lambda *a, **k: None)
    filters: list[object] = []
    real_read = storage.read

    def spy(lake: Lake, spec: TableSpec, **kwargs: Any) -> pl.DataFrame:
        if spec is BRONZE_EXTRACTIONS:
            filters.append(kwargs.get("row_filter"))
        return real_read(lake, spec, **kwargs)

    monkeypatch.setattr(storage, "read", spy)  # the module silver reads through
    pending = silver_pending.pending_bronze(embedded_lake)
    assert sorted(pending.get_column("extraction_timestamp").dt.day().to_list()) == [1, 1, 5]
    assert len(filters) == (0 if newest_appends else 1)
    assert all(f is not None for f in filters)  # never a full bronze read
