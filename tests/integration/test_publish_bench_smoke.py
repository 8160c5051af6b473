"""The publish benchmark still runs (tiny scale; not a timed test)."""

from __future__ import annotations

import pytest
from benchmarks.bench_publish import COPY, FULL, INSERT, report, run

pytestmark = pytest.mark.integration


def test_benchmark_runs_tiny(pg_database: str) -> None:
    """Every way loads every ordered pair of 3 currencies for 2 days; both rates are printed."""
    results = run(pg_database, currencies=3, days=2, repeat=1)
    assert {COPY, INSERT, FULL} <= set(results)
    assert {n for n, _ in results.values()} == {3 * 2 * 2}
    printed = report(results)
    assert "speed-up:" in printed
    assert "full publish" in printed
