"""The streamed reprocess equals the one-frame rebuild, table by table, row for row."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from makerates_lake import source_names
from makerates_lake import store as storage
from makerates_lake.bronze.record import BronzeRecord
from makerates_lake.bronze.writer import BronzeWriter
from makerates_lake.gold.build import gold_rows, replace_gold
from makerates_lake.pipeline import run_reprocess
from makerates_lake.pipeline.streamed import BatchLimits
from makerates_lake.silver.build import rebuild_silver
from makerates_lake.silver.versions import CURRENT_TRANSFORM_VERSION
from makerates_lake.store.catalog import Lake
from makerates_lake.store.tables import GOLD_TABLES, SILVER_RATES, SILVER_TABLES, TableSpec
from tests.silver_helpers import SAMPLE_ZIP, record, v6_latest

pytestmark = pytest.mark.integration

_CODES = ("EUR", "JPY", "GBP", "CHF")
_START = date(2021, 1, 1)


def _history(lake: Lake, days: int) -> None:
    """Two v6 runs a day with gaps, a 25% move on the first of every month, one bad
    payload, and the ECB sample (one bronze row holding 2023-2026) loaded last."""
    rng = random.Random(7)
    level = {code: rng.uniform(0.5, 150) for code in _CODES}
    records: list[BronzeRecord] = []
    for offset in range(days):
        day = _START + timedelta(days=offset)
        if day.month == 8 and day.day <= 12:  # a gap longer than the jump window
            continue
        if day.day == 1:
            level = {code: value * 1.25 for code, value in level.items()}
        for run in range(2):
            when = datetime(day.year, day.month, day.day, 6 + 10 * run, 5, tzinfo=UTC)
            rates = {c: round(v * rng.uniform(0.995, 1.005), 6) for c, v in level.items()}
            text = "{" + ",".join(f'"{c}":{v}' for c, v in rates.items()) + ',"USD":1}'
            unix = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
            records.append(record(v6_latest(text, unix=unix), when=when))
    records.append(record('{"result":"error","error-type":"invalid-key"}', when=_at(40)))
    records.append(
        record(
            v6_latest('{"EUR":-1,"USD":1}', unix=int(_at(41).timestamp()) // 86400 * 86400),
            when=_at(41),
        )
    )
    BronzeWriter(lake).append(records)
    ecb = record(
        SAMPLE_ZIP.read_bytes(),
        source=source_names.ECB_HISTORY,
        version=None,
        url="file:///eurofxref-hist",
        source_tier="backfill",
        response_content_type="application/zip",
        when=datetime(2026, 11, 2, 9, tzinfo=UTC),
    )
    BronzeWriter(lake).append([ecb])


def _at(days: int) -> datetime:
    return datetime.combine(_START + timedelta(days=days), datetime.min.time(), UTC) + timedelta(
        hours=12
    )


def _tables(lake: Lake) -> dict[str, pl.DataFrame]:
    specs: tuple[TableSpec, ...] = (*SILVER_TABLES, *GOLD_TABLES)
    out = {}
    for spec in specs:
        if spec.name == "transform_log":
            continue  # appended to, not rebuilt
        rows = storage.read(lake, spec)
        out[spec.identifier] = rows.sort(pl.all(), nulls_last=True)
    return out


def _one_frame_rebuild(lake: Lake) -> dict[str, pl.DataFrame]:
    """Today's path before streaming: one frame of all bronze, gold from it."""
    version = CURRENT_TRANSFORM_VERSION
    _, built = rebuild_silver(lake, meanwhile=lambda rows: gold_rows(rows, version))
    replace_gold(lake, built, version)
    return _tables(lake)


def test_streamed_reprocess_equals_one_frame_rebuild(embedded_lake: Lake) -> None:
    """Tiny batches (many bronze groups, two months of silver at a time) and one batch
    give every silver and gold table of the one-frame rebuild, jump flags at the batch
    borders included."""
    _history(embedded_lake, days=3 * 365)
    expected = _one_frame_rebuild(embedded_lake)
    rates = expected[SILVER_RATES.identifier]
    assert expected["silver.rejects"].height > 0
    # Every month starts with a jump whose previous date is in the month before: a batch
    # border whenever the batch ends there.
    firsts = rates.filter(
        pl.col("source_name") == source_names.EXCHANGERATE_API,
        pl.col("rate_date").dt.day() == 1,
        pl.col("quote_currency") != "USD",
        pl.col("rate_date") > _START,
    )
    assert firsts.height > 0
    assert firsts.get_column("is_jump").all()
    for limits in (BatchLimits(bronze_rows=300, silver_rows=2_000), BatchLimits(10**9, 10**9)):
        result = run_reprocess(embedded_lake, limits=limits)
        assert result.silver.rates == rates.height
        got = _tables(embedded_lake)
        assert got.keys() == expected.keys()
        for name, rows in expected.items():
            assert got[name].equals(rows), name


