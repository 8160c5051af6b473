"""Publish: the last N days of gold in PostgreSQL behind one atomically switched view."""

from makerates_lake.publish.errors import (
    CopyEncodeError,
    InvalidCurrencyError,
    NothingToPublishError,
    PublishConfigError,
    PublishLoadError,
    TagError,
)
from makerates_lake.publish.frame import COLUMNS, publish_frame
from makerates_lake.publish.postgres import PublishResult, publish

__all__ = [
    "COLUMNS",
    "CopyEncodeError",
    "InvalidCurrencyError",
    "NothingToPublishError",
    "PublishConfigError",
    "PublishLoadError",
    "PublishResult",
    "TagError",
    "publish",
    "publish_frame",
]
