"""Commits: a PyIceberg transaction that applies its staged updates once per change.

:func:`open_transaction` is what every append and overwrite commits through, and
:func:`append_files` commits data files written beforehand (by
:mod:`makerates_lake.datafiles`) as one append.

PyIceberg's ``Transaction.table_metadata`` (0.11.1) applies the staged updates to the
table's metadata and deep-copies the result on every access, and one append reads it
about a dozen times (format version, spec, schema, snapshot ids, properties...). On a
fresh table that was a third of a commit (silver: 20 -> 14 ms); the copies grow with the
table's snapshot history, which is exactly what commit latency after years must not do.

The result is kept until the staged updates or the table's metadata change. Both are
replaced, never mutated (the updates are a tuple, the metadata a frozen model that
updates copy), so identity tells whether the kept result is still the right one. The
kept metadata is shared by every reader in the transaction; its lists and dicts
(snapshots, refs, properties) are plain containers, which no PyIceberg 0.11.1 reader
or update mutates (checked in its transaction, update and snapshot-producer code).
"""

from __future__ import annotations

from collections.abc import Sequence

from pyiceberg.manifest import DataFile
from pyiceberg.table import Table
from pyiceberg.table import Transaction as _PyIcebergTransaction
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.update import TableUpdate, update_table_metadata
from pyiceberg.utils.properties import property_as_bool

_MERGE_ENABLED = "commit.manifest-merge.enabled"


class Transaction(_PyIcebergTransaction):
    """``Table.transaction()`` whose staged metadata is computed once per change."""

    def __init__(self, table: Table) -> None:
        super().__init__(table)
        self._staged: tuple[TableMetadata, tuple[TableUpdate, ...], TableMetadata] | None = None

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


def append_files(table: Table, files: Sequence[DataFile]) -> None:
    """Commit already written data files as one append snapshot.

    Honours ``commit.manifest-merge.enabled`` like ``Table.append`` does, so maintenance
    settings that bound the number of manifests apply here too.

    Raises:
        CommitFailedException: The table changed since ``table`` was loaded.
    """
    merge = property_as_bool(table.metadata.properties, _MERGE_ENABLED, False)
    with open_transaction(table) as transaction:
        update = transaction.update_snapshot()
        producer = update.merge_append() if merge else update.fast_append()
        with producer as append:
            for data_file in files:
                append.append_data_file(data_file)
