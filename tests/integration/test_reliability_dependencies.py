"""Dependencies down mid-run: S3, the PostgreSQL catalog, a hanging HTTP source.

S3 (the session's SeaweedFS) sits behind a loopback :class:`TcpProxy` that this test
owns, so going "down" cuts every connection and refuses new ones while the server keeps
its state for the recovery run.
The PostgreSQL catalog is a server of this module's own, really stopped with ``pg_ctl
stop`` and started again on the same data directory (the session's shared servers are
never touched). Each case checks: a bounded failure, a clear error naming the
dependency, a non-zero CLI exit, nothing half-written in bronze, and a next run that
succeeds once the dependency is back."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result

import makerates_lake.bronze.writer as writer_module
from makerates_lake.audit.verify import verify_lake
from makerates_lake.bronze.writer import BronzeWriter
from makerates_lake.cli import main
from makerates_lake.settings import Settings, load_settings
from makerates_lake.store.catalog import Lake, open_lake
from tests.integration.bronze_helpers import make_record
from tests.integration.extract_servers import LoopbackCa, Reply, Router, Seen, make_ca, serve
from tests.integration.reliability_helpers import SAMPLE_ZIP, bronze_ids, settings_env
from tests.integration.tcp_proxy import proxied
from tests.seaweed import SeaweedServer
from tests.services import PostgresServer, ServiceStartError
from tests.unit.extract import payloads

pytestmark = pytest.mark.integration

#: A dependency outage must fail the run within this many seconds, retries included.
BOUNDED_S = 60.0


def _pg_s3_settings(
    tmp_path: Path, catalog_dsn: str, s3_endpoint: str, seaweed: SeaweedServer
) -> Settings:
    # Buckets are made straight on the server, not through the proxy at ``s3_endpoint``.
    return seaweed.pg_s3_settings(tmp_path / "lake", catalog_dsn, endpoint=s3_endpoint)


def _seed(lake: Lake) -> list[str]:
    records = [make_record(n) for n in range(3)]
    BronzeWriter(lake).append(records)
    return sorted(r.extraction_id for r in records)


def _backfill_with_outage(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, outage: Callable[[], None]
) -> tuple[Result, float]:
    """``makerates backfill ecb`` where ``outage`` runs after the data files are written."""
    original = getattr(writer_module, "commit_files")  # noqa: B009 - not re-exported

    def commit_after_outage(*args: Any, **kwargs: Any) -> None:
        outage()
        original(*args, **kwargs)

    monkeypatch.setattr(writer_module, "commit_files", commit_after_outage)
    started = time.monotonic()
    result = CliRunner().invoke(
        main, ["backfill", "ecb", "--file", str(SAMPLE_ZIP)], env=settings_env(settings)
    )
    elapsed = time.monotonic() - started
    monkeypatch.setattr(writer_module, "commit_files", original)
    return result, elapsed


def _assert_clean_failure(result: Result, elapsed: float, names: tuple[str, ...]) -> None:
    assert result.exit_code != 0
    # A library error (named, one line), not a traceback: the CLI catches only MakeratesError.
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), f"raw exception escaped: {result.exception!r}"
    message = result.output.lower()
    assert any(name in message for name in names), result.output
    assert elapsed < BOUNDED_S


def test_s3_down_mid_commit_fails_cleanly_and_recovers(
    tmp_path: Path, pg_database: str, seaweed: SeaweedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """S3 unreachable between data files and commit: named error, exit 1, next run commits."""
    with proxied(seaweed.ports["s3.port"]) as proxy:
        settings = _pg_s3_settings(tmp_path, pg_database, proxy.endpoint, seaweed)
        lake = open_lake(settings)
        committed = _seed(lake)
        result, elapsed = _backfill_with_outage(settings, monkeypatch, proxy.down)
        _assert_clean_failure(result, elapsed, ("s3", "storage"))
        proxy.up()

        assert sorted(bronze_ids(lake)) == committed  # nothing half-written is visible
        rerun = CliRunner().invoke(
            main, ["backfill", "ecb", "--file", str(SAMPLE_ZIP)], env=settings_env(settings)
        )
        assert rerun.exit_code == 0, rerun.output
        after = bronze_ids(lake)
        assert len(after) == len(set(after)) == len(committed) + 1
        assert verify_lake(lake).ok


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for this module only: the test stops it for real.

    Always a new cluster (even when ``MAKERATES_TEST_PG_DSN`` names one), so the session's
    shared server is never touched. Not starting is a failure, never a skip.
    """
    try:
        server = PostgresServer.start()
    except ServiceStartError as exc:
        pytest.fail(f"the dedicated PostgreSQL could not start: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_postgres_catalog_stopped_mid_commit_fails_cleanly_and_recovers(
    tmp_path: Path,
    own_postgres: PostgresServer,
    seaweed: SeaweedServer,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
) -> None:
    """``pg_ctl stop`` between data files and commit: named error, exit 1, restart recovers."""
    server = own_postgres
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = f"postgresql://postgres@127.0.0.1:{server.port}/{name}"
    settings = _pg_s3_settings(tmp_path, dsn, seaweed.s3_endpoint, seaweed)
    lake = open_lake(settings)
    committed = _seed(lake)
    refused: list[BaseException] = []

    def stop_postgres() -> None:
        # The test server runs with synchronous_commit=off (tests/services.py), so a
        # commit is on disk only once the WAL writer has flushed it; an immediate stop
        # could otherwise lose the seeded rows' commit, which a real server (synchronous
        # commits) never would. Flush what is committed, then stop.
        with psycopg.connect(server.admin_dsn, autocommit=True) as admin:
            admin.execute("CHECKPOINT")
        server.halt(mode)
        # Really down: no process, and the port refuses a new connection.
        assert not server.is_running()
        try:
            psycopg.connect(dsn, connect_timeout=5).close()
        except psycopg.OperationalError as exc:
            refused.append(exc)

    try:
        result, elapsed = _backfill_with_outage(settings, monkeypatch, stop_postgres)
        assert len(refused) == 1, "the outage hook did not run, or PostgreSQL still answered"
        assert not server.is_running()
    finally:
        if not server.is_running():
            server.resume()  # same data directory and port

    _assert_clean_failure(result, elapsed, ("postgresql catalog",))
    assert isinstance(result.exception, SystemExit)
    assert result.exit_code == 1
    assert "LakeError" in result.output, result.output

    lake = open_lake(settings)  # the old pool's connections died with the server
    assert sorted(bronze_ids(lake)) == committed  # nothing half-written is visible
    assert verify_lake(lake).ok
    rerun = CliRunner().invoke(
        main, ["backfill", "ecb", "--file", str(SAMPLE_ZIP)], env=settings_env(settings)
    )
    assert rerun.exit_code == 0, rerun.output
    after = bronze_ids(open_lake(settings))
    assert len(after) == len(set(after)) == len(committed) + 1
    assert set(committed) <= set(after)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> LoopbackCa:
    """A CA for the loopback HTTPS source."""
    return make_ca(tmp_path_factory.mktemp("ca"))


