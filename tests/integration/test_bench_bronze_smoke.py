"""The bronze append benchmark still runs (tiny sizes; not a timing test)."""

from __future__ import annotations

from benchmarks.bench_bronze_append import run


def test_bronze_append_benchmark_runs_and_stores_every_row() -> None:
    """A tiny run stores every generated row and reports both arms."""
    result = run(rows=40, batch=15)
    assert result["stored"] == 40
    assert result["bronze_s"] > 0
    assert result["baseline_s"] > 0
