"""The lake a notebook works with: :func:`open_lake` and its audited reads.

:class:`Lakehouse` is the storage core's :class:`~makerates_lake.store.catalog.Lake` with
the reads a person asks for, in the spirit of Polars' ``read_*``/``scan_*`` and dlt's
``pipeline.dataset()``::

    import makerates_lake as mr

    lake = mr.open_lake()                          # embedded default, or your settings
    facts = lake.read("gold.fact_rate")            # polars.DataFrame, now
    old = lake.read("fact_rate", as_of="transform-v1")   # the same table at a tag
    usd = lake.scan("gold.fact_rate").filter(pl.col("quote_currency") == "USD")
    lake.sql("SELECT count(*) FROM gold.fact_rate", as_of=snapshot_id)
    lake.snapshots("gold.fact_rate")               # its history, with tags
    lake.tags()                                    # every tag and branch of every table

``as_of`` is the same everywhere: a snapshot id, a tag (or branch) name, or a
timezone-aware datetime (the snapshot that was current then). Each data read writes
exactly one access-log entry (who, what table, which snapshot, the query); listing
snapshots and tags reads metadata only and is not logged.

A :class:`Lakehouse` is a ``Lake``, so every function of the library takes it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import polars as pl

from makerates_lake.audit.reading import read_polars, scan_as_of
from makerates_lake.audit.trace import TraceResult
from makerates_lake.audit.trace import trace as trace_fact
from makerates_lake.federate.query import run_sql
from makerates_lake.gold.rates import day_of
from makerates_lake.settings import Settings, load_settings
from makerates_lake.store import catalog
from makerates_lake.store.refs import AsOfLike, as_of_from, snapshot_history, table_refs
from makerates_lake.store.tables import ALL_TABLES, TableSpec, spec_named

__all__ = ["Lakehouse", "open_lake", "table_spec", "trace"]


def table_spec(table: TableSpec | str) -> TableSpec:
    """The spec of a table named ``namespace.name`` or by its unique short name.

    Raises:
        LakeError: No table has that name; the message lists the tables there are.
    """
    return table if isinstance(table, TableSpec) else spec_named(table)


@dataclass
class Lakehouse(catalog.Lake):
    """An open lake with audited reads; see the module documentation for examples."""

    def read(
        self,
        table: TableSpec | str,
        as_of: AsOfLike = None,
        *,
        columns: list[str] | None = None,
    ) -> pl.DataFrame:
        """A table (now, or as of a snapshot id, tag or time) as a Polars frame.

        ``lake.read("gold.fact_rate", as_of="transform-v1", columns=["rate_date", "rate"])``

        Logs one access-log entry (action ``read``) naming the extraction ids returned.

        Raises:
            LakeError: Unknown table.
            SnapshotNotFoundError: Unknown snapshot id or tag.
            ConfigError: ``as_of`` is a naive datetime, or no snapshot id, tag or time.
            AccessLogError: The read could not be logged (nothing is returned).
        """
        return read_polars(self, table_spec(table), as_of, columns=columns)

    def scan(self, table: TableSpec | str, as_of: AsOfLike = None) -> pl.LazyFrame:
        """A lazy Polars scan of a table (now, or as of a snapshot id, tag or time).

        ``lake.scan("gold.fact_rate").filter(pl.col("is_best")).collect()``

        Logs one access-log entry (action ``scan``) when the scan is made.

        Raises:
            LakeError: Unknown table.
            SnapshotNotFoundError: Unknown snapshot id or tag.
            ConfigError: ``as_of`` is a naive datetime, or no snapshot id, tag or time.
            AccessLogError: The scan could not be logged (no frame is returned).
        """
        return scan_as_of(self, table_spec(table), as_of)

    def sql(self, query: str, as_of: AsOfLike = None) -> pl.DataFrame:
        """Run one DuckDB SQL statement over the lake's tables (``gold.fact_rate``, ...).

        ``lake.sql("SELECT max(rate_date) FROM gold.fact_rate", as_of="transform-v1")``

        With ``as_of`` every table is read at that snapshot id, tag or time. Logs one
        access-log entry (action ``sql``) per lake table the statement reads.

        Raises:
            QueryError: DuckDB refused or failed the statement.
            ConfigError: ``as_of`` is a naive datetime, or no snapshot id, tag or time.
            AccessLogError: The read could not be logged (no rows are returned).
        """
        result = pl.from_arrow(run_sql(self, query, as_of=as_of))
        if not isinstance(result, pl.DataFrame):  # pragma: no cover - a Table gives a frame
            raise TypeError("expected a table")
        return result

    def snapshots(self, table: TableSpec | str) -> pl.DataFrame:
        """A table's snapshots, oldest first: id, parent, commit time, operation, whether
        ``main`` points at it, the tags and branches on it, and Iceberg's summary.

        ``lake.snapshots("gold.fact_rate").tail(3)``

        Raises:
            LakeError: Unknown table.
        """
        history = snapshot_history(self.table(table_spec(table)))
        rows = [{**asdict(s), "summary": _summary_text(s.summary)} for s in history]
        return pl.DataFrame(
            rows,
            schema={
                "snapshot_id": pl.Int64,
                "parent_id": pl.Int64,
                "committed_at": pl.Datetime("us", "UTC"),
                "operation": pl.String,
                "is_current": pl.Boolean,
                "refs": pl.List(pl.String),
                "summary": pl.String,
            },
        )

    def tags(self, table: TableSpec | str | None = None) -> pl.DataFrame:
        """Every tag and branch of one table, or of every table: table, name, kind
        (``tag`` or ``branch``), snapshot id and its commit time.

        ``lake.tags().filter(pl.col("name").str.starts_with("published-"))``
        """
        specs = ALL_TABLES if table is None else (table_spec(table),)
        rows = [asdict(r) for spec in specs for r in table_refs(self.table(spec))]
        return pl.DataFrame(
            rows,
            schema={
                "table": pl.String,
                "name": pl.String,
                "kind": pl.String,
                "snapshot_id": pl.Int64,
                "committed_at": pl.Datetime("us", "UTC"),
            },
        )

    def tables(self) -> list[str]:
        """The lake's tables, as ``namespace.name``."""
        return [spec.identifier for spec in ALL_TABLES]


