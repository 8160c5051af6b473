"""Find and remove orphan files: files under a table's location that no metadata references.

A writer killed between writing its data files and committing them, or a commit that
lost a race, leaves files behind that no snapshot will ever read. They cost storage and
nothing else, so removing them must never risk a file that is (or may soon be) in use:

* Every file reachable from the table's current metadata is kept: the current and
  logged ``metadata.json`` files, each snapshot's manifest list, every manifest and every
  data/delete file any snapshot's manifests name (deleted entries included, since
  time travel to an older snapshot still reads them), and statistics files.
* Files younger than ``older_than`` are kept: a writer in flight has written its files
  but not committed yet, and its commit would break if they vanished.
* Files are listed *before* the metadata is read, so a commit landing in between makes
  its files referenced rather than orphaned.

On an S3 bucket with Object Lock (bronze) a removal only adds a delete marker; the locked
version stays until its retention ends, which is what WORM promises.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from makerates_lake.errors import AuditError
from makerates_lake.store.catalog import Lake
from makerates_lake.store.objects import list_files, remove_file
from makerates_lake.store.tables import ALL_TABLES, TableSpec

if TYPE_CHECKING:
    from makerates_lake.store.types import Table

log = logging.getLogger(__name__)

#: Iceberg's own default for orphan removal: old enough that no live writer owns the file.
DEFAULT_MIN_AGE = timedelta(days=3)


@dataclass(frozen=True)
class OrphanFile:
    """A file under a table's location that no metadata references."""

    table: str
    uri: str
    size: int
    modified: datetime


@dataclass
class OrphanReport:
    """What :func:`remove_orphans` found and did."""

    orphans: list[OrphanFile] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    kept_young: int = 0


def _normalise(uri: str) -> str:
    """One spelling per file: ``/abs/path`` for local files, ``bucket/key`` for S3."""
    parts = urlsplit(uri)
    if parts.scheme in {"s3", "s3a"}:
        return f"{parts.netloc}/{parts.path.lstrip('/')}"
    if parts.scheme == "file":
        return os.path.normpath(unquote(parts.path))
    return os.path.normpath(uri)


def referenced_files(table: Table) -> set[str]:
    """Normalised URIs of every file the table's metadata can reach (all snapshots)."""
    metadata = table.metadata
    found = {table.metadata_location}
    found.update(entry.metadata_file for entry in metadata.metadata_log)
    found.update(stat.statistics_path for stat in metadata.statistics)
    found.update(stat.statistics_path for stat in metadata.partition_statistics)
    seen_manifests: set[str] = set()
    for snapshot in metadata.snapshots:
        found.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(table.io):
            if manifest.manifest_path in seen_manifests:
                continue
            seen_manifests.add(manifest.manifest_path)
            found.add(manifest.manifest_path)
            # discard_deleted=False: a file deleted in a later snapshot is still read by
            # time travel to the snapshots before that.
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=False):
                found.add(entry.data_file.file_path)
    return {_normalise(uri) for uri in found}


def find_orphans(
    lake: Lake,
    *,
    older_than: timedelta = DEFAULT_MIN_AGE,
    now: datetime | None = None,
    tables: Sequence[TableSpec] = ALL_TABLES,
) -> OrphanReport:
    """Files under each table's location that no metadata references and are old enough.

    Args:
        lake: The open lake.
        older_than: Files modified more recently than ``now - older_than`` are kept
            whatever they are (a writer in flight may own them).
        now: Reference time; default the current time.
        tables: Tables to check; default every table of the lake.

    Raises:
        AuditError: ``older_than`` is negative, or a table's storage cannot be listed.
    """
    if older_than < timedelta(0):
        raise AuditError("older_than must not be negative", older_than=str(older_than))
    cutoff = (now or datetime.now(UTC)) - older_than
    report = OrphanReport()
    for spec in tables:
        location = lake.location_of(spec)
        try:
            # List first, then read the metadata: a commit landing in between makes its
            # files referenced, never orphaned.
            listed = list(list_files(lake, location))
            referenced = referenced_files(lake.table(spec, refresh=True))
        except AuditError:
            raise
        except Exception as exc:
            raise AuditError(
                f"cannot list the files of a table: {type(exc).__name__}: {exc}",
                table=spec.identifier,
            ) from None
        for uri, size, modified in listed:
            if _normalise(uri) in referenced:
                continue
            if modified > cutoff:
                report.kept_young += 1
                continue
            report.orphans.append(OrphanFile(spec.identifier, uri, size, modified))
    return report


def io_location(uri: str) -> str:
    """``uri`` as a table's FileIO opens it: listed local files are percent-encoded URIs
    (``extraction_day%3D2024-03-01``), which FileIO would take literally."""
    parts = urlsplit(uri)
    return unquote(parts.path) if parts.scheme == "file" else uri


def remove_orphans(
    lake: Lake,
    *,
    older_than: timedelta = DEFAULT_MIN_AGE,
    now: datetime | None = None,
    tables: Sequence[TableSpec] = ALL_TABLES,
    dry_run: bool = False,
) -> OrphanReport:
    """Find orphans (see :func:`find_orphans`) and remove them unless ``dry_run``.

    Every unreferenced file of ``tables`` goes, so this is not for bronze on its own:
    :func:`makerates_lake.maintenance.bronze_orphans.remove_bronze_orphans` keeps the
    compaction originals there.
    """
    report = find_orphans(lake, older_than=older_than, now=now, tables=tables)
    if not dry_run:
        remove_files(lake, report)
    return report


def remove_files(lake: Lake, report: OrphanReport) -> None:
    """Remove every file in ``report.orphans``, recording each in ``removed`` or ``failed``.

    A file that cannot be removed (Object Lock refuses, permissions) is listed in
    ``failed`` with the reason; the others are still removed.
    """
    for orphan in report.orphans:
        try:
            remove_file(lake, orphan.uri)
        except Exception as exc:  # one stuck file must not stop the clean-up of the rest
            report.failed[orphan.uri] = f"{type(exc).__name__}: {exc}"
            continue
        report.removed.append(orphan.uri)
    log.info(
        "orphan files removed",
        extra={"removed": len(report.removed), "failed": len(report.failed)},
    )
