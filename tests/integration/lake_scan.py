"""Every byte a lake holds, decoded: for proving that a secret is stored nowhere.

Files are read raw from the lake's folder (catalog database included) or, on S3, every
version of every object in both buckets, plus every row of the PostgreSQL catalog. Each
blob is then expanded as far as it goes: Parquet read back (each value expanded in
turn: a stored body may itself be a zip), Avro blocks decompressed (Iceberg manifests
and manifest lists), gzip, zstd and zip expanded. A secret hidden by any of those
encodings is found by a plain substring search of the result.
"""

from __future__ import annotations

import gzip
import io
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

from makerates_lake.store.catalog import Lake
from makerates_lake.store.worm import split_s3_uri
from tests.s3_tools import boto3_client

_MAX_DEPTH = 5


def _raw_files(lake: Lake) -> Iterator[bytes]:
    settings = lake.settings
    if settings.home.exists():
        for path in sorted(settings.home.rglob("*")):
            if path.is_file():
                yield path.read_bytes()
    for location in {settings.resolved_warehouse, settings.resolved_bronze_warehouse}:
        if location.startswith("file://"):
            root = Path(urlsplit(location).path)
            if root.is_relative_to(settings.home):
                continue  # read above
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    yield path.read_bytes()
            continue
        bucket, _ = split_s3_uri(location)
        client = boto3_client(lake.settings)
        for version in client.list_object_versions(Bucket=bucket).get("Versions", []):
            yield client.get_object(
                Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"]
            )["Body"].read()
    uri = settings.resolved_catalog_uri
    if uri.startswith("postgresql"):
        dsn = uri.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(dsn) as conn:
            for (table,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall():
                yield repr(conn.execute(f'SELECT * FROM "{table}"').fetchall()).encode()


def _varint(data: bytes, at: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        byte = data[at]
        at += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return (result >> 1) ^ -(result & 1), at


def _avro_blocks(data: bytes) -> Iterator[bytes]:
    """The decompressed data blocks of an Avro object container file."""
    at = 4
    meta: dict[bytes, bytes] = {}
    while True:
        count, at = _varint(data, at)
        if count == 0:
            break
        if count < 0:
            _, at = _varint(data, at)
            count = -count
        for _ in range(count):
            size, at = _varint(data, at)
            key = data[at : at + size]
            at += size
            size, at = _varint(data, at)
            meta[key] = data[at : at + size]
            at += size
    yield repr(meta).encode()
    codec = meta.get(b"avro.codec", b"null")
    at += 16  # sync marker
    while at < len(data):
        _, at = _varint(data, at)
        size, at = _varint(data, at)
        block = data[at : at + size]
        at += size + 16
        if codec == b"deflate":
            block = zlib.decompress(block, -15)
        elif codec == b"zstandard":
            block = zstandard.ZstdDecompressor().decompressobj().decompress(block)
        elif codec != b"null":
            raise AssertionError(f"an Avro codec this scan cannot open: {codec!r}")
        yield block


def expand(blob: bytes, depth: int = 0) -> Iterator[bytes]:
    """``blob`` and everything it decodes to (Parquet, Avro, gzip, zstd, zip), recursively."""
    yield blob
    if depth >= _MAX_DEPTH or len(blob) < 4:
        return
    inner: list[bytes] = []
    head = blob[:4]
    if head == b"PAR1":
        table = pq.read_table(pa.BufferReader(blob))
        for column in table.columns:
            for value in column.to_pylist():
                if isinstance(value, bytes):
                    inner.append(value)
                elif isinstance(value, str):
                    inner.append(value.encode())
        inner.append(repr(table.to_pylist()).encode())
    elif head == b"Obj\x01":
        inner.extend(_avro_blocks(blob))
    elif head[:2] == b"\x1f\x8b":
        inner.append(gzip.decompress(blob))
    elif head == b"\x28\xb5\x2f\xfd":
        inner.append(zstandard.ZstdDecompressor().decompressobj().decompress(blob))
    elif head == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            inner.extend(archive.read(name) for name in archive.namelist())
    for item in inner:
        yield from expand(item, depth + 1)


def every_stored_blob(lake: Lake) -> list[bytes]:
    """Every file of the lake and everything it decodes to."""
    return [piece for raw in _raw_files(lake) for piece in expand(raw)]


def occurrences(blobs: list[bytes], needle: bytes) -> int:
    """How many times ``needle`` appears across ``blobs``."""
    return sum(blob.count(needle) for blob in blobs)
