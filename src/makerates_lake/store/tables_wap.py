"""``audit.wap_checks``: one row per check of a write-audit-publish run (docs/audit.md).

Its own module because :mod:`makerates_lake.store.tables` is at its size limit; it is
listed in :data:`makerates_lake.store.tables.ALL_TABLES` like every other table.
"""

from __future__ import annotations

from typing import Final

from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import MonthTransform
from pyiceberg.types import BooleanType, DoubleType, NestedField, StringType, TimestamptzType

from makerates_lake.store.specs import TableSpec

AUDIT_WAP_CHECKS: Final = TableSpec(
    namespace="audit",
    name="wap_checks",
    schema=Schema(
        NestedField(1, "branch", StringType(), required=True, doc="the run's branch, wap-..."),
        NestedField(2, "checked_at", TimestamptzType(), required=True),
        NestedField(3, "run_kind", StringType(), required=True, doc="transform or reprocess"),
        NestedField(4, "check_name", StringType(), required=True),
        NestedField(5, "passed", BooleanType(), required=True),
        NestedField(6, "observed", DoubleType(), doc="the measured value"),
        NestedField(7, "threshold", DoubleType(), doc="the bound from wap_thresholds"),
        NestedField(8, "detail", StringType(), doc="what failed, e.g. the days and sources"),
        NestedField(9, "outcome", StringType(), required=True, doc="published or held"),
    ),
    # A few rows per run: a month per partition keeps files few.
    partition_spec=PartitionSpec(
        PartitionField(source_id=2, field_id=1000, transform=MonthTransform(), name="check_month")
    ),
    properties={"write.parquet.compression-codec": "zstd", "format-version": "2"},
)
