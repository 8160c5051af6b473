"""Lakes for benchmarks: the embedded default, PostgreSQL + S3, or a REST catalog + S3.

The production layouts start their own throwaway services, the same ones the integration
tests use (PostgreSQL; SeaweedFS for S3 and the Iceberg REST catalog), and stop them when
the block ends.
"""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from tests.seaweed import ACCESS_KEY, SECRET_KEY, SeaweedServer
from tests.services import PostgresServer

from makerates_lake.settings import load_settings
from makerates_lake.store.catalog import Lake, open_lake
from makerates_lake.store.s3 import S3Access
from makerates_lake.store.worm import create_worm_bucket

LAYOUTS = ("embedded", "pg_s3", "rest")


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database on a throwaway PostgreSQL; yields its psycopg DSN."""
    server = PostgresServer.start()
    try:
        name = f"bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        yield server.admin_dsn.rpartition("/")[0] + f"/{name}"
    finally:
        server.stop()


@contextlib.contextmanager
def bench_lake(layout: str) -> Iterator[Lake]:
    """An empty lake of ``layout`` (one of :data:`LAYOUTS`) in a temporary folder."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}")
    with tempfile.TemporaryDirectory(prefix="makerates-bench-") as folder:
        home = Path(folder) / "lake"
        if layout == "embedded":
            yield open_lake(load_settings(home=home))
            return
        seaweed = SeaweedServer.start()
        try:
            credentials: dict[str, Any] = {
                "s3_endpoint": seaweed.s3_endpoint,
                "s3_access_key_id": ACCESS_KEY,
                "s3_secret_access_key": SECRET_KEY,
            }
            suffix = uuid.uuid4().hex[:8]
            if layout == "rest":
                yield open_lake(seaweed.rest_settings(home))
                return
            with postgres_database() as dsn:
                settings = load_settings(
                    home=home,
                    catalog_uri=dsn.replace("postgresql://", "postgresql+psycopg://", 1),
                    warehouse=f"s3://lake-{suffix}/warehouse",
                    bronze_warehouse=f"s3://bronze-{suffix}/warehouse",
                    **credentials,
                )
                client = S3Access.from_settings(settings).minio_client()
                client.make_bucket(f"lake-{suffix}")
                create_worm_bucket(client, f"bronze-{suffix}", default_retention_days=1)
                yield open_lake(settings)
        finally:
            seaweed.stop()
