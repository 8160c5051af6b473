"""Table maintenance: manifest merging, compaction, snapshot expiry, orphan clean-up.

Keeps commit latency and read cost bounded after years of six ingests a day.
"""

from makerates_lake.maintenance.compact import CompactionResult, compact_table
from makerates_lake.maintenance.errors import CompactionMismatchError, MaintenanceError
from makerates_lake.maintenance.expire import ExpiryResult, expire_all, expire_bronze
from makerates_lake.maintenance.policy import MaintenancePolicy, apply_table_properties
from makerates_lake.maintenance.run import (
    MaintenanceReport,
    TableStats,
    maybe_maintain,
    run_maintenance,
    snapshots_since_maintenance,
    table_stats,
)
from makerates_lake.store.files import files_per_partition

__all__ = [
    "CompactionMismatchError",
    "CompactionResult",
    "ExpiryResult",
    "MaintenanceError",
    "MaintenancePolicy",
    "MaintenanceReport",
    "TableStats",
    "apply_table_properties",
    "compact_table",
    "expire_all",
    "expire_bronze",
    "files_per_partition",
    "maybe_maintain",
    "run_maintenance",
    "snapshots_since_maintenance",
    "table_stats",
]
