"""Errors of the publish stage.

::

    PublishError                         (makerates_lake.errors)
     ├── PublishConfigError (ValueError)  no PostgreSQL DSN, or an invalid ``days``
     ├── NothingToPublishError            gold is empty at the chosen snapshot
     ├── InvalidCurrencyError (ValueError) a code that is not three capital letters
 ├── CopyEncodeError (ValueError)     rows cannot be encoded for binary COPY (a null, a type)
     ├── PublishLoadError                 loading, indexing or switching failed (transient)
     └── TagError                         published, but tagging the gold snapshot failed

The view always stays on the previous complete publish when any of them is raised
before the switch; messages never hold the DSN's password.
"""

from __future__ import annotations

from makerates_lake.errors import PublishError


class PublishConfigError(PublishError, ValueError):
    """``publish_dsn`` is not set, or the window is not a positive number of days."""


class NothingToPublishError(PublishError):
    """``gold.fact_rate`` has no rows to publish at the chosen snapshot."""


class InvalidCurrencyError(PublishError, ValueError):
    """A currency code is not three capital ASCII letters; nothing was sent to PostgreSQL."""


class CopyEncodeError(PublishError, ValueError):
    """Rows cannot be encoded for binary COPY (a null, an unsupported type, a malformed
    extraction id); nothing is committed (the load's transaction is rolled back)."""


class PublishLoadError(PublishError):
    """PostgreSQL refused the load, the indexes or the switch; the old view is intact."""

    transient = True


class TagError(PublishError):
    """The view was switched but the gold snapshot could not be tagged; publish again."""

    transient = True


__all__ = [
    "CopyEncodeError",
    "InvalidCurrencyError",
    "NothingToPublishError",
    "PublishConfigError",
    "PublishError",
    "PublishLoadError",
    "TagError",
]
