"""S3 Object Lock (WORM) for bronze, through the MinIO SDK: create the bucket, lock what a
commit wrote, hold objects for an audit freeze, and read back what a lock says."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from makerates_lake.errors import BronzeError

if TYPE_CHECKING:
    from minio import Minio
    from pyiceberg.table import Table

COMPLIANCE: Final = "COMPLIANCE"
GOVERNANCE: Final = "GOVERNANCE"
#: What S3 answers when a bucket was never given Object Lock.
_NO_LOCK_CONFIG: Final = "ObjectLockConfigurationNotFoundError"
#: What servers answer for an object that carries no retention (the SDK maps only the
#: first to None; SeaweedFS answers the second, as for a bucket).
_NO_RETENTION: Final = frozenset(
    {"NoSuchObjectLockConfiguration", "ObjectLockConfigurationNotFoundError"}
)


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> ``(bucket, key)``."""
    parts = urlsplit(uri)
    if parts.scheme not in {"s3", "s3a"}:
        raise BronzeError("not an S3 URI", uri=uri)
    return parts.netloc, parts.path.lstrip("/")


def create_worm_bucket(
    client: Minio, bucket: str, *, default_retention_days: int = 1, mode: str = COMPLIANCE
) -> None:
    """Create a bucket with versioning and Object Lock and a default retention rule.

    The default rule locks every object from the moment it is written; the writer then
    extends each bronze object to the end of its rows' ``retention_policy``. S3 only
    accepts a default rule on an empty bucket, so call this at set-up time.
    """
    from minio.commonconfig import ENABLED
    from minio.objectlockconfig import DAYS, ObjectLockConfig
    from minio.versioningconfig import VersioningConfig

    client.make_bucket(bucket, object_lock=True)
    client.set_bucket_versioning(bucket, VersioningConfig(ENABLED))
    client.set_object_lock_config(
        bucket, ObjectLockConfig(mode, default_retention_days, DAYS)
    )


def object_lock_enabled(client: Minio, bucket: str) -> bool:
    """True when ``bucket`` has Object Lock enabled.

    Raises:
        S3Error: Anything but "this bucket has no Object Lock configuration".
    """
    from minio.error import S3Error

    try:
        client.get_object_lock_config(bucket)
    except S3Error as exc:
        if exc.code == _NO_LOCK_CONFIG:
            return False
        raise
    return True


def lock_objects(
    client: Minio, uris: Iterable[str], until: datetime, *, mode: str = COMPLIANCE
) -> int:
    """Set (or extend) retention on each object; returns how many were locked.

    COMPLIANCE retention can be extended but never shortened, so a file that already
    holds a later date keeps it: we only ever raise the date.
    """
    from minio.error import S3Error
    from minio.retention import Retention

    # S3 keeps retention dates to the whole second and servers round down: rounding up
    # here keeps every object locked at least until its rows' retention ends.
    if until.microsecond:
        until = until.replace(microsecond=0) + timedelta(seconds=1)
    locked = 0
    for uri in uris:
        bucket, key = split_s3_uri(uri)
        try:
            client.set_object_retention(bucket, key, Retention(mode, until))
        except S3Error as exc:
            # Refused when the object already holds a later date (COMPLIANCE cannot be
            # shortened): the object stays locked at least until ``until`` either way.
            current = retention_of(client, uri)
            if current is None or current[1] < until:
                raise BronzeError(
                    f"cannot lock bronze object: {exc.code}: {exc.message}",
                    bucket=bucket,
                    key=key,
                ) from None
        locked += 1
    return locked


def retention_of(client: Minio, uri: str) -> tuple[str, datetime] | None:
    """The mode and end of an object's retention; None when it has none.

    Raises:
        S3Error: The server could not answer (anything but "no retention").
    """
    from minio.error import S3Error

    bucket, key = split_s3_uri(uri)
    try:
        retention = client.get_object_retention(bucket, key)
    except S3Error as exc:
        if exc.code in _NO_RETENTION:
            return None
        raise
    if retention is None or retention.retain_until_date is None:
        return None
    return str(retention.mode), retention.retain_until_date


def set_legal_hold(client: Minio, uris: Iterable[str], *, on: bool) -> int:
    """Put (``on``) or lift a legal hold on each object; returns how many.

    A legal hold has no end date: the object cannot be deleted or overwritten in place
    until the hold is lifted, whatever its retention says (an audit freeze).
    """
    count = 0
    for uri in uris:
        bucket, key = split_s3_uri(uri)
        if on:
            client.enable_object_legal_hold(bucket, key)
        else:
            client.disable_object_legal_hold(bucket, key)
        count += 1
    return count


def legal_hold_on(client: Minio, uri: str) -> bool:
    """True when the object is under a legal hold."""
    bucket, key = split_s3_uri(uri)
    return bool(client.is_object_legal_hold_enabled(bucket, key))


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
