"""Every table's schema, partition spec, sort order, properties and Parquet layout.

The specs are data (:mod:`makerates_lake.store.specs`): :mod:`makerates_lake.store.catalog`
creates whatever is listed in :data:`ALL_TABLES`. Each stage adds its tables here so one
file shows the whole lake.
"""

from __future__ import annotations

from typing import Final

from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table.sorting import SortField, SortOrder
from pyiceberg.transforms import DayTransform, IdentityTransform, MonthTransform, YearTransform
from pyiceberg.types import (
    BinaryType,
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    IntegerType,
    ListType,
    LongType,
    NestedField,
    StringType,
    TimestamptzType,
)

# Re-exported: every stage names a table and its spec from this one module.
from makerates_lake.errors import LakeError
from makerates_lake.store.layouts import (
    BRONZE_PARQUET_LAYOUT,
    RATE_COLUMNS_LAYOUT,
    SILVER_RATES_LAYOUT,
)
from makerates_lake.store.specs import DEFAULT_PARQUET_LAYOUT as DEFAULT_PARQUET_LAYOUT
from makerates_lake.store.specs import ParquetLayout as ParquetLayout
from makerates_lake.store.specs import TableSpec as TableSpec
from makerates_lake.store.tables_holds import AUDIT_LEGAL_HOLDS
from makerates_lake.store.tables_wap import AUDIT_WAP_CHECKS

BRONZE_NAMESPACE: Final = "bronze"
NAMESPACES: Final = ("bronze", "silver", "gold", "audit")

# zstd: the bodies are JSON/XML text that compresses ~10x; it is also what the
# design document compared against JSONB.
_COMMON_PROPERTIES: Final = {
    "write.parquet.compression-codec": "zstd",
    "format-version": "2",
}


def _f(
    field_id: int, name: str, kind: object, required: bool = False, doc: str = ""
) -> NestedField:
    return NestedField(field_id, name, kind, required=required, doc=doc or None)  # type: ignore[arg-type]


BRONZE_EXTRACTIONS_SCHEMA: Final = Schema(
    # identity
    _f(1, "extraction_id", StringType(), True, "UUID of this attempt"),
    _f(2, "extraction_timestamp", TimestamptzType(), True, "when the request started (UTC)"),
    # source
    _f(3, "source_name", StringType(), True),
    _f(4, "source_version", StringType()),
    _f(5, "source_tier", StringType(), True, "primary, fallback, backfill or manual"),
    # request (secrets redacted)
    _f(6, "request_url", StringType(), True),
    _f(7, "request_method", StringType(), True),
    _f(8, "request_headers", StringType(), doc="JSON object, secrets redacted"),
    _f(9, "request_params", StringType(), doc="JSON object, secrets redacted"),
    _f(10, "request_body", StringType()),
    # response, verbatim
    _f(11, "http_status_code", IntegerType(), doc="null when no response arrived"),
    _f(12, "response_headers", StringType(), doc="JSON object"),
    _f(13, "raw_response", BinaryType(), True, "the exact bytes received"),
    _f(14, "response_content_type", StringType()),
    # performance
    _f(15, "extraction_duration_ms", DoubleType()),
    _f(16, "response_size_bytes", LongType(), True),
    # errors
    _f(17, "error_message", StringType()),
    _f(18, "error_code", StringType()),
    _f(19, "retry_attempt", IntegerType(), True),
    # compliance
    _f(20, "data_classification", StringType(), True),
    _f(21, "retention_policy", StringType(), True),
    # infrastructure
    _f(22, "extraction_host", StringType(), True),
    _f(23, "extraction_user", StringType(), True),
    _f(24, "pipeline_version", StringType(), True),
    # immutability and lineage
    _f(25, "response_checksum", StringType(), True, "SHA-256 hex of raw_response"),
    _f(26, "parent_extraction_id", StringType(), doc="set on re-extractions"),
    _f(27, "run_id", StringType(), doc="the pipeline run that made the request"),
    # honesty of the body (added later: optional, null in older rows; store.evolve)
    _f(28, "response_received_checksum", StringType(), doc="SHA-256 hex as received"),
    _f(29, "response_masked_count", IntegerType(), doc="secrets masked in raw_response"),
    _f(30, "response_received_bytes", LongType(), doc="body bytes that arrived"),
    _f(31, "response_incomplete_reason", StringType(), doc="why raw_response is partial"),
    identifier_field_ids=[],
)

