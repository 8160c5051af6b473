"""makerates_lake: an auditable lakehouse of currency exchange rates.

Raw API responses live verbatim in an append-only bronze Iceberg table, exact-decimal
rates in silver, a star schema in gold. Start with :func:`open_lake`::

    import makerates_lake as mr
    lake = mr.open_lake()           # embedded default: SQLite catalog + local warehouse
    mr.backfill(lake)               # bundled ECB sample -> bronze -> silver -> gold
    mr.rates(lake, quotes=["USD", "JPY"])          # the newest rates, with provenance
    mr.convert(lake, "100", "USD", "JPY").result   # exact, not rounded
"""

import importlib as _importlib
import typing as _typing
from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _version

if _typing.TYPE_CHECKING:
    from makerates_lake.bronze.verify import VerifyReport, verify_bronze
    from makerates_lake.errors import ConfigError, LakeError, MakeratesError
    from makerates_lake.gold.rates import average_rates, closing_rates, convert, rates
    from makerates_lake.pipeline import backfill, reprocess, run, sample_ecb_history
    from makerates_lake.secret import Secret
    from makerates_lake.settings import Settings, load_settings
    from makerates_lake.store.catalog import Lake, open_lake
    from makerates_lake.store.refs import AsOf, resolve_as_of

#: Where each public name lives. They are imported on first use (PEP 562), so
#: ``import makerates_lake`` (and the ``makerates`` CLI, which lives in this package)
#: does not pay for pyiceberg, pyarrow and polars until something needs them.
_EXPORTS: dict[str, str] = {
    "AsOf": "makerates_lake.store.refs",
    "ConfigError": "makerates_lake.errors",
    "Lake": "makerates_lake.store.catalog",
    "LakeError": "makerates_lake.errors",
    "MakeratesError": "makerates_lake.errors",
    "Secret": "makerates_lake.secret",
    "Settings": "makerates_lake.settings",
    "VerifyReport": "makerates_lake.bronze.verify",
    "average_rates": "makerates_lake.gold.rates",
    "backfill": "makerates_lake.pipeline",
    "closing_rates": "makerates_lake.gold.rates",
    "convert": "makerates_lake.gold.rates",
    "load_settings": "makerates_lake.settings",
    "open_lake": "makerates_lake.store.catalog",
    "rates": "makerates_lake.gold.rates",
    "reprocess": "makerates_lake.pipeline",
    "resolve_as_of": "makerates_lake.store.refs",
    "run": "makerates_lake.pipeline",
    "sample_ecb_history": "makerates_lake.pipeline",
    "verify_bronze": "makerates_lake.bronze.verify",
}

try:
    __version__ = _version("makerates_lake")
except _PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"


def __getattr__(name: str) -> object:
    """Import a public name from its module the first time it is asked for."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "AsOf",
    "ConfigError",
    "Lake",
    "LakeError",
    "MakeratesError",
    "Secret",
    "Settings",
    "VerifyReport",
    "__version__",
    "average_rates",
    "backfill",
    "closing_rates",
    "convert",
    "load_settings",
    "open_lake",
    "rates",
    "reprocess",
    "resolve_as_of",
    "run",
    "sample_ecb_history",
    "verify_bronze",
]
