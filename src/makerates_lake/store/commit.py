"""The one commit path: every append, overwrite, delete, tag move and property change.

:func:`commit` runs a change against a freshly loaded table while holding the table's
commit lock (:mod:`makerates_lake.store.lock`), and repeats it, with one retry policy,
when a writer that does not take the lock (another engine, a REST catalog client) won
the race. The retry waits between attempts outside the lock, so a waiting writer never
blocks the others.

PyIceberg 0.12 retries a failed data commit inside ``commit_transaction`` by itself
(``commit.retry.*``). That retry would sleep while our lock is held, stack with ours,
and re-apply the staged files without the checks an attempt makes after a refresh
(bronze's and silver's duplicate checks). Every transaction opened here commits once
(:class:`makerates_lake.store._pyiceberg.Transaction`), so the attempt, not PyIceberg,
decides what a retry commits.

After a commit to a table in the WORM bucket, what the commit wrote (data files,
manifests, manifest list, metadata file) is locked until ``retain_until``, once the
commit lock is released (S3 calls per object should not hold up other writers).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Final, TypeVar

import polars as pl
import pyarrow as pa
import stamina
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.expressions import AlwaysTrue, BooleanExpression, Or
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table
from pyiceberg.utils.properties import property_as_bool

from makerates_lake.errors import CommitConflictError
from makerates_lake.store._pyiceberg import manage_snapshots, open_transaction, start_branch
from makerates_lake.store.arrow_types import with_views
from makerates_lake.store.branches import MAIN, active_branch, present, ref_snapshot_id
from makerates_lake.store.catalog import Lake
from makerates_lake.store.datafiles import write_data_files
from makerates_lake.store.lock import table_commit_lock
from makerates_lake.store.scan import scan_files, scan_table
from makerates_lake.store.tables import TableSpec
from makerates_lake.store.worm import lock_objects, snapshot_objects

T = TypeVar("T")

#: Backoff between attempts; the number of attempts is ``Settings.commit_retry_attempts``.
#: No overall timeout: under the lock our own writers queue, so the bound that matters
#: is the number of races lost, not the time spent waiting for the lock.
_WAIT_INITIAL_S: Final = 0.05
_WAIT_MAX_S: Final = 2.0
_WAIT_JITTER_S: Final = 0.5

_MERGE_ENABLED: Final = "commit.manifest-merge.enabled"

#: Called under the commit lock with the refreshed table and the rows about to be
#: written; returns the rows to write instead and a filter of the existing rows they
#: replace (None: none). Silver uses it to recompute flags that depend on neighbouring
#: rows against what the table holds at commit time, not at read time.
Revision = Callable[[Table, pl.DataFrame], tuple[pl.DataFrame, BooleanExpression | None]]


def commit(
    lake: Lake,
    spec: TableSpec,
    attempt: Callable[[Table], T],
    *,
    retain_until: Callable[[], datetime] | None = None,
) -> T:
    """Run ``attempt`` on the refreshed table under its commit lock, retrying lost races.

    Args:
        lake: The open lake.
        spec: The table to commit to.
        attempt: Makes the change on the table it is given (stage and commit); may be
            called again after a lost race, each time with a freshly loaded table.
        retain_until: For tables in the WORM bucket: when the objects of a new snapshot
            may be deleted. Called only when the attempt committed a snapshot.

    Returns:
        What the successful attempt returned.

    Raises:
        CommitConflictError: Other writers won every attempt.
    """
    tries = 0
    worm = retain_until is not None and spec.in_bronze_bucket and lake.bronze_object_lock
    written: tuple[Table, int, str] | None = None
    try:
        for retry in stamina.retry_context(
            on=CommitFailedException,
            attempts=lake.settings.commit_retry_attempts,
            timeout=None,
            wait_initial=_WAIT_INITIAL_S,
            wait_max=_WAIT_MAX_S,
            wait_jitter=_WAIT_JITTER_S,
        ):
            with retry:
                tries += 1
                with table_commit_lock(lake, spec.identifier):
                    table = lake.table(spec, refresh=True)
                    before = table.current_snapshot()
                    result = attempt(table)
                    after = table.current_snapshot()
                    if worm and after is not None and after != before:
                        written = (table, after.snapshot_id, table.metadata_location)
                break
    except CommitFailedException as exc:
        raise CommitConflictError(
            "commit kept losing to concurrent writers",
            table=spec.identifier,
            attempts=tries,
            cause=str(exc),
        ) from None
    else:
        if tries == 0:
            raise CommitConflictError("no commit attempt was made", table=spec.identifier)
    if written is not None and retain_until is not None:
        table, snapshot_id, metadata_location = written
        uris = snapshot_objects(table, snapshot_id, metadata_location)
        lock_objects(lake.object_store(), uris, retain_until())
    return result


def to_arrow(frame: pl.DataFrame, spec: TableSpec) -> pa.Table:
    """A frame as Arrow in the table's schema (names, types, required columns), its text
    and bytes as Arrow views (:func:`~makerates_lake.store.arrow_types.with_views`).

    Polars keeps text as views: handed over as they are, they cost no copy, where
    Arrow's ``large_string`` (the Iceberg schema's own) means copying every string.
    Parquet stores both alike, and the files keep no Arrow schema that would name the
    view types (:attr:`~makerates_lake.store.specs.ParquetLayout.arrow_schema`).
    """
    schema = with_views(spec.schema.as_arrow())
    # Categoricals would come over as dictionaries of views, which Arrow cannot cast.
    columns = [
        pl.col(name).cast(pl.String)
        if isinstance(frame.schema.get(name), pl.Categorical | pl.Enum)
        else pl.col(name)
        for name in schema.names
    ]
    return frame.select(columns).to_arrow(compat_level=pl.CompatLevel.newest()).cast(schema)


def write_files(table: Table, rows: pa.Table, spec: TableSpec) -> list[DataFile]:
    """Write ``rows`` as data files of ``table`` (no commit), with ``spec``'s Parquet layout."""
    return write_data_files(table.metadata, table.io, rows, spec.parquet)