BRONZE_EXTRACTIONS: Final = TableSpec(
    namespace=BRONZE_NAMESPACE,
    name="extractions",
    schema=BRONZE_EXTRACTIONS_SCHEMA,
    partition_spec=PartitionSpec(
        PartitionField(source_id=2, field_id=1000, transform=DayTransform(), name="extraction_day")
    ),
    sort_order=SortOrder(SortField(source_id=2, transform=IdentityTransform())),
    properties={
        **_COMMON_PROPERTIES,
        # Most bronze bytes are unique per row (raw_response, extraction_id, checksum):
        # dictionary-encoding them only wastes space until Arrow gives up at 2 MB.
        # A small dictionary limit, checked every 1,024 rows, makes those columns fall
        # back to plain encoding early while the few-valued ones (source, host, tier)
        # keep their dictionaries: fewer bytes, the same write time.
        "write.parquet.dict-size-bytes": str(8 * 1024),
        "write.parquet.page-row-limit": "1024",
        # zstd level 1 (Arrow's default, stated so it cannot drift): the middle levels
        # save little for many times the compression time (and wrote larger files of
        # 160-currency bodies); the top levels shrink the bodies by about a quarter but
        # are far too slow for ingest. Compaction rewrites bronze at level 19 instead, off
        # the ingest path (maintenance.policy.BRONZE_COLD_COMPRESSION_LEVEL).
        "write.parquet.compression-level": "1",
    },
    in_bronze_bucket=True,
    parquet=BRONZE_PARQUET_LAYOUT,
)

# --- silver and gold -------------------------------------------------------------------
# Rates are decimal(38,18): 20 integer digits cover every fiat quote (IRR, VND, old TRL),
# 18 fractional digits hold any rate a provider sends as a JSON number. The exact text the
# provider sent is kept beside it (``rate_text``) because ``0.86720`` and ``0.8672`` are the
# same decimal but not the same statement. Rates with more than 18 fractional digits are
# rejected rather than rounded, so ``rate`` always equals ``rate_text`` numerically.
RATE_DECIMAL: Final = DecimalType(38, 18)

# Silver and gold are rebuilt in place by reprocessing, which commits often; without these
# every commit would keep another full metadata.json forever (see STACK.md). Snapshots
# themselves are kept until an explicit expiry, so time travel to an older version still works.
_DERIVED_PROPERTIES: Final = {
    **_COMMON_PROPERTIES,
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "25",
}

# silver.rates and gold.fact_rate hold one file per year, sorted by date and pair. A trace
# reads one date and pair: row groups of 8192 rows (about 55 days of 150 quotes) let
# Parquet min/max statistics skip all but one group of a year file, instead of reading the
# whole year (the default limit, 1M rows, makes the year one group). A full scan reads the
# same bytes either way; smaller groups made PyIceberg's full scan much slower.
#
# With groups that small every column chunk's dictionary fits the default 2 MB limit, so
# columns with a new value on nearly every row (rate, rate_text) were dictionary-encoded
# with one entry per row. An 8 KB limit (smaller files, written faster, read as fast)
# makes them fall back to plain encoding after their first page, while the few-valued
# columns (ids of one extraction, currencies, sources) keep their dictionaries.
_POINT_LOOKUP_PROPERTIES: Final = {
    "write.parquet.row-group-limit": "8192",
    "write.parquet.dict-size-bytes": str(8 * 1024),
}

SILVER_NAMESPACE: Final = "silver"
GOLD_NAMESPACE: Final = "gold"

SILVER_RATES_SCHEMA: Final = Schema(
    _f(1, "extraction_id", StringType(), True, "bronze row the rate came from"),
    _f(2, "extraction_timestamp", TimestamptzType(), True),
    _f(3, "source_name", StringType(), True),
    _f(4, "source_version", StringType()),
    _f(5, "source_tier", StringType(), True),
    _f(6, "base_currency", StringType(), True),
    _f(7, "quote_currency", StringType(), True),
    _f(8, "rate", RATE_DECIMAL, True, "units of quote per one unit of base"),
    _f(9, "rate_text", StringType(), True, "the rate exactly as the provider wrote it"),
    _f(10, "rate_date", DateType(), True, "the provider's date for the rate"),
    _f(11, "provider_updated_at", TimestamptzType(), doc="provider's last-update time, if sent"),
    _f(12, "schema_version", StringType(), True, "payload shape detected, e.g. v6-latest-flat"),
    _f(13, "transform_version", IntegerType(), True),
    _f(14, "is_jump", BooleanType(), True, "day-over-day change above the threshold"),
    _f(15, "is_stale", BooleanType(), True, "a latest-rate answer older than the threshold"),
)

