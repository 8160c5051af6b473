"""sort_by_runs puts rows whose runs' keys are kept apart in SILVER_ORDER, as sorting
the whole rows on the columns does."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from makerates_lake.silver.sort_order import SILVER_ORDER, rank_runs, sort_by_runs

_TEXTS = ["USD", "EUR", "JPY", "ÉUR", "usd", "AAA", "Z", "ZZZZ", "€", ""]


def _runs(count: int, rng: random.Random) -> pl.DataFrame:
    """Runs as bronze rows give them; every fifth repeats the one before (a bronze row's
    rates split in two runs), so equal runs must share a rank."""
    rows: list[dict[str, object]] = []
    for number in range(count):
        if number % 5 == 4:
            rows.append(dict(rows[-1]))
            continue
        rows.append(
            {
                "base_currency": rng.choice(_TEXTS),
                "source_name": rng.choice(["ecb", "exchangerate-api", "b"]),
                "extraction_timestamp": datetime(1960, 1, 1, tzinfo=UTC)
                + timedelta(seconds=rng.randint(0, 50)),
                "extraction_id": f"{rng.randint(0, 20)}-{number}",
            }
        )
    return pl.DataFrame(rows)


def _case(seed: int, rows: int = 20_000, runs: int = 2_000) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows in run form (own keys and their run's number) and their runs, no two rows
    equal on every key (so the order is fully defined)."""
    rng = random.Random(seed)
    table = _runs(runs, rng)
    own = pl.DataFrame(
        {
            "rate_date": [
                date(1950, 1, 1) + timedelta(days=rng.randint(0, 400)) for _ in range(rows)
            ],
            "quote_currency": [rng.choice(_TEXTS) for _ in range(rows)],
            "_run": [rng.randrange(runs) for _ in range(rows)],
            "original": range(rows),
        }
    )
    whole = _expand(own, table).unique(SILVER_ORDER, keep="first", maintain_order=True)
    return whole.select(own.columns), table


def _expand(rows: pl.DataFrame, runs: pl.DataFrame) -> pl.DataFrame:
    return pl.concat(
        [rows, runs.select(pl.all().gather(rows.get_column("_run")))], how="horizontal"
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_order_equals_the_key_by_key_order_of_the_whole_rows(seed: int) -> None:
    rows, runs = _case(seed)
    ranks = rank_runs(runs)
    assert ranks is not None
    # Every fifth run repeats the one before it: the two share a rank, the others not.
    repeats = list(range(4, runs.height, 5))
    assert ranks.rest.gather(repeats).equals(ranks.rest.gather([n - 1 for n in repeats]))
    assert ranks.rest.n_unique() == runs.height - len(repeats)

    got = sort_by_runs(rows, ranks, "_run")

    assert got is not None
    assert got.columns == rows.columns
    assert _expand(got, runs).equals(_expand(rows, runs).sort(SILVER_ORDER))


def test_a_null_key_of_a_run_leaves_the_sort_to_sort_silver() -> None:
    _rows, runs = _case(4, rows=100, runs=10)
    for name in ("base_currency", "source_name", "extraction_timestamp"):
        with_null = runs.with_columns(
            pl.when(pl.int_range(pl.len()) == 3).then(None).otherwise(pl.col(name)).alias(name)
        )
        assert rank_runs(with_null) is None, name


def test_a_null_key_of_a_row_leaves_the_sort_to_sort_silver() -> None:
    rows, runs = _case(5, rows=100, runs=10)
    ranks = rank_runs(runs)
    assert ranks is not None
    for name in ("rate_date", "quote_currency"):
        with_null = rows.with_columns(
            pl.when(pl.col("original") == 7).then(None).otherwise(pl.col(name)).alias(name)
        )
        assert sort_by_runs(with_null, ranks, "_run") is None, name


def test_null_ids_rank_first_as_polars_sorts_them() -> None:
    # Runs equal in base, source and time: the id alone orders their rows, which share
    # every date and quote; one run in the middle has no id.
    runs = pl.DataFrame(
        {
            "base_currency": ["USD"] * 9,
            "source_name": ["ecb"] * 9,
            "extraction_timestamp": [datetime(2024, 1, 1, tzinfo=UTC)] * 9,
            "extraction_id": [f"id-{n}" if n != 4 else None for n in range(9)],
        }
    )
    rows = pl.DataFrame(
        {
            "rate_date": [date(2024, 1, 1 + day) for _ in range(9) for day in range(2)] * 3,
            "quote_currency": [q for q in ("EUR", "GBP", "JPY") for _ in range(18)],
            "_run": [run for run in range(9) for _ in range(2)] * 3,
        }
    )
    ranks = rank_runs(runs)
    assert ranks is not None
    assert ranks.rest[4] == 0  # the null id first

    got = sort_by_runs(rows, ranks, "_run")

    assert got is not None
    assert _expand(got, runs).equals(_expand(rows, runs).sort(SILVER_ORDER))
    assert got.get_column("_run").head(9).to_list() == [4, 0, 1, 2, 3, 5, 6, 7, 8]
