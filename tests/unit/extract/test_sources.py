"""Request shapes and response checks of every source, on in-memory exchanges."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from makerates_lake.extract.errors import error_code_of
from makerates_lake.extract.http import Exchange, HttpRequest
from makerates_lake.extract.secrets import ApiKeys, StaticKeyProvider
from makerates_lake.extract.sources import (
    EcbDaily,
    EcbHistory,
    ExchangeRateApi,
    Frankfurter,
    OpenErApi,
)
from makerates_lake.extract.sources.ecb import history_content_type, read_local, xml_problem
from makerates_lake.secret import Secret
from tests.unit.extract import payloads as p

KEY = "unit-key-1234567890"


def _exchange(
    url: str, status: int | None, body: bytes, content_type: str | None = "application/json"
) -> Exchange:
    headers = {"Content-Type": content_type} if content_type else {}
    return Exchange(HttpRequest(url), {}, datetime.now(UTC), 1.0, status, headers, body)


def test_erapi_urls_put_base_in_the_path() -> None:
    """latest, pair and history follow the documented paths (no leading zeros)."""
    api = ExchangeRateApi(StaticKeyProvider(Secret(KEY)), "https://h")
    assert api.latest("usd").http.url == f"https://h/v6/{KEY}/latest/USD"
    assert api.pair("EUR", "GBP").http.url == f"https://h/v6/{KEY}/pair/EUR/GBP"
    assert (
        api.history("USD", date(2015, 2, 2)).http.url == f"https://h/v6/{KEY}/history/USD/2015/2/2"
    )
    assert api.latest("USD").secrets == (KEY,)
    assert KEY not in repr(api.latest("USD"))


def test_erapi_bearer_moves_the_key_to_a_header() -> None:
    """With bearer auth the key is only in the Authorization header."""
    api = ExchangeRateApi(StaticKeyProvider(Secret(KEY)), "https://h", auth="bearer")
    request = api.latest("USD")
    assert request.http.url == "https://h/v6/latest/USD"
    assert request.http.headers == {"Authorization": f"Bearer {KEY}"}


@pytest.mark.parametrize("error_type", p.ERAPI_ERROR_TYPES)
@pytest.mark.parametrize("status", [200, 400, 401, 403, 404, 429, 500])
def test_erapi_error_types_win_over_status(error_type: str, status: int) -> None:
    """A documented error body is coded by its type whatever HTTP status it came with."""
    api = ExchangeRateApi(StaticKeyProvider(Secret(KEY)))
    error = api.check(_exchange("https://h/v6/k/latest/USD", status, p.erapi_error(error_type)))
    assert error is not None
    assert error_code_of(error) == error_type
    assert not error.transient


@pytest.mark.parametrize(
    ("legacy", "code"),
    [
        ("unknown-code", "unsupported-code"),
        ("base-code-only-on-pro", "plan-upgrade-required"),
        ("not-available-on-plan", "plan-upgrade-required"),
    ],
)
def test_erapi_legacy_error_names_are_mapped(legacy: str, code: str) -> None:
    """Older error names map to today's codes."""
    body = b'{"result":"error","error":"' + legacy.encode() + b'"}'
    error = OpenErApi().check(_exchange("https://h/v6/latest/USD", 200, body))
    assert error is not None
    assert error_code_of(error) == code


@pytest.mark.parametrize(
    ("status", "body", "content_type", "code"),
    [
        (200, p.OPEN_ER_LATEST, "application/json", None),
        (200, p.OPEN_ER_LATEST, "application/json; charset=utf-8", None),
        (200, p.HTML_PAGE, "text/html", "html-instead-of-json"),
        (200, p.OPEN_ER_LATEST[:40], "application/json", "invalid-json"),
        (200, b"", "application/json", "empty-body"),
        (200, p.OPEN_ER_LATEST, "text/plain", "unexpected-content-type"),
        (200, b'{"result":"maybe"}', "application/json", "unexpected-payload"),
        (429, b"", None, "rate-limited"),
        (503, b"", None, "server-error"),
        (404, b"", None, "client-error"),
    ],
)
def test_v6_checks(status: int, body: bytes, content_type: str | None, code: str | None) -> None:
    """Bodies and statuses of v6 sources are judged with clear codes."""
    error = OpenErApi().check(_exchange("https://h/v6/latest/USD", status, body, content_type))
    assert (error_code_of(error) if error else None) == code


