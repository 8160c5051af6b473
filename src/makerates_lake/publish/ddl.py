"""PostgreSQL statements of the publish schema (identifiers quoted by psycopg.sql).

``SCHEMA_SQL`` and ``READER_ROLE_SQL`` are kept identical to ``sql/publish_schema.sql``
and ``sql/publish_reader_role.sql`` (a unit test compares them), so a DBA can apply the
files by hand while the library applies the schema on first use.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from psycopg import sql

from makerates_lake.publish.frame import TABLE_COLUMNS, UUID_COLUMNS

SCHEMA: Final = "makerates"
VIEW: Final = "rates_last_90_days"
PUBLISHES: Final = "publishes"
READER_ROLE: Final = "makerates_reader"
TABLE_PREFIX: Final = "rates_s"

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

# extraction_id is stored as a uuid (16 bytes) rather than its 36 characters of text, and
# published_at and gold_snapshot_id, the same on every row of a publish, live in the view's
# definition rather than in every row: less for PostgreSQL to store per row on each publish.
_COLUMNS_DDL: Final = """(
    rate_date DATE NOT NULL,
    base_currency TEXT NOT NULL,
    quote_currency TEXT NOT NULL,
    rate NUMERIC(38, 18) NOT NULL,
    source_name TEXT NOT NULL,
    is_derived BOOLEAN NOT NULL,
    extraction_id UUID NOT NULL
)"""


def _table(name: str) -> sql.Identifier:
    return sql.Identifier(SCHEMA, name)


def create_table(name: str) -> sql.Composed:
    """The table of one publish (dropped first if a failed run left it behind).

    Currency codes are checked in Python before the load (:func:`~makerates_lake.publish.
    frame.check_codes`); a regex CHECK per row would halve the load rate.
    """
    return sql.SQL("DROP TABLE IF EXISTS {t}; CREATE TABLE {t} ").format(t=_table(name)) + sql.SQL(
        _COLUMNS_DDL
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
    """Point the view at the table ``name``, stamped with its publish's time and snapshot.

    The view shows the columns of :data:`~makerates_lake.publish.frame.COLUMNS` with the
    types they always had: ``extraction_id`` as text (the uuid's canonical spelling, which
    is the only one bronze accepts), ``published_at`` as timestamptz and
    ``gold_snapshot_id`` as bigint, the last two constants of this publish.
    """
    stored = [
        sql.SQL("CAST({c} AS text) AS {c}").format(c=sql.Identifier(c))
        if c in UUID_COLUMNS
        else sql.Identifier(c)
        for c in TABLE_COLUMNS
    ]
    return sql.SQL(
        "CREATE OR REPLACE VIEW {view} AS SELECT {stored}, "
        "CAST({stamp} AS timestamptz) AS {stamp_name}, "
        "CAST({sid} AS bigint) AS {sid_name} FROM {t}"
    ).format(
        view=_table(VIEW),
        stored=sql.SQL(", ").join(stored),
        stamp=sql.Literal(published_at),
        stamp_name=sql.Identifier("published_at"),
        sid=sql.Literal(gold_snapshot_id),
        sid_name=sql.Identifier("gold_snapshot_id"),
        t=_table(name),
    )


def grant_reader() -> sql.Composed:
    """Let the reader role select the view (call only when the role exists)."""
    return sql.SQL("GRANT USAGE ON SCHEMA {s} TO {r}; GRANT SELECT ON {view} TO {r}").format(
        s=sql.Identifier(SCHEMA), view=_table(VIEW), r=sql.Identifier(READER_ROLE)
    )


def drop_table(name: str) -> sql.Composed:
    """Drop an old publish table."""
    return sql.SQL("DROP TABLE IF EXISTS {t}").format(t=_table(name))