def commit_files(
    table: Table,
    add: Sequence[DataFile] = (),
    *,
    where: BooleanExpression | None = None,
    remove: Sequence[DataFile] = (),
    properties: dict[str, str] | None = None,
    merge_manifests: bool = False,
) -> None:
    """Stage and commit one snapshot on ``table``: rows matching ``where`` deleted,
    ``remove`` replaced, ``add`` added. Call it inside :func:`commit`'s attempt.

    Inside :func:`~makerates_lake.store.branches.on_branch` a silver or gold table's
    snapshot goes to the branch (created by its first commit), and ``main`` stays.

    With ``merge_manifests`` a plain append honours ``commit.manifest-merge.enabled``
    like ``Table.append``, so the maintenance settings that bound the number of
    manifests apply to it (bronze and the access log, appended to six times a day and
    never rewritten; silver and gold replace their year files instead).

    Raises:
        CommitFailedException: The table changed since ``table`` was loaded.
    """
    summary = properties or {}
    branch = active_branch(table) or MAIN
    deletes = where is not None and table.current_snapshot() is not None
    main = ref_snapshot_id(table, MAIN)
    create = branch != MAIN and branch not in table.metadata.refs
    if create and not (deletes or add or remove):
        return  # nothing to commit: no branch either
    # An empty table has nothing to branch from: the snapshot is staged on no ref, and the
    # branch is pointed at it in the same commit (main stays without a snapshot).
    first = branch != MAIN and not table.metadata.snapshots
    target = None if first else branch
    with open_transaction(table) as transaction:
        if create and main is not None:
            # Created in the same commit as its first snapshot, at main's head, so a
            # branch never exists without the run's change (nor the change without it).
            with manage_snapshots(transaction) as manage:
                manage.create_branch(main, branch)
        if deletes and where is not None:
            with warnings.catch_warnings():
                # Replacing rows that are not there (a first build of a date range) is
                # normal here, not the mistake PyIceberg warns about.
                warnings.filterwarnings("ignore", "Delete operation did not match any records")
                transaction.delete(delete_filter=where, snapshot_properties=summary, branch=branch)
        update = transaction.update_snapshot(snapshot_properties=summary, branch=target)
        if remove:
            with update.overwrite() as overwrite:
                for data_file in remove:
                    overwrite.delete_data_file(data_file)
                for data_file in add:
                    overwrite.append_data_file(data_file)
        elif add:
            merge = merge_manifests and property_as_bool(
                table.metadata.properties, _MERGE_ENABLED, False
            )
            with update.merge_append() if merge else update.fast_append() as append:
                for data_file in add:
                    append.append_data_file(data_file)
        if first and (add or remove):
            start_branch(transaction, (overwrite if remove else append).snapshot_id, branch)
    present(table)  # the commit replaced the metadata with the catalog's (main current)


def set_properties(
    lake: Lake,
    spec: TableSpec,
    properties: dict[str, str] | Callable[[Table], dict[str, str]],
) -> dict[str, str]:
    """Set the table properties that differ from ``properties``; returns what changed.

    ``properties`` may be a function of the refreshed table (e.g. its current snapshot).
    """

    def attempt(table: Table) -> dict[str, str]:
        wanted = properties(table) if callable(properties) else properties
        changed = {k: v for k, v in wanted.items() if table.metadata.properties.get(k) != v}
        if changed:  # unchanged, a commit would only add another metadata file
            with open_transaction(table) as transaction:
                transaction.set_properties(changed)
        return changed

    return commit(lake, spec, attempt)