def trace(
    lake: catalog.Lake,
    rate_date: date | str,
    base: str,
    quote: str,
    *,
    source: str | None = None,
    as_of: AsOfLike = None,
) -> TraceResult:
    """Trace one gold rate back to the bronze bytes it came from.

    ``mr.trace(lake, "2026-10-30", "USD", "JPY").verdict`` is ``"ok"`` when every leg's
    stored bytes still match their checksum and the provider's value matches silver and
    gold. Each leg shows the provider's value in its context (the CSV cell, the JSON
    fragment) and the bronze row. Logs one access-log entry (action ``trace``).

    Args:
        lake: The open lake.
        rate_date: The rate's date, a :class:`datetime.date` or ISO text.
        base: Base currency (ISO code).
        quote: Quote currency (ISO code).
        source: A source name; default the rate gold marks best.
        as_of: Gold (and the silver and bronze of that moment) as of a snapshot id, tag
            or aware datetime; default now.

    Raises:
        ConfigError: ``rate_date`` is not an ISO date (a ``datetime`` gives its date).
        RecordNotFoundError: Gold has no such rate then (names the nearest dates).
        SnapshotNotFoundError: Unknown snapshot id or tag.
    """
    day = day_of(rate_date, "rate_date")
    return trace_fact(lake, day, base, quote, source=source, as_of=as_of_from(as_of))


def _summary_text(summary: dict[str, str]) -> str:
    """Iceberg's summary in one sortable, readable line (``added-records=3, ...``)."""
    return ", ".join(f"{k}={v}" for k, v in sorted(summary.items()))


def open_lake(
    settings: Settings | None = None,
    *,
    home: str | Path | None = None,
    create: bool = True,
) -> Lakehouse:
    """Open the lake: the embedded default, or whatever ``settings`` name.

    ``lake = mr.open_lake()``; ``mr.open_lake(home="/data/rates")``;
    ``mr.open_lake(mr.load_settings("makerates.toml"))``.

    Args:
        settings: Settings to use; default :func:`~makerates_lake.settings.load_settings`
            (environment, ``$MAKERATES_CONFIG``, defaults).
        home: Shortcut for ``load_settings(home=home)``: an embedded lake in that folder.
        create: Create the namespaces and tables that are missing (idempotent).

    Raises:
        ConfigError: Both ``settings`` and ``home`` given, or a setting is invalid.
        LakeError: The catalog or its storage cannot be reached; names which one.
    """
    if settings is not None and home is not None:
        from makerates_lake.errors import ConfigError

        raise ConfigError("pass settings or home, not both", key="home")
    if home is not None:
        settings = load_settings(home=Path(home))
    opened = catalog.open_lake(settings, create=create)
    return Lakehouse(settings=opened.settings, catalog=opened.catalog)
