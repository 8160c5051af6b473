"""Lakes for benchmarks: the embedded default, or PostgreSQL + S3 on services started here.

The production layout starts its own throwaway PostgreSQL and moto S3 server (the same
ones the integration tests use) and stops them when the block ends.
"""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
from tests.services import MotoServer, PostgresServer

from makerates_lake.settings import load_settings
from makerates_lake.store.catalog import Lake, open_lake, s3_client
from makerates_lake.store.worm import create_worm_bucket

LAYOUTS = ("embedded", "pg_s3")


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
    """An empty lake of ``layout`` (``embedded`` or ``pg_s3``) in a temporary folder."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}")
    with tempfile.TemporaryDirectory(prefix="makerates-bench-") as folder:
        if layout == "embedded":
            yield open_lake(load_settings(home=Path(folder) / "lake"))
            return
        moto = MotoServer.start()
        try:
            with postgres_database() as dsn:
                suffix = uuid.uuid4().hex[:8]
                settings = load_settings(
                    home=Path(folder) / "lake",
                    catalog_uri=dsn.replace("postgresql://", "postgresql+psycopg://", 1),
                    warehouse=f"s3://lake-{suffix}/warehouse",
                    bronze_warehouse=f"s3://bronze-{suffix}/warehouse",
                    s3_endpoint=moto.endpoint,
                    s3_access_key_id="bench-key-id",
                    s3_secret_access_key="bench-secret-access-key",  # noqa: S106 - moto accepts any
                )
                client = s3_client(settings)
                client.create_bucket(Bucket=f"lake-{suffix}")
                create_worm_bucket(client, f"bronze-{suffix}", default_retention_days=1)
                yield open_lake(settings)
        finally:
            moto.stop()
