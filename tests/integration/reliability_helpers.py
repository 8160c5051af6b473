"""Helpers of the reliability suite: crashing children, a stoppable proxy, state readers.

Run as a module, this file is the child a crash test starts::

    python -m tests.integration.reliability_helpers <crash-point> <makerates args...>

It installs the named crash point (the process SIGKILLs itself when execution reaches
it) and then runs the real ``makerates`` CLI. ``none`` installs nothing. The points are
:data:`CRASH_POINTS` (bronze and publish) and ``<table>:<step>`` for a silver or gold
table with a step of :data:`COMMIT_STEPS`.
"""

from __future__ import annotations

import dataclasses
import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import unquote, urlsplit

import polars as pl
import psycopg

from makerates_lake import store as storage
from makerates_lake.secret import Secret
from makerates_lake.settings import Settings
from makerates_lake.store.catalog import Lake
from makerates_lake.store.tables import TableSpec
from tests.s3_tools import boto3_client

REPO = Path(__file__).resolve().parents[2]
SAMPLE_ZIP = REPO / "src/makerates_lake/data/eurofxref-hist-sample.zip"

#: Where a child can be told to kill itself (see :func:`_install_crash_point`).
CRASH_POINTS = (
    "bronze-files-written",  # data files written, catalog commit not started
    "bronze-metadata-written",  # new metadata.json written, catalog pointer not swapped
    "bronze-catalog-uncommitted",  # pointer UPDATE executed, transaction not committed
    "bronze-rest-committed",  # the REST catalog accepted the commit, the writer never heard
    "publish-table-loaded",  # new PostgreSQL table loaded, view not switched
    "publish-mid-switch",  # inside the switch transaction, view already replaced
    "wap-before-publish",  # silver and gold on the run's branch, checks stored, main not moved
    "wap-mid-publish",  # main of the first table moved to the run's branch, the others not
)

