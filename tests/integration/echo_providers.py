"""Hostile providers on loopback that echo the API key back, and pinned TLS servers.

The echo provider does what real servers have been seen to do with a request: an error
page repeating the path, the key in a response header, a redirect whose Location holds
the key, a JSON body with the key URL-encoded and as base64 of ``key:``, a gzip body,
and the ``Authorization`` header copied back. Every route answers over real TLS.
"""

from __future__ import annotations

import base64
import hashlib
import json
import ssl
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.integration.extract_servers import LoopbackCa, Reply, Router, Seen
from tests.unit.extract import payloads

API_KEY = "k3y-SECRET-7c1d9e0a55f24b6b"
#: The key as a provider may echo it: raw, URL-encoded, inside base64 of ``key:``.
ECHOED_FORMS = (
    API_KEY.encode(),
    quote(API_KEY, safe="").encode(),
    base64.b64encode(f"{API_KEY}:".encode()),
)
#: A non-secret redirect target whose log line must survive the filter unchanged.
PLAIN_LOCATION_PATH = "/v6/latest?base=USD"


def _html_404(seen: Seen) -> Reply:
    return Reply(
        404,
        f"<html><body>404 Not Found: {seen.path}</body></html>".encode(),
        content_type="text/html",
        headers={"X-Echo-Api-Key": API_KEY, "X-Echo-Path": seen.path},
    )


def _redirect_with_key(seen: Seen) -> Reply:
    host = seen.headers["host"]
    return Reply(
        302,
        headers={"Location": f"https://{host}/v6/{API_KEY}/moved/EUR?api_key={API_KEY}&b=EUR"},
    )


def _moved(seen: Seen) -> Reply:
    body = {
        "result": "error",
        "error-type": "invalid-key",
        "echo": quote(seen.path, safe=""),
        "basic": base64.b64encode(f"{API_KEY}:".encode()).decode(),
        "query": seen.query,
    }
    return Reply(
        200,
        json.dumps(body).encode(),
        gzip=True,
        headers={"Set-Cookie": f"session={API_KEY}", "X-Echo-Query": json.dumps(seen.query)},
    )


def _bearer_echo(seen: Seen) -> Reply:
    auth = seen.headers.get("authorization", "")
    return Reply(
        401,
        json.dumps({"result": "error", "error-type": "invalid-key", "you-sent": auth}).encode(),
        headers={"X-Echo-Authorization": auth},
    )


def _plain_redirect(seen: Seen) -> Reply:
    return Reply(302, headers={"Location": f"https://{seen.headers['host']}{PLAIN_LOCATION_PATH}"})


def echo_provider() -> Router:
    """ExchangeRate-API and open.er-api routes on one server, echoing the key back.

    * ``/v6/KEY/latest/USD``: 404 HTML repeating the path, the key in two headers;
    * ``/v6/KEY/latest/EUR``: a redirect whose Location holds the key twice, to a gzip
      JSON body holding it URL-encoded and as base64, and a cookie holding it;
    * ``/v6/latest/GBP`` (bearer auth): 401 copying the ``Authorization`` header back;
    * ``/v6/latest/CHF`` (open.er-api): a redirect to ``/v6/latest?base=USD``;
    * ``/v6/latest/<base>`` and ``/v6/latest`` otherwise: open.er-api's answer.
    """
    router = Router()
    router.add(f"/v6/{API_KEY}/latest/USD", _html_404)
    router.add(f"/v6/{API_KEY}/latest/EUR", _redirect_with_key)
    router.add(f"/v6/{API_KEY}/moved/EUR", _moved)
    router.add("/v6/latest/GBP", _bearer_echo)
    router.add("/v6/latest/CHF", _plain_redirect)
    for path in ("/v6/latest", "/v6/latest/USD", "/v6/latest/EUR"):
        router.add(path, Reply(body=payloads.OPEN_ER_LATEST))
    return router


def pinned_server(ca: LoopbackCa) -> tuple[ssl.SSLContext, str]:
    """A server context with a fresh key for 127.0.0.1/localhost, and that key's pin.

    The pin is computed with ``cryptography`` (the reference), not the library's code.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    issued = ca.ca.issue_cert("127.0.0.1", "localhost")
    issued.configure_cert(context)
    certificate = x509.load_pem_x509_certificate(issued.cert_chain_pems[0].bytes())
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return context, "sha256/" + base64.b64encode(hashlib.sha256(spki).digest()).decode()


def other_pin(label: str) -> str:
    """A well-formed pin that matches no key."""
    return "sha256/" + base64.b64encode(hashlib.sha256(label.encode()).digest()).decode()
