"""Alerts: one message per alertable event, POSTed to the configured webhook.

Events (:data:`EVENTS`): every tier failed, data stale, key rotation overdue or failed,
verify found a tampered or missing file, publish failed, a cross-source disagreement.
Every alert is logged (event ``alert``) whether or not a webhook is set; with
``alert_webhook_url`` it is also sent, as Slack-compatible JSON (``{"text": ...}``) or as
plain JSON (``alert_webhook_format``).

Transport is the extraction client itself (:meth:`HttpClient.post_json`): TLS 1.3 only
with the same CA bundle and pins (``http_ca_file``, ``http_pins``), https only (plain
http solely to loopback when explicitly allowed, for tests), no proxies from the
environment, no redirects followed.
A transport error, 429 or 5xx is retried with exponential backoff (stamina, the project's
retry library); another status fails at once. Every secret the settings hold is scrubbed
from the message before it leaves, and the webhook URL (a credential for Slack) is never
logged or shown. An alert that cannot be delivered is logged as an error and counted, so
the caller's exit code says so.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

import httpx
import stamina

from makerates_lake.errors import ConfigError, MakeratesError
from makerates_lake.extract.errors import InsecureTransportError
from makerates_lake.extract.http import HttpClient
from makerates_lake.redact import redact_text
from makerates_lake.settings import Settings

log = logging.getLogger(__name__)

ALL_TIERS_FAILED: Final = "all_tiers_failed"
DATA_STALE: Final = "data_stale"
KEY_ROTATION_OVERDUE: Final = "key_rotation_overdue"
KEY_ROTATION_FAILED: Final = "key_rotation_failed"
VERIFY_FAILED: Final = "verify_failed"
PUBLISH_FAILED: Final = "publish_failed"
DISAGREEMENT: Final = "cross_source_disagreement"
#: Every event an alert can be raised for.
EVENTS: Final = frozenset(
    {
        ALL_TIERS_FAILED,
        DATA_STALE,
        KEY_ROTATION_OVERDUE,
        KEY_ROTATION_FAILED,
        VERIFY_FAILED,
        PUBLISH_FAILED,
        DISAGREEMENT,
    }
)
#: Values of the ``alert_webhook_format`` setting.
FORMATS: Final = ("slack", "json")
_WAIT_INITIAL_S: Final = 1.0
_WAIT_MAX_S: Final = 30.0


@dataclass(frozen=True)
class Alert:
    """One alertable event.

    Attributes:
        event: One of :data:`EVENTS`.
        summary: One line for a person.
        details: Facts behind it (sources, counts, ids); never a secret.
    """

    event: str
    summary: str
    details: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.event not in EVENTS:
            raise ValueError(f"unknown alert event {self.event!r}")


@dataclass
class Delivery:
    """What :meth:`AlertSender.send_all` did: alerts sent, and those that were not."""

    sent: list[str] = field(default_factory=list)
    undelivered: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no alert was lost."""
        return not self.undelivered


class _RetryableError(Exception):
    """A delivery failure worth another attempt (transport error, 429, 5xx)."""


class _RefusedError(Exception):
    """The webhook answered with a status another attempt will not change."""


def payload(alert: Alert, settings: Settings, *, now: datetime | None = None) -> dict[str, object]:
    """The JSON body for ``alert`` in the configured format, with every secret scrubbed."""
    secrets = settings.secret_values()
    details = {k: redact_text(str(v), secrets) for k, v in alert.details.items()}
    summary = redact_text(alert.summary, secrets)
    if settings.alert_webhook_format == "slack":
        lines = [f":rotating_light: makerates {alert.event}: {summary}"]
        lines.extend(f"• {key}: {value}" for key, value in details.items())
        return {"text": "\n".join(lines)}
    return {
        "event": alert.event,
        "summary": summary,
        "details": details,
        "catalog": settings.catalog_name,
        "sent_at": (now or datetime.now(UTC)).isoformat(),
    }


