"""Bronze: every API response, verbatim, append-only."""

from makerates_lake.bronze.record import BronzeRecord, parse_retention_policy, retain_until
from makerates_lake.bronze.verify import VerifyReport, verify_bronze
from makerates_lake.bronze.writer import AppendResult, BronzeWriter

__all__ = [
    "AppendResult",
    "BronzeRecord",
    "BronzeWriter",
    "VerifyReport",
    "parse_retention_policy",
    "retain_until",
    "verify_bronze",
]
