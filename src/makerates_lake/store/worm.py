"""S3 Object Lock (WORM) for the bronze bucket: create it, and lock what a commit wrote."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from makerates_lake.errors import BronzeError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.literals import ObjectLockRetentionModeType
    from pyiceberg.table import Table


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> ``(bucket, key)``."""
    parts = urlsplit(uri)
    if parts.scheme not in {"s3", "s3a"}:
        raise BronzeError("not an S3 URI", uri=uri)
    return parts.netloc, parts.path.lstrip("/")


def create_worm_bucket(
    client: S3Client,
    bucket: str,
    *,
    default_retention_days: int = 1,
    mode: ObjectLockRetentionModeType = "COMPLIANCE",
) -> None:
    """Create a bucket with versioning and Object Lock and a default retention rule.

    The default rule locks every object from the moment it is written; the writer then
    extends each bronze object to the end of its rows' ``retention_policy``. S3 only
    accepts a default rule on an empty bucket, so call this at set-up time.
    """
    client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    client.put_object_lock_configuration(
        Bucket=bucket,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": mode, "Days": default_retention_days}},
        },
    )


def lock_objects(
    client: S3Client,
    uris: Iterable[str],
    until: datetime,
    *,
    mode: ObjectLockRetentionModeType = "COMPLIANCE",
) -> int:
    """Set (or extend) retention on each object; returns how many were locked.

    COMPLIANCE retention can be extended but never shortened, so a file that already
    holds a later date keeps it: we only ever raise the date.
    """
    from botocore.exceptions import ClientError

    locked = 0
    for uri in uris:
        bucket, key = split_s3_uri(uri)
        try:
            client.put_object_retention(
                Bucket=bucket,
                Key=key,
                Retention={"Mode": mode, "RetainUntilDate": until},
            )
        except ClientError as exc:
            # Refused when the object already holds a later date (COMPLIANCE cannot be
            # shortened): the object stays locked at least until ``until`` either way.
            current = client.head_object(Bucket=bucket, Key=key).get("ObjectLockRetainUntilDate")
            if current is None or current < until:
                raise BronzeError(
                    f"cannot lock bronze object: {exc}", bucket=bucket, key=key
                ) from None
        locked += 1
    return locked


def snapshot_objects(table: Table, snapshot_id: int, metadata_location: str) -> list[str]:
    """Every object the commit of ``snapshot_id`` wrote: its metadata file (given: the
    table may have moved on since), its manifest list, and the manifests and data files
    it added."""
    from pyiceberg.manifest import ManifestEntryStatus

    snapshot = table.snapshot_by_id(snapshot_id)
    if snapshot is None:
        raise BronzeError("no such snapshot to lock", snapshot_id=snapshot_id)
    uris = [metadata_location, snapshot.manifest_list]
    for manifest in snapshot.manifests(table.io):
        if manifest.added_snapshot_id != snapshot_id:
            continue
        uris.append(manifest.manifest_path)
        uris.extend(
            entry.data_file.file_path
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True)
            if entry.status == ManifestEntryStatus.ADDED and entry.snapshot_id == snapshot_id
        )
    return uris
