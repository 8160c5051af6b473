"""Silver: bronze payloads parsed and validated into exact-decimal rate rows."""

from makerates_lake.silver.build import SilverResult, reprocess_silver, transform
from makerates_lake.silver.errors import SilverError, UnknownTransformVersionError
from makerates_lake.silver.parse import ParsedBatch, parse_bronze
from makerates_lake.silver.transform import SilverBatch, transform_bronze
from makerates_lake.silver.validate import flag_suspicious, validate
from makerates_lake.silver.versions import CURRENT_TRANSFORM_VERSION, TRANSFORM_RULES, rules_for

__all__ = [
    "CURRENT_TRANSFORM_VERSION",
    "TRANSFORM_RULES",
    "ParsedBatch",
    "SilverBatch",
    "SilverError",
    "SilverResult",
    "UnknownTransformVersionError",
    "flag_suspicious",
    "parse_bronze",
    "reprocess_silver",
    "rules_for",
    "transform",
    "transform_bronze",
    "validate",
]
