"""What maintenance does and when: thresholds, targets and the table properties it sets.

Thresholds can be overridden per table with ``makerates.maintenance.*`` table properties,
so the automatic trigger needs no global state and every process sees the same policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from makerates_lake.store.catalog import Lake
from makerates_lake.store.commit import set_properties
from makerates_lake.store.tables import ALL_TABLES, TableSpec
from makerates_lake.store.types import Table, property_as_bool, property_as_int

AUTO_PROPERTY: Final = "makerates.maintenance.auto"
TRIGGER_SNAPSHOTS_PROPERTY: Final = "makerates.maintenance.trigger-snapshots"
LAST_RUN_PROPERTY: Final = "makerates.maintenance.last-snapshot-id"
SNAPSHOT_MARKER: Final = "makerates.maintenance"

# Manifest merging on append: once this many small manifests pile up, the next append
# merges them into manifests of about the target size, so the manifest list (read on
# every commit and every scan) stays short. Iceberg's own default of 100 lets a year of
# six-a-day commits leave a few hundred manifests between merges.
MANIFEST_MIN_COUNT_TO_MERGE: Final = 16
# Small target: about one month of compacted bronze day files. PyIceberg's merge_append
# rewrites every bin of two or more old manifests that fits the target, whatever
# min-count-to-merge says; with a large target the first append after a maintenance pass
# merged compaction's month manifests into a few of about a year each, and a one-day read
# (bench_long_history) became several times slower.
MANIFEST_TARGET_SIZE_BYTES: Final = 64 * 1024
METADATA_PREVIOUS_VERSIONS_MAX: Final = 25
# zstd level of the bronze files compaction writes. Ingest stays at level 1 (the bronze
# table property): level 19 makes the response bodies about a quarter smaller but costs
# many times the compression time, which only a cold rewrite off the ingest path can
# afford. The middle levels were larger than level 1 on 160-currency ExchangeRate-API
# bodies, and the top ones only pay off here.
BRONZE_COLD_COMPRESSION_LEVEL: Final = 19
#: The default of the ``snapshot_retention_days`` setting, for callers without settings.
DEFAULT_SNAPSHOT_WINDOW: Final = timedelta(days=90)


@dataclass(frozen=True)
class MaintenancePolicy:
    """Targets and thresholds of :func:`makerates_lake.maintenance.run_maintenance`.

    Attributes:
        target_file_size_bytes: Size of the files compaction writes.
        small_file_bytes: Files below this size are candidates for compaction.
        min_files_to_compact: A partition is compacted when it holds at least this many
            small files (2: any partition with more than one small file).
        snapshot_window: Snapshots younger than this are never expired.
        keep_last: The newest snapshots always kept, whatever their age.
        orphan_min_age: Unreferenced files younger than this are kept (a writer in flight
            may own them).
        trigger_snapshots: The automatic trigger fires after this many snapshots since the
            last maintenance of a table (six ingests a day: about every two weeks).
        bronze_compression_level: zstd level of the files compaction writes for tables in
            the bronze bucket (None: the table's own ``write.parquet.compression-level``).
            Compaction rewrites each day's small ingest files into one, which stays for
            the rows' retention, so it is worth compressing harder than ingest can.
    """

    target_file_size_bytes: int = 128 * 1024 * 1024
    small_file_bytes: int = 32 * 1024 * 1024
    min_files_to_compact: int = 2
    snapshot_window: timedelta = DEFAULT_SNAPSHOT_WINDOW
    keep_last: int = 10
    orphan_min_age: timedelta = timedelta(days=3)
    trigger_snapshots: int = 100
    bronze_compression_level: int | None = BRONZE_COLD_COMPRESSION_LEVEL


def auto_enabled(table: Table) -> bool:
    """Whether the automatic trigger may maintain this table (property, default true)."""
    return property_as_bool(table.metadata.properties, AUTO_PROPERTY, True)


def trigger_snapshots(table: Table, policy: MaintenancePolicy) -> int:
    """The table's trigger threshold: its property if set, else the policy's."""
    value = property_as_int(
        table.metadata.properties, TRIGGER_SNAPSHOTS_PROPERTY, policy.trigger_snapshots
    )
    return policy.trigger_snapshots if value is None else value


def desired_properties(lake: Lake, spec: TableSpec) -> dict[str, str]:
    """Table properties that bound manifests and metadata for this table.

    Bronze on a WORM bucket gets no ``delete-after-commit``: deleting an old metadata
    file there only hides a locked version behind a delete marker, and bronze files are
    never deleted by this library. ``previous-versions-max`` alone is safe everywhere:
    it only shortens the metadata log written into each new ``metadata.json``.
    """
    props = {
        "commit.manifest-merge.enabled": "true",
        "commit.manifest.min-count-to-merge": str(MANIFEST_MIN_COUNT_TO_MERGE),
        "commit.manifest.target-size-bytes": str(MANIFEST_TARGET_SIZE_BYTES),
        "write.metadata.previous-versions-max": str(METADATA_PREVIOUS_VERSIONS_MAX),
    }
    if not spec.in_bronze_bucket:
        props["write.metadata.delete-after-commit.enabled"] = "true"
    return props


def apply_table_properties(
    lake: Lake, tables: tuple[TableSpec, ...] = ALL_TABLES
) -> dict[str, dict[str, str]]:
    """Set :func:`desired_properties` where they differ; returns what changed per table."""
    changed: dict[str, dict[str, str]] = {}
    for spec in tables:
        diff = set_properties(lake, spec, desired_properties(lake, spec))
        if diff:
            changed[spec.identifier] = diff
    return changed
