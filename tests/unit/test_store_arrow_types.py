"""The Arrow types text takes between Polars, the writer and readers (store.arrow_types)."""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from makerates_lake.store.arrow_types import with_large_types, with_views, without_views
from makerates_lake.store.commit import to_arrow
from makerates_lake.store.tables import AUDIT_ACCESS_LOG, SILVER_RATES


def test_to_arrow_gives_the_table_schema_with_text_as_views() -> None:
    """Exactly the Iceberg schema's Arrow types, text as views: a Polars release whose
    newest export changed any other type would fail here, not in a writer."""
    frame = pl.DataFrame(schema=pl.Schema(SILVER_RATES.schema.as_arrow()))
    rows = to_arrow(frame, SILVER_RATES)
    assert rows.schema == with_views(SILVER_RATES.schema.as_arrow())
    assert pa.string_view() in rows.schema.types
    assert pa.large_string() not in rows.schema.types


def test_to_arrow_takes_categorical_and_enum_text() -> None:
    """Polars exports them as dictionaries of views, which Arrow cannot cast to a view."""
    frame = pl.DataFrame(schema=pl.Schema(SILVER_RATES.schema.as_arrow())).cast(
        {"source_name": pl.Categorical(), "base_currency": pl.Enum(["EUR", "USD"])}
    )
    rows = to_arrow(frame, SILVER_RATES)
    assert rows.schema.field("source_name").type == pa.string_view()
    assert rows.schema.field("base_currency").type == pa.string_view()


def test_without_views_and_with_large_types_give_the_large_forms() -> None:
    rows = pa.table(
        {
            "text": pa.array(["a", None], pa.string_view()),
            "plain": pa.array(["b", "c"], pa.string()),
            "bytes": pa.array([b"x", b"y"], pa.binary_view()),
            "texts": pa.array([["a"], []], pa.list_(pa.string())),
            "n": pa.array([1, 2], pa.int32()),
        }
    )
    unviewed = without_views(rows)
    assert unviewed.schema.field("text").type == pa.large_string()
    assert unviewed.schema.field("plain").type == pa.string()  # not a view: left alone
    assert unviewed.schema.field("bytes").type == pa.large_binary()
    assert unviewed.sort_by("text").column("text").to_pylist() == ["a", None]  # take works
    large = rows.cast(with_large_types(rows.schema))
    assert large.schema.types == [
        pa.large_string(),
        pa.large_string(),
        pa.large_binary(),
        pa.large_list(pa.large_string()),
        pa.int32(),
    ]
    assert large.to_pylist() == rows.to_pylist()


def test_with_large_types_keeps_the_access_logs_list_column() -> None:
    schema = AUDIT_ACCESS_LOG.schema.as_arrow()
    assert with_large_types(schema) == schema  # already Iceberg's large forms


def test_with_large_types_reaches_into_maps_and_fixed_size_lists() -> None:
    schema = pa.schema(
        [
            pa.field("m", pa.map_(pa.string(), pa.list_(pa.string_view()))),
            pa.field("f", pa.list_(pa.string(), 2)),
            pa.field("s", pa.struct([pa.field("t", pa.binary(), nullable=False)])),
        ]
    )
    assert with_large_types(schema).types == [
        pa.map_(pa.large_string(), pa.large_list(pa.large_string())),
        pa.list_(pa.large_string(), 2),
        pa.struct([pa.field("t", pa.large_binary(), nullable=False)]),
    ]
