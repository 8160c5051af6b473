"""The ECB history (7,126 daily payloads) loaded by dlt and by makerates_lake, same run.

    python -m benchmarks.bench_vs_dlt            # every day of the history, 5 rounds
    python -m benchmarks.bench_vs_dlt --days 200 --repeat 1

Both arms start from the same input, each day's response body as the bytes a provider
sends (a Frankfurter v1 JSON answer), built before either clock starts.

* dlt: one resource yielding each day's body decoded with ``json.loads`` (what dlt's REST
  client does with a response), ``filesystem`` destination on a local folder, Iceberg
  table format (falls back to Parquet if Iceberg fails offline). dlt normalises the nested
  ``rates`` object into one float column per currency.
* makerates_lake: a bronze record per day (full request/response metadata, verbatim bytes,
  SHA-256) appended in one commit, then the silver transform (exact decimals, validation,
  rejects), on the embedded lake.

Each round loads the history once with each arm, into fresh folders; the arm that goes
first alternates, so neither always runs on a machine the other has just warmed or
cluttered, and each starts after a full garbage collection (outside its clock), so
neither pays for collecting the other's objects. Prints every round (wall time per
side, the makerates stages: building the bronze records, the bronze append, the silver
transform), the first round on its own (each arm's first run in the process, its code
cold), the ratio of the median times, the bytes stored and the load average. dlt runs
with telemetry off and ``DLT_DATA_DIR`` in a temporary folder (as root it would
otherwise write /var/dlt).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from benchmarks._ecb import bronze_records, daily_payloads, folder_bytes, payload_bytes


def run_dlt(bodies: list[bytes], folder: Path) -> dict[str, Any]:
    """Load the days' bodies with dlt; returns seconds, bytes and the table format used."""
    os.environ["DLT_DATA_DIR"] = str(folder / "dlt-data")
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    os.environ["DLT_TELEMETRY"] = "false"
    import dlt

    def ecb() -> Iterator[dict[str, Any]]:
        for body in bodies:
            yield json.loads(body)

    last_error = ""
    for table_format in ("iceberg", None):
        target = folder / f"dlt-{table_format or 'parquet'}"
        started = time.perf_counter()
        try:
            pipeline = dlt.pipeline(
                pipeline_name=f"ecb_{table_format or 'parquet'}",
                pipelines_dir=str(folder / "dlt-pipelines"),
                destination=dlt.destinations.filesystem(bucket_url=target.as_uri()),
                dataset_name="ecb",
            )
            resource = dlt.resource(  # type: ignore[call-overload]  # table_format may be None
                ecb, name="rates", write_disposition="append", table_format=table_format
            )
            pipeline.run(resource(), loader_file_format="parquet")
        except Exception as exc:  # Iceberg on dlt's filesystem destination may need more
            last_error = f"{type(exc).__name__}: {str(exc)[:200]}"
            continue
        seconds = time.perf_counter() - started
        return {
            "seconds": seconds,
            "bytes": folder_bytes(target),
            "format": table_format or "parquet",
            "iceberg_error": last_error,
        }
    raise RuntimeError(f"dlt could not load: {last_error}")


def run_makerates(days: list[dict[str, Any]], bodies: list[bytes], folder: Path) -> dict[str, Any]:
    """Bronze + silver on the embedded lake; returns seconds (also per stage), bytes, rows."""
    from makerates_lake.bronze.writer import BronzeWriter
    from makerates_lake.maintenance import run as _maintenance  # noqa: F401
    from makerates_lake.settings import load_settings
    from makerates_lake.silver.build import transform
    from makerates_lake.store.catalog import open_lake

    # maintenance.run is imported lazily by the first append (it imports bronze modules);
    # importing it above keeps module loading out of the clock, as `import dlt` is.
    home = folder / "lake"
    lake = open_lake(load_settings(home=home))
    started = time.perf_counter()
    records = bronze_records(days, bodies)
    built = time.perf_counter()
    appended = BronzeWriter(lake).append(records)
    bronzed = time.perf_counter()
    silver = transform(lake)
    finished = time.perf_counter()
    warehouse = home / "warehouse"
    bronze_dir = next(p for p in home.rglob("extractions") if p.is_dir())
    return {
        "seconds": finished - started,
        "records_seconds": built - started,
        "append_seconds": bronzed - built,
        "silver_seconds": finished - bronzed,
        "bytes": folder_bytes(home),
        "bronze_rows": appended.written,
        "silver_rates": silver.rates,
        "silver_rejects": silver.rejects,
        "bronze_bytes": folder_bytes(bronze_dir),
        "warehouse_bytes": folder_bytes(warehouse) if warehouse.exists() else 0,
    }


