"""Errors of the audit stage.

::

    AuditError                               (makerates_lake.errors)
     ├── SnapshotNotFoundError (LookupError) (makerates_lake.store.refs)
     ├── AccessLogError                      an access-log entry could not be written
     ├── RecordNotFoundError (LookupError)   no fact / silver row / bronze row to trace
     └── RetentionError                      a purge or expiry that the policy forbids
"""

from __future__ import annotations

from makerates_lake.errors import AuditError


class AccessLogError(AuditError):
    """Writing the access log failed; the read it records must fail with it."""

    transient = True


class RecordNotFoundError(AuditError, LookupError):
    """Nothing to trace: no fact, silver row or bronze row matches."""


class RetentionError(AuditError):
    """The retention policy forbids the requested removal."""


class DiffKeyError(AuditError, ValueError):
    """The key given for a diff is missing or does not identify one row."""
