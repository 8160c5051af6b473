"""Two processes transforming the same bronze rows at once store each silver row once."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import polars as pl
import pytest

from makerates_lake import store as storage
from makerates_lake.bronze.writer import BronzeWriter
from makerates_lake.store.catalog import Lake
from makerates_lake.store.tables import SILVER_RATES, SILVER_REJECTS
from tests.silver_helpers import plain_settings, record, transform_worker, v6_latest

pytestmark = pytest.mark.integration


def test_two_processes_transforming_at_once_write_no_duplicates(pg_s3_lake: Lake) -> None:
    """Two spawned processes run the silver transform together: every rate is stored once."""
    quotes = ["EUR", "GBP", "JPY", "CHF", "XYZ"]  # XYZ: one reject per payload
    records = [
        record(v6_latest("{" + ",".join(f'"{q}":{i + 1}.{j}' for j, q in enumerate(quotes)) + "}"))
        for i in range(20)
    ]
    BronzeWriter(pg_s3_lake).append(records)
    values = plain_settings(pg_s3_lake.settings)
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(2, mp_context=context) as pool:
        barrier = manager.Barrier(2)
        futures = [pool.submit(transform_worker, values, barrier) for _ in range(2)]
        results = [future.result(timeout=300) for future in futures]
    rates = storage.read(pg_s3_lake, SILVER_RATES)
    assert rates.height == 20 * 4
    assert rates.select(pl.struct("extraction_id", "quote_currency").is_unique().all()).item()
    # Whatever the interleaving, the rows written add up to one copy of each.
    assert sum(written for _, written in results) == 20 * 4
    rejects = storage.read(pg_s3_lake, SILVER_REJECTS)
    assert rejects.height == 20
    assert rejects["extraction_id"].n_unique() == 20