def _collected(arm: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """``arm(*args)`` after a full garbage collection, outside its clock.

    Python runs a full collection once enough objects have survived since the last one,
    whoever made them; on this heap it takes about 0.1 s. Collecting first, each arm
    pays for the collections its own objects set off, not for the other arm's.
    """
    gc.collect()
    return arm(*args)


def run(days: int | None = None, repeat: int = 1) -> dict[str, Any]:
    """Both arms on the same payloads in one process, ``repeat`` rounds; the measurements."""
    payloads = daily_payloads(limit=days)
    bodies = [payload_bytes(day) for day in payloads]
    load_before = os.getloadavg()[0]
    rounds = []
    for round_ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="makerates-vs-dlt-") as name:
            folder = Path(name)
            if round_ % 2 == 0:
                dlt_result = _collected(run_dlt, bodies, folder)
                ours = _collected(run_makerates, payloads, bodies, folder)
            else:
                ours = _collected(run_makerates, payloads, bodies, folder)
                dlt_result = _collected(run_dlt, bodies, folder)
        rounds.append(
            {
                "dlt": dlt_result,
                "makerates": ours,
                "speedup": dlt_result["seconds"] / ours["seconds"],
                "dlt_first": round_ % 2 == 0,
            }
        )
    dlt_median = statistics.median(r["dlt"]["seconds"] for r in rounds)
    ours_median = statistics.median(r["makerates"]["seconds"] for r in rounds)
    first = rounds[0]
    return {
        "days": len(payloads),
        "rounds": rounds,
        "dlt": first["dlt"],
        "makerates": first["makerates"],
        "first_speedup": first["speedup"],
        "dlt_median": dlt_median,
        "makerates_median": ours_median,
        "speedup": dlt_median / ours_median,
        "bytes_ratio": first["makerates"]["bytes"] / max(1, first["dlt"]["bytes"]),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=None, help="first N days only")
    parser.add_argument("--repeat", type=int, default=5, help="rounds of both arms")
    args = parser.parse_args()
    r = run(args.days, max(1, args.repeat))
    d, m = r["dlt"], r["makerates"]
    print(f"ECB history: {r['days']:,} daily payloads")
    print(f"dlt filesystem ({d['format']}): {d['bytes']:>12,} bytes")
    if d["iceberg_error"]:
        print(f"  (dlt Iceberg table format failed: {d['iceberg_error']})")
    print(
        f"makerates bronze+silver: {m['bytes']:>12,} bytes "
        f"(bronze {m['bronze_rows']:,} rows / {m['bronze_bytes']:,} bytes, "
        f"silver {m['silver_rates']:,} rates, {m['silver_rejects']:,} rejects)"
    )
    print("round  first  dlt s  makerates s  (records, append, silver)  speed-up")
    for i, one in enumerate(r["rounds"], 1):
        o = one["makerates"]
        print(
            f"{i:>5}  {'dlt' if one['dlt_first'] else 'ours':>5}  "
            f"{one['dlt']['seconds']:5.2f}  {o['seconds']:11.2f}  "
            f"({o['records_seconds']:.2f}, {o['append_seconds']:.2f}, "
            f"{o['silver_seconds']:.2f})  {one['speedup']:8.2f}x"
        )
    print(
        f"first round (each arm's first run in this process): {r['first_speedup']:.2f}x; "
        f"median of {len(r['rounds'])}: dlt {r['dlt_median']:.2f} s, makerates "
        f"{r['makerates_median']:.2f} s, speed-up {r['speedup']:.2f}x; "
        f"bytes makerates/dlt: {r['bytes_ratio']:.2f}x"
    )
    print(f"load average (1 min): {r['load_before']:.2f} before, {r['load_after']:.2f} after")


if __name__ == "__main__":
    main()
