"""The one log filter: secrets out of every record of the library, httpx and httpcore."""

from __future__ import annotations

import base64
import logging

import pytest

from makerates_lake.log_redact import redact_log_text, remember_secrets
from makerates_lake.secret import Secret

KEY = "k3y-UNIT-SECRET-5d1e0c9a7b"
URL = "https://127.0.0.1:4443"
LOCATION_LINE = (
    "receive_response_headers.complete return_value=(b'HTTP/1.1', 302, b'Found', "
    f"[(b'Location', b'{URL}/v6/latest?base=USD'), (b'Content-Length', b'0')])"
)


@pytest.fixture(autouse=True)
def _known() -> None:
    remember_secrets([KEY])


@pytest.mark.parametrize("level", [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR])
@pytest.mark.parametrize(
    "name", ["makerates_lake.extract.http", "makerates_lake", "httpx", "httpcore.http11",
             "httpcore.connection", "httpcore"],
)  # fmt: skip
def test_every_covered_logger_is_scrubbed_at_every_level(
    caplog: pytest.LogCaptureFixture, name: str, level: int
) -> None:
    """Message, %-args and echoed header values: no key on any covered logger, any level."""
    caplog.set_level(logging.DEBUG)
    logger = logging.getLogger(name)
    logger.log(level, "GET %s", f"{URL}/v6/{KEY}/latest/USD")
    logger.log(level, f"[(b'X-Echo-Api-Key', b'{KEY}'), (b'Set-Cookie', b'sid=opaque')]")
    logger.log(level, "basic %s", base64.b64encode(f"{KEY}:".encode()).decode())
    assert KEY not in caplog.text
    assert base64.b64encode(f"{KEY}:".encode()).decode() not in caplog.text
    assert "sid=opaque" not in caplog.text  # a cookie is secret by name, value unknown
    assert caplog.text.count("[REDACTED]") == 4
    assert all(KEY not in r.getMessage() and KEY not in repr(r.args) for r in caplog.records)


def test_other_loggers_are_left_alone(caplog: pytest.LogCaptureFixture) -> None:
    """The filter covers its three trees only; another library's records are untouched."""
    caplog.set_level(logging.DEBUG)
    logging.getLogger("someone.else").info("text %s", "kept")
    (record,) = caplog.records
    assert record.args == ("kept",)


def test_a_secret_in_a_traceback_is_scrubbed(caplog: pytest.LogCaptureFixture) -> None:
    """An exception logged with its traceback shows no key."""
    try:
        raise RuntimeError(f"failed at /v6/{KEY}/latest")
    except RuntimeError:
        logging.getLogger("makerates_lake.test").exception("boom")
    assert KEY not in caplog.text
    assert "RuntimeError: failed at /v6/[REDACTED]/latest" in caplog.text


def test_non_secret_text_is_left_exactly_as_it_was() -> None:
    """Finding 5: a Location with a query inside a debug line is not parsed as one URL."""
    assert redact_log_text(LOCATION_LINE) == LOCATION_LINE
    line = f'HTTP Request: GET {URL}/v6/latest?base=USD "HTTP/1.1 200 OK"'
    assert redact_log_text(line) == line


def test_secret_parameters_and_unknown_v6_keys_are_masked_structurally() -> None:
    """A key never registered is still masked in a v6 path and in an api_key parameter."""
    line = f"GET {URL}/v6/unknownkey123/latest/USD then {URL}/x?api_key=zzz&base=USD'"
    assert redact_log_text(line) == (
        f"GET {URL}/v6/[REDACTED]/latest/USD then {URL}/x?api_key=[REDACTED]&base=USD'"
    )


def test_every_secret_value_is_known_to_the_filter(caplog: pytest.LogCaptureFixture) -> None:
    """A Secret made anywhere (settings, Vault) is masked in logs from then on."""
    caplog.set_level(logging.INFO)
    Secret("vault-token-unit-77aa")
    logging.getLogger("httpx").info("token %s", "vault-token-unit-77aa")
    assert "vault-token-unit-77aa" not in caplog.text
