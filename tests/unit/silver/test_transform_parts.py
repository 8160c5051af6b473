"""A batch parsed in slices on threads gives exactly the rows of one piece."""

from __future__ import annotations

import importlib
from datetime import timedelta

import polars as pl
import pytest

from tests.silver_helpers import WHEN, frame, record, v6_latest

BODIES = [
    v6_latest('{"EUR":0.9,"JPY":150}'),
    v6_latest('{"EUR":0.95,"JPY":151,"GBP":0.7,"GBP":0.8}'),  # duplicate quote
    v6_latest('{"EUR":-0.5,"JPY":"abc"}'),  # row rules
    v6_latest('{ "EUR" : 1.2e-1 , "JPY" : 149 }'),
    '{"result":"error","error-type":"quota-reached"}',  # payload reject
    v6_latest('{"EUR":0.9}', base="GBP"),  # base mismatch
    "not json",
]
# The package exports a function named ``transform``, which hides the module.
transform = importlib.import_module("makerates_lake.silver.transform")


def _batch() -> pl.DataFrame:
    records = [
        record(body, when=WHEN + timedelta(days=day, minutes=n))
        for day in range(4)
        for n, body in enumerate(BODIES)
    ]
    records.append(record("", status=503, when=WHEN))
    return frame(*records)


def test_slices_give_the_rows_of_one_piece(monkeypatch: pytest.MonkeyPatch) -> None:
    bronze = _batch()
    whole = transform.transform_bronze(bronze, transform_version=2)
    monkeypatch.setattr(transform, "MIN_ROWS_PER_PART", 5)
    monkeypatch.setattr(pl, "thread_pool_size", lambda: 3)
    assert len(transform._parts(bronze)) == 3

    sliced = transform.transform_bronze(bronze, transform_version=2)

    assert sliced.rates.equals(whole.rates)
    assert sliced.rejects.equals(whole.rejects)
    assert whole.rates.height
    assert whole.rejects.height


def test_small_batches_stay_in_one_piece() -> None:
    bronze = _batch()
    empty = bronze.clear()
    assert [part is bronze for part in transform._parts(bronze)] == [True]
    assert [part is empty for part in transform._parts(empty)] == [True]
