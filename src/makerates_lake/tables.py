"""Every table's schema, partition spec, sort order and properties.

The specs are data: :mod:`makerates_lake.lake` creates whatever is listed in
:data:`ALL_TABLES`. Each stage adds its tables here so one file shows the whole lake.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC, PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table.sorting import UNSORTED_SORT_ORDER, SortField, SortOrder
from pyiceberg.transforms import DayTransform, IdentityTransform
from pyiceberg.types import (
    BinaryType,
    DoubleType,
    IntegerType,
    LongType,
    NestedField,
    StringType,
    TimestamptzType,
)

BRONZE_NAMESPACE: Final = "bronze"
NAMESPACES: Final = ("bronze", "silver", "gold", "audit")

# zstd: the bodies are JSON/XML text that compresses ~10x; it is also what the
# design document compared against JSONB.
_COMMON_PROPERTIES: Final = {
    "write.parquet.compression-codec": "zstd",
    "format-version": "2",
}


@dataclass(frozen=True)
class TableSpec:
    """How to create one table.

    Attributes:
        namespace: Iceberg namespace (a pipeline stage).
        name: Table name inside the namespace.
        schema: Iceberg schema with stable field ids.
        partition_spec: Partitioning; bronze by day, silver/gold coarser.
        sort_order: Sort order of written files.
        properties: Table properties.
        in_bronze_bucket: True for tables that live in the WORM bronze location.
    """

    namespace: str
    name: str
    schema: Schema
    partition_spec: PartitionSpec = UNPARTITIONED_PARTITION_SPEC
    sort_order: SortOrder = UNSORTED_SORT_ORDER
    properties: dict[str, str] = field(default_factory=dict)
    in_bronze_bucket: bool = False

    @property
    def identifier(self) -> str:
        """``namespace.name``."""
        return f"{self.namespace}.{self.name}"


def _f(field_id: int, name: str, kind: object, required: bool = False, doc: str = "") -> NestedField:
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
    identifier_field_ids=[],
)

BRONZE_EXTRACTIONS: Final = TableSpec(
    namespace=BRONZE_NAMESPACE,
    name="extractions",
    schema=BRONZE_EXTRACTIONS_SCHEMA,
    partition_spec=PartitionSpec(
        PartitionField(
            source_id=2, field_id=1000, transform=DayTransform(), name="extraction_day"
        )
    ),
    sort_order=SortOrder(SortField(source_id=2, transform=IdentityTransform())),
    properties={**_COMMON_PROPERTIES},
    in_bronze_bucket=True,
)

ALL_TABLES: Final[tuple[TableSpec, ...]] = (BRONZE_EXTRACTIONS,)
