"""Loopback servers for the extraction tests: HTTPS sources, a TLS 1.2-only server, a Vault.

Everything binds to 127.0.0.1 on a free port and speaks real HTTP over real TLS with
certificates from a CA that ``trustme`` makes for the test. Routes are plain functions
so each test states exactly what the "provider" answers.
"""

from __future__ import annotations

import gzip
import json
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import trustme


@dataclass
class Reply:
    """What a route answers.

    Attributes:
        status: HTTP status.
        body: Bytes to send (gzip-encoded on the wire when ``gzip`` is set).
        headers: Extra response headers.
        content_type: ``Content-Type``; None sends none.
        gzip: Encode the body with gzip.
        reset: Close the connection with a TCP reset instead of answering.
        stream_bytes: Send this many bytes of filler without Content-Length.
        declare_length: Send Content-Length (False for a streamed body).
        send_only: Declare the whole body's length but send only this many bytes of it,
            then close the connection (a body cut off mid-way).
        stall_s: With ``send_only``, wait this long after those bytes before closing
            (a provider that stalls past the client's read timeout).
    """

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = "application/json"
    gzip: bool = False
    reset: bool = False
    stream_bytes: int = 0
    declare_length: bool = True
    send_only: int | None = None
    stall_s: float = 0.0


@dataclass(frozen=True)
class Seen:
    """A request the server received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


Route = Callable[[Seen], Reply]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        seen = Seen(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        self.server.seen.append(seen)
        reply = self.server.app(seen)
        if reply.reset:
            # SO_LINGER 0 turns close() into a TCP RST: the client sees a reset, not EOF.
            raw = self.connection
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            raw.close()
            return
        body = gzip.compress(reply.body) if reply.gzip else reply.body
        self.send_response(reply.status)
        if reply.content_type:
            self.send_header("Content-Type", reply.content_type)
        if reply.gzip:
            self.send_header("Content-Encoding", "gzip")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.stream_bytes:
            if reply.declare_length:
                self.send_header("Content-Length", str(reply.stream_bytes))
            self.end_headers()
            self._stream(reply.stream_bytes)
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if reply.send_only is not None:
            self._send_part(body[: reply.send_only], reply.stall_s)
            return
        self.wfile.write(body)

    def _send_part(self, part: bytes, stall_s: float) -> None:
        self.wfile.write(part)
        self.wfile.flush()
        if stall_s:
            time.sleep(stall_s)
        self.close_connection = True

    def _stream(self, total: int) -> None:
        chunk = b"x" * 65536
        sent = 0
        try:
            while sent < total:
                self.wfile.write(chunk)
                sent += len(chunk)
        except OSError:  # the client cut the body off, as it should
            self.close_connection = True

    def do_GET(self) -> None:
        """Answer a GET."""
        self._handle()

    def do_POST(self) -> None:
        """Answer a POST."""
        self._handle()

    def do_PUT(self) -> None:
        """Answer a PUT."""
        self._handle()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, app: Route) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.app = app
        self.seen: list[Seen] = []

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Refused handshakes and resets are expected here; do not print them."""


@dataclass
class Running:
    """A server running in a thread.

    Attributes:
        url: ``https://127.0.0.1:<port>`` (or http).
        seen: Requests received, in order.
    """

    url: str
    server: _Server

    @property
    def seen(self) -> list[Seen]:
        """Requests received so far."""
        return self.server.seen

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self.server.server_address[1])