def append_new(
    lake: Lake,
    spec: TableSpec,
    frame: pl.DataFrame,
    *,
    revise: Revision | None = None,
    within: BooleanExpression | None = None,
) -> int:
    """Append rows whose extraction_id the table does not hold yet, in one commit.

    The check and the commit happen under the table's commit lock, so two processes
    transforming the same bronze rows at once store them once: the second one sees the
    first one's ids and writes nothing. ``revise`` (see :data:`Revision`) may rewrite
    existing rows in the same commit. ``within`` says where stored rows with these ids
    can only be (e.g. the rows' own rate dates, for rows that are a function of their
    bronze row): only the files it selects are searched, so the check costs what those
    files cost, not the whole table.

    Returns:
        Rows written.

    Raises:
        CommitConflictError: Other writers won every attempt.
    """

    def attempt(table: Table) -> int:
        present = _present_ids(lake, table, frame.get_column("extraction_id"), within)
        fresh = frame.join(present, on="extraction_id", how="anti") if present.height else frame
        if fresh.height:
            rows, replaced = revise(table, fresh) if revise is not None else (fresh, None)
            commit_files(table, write_files(table, to_arrow(rows, spec), spec), where=replaced)
        return fresh.height

    if frame.height == 0:
        return 0
    return commit(lake, spec, attempt)


def _present_ids(
    lake: Lake, table: Table, ids: pl.Series, within: BooleanExpression | None = None
) -> pl.DataFrame:
    """The ``ids`` the table holds at its current snapshot (one ``extraction_id`` column),
    searched in the files ``within`` selects (default all).

    Silver's files are years of rate dates, and a batch's ids span them all, so min/max
    pruning on the ids would keep nearly every file anyway: Polars reads the id columns
    in parallel and matches with a hash set, where an Iceberg ``IN`` filter of thousands
    of literals is slow to bind and evaluate.
    """
    snapshot = table.current_snapshot()
    if snapshot is None:  # a first write: nothing to look for (nor to make ids unique for)
        return pl.DataFrame(schema={"extraction_id": pl.String})
    stored = (
        scan_table(lake, table, snapshot_id=snapshot.snapshot_id)
        if within is None
        else scan_files(lake, table, row_filter=within, columns=("extraction_id",))
    )
    return (
        stored.select("extraction_id")
        .filter(pl.col("extraction_id").is_in(ids.unique().implode()))
        .unique()
        .collect()
    )


def overwrite(
    lake: Lake,
    spec: TableSpec,
    frame: pl.DataFrame,
    *,
    where: BooleanExpression | None = None,
    properties: dict[str, str] | None = None,
    revise: Revision | None = None,
) -> int | None:
    """Replace the rows matching ``where`` (default: all) by ``frame``, in one commit.

    Without ``revise`` the data files are written once, before the commit lock is
    taken, and a lost race only repeats the commit. With it (see :data:`Revision`) they
    are written under the lock, from the revised rows.

    Returns:
        The table's snapshot id after the commit.
    """
    replace = where if where is not None else AlwaysTrue()
    files = (
        None if revise else write_files(lake.table(spec, refresh=True), to_arrow(frame, spec), spec)
    )

    def attempt(table: Table) -> int | None:
        condition = replace
        written = files
        if written is None:
            if revise is None:  # pragma: no cover - files are only deferred for a revision
                raise TypeError("no files and no revision")
            rows, also = revise(table, frame)
            written = write_files(table, to_arrow(rows, spec), spec)
            condition = replace if also is None else Or(replace, also)
        commit_files(table, written, where=condition, properties=properties)
        snapshot = table.current_snapshot()
        return None if snapshot is None else snapshot.snapshot_id

    return commit(lake, spec, attempt)


def overwrite_files(
    lake: Lake,
    spec: TableSpec,
    files: Sequence[DataFile],
    *,
    where: BooleanExpression | None = None,
    properties: dict[str, str] | None = None,
) -> int | None:
    """Replace the rows matching ``where`` (default: all) by data files already written
    with :func:`write_files`, in one commit: a streamed rebuild writes its files batch
    by batch and publishes them all at once, so readers never see part of it.

    Returns:
        The table's snapshot id after the commit.
    """
    replace = where if where is not None else AlwaysTrue()

    def attempt(table: Table) -> int | None:
        commit_files(table, files, where=replace, properties=properties)
        snapshot = table.current_snapshot()
        return None if snapshot is None else snapshot.snapshot_id

    return commit(lake, spec, attempt)


def discard_files(lake: Lake, spec: TableSpec, files: Sequence[DataFile]) -> None:
    """Delete data files written but never committed (a streamed rebuild that failed).

    Best effort: a file left behind is an orphan, which maintenance removes anyway.
    """
    io = lake.table(spec).io
    for data_file in files:
        try:
            io.delete(data_file.file_path)
        except OSError:  # pragma: no cover - already gone or unreachable
            continue
