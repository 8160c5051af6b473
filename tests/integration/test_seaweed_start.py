"""The test session's SeaweedFS starts even when a port it was given is taken."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import pytest

from tests import seaweed, services
from tests.seaweed import SeaweedServer

pytestmark = pytest.mark.integration


def test_free_ports_are_distinct_and_below_the_ephemeral_range() -> None:
    ports = services.free_ports(40)

    assert len(set(ports)) == 40
    if services._ephemeral_start() > services._LISTEN_PORTS_FROM + 1000:  # room below it
        assert all(services._LISTEN_PORTS_FROM <= p < services._ephemeral_start() for p in ports)


_REST_PORT = seaweed._PORTS.index("s3.port.iceberg")


@contextlib.contextmanager
def _taken_port() -> Iterator[int]:
    """A loopback port another socket listens on, while the context lasts."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        yield taken.getsockname()[1]


def _with_rest_port(port: int, count: int) -> list[int]:
    """Free ports as the server would get them, but ``port`` for its REST catalog."""
    chosen = services.free_ports(count)
    chosen[_REST_PORT] = port
    return chosen


def test_a_start_whose_port_is_taken_is_retried_on_new_ports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first attempt gets a REST catalog port another socket listens on: SeaweedFS
    exits, and the second attempt, on new ports, serves."""
    given: list[list[int]] = []
    with _taken_port() as busy:

        def ports(count: int) -> list[int]:
            chosen = services.free_ports(count) if given else _with_rest_port(busy, count)
            given.append(chosen)
            return chosen

        monkeypatch.setattr(seaweed, "free_ports", ports)
        with pytest.warns(UserWarning, match=f"port {busy} for Iceberg"):
            server = SeaweedServer.start(timeout=60)
    try:
        assert len(given) == 2
        assert server.ports["s3.port.iceberg"] != busy
        assert server._table_bucket_ready()
    finally:
        server.stop()


def test_every_attempt_failing_says_so_with_each_log(monkeypatch: pytest.MonkeyPatch) -> None:
    with _taken_port() as busy:
        monkeypatch.setattr(seaweed, "free_ports", lambda count: _with_rest_port(busy, count))
        expected = "exited while starting, 2 time"
        with pytest.raises(services.ServiceStartError, match=expected) as failed:
            SeaweedServer.start(timeout=60, attempts=2)
    assert str(failed.value).count(f"port {busy} for Iceberg") == 2
