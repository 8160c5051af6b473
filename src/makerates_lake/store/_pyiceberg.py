"""Every use of a PyIceberg internal, in one place (PyIceberg 0.12).

Each entry names the public API that would replace it. When PyIceberg gains that API,
the change is here and nowhere else; a PyIceberg upgrade that breaks one of these
breaks the tests of :mod:`makerates_lake.store` first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.catalog.sql import IcebergTables, SqlCatalog
from pyiceberg.io.fileformat import FileFormatFactory
from pyiceberg.manifest import FileFormat
from pyiceberg.table import Table
from pyiceberg.table import Transaction as _PyIcebergTransaction
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.refs import SnapshotRefType
from pyiceberg.table.update import SetSnapshotRefUpdate, TableUpdate, update_table_metadata
from pyiceberg.table.update.snapshot import ManageSnapshots

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pyiceberg.partitioning import PartitionKey, PartitionSpec
    from pyiceberg.schema import Schema
    from sqlalchemy.engine import Engine


#: PyIceberg 0.12's own retry of a lost data commit, and the value it is given here.
_NUM_RETRIES = "commit.retry.num-retries"


class Transaction(_PyIcebergTransaction):
    """``Table.transaction()`` that commits once, and computes its staged metadata once
    per change.

    Commits once: PyIceberg 0.12 retries a lost data commit inside ``commit_transaction``
    (``commit.retry.*``, read from the table's properties). Under our commit lock that
    retry would sleep while holding the lock, stack with the store's own retry, and
    re-apply the staged files without the checks an attempt makes after a refresh
    (bronze's and silver's duplicate checks). The commit therefore sees the table's
    properties with ``commit.retry.num-retries=0``, for this commit only; the stored
    properties are untouched, so other engines keep their own retries.

    Computes its staged metadata once: PyIceberg's ``Transaction.table_metadata``
    applies the staged updates and deep-copies the result on every access, and one
    append reads it about a dozen times; the copies grow with the snapshot history,
    which is what commit latency after years must not do.

    Internal: ``Transaction._table`` (its ``metadata`` swapped for the commit) and
    ``Transaction._updates``. Replace with: ``Table.transaction()`` once PyIceberg caches
    ``table_metadata`` (apache/iceberg-python PRs #3302 and #3784 proposed it) and offers
    a per-commit retry option.

    The result is kept while the staged updates and the table's metadata are the same
    objects. Both are replaced, never mutated (the updates are a tuple, the metadata a
    frozen model that updates copy), so identity tells whether the kept result is still
    right. The kept metadata's lists and dicts are shared by every reader of the
    transaction; no PyIceberg reader or update mutates them.
    """

    def __init__(self, table: Table) -> None:
        super().__init__(table)
        self._staged: tuple[TableMetadata, tuple[TableUpdate, ...], TableMetadata] | None = None

    def commit_transaction(self) -> Table:
        """Commit the staged changes in one attempt (see the class docstring)."""
        table = self._table
        stored = table.metadata
        if stored.properties.get(_NUM_RETRIES) == "0":
            return super().commit_transaction()
        once = {**stored.properties, _NUM_RETRIES: "0"}
        table.metadata = stored.model_copy(update={"properties": once})
        if self._staged is not None and self._staged[0] is stored:
            # Same metadata but the retry setting: the staged result still holds.
            self._staged = (table.metadata, self._staged[1], self._staged[2])
        try:
            return super().commit_transaction()
        finally:
            # A commit replaces the table's metadata with the catalog's; a failed one
            # leaves the copy, which must not outlive this call.
            if table.metadata.properties is once:
                table.metadata = stored

    @property
    def table_metadata(self) -> TableMetadata:
        """The table's metadata with the staged updates applied."""
        base, updates = self._table.metadata, self._updates
        staged = self._staged
        if staged is None or staged[0] is not base or staged[1] is not updates:
            staged = (base, updates, update_table_metadata(base, updates))
            self._staged = staged
        return staged[2]


def open_transaction(table: Table) -> Transaction:
    """A transaction on ``table``, committed when its ``with`` block ends without error."""
    return Transaction(table)


def parquet_writer_options(properties: dict[str, str]) -> dict[str, Any]:
    """``pyarrow.parquet.ParquetWriter`` options from a table's properties.

    Internal: ``pyiceberg.io.pyarrow._get_parquet_writer_kwargs``. Replace with: a
    ``FileFormatModel`` writer that accepts per-column options (``pyiceberg.io.fileformat``
    passes only the table properties to ``create_writer``).
    """
    from pyiceberg.io.pyarrow import _get_parquet_writer_kwargs

    return _get_parquet_writer_kwargs(properties)


def to_file_schema(
    rows: pa.Table, table_schema: Schema, file_schema: Schema, format_version: int, downcast: bool
) -> pa.Table:
    """``rows`` with the file schema's names, types and Parquet field ids.

    Internal: ``pyiceberg.io.pyarrow._to_requested_schema``. Replace with: the conversion
    inside the public ``pyiceberg.io.pyarrow.write_file``, once it takes per-column
    writer options (see :func:`parquet_writer_options`).
    """
    from pyiceberg.io.pyarrow import _to_requested_schema, pyarrow_to_schema

    # Rows are built from our table specs, whose field ids are the ones a SQL catalog
    # keeps; a REST catalog assigns its own. Matched by name (the table's name mapping),
    # never by the spec's ids, the rows land in the right columns on every catalog.
    rows = rows.cast(pa.schema([_without_field_ids(f) for f in rows.schema]))
    given = pyarrow_to_schema(
        rows.schema,
        name_mapping=table_schema.name_mapping,
        downcast_ns_timestamp_to_us=downcast,
        format_version=format_version,  # type: ignore[arg-type]
    )
    parquet = FileFormatFactory.get(FileFormat.PARQUET)
    return pa.Table.from_batches(
        [
            _to_requested_schema(
                requested_schema=file_schema,
                file_schema=given,
                batch=batch,
                downcast_ns_timestamp_to_us=downcast,
                include_field_ids=True,
                format_model=parquet,
            )
            for batch in rows.to_batches()
        ]
    )


def _without_field_ids(field: pa.Field) -> pa.Field:
    """``field`` (and its children) without Parquet field-id metadata."""
    kind = field.type
    if pa.types.is_struct(kind):
        kind = pa.struct([_without_field_ids(kind.field(i)) for i in range(kind.num_fields)])
    elif pa.types.is_large_list(kind):
        kind = pa.large_list(_without_field_ids(kind.value_field))
    elif pa.types.is_list(kind):
        kind = pa.list_(_without_field_ids(kind.value_field))
    elif pa.types.is_map(kind):
        kind = pa.map_(_without_field_ids(kind.key_field), _without_field_ids(kind.item_field))
    return pa.field(field.name, kind, nullable=field.nullable)


def partitions(
    spec: PartitionSpec, schema: Schema, rows: pa.Table
) -> Iterable[tuple[PartitionKey, pa.Table]]:
    """Rows split by partition, for specs that are not one transform of one column.

    Internal: ``pyiceberg.io.pyarrow._determine_partitions``. Replace with: a public
    partition splitter (PyIceberg has none; its writers call this one).
    """
    from pyiceberg.io.pyarrow import _determine_partitions

    for part in _determine_partitions(spec, schema, rows):
        yield part.partition_key, part.arrow_table_partition


def sql_catalog_engine(catalog: Catalog) -> Engine | None:
    """The SQLAlchemy engine of a SQL catalog (None for any other catalog).

    Internal: ``SqlCatalog.engine``. Used for the PostgreSQL commit lock, which must
    live in the catalog's own database. Replace with: nothing in PyIceberg; a REST
    catalog arbitrates commits itself and needs no lock.
    """
    return catalog.engine if isinstance(catalog, SqlCatalog) else None


def sql_catalog_tables() -> type[IcebergTables]:
    """The SQL catalog's table of metadata pointers, as its SQLAlchemy model.

    Internal: ``pyiceberg.catalog.sql.IcebergTables``. Read to learn where a table's
    metadata file is without reading the file (a damaged file's name for an error, and
    whether a trace's tables changed since it loaded them). Replace with:
    ``Catalog.load_table(...).metadata_location``, which also reads and parses the file.
    """
    return IcebergTables


def present_ref(table: Table, ref_name: str) -> None:
    """Make ``table`` show the head of branch ``ref_name`` (``main`` when the branch does
    not exist) as its current snapshot, so every read of it (scans, Polars, lookups)
    reads that branch without being told.

    Only the loaded object changes: a commit sends its updates and requirements, never
    ``current_snapshot_id``, so the catalog's ``main`` is untouched (a snapshot commit to
    a branch names the branch; :func:`makerates_lake.store.commit.commit_files`).

    Internal: replacing ``Table.metadata`` with a copy whose ``current_snapshot_id`` is
    not ``main``'s. Replace with: a branch-scoped table view (PyIceberg has
    ``scan(snapshot_id=...)`` and ``use_ref`` per scan, nothing per table).
    """
    metadata = table.metadata
    ref = metadata.refs.get(ref_name) or metadata.refs.get("main")
    wanted = ref.snapshot_id if ref is not None else None
    if metadata.current_snapshot_id != wanted:
        table.metadata = metadata.model_copy(update={"current_snapshot_id": wanted})


def manage_snapshots(transaction: _PyIcebergTransaction) -> ManageSnapshots:
    """Ref changes (branches, ``main``) staged in ``transaction``, with its other changes.

    Internal: ``ManageSnapshots(transaction)``. Replace with: ``Transaction.manage_snapshots()``
    (PyIceberg has only ``Table.manage_snapshots()``, which commits on its own).
    """
    return ManageSnapshots(transaction)


def start_branch(transaction: _PyIcebergTransaction, snapshot_id: int, branch: str) -> None:
    """Point a new ``branch`` at ``snapshot_id``, a snapshot staged in ``transaction`` on
    a table that had none: a run's first commit to an empty table, which must not give
    ``main`` a snapshot before the run's checks.

    Internal: ``Transaction._stage`` of a ``SetSnapshotRefUpdate`` without a requirement.
    ``ManageSnapshots.create_branch`` asserts the ref is absent, and PyIceberg's
    ``AssertRefSnapshotId`` refuses every ref but ``main`` on a table without snapshots.
    The branch is the run's own (its name is unique), so nobody else creates it. Replace
    with: ``create_branch`` once that requirement allows it (Iceberg's Java
    ``SnapshotProducer`` stages a branch on an empty table).
    """
    # By field name, as PyIceberg's own code builds it (the model also takes its aliases).
    update = SetSnapshotRefUpdate(  # type: ignore[call-arg]
        snapshot_id=snapshot_id, ref_name=branch, type=SnapshotRefType.BRANCH
    )
    transaction._stage((update,), ())
