"""Loopback sources and a webhook receiver for the scheduled-run tests.

Payloads carry today's date (a run judges freshness against the real clock) and the
rates a test asks for, written as the provider writes them.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from makerates_lake.secret import Secret
from makerates_lake.settings import Settings
from tests.integration.extract_servers import Reply, Router, Seen

KEY = "k3y-run-5d4c3b2a1908f7e6"  # a made-up ExchangeRate-API key
HOOK_TOKEN = "T000/B000/hooksecret9f8e7d6c"  # the secret part of a Slack-style webhook URL
FAILED = Reply(503, b'{"result":"error"}')


def v6_body(
    base: str, rates: Mapping[str, str], when: datetime | None = None, *, member: str = "rates"
) -> bytes:
    """A latest answer for ``base``, numbers as given: ExchangeRate-API's shape with
    ``member="conversion_rates"``, open.er-api's with ``rates``."""
    stamp = int((when or datetime.now(UTC)).timestamp())
    members = ",".join(f'"{code}":{value}' for code, value in rates.items())
    return (
        f'{{"result":"success","time_last_update_unix":{stamp},"base_code":"{base}",'
        f'"{member}":{{"{base}":1,{members}}}}}'
    ).encode()


#: Rates each base answers with unless a test says otherwise.
RATES: dict[str, dict[str, str]] = {
    "USD": {"EUR": "0.9083", "JPY": "151.20"},
    "EUR": {"USD": "1.1010", "JPY": "166.47"},
}


def sources_router(
    *,
    primary: bool = True,
    fallback: bool = True,
    rates: Mapping[str, Mapping[str, str]] = RATES,
    fallback_rates: Mapping[str, Mapping[str, str]] | None = None,
    when: datetime | None = None,
    delay_s: float = 0.0,
) -> Router:
    """ExchangeRate-API (primary) and open.er-api (fallback) for USD and EUR."""
    router = Router()
    for base, quotes in rates.items():
        other = (fallback_rates or rates)[base]
        answer = Reply(body=v6_body(base, quotes, when, member="conversion_rates"))
        router.add(f"/v6/{KEY}/latest/{base}", _slow(answer, delay_s) if primary else FAILED)
        router.add(f"/v6/latest/{base}", Reply(body=v6_body(base, other, when)) if fallback
                   else FAILED)  # fmt: skip
    return router


def _slow(reply: Reply, delay_s: float) -> Reply | Any:
    if not delay_s:
        return reply

    def answer(_seen: Seen) -> Reply:
        time.sleep(delay_s)
        return reply

    return answer


@dataclass
class Webhook:
    """A webhook receiver: records every POST body; answers ``status`` (or the list in turn)."""

    statuses: list[int] = field(default_factory=lambda: [200])
    bodies: list[bytes] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, seen: Seen) -> Reply:
        with self._lock:
            self.bodies.append(seen.body)
            status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return Reply(status, b"ok", content_type="text/plain")

    def events(self) -> list[str]:
        """The ``event`` of every JSON alert received, in order."""
        return [json.loads(body)["event"] for body in self.bodies]


def settings_env(settings: Settings) -> dict[str, str]:
    """``MAKERATES_*`` variables that rebuild ``settings`` in another process."""
    env = {}
    for name, value in vars(settings).items():
        if value is None:
            continue
        shown = value.reveal() if isinstance(value, Secret) else str(value)
        env[f"MAKERATES_{name.upper()}"] = shown
    return env


class Switchable:
    """A router a test swaps between runs (sources up, primary down, all down)."""

    def __init__(self, router: Router) -> None:
        self.router = router

    def __call__(self, seen: Seen) -> Reply:
        return self.router(seen)
