"""Recompute bronze checksums from the stored bytes and check files against the manifests.

Verification reads each data file on its own, so a damaged, missing or resized file is
reported by path, and a row whose body no longer matches its checksum by extraction_id.
When bronze lives in an Object Lock bucket, each data file's lock is read back too: it
must be COMPLIANCE and last at least as long as the retention of every row it holds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from makerates_lake.bronze.record import retain_until
from makerates_lake.errors import ConfigError
from makerates_lake.progress import StageProgress
from makerates_lake.store.catalog import Lake
from makerates_lake.store.expressions import all_of, at_least, below
from makerates_lake.store.files import metadata_file_problem
from makerates_lake.store.types import RowFilter, Table
from makerates_lake.store.worm import COMPLIANCE, retention_of

_COLUMNS = [
    "extraction_id", "extraction_timestamp", "raw_response", "response_checksum",
    "retention_policy",
]  # fmt: skip

#: What :func:`verify_bronze` counts for ``on_progress``.
PROGRESS_STEP = "bronze: files checked"


@dataclass(frozen=True)
class ChecksumMismatch:
    """A bronze row whose stored body no longer hashes to its stored checksum."""

    extraction_id: str
    file_path: str
    stored_checksum: str
    recomputed_checksum: str


@dataclass(frozen=True)
class FileProblem:
    """A data file that is missing, unreadable or differs from what the manifest recorded."""

    file_path: str
    problem: str


@dataclass
class VerifyReport:
    """Result of :func:`verify_bronze`."""

    rows_checked: int = 0
    files_checked: int = 0
    mismatches: list[ChecksumMismatch] = field(default_factory=list)
    file_problems: list[FileProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every row and file checked out."""
        return not self.mismatches and not self.file_problems


def _time_filter(start: datetime | None, end: datetime | None) -> RowFilter:
    parts = []
    if start is not None:
        parts.append(at_least("extraction_timestamp", start.isoformat()))
    if end is not None:
        parts.append(below("extraction_timestamp", end.isoformat()))
    return all_of(*parts)


def _read_file(lake: Lake, path: str) -> tuple[pa.Table, int]:
    table = lake.bronze(refresh=False)
    input_file = table.io.new_input(path)
    with input_file.open() as stream:
        data = stream.read()
    return pq.read_table(pa.BufferReader(data), columns=_COLUMNS), len(data)


def _metadata_problems(table: Table) -> list[FileProblem]:
    """The current metadata file, the snapshot's manifest list and manifests, each
    checked readable."""
    problem = metadata_file_problem(table)
    if problem is not None:
        name = ".".join(table.name())
        return [FileProblem(table.metadata_location, f"{problem} (table {name})")]
    snapshot = table.current_snapshot()
    if snapshot is None:
        return []
    try:
        manifests = snapshot.manifests(table.io)
    except Exception as exc:  # any failure to read it is a finding, reported by path
        return [FileProblem(snapshot.manifest_list, _unreadable("manifest list", exc))]
    problems = []
    for manifest in manifests:
        try:
            manifest.fetch_manifest_entry(table.io, discard_deleted=False)
        except Exception as exc:  # as above: report, do not crash the verification
            problems.append(FileProblem(manifest.manifest_path, _unreadable("manifest", exc)))
    return problems


def _unreadable(what: str, exc: Exception) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"{what} is missing"
    return f"{what} cannot be read: {type(exc).__name__}: {exc}"