@dataclass
class LoopbackCa:
    """A CA made for the test and a server certificate for 127.0.0.1/localhost."""

    ca: trustme.CA
    ca_file: Path

    def client_context(self) -> ssl.SSLContext:
        """The library's hardened client context, trusting this CA."""
        from makerates_lake.extract.http import make_ssl_context

        return make_ssl_context(self.ca_file)

    def server_context(self, *, max_tls: ssl.TLSVersion | None = None) -> ssl.SSLContext:
        """A server context; ``max_tls`` caps the protocol (TLS 1.2-only server)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if max_tls is not None:
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.maximum_version = max_tls
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        return context


def make_ca(folder: Path) -> LoopbackCa:
    """A fresh CA whose certificate is written to ``folder/ca.pem``."""
    ca = trustme.CA()
    path = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return LoopbackCa(ca, path)


@contextmanager
def serve(app: Route, *, tls: ssl.SSLContext | None = None) -> Iterator[Running]:
    """Run ``app`` on 127.0.0.1 (https when ``tls`` is given) until the block ends."""
    server = _Server(app)
    scheme = "http"
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield Running(f"{scheme}://127.0.0.1:{server.server_address[1]}", server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Router:
    """Routes by path; a route may be a fixed :class:`Reply` or a list answered in turn."""

    def __init__(self) -> None:
        self._routes: dict[str, Route | list[Reply]] = {}
        self._lock = threading.Lock()

    def add(self, path: str, answer: Reply | list[Reply] | Route) -> None:
        """Answer ``path`` with ``answer`` (a list is consumed one reply per request)."""
        if isinstance(answer, Reply):
            fixed = answer
            self._routes[path] = lambda _seen: fixed
        else:
            self._routes[path] = answer if callable(answer) else list(answer)

    def __call__(self, seen: Seen) -> Reply:
        with self._lock:
            route = self._routes.get(seen.path)
            if route is None:
                return Reply(404, b'{"message":"not found"}')
            if isinstance(route, list):
                return route.pop(0) if len(route) > 1 else route[0]
        return route(seen)


class FakeVault:
    """The KV v2 and AppRole routes hvac calls, with check-and-set, tokens and versions.

    Args:
        token: The token a client must send (or get from AppRole login).
        role_id: AppRole role id accepted at login.
        secret_id: AppRole secret id accepted at login.
        mount: KV v2 mount point.
    """

    def __init__(
        self, token: str, *, role_id: str = "", secret_id: str = "", mount: str = "secret"
    ) -> None:
        self.token = token
        self.role_id = role_id
        self.secret_id = secret_id
        self.mount = mount
        self.versions: dict[str, list[dict[str, Any]]] = {}
        self.fail_writes = False
        self._lock = threading.Lock()

    def put(self, path: str, data: dict[str, Any]) -> None:
        """Store a version directly (test setup)."""
        with self._lock:
            self.versions.setdefault(path, []).append(data)

    def _json(self, status: int, payload: dict[str, Any]) -> Reply:
        return Reply(status, json.dumps(payload).encode())

    def __call__(self, seen: Seen) -> Reply:
        if seen.path == "/v1/auth/approle/login" and seen.method in {"POST", "PUT"}:
            body = json.loads(seen.body or b"{}")
            if body.get("role_id") == self.role_id and body.get("secret_id") == self.secret_id:
                return self._json(200, {"auth": {"client_token": self.token, "policies": []}})
            return self._json(400, {"errors": ["invalid role or secret ID"]})
        if seen.headers.get("x-vault-token") != self.token:
            return self._json(403, {"errors": ["permission denied"]})
        prefix = f"/v1/{self.mount}/data/"
        if not seen.path.startswith(prefix):
            return self._json(404, {"errors": []})
        path = seen.path[len(prefix):]
        with self._lock:
            versions = self.versions.setdefault(path, [])
            if seen.method == "GET":
                if not versions:
                    return self._json(404, {"errors": []})
                return self._json(200, {"data": {
                    "data": versions[-1],
                    "metadata": {
                        "version": len(versions),
                        "created_time": datetime.now(UTC).isoformat(),
                        "deletion_time": "",
                        "destroyed": False,
                    },
                }})
            body = json.loads(seen.body or b"{}")
            if self.fail_writes:
                return self._json(500, {"errors": ["storage backend unavailable"]})
            cas = body.get("options", {}).get("cas")
            if cas is not None and cas != len(versions):
                return self._json(400, {"errors": [
                    "check-and-set parameter did not match the current version"
                ]})
            versions.append(body["data"])
            return self._json(200, {"data": {"version": len(versions)}})
