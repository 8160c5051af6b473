"""Alerts through httpx.MockTransport: formats, retries, refusals, and no secret in a body."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from makerates_lake.errors import ConfigError
from makerates_lake.pipeline.alerts import (
    ALL_TIERS_FAILED,
    DATA_STALE,
    Alert,
    AlertSender,
    payload,
)
from makerates_lake.settings import Settings, load_settings

HOOK = "https://hooks.example.com/services/T0/B0/s3cr3t-hook-token"
KEY = "k3y-unit-1234567890abcdef"


def _settings(**extra: object) -> Settings:
    values: dict[str, object] = {
        "alert_webhook_url": HOOK, "exchangerate_api_key": KEY, "alert_retry_attempts": 3,
    }  # fmt: skip
    return load_settings(environ={}, **{**values, **extra})  # type: ignore[arg-type]


def _sender(settings: Settings, answer: Callable[[httpx.Request], httpx.Response]) -> AlertSender:
    return AlertSender(settings, transport=httpx.MockTransport(answer))


def test_slack_format_is_a_text_message_and_json_format_carries_the_fields() -> None:
    """Slack gets ``{"text": ...}`` naming the event; plain JSON has event, summary, details."""
    alert = Alert(DATA_STALE, "the newest rate is old", {"age_hours": 120})
    slack = payload(alert, _settings())
    assert set(slack) == {"text"}
    assert "data_stale" in str(slack["text"])
    assert "age_hours: 120" in str(slack["text"])
    plain = payload(alert, _settings(alert_webhook_format="json"))
    assert plain["event"] == DATA_STALE
    assert plain["summary"] == "the newest rate is old"
    assert plain["details"] == {"age_hours": "120"}


def test_a_secret_in_an_alert_never_leaves() -> None:
    """A key that slipped into a summary or detail is scrubbed before sending."""
    bodies: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return httpx.Response(200)

    alert = Alert(ALL_TIERS_FAILED, f"failed with key {KEY}", {"url": f"https://x/v6/{KEY}/"})
    delivery = _sender(_settings(alert_webhook_format="json"), answer).send_all([alert])
    assert delivery.sent == [ALL_TIERS_FAILED]
    assert KEY not in bodies[0].decode()
    assert json.loads(bodies[0])["event"] == ALL_TIERS_FAILED


def test_a_5xx_is_retried_and_then_delivered() -> None:
    """503, 429, then 200: one alert delivered after three attempts."""
    statuses = [503, 429, 200]

    def answer(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(statuses.pop(0))

    delivery = _sender(_settings(), answer).send_all([Alert(DATA_STALE, "old")])
    assert delivery.ok
    assert delivery.sent == [DATA_STALE]
    assert statuses == []


def test_an_alert_that_cannot_be_delivered_is_logged_without_the_url(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Transport errors on every attempt: undelivered, logged once, the webhook not named."""
    calls = 0

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError(f"cannot reach {request.url}")

    delivery = _sender(_settings(), answer).send_all([Alert(DATA_STALE, "old")])
    assert delivery.undelivered == [DATA_STALE]
    assert not delivery.ok
    assert calls == 3
    assert "alert could not be delivered" in caplog.text
    assert "s3cr3t-hook-token" not in caplog.text


def test_a_4xx_is_not_retried() -> None:
    """A 404 will not change by asking again: one attempt, undelivered."""
    calls = 0

    def answer(_request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(404)

    delivery = _sender(_settings(), answer).send_all([Alert(DATA_STALE, "old")])
    assert delivery.undelivered == [DATA_STALE]
    assert calls == 1


def test_plain_http_webhooks_are_refused() -> None:
    """An http:// webhook (not loopback in a test) is never contacted."""

    def answer(_request: httpx.Request) -> httpx.Response:
        raise AssertionError("must not be called")

    settings = _settings(alert_webhook_url="http://hooks.example.com/x")
    assert _sender(settings, answer).send_all([Alert(DATA_STALE, "old")]).undelivered


def test_a_redirect_is_not_followed_and_the_alert_is_undelivered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A webhook answering 302 elsewhere: one request only (the redirect is not followed,
    the JSON body never reaches the other host), undelivered, the URL not logged."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        assert request.headers["Content-Type"] == "application/json"
        return httpx.Response(302, headers={"Location": "https://elsewhere.example.com/"})

    delivery = _sender(_settings(), answer).send_all([Alert(DATA_STALE, "old")])
    assert delivery.undelivered == [DATA_STALE]
    assert seen == [HOOK]
    assert "s3cr3t-hook-token" not in caplog.text


def test_without_a_webhook_alerts_are_only_logged(caplog: pytest.LogCaptureFixture) -> None:
    """No URL: nothing is sent, nothing counts as lost, the alert is in the log."""
    settings = load_settings(environ={})
    delivery = AlertSender(settings).send_all([Alert(DATA_STALE, "old")])
    assert delivery.ok
    assert delivery.sent == []
    assert any(getattr(r, "alert", None) == DATA_STALE for r in caplog.records)


def test_unknown_events_and_formats_are_refused() -> None:
    """An alert names one of the documented events; the format is slack or json."""
    with pytest.raises(ValueError, match="unknown alert event"):
        Alert("something", "x")
    with pytest.raises(ConfigError, match="alert_webhook_format"):
        AlertSender(load_settings(environ={}, alert_webhook_format="xml"))


def test_a_pin_mismatch_is_an_undelivered_alert_not_an_exception() -> None:
    """The webhook's key does not match its pin: ``send_all`` still never raises (it
    would hide the failure the alert is about); the alert counts as undelivered."""
    from makerates_lake.extract.errors import CertificatePinError

    def answer(_request: httpx.Request) -> httpx.Response:
        raise CertificatePinError("the server's key is not pinned", source="alert-webhook")

    delivery = _sender(_settings(), answer).send_all([Alert(DATA_STALE, "old")])
    assert delivery.undelivered == [DATA_STALE]
