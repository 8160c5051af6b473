"""Listing and removing files of a warehouse, on S3 (MinIO SDK) or a local folder."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from makerates_lake.store.catalog import Lake


def list_files(lake: Lake, location: str) -> Iterator[tuple[str, int, datetime]]:
    """(uri, size, modified) of every file under ``location``."""
    parts = urlsplit(location)
    if parts.scheme in {"s3", "s3a"}:
        bucket, prefix = parts.netloc, parts.path.strip("/") + "/"
        for obj in lake.object_store().list_objects(bucket, prefix=prefix, recursive=True):
            if obj.is_dir or obj.object_name is None:
                continue
            modified = obj.last_modified or datetime.now(UTC)
            yield f"s3://{bucket}/{obj.object_name}", obj.size or 0, modified
        return
    root = Path(unquote(parts.path)) if parts.scheme == "file" else Path(location)
    if not root.is_dir():
        return
    for path in root.rglob("*"):
        if path.is_file():
            stat = path.stat()
            yield path.as_uri(), stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC)


def remove_file(lake: Lake, uri: str) -> None:
    """Delete one file (an S3 object's current version: a delete marker when versioned)."""
    parts = urlsplit(uri)
    if parts.scheme in {"s3", "s3a"}:
        lake.object_store().remove_object(parts.netloc, parts.path.lstrip("/"))
    else:
        Path(unquote(parts.path)).unlink(missing_ok=True)
