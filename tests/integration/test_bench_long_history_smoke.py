"""The long-history benchmark still runs (tiny sizes; not a timing test)."""

from __future__ import annotations

from benchmarks.bench_long_history import render, run_layout


def test_long_history_benchmark_runs_and_maintenance_compacts() -> None:
    """A three-week history stores every run and maintenance leaves one file per day."""
    result = run_layout("embedded", years=0.06, runs_per_day=2, currencies=5, sample_runs=2,
                        batch_days=7, keep_last=3)
    # first week 7x2, history (22 - 7 - 4 sample days) x 2, two sampled runs twice
    assert result.rows == 14 + 11 * 2 + 2 + 2
    assert result.stats_before.max_files_per_partition == 2
    assert result.stats_after.max_files_per_partition == 1
    assert result.stats_after.snapshots <= 4
    assert "ratio end / first week" in render(result)


def test_incremental_day_runs() -> None:
    """A new day after a short reprocessed history is transformed and timed each time."""
    from benchmarks.bench_long_history import incremental_day

    rows, seconds = incremental_day(0.03, runs_per_day=2, currencies=5, days=2)
    assert rows == 11 * 2 * 5
    assert len(seconds) == 2
