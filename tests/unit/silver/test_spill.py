"""Spilled silver rows come back whole months at a time, in date order, all of them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from makerates_lake.silver import spill as spill_module
from makerates_lake.silver.sort_order import SILVER_ORDER
from makerates_lake.silver.spill import RateSpill


def _rows(*days: date) -> pl.DataFrame:
    return pl.DataFrame({"rate_date": list(days), "n": list(range(len(days)))})


def test_months_come_back_whole_and_in_order(tmp_path: Path) -> None:
    """Rows in month runs (sliced) and out of order (partitioned) both come back by
    month; a batch holds whole months and at most the limit unless one month is more."""
    folder = tmp_path / "spill"
    folder.mkdir()
    spill = RateSpill(folder)
    spill.add(_rows(date(2024, 1, 5), date(2024, 1, 9), date(2024, 2, 1), date(2024, 3, 3)))
    spill.add(_rows(date(2024, 3, 1), date(2024, 1, 2), date(2024, 3, 2), date(2024, 5, 1)))
    assert spill.rows == 8
    batches = list(spill.batches(max_rows=4))
    january = 2024 * 12
    assert [b.months for b in batches] == [(january, january + 1), (january + 2, january + 4)]
    assert [b.rows.height for b in batches] == [4, 4]
    dates = [d for b in batches for d in sorted(b.rows.get_column("rate_date").to_list())]
    assert dates == sorted(dates)
    assert not list(folder.iterdir())  # every file removed once read


def test_columns_shared_by_runs_come_back_as_they_were(tmp_path: Path) -> None:
    """Columns named ``per_run`` are kept once per run of equal values (nulls too) and
    come back on every row, in the columns' order; a batch of runs too short to be
    worth it is spilled whole; the rows equal those of a spill without ``per_run``."""
    folder = tmp_path / "spill"
    folder.mkdir()
    days = [date(2024, 1, 5)] * 24 + [date(2024, 2, 1)] * 24
    rows = pl.DataFrame(
        {
            "id": ["a"] * 16 + ["b"] * 16 + ["a"] * 16,
            "version": [None] * 40 + ["v1"] * 8,
            "rate_date": days,
            "n": list(range(48)),
        }
    )
    choppy = rows.with_columns(pl.Series("id", ["a", "b"] * 24))  # a run per row
    spill = RateSpill(folder, per_run=["id", "version"])
    spill.add(rows)
    # Four runs of 48 rows: the files hold their numbers, not the columns.
    assert all("id" not in pl.read_ipc_schema(path) for path in folder.iterdir())
    spill.add(choppy)
    got = pl.concat(b.rows for b in spill.batches(max_rows=100))
    assert got.columns == rows.columns
    expected = pl.concat([rows, choppy])
    assert got.sort("rate_date", "n", "id").equals(expected.sort("rate_date", "n", "id"))
    assert not list(folder.iterdir())


def _silver_rows(extractions: int, *, first: int = 0) -> pl.DataFrame:
    """Rows as parsing leaves them: each extraction's rates together, over two months."""
    quotes = ["JPY", "EUR", "GBP", "ÉUR"]
    return pl.DataFrame(
        [
            {
                "extraction_id": f"id-{(7 * n) % 50:03d}-{n}",
                "extraction_timestamp": datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=n // 3),
                "source_name": ("ecb", "exchangerate-api")[n % 2],
                "base_currency": ("USD", "EUR")[n % 3 == 0],
                "quote_currency": quote,
                "rate_date": date(2024, 1, 20) + timedelta(days=(5 * n + day) % 40),
                "rate_text": f"{n}.{day}",
            }
            for n in range(first, first + extractions)
            for day in range(3)
            for quote in quotes
        ]
    )


_RUN_KEYS = ["extraction_id", "extraction_timestamp", "source_name", "base_currency"]


def test_batches_in_silver_order_sort_by_runs_while_every_file_is_numbered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every file holding run numbers: the rows are sorted by their runs' ranks (never
    by sort_silver) and come back whole, in SILVER_ORDER, batch after batch."""
    spill = RateSpill(tmp_path, per_run=_RUN_KEYS, in_silver_order=True)
    rows = [_silver_rows(30), _silver_rows(30, first=30)]
    for part in rows:
        spill.add(part)

    def no_whole_sort(rates: pl.DataFrame) -> pl.DataFrame:
        raise AssertionError("sorted the whole rows")

    monkeypatch.setattr(spill_module, "sort_silver", no_whole_sort)
    batches = list(spill.batches(max_rows=300))

    assert len(batches) == 2
    got = pl.concat(batch.rows for batch in batches)
    assert got.columns == rows[0].columns
    assert got.equals(pl.concat(rows).sort(SILVER_ORDER))


def test_batches_in_silver_order_with_a_file_spilled_whole(tmp_path: Path) -> None:
    """A batch of runs too short to number is spilled whole: its months are sorted as
    whole rows, in the same order."""
    spill = RateSpill(tmp_path, per_run=_RUN_KEYS, in_silver_order=True)
    numbered = _silver_rows(30)
    choppy = _silver_rows(30, first=30).sample(fraction=1.0, shuffle=True, seed=1)
    spill.add(numbered)
    spill.add(choppy)
    assert any("extraction_id" in pl.read_ipc_schema(path) for path in tmp_path.iterdir())

    got = pl.concat(batch.rows for batch in spill.batches(max_rows=300))

    assert got.equals(pl.concat([numbered, choppy]).sort(SILVER_ORDER))


def test_batches_in_silver_order_with_null_keys_and_single_rows(tmp_path: Path) -> None:
    """A null quote (a row's key) or a null base (a run's key) and a month of one row
    take the whole-row sort: the rows still come back in SILVER_ORDER, nulls first."""
    spill = RateSpill(tmp_path, per_run=_RUN_KEYS, in_silver_order=True)
    rows = _silver_rows(30).with_columns(
        pl.when(pl.int_range(pl.len()) % 17 == 3)
        .then(None)
        .otherwise(pl.col("quote_currency"))
        .alias("quote_currency"),
        pl.when(pl.col("extraction_id").str.starts_with("id-007"))
        .then(None)
        .otherwise(pl.col("base_currency"))
        .alias("base_currency"),
    )
    lone = _silver_rows(1).head(1).with_columns(pl.lit(date(2025, 6, 1)).alias("rate_date"))
    spill.add(rows)
    spill.add(lone)

    batches = list(spill.batches(max_rows=1))  # a batch a month

    assert batches[-1].rows.equals(lone)
    got = pl.concat(batch.rows for batch in batches)
    assert got.equals(pl.concat([rows, lone]).sort(SILVER_ORDER))


@pytest.mark.parametrize(
    "per_run",
    [["extraction_id", "source_name"], [*_RUN_KEYS, "quote_currency"], [*_RUN_KEYS, "rate_date"]],
)
def test_silver_order_needs_the_run_keys_and_no_rate_key_per_run(
    tmp_path: Path, per_run: list[str]
) -> None:
    with pytest.raises(ValueError, match="per_run must hold"):
        RateSpill(tmp_path, per_run=per_run, in_silver_order=True)
