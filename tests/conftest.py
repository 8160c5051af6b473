"""Fixtures shared by every test: isolated settings, the embedded lake, real services.

* ``isolated_environment`` (autouse) keeps a developer's own ``MAKERATES_*`` variables,
  config file and ``~/.pyiceberg.yaml`` out of the tests.
* ``embedded_lake``: SQLite catalog + local warehouse in a temporary folder.
* ``pg_s3_lake``: PostgreSQL SQL catalog (a fresh database) + moto S3 (fresh buckets,
  bronze in its own Object Lock bucket).
* ``lake``: parametrised over both layouts, so a suite proves the same code on each.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import stamina

from makerates_lake.settings import Settings, load_settings
from makerates_lake.store.catalog import Lake, open_lake, s3_client
from makerates_lake.store.worm import create_worm_bucket
from tests.services import MotoServer, PostgresServer, ServiceStartError

S3_KEY_ID = "makerates-test-key-id"
S3_SECRET = "makerates-test-secret-access-key"


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests see no MAKERATES_* variables but their own, and a private HOME."""
    for key in list(os.environ):
        if key.startswith(("MAKERATES_", "PYICEBERG_")) and key != "MAKERATES_TEST_PG_DSN":
            monkeypatch.delenv(key)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("MAKERATES_PIPELINE_VERSION", "test")


@pytest.fixture(autouse=True)
def fast_retries() -> Iterator[None]:
    """Retries keep their attempt counts but do not sleep."""
    # cap=True: each retry loop keeps its own configured number of attempts.
    stamina.set_testing(True, attempts=1_000, cap=True)
    yield
    stamina.set_testing(False)


@pytest.fixture
def embedded_settings(tmp_path: Path) -> Settings:
    """Settings of an embedded lake in a temporary folder."""
    return load_settings(home=tmp_path / "lake")


@pytest.fixture
def embedded_lake(embedded_settings: Settings) -> Lake:
    """An embedded lake: SQLite catalog, local warehouse, no services."""
    return open_lake(embedded_settings)


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """Admin DSN of a real PostgreSQL: ``MAKERATES_TEST_PG_DSN`` or a throwaway cluster."""
    given = os.environ.get("MAKERATES_TEST_PG_DSN")
    if given:
        yield given
        return
    try:
        server = PostgresServer.start()
    except ServiceStartError as exc:
        pytest.fail(f"PostgreSQL for the integration tests could not start: {exc}", pytrace=False)
    yield server.admin_dsn
    server.stop()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[MotoServer]:
    """moto's S3 server on loopback for the whole session."""
    try:
        server = MotoServer.start()
    except (ServiceStartError, OSError) as exc:
        pytest.fail(f"moto S3 server could not start: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def pg_database(postgres: str) -> Iterator[str]:
    """A fresh, empty database on the test PostgreSQL; yields its psycopg DSN."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = postgres.rpartition("/")
    yield f"{base}/{name}"
    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_s3_settings(tmp_path: Path, pg_database: str, s3_server: MotoServer) -> Settings:
    """Production layout: PostgreSQL catalog, S3 warehouse, bronze in an Object Lock bucket."""
    suffix = uuid.uuid4().hex[:10]
    settings = load_settings(
        home=tmp_path / "lake",
        catalog_uri=pg_database.replace("postgresql://", "postgresql+psycopg://", 1),
        warehouse=f"s3://lake-{suffix}/warehouse",
        bronze_warehouse=f"s3://bronze-{suffix}/warehouse",
        s3_endpoint=s3_server.endpoint,
        s3_access_key_id=S3_KEY_ID,
        s3_secret_access_key=S3_SECRET,
    )
    client = s3_client(settings)
    client.create_bucket(Bucket=f"lake-{suffix}")
    create_worm_bucket(client, f"bronze-{suffix}", default_retention_days=1)
    return settings


@pytest.fixture
def pg_s3_lake(pg_s3_settings: Settings) -> Lake:
    """A lake on PostgreSQL + S3 (moto)."""
    return open_lake(pg_s3_settings)


@pytest.fixture(params=["embedded", "postgres_s3"])
def lake_settings(request: pytest.FixtureRequest) -> Settings:
    """Settings of each layout in turn."""
    name = "embedded_settings" if request.param == "embedded" else "pg_s3_settings"
    settings: Settings = request.getfixturevalue(name)
    return settings


@pytest.fixture
def lake(lake_settings: Settings) -> Lake:
    """The lake on each layout in turn: the same code must pass on both."""
    return open_lake(lake_settings)