#: Steps of a silver or gold commit where a child can die; the point is ``<table>:<step>``
#: (e.g. ``silver.rates:files-written``) and hits the run's first commit that adds a
#: snapshot to that table (tag-only commits, such as reprocess's tags, are passed over).
COMMIT_STEPS = (
    "files-written",  # data files, manifests and manifest list written, catalog not called
    "catalog-uncommitted",  # new metadata.json written, pointer UPDATE executed, no COMMIT
)


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _install_crash_point(point: str) -> None:
    """Patch the library so the process SIGKILLs itself at ``point``."""
    if point == "none":
        return
    if ":" in point:
        identifier, step = point.split(":", 1)
        _install_commit_crash_point(identifier, step)
        return
    if point == "bronze-files-written":
        import makerates_lake.bronze.writer as writer

        def no_commit(*_args: Any, **_kwargs: Any) -> None:
            _die()

        mock.patch.object(writer, "commit_files", no_commit).start()
    elif point == "bronze-metadata-written":
        from pyiceberg.catalog.sql import SqlCatalog

        original_write = SqlCatalog._write_metadata

        def write_then_die(*args: Any, **kwargs: Any) -> None:
            original_write(*args, **kwargs)
            # Table creation writes version 00000; only a commit to bronze is the target.
            path = str(kwargs.get("metadata_path", args[-1] if args else ""))
            if "/bronze/" in path and "/00000-" not in path:
                _die()

        # _write_metadata is a staticmethod: keep it one, or the class would pass self.
        mock.patch.object(SqlCatalog, "_write_metadata", staticmethod(write_then_die)).start()
    elif point == "bronze-catalog-uncommitted":
        import pyiceberg.catalog.sql as sql_catalog
        from sqlalchemy.orm import Session

        class DyingSession(Session):
            def commit(self) -> None:
                _die()

        original_commit_table = sql_catalog.SqlCatalog.commit_table

        def commit_table(self: Any, table: Any, *args: Any, **kwargs: Any) -> Any:
            if table.name()[0] == "bronze":
                mock.patch.object(sql_catalog, "Session", DyingSession).start()
            return original_commit_table(self, table, *args, **kwargs)

        mock.patch.object(sql_catalog.SqlCatalog, "commit_table", commit_table).start()
    elif point == "bronze-rest-committed":
        from pyiceberg.catalog.rest import RestCatalog

        original_rest_commit = RestCatalog.commit_table

        def commit_then_die(self: Any, table: Any, *args: Any, **kwargs: Any) -> Any:
            response = original_rest_commit(self, table, *args, **kwargs)
            if table.name()[0] == "bronze":
                _die()  # the server committed; the writer never learns it
            return response

        mock.patch.object(RestCatalog, "commit_table", commit_then_die).start()
    elif point == "publish-table-loaded":
        import makerates_lake.publish.ddl as ddl

        def no_switch(*_args: Any, **_kwargs: Any) -> None:
            _die()  # the view statement is built only when the switch begins

        mock.patch.object(ddl, "replace_view", no_switch).start()
    elif point == "wap-before-publish":
        import makerates_lake.pipeline.wap as wap

        mock.patch.object(wap, "publish_branch", side_effect=lambda *_a, **_k: _die()).start()
    elif point == "wap-mid-publish":
        import makerates_lake.pipeline.wap as wap
        from makerates_lake.store.branches import fast_forward as forward

        moved: list[bool] = []

        def forward_once(*args: Any, **kwargs: Any) -> bool:
            if moved:
                _die()
            moved.append(forward(*args, **kwargs))
            return moved[-1]

        mock.patch.object(wap, "fast_forward", forward_once).start()
    elif point == "publish-mid-switch":
        original_execute = psycopg.Connection.execute

        def execute(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(query, str) and query.startswith("UPDATE makerates.publishes"):
                _die()  # the view was replaced and old tables dropped in this transaction
            return original_execute(self, query, *args, **kwargs)

        mock.patch.object(psycopg.Connection, "execute", execute).start()
    else:
        raise SystemExit(f"unknown crash point {point!r}")


def _install_commit_crash_point(identifier: str, step: str) -> None:
    """Die at ``step`` of the first data commit to table ``identifier`` (``silver.rates``).

    Silver and gold commit through PyIceberg's SQL catalog (SQLite or PostgreSQL); the
    hook sits at ``SqlCatalog.commit_table`` so it does not depend on how the library
    builds the transaction.
    """
    import pyiceberg.catalog.sql as sql_catalog
    from pyiceberg.table.update import AddSnapshotUpdate
    from sqlalchemy.orm import Session

    if step not in COMMIT_STEPS:
        raise SystemExit(f"unknown commit step {step!r}")

    class DyingSession(Session):
        def commit(self) -> None:
            _die()

    original_commit_table = sql_catalog.SqlCatalog.commit_table

    def commit_table(self: Any, table: Any, requirements: Any, updates: Any) -> Any:
        adds_snapshot = any(isinstance(update, AddSnapshotUpdate) for update in updates)
        if ".".join(table.name()) == identifier and adds_snapshot:
            if step == "files-written":
                _die()
            mock.patch.object(sql_catalog, "Session", DyingSession).start()
        return original_commit_table(self, table, requirements, updates)

    mock.patch.object(sql_catalog.SqlCatalog, "commit_table", commit_table).start()


def table_rows(lake: Lake, spec: TableSpec) -> pl.DataFrame:
    """Every row of a table, read fresh, in one canonical order (for equality checks)."""
    frame = storage.read(lake, spec)
    return frame.sort(frame.columns, nulls_last=True)


def settings_env(settings: Settings) -> dict[str, str]:
    """``MAKERATES_*`` variables that make a child load exactly these settings."""
    env: dict[str, str] = {}
    for item in dataclasses.fields(settings):
        value = getattr(settings, item.name)
        if value is None:
            continue
        if isinstance(value, Secret):
            value = value.reveal()
        env[f"MAKERATES_{item.name.upper()}"] = str(value)
    return env


def run_cli(
    settings: Settings,
    *args: str,
    crash_at: str = "none",
    timeout: float = 120,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``makerates ARGS`` in a child process configured by ``settings``."""
    child_env = {**os.environ, **settings_env(settings), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "tests.integration.reliability_helpers", crash_at, *args],
        cwd=REPO,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def spawn_cli(
    settings: Settings, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """Start ``makerates ARGS`` in a child process and return without waiting."""
    child_env = {**os.environ, **settings_env(settings), **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.reliability_helpers", "none", *args],
        cwd=REPO,
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def bronze_ids(lake: Lake) -> list[str]:
    """Every extraction_id in bronze, one per row (duplicates stay visible)."""
    rows = lake.bronze(refresh=True).scan(selected_fields=("extraction_id",)).to_arrow()
    return [str(v) for v in rows.column("extraction_id").to_pylist()]


def ecb_csv_with_extra_day(folder: Path, day: str, rate: str = "1.1") -> Path:
    """The bundled ECB sample as CSV with one more (newest) day prepended.

    Each call with another ``day`` gives different bytes, so bronze stores a new record.
    """
    with zipfile.ZipFile(SAMPLE_ZIP) as archive:
        name = next(n for n in archive.namelist() if n.lower().endswith(".csv"))
        text = archive.read(name).decode()
    header, _, rest = text.partition("\n")
    columns = [c for c in header.split(",") if c.strip()]
    values = [rate if c.strip() not in {"Date"} else day for c in columns]
    path = folder / f"ecb-{day}.csv"
    path.write_text(f"{header}\n{','.join(values)},\n{rest}")
    return path


@dataclasses.dataclass(frozen=True)
class PublishedState:
    """What the published view shows and what ``makerates.publishes`` says it should."""

    current: list[tuple[Any, ...]]
    view_rows: int
    view_snapshot_ids: set[int]
    tables: list[str]


def published_state(dsn: str) -> PublishedState:
    """Read the publish bookkeeping and the view in one transaction."""
    with psycopg.connect(dsn) as conn:
        current = conn.execute(
            "SELECT table_name, gold_snapshot_id, row_count FROM makerates.publishes "
            "WHERE is_current"
        ).fetchall()
        row = conn.execute("SELECT count(*) FROM makerates.rates_last_90_days").fetchone()
        ids = conn.execute(
            "SELECT DISTINCT gold_snapshot_id FROM makerates.rates_last_90_days"
        ).fetchall()
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'makerates' "
            "AND tablename LIKE 'rates_s%' ORDER BY 1"
        ).fetchall()
    return PublishedState(
        current=current,
        view_rows=int(row[0]) if row else 0,
        view_snapshot_ids={int(i[0]) for i in ids},
        tables=[str(t[0]) for t in tables],
    )


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``check`` until it is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def zip_bytes(name: str, body: bytes) -> bytes:
    """A zip holding one member (for hostile archives)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, body)
    return buffer.getvalue()


def read_object(lake: Lake, uri: str) -> bytes:
    """The bytes of a lake file (local path or S3 object), outside the library."""
    parts = urlsplit(uri)
    if parts.scheme in {"s3", "s3a"}:
        client = boto3_client(lake.settings)
        body = client.get_object(Bucket=parts.netloc, Key=parts.path.lstrip("/"))
        return body["Body"].read()
    return Path(unquote(parts.path)).read_bytes()


def overwrite_object(lake: Lake, uri: str, data: bytes) -> None:
    """Replace a lake file behind the library's back (on WORM S3: a new object version)."""
    parts = urlsplit(uri)
    if parts.scheme in {"s3", "s3a"}:
        # Object Lock buckets refuse a put without a checksum.
        boto3_client(lake.settings).put_object(
            Bucket=parts.netloc, Key=parts.path.lstrip("/"), Body=data, ChecksumAlgorithm="CRC32"
        )
        return
    Path(unquote(parts.path)).write_bytes(data)


def delete_object(lake: Lake, uri: str) -> None:
    """Delete a lake file behind the library's back (on versioned S3: a delete marker)."""
    parts = urlsplit(uri)
    if parts.scheme in {"s3", "s3a"}:
        boto3_client(lake.settings).delete_object(Bucket=parts.netloc, Key=parts.path.lstrip("/"))
        return
    Path(unquote(parts.path)).unlink()


def _main(argv: list[str]) -> None:
    point, *args = argv
    _install_crash_point(point)
    from makerates_lake.cli import main

    main(args, prog_name="makerates")


if __name__ == "__main__":
    _main(sys.argv[1:])