def test_streamed_reprocess_keeps_old_tables_on_failure(
    embedded_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gold failing after its fact files were written commits none of gold: its tables
    keep their rows, and the fact files written are removed."""
    _history(embedded_lake, days=120)
    before = _one_frame_rebuild(embedded_lake)
    from makerates_lake.gold.stream import GoldRebuild

    def fail(self: GoldRebuild, on_progress: object = None) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(GoldRebuild, "commit", fail)
    files_before = set(embedded_lake.settings.home.rglob("*.parquet"))
    with pytest.raises(RuntimeError, match="boom"):
        run_reprocess(embedded_lake, limits=BatchLimits(bronze_rows=50, silver_rows=500))
    after = _tables(embedded_lake)
    for name in ("gold.fact_rate", "gold.dim_currency"):
        assert after[name].equals(before[name]), name
    facts = {p for p in embedded_lake.settings.home.rglob("*.parquet") if "fact_rate" in str(p)}
    assert facts <= files_before


def test_a_silver_write_failing_on_its_thread_fails_the_run_and_leaves_no_files(
    embedded_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Silver's files are written on a thread of their own: a write failing there fails
    the reprocess with its error, main keeps its tables, and no rate file it wrote stays."""
    _history(embedded_lake, days=120)
    before = _one_frame_rebuild(embedded_lake)
    import makerates_lake.store as store_package  # silver/stream.py writes through it

    writes: list[int] = []
    real_write = store_package.write_files

    def fail_third(table: object, rows: object, spec: TableSpec) -> object:
        if spec == SILVER_RATES:
            writes.append(1)
            if len(writes) == 3:
                raise RuntimeError("disk full")
        return real_write(table, rows, spec)  # type: ignore[arg-type]

    monkeypatch.setattr(store_package, "write_files", fail_third)
    files_before = set(embedded_lake.settings.home.rglob("*.parquet"))
    with pytest.raises(RuntimeError, match="disk full"):
        run_reprocess(embedded_lake, limits=BatchLimits(bronze_rows=50, silver_rows=500))
    assert len(writes) == 3
    after = _tables(embedded_lake)
    for name, rows in before.items():
        assert after[name].equals(rows), name
    rates = {p for p in embedded_lake.settings.home.rglob("*.parquet") if "/rates/" in str(p)}
    assert rates <= files_before


def test_the_checks_of_a_streamed_reprocess_equal_those_read_back(embedded_lake: Lake) -> None:
    """The evidence a streamed reprocess collects as it writes gives the verdicts, values
    and details that reading its published tables back gives (every check)."""
    from makerates_lake.pipeline.checks_wap import run_checks
    from makerates_lake.pipeline.wap import gather, main_heads
    from makerates_lake.pipeline.wap_results import read_checks
    from makerates_lake.wap_thresholds import Thresholds

    _history(embedded_lake, days=400)
    _one_frame_rebuild(embedded_lake)
    start = main_heads(embedded_lake)
    run_reprocess(embedded_lake, limits=BatchLimits(bronze_rows=50, silver_rows=500))
    stored = read_checks(embedded_lake).filter(pl.col("checked_at") == pl.col("checked_at").max())
    limits = Thresholds.parse(
        embedded_lake.settings.wap_thresholds,
        rate_disagreement=embedded_lake.settings.disagreement_threshold,
    )
    read_back = run_checks(gather(embedded_lake, start, None, None), limits)
    assert [(c.name, c.passed, c.observed, c.detail) for c in read_back] == [
        (r["check_name"], r["passed"], r["observed"], r["detail"])
        for name in [c.name for c in read_back]
        for r in stored.filter(pl.col("check_name") == name).iter_rows(named=True)
    ]
    details = {c.name: c.detail for c in read_back}
    assert details["lineage"] == "0 silver rows without bronze, 0 gold rates without silver"
    assert not details["jumps"].startswith("0 jumps"), details["jumps"]
