"""Append-only writer for ``bronze.extractions``.

There is no update and no delete here on purpose. A batch is one commit, through the
store's one commit path (:func:`makerates_lake.store.commit.commit`): under the commit
lock, the writer drops the extraction_ids that another writer stored since its own
check (so a retried or repeated write never duplicates a row) and commits the files it
wrote beforehand; the store locks what the commit wrote on a WORM bucket.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq

from makerates_lake.bronze.record import BronzeRecord, retain_until
from makerates_lake.errors import DuplicateExtractionError
from makerates_lake.store.catalog import Lake
from makerates_lake.store.commit import commit, commit_files, write_files
from makerates_lake.store.evolve import add_missing_columns, missing_columns
from makerates_lake.store.expressions import all_of, at_least, at_most, is_in
from makerates_lake.store.failures import dependency_errors
from makerates_lake.store.refs import files_added_since
from makerates_lake.store.tables import BRONZE_EXTRACTIONS
from makerates_lake.store.types import DataFile, Table

log = logging.getLogger(__name__)

#: The bronze schema in Arrow terms, converted once rather than per append.
_BRONZE_ARROW_SCHEMA = BRONZE_EXTRACTIONS.schema.as_arrow()


@dataclass(frozen=True)
class AppendResult:
    """What one :meth:`BronzeWriter.append` did.

    Attributes:
        written: Rows committed by this call.
        skipped: extraction_ids that bronze already held (not written again).
        snapshot_id: The snapshot this call committed, or None when nothing was new.
        attempts: Commit attempts, more than one when another writer won a race.
    """

    written: int
    skipped: tuple[str, ...]
    snapshot_id: int | None
    attempts: int


def records_to_arrow(records: Sequence[BronzeRecord]) -> pa.Table:
    """The records as an Arrow table in the bronze schema."""
    schema = _BRONZE_ARROW_SCHEMA
    # Column by column: from_pylist over one dict per record spends most of its time
    # looking keys up row by row, and a tuple per record, transposed, leaves thousands
    # of tuples that set off the garbage collector. A record is a dataclass without
    # slots: its fields are its __dict__, and a subscript there is cheaper than getattr.
    fields = [vars(record) for record in records]
    columns = {name: [values[name] for values in fields] for name in schema.names}
    return pa.Table.from_pydict(columns, schema=schema)


def existing_ids(table: Table, records: Sequence[BronzeRecord]) -> set[str]:
    """Which of these records' extraction_ids the table already holds.

    The time range prunes the scan to the day partitions the batch touches, and the
    extraction_id bounds in the manifests prune most files within them.
    """
    if table.current_snapshot() is None:
        # An empty table holds no ids; building the IN filter alone is costly per record
        # (PyIceberg makes a literal of each), which a first backfill skips.
        return set()
    ids = [r.extraction_id for r in records]
    stamps = [r.extraction_timestamp for r in records]
    row_filter = all_of(
        is_in("extraction_id", ids),
        at_least("extraction_timestamp", min(stamps).isoformat()),
        at_most("extraction_timestamp", max(stamps).isoformat()),
    )
    found = table.scan(row_filter=row_filter, selected_fields=("extraction_id",)).to_arrow()
    return set(found.column("extraction_id").to_pylist())


def ids_in_file(table: Table, location: str) -> set[str]:
    """The extraction_ids stored in the Parquet file at ``location`` (as FileIO opens it)."""
    with table.io.new_input(location).open() as stream:
        column = pq.read_table(pa.BufferReader(stream.read()), columns=["extraction_id"])
    return set(column.column("extraction_id").to_pylist())


def ids_in_files(table: Table, files: Iterable[DataFile]) -> set[str]:
    """The extraction_ids stored in these data files."""
    found: set[str] = set()
    for data_file in files:
        found |= ids_in_file(table, data_file.file_path)
    return found


def _current_snapshot_id(table: Table) -> int | None:
    snapshot = table.current_snapshot()
    return snapshot.snapshot_id if snapshot else None


def _ids_added_since(
    table: Table, records: Sequence[BronzeRecord], snapshot_id: int | None
) -> set[str]:
    """Ids of ``records`` that commits after ``snapshot_id`` stored."""
    added = files_added_since(table, snapshot_id)
    if added is None:  # history was rewritten since: check everything again
        return existing_ids(table, records)
    return ids_in_files(table, added) & {r.extraction_id for r in records}


class BronzeWriter:
    """Appends bronze records; each :meth:`append` is one commit.

    It does not maintain the table (compaction, expiry): the pipeline checks that after
    its bronze commits (:func:`makerates_lake.maintenance.maybe_maintain`), so a caller
    appending directly, many times, calls that too.

    Args:
        lake: The open lake.
        on_duplicate: ``"skip"`` (default) ignores extraction_ids already stored;
            ``"error"`` raises :class:`DuplicateExtractionError` instead.
    """

    def __init__(self, lake: Lake, *, on_duplicate: str = "skip") -> None:
        if on_duplicate not in {"skip", "error"}:
            raise ValueError("on_duplicate must be 'skip' or 'error'")
        self._lake = lake
        self._on_duplicate = on_duplicate

    def append(self, records: Sequence[BronzeRecord]) -> AppendResult:
        """Commit the records that bronze does not hold yet, in one snapshot.

        Raises:
            DuplicateExtractionError: In ``"error"`` mode, when an id is already stored or
                repeated within the batch.
            CommitConflictError: Other writers won every attempt.
            LakeError: The catalog database or the object store failed; names which.
        """
        unique = self._unique(records)
        if not unique:
            return AppendResult(0, (), None, 0)
        # A catalog database or object store that goes away mid-append surfaces as one
        # LakeError naming it (the CLI prints it and exits 1), not as a driver traceback.
        doing = f"appending to {BRONZE_EXTRACTIONS.identifier}"
        with dependency_errors(self._lake.settings, doing):
            return self._append(unique)

    def _append(self, unique: list[BronzeRecord]) -> AppendResult:
        # The expensive work happens outside the commit lock: the full duplicate check
        # and writing the data files. Inside it, only what other writers added since
        # is checked, and the commit is made.
        table = self._lake.bronze(refresh=True)
        if missing_columns(table, BRONZE_EXTRACTIONS):
            # A lake made before bronze's newer optional columns: add them first.
            add_missing_columns(self._lake, BRONZE_EXTRACTIONS)
            table = self._lake.bronze(refresh=True)
        skipped = existing_ids(table, unique)
        checked_at = _current_snapshot_id(table)
        fresh = self._fresh(unique, skipped)
        if not fresh:
            return AppendResult(0, tuple(sorted(skipped)), None, 0)
        files = write_files(table, records_to_arrow(fresh), BRONZE_EXTRACTIONS)
        attempts = 0

        def attempt(table: Table) -> int | None:
            nonlocal attempts, checked_at, fresh, files, skipped
            attempts += 1
            newly_present = _ids_added_since(table, unique, checked_at) - skipped
            checked_at = _current_snapshot_id(table)
            if newly_present:
                # Another writer stored some of our ids after our check: the files we
                # wrote would duplicate them, so they are written again without.
                skipped |= newly_present
                fresh = self._fresh(unique, skipped)
                if not fresh:
                    return None
                files = write_files(table, records_to_arrow(fresh), BRONZE_EXTRACTIONS)
            commit_files(table, files, merge_manifests=True)
            return _current_snapshot_id(table)

        def until() -> datetime:
            return max(retain_until(r.extraction_timestamp, r.retention_policy) for r in fresh)

        snapshot_id = commit(self._lake, BRONZE_EXTRACTIONS, attempt, retain_until=until)
        if snapshot_id is None:
            return AppendResult(0, tuple(sorted(skipped)), None, attempts)
        log.info(
            "bronze append committed",
            extra={"rows": len(fresh), "snapshot_id": snapshot_id, "attempts": attempts},
        )
        return AppendResult(len(fresh), tuple(sorted(skipped)), snapshot_id, attempts)

    def _fresh(self, unique: Sequence[BronzeRecord], stored: set[str]) -> list[BronzeRecord]:
        if stored and self._on_duplicate == "error":
            raise DuplicateExtractionError(
                "bronze already holds these extraction_ids", extraction_ids=sorted(stored)
            )
        return [r for r in unique if r.extraction_id not in stored]

    def _unique(self, records: Sequence[BronzeRecord]) -> list[BronzeRecord]:
        seen: dict[str, BronzeRecord] = {}
        for record in records:
            if record.extraction_id in seen:
                if self._on_duplicate == "error" or seen[record.extraction_id] != record:
                    raise DuplicateExtractionError(
                        "the batch holds one extraction_id twice",
                        extraction_id=record.extraction_id,
                    )
                continue
            seen[record.extraction_id] = record
        return list(seen.values())
