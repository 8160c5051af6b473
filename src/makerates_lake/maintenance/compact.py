"""Compaction: rewrite a partition's small data files into files of the target size.

The rewrite is one Iceberg ``overwrite`` snapshot that deletes the small files from the
table's manifests and adds the new ones; the rows do not change. Before committing, the
new files are read back and compared with the old ones row for row (for bronze that
includes every ``raw_response`` byte and ``response_checksum``); any difference aborts.

The old files are not deleted. Older snapshots still reference them (time travel), and
bronze objects on S3 stay under their COMPLIANCE retention regardless. New bronze files
get the same retention as the rows they hold.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from makerates_lake.bronze.record import retain_until
from makerates_lake.maintenance.errors import CompactionMismatchError
from makerates_lake.maintenance.policy import SNAPSHOT_MARKER, MaintenancePolicy
from makerates_lake.store import files as table_files
from makerates_lake.store.arrow_types import with_large_types
from makerates_lake.store.catalog import Lake
from makerates_lake.store.commit import commit, commit_files
from makerates_lake.store.datafiles import write_data_files
from makerates_lake.store.files import (
    DataFile,
    PartitionKey,
    is_data_file,
    live_data_files,
    partition_key,
    sort_columns,
)
from makerates_lake.store.tables import TableSpec
from makerates_lake.store.types import Table

log = logging.getLogger(__name__)

@dataclass
class CompactionResult:
    """What :func:`compact_table` did to one table."""

    table: str
    partitions: int = 0
    files_removed: int = 0
    files_added: int = 0
    rows: int = 0
    snapshot_id: int | None = None
    skipped_reason: str | None = None


def plan(table: Table, policy: MaintenancePolicy) -> dict[PartitionKey, list[DataFile]]:
    """Partitions worth compacting and their small files, oldest partition first."""
    groups: dict[PartitionKey, list[DataFile]] = defaultdict(list)
    for data_file in live_data_files(table):
        if not is_data_file(data_file):
            continue
        if data_file.file_size_in_bytes < policy.small_file_bytes:
            groups[partition_key(data_file)].append(data_file)
    worth = {k: v for k, v in groups.items() if len(v) >= policy.min_files_to_compact}
    try:  # by value, so consecutive day partitions stay together (see PARTITIONS_PER_COMMIT)
        return dict(sorted(worth.items(), key=lambda item: _order(item[0])))
    except TypeError:  # values of mixed types in one spec: any stable order will do
        return dict(sorted(worth.items(), key=lambda item: repr(item[0])))


def _order(key: PartitionKey) -> tuple[Any, ...]:
    spec_id, values = key
    return spec_id, tuple((v is None, v if v is not None else 0) for v in values)


#: Partitions rewritten per commit: about a month of day partitions. Each commit's new
#: files land in their own manifest, whose partition bounds then cover one month, so a
#: one-day read opens a month's manifest. One commit for the whole history put every
#: compacted file in one manifest that every one-day scan decoded whole, which made the
#: one-day read slower after compaction. Smaller commits also mean a lost race or a
#: failure costs one month of rewriting, not the whole pass.
PARTITIONS_PER_COMMIT = 31


def rewrite_properties(spec: TableSpec, policy: MaintenancePolicy) -> dict[str, str]:
    """Write properties compaction overrides for the files it writes (not stored)."""
    props = {"write.target-file-size-bytes": str(policy.target_file_size_bytes)}
    if spec.in_bronze_bucket and policy.bronze_compression_level is not None:
        props["write.parquet.compression-level"] = str(policy.bronze_compression_level)
    return props


def _canonical(rows: pa.Table, columns: list[str]) -> pa.Table:
    """Rows in one deterministic order, so two tables compare equal iff same multiset
    (response bodies are not sort keys: the other columns already tell rows apart)."""

    def is_bytes(column: str) -> bool:
        kind = rows.schema.field(column).type
        return bool(pa.types.is_binary(kind) or pa.types.is_large_binary(kind))

    keys = [c for c in columns if not is_bytes(c)]
    return rows.sort_by([(c, "ascending") for c in keys]) if keys else rows


def _check_same_rows(
    table: Table, old: pa.Table, new_files: list[DataFile], spec: TableSpec
) -> None:
    new = table_files.read_files(table, new_files)
    context = {"table": spec.identifier}
    if new.num_rows != old.num_rows:
        raise CompactionMismatchError(
            "rewritten files hold a different number of rows",
            old_rows=old.num_rows,
            new_rows=new.num_rows,
            **context,
        )
    names = old.schema.names
    # Files written with Arrow's schema in their footer read back as large strings,
    # their rewrite (no such schema) as plain strings: compared in one form, and any
    # other difference of types is a mismatch.
    old = old.cast(with_large_types(old.schema))
    new = new.select(names)
    new = new.cast(with_large_types(new.schema))
    if not new.schema.equals(old.schema):
        raise CompactionMismatchError(
            "rewritten files hold other column types",
            old_types=str(old.schema.types),
            new_types=str(new.schema.types),
            **context,
        )
    order = [c for c in names if not pa.types.is_nested(old.schema.field(c).type)]
    if not _canonical(old, order).equals(_canonical(new, order)):
        raise CompactionMismatchError("rewritten files hold different rows", **context)
    if "response_checksum" in names:
        pairs_old = set(
            zip(old["extraction_id"].to_pylist(), old["response_checksum"].to_pylist(), strict=True)
        )
        pairs_new = set(
            zip(new["extraction_id"].to_pylist(), new["response_checksum"].to_pylist(), strict=True)
        )
        if pairs_old != pairs_new:
            raise CompactionMismatchError(
                "rewritten bronze files hold different extraction_id/checksum pairs", **context
            )


def compact_table(
    lake: Lake, spec: TableSpec, policy: MaintenancePolicy | None = None
) -> CompactionResult:
    """Rewrite each partition's small files into target-size files.

    One snapshot per :data:`PARTITIONS_PER_COMMIT` partitions (about a month of days).

    Raises:
        CompactionMismatchError: The new files would not hold exactly the old rows
            (nothing of that batch is committed).
        CommitConflictError: Writers that do not take the commit lock won every attempt.

    A batch whose files another writer rewrote meanwhile is skipped, not an error.
    """
    policy = policy or MaintenancePolicy()
    result = CompactionResult(spec.identifier)
    table = lake.table(spec, refresh=True)
    if any(not is_data_file(f) for f in live_data_files(table)):
        # Rewriting data files under delete files would need the deletes applied first.
        result.skipped_reason = "table has delete files"
        return result
    groups = list(plan(table, policy).values())
    for first in range(0, len(groups), PARTITIONS_PER_COMMIT):
        batch = groups[first : first + PARTITIONS_PER_COMMIT]
        table, committed = _compact_batch(lake, spec, table, batch, policy, result)
        if committed:
            result.partitions += len(batch)
            snapshot = table.current_snapshot()
            result.snapshot_id = snapshot.snapshot_id if snapshot else None
    return result


def _compact_batch(
    lake: Lake,
    spec: TableSpec,
    table: Table,
    groups: list[list[DataFile]],
    policy: MaintenancePolicy,
    result: CompactionResult,
) -> tuple[Table, bool]:
    """Rewrite these partitions' files in one overwrite snapshot; returns the fresh table
    and whether the rewrite was committed (not when another writer replaced its files)."""
    # Files are written outside the lock (the slow part) with the policy's target file
    # size (and, for bronze, its cold compression level); only the check that the inputs
    # are still live and the commit happen under it (in ``attempt``).
    sizing = table.metadata.model_copy(
        update={"properties": {**table.metadata.properties, **rewrite_properties(spec, policy)}}
    )
    removed: list[DataFile] = []
    added: list[DataFile] = []
    rows_by_partition: list[pa.Table] = []
    sort = sort_columns(table)
    for files in groups:
        rows = table_files.read_files(table, files)
        if sort:
            rows = rows.sort_by([(c, "ascending") for c in sort])
        # Split by partition, rolled at write.target-file-size-bytes, in the table's
        # per-column Parquet layout.
        new_files = write_data_files(sizing, table.io, rows, spec.parquet)
        _check_same_rows(table, rows, new_files, spec)
        removed.extend(files)
        added.extend(new_files)
        rows_by_partition.append(rows)
        result.rows += rows.num_rows

    def attempt(table: Table) -> bool:
        live = {f.file_path for f in live_data_files(table)}
        if any(f.file_path not in live for f in removed):
            # Another writer rewrote these partitions meanwhile (a transform replacing a
            # year): their files are already new, so this rewrite is moot.
            return False
        commit_files(table, added, remove=removed, properties={SNAPSHOT_MARKER: "compact"})
        return True

    def until() -> datetime:
        return _retain_until(rows_by_partition)

    # Only a bronze-bucket table's commit calls ``until`` (to lock what it wrote).
    if not commit(lake, spec, attempt, retain_until=until):
        log.warning(
            "compaction skipped: another writer rewrote the files meanwhile",
            extra={"table": spec.identifier, "files": len(removed)},
        )
        result.rows -= sum(rows.num_rows for rows in rows_by_partition)
        _delete_uncommitted(table, added)
        return lake.table(spec, refresh=False), False
    result.files_removed += len(removed)
    result.files_added += len(added)
    log.info(
        "compacted", extra={"table": spec.identifier, "removed": len(removed), "added": len(added)}
    )
    return table, True


def _delete_uncommitted(table: Table, files: Sequence[DataFile]) -> None:
    """Delete files this compaction wrote but never committed. One that cannot be
    deleted (a WORM bucket's default retention) is left for orphan removal, which
    finds it unreferenced."""
    for data_file in files:
        try:
            table.io.delete(data_file.file_path)
        except Exception:
            log.warning("uncommitted compaction file kept", extra={"file": data_file.file_path})


def _retain_until(rows: list[pa.Table]) -> datetime:
    """The latest retention date of the compacted bronze rows."""
    return max(
        retain_until(stamp, policy)
        for part in rows
        for stamp, policy in zip(
            part["extraction_timestamp"].to_pylist(),
            part["retention_policy"].to_pylist(),
            strict=True,
        )
    )
