"""The reprocess benchmark still runs (tiny scale; not a timed test)."""

from __future__ import annotations

import pytest
from benchmarks.bench_reprocess import run

pytestmark = pytest.mark.integration


def test_benchmark_runs_tiny() -> None:
    """Both phases run on the same generated payloads and see the same number of rates."""
    results = run(years=0.02, per_day=2, currencies=5)
    assert results["bare parse"][0] == results["reprocess"][0] == 7 * 2 * 5
