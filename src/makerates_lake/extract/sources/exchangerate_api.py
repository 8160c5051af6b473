"""ExchangeRate-API v6 (needs a key): latest, pair and history.

URLs follow the contract with silver, which reads the requested base from the path:
``/v6/{KEY}/latest/{BASE}``, ``/v6/{KEY}/pair/{BASE}/{TARGET}[/{AMOUNT}]``,
``/v6/{KEY}/history/{BASE}/{YEAR}/{MONTH}/{DAY}`` (no leading zeros). With
``auth="bearer"`` the key goes in an ``Authorization`` header and the path drops it
(``/v6/latest/{BASE}``). Either way bronze stores the URL and headers redacted.

Every documented error type is an error code, whatever the HTTP status (401/403/404 or
200 with ``result: error``). After ``invalid-key`` with the current key,
:meth:`ExchangeRateApi.alternate` offers the previous key while its grace period lasts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

from makerates_lake.extract.errors import ExtractError, SecretError
from makerates_lake.extract.http import Exchange, HttpRequest
from makerates_lake.extract.secrets import ApiKeys, KeyProvider
from makerates_lake.extract.sources._v6 import check_v6
from makerates_lake.extract.sources.base import SourceRequest
from makerates_lake.secret import Secret
from makerates_lake.source_names import EXCHANGERATE_API

VERSION = "v6"
_PREVIOUS_KEY_NOTE = "previous key (grace period)"


def _code(currency: str) -> str:
    code = currency.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValueError(f"not an ISO 4217 currency code: {currency!r}")
    return code


class ExchangeRateApi:
    """Requests for ExchangeRate-API v6.

    Args:
        keys: Where the key comes from.
        base_url: Scheme and host, e.g. ``https://v6.exchangerate-api.com``.
        auth: ``"path"`` or ``"bearer"``.
        now: Clock for the grace window.
    """

    name = EXCHANGERATE_API

    def __init__(
        self,
        keys: KeyProvider,
        base_url: str = "https://v6.exchangerate-api.com",
        *,
        auth: str = "path",
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if auth not in {"path", "bearer"}:
            raise ValueError("auth must be 'path' or 'bearer'")
        self._keys = keys
        self._base_url = base_url.rstrip("/")
        self._auth = auth
        self._now = now

    def _load(self) -> ApiKeys:
        return self._keys.load()

    def _request(self, tail: str, key: Secret, keys: ApiKeys, note: str = "") -> SourceRequest:
        if self._auth == "bearer":
            http = HttpRequest(
                f"{self._base_url}/v6/{tail}",
                headers={"Authorization": f"Bearer {key.reveal()}"},
            )
        else:
            http = HttpRequest(f"{self._base_url}/v6/{key.reveal()}/{tail}")
        return SourceRequest(EXCHANGERATE_API, VERSION, http, keys.values(), note)

    def _build(self, tail: str) -> SourceRequest:
        keys = self._load()
        return self._request(tail, keys.current, keys)

    def latest(self, base: str) -> SourceRequest:
        """``/latest/{BASE}``."""
        return self._build(f"latest/{_code(base)}")

    def pair(self, base: str, target: str, amount: Decimal | None = None) -> SourceRequest:
        """``/pair/{BASE}/{TARGET}[/{AMOUNT}]``."""
        tail = f"pair/{_code(base)}/{_code(target)}"
        return self._build(f"{tail}/{amount}" if amount is not None else tail)

    def history(self, base: str, day: date) -> SourceRequest:
        """``/history/{BASE}/{YEAR}/{MONTH}/{DAY}`` (paid plans)."""
        return self._build(f"history/{_code(base)}/{day.year}/{day.month}/{day.day}")

    def check(self, exchange: Exchange) -> ExtractError | None:
        """Provider error (any status), then HTTP status, then a JSON ``success`` body."""
        return check_v6(exchange, source=self.name)

    def alternate(self, request: SourceRequest, error: ExtractError) -> SourceRequest | None:
        """After ``invalid-key`` with the current key, the previous key inside its grace period."""
        if getattr(error, "error_code", None) != "invalid-key" or request.note:
            return None
        invalidate = getattr(self._keys, "invalidate", None)
        if callable(invalidate):
            # The store may have been rotated since we cached it: read it again.
            invalidate()
        try:
            keys = self._load()
        except SecretError:
            return None
        if not keys.previous_usable(self._now()) or keys.previous is None:
            return None
        used = request.secrets[0] if request.secrets else ""
        tail = _tail_of(request, used)
        if keys.current.reveal() != used:
            # A newer current key appeared since the request was built: try it first.
            return self._request(tail, keys.current, keys, note="refreshed current key")
        return self._request(tail, keys.previous, keys, note=_PREVIOUS_KEY_NOTE)


def _tail_of(request: SourceRequest, key: str) -> str:
    """The part of the path after ``/v6/[KEY/]``."""
    path = request.http.url.split("/v6/", 1)[1]
    prefix = f"{key}/"
    return path[len(prefix):] if key and path.startswith(prefix) else path
