"""Which Arrow types text and bytes travel in between Polars, the writer and readers.

Polars keeps text as string views, which it hands to Arrow without copying; Iceberg's
schema gives Arrow's large types; Parquet files without an Arrow schema in their footer
read back as plain strings, files with one as whatever it names. The writer takes views
(:func:`with_views`), PyArrow's ``take`` does not (:func:`without_views`), and rows handed
to callers or compared across files are put in one form first (:func:`with_large_types`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import pyarrow as pa

#: Arrow's view types of text and bytes, by the type Iceberg's schema gives them.
VIEW_TYPES: Final = {pa.large_string(): pa.string_view(), pa.large_binary(): pa.binary_view()}
_LARGE_TYPES: Final = {view: large for large, view in VIEW_TYPES.items()}


def with_views(schema: pa.Schema) -> pa.Schema:
    """``schema`` with text and bytes as views: Polars hands those over without copying,
    and the Parquet writer takes them as it takes Arrow's large types."""
    return _retyped(schema, VIEW_TYPES)


def without_views(rows: pa.Table) -> pa.Table:
    """``rows`` with views as Arrow's large types, for the compute kernels that have no
    view kernel (``take``: sorting, PyIceberg's partition splitter)."""
    if not any(field.type in _LARGE_TYPES for field in rows.schema):
        return rows
    return rows.cast(_retyped(rows.schema, _LARGE_TYPES))


def _retyped(schema: pa.Schema, types: Mapping[pa.DataType, pa.DataType]) -> pa.Schema:
    """``schema`` with each top-level field of a type in ``types`` given its mapped type."""
    return pa.schema(
        [field.with_type(types.get(field.type, field.type)) for field in schema],
        metadata=schema.metadata,
    )


def with_large_types(schema: pa.Schema) -> pa.Schema:
    """``schema`` with text, bytes and lists in their large forms, inside structs, lists
    and maps too: the forms Iceberg's schema gives, whichever the files were read in."""
    return pa.schema([_large_field(field) for field in schema], metadata=schema.metadata)


def _large_field(field: pa.Field) -> pa.Field:
    return field.with_type(_large(field.type))


def _large(kind: pa.DataType) -> pa.DataType:
    if pa.types.is_string(kind) or pa.types.is_string_view(kind):
        return pa.large_string()
    if pa.types.is_binary(kind) or pa.types.is_binary_view(kind):
        return pa.large_binary()
    if pa.types.is_map(kind):
        return pa.map_(_large_field(kind.key_field), _large_field(kind.item_field))
    if pa.types.is_fixed_size_list(kind):
        return pa.list_(_large_field(kind.value_field), kind.list_size)
    if (
        pa.types.is_list(kind)
        or pa.types.is_large_list(kind)
        or pa.types.is_list_view(kind)
        or pa.types.is_large_list_view(kind)
    ):
        return pa.large_list(_large_field(kind.value_field))
    if pa.types.is_struct(kind):
        return pa.struct([_large_field(kind.field(i)) for i in range(kind.num_fields)])
    return kind
