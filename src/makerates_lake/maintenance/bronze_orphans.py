"""Which unreferenced bronze files maintenance may remove, decided by what they hold.

An unreferenced bronze *data* file is one of two things, and only its rows tell which:

* a **compaction original**: compaction rewrote its rows into a larger file and the
  snapshots that still read the original have since expired. Every one of its
  ``extraction_id`` values is still in the table (in the compacted file), and compaction
  promised to leave the original object where it is, so it is **kept**.
* a **dead writer's file**: an ingest killed between writing its data files and committing
  them. None of its rows ever reached the table, so it is **removed**. (A compaction
  original whose rows were all purged by ``makerates retention purge`` looks the same and
  is removed too, which is what the purge asked for.)

A data file holding some committed rows and some not is kept (no writer produces one), and
so is one that cannot be read: it is reported, never deleted unseen. Unreferenced
*metadata* files (a dead writer's ``metadata.json``, manifest lists and manifests, or those
of expired snapshots) hold no rows and are removed as in every other table. The safety age
of :func:`~makerates_lake.maintenance.orphans.find_orphans` applies first, so nothing a writer in
flight may still commit is considered. On the WORM bucket a removal adds a delete marker;
the locked version stays until its retention ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import polars as pl

from makerates_lake.bronze.writer import ids_in_file
from makerates_lake.maintenance.orphans import (
    OrphanFile,
    OrphanReport,
    find_orphans,
    io_location,
    remove_files,
)
from makerates_lake.store import scan_table
from makerates_lake.store.catalog import Lake
from makerates_lake.store.tables import BRONZE_EXTRACTIONS
from makerates_lake.store.types import Table


@dataclass
class BronzeOrphanReport:
    """What :func:`remove_bronze_orphans` removed and what it kept, with why."""

    removed: OrphanReport = field(default_factory=OrphanReport)
    #: Unreferenced data files whose rows are still in the table (compaction originals).
    kept_committed: list[str] = field(default_factory=list)
    #: Unreferenced data files that could not be read or hold a mix: uri -> reason.
    kept_unclear: dict[str, str] = field(default_factory=dict)


def _is_data_file(orphan: OrphanFile) -> bool:
    return orphan.uri.endswith(".parquet")


def _committed_ids(lake: Lake, table: Table) -> set[str]:
    if table.current_snapshot() is None:
        return set()
    ids = scan_table(lake, table).select("extraction_id").collect().to_series()
    return set(ids.cast(pl.String).to_list())


def remove_bronze_orphans(
    lake: Lake,
    *,
    older_than: timedelta,
    now: datetime | None = None,
    dry_run: bool = False,
) -> BronzeOrphanReport:
    """Remove bronze's dead-writer files and stale metadata; keep compaction originals.

    Args:
        lake: The open lake.
        older_than: Safety age: younger unreferenced files are kept whatever they hold.
        now: Reference time; default the current time.
        dry_run: Classify only; remove nothing.
    """
    found = find_orphans(lake, older_than=older_than, now=now, tables=[BRONZE_EXTRACTIONS])
    report = BronzeOrphanReport()
    report.removed.kept_young = found.kept_young
    data_files = [o for o in found.orphans if _is_data_file(o)]
    # Loaded once, after listing (find_orphans listed first): a commit landing in between
    # only adds ids, which can only make a file look committed and be kept.
    table = lake.table(BRONZE_EXTRACTIONS, refresh=True)
    committed = _committed_ids(lake, table) if data_files else set()
    for orphan in found.orphans:
        if not _is_data_file(orphan):
            report.removed.orphans.append(orphan)
            continue
        try:
            ids = ids_in_file(table, io_location(orphan.uri))
        except Exception as exc:  # unreadable: keep it and say why
            report.kept_unclear[orphan.uri] = f"unreadable: {type(exc).__name__}: {exc}"
            continue
        in_table = ids & committed
        if not in_table:
            report.removed.orphans.append(orphan)
        elif in_table == ids:
            report.kept_committed.append(orphan.uri)
        else:
            report.kept_unclear[orphan.uri] = (
                f"{len(in_table)} of its {len(ids)} rows are committed, the rest are not"
            )
    if not dry_run:
        remove_files(lake, report.removed)
    return report
