"""The ECB reference-rate history as daily payloads, the input of the comparison benchmarks.

Each CSV line of ``eurofxref-hist.zip`` becomes one Frankfurter v1 style JSON answer for
that day (``{"amount":1.0,"base":"EUR","date":...,"rates":{...}}``), the rates as the ECB
wrote them. Both sides of a comparison get exactly these payloads.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from makerates_lake.bronze.record import BronzeRecord
from makerates_lake.pipeline import sample_ecb_history
from makerates_lake.source_names import FRANKFURTER

#: The full 1999-2026 history, where the workspace keeps it beside the repository.
SHARED_ECB_ZIP = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "ecb-eurofxref-hist.zip"
)


def default_history() -> Path:
    """The full ECB history when it is beside the repository, else the bundled 2023+ slice.

    The fallback keeps the benchmarks (and their smoke tests) runnable from any clone;
    the benchmarks print which file they loaded.
    """
    return SHARED_ECB_ZIP if SHARED_ECB_ZIP.exists() else sample_ecb_history()


def daily_payloads(path: Path | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """One dict per day, oldest first; missing (N/A) rates are left out."""
    with zipfile.ZipFile(path or default_history()) as archive:
        text = archive.read(archive.namelist()[0]).decode("utf-8")
    days = []
    for row in csv.DictReader(io.StringIO(text)):
        day = row.pop("Date")
        rates = {k.strip(): v.strip() for k, v in row.items()
                 if k and k.strip() and v and v.strip() not in {"", "N/A"}}
        days.append({"day": day, "rates": rates})
    days.sort(key=lambda d: str(d["day"]))
    return days[:limit] if limit else days


def payload_bytes(day: dict[str, Any]) -> bytes:
    """The day as the exact JSON bytes a provider would send (rates verbatim)."""
    rates = ",".join(f'"{code}":{text}' for code, text in day["rates"].items())
    return f'{{"amount":1.0,"base":"EUR","date":"{day["day"]}","rates":{{{rates}}}}}'.encode()


def bronze_records(
    days: list[dict[str, Any]], bodies: list[bytes] | None = None
) -> list[BronzeRecord]:
    """One bronze record per day, as a backfill through the Frankfurter API would store.

    ``bodies`` are the days' response bytes (:func:`payload_bytes`) when the caller
    already has them; they are built here otherwise.
    """
    if bodies is None:
        bodies = [payload_bytes(day) for day in days]
    start = datetime.now(UTC)
    return [
        BronzeRecord.create(
            source_name=FRANKFURTER,
            source_version="v1",
            source_tier="backfill",
            request_url=f"https://api.frankfurter.app/{day['day']}",
            request_headers={"User-Agent": "makerates_lake/bench", "Accept": "application/json"},
            raw_response=body,
            http_status_code=200,
            response_headers={"content-type": "application/json"},
            extraction_duration_ms=80.0,
            extraction_timestamp=start + timedelta(milliseconds=i),
        )
        for i, (day, body) in enumerate(zip(days, bodies, strict=True))
    ]


def folder_bytes(path: Path) -> int:
    """Bytes of every file under ``path``."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