SILVER_RATES: Final = TableSpec(
    namespace=SILVER_NAMESPACE,
    name="rates",
    schema=SILVER_RATES_SCHEMA,
    # 27 years of daily rates: one partition per year, not ~10,000 tiny day files.
    partition_spec=PartitionSpec(
        PartitionField(source_id=10, field_id=1000, transform=YearTransform(), name="rate_year")
    ),
    sort_order=SortOrder(
        SortField(source_id=10, transform=IdentityTransform()),
        SortField(source_id=6, transform=IdentityTransform()),
        SortField(source_id=7, transform=IdentityTransform()),
    ),
    properties={**_DERIVED_PROPERTIES, **_POINT_LOOKUP_PROPERTIES},
    parquet=SILVER_RATES_LAYOUT,
)

SILVER_REJECTS_SCHEMA: Final = Schema(
    _f(1, "extraction_id", StringType(), True),
    _f(2, "extraction_timestamp", TimestamptzType(), True),
    _f(3, "source_name", StringType(), True),
    _f(4, "source_version", StringType()),
    _f(5, "source_tier", StringType(), True),
    _f(6, "rule", StringType(), True, "the validation rule that failed"),
    _f(7, "field", StringType(), doc="which value offended (quote_currency, rate, payload...)"),
    _f(8, "offending_value", StringType(), doc="the value as found, cut to 200 characters"),
    _f(9, "detail", StringType()),
    _f(10, "base_currency", StringType()),
    _f(11, "quote_currency", StringType()),
    _f(12, "rate_date", DateType()),
    _f(13, "transform_version", IntegerType(), True),
)

SILVER_REJECTS: Final = TableSpec(
    namespace=SILVER_NAMESPACE,
    name="rejects",
    schema=SILVER_REJECTS_SCHEMA,
    # Rejects are few; one unpartitioned table keeps range overwrites simple.
    properties={**_DERIVED_PROPERTIES},
)

GOLD_DIM_CURRENCY: Final = TableSpec(
    namespace=GOLD_NAMESPACE,
    name="dim_currency",
    schema=Schema(
        _f(1, "currency_code", StringType(), True, "ISO 4217 alphabetic code"),
        _f(2, "currency_name", StringType(), True),
        _f(3, "numeric_code", StringType(), doc="ISO 4217 numeric code, zero-padded"),
        _f(4, "minor_units", IntegerType(), doc="decimal places; null where ISO says N.A."),
        _f(5, "is_active", BooleanType(), True, "false for historical codes (CYP, ROL, ...)"),
        _f(6, "first_rate_date", DateType(), doc="first date silver has a rate for it"),
        _f(7, "last_rate_date", DateType(), doc="last date silver has a rate for it"),
    ),
    properties={**_DERIVED_PROPERTIES},
)

GOLD_DIM_DATE: Final = TableSpec(
    namespace=GOLD_NAMESPACE,
    name="dim_date",
    schema=Schema(
        _f(1, "date_key", IntegerType(), True, "yyyymmdd"),
        _f(2, "date", DateType(), True),
        _f(3, "year", IntegerType(), True),
        _f(4, "quarter", IntegerType(), True),
        _f(5, "month", IntegerType(), True),
        _f(6, "day", IntegerType(), True),
        _f(7, "iso_week", IntegerType(), True),
        _f(8, "iso_weekday", IntegerType(), True, "1 = Monday"),
        _f(9, "is_weekend", BooleanType(), True),
    ),
    properties={**_DERIVED_PROPERTIES},
)

GOLD_DIM_SOURCE: Final = TableSpec(
    namespace=GOLD_NAMESPACE,
    name="dim_source",
    schema=Schema(
        _f(1, "source_name", StringType(), True),
        _f(2, "provider", StringType(), True),
        _f(3, "description", StringType(), True),
        _f(4, "needs_api_key", BooleanType(), True),
        _f(5, "is_authoritative", BooleanType(), True, "publishes reference rates itself"),
    ),
    properties={**_DERIVED_PROPERTIES},
)

