"""The stages in order: ingest or backfill into bronze, then silver and gold.

These are the jobs the CLI and notebooks run. Each stage commits on its own, so a
failure after bronze keeps what was extracted; running the same job again is safe.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from makerates_lake.expressions import all_of, equal
from makerates_lake.extract.jobs import IngestReport, backfill_ecb, ingest
from makerates_lake.gold.build import RunResult, run_reprocess, run_transform
from makerates_lake.lake import Lake
from makerates_lake.source_names import ECB_HISTORY

SAMPLE_ECB_HISTORY = "eurofxref-hist-sample.zip"


def sample_ecb_history() -> Path:
    """Path of the ECB history slice shipped with the package (real rates, 2023 onwards)."""
    return Path(str(resources.files("makerates_lake") / "data" / SAMPLE_ECB_HISTORY))


@dataclass(frozen=True)
class BackfillResult:
    """What :func:`backfill` did.

    Attributes:
        extraction_id: The bronze record holding the file (new or already stored).
        already_stored: True when bronze held these exact bytes, so nothing was written.
        transform: What silver and gold did.
    """

    extraction_id: str
    already_stored: bool
    transform: RunResult


def stored_file_extraction(lake: Lake, source_name: str, checksum: str) -> str | None:
    """The extraction_id of a successful bronze record of ``source_name`` with these bytes."""
    rows = (
        lake.bronze()
        .scan(
            row_filter=all_of(
                equal("source_name", source_name), equal("response_checksum", checksum)
            ),
            selected_fields=("extraction_id", "http_status_code", "error_code"),
        )
        .to_arrow()
        .to_pylist()
    )
    for row in rows:
        if row["http_status_code"] == 200 and row["error_code"] is None:
            return str(row["extraction_id"])
    return None


def backfill(lake: Lake, path: Path | None = None) -> BackfillResult:
    """Load an ECB history file (default: the bundled sample) through bronze, silver and gold.

    A file whose exact bytes bronze already holds is not stored again, so re-running a
    backfill duplicates nothing; silver and gold still pick up anything not yet transformed.
    """
    path = path or sample_ecb_history()
    checksum = hashlib.sha256(path.read_bytes()).hexdigest()
    existing = stored_file_extraction(lake, ECB_HISTORY, checksum)
    if existing is None:
        report = backfill_ecb(lake, path=path)
        existing = report.outcome.records[-1].extraction_id
        already = False
    else:
        already = True
    return BackfillResult(existing, already, run_transform(lake))


@dataclass(frozen=True)
class RunReport:
    """One scheduled run: the extraction and the transform that followed."""

    ingest: IngestReport
    transform: RunResult


def run(lake: Lake, bases: Sequence[str], *, sources: Sequence[str] | None = None) -> RunReport:
    """Extract once per base through the tier chain, then transform what is new."""
    report = ingest(lake, bases, sources=sources)
    return RunReport(report, run_transform(lake))


def reprocess(lake: Lake) -> RunResult:
    """Rebuild silver and gold from bronze alone (no API calls)."""
    return run_reprocess(lake)
