"""What one publish holds: the last N days of best gold rates (pure: Polars, Arrow, NumPy).

The window ends at the latest rate date in gold (not today), so a publish is a pure
function of the gold snapshot and ``days``: publishing the same snapshot again yields
the same rows, which is what makes ``publish`` idempotent. The rows, one per rate, are
stored as two tables (:class:`ProvenanceKeys`): the rates with a key, and each distinct
provenance once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from makerates_lake.publish.errors import (
    CopyEncodeError,
    InvalidCurrencyError,
    PublishConfigError,
)
from makerates_lake.publish.pgcopy import uuid_bytes

COLUMNS: Final = (
    "rate_date",
    "base_currency",
    "quote_currency",
    "rate",
    "source_name",
    "is_derived",
    "extraction_id",
    "published_at",
    "gold_snapshot_id",
)
"""Columns of the published view, in order (a publish's tables store all but the last two,
which are the same on every row of one publish)."""

PER_PUBLISH_COLUMNS: Final = ("published_at", "gold_snapshot_id")
"""View columns that are the same on every row of one publish: the view adds them."""

TABLE_COLUMNS: Final = tuple(c for c in COLUMNS if c not in PER_PUBLISH_COLUMNS)
"""Columns of a publish's rows before they are stored (:data:`TABLE_SCHEMA`), in order."""

TABLE_SCHEMA: Final = pa.schema(
    [
        ("rate_date", pa.date32()),
        ("base_currency", pa.string()),
        ("quote_currency", pa.string()),
        ("rate", pa.decimal128(38, 18)),
        ("source_name", pa.string()),
        ("is_derived", pa.bool_()),
        ("extraction_id", pa.string()),
    ]
)
"""Arrow rows of one publish, one per rate; ``extraction_id`` is canonical UUID text."""

PROVENANCE_KEY: Final = "provenance_key"
PROVENANCE_COLUMNS: Final = ("source_name", "is_derived", "extraction_id")
"""Where a rate comes from. Few distinct values per publish (about two per extraction),
so they are stored once each in the publish's provenance table and every rate row holds
only their key: fewer columns for PostgreSQL to read and store per row."""

RATE_SCHEMA: Final = pa.schema(
    [
        *(TABLE_SCHEMA.field(c) for c in TABLE_COLUMNS if c not in PROVENANCE_COLUMNS),
        (PROVENANCE_KEY, pa.int32()),
    ]
)
"""Arrow rows of a publish's rate table."""

PROVENANCE_SCHEMA: Final = pa.schema(
    [(PROVENANCE_KEY, pa.int32()), *(TABLE_SCHEMA.field(c) for c in PROVENANCE_COLUMNS)]
)
"""Arrow rows of a publish's provenance table."""

UUID_COLUMNS: Final = ("extraction_id",)
"""Text columns stored as PostgreSQL ``uuid``."""

_ID: Final = PROVENANCE_COLUMNS.index("extraction_id")


@dataclass(frozen=True)
class StoredRows:
    """One publish's rows as stored: rates, and the provenance their keys point to."""

    rates: pa.Table
    provenance: pa.Table

    @property
    def num_rows(self) -> int:
        """Rates in the publish (one view row each)."""
        return int(self.rates.num_rows)


FACT_COLUMNS: Final = (
    "rate_date", "base_currency", "quote_currency", "rate", "source_name", "is_derived",
    "extraction_id", "is_best",
)  # fmt: skip
"""Columns read from ``gold.fact_rate``."""

_CODE: Final = re.compile(r"[A-Z]{3}")


def window(last: date, days: int) -> tuple[date, date]:
    """First and last rate date of a ``days``-long window ending at ``last``.

    Raises:
        PublishConfigError: ``days`` is not positive, or reaches back before year 1.
    """
    if days <= 0:
        raise PublishConfigError("days must be a positive number", days=days)
    if days > last.toordinal():
        raise PublishConfigError(
            "days reaches back before the first date there is", days=days, last=last.isoformat()
        )
    return last - timedelta(days=days - 1), last


def check_codes(codes: list[str]) -> None:
    """Every code is three capital ASCII letters.

    Raises:
        InvalidCurrencyError: Names the first offending code.
    """
    for code in codes:
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            raise InvalidCurrencyError("not a three-letter ISO 4217 code", code=repr(code))


def publish_frame(
    facts: pl.DataFrame, *, days: int, published_at: datetime, gold_snapshot_id: int
) -> pl.DataFrame:
    """The rows of one publish: best rates of the last ``days`` days present in ``facts``.

    Args:
        facts: ``gold.fact_rate`` rows (at least :data:`FACT_COLUMNS`).
        days: Window length in days, ending at the latest ``rate_date``.
        published_at: Stamp on every row (timezone-aware).
        gold_snapshot_id: The gold snapshot the rows come from.

    Raises:
        PublishConfigError: ``days`` is not positive.
        InvalidCurrencyError: A base or quote code is malformed.
    """
    if facts.height == 0:
        window(date.today(), days)  # still reject a bad ``days``
        return _empty()
    last: date = facts.get_column("rate_date").max()  # type: ignore[assignment]
    first, _ = window(last, days)
    rows = facts.filter(pl.col("is_best") & (pl.col("rate_date") >= first)).sort(
        "rate_date", "base_currency", "quote_currency"
    )
    for column in ("base_currency", "quote_currency"):
        check_codes(rows.get_column(column).unique().to_list())
    return rows.select(
        *TABLE_COLUMNS,
        pl.lit(published_at).dt.convert_time_zone("UTC").alias("published_at"),
        pl.lit(gold_snapshot_id, dtype=pl.Int64).alias("gold_snapshot_id"),
    )


