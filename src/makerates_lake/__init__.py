"""makerates_lake: an auditable lakehouse of currency exchange rates.

Raw API responses live verbatim in an append-only bronze Iceberg table, exact-decimal
rates in silver, a star schema in gold. Start with :func:`open_lake`::

    import makerates_lake as mr
    lake = mr.open_lake()           # embedded default: SQLite catalog + local warehouse
    mr.backfill(lake)               # bundled ECB sample -> bronze -> silver -> gold
"""

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _version

from makerates_lake.bronze.record import BronzeRecord
from makerates_lake.bronze.verify import VerifyReport, verify_bronze
from makerates_lake.bronze.writer import AppendResult, BronzeWriter
from makerates_lake.errors import ConfigError, LakeError, MakeratesError
from makerates_lake.lake import Lake, open_lake
from makerates_lake.pipeline import backfill, reprocess, run, sample_ecb_history
from makerates_lake.secret import Secret
from makerates_lake.settings import Settings, load_settings
from makerates_lake.snapshots import AsOf, resolve_as_of

try:
    __version__ = _version("makerates_lake")
except _PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "AppendResult",
    "AsOf",
    "BronzeRecord",
    "BronzeWriter",
    "ConfigError",
    "Lake",
    "LakeError",
    "MakeratesError",
    "Secret",
    "Settings",
    "VerifyReport",
    "__version__",
    "backfill",
    "load_settings",
    "open_lake",
    "reprocess",
    "resolve_as_of",
    "run",
    "sample_ecb_history",
    "verify_bronze",
]
