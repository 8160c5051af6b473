"""Spilled silver rows come back whole months at a time, in date order, all of them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

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
