"""One error tree for the whole library.

::

    MakeratesError
     ├── ConfigError (ValueError)          a setting is missing or invalid
     ├── LakeError                         the catalog or storage failed
     │    ├── CommitConflictError          concurrent writers kept winning (transient)
     │    └── RunInProgressError           another run holds the lake's run lock (transient)
     ├── BronzeError
     │    ├── InvalidRecordError (ValueError)
     │    └── DuplicateExtractionError     the same extraction_id written twice
     ├── ExtractError                      HTTP, TLS, source and secret failures
     ├── TransformError                    silver and gold
     ├── AuditError
     ├── FederateError
     └── PublishError

Every error carries its context as attributes, and ``transient`` says whether
trying again later can help. Secrets are never part of a message: callers pass
redacted URLs, and :func:`makerates_lake.redact.redact_text` scrubs the rest.
"""

from __future__ import annotations

from typing import Any


class MakeratesError(Exception):
    """Root of every error this library raises on purpose."""

    transient: bool = False

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context: dict[str, Any] = context
        for key, value in context.items():
            setattr(self, key, value)

    def __str__(self) -> str:
        if not self.context:
            return self.message
        details = ", ".join(f"{key}={value!s}" for key, value in self.context.items())
        return f"{self.message} ({details})"


class ConfigError(MakeratesError, ValueError):
    """A setting is missing or invalid; names the key and every place looked at."""


class LakeError(MakeratesError):
    """Opening the catalog, creating tables or talking to storage failed."""


class CommitConflictError(LakeError):
    """Another writer committed first every time we tried; safe to try again."""

    transient = True


class RunInProgressError(LakeError):
    """Another process is running the same job on this lake; this one did nothing."""

    transient = True


class BronzeError(MakeratesError):
    """Base for the bronze layer."""


class InvalidRecordError(BronzeError, ValueError):
    """A bronze record breaks a rule of the schema (for example an HTTP status outside 100-599)."""


class DuplicateExtractionError(BronzeError):
    """An extraction_id that bronze already holds was written again in strict mode."""


class ExtractError(MakeratesError):
    """Base for the extraction stage: HTTP, TLS, sources and secrets."""


class TransformError(MakeratesError):
    """Base for silver and gold transforms."""


class AuditError(MakeratesError):
    """Base for trace, verify, time travel and the access log."""


class FederateError(MakeratesError):
    """Base for the DuckDB federation layer."""


class PublishError(MakeratesError):
    """Base for publishing to PostgreSQL."""


class AccessLogError(AuditError):
    """Writing the access log failed; the read it records must fail with it.

    Raised by the storage core (:mod:`makerates_lake.store.access_log`), which every
    stage's reads log through; it is an audit failure, so it derives from AuditError.
    """

    transient = True


class RetentionError(AuditError):
    """The retention policy forbids the requested removal (a bronze purge of rows still
    retained, or a snapshot expiry that would break as-of reads)."""
