"""The trace benchmark still runs (tiny lake; not a timed test)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).parents[2] / "benchmarks" / "bench_trace.py"


def test_bench_trace_runs_on_a_tiny_lake(tmp_path: Path) -> None:
    """A few days and currencies: the benchmark produces all its numbers."""
    spec = importlib.util.spec_from_file_location("bench_trace", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_trace"] = module
    spec.loader.exec_module(module)
    numbers = module.main(
        ["--years", "0.02", "--currencies", "4", "--chunk-days", "3", "--traces", "3",
         "--scans", "2", "--home", str(tmp_path / "lake")]
    )  # fmt: skip
    assert numbers["silver_rows"] == numbers["days"] * 4
    assert numbers["trace_median_s"] > 0
