"""Access to S3 object storage, built once from the settings for every client that needs it.

PyIceberg's FileIO, the object-store readers of Polars and DuckDB, and the MinIO SDK
(Object Lock, retention, legal holds, listings) each spell the same endpoint, region and
credentials their own way; :class:`S3Access` holds them once and renders each spelling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from makerates_lake.secret import Secret
from makerates_lake.settings import Settings

if TYPE_CHECKING:
    from minio import Minio


def uses_s3(settings: Settings) -> bool:
    """Whether any warehouse of these settings is on S3."""
    return any(
        location.startswith(("s3://", "s3a://"))
        for location in (settings.resolved_warehouse, settings.resolved_bronze_warehouse)
    )


@dataclass(frozen=True)
class S3Access:
    """Endpoint, region and credentials of the object store (the secret stays masked)."""

    region: str
    endpoint: str | None = None
    access_key_id: str | None = None
    secret_access_key: Secret | None = None
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Access:
        """The S3 access these settings describe."""
        return cls(
            region=settings.s3_region,
            endpoint=settings.s3_endpoint or None,
            access_key_id=settings.s3_access_key_id or None,
            secret_access_key=settings.s3_secret_access_key,
            connect_timeout_s=settings.http_connect_timeout_s,
            read_timeout_s=settings.http_read_timeout_s,
        )

    def pyiceberg_properties(self) -> dict[str, str]:
        """PyIceberg FileIO properties (``s3.*``); holds the secret: never log them."""
        return {
            f"s3.{key}": value
            for key, value in self._values(
                "region", "endpoint", "access-key-id", "secret-access-key"
            ).items()
        }

    def object_store_options(self) -> dict[str, str]:
        """``storage_options`` for Polars and other object_store readers (``aws_*``)."""
        options = {
            f"aws_{key}": value
            for key, value in self._values(
                "region", "endpoint_url", "access_key_id", "secret_access_key"
            ).items()
        }
        if self.endpoint:
            options["aws_allow_http"] = str(self.endpoint.startswith("http://")).lower()
        return options

    def minio_client(self) -> Minio:
        """A MinIO SDK client: the object-store administration (buckets, Object Lock,
        retention, legal holds, listings) goes through it.

        Without a configured key it takes credentials the way boto3 and s3fs do (the
        ``AWS_*`` environment, ``~/.aws``, an instance or pod role), so a role-based
        deployment that PyIceberg can write to can lock what it wrote. Its timeouts are
        the settings' HTTP ones (the SDK's own are five minutes, retried five times), and
        a private CA named by ``AWS_CA_BUNDLE`` or ``SSL_CERT_FILE`` is trusted.
        """
        import os
        from urllib.parse import urlsplit

        import certifi
        import urllib3
        from minio import Minio
        from minio.credentials.providers import (
            AWSConfigProvider,
            ChainedProvider,
            EnvAWSProvider,
            IamAwsProvider,
        )

        endpoint = urlsplit(self.endpoint or "https://s3.amazonaws.com")
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=self.connect_timeout_s, read=self.read_timeout_s),
            retries=urllib3.Retry(
                total=3, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504)
            ),
            cert_reqs="CERT_REQUIRED",
            ca_certs=os.environ.get("AWS_CA_BUNDLE")
            or os.environ.get("SSL_CERT_FILE")
            or certifi.where(),
        )
        if self.access_key_id and self.secret_access_key:
            return Minio(
                endpoint.netloc,
                access_key=self.access_key_id,
                secret_key=self.secret_access_key.reveal(),
                region=self.region,
                secure=endpoint.scheme == "https",
                http_client=http,
            )
        chain = ChainedProvider([EnvAWSProvider(), AWSConfigProvider(), IamAwsProvider()])
        return Minio(
            endpoint.netloc,
            credentials=chain,
            region=self.region,
            secure=endpoint.scheme == "https",
            http_client=http,
        )

    def _values(self, region: str, endpoint: str, key_id: str, secret: str) -> dict[str, str]:
        """The set values under the given names, in the order region, endpoint, key, secret."""
        values = {region: self.region}
        if self.endpoint:
            values[endpoint] = self.endpoint
        if self.access_key_id:
            values[key_id] = self.access_key_id
        if self.secret_access_key:
            values[secret] = self.secret_access_key.reveal()
        return values