def verify_bronze(
    lake: Lake,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    on_progress: StageProgress | None = None,
) -> VerifyReport:
    """Recompute every checksum of bronze rows extracted in ``[start, end)``.

    Args:
        lake: The open lake.
        start: First extraction time to check (inclusive); default the beginning.
        end: End of the range (exclusive); default now.
        on_progress: Gets :data:`PROGRESS_STEP` with the data files checked so far,
            out of those in range.

    Raises:
        ConfigError: A naive ``start`` or ``end``, or ``start`` not before ``end``: the
            range holds nothing, and a report of nothing checked would read as clean.
    """
    for bound in (start, end):
        if bound is not None and bound.tzinfo is None:
            raise ConfigError("the range to verify needs timezone-aware times", at=repr(bound))
    if start is not None and end is not None and start >= end:
        raise ConfigError(
            "the range to verify is empty: its start is not before its end",
            start=start.isoformat(),
            end=end.isoformat(),
        )
    table = lake.bronze(refresh=True)
    report = VerifyReport()
    report.file_problems.extend(_metadata_problems(table))
    if report.file_problems:
        # Planning reads every manifest; with one missing it could only fail as a whole.
        return report
    tasks = list(table.scan(row_filter=_time_filter(start, end)).plan_files())
    for task in tasks:
        if on_progress is not None:
            on_progress(PROGRESS_STEP, report.files_checked, len(tasks))
        data_file = task.file
        report.files_checked += 1
        try:
            rows, size = _read_file(lake, data_file.file_path)
        except FileNotFoundError:
            report.file_problems.append(FileProblem(data_file.file_path, "file is missing"))
            continue
        except (OSError, pa.ArrowException) as exc:
            report.file_problems.append(
                FileProblem(data_file.file_path, f"file cannot be read: {exc}")
            )
            continue
        if size != data_file.file_size_in_bytes:
            report.file_problems.append(
                FileProblem(
                    data_file.file_path,
                    f"size is {size} bytes, the manifest recorded {data_file.file_size_in_bytes}",
                )
            )
        if lake.bronze_object_lock:
            problem = _lock_problem(lake, data_file.file_path, rows)
            if problem is not None:
                report.file_problems.append(FileProblem(data_file.file_path, problem))
        if rows.num_rows != data_file.record_count:
            report.file_problems.append(
                FileProblem(
                    data_file.file_path,
                    f"holds {rows.num_rows} rows, the manifest recorded {data_file.record_count}",
                )
            )
        rows = _in_range(rows, start, end)
        for extraction_id, body, stored in zip(
            rows.column("extraction_id").to_pylist(),
            rows.column("raw_response").to_pylist(),
            rows.column("response_checksum").to_pylist(),
            strict=True,
        ):
            report.rows_checked += 1
            recomputed = hashlib.sha256(body or b"").hexdigest()
            if recomputed != stored:
                report.mismatches.append(
                    ChecksumMismatch(extraction_id, data_file.file_path, stored, recomputed)
                )
    if on_progress is not None:
        on_progress(PROGRESS_STEP, report.files_checked, len(tasks))
    return report


def _lock_problem(lake: Lake, path: str, rows: pa.Table) -> str | None:
    """What is wrong with a bronze object's lock, or None: it must be COMPLIANCE until at
    least the latest retention end of the rows it holds."""
    needed = max(
        (
            retain_until(stamp, policy)
            for stamp, policy in zip(
                rows.column("extraction_timestamp").to_pylist(),
                rows.column("retention_policy").to_pylist(),
                strict=True,
            )
        ),
        default=None,
    )
    try:
        lock = retention_of(lake.object_store(), path)
    except Exception as exc:  # the finding is that the lock cannot be read: name the file
        return f"object lock cannot be read: {type(exc).__name__}: {exc}"
    if lock is None:
        return "object is not locked (no Object Lock retention)"
    mode, until = lock
    if mode != COMPLIANCE:
        return f"object is locked in {mode} mode, which privileged users can bypass"
    # The writer rounds retention up to the whole second S3 keeps.
    if needed is not None and until < needed.replace(microsecond=0):
        return f"object is locked until {until.isoformat()}, its rows need {needed.isoformat()}"
    return None


def _in_range(rows: pa.Table, start: datetime | None, end: datetime | None) -> pa.Table:
    stamps = rows.column("extraction_timestamp")
    if start is not None:
        rows = rows.filter(pc.greater_equal(stamps, pa.scalar(start, stamps.type)))
        stamps = rows.column("extraction_timestamp")
    if end is not None:
        rows = rows.filter(pc.less(stamps, pa.scalar(end, stamps.type)))
    return rows
