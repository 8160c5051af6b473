"""Errors of the DuckDB federation layer.

::

    FederateError                      (makerates_lake.errors)
     ├── ExtensionError                an offline extension is missing or cannot load
     ├── AttachError                   the PostgreSQL database cannot be attached (transient)
     ├── AsOfNotFoundError (LookupError)  no table has the requested snapshot, tag or time
     └── QueryError (ValueError)       DuckDB refused or failed the SQL

Messages never hold the S3 secret or a PostgreSQL password: every DuckDB message is
scrubbed before it becomes an error.
"""

from __future__ import annotations

from makerates_lake.errors import FederateError


class ExtensionError(FederateError):
    """A DuckDB extension could not be installed from its wheel or loaded.

    Never a network problem: extensions come only from the ``duckdb-extension-*`` wheels.
    """


class AttachError(FederateError):
    """Attaching the publish PostgreSQL database failed; it may be down for a moment."""

    transient = True


class AsOfNotFoundError(FederateError, LookupError):
    """No lake table has a snapshot matching the requested ``--as-of``."""


class QueryError(FederateError, ValueError):
    """The SQL statement failed (syntax, binding, or execution)."""


__all__ = ["AsOfNotFoundError", "AttachError", "ExtensionError", "FederateError", "QueryError"]
