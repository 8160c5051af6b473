"""PostgreSQL statements of the publish schema (identifiers quoted by psycopg.sql).

``SCHEMA_SQL`` and ``READER_ROLE_SQL`` are kept identical to ``sql/publish_schema.sql``
and ``sql/publish_reader_role.sql`` (a unit test compares them), so a DBA can apply the
files by hand while the library applies the schema on first use.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from psycopg import sql

from makerates_lake.publish.frame import PROVENANCE_KEY, RATE_SCHEMA, TABLE_COLUMNS, UUID_COLUMNS

SCHEMA: Final = "makerates"
VIEW: Final = "rates_last_90_days"
PUBLISHES: Final = "publishes"
READER_ROLE: Final = "makerates_reader"
TABLE_PREFIX: Final = "rates_s"
_RATES: Final = sql.Identifier("r")
_PROVENANCE: Final = sql.Identifier("p")

SCHEMA_SQL: Final = """\
-- Publish schema for the 90-day view Make.com polls. Applied by `makerates publish`
-- on first use; safe to run again. The view itself is created by the first publish.
CREATE SCHEMA IF NOT EXISTS makerates;

-- One row per publish: which gold snapshot and window went into which table.
CREATE TABLE IF NOT EXISTS makerates.publishes (
    publish_id UUID PRIMARY KEY,
    table_name TEXT NOT NULL,
    gold_snapshot_id BIGINT NOT NULL,
    days INTEGER NOT NULL CHECK (days > 0),
    row_count BIGINT NOT NULL,
    first_date DATE,
    last_date DATE,
    published_at TIMESTAMPTZ NOT NULL,
    gold_tag TEXT NOT NULL,
    is_current BOOLEAN NOT NULL DEFAULT FALSE,
    replaced_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX IF NOT EXISTS publishes_one_current
    ON makerates.publishes (is_current) WHERE is_current;
"""

READER_ROLE_SQL: Final = """\
-- The read-only role Make.com's login role is a member of. Run as a superuser or a
-- role with CREATEROLE, after sql/publish_schema.sql. It can read the view and nothing
-- else: no table of the schema (the view reads them with its owner's rights), no write.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'makerates_reader') THEN
        CREATE ROLE makerates_reader NOLOGIN;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA makerates TO makerates_reader;
DO $$
BEGIN
    IF to_regclass('makerates.rates_last_90_days') IS NOT NULL THEN
        GRANT SELECT ON makerates.rates_last_90_days TO makerates_reader;
    END IF;
END
$$;
"""

# Each publish stores its rates in one table and their provenance (source, derived or not,
# extraction) once per distinct value in a second one, keyed by a small integer; the view
# joins them. published_at and gold_snapshot_id, the same on every row of a publish, live
# in the view's definition. extraction_id is a uuid (16 bytes), not 36 characters of text.
# All of this is less for PostgreSQL to read and store per row on each publish.
_RATE_COLUMNS_DDL: Final = """(
    rate_date DATE NOT NULL,
    base_currency TEXT NOT NULL,
    quote_currency TEXT NOT NULL,
    rate NUMERIC(38, 18) NOT NULL,
    provenance_key INTEGER NOT NULL
)"""

_PROVENANCE_COLUMNS_DDL: Final = """(
    provenance_key INTEGER PRIMARY KEY,
    source_name TEXT NOT NULL,
    is_derived BOOLEAN NOT NULL,
    extraction_id UUID NOT NULL
)"""

PROVENANCE_SUFFIX: Final = "_provenance"


def _table(name: str) -> sql.Identifier:
    return sql.Identifier(SCHEMA, name)


def provenance_table(name: str) -> str:
    """The provenance table that goes with the rate table ``name``."""
    return f"{name}{PROVENANCE_SUFFIX}"


def create_tables(name: str) -> sql.Composed:
    """The rate and provenance tables of one publish (dropped first if a failed run left
    them behind).

    Currency codes are checked in Python before the load (:func:`~makerates_lake.publish.
    frame.check_codes`); a regex CHECK per row would halve the load rate. There is no
    foreign key from rates to provenance, whose per-row check would cost more than the
    load; the load checks instead that every rate joins its provenance.
    """
    return (
        drop_tables(name)
        + sql.SQL("; CREATE TABLE {t} ").format(t=_table(name))
        + sql.SQL(_RATE_COLUMNS_DDL)
        + sql.SQL("; CREATE TABLE {t} ").format(t=_table(provenance_table(name)))
        + sql.SQL(_PROVENANCE_COLUMNS_DDL)
    )


def create_indexes(name: str) -> list[sql.Composed]:
    """Indexes for Make.com's lookups: by date, by pair over time, by quote."""
    specs = (
        ("date_pair", "UNIQUE ", ("rate_date", "base_currency", "quote_currency")),
        ("pair_date", "", ("base_currency", "quote_currency", "rate_date")),
        ("quote_date", "", ("quote_currency", "rate_date")),
    )
    return [
        sql.SQL("CREATE {unique}INDEX {index} ON {t} ({cols})").format(
            unique=sql.SQL(unique),
            index=sql.Identifier(f"{name}_{suffix}"),
            t=_table(name),
            cols=sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        )
        for suffix, unique, columns in specs
    ]


def replace_view(name: str, *, published_at: datetime, gold_snapshot_id: int) -> sql.Composed:
    """Point the view at the publish ``name``, stamped with its publish's time and snapshot.

    The view shows the columns of :data:`~makerates_lake.publish.frame.COLUMNS` with the
    types they always had: each rate joined to its provenance (a left join on the
    provenance's primary key, which PostgreSQL leaves out of a query that reads no
    provenance column, such as the latest date; the load has checked that every rate has
    its provenance), ``extraction_id`` as text
    (the uuid's canonical spelling, which is the only one bronze accepts), ``published_at``
    as timestamptz and ``gold_snapshot_id`` as bigint, the last two constants of this
    publish.
    """
    rate_columns = set(RATE_SCHEMA.names)
    shown = [
        sql.SQL("CAST({p}.{c} AS text) AS {c}").format(p=_PROVENANCE, c=sql.Identifier(c))
        if c in UUID_COLUMNS
        else sql.SQL("{t}.{c}").format(
            t=_RATES if c in rate_columns else _PROVENANCE, c=sql.Identifier(c)
        )
        for c in TABLE_COLUMNS
    ]
    return sql.SQL(
        "CREATE OR REPLACE VIEW {view} AS SELECT {shown}, "
        "CAST({stamp} AS timestamptz) AS {stamp_name}, "
        "CAST({sid} AS bigint) AS {sid_name} "
        "FROM {rates_table} AS {r} LEFT JOIN {provenance_table} AS {p} USING ({key})"
    ).format(
        view=_table(VIEW),
        shown=sql.SQL(", ").join(shown),
        stamp=sql.Literal(published_at),
        stamp_name=sql.Identifier("published_at"),
        sid=sql.Literal(gold_snapshot_id),
        sid_name=sql.Identifier("gold_snapshot_id"),
        rates_table=_table(name),
        r=_RATES,
        provenance_table=_table(provenance_table(name)),
        p=_PROVENANCE,
        key=sql.Identifier(PROVENANCE_KEY),
    )


def grant_reader() -> sql.Composed:
    """Let the reader role select the view (call only when the role exists)."""
    return sql.SQL("GRANT USAGE ON SCHEMA {s} TO {r}; GRANT SELECT ON {view} TO {r}").format(
        s=sql.Identifier(SCHEMA), view=_table(VIEW), r=sql.Identifier(READER_ROLE)
    )


def drop_tables(name: str) -> sql.Composed:
    """Drop the rate and provenance tables of the publish ``name``."""
    return drop_named([name, provenance_table(name)])


def drop_named(names: Sequence[str]) -> sql.Composed:
    """Drop the tables ``names`` of the publish schema, those that exist."""
    return sql.SQL("DROP TABLE IF EXISTS {tables}").format(
        tables=sql.SQL(", ").join(_table(n) for n in names)
    )
