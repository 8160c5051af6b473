"""The hardened client against real TLS servers on loopback."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from makerates_lake.extract.errors import error_code_of
from makerates_lake.extract.http import HttpClient, HttpRequest
from makerates_lake.settings import Settings, load_settings
from tests.integration.extract_servers import LoopbackCa, Reply, Router, make_ca, serve

pytestmark = pytest.mark.integration

BODY = b'{"result":"success","rates":{"EUR":0.86720}}'


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> LoopbackCa:
    """A CA made for this module."""
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Short timeouts so a hung test fails fast."""
    return load_settings(
        home=tmp_path, http_connect_timeout_s=3, http_read_timeout_s=3, max_response_bytes=1_000_000
    )


@pytest.fixture
def router() -> Router:
    """Routes of the test server."""
    router = Router()
    router.add("/ok", Reply(body=BODY))
    return router


@pytest.fixture
def client(settings: Settings, ca: LoopbackCa) -> Iterator[HttpClient]:
    """The client trusting the test CA."""
    with HttpClient(settings, ssl_context=ca.client_context()) as http:
        yield http


def test_tls13_server_answers_with_exact_bytes(
    client: HttpClient, ca: LoopbackCa, router: Router
) -> None:
    """A TLS 1.3 server with a certificate from the trusted CA is read byte for byte."""
    router.add("/gz", Reply(body=BODY, gzip=True))
    with serve(router, tls=ca.server_context()) as server:
        plain = client.fetch(HttpRequest(f"{server.url}/ok"), source="t")
        zipped = client.fetch(HttpRequest(f"{server.url}/gz"), source="t")
    assert plain.error is None
    assert plain.status == 200
    assert plain.body == BODY
    assert zipped.error is None
    assert zipped.body == BODY
    seen = server.seen[0].headers
    assert seen["user-agent"].startswith("makerates_lake/")
    assert "(+https://" in seen["user-agent"]
    assert seen["accept"] == "application/json"
    assert "gzip" in seen["accept-encoding"]


def test_tls12_only_server_is_refused(client: HttpClient, ca: LoopbackCa, router: Router) -> None:
    """A server that offers at most TLS 1.2 is refused with a TLS error naming TLS 1.3."""
    with serve(router, tls=ca.server_context(max_tls=ssl.TLSVersion.TLSv1_2)) as server:
        exchange = client.fetch(HttpRequest(f"{server.url}/ok"), source="t")
    assert exchange.status is None
    assert exchange.error is not None
    assert error_code_of(exchange.error) == "tls-error"
    assert "TLS 1.3" in str(exchange.error)
    assert not server.seen


def test_tls12_server_is_refused_even_with_loopback_opt_in(
    settings: Settings, ca: LoopbackCa, router: Router
) -> None:
    """The insecure-loopback opt-in allows plain http only; it never lowers the TLS floor."""
    with (
        HttpClient(settings, ssl_context=ca.client_context(), allow_insecure_loopback=True) as http,
        serve(router, tls=ca.server_context(max_tls=ssl.TLSVersion.TLSv1_2)) as server,
    ):
        exchange = http.fetch(HttpRequest(f"{server.url}/ok"), source="t")
    assert exchange.error is not None
    assert error_code_of(exchange.error) == "tls-error"


def test_untrusted_certificate_is_refused(
    settings: Settings, tmp_path: Path, router: Router
) -> None:
    """A certificate from a CA we do not trust fails verification."""
    other = make_ca(tmp_path)
    (tmp_path / "trusted").mkdir()
    trusted = make_ca(tmp_path / "trusted")
    with (
        HttpClient(settings, ssl_context=trusted.client_context()) as http,
        serve(router, tls=other.server_context()) as server,
    ):
        exchange = http.fetch(HttpRequest(f"{server.url}/ok"), source="t")
    assert exchange.error is not None
    assert error_code_of(exchange.error) == "tls-error"
    assert "CERTIFICATE_VERIFY_FAILED" in str(exchange.error)


