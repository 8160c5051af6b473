"""The writer benchmark still runs (tiny scale; not a timed test)."""

from __future__ import annotations

import pytest
from benchmarks.bench_writer import SPLIT, SPLIT_PYICEBERG, SPLIT_RUNS, report, run

pytestmark = pytest.mark.integration


def test_benchmark_runs_tiny() -> None:
    """Both writers write silver and gold of a tiny reprocess; the report prints the ratio."""
    results = run(0.02, 2, 3, repeat=1)
    assert set(results) == {"store", "pyiceberg", SPLIT, SPLIT_RUNS, SPLIT_PYICEBERG}
    assert all(results[name][1] > 0 for name in ("store", "pyiceberg", SPLIT))
    assert "ratio pyiceberg / store" in report(results)
