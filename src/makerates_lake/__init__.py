"""makerates_lake: an auditable lakehouse of currency exchange rates.

Raw API responses live verbatim in an append-only bronze Iceberg table, exact-decimal
rates in silver, a star schema in gold. Start with :func:`open_lake`::

    import makerates_lake as mr
    lake = mr.open_lake()           # embedded default: SQLite catalog + local warehouse
    mr.backfill(lake)               # bundled ECB sample -> bronze -> silver -> gold
    lake.read("gold.fact_rate")     # a polars.DataFrame; lake.scan(...) for a LazyFrame
    lake.sql("SELECT max(rate_date) FROM gold.fact_rate")
    mr.rates(lake, quotes=["USD", "JPY"])          # the newest rates, with provenance
    mr.convert(lake, "100", "USD", "JPY").result   # exact, not rounded
    mr.trace(lake, "2026-10-30", "USD", "JPY")     # back to the bronze bytes

Every ``as_of`` takes a snapshot id, a tag or a timezone-aware datetime; every data read
writes one access-log entry (:func:`access_log` shows them).
"""

import importlib as _importlib
import typing as _typing
from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _version

if _typing.TYPE_CHECKING:
    from makerates_lake.audit.access_report import access_log
    from makerates_lake.audit.diff import diff_snapshots as diff
    from makerates_lake.audit.verify import verify_lake as verify
    from makerates_lake.errors import ConfigError, LakeError, MakeratesError
    from makerates_lake.gold.rates import average_rates, closing_rates, convert, rates
    from makerates_lake.lakehouse import Lakehouse, open_lake, trace
    from makerates_lake.pipeline import (
        backfill,
        ingest,
        reprocess,
        sample_ecb_history,
        transform_rules,
    )
    from makerates_lake.pipeline import (
        run_transform as transform,
    )
    from makerates_lake.pipeline.daily import run
    from makerates_lake.secret import Secret
    from makerates_lake.settings import Settings, load_settings
    from makerates_lake.store.refs import AsOf

#: Where each public name lives (module, attribute). They are imported on first use
#: (PEP 562), so ``import makerates_lake`` (and the ``makerates`` CLI, which lives in this
#: package) does not pay for pyiceberg, pyarrow and polars until something needs them.
_EXPORTS: dict[str, tuple[str, str]] = {
    "AsOf": ("makerates_lake.store.refs", "AsOf"),
    "ConfigError": ("makerates_lake.errors", "ConfigError"),
    "LakeError": ("makerates_lake.errors", "LakeError"),
    "Lakehouse": ("makerates_lake.lakehouse", "Lakehouse"),
    "MakeratesError": ("makerates_lake.errors", "MakeratesError"),
    "Secret": ("makerates_lake.secret", "Secret"),
    "Settings": ("makerates_lake.settings", "Settings"),
    "access_log": ("makerates_lake.audit.access_report", "access_log"),
    "average_rates": ("makerates_lake.gold.rates", "average_rates"),
    "backfill": ("makerates_lake.pipeline", "backfill"),
    "closing_rates": ("makerates_lake.gold.rates", "closing_rates"),
    "convert": ("makerates_lake.gold.rates", "convert"),
    "diff": ("makerates_lake.audit.diff", "diff_snapshots"),
    "ingest": ("makerates_lake.pipeline", "ingest"),
    "load_settings": ("makerates_lake.settings", "load_settings"),
    "open_lake": ("makerates_lake.lakehouse", "open_lake"),
    "rates": ("makerates_lake.gold.rates", "rates"),
    "reprocess": ("makerates_lake.pipeline", "reprocess"),
    "run": ("makerates_lake.pipeline.daily", "run"),
    "sample_ecb_history": ("makerates_lake.pipeline", "sample_ecb_history"),
    "trace": ("makerates_lake.lakehouse", "trace"),
    "transform": ("makerates_lake.pipeline", "run_transform"),
    "transform_rules": ("makerates_lake.pipeline", "transform_rules"),
    "verify": ("makerates_lake.audit.verify", "verify_lake"),
}

try:
    __version__ = _version("makerates_lake")
except _PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"


def __getattr__(name: str) -> object:
    """Import a public name from its module the first time it is asked for."""
    where = _EXPORTS.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = where
    value = getattr(_importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "AsOf",
    "ConfigError",
    "LakeError",
    "Lakehouse",
    "MakeratesError",
    "Secret",
    "Settings",
    "__version__",
    "access_log",
    "average_rates",
    "backfill",
    "closing_rates",
    "convert",
    "diff",
    "ingest",
    "load_settings",
    "open_lake",
    "rates",
    "reprocess",
    "run",
    "sample_ecb_history",
    "trace",
    "transform",
    "transform_rules",
    "verify",
]