def test_plain_http_needs_opt_in_and_loopback(
    settings: Settings, ca: LoopbackCa, router: Router
) -> None:
    """Plain http is refused by default and served to loopback only with the opt-in."""
    with serve(router) as server:
        with HttpClient(settings, ssl_context=ca.client_context()) as strict:
            refused = strict.fetch(HttpRequest(f"{server.url}/ok"), source="t")
        with HttpClient(
            settings, ssl_context=ca.client_context(), allow_insecure_loopback=True
        ) as lax:
            allowed = lax.fetch(HttpRequest(f"{server.url}/ok"), source="t")
            remote = lax.fetch(HttpRequest("http://example.com/ok"), source="t")
    assert refused.error is not None
    assert error_code_of(refused.error) == "insecure-transport"
    assert allowed.error is None
    assert allowed.body == BODY
    assert remote.error is not None
    assert error_code_of(remote.error) == "insecure-transport"
    assert len(server.seen) == 1


def test_redirect_from_https_to_http_is_refused(
    settings: Settings, ca: LoopbackCa, router: Router
) -> None:
    """A 302 from https to http is not followed, even with the loopback opt-in."""
    with serve(router) as plain:
        router.add("/moved", Reply(302, headers={"Location": f"{plain.url}/ok"}))
        with (
            HttpClient(
                settings, ssl_context=ca.client_context(), allow_insecure_loopback=True
            ) as http,
            serve(router, tls=ca.server_context()) as server,
        ):
            exchange = http.fetch(HttpRequest(f"{server.url}/moved"), source="t")
    assert exchange.error is not None
    assert error_code_of(exchange.error) == "insecure-redirect"
    assert exchange.status == 302
    assert not plain.seen


def test_redirect_within_https_is_followed(
    client: HttpClient, ca: LoopbackCa, router: Router
) -> None:
    """A redirect to another https URL is followed."""
    with serve(router, tls=ca.server_context()) as server:
        router.add("/moved", Reply(301, headers={"Location": f"{server.url}/ok"}))
        exchange = client.fetch(HttpRequest(f"{server.url}/moved"), source="t")
    assert exchange.error is None
    assert exchange.body == BODY
    assert exchange.final_url == f"{server.url}/ok"


@pytest.mark.parametrize("declare_length", [True, False])
def test_huge_body_is_cut_off(
    client: HttpClient, ca: LoopbackCa, router: Router, declare_length: bool
) -> None:
    """A 10 MB body (with or without Content-Length) is cut off at the cap; the cap is kept."""
    router.add("/huge", Reply(stream_bytes=10 * 1024 * 1024, declare_length=declare_length))
    with serve(router, tls=ca.server_context()) as server:
        exchange = client.fetch(HttpRequest(f"{server.url}/huge"), source="t")
    assert exchange.error is not None
    assert error_code_of(exchange.error) == "response-too-large"
    assert exchange.body == b"x" * 1_000_000
    assert exchange.incomplete == "over-max-response-bytes"
    assert "the first 1000000 are kept in bronze" in str(exchange.error)


def test_connection_reset_is_a_transient_transport_error(
    client: HttpClient, ca: LoopbackCa, router: Router
) -> None:
    """A TCP reset instead of an answer is a transient transport error."""
    router.add("/reset", Reply(reset=True))
    with serve(router, tls=ca.server_context()) as server:
        exchange = client.fetch(HttpRequest(f"{server.url}/reset"), source="t")
    assert exchange.status is None
    assert exchange.error is not None
    assert exchange.error.transient
    assert error_code_of(exchange.error) in {"connection-reset", "transport-error"}


def test_dns_failure_is_named(client: HttpClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """A name that does not resolve gives error code dns-failure (resolver faked: no traffic)."""

    def no_such_host(*_args: object, **_kwargs: object) -> list[object]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    exchange = client.fetch(HttpRequest("https://rates.invalid/v6/latest/USD"), source="t")
    assert exchange.error is not None
    assert error_code_of(exchange.error) == "dns-failure"
    assert exchange.error.transient


def test_connection_refused_is_transient(client: HttpClient) -> None:
    """Nothing listening on the port is a transient connect error."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    exchange = client.fetch(HttpRequest(f"https://127.0.0.1:{port}/ok"), source="t")
    assert exchange.error is not None
    assert exchange.error.transient
    assert error_code_of(exchange.error) == "connect-error"
