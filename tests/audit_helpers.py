"""Builders for the audit tests (a plain module: conftest files belong to the lead)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from makerates_lake.bronze.record import BronzeRecord
from makerates_lake.bronze.writer import BronzeWriter
from makerates_lake.pipeline import run_transform
from makerates_lake.store.catalog import Lake
from makerates_lake.store.tables import SILVER_RATES
from tests.silver_helpers import record, v6_latest

FIRST_DAY = date(2024, 5, 1)


def eur_text(day_index: int) -> str:
    """The EUR rate the generated provider sends on day ``day_index``."""
    return f"0.9{day_index + 1}20"


def day_record(day: date, day_index: int, **extra: Any) -> BronzeRecord:
    """An ExchangeRate-API v6 answer (base USD) for ``day``, extracted that afternoon."""
    unix = int(datetime.combine(day, time(0, 0, 1), UTC).timestamp())
    rates = f'{{"EUR":{eur_text(day_index)},"GBP":0.8{day_index}5,"JPY":15{day_index}.25}}'
    when = datetime.combine(day, time(16, 30), UTC)
    return record(v6_latest(rates, unix=unix), when=when, **extra)


def build_small_lake(lake: Lake, days: int = 3, **extra: Any) -> list[BronzeRecord]:
    """Bronze for ``days`` days from FIRST_DAY, transformed into silver and gold."""
    records = [day_record(FIRST_DAY + timedelta(days=i), i, **extra) for i in range(days)]
    BronzeWriter(lake).append(records)
    run_transform(lake)
    return records


def rewrite_bronze_body(lake: Lake, extraction_id: str, body: bytes) -> None:
    """Side door: rewrite the Parquet file that holds a bronze row, bypassing Iceberg."""
    table = lake.bronze()
    for task in table.scan().plan_files():
        path = task.file.file_path
        with table.io.new_input(path).open() as stream:
            rows = pq.read_table(pa.BufferReader(stream.read()))
        hit = pc.equal(rows.column("extraction_id"), extraction_id)
        if not pc.any(hit).as_py():
            continue
        bodies = [
            body if eid == extraction_id else old
            for eid, old in zip(
                rows.column("extraction_id").to_pylist(),
                rows.column("raw_response").to_pylist(),
                strict=True,
            )
        ]
        index = rows.schema.get_field_index("raw_response")
        kind = rows.schema.field(index)
        rows = rows.set_column(index, kind, pa.array(bodies, kind.type))
        sink = pa.BufferOutputStream()
        pq.write_table(rows, sink)
        with table.io.new_output(path).create(overwrite=True) as out:
            out.write(sink.getvalue().to_pybytes())
        return
    raise LookupError(extraction_id)


def alter_silver_rate(lake: Lake, extraction_id: str, quote: str, rate: Decimal) -> None:
    """Change one silver rate through Iceberg (as a buggy or malicious job would)."""
    table = lake.table(SILVER_RATES)
    rows = table.scan().to_arrow()
    rates = [
        rate if (eid == extraction_id and q == quote) else old
        for eid, q, old in zip(
            rows.column("extraction_id").to_pylist(),
            rows.column("quote_currency").to_pylist(),
            rows.column("rate").to_pylist(),
            strict=True,
        )
    ]
    index = rows.schema.get_field_index("rate")
    kind = rows.schema.field(index)
    rows = rows.set_column(index, kind, pa.array(rates, kind.type))
    table.overwrite(rows)