def test_frankfurter_requests() -> None:
    """v1 latest/date/range and v2 rates carry the base in the query."""
    api = Frankfurter("https://f")
    assert api.latest("usd").http.params == {"base": "USD"}
    assert api.on(date(2024, 5, 3)).http.url == "https://f/v1/2024-05-03"
    assert (
        api.series(date(2024, 1, 2), date(2024, 1, 3)).http.url
        == "https://f/v1/2024-01-02..2024-01-03"
    )
    assert api.series(date(2024, 1, 2)).http.url == "https://f/v1/2024-01-02.."
    v2 = Frankfurter("https://f", "v2").latest("USD", ["EUR"])
    assert (v2.http.url, v2.source_version) == ("https://f/v2/rates", "v2")
    assert v2.http.params == {"base": "USD", "quotes": "EUR"}


@pytest.mark.parametrize(
    ("url", "status", "body", "code"),
    [
        ("https://f/v1/latest", 200, p.FRANKFURTER_V1_LATEST, None),
        ("https://f/v1/2024-01-02..2024-01-03", 200, p.FRANKFURTER_V1_SERIES, None),
        ("https://f/v2/rates", 200, p.FRANKFURTER_V2_RATES, None),
        ("https://f/v2/rates", 200, p.FRANKFURTER_V1_LATEST, "unexpected-payload"),
        ("https://f/v1/latest", 404, p.FRANKFURTER_NOT_FOUND, "not-found"),
        ("https://f/v1/latest", 422, p.FRANKFURTER_BAD_PAIR, "invalid-request"),
    ],
)
def test_frankfurter_checks(url: str, status: int, body: bytes, code: str | None) -> None:
    """Frankfurter answers and errors are recognised."""
    error = Frankfurter().check(_exchange(url, status, body))
    assert (error_code_of(error) if error else None) == code


@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [
        (p.ECB_DAILY_XML, "text/xml", None),
        (p.ECB_DAILY_XML[:120], "text/xml", "invalid-xml"),
        (p.HTML_PAGE, "text/html", "html-instead-of-xml"),
        (p.ECB_DAILY_XML, "application/json", "unexpected-content-type"),
        (
            b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaa'>]><x>&a;</x>",
            "text/xml",
            "invalid-xml",
        ),
    ],
)
def test_ecb_daily_checks(body: bytes, content_type: str, code: str | None) -> None:
    """The daily XML must be a well-formed envelope without entity declarations."""
    error = EcbDaily("https://e/d.xml").check(_exchange("https://e/d.xml", 200, body, content_type))
    assert (error_code_of(error) if error else None) == code


def test_ecb_history_detection() -> None:
    """History bytes are typed by content: zip, CSV, or refused."""
    assert history_content_type(b"PK\x03\x04rest") == "application/zip"
    assert history_content_type(p.ECB_HISTORY_CSV) == "text/csv"
    history = EcbHistory("https://e/h.zip")
    broken = _exchange("https://e/h.zip", 200, b"PK\x03\x04broken", "application/zip")
    error = history.check(broken)
    assert error is not None
    assert error_code_of(error) == "invalid-history-file"
    assert history.check(_exchange("https://e/h.zip", 200, p.ECB_HISTORY_CSV, "text/csv")) is None
    assert xml_problem(b"<a/>") == "XML without Cube elements"


def test_alternate_offers_previous_key_only_inside_grace() -> None:
    """After invalid-key, the previous key is offered in its grace window and not after."""
    now = datetime(2026, 1, 1, tzinfo=UTC)

    class Provider:
        description = "test"
        until = datetime(2026, 1, 2, tzinfo=UTC)

        def load(self) -> ApiKeys:
            return ApiKeys(Secret(KEY), now, Secret("previous-key-000"), self.until)

    provider = Provider()
    api = ExchangeRateApi(provider, "https://h", now=lambda: now)
    request = api.latest("USD")
    invalid = api.check(_exchange(request.http.url, 403, p.erapi_error("invalid-key")))
    quota = api.check(_exchange(request.http.url, 429, p.erapi_error("quota-reached")))
    assert invalid is not None
    assert quota is not None
    alternate = api.alternate(request, invalid)
    assert alternate is not None
    assert alternate.http.url == "https://h/v6/previous-key-000/latest/USD"
    assert api.alternate(request, quota) is None
    assert api.alternate(alternate, invalid) is None
    provider.until = now
    assert api.alternate(request, invalid) is None


def test_a_local_file_over_the_cap_keeps_the_first_cap_bytes(tmp_path: Path) -> None:
    """An ECB file larger than max_response_bytes keeps exactly the cap, marked incomplete."""
    path = tmp_path / "hist.zip"
    path.write_bytes(b"z" * 5000)
    exchange = read_local(HttpRequest(path.as_uri(), method="READ"), path, max_bytes=1000)
    assert exchange.body == b"z" * 1000
    assert exchange.incomplete == "over-max-response-bytes"
    assert exchange.received_bytes == 5000
    assert exchange.error is not None
    assert "the first 1000 bytes are kept in bronze" in str(exchange.error)
