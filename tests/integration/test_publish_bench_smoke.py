"""The publish benchmark still runs (tiny scale; not a timed test)."""

from __future__ import annotations

import pytest
from benchmarks.bench_publish import report, run

pytestmark = pytest.mark.integration


def test_benchmark_runs_tiny(pg_database: str) -> None:
    """Both ways load every ordered pair of 3 currencies for 2 days, and a ratio is printed."""
    results = run(pg_database, currencies=3, days=2)
    assert [n for n, _ in results.values()] == [3 * 2 * 2] * 3
    assert "speed-up:" in report(results)
