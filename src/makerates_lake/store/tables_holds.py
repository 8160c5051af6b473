"""``audit.legal_holds``: the register of legal holds on bronze objects (docs/audit.md).

A hold is a set of object versions frozen for one reason; S3 keeps only one on/off flag
per object, so the register is what lets two investigations overlap: releasing one lifts
only the objects no other active hold covers. Append-only, like the evidence it guards:
a hold writes a row per object, a release one row of its own. Listed in
:data:`makerates_lake.store.tables.ALL_TABLES` like every other table.
"""

from __future__ import annotations

from typing import Final

from pyiceberg.partitioning import PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.types import NestedField, StringType, TimestamptzType

from makerates_lake.store.specs import TableSpec

AUDIT_LEGAL_HOLDS: Final = TableSpec(
    namespace="audit",
    name="legal_holds",
    schema=Schema(
        NestedField(1, "hold_id", StringType(), required=True),
        NestedField(2, "event", StringType(), required=True, doc="hold or release"),
        NestedField(3, "at", TimestamptzType(), required=True),
        NestedField(4, "reason", StringType(), required=True, doc="why, e.g. a ticket"),
        NestedField(5, "window_start", TimestamptzType(), doc="first extraction time held"),
        NestedField(6, "window_end", TimestamptzType(), doc="end of the window (exclusive)"),
        NestedField(7, "object_uri", StringType(), doc="a held object; null on a release"),
    ),
    # A handful of events a year: one unpartitioned table stays a few small files.
    partition_spec=PartitionSpec(),
    properties={"write.parquet.compression-codec": "zstd", "format-version": "2"},
)
