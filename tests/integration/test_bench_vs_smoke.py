"""The dlt and JSONB comparison benchmarks still run (tiny sizes; not timing tests)."""

from __future__ import annotations

from benchmarks import bench_vs_dlt, bench_vs_jsonb


def test_dlt_benchmark_loads_both_sides() -> None:
    """Both dlt and makerates_lake load every day of a short slice of the ECB history,
    in every round, and the arm that goes first alternates."""
    result = bench_vs_dlt.run(days=15, repeat=2)
    assert [r["dlt_first"] for r in result["rounds"]] == [True, False]
    for one in result["rounds"]:
        assert one["makerates"]["bronze_rows"] == 15
        assert one["makerates"]["silver_rates"] > 15 * 20
        assert one["dlt"]["bytes"] > 0
    seconds = sorted(r["makerates"]["seconds"] for r in result["rounds"])
    assert result["makerates_median"] == sum(seconds) / 2


def test_jsonb_benchmark_compares_sizes_and_shows_jsonb_loses_bytes() -> None:
    """Both stores hold every row, and JSONB text no longer matches the checksums."""
    result = bench_vs_jsonb.run(days=15)
    assert result["jsonb"]["rows"] == 15
    assert result["jsonb"]["checksums_matching"] == 0
    assert result["iceberg"]["total"] > 0
