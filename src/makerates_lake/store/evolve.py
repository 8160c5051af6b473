"""Bring a table created by an older release up to its spec's schema.

Columns are only ever added, optional, at the end and with the spec's field ids, so
rows written before read back with nulls in them and nothing is rewritten. A lake
made before a column existed opens as it is; the first write of the table adds what
is missing (one schema-only commit), then writes as usual.

On a WORM bucket the schema commit's metadata file is not locked: it holds no rows,
and the next data commit's metadata file (which is locked) carries the whole history.
"""

from __future__ import annotations

from makerates_lake.errors import LakeError
from makerates_lake.store._pyiceberg import open_transaction
from makerates_lake.store.catalog import Lake
from makerates_lake.store.commit import commit
from makerates_lake.store.specs import TableSpec
from makerates_lake.store.types import Table

__all__ = ["add_missing_columns", "missing_columns"]


def missing_columns(table: Table, spec: TableSpec) -> tuple[str, ...]:
    """The spec's columns that ``table`` does not have yet, in spec order."""
    have = {field.name for field in table.schema().fields}
    return tuple(field.name for field in spec.schema.fields if field.name not in have)


def add_missing_columns(lake: Lake, spec: TableSpec) -> tuple[str, ...]:
    """Add the spec's columns the table lacks; returns the names added (maybe none).

    Raises:
        LakeError: A missing column is required (it cannot be added to existing rows),
            or the table has columns past the spec's field ids (made by a newer release).
    """

    def attempt(table: Table) -> tuple[str, ...]:
        names = missing_columns(table, spec)
        if not names:
            return ()
        fields = [spec.schema.find_field(name) for name in names]
        required = [f.name for f in fields if f.required]
        if required:
            raise LakeError(
                "the table lacks required columns that cannot be added to existing rows",
                table=spec.identifier,
                columns=", ".join(required),
            )
        if table.schema().highest_field_id >= min(f.field_id for f in fields):
            raise LakeError(
                "the table's schema does not follow this release's spec (made by another "
                "release?); columns were not added",
                table=spec.identifier,
                columns=", ".join(names),
            )
        with open_transaction(table) as transaction, transaction.update_schema() as update:
            for field in fields:
                update.add_column(field.name, field.field_type, doc=field.doc)
        return names

    return commit(lake, spec, attempt)
