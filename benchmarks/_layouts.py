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

import psycopg
from tests.seaweed import SeaweedServer
from tests.services import PostgresServer

from makerates_lake.settings import load_settings
from makerates_lake.store.catalog import Lake, open_lake

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
            if layout == "rest":
                yield open_lake(seaweed.rest_settings(home))
                return
            with postgres_database() as dsn:
                yield open_lake(seaweed.pg_s3_settings(home, dsn))
        finally:
            seaweed.stop()
