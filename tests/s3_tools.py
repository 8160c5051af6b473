"""An S3 client of the tests' own (boto3), independent of the library's MinIO SDK: the
tests check what the server holds with a second client, not with the code under test."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from makerates_lake.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def boto3_client(settings: Settings) -> S3Client:
    """A boto3 S3 client for the settings' endpoint and credentials (path-style)."""
    secret = settings.s3_secret_access_key
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint,
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=secret.reveal() if secret else None,
        region_name=settings.s3_region,
        config=Config(s3={"addressing_style": "path"}),
    )