class AlertSender:
    """Sends alerts to ``settings.alert_webhook_url`` through the hardened transport.

    Args:
        settings: Webhook URL and format, retry attempts, CA bundle, pins and timeouts.
        ssl_context: TLS context (tests); default the extraction client's.
        transport: An httpx transport (unit tests pass ``httpx.MockTransport``).
        allow_insecure_loopback: Permit plain http to loopback only (tests).

    Raises:
        ConfigError: ``alert_webhook_format`` is neither ``slack`` nor ``json``.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        ssl_context: ssl.SSLContext | None = None,
        transport: httpx.BaseTransport | None = None,
        allow_insecure_loopback: bool = False,
    ) -> None:
        if settings.alert_webhook_format not in FORMATS:
            raise ConfigError(
                f"setting 'alert_webhook_format' must be one of {', '.join(FORMATS)}, got "
                f"{settings.alert_webhook_format!r}",
                key="alert_webhook_format",
            )
        self._settings = settings
        self._ssl_context = ssl_context
        self._transport = transport
        self._allow_insecure_loopback = allow_insecure_loopback

    def send_all(self, alerts: Sequence[Alert]) -> Delivery:
        """Log every alert and send each to the webhook, if one is set; never raises."""
        delivery = Delivery()
        for alert in alerts:
            log.error(
                "alert",
                extra={"event": "alert", "alert": alert.event, "summary": alert.summary},
            )
            if self._settings.alert_webhook_url is None:
                continue
            if self._deliver(alert):
                delivery.sent.append(alert.event)
            else:
                delivery.undelivered.append(alert.event)
        return delivery

    def _deliver(self, alert: Alert) -> bool:
        webhook = self._settings.alert_webhook_url
        if webhook is None:
            return False
        url = webhook.reveal()
        body = json.dumps(payload(alert, self._settings), ensure_ascii=False).encode()
        try:
            client = HttpClient(
                self._settings,
                ssl_context=self._ssl_context,
                transport=self._transport,
                allow_insecure_loopback=self._allow_insecure_loopback,
            )
            with client:
                for attempt in stamina.retry_context(
                    on=_RetryableError,
                    attempts=self._settings.alert_retry_attempts,
                    wait_initial=_WAIT_INITIAL_S,
                    wait_max=_WAIT_MAX_S,
                ):
                    with attempt:
                        self._post(client, url, body)
            return True
        except (_RetryableError, _RefusedError) as exc:
            reason = str(exc)
        except InsecureTransportError:
            reason = "only https webhooks are allowed (plain http only to loopback in tests)"
        except httpx.InvalidURL:
            reason = "the webhook URL is not a valid URL"
        except MakeratesError as exc:
            # A pin mismatch, an unreadable CA bundle: never raised from here, where it
            # would hide the failure the alert is about.
            reason = f"{type(exc).__name__}: {exc}"
        log.error(
            "alert could not be delivered",
            extra={
                "event": "alert_undelivered",
                "alert": alert.event,
                "reason": redact_text(reason, [url, *self._settings.secret_values()]),
            },
        )
        return False

    def _post(self, client: HttpClient, url: str, body: bytes) -> None:
        try:
            status = client.post_json(url, body, source="alert-webhook")
        except httpx.HTTPError as exc:
            # The exception text can hold the URL: name only its type.
            raise _RetryableError(f"transport error: {type(exc).__name__}") from None
        if status == 429 or status >= 500:
            raise _RetryableError(f"webhook answered HTTP {status}")
        if status >= 300:
            raise _RefusedError(f"webhook answered HTTP {status}")


def alerts_from_settings(
    settings: Settings,
    *,
    ssl_context: ssl.SSLContext | None = None,
    allow_insecure_loopback: bool = False,
) -> AlertSender:
    """An :class:`AlertSender` for ``settings`` (the CLI's and :func:`run`'s)."""
    return AlertSender(
        settings, ssl_context=ssl_context, allow_insecure_loopback=allow_insecure_loopback
    )
