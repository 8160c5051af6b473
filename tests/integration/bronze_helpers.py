"""Helpers shared by the bronze integration tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq

from makerates_lake.bronze.record import BronzeRecord
from makerates_lake.store.catalog import Lake
from makerates_lake.store.worm import split_s3_uri
from tests.s3_tools import boto3_client


def make_record(n: int = 0, **overrides: object) -> BronzeRecord:
    """A successful open.er-api record whose body differs by ``n``."""
    values: dict[str, object] = {
        "source_name": "open-er-api",
        "source_version": "v6",
        "request_url": "https://open.er-api.com/v6/latest/USD",
        "raw_response": f'{{"result":"success","n":{n},"rates":{{"EUR":0.86720}}}}'.encode(),
        "http_status_code": 200,
    }
    values.update(overrides)
    return BronzeRecord.create(**values)  # type: ignore[arg-type]


def all_stored_bytes(lake: Lake) -> bytes:
    """Every byte the lake stored: warehouse files and the catalog database.

    For S3 layouts every object version in both buckets; for PostgreSQL a text dump of
    every catalog row; a REST catalog's own state is in its table bucket. Compressed
    formats are decoded as well: Parquet files are read back
    and the manifests' entries (with their column bounds) are listed through PyIceberg.
    """
    settings = lake.settings
    chunks: list[bytes] = [_decoded(body) for body in _raw_files(lake)]
    for identifier in (("bronze", "extractions"),):
        entries = lake.catalog.load_table(identifier).inspect.entries()
        chunks.append(repr(entries.to_pylist()).encode())

    uri = settings.resolved_catalog_uri
    if settings.is_rest_catalog:
        # The REST catalog keeps its pointers and metadata files in the table bucket,
        # which the object scan above already read (every version).
        pass
    elif uri.startswith("sqlite:///"):
        chunks.append(Path(uri.removeprefix("sqlite:///")).read_bytes())
    else:
        dsn = uri.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(dsn) as conn:
            for (table,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall():
                rows = conn.execute(f'SELECT * FROM "{table}"').fetchall()
                chunks.append(repr(rows).encode())
    return b"".join(chunks)


def _decoded(body: bytes) -> bytes:
    if body[:4] == b"PAR1":
        table = pq.read_table(pa.BufferReader(body))
        return body + repr(table.to_pylist()).encode()
    return body


def _raw_files(lake: Lake) -> list[bytes]:
    settings = lake.settings
    chunks: list[bytes] = []
    for location in {settings.resolved_warehouse, settings.resolved_bronze_warehouse}:
        if location.startswith("file://"):
            for path in Path(urlsplit(location).path).rglob("*"):
                if path.is_file():
                    chunks.append(path.read_bytes())
        else:
            bucket, _ = split_s3_uri(location)
            client = boto3_client(lake.settings)
            versions = client.list_object_versions(Bucket=bucket).get("Versions", [])
            for version in versions:
                body = client.get_object(
                    Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"]
                )["Body"].read()
                chunks.append(body)
    return chunks


def append_worker(settings_values: dict[str, Any], worker: int, appends: int) -> list[str]:
    """Run in a child process: open the lake and make ``appends`` one-record commits."""
    from makerates_lake.bronze.writer import BronzeWriter
    from makerates_lake.settings import load_settings
    from makerates_lake.store.catalog import open_lake

    lake = open_lake(load_settings(**settings_values))
    writer = BronzeWriter(lake)
    ids = []
    for i in range(appends):
        record = make_record(worker * 1000 + i)
        writer.append([record])
        ids.append(record.extraction_id)
    return ids


def same_batch_worker(settings_values: dict[str, Any], records: list[BronzeRecord]) -> int:
    """Run in a child process: append one shared batch; returns rows written."""
    from makerates_lake.bronze.writer import BronzeWriter
    from makerates_lake.settings import load_settings
    from makerates_lake.store.catalog import open_lake

    lake = open_lake(load_settings(**settings_values))
    return BronzeWriter(lake).append(records).written
