"""``audit verify``: bronze checksums plus lineage (every silver/gold extraction id exists)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa

from makerates_lake.audit.retention import purges_of
from makerates_lake.bronze.verify import VerifyReport, verify_bronze
from makerates_lake.bronze.writer import ids_in_file
from makerates_lake.progress import StageProgress
from makerates_lake.store.catalog import Lake
from makerates_lake.store.expressions import in_range
from makerates_lake.store.tables import (
    BRONZE_EXTRACTIONS,
    GOLD_FACT_RATE,
    SILVER_RATES,
    SILVER_REJECTS,
)

#: (table, its time column used for ``--from/--to``, its columns naming bronze rows)
_LINEAGE_COLUMNS = (
    (SILVER_RATES, "extraction_timestamp", ("extraction_id",)),
    (SILVER_REJECTS, "extraction_timestamp", ("extraction_id",)),
    (GOLD_FACT_RATE, "observed_at", ("extraction_id", "base_extraction_id")),
)

#: What :func:`verify_lake` counts for ``on_progress`` after bronze's own step: the
#: bronze files whose ids are read, then the silver and gold tables checked against them.
IDS_STEP = "lineage: bronze files read"
PROGRESS_STEP = "lineage: tables checked"


@dataclass(frozen=True)
class Orphan:
    """A silver or gold row naming an extraction id that bronze does not hold."""

    table: str
    column: str
    extraction_id: str
    rows: int


@dataclass
class AuditVerifyReport:
    """Result of :func:`verify_lake`."""

    bronze: VerifyReport
    orphans: list[Orphan] = field(default_factory=list)
    rows_checked: dict[str, int] = field(default_factory=dict)
    lineage_unchecked: list[str] = field(default_factory=list)
    purged: list[Orphan] = field(default_factory=list)
    """Rows naming an extraction a completed retention purge removed from bronze: the
    access log explains them, so they are not orphans."""

    @property
    def ok(self) -> bool:
        """True when every checksum matched, every file was sound and no id is orphaned."""
        return self.bronze.ok and not self.orphans and not self.lineage_unchecked

    def offenders(self) -> list[str]:
        """One line per problem, for people."""
        lines = [
            f"tampered: bronze row {m.extraction_id} in {m.file_path}: stored checksum "
            f"{m.stored_checksum}, stored bytes hash to {m.recomputed_checksum}"
            for m in self.bronze.mismatches
        ]
        lines += [f"file: {p.file_path}: {p.problem}" for p in self.bronze.file_problems]
        lines += [f"lineage not checked: {reason}" for reason in self.lineage_unchecked]
        lines += [
            f"orphan: {o.table}.{o.column} = {o.extraction_id} ({o.rows} rows) is not in bronze"
            for o in self.orphans
        ]
        return lines


def _bronze_ids(lake: Lake, on_progress: StageProgress | None = None) -> tuple[set[str], list[str]]:
    """Every extraction id bronze holds, and what could not be read.

    Read file by file so one damaged file (already named by ``verify_bronze`` when it is
    in range) does not hide the rest; a file that cannot be read makes the lineage check
    incomplete, which the report says instead of calling its rows' children orphans.
    """
    table = lake.bronze(refresh=True)
    try:
        files = [task.file for task in table.scan().plan_files()]
    except (OSError, ValueError) as exc:
        return set(), [f"bronze manifests cannot be read: {type(exc).__name__}: {exc}"]
    known: set[str] = set()
    unreadable: list[str] = []
    for done, data_file in enumerate(files):
        if on_progress is not None:
            on_progress(IDS_STEP, done, len(files))
        try:
            known |= ids_in_file(table, data_file.file_path)
        except (OSError, pa.ArrowException) as exc:
            unreadable.append(f"bronze file {data_file.file_path} cannot be read: {exc}")
    if on_progress is not None:
        on_progress(IDS_STEP, len(files), len(files))
    return known, unreadable


def verify_lake(
    lake: Lake,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    on_progress: StageProgress | None = None,
) -> AuditVerifyReport:
    """Recompute bronze checksums in ``[start, end)`` and check silver/gold lineage.

    Silver rows are selected by ``extraction_timestamp``, gold facts by ``observed_at``,
    in the same range; each extraction id they name must exist in bronze (any time), or
    have been removed by a completed retention purge (:attr:`AuditVerifyReport.purged`).
    Not an audited read of records (it returns no rates), so it writes no access entry.

    Example: ``assert mr.verify(lake).ok``; ``mr.verify(lake).offenders()`` names what
    failed.

    Args:
        lake: The open lake.
        start: First extraction time (inclusive); default the beginning.
        end: End of the range (exclusive); default now.
        on_progress: Gets the bronze files checked
            (:data:`~makerates_lake.bronze.verify.PROGRESS_STEP`), then :data:`IDS_STEP`
            and :data:`PROGRESS_STEP`, each with its count so far out of all.
    """
    report = AuditVerifyReport(bronze=verify_bronze(lake, start, end, on_progress=on_progress))
    known, unreadable = _bronze_ids(lake, on_progress)
    if unreadable:
        report.lineage_unchecked.extend(unreadable)
        report.rows_checked[BRONZE_EXTRACTIONS.identifier] = report.bronze.rows_checked
        return report
    for checked, (spec, time_column, id_columns) in enumerate(_LINEAGE_COLUMNS):
        if on_progress is not None:
            on_progress(PROGRESS_STEP, checked, len(_LINEAGE_COLUMNS))
        table = lake.table(spec, refresh=True)
        rows: pa.Table = table.scan(
            row_filter=in_range(
                time_column,
                start.isoformat() if start else None,
                end.isoformat() if end else None,
            ),
            selected_fields=id_columns,
        ).to_arrow()
        report.rows_checked[spec.identifier] = rows.num_rows
        for column in id_columns:
            counts: dict[str, int] = {}
            for value in rows.column(column).to_pylist():
                if value is not None and value not in known:
                    counts[value] = counts.get(value, 0) + 1
            report.orphans.extend(
                Orphan(spec.identifier, column, eid, n) for eid, n in sorted(counts.items())
            )
    if on_progress is not None:
        on_progress(PROGRESS_STEP, len(_LINEAGE_COLUMNS), len(_LINEAGE_COLUMNS))
    report.rows_checked[BRONZE_EXTRACTIONS.identifier] = report.bronze.rows_checked
    if report.orphans:
        purged = purges_of(lake, {o.extraction_id for o in report.orphans})
        report.purged = [o for o in report.orphans if o.extraction_id in purged]
        report.orphans = [o for o in report.orphans if o.extraction_id not in purged]
    return report