GOLD_FACT_RATE: Final = TableSpec(
    namespace=GOLD_NAMESPACE,
    name="fact_rate",
    schema=Schema(
        _f(1, "rate_date", DateType(), True),
        _f(2, "date_key", IntegerType(), True, "joins dim_date"),
        _f(3, "base_currency", StringType(), True),
        _f(4, "quote_currency", StringType(), True),
        _f(5, "source_name", StringType(), True, "joins dim_source"),
        _f(6, "source_tier", StringType(), True),
        _f(7, "rate", RATE_DECIMAL, True),
        _f(8, "rate_text", StringType(), doc="provider's text for direct rates, null if derived"),
        _f(9, "is_derived", BooleanType(), True, "a cross rate through pivot_currency"),
        _f(10, "pivot_currency", StringType()),
        _f(11, "is_best", BooleanType(), True, "the rate to use for this date and pair"),
        _f(12, "extraction_id", StringType(), True, "bronze row of the (quote leg of the) rate"),
        _f(13, "base_extraction_id", StringType(), doc="bronze row of the base leg if derived"),
        _f(14, "observed_at", TimestamptzType(), True, "extraction time of the observation"),
        _f(15, "transform_version", IntegerType(), True),
    ),
    partition_spec=PartitionSpec(
        PartitionField(source_id=1, field_id=1000, transform=YearTransform(), name="rate_year")
    ),
    sort_order=SortOrder(
        SortField(source_id=1, transform=IdentityTransform()),
        SortField(source_id=3, transform=IdentityTransform()),
        SortField(source_id=4, transform=IdentityTransform()),
    ),
    # A trace reads one fact: 2,048-row groups decode a quarter of what 8,192 do. Gold is
    # the serving table; its full scans (publish, SQL) go through four times as many
    # groups.
    #
    # LZ4, not zstd: a group that small is about 30 tiny pages, and Arrow sets up a zstd
    # decompression context for every page, which is most of the cost of reading one;
    # LZ4 reads about as fast as uncompressed. Gold's files grow by about a third and are
    # written faster.
    properties={
        **_DERIVED_PROPERTIES,
        **_POINT_LOOKUP_PROPERTIES,
        "write.parquet.row-group-limit": "2048",
        "write.parquet.compression-codec": "lz4",
    },
    parquet=RATE_COLUMNS_LAYOUT,
)

SILVER_TRANSFORM_LOG: Final = TableSpec(
    namespace=SILVER_NAMESPACE,
    name="transform_log",
    schema=Schema(
        _f(1, "extraction_id", StringType(), True, "bronze row carried through silver and gold"),
        _f(2, "extraction_timestamp", TimestamptzType(), True),
        _f(3, "transform_version", IntegerType(), True),
        _f(4, "transformed_at", TimestamptzType(), True, "when its transform run finished"),
        _f(5, "run_id", StringType(), True, "UUID shared by the rows of one run"),
    ),
    # Written last by every transform run: a bronze row is pending until it is here, so
    # a run killed between its silver and gold commits is finished by the next one.
    properties={**_DERIVED_PROPERTIES},
)

SILVER_TABLES: Final = (SILVER_RATES, SILVER_REJECTS, SILVER_TRANSFORM_LOG)
GOLD_TABLES: Final = (GOLD_DIM_CURRENCY, GOLD_DIM_DATE, GOLD_DIM_SOURCE, GOLD_FACT_RATE)

# --- audit ----------------------------------------------------------------------------
AUDIT_NAMESPACE: Final = "audit"

AUDIT_ACCESS_LOG: Final = TableSpec(
    namespace=AUDIT_NAMESPACE,
    name="access_log",
    schema=Schema(
        _f(1, "audit_id", StringType(), True, "UUID of this entry"),
        _f(2, "accessed_at", TimestamptzType(), True, "when the read happened (UTC)"),
        _f(3, "principal", StringType(), True, "configured principal, else the OS user"),
        _f(4, "action", StringType(), True, "trace, read, diff, sql, publish, retention_purge..."),
        _f(5, "table_name", StringType(), True),
        _f(
            6,
            "record_ids",
            ListType(element_id=11, element_type=StringType(), element_required=True),
            True,
            "extraction ids (or other keys) the read returned",
        ),
        _f(7, "host", StringType(), True),
        _f(8, "ip_address", StringType(), doc="address of host, when it resolves"),
        _f(9, "query_text", StringType(), doc="the query or command, secrets redacted"),
        _f(10, "process_id", LongType(), True),
    ),
    # Entries are tiny and written in batches: a month per partition keeps files few
    # while a time-bounded audit query still prunes to the months it asks about.
    partition_spec=PartitionSpec(
        PartitionField(source_id=2, field_id=1000, transform=MonthTransform(), name="access_month")
    ),
    sort_order=SortOrder(SortField(source_id=2, transform=IdentityTransform())),
    # Every flush is a commit; keep the metadata.json trail bounded like silver/gold.
    properties={**_DERIVED_PROPERTIES},
)

AUDIT_TABLES: Final = (AUDIT_ACCESS_LOG, AUDIT_WAP_CHECKS, AUDIT_LEGAL_HOLDS)

ALL_TABLES: Final[tuple[TableSpec, ...]] = (
    BRONZE_EXTRACTIONS,
    *SILVER_TABLES,
    *GOLD_TABLES,
    *AUDIT_TABLES,
)


def spec_named(name: str) -> TableSpec:
    """The table named ``namespace.name``, or by its short name (``fact_rate``).

    Raises:
        LakeError: No table has that name; the message lists the tables there are.
    """
    wanted = name.strip().lower()
    for spec in ALL_TABLES:
        if wanted in (spec.identifier, spec.name):
            return spec
    raise LakeError(
        "no such table", table=name, tables=", ".join(s.identifier for s in ALL_TABLES)
    )
