"""DuckDB federation: SQL over every Iceberg snapshot, joined with the published PostgreSQL view.

Extensions come from the offline ``duckdb-extension-*`` wheels only; nothing is downloaded.
"""

from makerates_lake.federate.connection import connect, default_extension_directory
from makerates_lake.federate.errors import (
    AsOfNotFoundError,
    AttachError,
    ExtensionError,
    QueryError,
)
from makerates_lake.federate.extensions import EXTENSIONS, load_offline, offline_config
from makerates_lake.federate.query import as_of_view, referenced_tables, run_sql

__all__ = [
    "EXTENSIONS",
    "AsOfNotFoundError",
    "AttachError",
    "ExtensionError",
    "QueryError",
    "as_of_view",
    "connect",
    "default_extension_directory",
    "load_offline",
    "offline_config",
    "referenced_tables",
    "run_sql",
]
