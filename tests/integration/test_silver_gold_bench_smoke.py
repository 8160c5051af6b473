"""The reprocess benchmark still runs (tiny scale; not a timed test)."""

from __future__ import annotations

import pytest
from benchmarks.bench_reprocess import run

pytestmark = pytest.mark.integration


def test_benchmark_runs_tiny() -> None:
    """Both phases run on the same generated payloads and see the same number of rates;
    each arm keeps every run's seconds, and its best is the one reported."""
    results = run(years=0.02, per_day=2, currencies=5, repeat=2)
    assert results["bare parse"][0] == results["reprocess"][0] == 7 * 2 * 5
    for _rows, seconds, _peak, _work, runs in results.values():
        assert len(runs) == 2
        assert seconds == min(runs)


def test_sizes_choose_histories_and_run_each_in_its_own_process() -> None:
    """The issue's sizes map to 5 x 6, 10 x 12 and 10 x 24; tiny sizes run both arms."""
    from benchmarks.bench_reprocess import history_for, run_sizes

    shapes = [history_for(rows) for rows in (1_752_960, 7_011_840, 14_023_680)]
    assert [(int(years * 365.25), per_day) for years, per_day in shapes] == [
        (1826, 6),
        (3652, 12),
        (3652, 24),
    ]
    results = run_sizes([960, 1920])
    assert [r["reprocess"][0] for r in results.values()] == [960, 1920]
    assert all(r["bare parse"][0] == r["reprocess"][0] for r in results.values())
