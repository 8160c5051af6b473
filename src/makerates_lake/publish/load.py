"""Load one publish's tables: create, binary COPY from Arrow, check, index (PostgreSQL).

The rows arrive as :data:`~makerates_lake.publish.frame.TABLE_SCHEMA` Arrow rows, one per
rate, and are stored as two tables (:class:`~makerates_lake.publish.frame.ProvenanceKeys`):
the rates, each with a key, and the provenance the keys point to. Nothing reads the
tables until the view is switched to them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import psycopg
import pyarrow as pa
from psycopg import sql

from makerates_lake.publish import ddl, pgcopy
from makerates_lake.publish.errors import CopyEncodeError, PublishLoadError
from makerates_lake.publish.frame import (
    PROVENANCE_KEY,
    RATE_SCHEMA,
    TABLE_SCHEMA,
    UUID_COLUMNS,
    ProvenanceKeys,
)

Conn = psycopg.Connection[tuple[object, ...]]

# For the load and index transactions only: their commits do not wait for the WAL to reach
# disk. Nothing reads the new tables before the switch, whose commit does wait, and WAL is
# flushed in order, so a durable switch implies durable tables. A crash before that
# loses at most the new tables (present whole or not at all after recovery, and dropped by
# the next publish); the view still shows the previous publish, whose tables only the
# switch drops.
NO_COMMIT_WAIT: Final = "SET LOCAL synchronous_commit = off"
COPY_BLOCK_ROWS: Final = 8_192
"""Rows per binary COPY block sent (chosen by measurement among 4k..32k)."""


def load_table(conn: Conn, name: str, rows: pa.Table) -> None:
    """Create the tables of the publish ``name``, load ``rows`` (:data:`TABLE_SCHEMA`) by
    binary COPY, check that every row reads back through the view's join, index them.

    Create and COPY share one transaction, so a failed load leaves no table behind.

    Raises:
        CopyEncodeError: ``rows`` do not have the publish schema, hold a null or a
            malformed extraction id.
        PublishLoadError: The view's join does not give back the rows sent.
    """
    target = sql.Identifier(ddl.SCHEMA, name)
    provenance = sql.Identifier(ddl.SCHEMA, ddl.provenance_table(name))
    with conn.transaction():
        conn.execute(NO_COMMIT_WAIT)
        conn.execute(ddl.create_tables(name))
        copy_rows(conn, name, rows)
        # The inner join the view reads: a rate whose key had no provenance would be
        # missing from it, so it is counted through the join, not in the rate table alone.
        count = conn.execute(
            sql.SQL("SELECT count(*) FROM {t} JOIN {p} USING ({k})").format(
                t=target, p=provenance, k=sql.Identifier(PROVENANCE_KEY)
            )
        ).fetchone()
        if count is None or count[0] != rows.num_rows:
            # Raised inside the transaction, so the tables are rolled back with it.
            raise PublishLoadError(
                "the loaded tables do not give back the rows sent",
                table=f"{ddl.SCHEMA}.{name}",
                sent=rows.num_rows,
                found=None if count is None else count[0],
            )
    with conn.transaction():
        conn.execute(NO_COMMIT_WAIT)
        for statement in ddl.create_indexes(name):
            conn.execute(statement)
        conn.execute(sql.SQL("ANALYZE {t}, {p}").format(t=target, p=provenance))


def copy_rows(conn: Conn, name: str, rows: pa.Table) -> None:
    """Append ``rows`` (:data:`TABLE_SCHEMA`) to the rate and provenance tables of the
    publish ``name`` by binary COPY, in the caller's transaction.

    Rows are keyed to their provenance block by block, each block while the server stores
    the one sent before; the provenance table, a few rows, is sent last.

    Raises:
        CopyEncodeError: ``rows`` do not have :data:`TABLE_SCHEMA`, hold a null or a
            malformed extraction id.
    """
    if rows.schema != TABLE_SCHEMA:
        raise CopyEncodeError("rows do not have the publish schema", table=f"{ddl.SCHEMA}.{name}")
    pgcopy.refuse_nulls(rows)  # before anything is sent
    keys = ProvenanceKeys()
    blocks = (keys.rates(block) for block in pgcopy.blocks_of(rows, COPY_BLOCK_ROWS))
    _copy(conn, name, RATE_SCHEMA.names, pgcopy.encode_blocks(blocks))
    provenance = keys.provenance()
    _copy(
        conn,
        ddl.provenance_table(name),
        provenance.column_names,
        pgcopy.encode(provenance, uuids=UUID_COLUMNS),
    )


def _copy(conn: Conn, name: str, columns: list[str], stream: Iterator[bytes | memoryview]) -> None:
    statement = sql.SQL("COPY {t} ({cols}) FROM STDIN (FORMAT binary)").format(
        t=sql.Identifier(ddl.SCHEMA, name),
        cols=sql.SQL(", ").join(sql.Identifier(c) for c in columns),
    )
    # Small blocks, each sent as soon as it is encoded: the server starts storing rows
    # early and keeps storing one block while the next is keyed and encoded (the socket's
    # buffers hold what was sent). psycopg's writer thread did no better on two cores: the
    # thread competes with the encoding and the server for them.
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        for block in stream:
            copy.write(block)