def test_hanging_source_times_out_with_bounded_retries(tmp_path: Path, ca: LoopbackCa) -> None:
    """A source that never answers: bounded attempts, named error, exit 1, rows recorded."""
    hanging = threading.Event()
    hanging.set()

    def answer(_seen: Seen) -> Reply:
        if hanging.is_set():
            time.sleep(3)  # longer than the read timeout below
        return Reply(body=payloads.OPEN_ER_LATEST)

    router = Router()
    router.add("/v6/latest/USD", answer)
    with serve(router, tls=ca.server_context()) as source:
        settings = load_settings(
            home=tmp_path / "lake",
            open_er_api_url=source.url,
            http_ca_file=ca.ca_file,
            http_read_timeout_s=0.5,
            http_connect_timeout_s=0.5,
            http_retry_attempts=2,
        )
        lake = open_lake(settings)
        args = ["ingest", "--source", "open-er-api", "--base", "USD"]
        started = time.monotonic()
        result = CliRunner().invoke(main, args, env=settings_env(settings))
        elapsed = time.monotonic() - started
        assert result.exit_code == 1, result.output
        assert isinstance(result.exception, SystemExit)
        assert "open-er-api" in result.output
        assert "timeout" in result.output.lower()
        assert len(source.seen) == 2  # exactly the configured attempts, no more
        assert elapsed < 15
        # Every attempt is a complete bronze row saying what failed; none claims success.
        rows = lake.bronze().scan().to_arrow().to_pylist()
        assert len(rows) == 2
        assert all(r["http_status_code"] is None and r["error_code"] for r in rows)

        hanging.clear()
        rerun = CliRunner().invoke(main, args, env=settings_env(settings))
        assert rerun.exit_code == 0, rerun.output
        ok = [r for r in lake.bronze().scan().to_arrow().to_pylist() if r["http_status_code"]]
        assert len(ok) == 1
        assert ok[0]["raw_response"] == payloads.OPEN_ER_LATEST
