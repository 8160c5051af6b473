"""``connect(lake)``: a DuckDB connection over every Iceberg table, and PostgreSQL attached.

What a connection holds:

* a view ``<namespace>.<table>`` per lake table (``gold.fact_rate``, ``bronze.extractions``...)
  reading the snapshot that was current when the connection was opened, or the one
  ``as_of`` names (resolved by :func:`makerates_lake.store.refs.resolve_as_of`);
* a table macro ``<namespace>.<table>_at(snapshot_id)`` per table: time travel by id in SQL;
* ``makerates.snapshots``: every snapshot of every table with its commit time and the tags
  and branches pointing at it, to find the id for a tag or a moment in SQL;
* ``makerates.views``: which snapshot each view reads;
* the publish database attached read-only as ``pg`` when ``settings.publish_dsn`` is set,
  so ``pg.makerates.rates_last_90_days`` joins Iceberg history in one statement.

The metadata file of each table is fixed when the connection opens, so every query on one
connection sees the same lake state; open a new connection to see later commits.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import duckdb

from makerates_lake.federate import sqltext
from makerates_lake.federate.errors import AsOfNotFoundError, AttachError, FederateError
from makerates_lake.federate.extensions import load_offline, offline_config
from makerates_lake.store.catalog import Lake
from makerates_lake.store.refs import AsOf, SnapshotNotFoundError, resolve_as_of
from makerates_lake.store.scrub import scrub
from makerates_lake.store.tables import ALL_TABLES, TableSpec
from makerates_lake.store.types import Table

META_SCHEMA: Final = "makerates"

_SNAPSHOTS_DDL: Final = f"""
CREATE TABLE {META_SCHEMA}.snapshots (
    table_name VARCHAR, snapshot_id BIGINT, parent_snapshot_id BIGINT,
    committed_at TIMESTAMPTZ, operation VARCHAR, is_current BOOLEAN, refs VARCHAR[]
)"""
_VIEWS_DDL: Final = f"""
CREATE TABLE {META_SCHEMA}.views (
    table_name VARCHAR, snapshot_id BIGINT, metadata_location VARCHAR, as_of VARCHAR
)"""


def default_extension_directory(lake: Lake) -> Path:
    """Where wheel-installed extensions are kept for this lake (``<home>/duckdb/extensions``)."""
    return lake.settings.home / "duckdb" / "extensions"


def connect(
    lake: Lake,
    *,
    as_of: AsOf | None = None,
    extension_directory: Path | None = None,
    attach_postgres: bool = True,
) -> duckdb.DuckDBPyConnection:
    """Open an in-memory DuckDB connection over the lake.

    Args:
        lake: The open lake (S3 credentials and the publish DSN come from its settings).
        as_of: Pin every view to this snapshot id, tag or time. Tables that have no such
            snapshot or tag get no view (a query cannot silently mix pinned and current
            tables); a time before a table's first snapshot gives an empty view.
        extension_directory: Where extensions are installed from their wheels; default
            :func:`default_extension_directory`.
        attach_postgres: Attach ``settings.publish_dsn`` as ``pg`` when it is set.

    Raises:
        ExtensionError: An offline extension is missing or cannot load.
        AsOfNotFoundError: ``as_of`` matches no table.
        AttachError: The publish database cannot be attached.
        FederateError: The lake's metadata cannot be read.
    """
    directory = extension_directory or default_extension_directory(lake)
    directory.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(":memory:", config=offline_config(directory))
    try:
        _disable_progress_bar(con)
        load_offline(con, directory=directory)
        _configure_s3(con, lake)
        _register_tables(con, lake, as_of)
        if attach_postgres and lake.settings.publish_dsn:
            _attach(con, lake)
    except BaseException:
        con.close()
        raise
    return con


def _disable_progress_bar(con: duckdb.DuckDBPyConnection) -> None:
    """No progress bar: it is drawn on stdout and would corrupt CSV/JSON output.

    Inside Jupyter, DuckDB refuses to change the setting at all when ipywidgets is not
    installed; there the bar would not reach a CLI's stdout anyway, so it is left alone.
    """
    try:
        con.execute("SET enable_progress_bar = false")
    except duckdb.InvalidInputException as exc:
        if "ipywidgets" not in str(exc):
            raise


def _configure_s3(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    if not lake.storage_options():
        return
    s = lake.settings
    secret = s.s3_secret_access_key.reveal() if s.s3_secret_access_key else None
    try:
        con.execute(
            sqltext.create_s3_secret(s.s3_endpoint, s.s3_access_key_id, secret, s.s3_region)
        )
    except duckdb.Error as exc:
        raise FederateError(
            f"cannot configure S3: {scrub(str(exc), lake)}", endpoint=s.s3_endpoint
        ) from None


def _register_tables(con: duckdb.DuckDBPyConnection, lake: Lake, as_of: AsOf | None) -> None:
    con.execute(f"CREATE SCHEMA {META_SCHEMA}")
    con.execute(_SNAPSHOTS_DDL)
    con.execute(_VIEWS_DDL)
    described = as_of.describe() if as_of else None
    registered = 0
    for spec in ALL_TABLES:
        table = lake.table(spec, refresh=True)
        metadata = table.metadata_location
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {sqltext.identifier(spec.namespace)}")
        con.execute(sqltext.create_at_macro(spec.namespace, spec.name, metadata))
        _record_snapshots(con, spec, table)
        try:
            snapshot = resolve_as_of(table, as_of)
        except SnapshotNotFoundError:
            continue  # this table has no such snapshot or tag: leave it out, never mix
        snapshot_id = snapshot.snapshot_id if snapshot else None
        empty = as_of is not None and snapshot is None
        con.execute(
            sqltext.create_view(spec.namespace, spec.name, metadata, snapshot_id, empty=empty)
        )
        con.execute(
            f"INSERT INTO {META_SCHEMA}.views VALUES (?, ?, ?, ?)",
            [spec.identifier, snapshot_id, metadata, described],
        )
        registered += 1
    if as_of is not None and registered == 0:
        raise AsOfNotFoundError("no table has this snapshot or tag", as_of=described)


def _record_snapshots(con: duckdb.DuckDBPyConnection, spec: TableSpec, table: Table) -> None:
    refs: dict[int, list[str]] = {}
    for ref_name, ref in table.metadata.refs.items():
        refs.setdefault(ref.snapshot_id, []).append(ref_name)
    current = table.current_snapshot()
    rows = [
        (
            spec.identifier,
            snap.snapshot_id,
            snap.parent_snapshot_id,
            datetime.fromtimestamp(snap.timestamp_ms / 1000, tz=UTC),
            snap.summary.operation.value if snap.summary else None,
            current is not None and snap.snapshot_id == current.snapshot_id,
            sorted(refs.get(snap.snapshot_id, [])),
        )
        for snap in table.metadata.snapshots
    ]
    if rows:
        con.executemany(f"INSERT INTO {META_SCHEMA}.snapshots VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


def _attach(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """Attach ``settings.publish_dsn`` as :data:`sqltext.PG_ALIAS` without showing its password.

    DuckDB shows an ATTACH path in ``duckdb_databases()``, so the path holds the DSN
    without its secret options; those travel in a DuckDB secret that is dropped once
    attached (the attached database keeps the resolved connection string for reconnects),
    so no SQL on this connection can read the password or reuse it for another ATTACH.
    """
    dsn = lake.settings.publish_dsn
    if not dsn:
        return
    try:
        conninfo, secrets = sqltext.split_postgres_dsn(dsn.reveal())
        if secrets:
            con.execute(sqltext.create_postgres_secret(secrets))
        con.execute(sqltext.attach_postgres(conninfo, with_secret=bool(secrets)))
        if secrets:
            con.execute(sqltext.drop_postgres_secret())
    except (ValueError, duckdb.Error) as exc:
        raise AttachError(
            f"cannot attach the publish database: {scrub(str(exc), lake)}",
            alias=sqltext.PG_ALIAS,
        ) from None
