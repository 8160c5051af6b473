"""Fixtures shared by every test: isolated settings, the embedded lake, real services.

* ``isolated_environment`` (autouse) keeps a developer's own ``MAKERATES_*`` variables,
  config file and ``~/.pyiceberg.yaml`` out of the tests.
* ``embedded_lake``: SQLite catalog + local warehouse in a temporary folder.
* ``pg_s3_lake``: PostgreSQL SQL catalog (a fresh database) + SeaweedFS's S3 (fresh
  buckets, bronze in its own Object Lock bucket, locks enforced by the server).
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
from makerates_lake.store.catalog import Lake, open_lake
from tests import seaweed as seaweed_server
from tests.seaweed import SeaweedServer
from tests.services import PostgresServer, ServiceStartError

#: ``tests/run_groups.sh`` names a file here: each failed test is appended as it fails, so
#: a failure seen before a native crash of the process is not lost when the group reruns.
_FAILURES_FILE = os.environ.get("TESTS_FAILURES_FILE")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Record a failed test in ``TESTS_FAILURES_FILE`` (when set) the moment it fails."""
    if _FAILURES_FILE and report.failed:
        with open(_FAILURES_FILE, "a", encoding="utf-8") as failures:
            failures.write(f"{report.nodeid} ({report.when})\n")


# The S3 identity SeaweedFS is started with.
S3_KEY_ID = seaweed_server.ACCESS_KEY
S3_SECRET = seaweed_server.SECRET_KEY


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
def seaweed() -> Iterator[SeaweedServer]:
    """SeaweedFS on loopback for the whole session: S3 with enforced Object Lock and an
    Iceberg REST catalog (telemetry off, free ports, data in a temporary folder)."""
    try:
        server = SeaweedServer.start()
    except (ServiceStartError, OSError) as exc:
        pytest.fail(f"SeaweedFS could not start: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_server(seaweed: SeaweedServer) -> SeaweedServer:
    """The S3 server of the production layouts: SeaweedFS's."""
    return seaweed


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
def pg_s3_settings(tmp_path: Path, pg_database: str, s3_server: SeaweedServer) -> Settings:
    """Production layout: PostgreSQL catalog, S3 warehouse, bronze in an Object Lock bucket."""
    return s3_server.pg_s3_settings(tmp_path / "lake", pg_database)


@pytest.fixture
def pg_s3_lake(pg_s3_settings: Settings) -> Lake:
    """A lake on PostgreSQL + S3 (SeaweedFS)."""
    return open_lake(pg_s3_settings)


@pytest.fixture
def rest_s3_settings(tmp_path: Path, seaweed: SeaweedServer) -> Settings:
    """REST layout: SeaweedFS's Iceberg REST catalog (SigV4) over its S3, in a fresh table
    bucket (one catalog per test). The catalog places every table inside its table
    bucket, so bronze shares it, append-only through Iceberg but not WORM-locked."""
    return seaweed.rest_settings(tmp_path / "lake")


@pytest.fixture
def rest_s3_lake(rest_s3_settings: Settings) -> Lake:
    """A lake on SeaweedFS's REST catalog + S3."""
    return open_lake(rest_s3_settings)


#: The layouts every ``lake`` test runs on, and the fixture that makes each one's settings.
LAYOUTS = {
    "embedded": "embedded_settings",
    "postgres_s3": "pg_s3_settings",
    "rest_s3": "rest_s3_settings",
}


@pytest.fixture(params=["embedded", "postgres_s3"])
def sql_lake(request: pytest.FixtureRequest) -> Lake:
    """The lake on each SQL-catalog layout, for tests of the SQL catalog's own machinery
    (its commit transaction, its pointer table); the REST layout has tests of its own."""
    settings: Settings = request.getfixturevalue(LAYOUTS[request.param])
    return open_lake(settings)


@pytest.fixture(params=list(LAYOUTS))
def lake_settings(request: pytest.FixtureRequest) -> Settings:
    """Settings of each layout in turn."""
    settings: Settings = request.getfixturevalue(LAYOUTS[request.param])
    return settings


@pytest.fixture
def lake(lake_settings: Settings) -> Lake:
    """The lake on each layout in turn: the same code must pass on both."""
    return open_lake(lake_settings)