def table_rows(frame: pl.DataFrame) -> pa.Table:
    """The stored columns of a publish frame, as Arrow in :data:`TABLE_SCHEMA`."""
    return frame.select(TABLE_COLUMNS).to_arrow().cast(TABLE_SCHEMA)


class ProvenanceKeys:
    """Keys of the provenances seen so far, numbered from 0 in order of first appearance.

    Publish rows are keyed block by block (:meth:`rates`), so that keying overlaps with
    the sending of earlier blocks; :meth:`provenance` then gives every provenance once.
    """

    def __init__(self) -> None:
        self._keys: dict[tuple[object, ...], int] = {}

    def rates(self, rows: pa.Table) -> pa.Table:
        """``rows`` (:data:`TABLE_SCHEMA`) as rate rows (:data:`RATE_SCHEMA`), each with the
        key of its provenance. Nulls are keyed as values of their own (the COPY encoder
        refuses them by name).

        Raises:
            CopyEncodeError: ``rows`` do not have :data:`TABLE_SCHEMA`.
        """
        if rows.schema != TABLE_SCHEMA:
            raise CopyEncodeError("rows do not have the publish schema", schema=str(rows.schema))
        # Each provenance column dictionary-encoded, and the three codes of a row combined
        # into one number: one per distinct provenance of these rows. Arrow's and NumPy's
        # kernels run on this thread, beside the server storing the block sent before.
        # The number is below 3 * len(rows) ** 2 (at most three derived values), so it
        # fits in 64 bits for any table that fits in memory.
        combined = np.zeros(rows.num_rows, dtype=np.int64)
        values: list[list[object]] = []
        for name in PROVENANCE_COLUMNS:
            encoded = pc.dictionary_encode(rows.column(name), null_encoding="encode")
            encoded = encoded.combine_chunks() if isinstance(encoded, pa.ChunkedArray) else encoded
            values.append(encoded.dictionary.to_pylist())
            combined = combined * len(values[-1]) + encoded.indices.to_numpy()
        found, first, row_found = np.unique(combined, return_index=True, return_inverse=True)
        keys = np.empty(len(found), dtype=np.int32)
        new: list[tuple[object, ...]] = []
        for i in np.argsort(first):  # in order of first appearance
            code, provenance = int(found[i]), []
            for column in reversed(values):
                code, at = divmod(code, len(column))
                provenance.append(column[at])
            seen = tuple(reversed(provenance))
            if seen not in self._keys:
                new.append(seen)
            keys[i] = self._keys.setdefault(seen, len(self._keys))
        # A malformed id is refused with the block it first appears in, before it is sent
        # (the provenance table itself is sent last).
        ids = [p[_ID] for p in new if p[_ID] is not None]
        if ids:
            uuid_bytes(pa.array(ids, pa.string()))
        # The rate columns are Arrow's own, uncopied; only the key column is new.
        return rows.select(RATE_SCHEMA.names[:-1]).append_column(
            RATE_SCHEMA.field(PROVENANCE_KEY), pa.array(keys[row_found.reshape(-1)])
        )

    def provenance(self) -> pa.Table:
        """Every provenance seen, with its key (:data:`PROVENANCE_SCHEMA`)."""
        columns = list(zip(*self._keys, strict=True)) or [(), (), ()]
        return pa.table(
            {
                PROVENANCE_KEY: pa.array(range(len(self._keys)), pa.int32()),
                **{
                    name: list(values)
                    for name, values in zip(PROVENANCE_COLUMNS, columns, strict=True)
                },
            },
            schema=PROVENANCE_SCHEMA,
        )


def stored_rows(rows: pa.Table) -> StoredRows:
    """``rows`` (:data:`TABLE_SCHEMA`) split into rates and their distinct provenances.

    Raises:
        CopyEncodeError: ``rows`` do not have :data:`TABLE_SCHEMA`.
    """
    keys = ProvenanceKeys()
    rates = keys.rates(rows)
    return StoredRows(rates=rates, provenance=keys.provenance())


def _empty() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "rate_date": pl.Date,
            "base_currency": pl.String,
            "quote_currency": pl.String,
            "rate": pl.Decimal(38, 18),
            "source_name": pl.String,
            "is_derived": pl.Boolean,
            "extraction_id": pl.String,
            "published_at": pl.Datetime("us", "UTC"),
            "gold_snapshot_id": pl.Int64,
        }
    )


def table_name(gold_snapshot_id: int, days: int) -> str:
    """Name of the table one publish writes: one per (gold snapshot, days)."""
    sign = "n" if gold_snapshot_id < 0 else ""
    return f"rates_s{sign}{abs(gold_snapshot_id)}_d{days}"


def tag_name(published_at: datetime) -> str:
    """The Iceberg tag put on the published gold snapshot."""
    return f"published-{published_at.astimezone(UTC):%Y%m%dT%H%M%S%fZ}"
