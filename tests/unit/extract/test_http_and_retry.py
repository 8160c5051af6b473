"""The client, retry policy and secrets with httpx.MockTransport and in-memory fakes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import stamina

import makerates_lake.extract.errors as extract_errors
from makerates_lake.extract.attempts import AttemptRunner, _RetryableAttemptError
from makerates_lake.extract.errors import HttpStatusError, KeyRotationError, SecretError
from makerates_lake.extract.extractor import Extractor
from makerates_lake.extract.http import HttpClient, HttpRequest, parse_retry_after
from makerates_lake.extract.ratelimit import RateLimiters
from makerates_lake.extract.secrets import (
    ApiKeys,
    CachedKeyProvider,
    FileKeyProvider,
    StaticKeyProvider,
    check_key_age,
    key_provider_from_settings,
)
from makerates_lake.extract.sources import Frankfurter, OpenErApi
from makerates_lake.secret import Secret
from makerates_lake.settings import Settings, load_settings


@pytest.fixture(autouse=True)
def real_attempt_counts() -> Iterator[None]:
    """Retries keep the configured attempt count but never sleep."""
    with stamina.set_testing(True, attempts=3, cap=True):
        yield


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default settings in a temporary home."""
    return load_settings(home=tmp_path, max_response_bytes=1000, environ={})


def _client(settings: Settings, handler: httpx.MockTransport) -> HttpClient:
    return HttpClient(settings, transport=handler)


def test_retry_after_parsing() -> None:
    """Retry-After is read as seconds or as an HTTP date; junk is ignored."""
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_backoff_honours_retry_after_within_the_cap(settings: Settings) -> None:
    """The stamina hook waits exactly Retry-After, gives up past the cap, ignores non-transient."""
    runner = AttemptRunner(
        settings,
        _client(settings, httpx.MockTransport(lambda r: httpx.Response(200))),
        RateLimiters(1, 1),
    )

    def transient(retry_after: float | None) -> _RetryableAttemptError:
        return _RetryableAttemptError(HttpStatusError("x", transient=True, retry_after=retry_after))

    assert runner._backoff(transient(5.0)) == 5.0
    assert runner._backoff(transient(None)) is True
    assert runner._backoff(transient(settings.retry_after_max_s + 1)) is False
    assert runner._backoff(ValueError("bug")) is False


def test_size_cap_and_headers_with_mock_transport(settings: Settings) -> None:
    """Bodies over the cap are cut off; default headers are sent."""
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, content=b"x" * 5000)

    exchange = _client(settings, httpx.MockTransport(handler)).fetch(
        HttpRequest("https://h/big"), source="t"
    )
    assert exchange.error is not None
    assert extract_errors.error_code_of(exchange.error) == "response-too-large"
    assert sent[0].headers["accept"] == "application/json"
    assert sent[0].headers["accept-encoding"] == "gzip"


def test_low_remaining_quota_logs_a_structured_warning(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """X-RateLimit-Remaining under the threshold logs a warning with source and count."""
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, headers={"X-RateLimit-Remaining": "3"}, content=b"{}")
    )
    _client(settings, transport).fetch(HttpRequest("https://h/x"), source="open-er-api")
    (record,) = [
        r for r in caplog.records if r.getMessage() == "provider rate limit nearly used up"
    ]
    assert record.remaining == 3  # type: ignore[attr-defined]
    assert record.source == "open-er-api"  # type: ignore[attr-defined]


def test_no_retry_on_plain_4xx_and_three_on_5xx(settings: Settings) -> None:
    """A 404 is tried once; a 503 three times; each attempt is a record numbered from 0."""
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(404 if "v1" in request.url.path else 503)

    extractor = Extractor(
        settings,
        _client(settings, httpx.MockTransport(handler)),
        [OpenErApi("https://o"), Frankfurter("https://f")],
    )
    result = extractor.extract("USD")
    assert result.answered_by is None
    assert [r.retry_attempt for r in result.records] == [0, 1, 2, 0]
    assert [r.source_tier for r in result.records] == ["primary"] * 3 + ["fallback"]
    assert result.failures == (("open-er-api", "server-error"), ("frankfurter", "not-found"))
    assert calls.count("/v1/latest") == 1


def test_secret_errors_list_every_place_and_keys_never_show() -> None:
    """No key configured names each place consulted; ApiKeys never reveal values."""
    with pytest.raises(SecretError) as raised:
        key_provider_from_settings(load_settings(environ={}))
    assert "EXCHANGERATE_API_KEY_FILE" in str(raised.value)
    assert "VAULT_ADDR" in str(raised.value)
    keys = ApiKeys(Secret("secret-value-123"), previous=Secret("secret-value-456"))
    assert "secret-value" not in repr(keys)
    assert "secret-value" not in repr(StaticKeyProvider(Secret("secret-value-123")).load())


def test_file_provider_and_cache_ttl(tmp_path: Path) -> None:
    """A key file is read and cached until its TTL passes."""
    path = tmp_path / "key"
    path.write_text("file-key-one\n")
    now = [0.0]
    cached = CachedKeyProvider(FileKeyProvider(path), 60.0, clock=lambda: now[0])
    assert cached.load().current == Secret("file-key-one")
    path.write_text("file-key-two")
    assert cached.load().current == Secret("file-key-one")
    now[0] = 61.0
    assert cached.load().current == Secret("file-key-two")
    with pytest.raises(SecretError):
        FileKeyProvider(tmp_path / "missing").load()


def test_key_age_alert() -> None:
    """A key past 90 days raises KeyRotationError; a younger or undated key does not."""
    now = datetime(2026, 6, 1, tzinfo=UTC)
    limit = timedelta(days=90)
    check_key_age(ApiKeys(Secret("k" * 10), now - timedelta(days=89)), max_age=limit, now=now)
    check_key_age(ApiKeys(Secret("k" * 10)), max_age=limit, now=now)
    with pytest.raises(KeyRotationError):
        check_key_age(ApiKeys(Secret("k" * 10), now - timedelta(days=91)), max_age=limit, now=now)


def test_error_module_exports_are_sorted_and_real() -> None:
    """extract.errors.__all__ is sorted and names only what the module defines."""
    names = extract_errors.__all__
    assert list(names) == sorted(names)
    assert all(hasattr(extract_errors, name) for name in names)


def test_extract_package_exports_are_sorted_and_real() -> None:
    """makerates_lake.extract.__all__ is sorted and every name resolves."""
    import makerates_lake.extract as extract

    assert list(extract.__all__) == sorted(extract.__all__)
    assert all(hasattr(extract, name) for name in extract.__all__)
