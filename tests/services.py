"""Real services for the test session: a throwaway PostgreSQL (SeaweedFS, the S3 server
and Iceberg REST catalog, is in :mod:`tests.seaweed`).

Both are started as child processes on loopback. When one cannot start, the error says
why, and the fixtures turn it into a test failure: nothing is skipped silently.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import random
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PG_BIN_DIRS = tuple(f"/usr/lib/postgresql/{major}/bin" for major in (15, 16, 17))


class ServiceStartError(RuntimeError):
    """A test service could not be started; the message says which and why."""


class ServiceStopError(RuntimeError):
    """A test service could not be stopped on purpose; the message says why."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago, below the kernel's ephemeral
    range when there is room: a port from that range (what binding port 0 gives) can be
    taken as the source port of any outgoing connection before the server listens on it,
    e.g. one of SeaweedFS's own components connecting to another while it starts."""
    low = _ephemeral_start()
    for _ in range(200):
        port = random.randrange(_LISTEN_PORTS_FROM, low) if low > _LISTEN_PORTS_FROM + 1000 else 0
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise ServiceStartError(
        f"no free TCP port on 127.0.0.1 in 200 tries between {_LISTEN_PORTS_FROM} and {low}"
    )


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports, each as :func:`free_port` gives them."""
    ports: list[int] = []
    for _ in range(50 * count):
        if (port := free_port()) not in ports:
            ports.append(port)
        if len(ports) == count:
            return ports
    raise ServiceStartError(f"{count} distinct free TCP ports not found on 127.0.0.1")


#: Where listening ports are drawn from: above the well-known and common service ports.
_LISTEN_PORTS_FROM = 20_000


def _ephemeral_start() -> int:
    """The first port of the kernel's range for outgoing connections (Linux's default
    32768 when it cannot be read)."""
    with contextlib.suppress(OSError, ValueError):
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    return 32_768


def _wait_for_port(port: int, timeout: float, what: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceStartError(f"{what} exited with code {proc.returncode} while starting")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise ServiceStartError(f"{what} did not open port {port} within {timeout} s")


@dataclass
class PostgresServer:
    """A throwaway PostgreSQL cluster on 127.0.0.1, trust authentication.

    Besides :meth:`start` (new cluster) and :meth:`stop` (gone for good), a test that owns
    the server can :meth:`halt` it for real (``pg_ctl stop``) and :meth:`resume` it on the
    same data directory and port, with everything it had committed.
    """

    port: int
    data_dir: Path
    run_as: str | None
    bin_dir: Path | None = None
    options: str = ""

    @property
    def admin_dsn(self) -> str:
        """psycopg DSN of the ``postgres`` database as the superuser."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @classmethod
    def start(cls) -> PostgresServer:
        """initdb + pg_ctl start; as root, both run as the unprivileged ``postgres`` user."""
        bin_dir = next((Path(d) for d in PG_BIN_DIRS if Path(d, "initdb").exists()), None)
        if bin_dir is None:
            raise ServiceStartError(
                "no PostgreSQL server binaries in "
                + ", ".join(PG_BIN_DIRS)
                + " (install postgresql, or set MAKERATES_TEST_PG_DSN)"
            )
        run_as = None
        if os.geteuid() == 0:
            # initdb refuses to run as root.
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise ServiceStartError("running as root but there is no 'postgres' user") from None
            run_as = "postgres"
        data_dir = Path(tempfile.mkdtemp(prefix="makerates-pg-"))
        if run_as:
            shutil.chown(data_dir, user=run_as)
        port = free_port()
        prefix = ["runuser", "-u", run_as, "--"] if run_as else []
        initdb = subprocess.run(
            [
                *prefix,
                str(bin_dir / "initdb"),
                "-D",
                str(data_dir / "data"),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if initdb.returncode != 0:
            raise ServiceStartError(f"initdb failed: {initdb.stderr.strip()[-800:]}")
        options = (
            f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={data_dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        server = cls(port=port, data_dir=data_dir, run_as=run_as, bin_dir=bin_dir, options=options)
        server.resume()
        return server

    def _pg_ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        bin_dir = self.bin_dir or next(Path(d) for d in PG_BIN_DIRS if Path(d, "pg_ctl").exists())
        prefix = ["runuser", "-u", self.run_as, "--"] if self.run_as else []
        return subprocess.run(
            [*prefix, str(bin_dir / "pg_ctl"), "-D", str(self.data_dir / "data"), *args],
            capture_output=True,
            text=True,
            check=False,
        )

    def resume(self) -> None:
        """``pg_ctl start`` on this data directory and port; returns once it accepts connections.

        Raises:
            ServiceStartError: The server did not start (the log's tail says why).
        """
        start = self._pg_ctl(
            "-o", self.options, "-l", str(self.data_dir / "server.log"), "-w", "-t", "60", "start"
        )
        if start.returncode != 0:
            log = (self.data_dir / "server.log").read_text(errors="replace")[-800:]
            raise ServiceStartError(f"pg_ctl start failed: {start.stderr.strip()} {log}")

    def halt(self, mode: str = "fast") -> None:
        """``pg_ctl stop -m MODE`` (``fast`` or ``immediate``), keeping the data directory.

        Returns once the server process is gone: every connection is closed and the port
        refuses new ones.

        Raises:
            ServiceStopError: pg_ctl could not stop the server.
        """
        stop = self._pg_ctl("-m", mode, "-w", "-t", "60", "stop")
        if stop.returncode != 0:
            raise ServiceStopError(f"pg_ctl stop -m {mode} failed: {stop.stderr.strip()}")

    def is_running(self) -> bool:
        """True while ``pg_ctl status`` finds the server."""
        return self._pg_ctl("status").returncode == 0

    def stop(self) -> None:
        """Stop the server and remove its files."""
        self._pg_ctl("-m", "immediate", "stop")
        shutil.rmtree(self.data_dir, ignore_errors=True)
