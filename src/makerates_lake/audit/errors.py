"""Errors of the audit stage.

::

    AuditError                               (makerates_lake.errors)
     ├── SnapshotNotFoundError (LookupError) (makerates_lake.store.refs)
     ├── AccessLogError                      an access-log entry could not be written
     │                                       (makerates_lake.errors)
     ├── RecordNotFoundError (LookupError)   no fact / silver row / bronze row to trace
     └── RetentionError                      a purge or expiry that the policy forbids
                                             (makerates_lake.errors)
"""

from __future__ import annotations

from makerates_lake.errors import AccessLogError, AuditError, RetentionError

__all__ = ["AccessLogError", "DiffKeyError", "RecordNotFoundError", "RetentionError"]


class RecordNotFoundError(AuditError, LookupError):
    """Nothing to trace: no fact, silver row or bronze row matches."""


class DiffKeyError(AuditError, ValueError):
    """The key given for a diff is missing or does not identify one row."""
