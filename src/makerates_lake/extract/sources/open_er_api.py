"""open.er-api.com: ExchangeRate-API's free endpoint, no key, ``/v6/latest/{BASE}``.

Same envelope and error types as the keyed API (rates under ``rates``). An IP over its
limit gets HTTP 429 for 20 minutes, so a long ``Retry-After`` moves on to the next tier
rather than waiting (see ``retry_after_max_s``).
"""

from __future__ import annotations

from makerates_lake.extract.errors import ExtractError
from makerates_lake.extract.http import Exchange, HttpRequest
from makerates_lake.extract.sources._v6 import check_v6
from makerates_lake.extract.sources.base import SourceRequest
from makerates_lake.extract.sources.exchangerate_api import _code
from makerates_lake.source_names import OPEN_ER_API

VERSION = "v6"


class OpenErApi:
    """Requests for open.er-api.com.

    Args:
        base_url: Scheme and host, e.g. ``https://open.er-api.com``.
    """

    name = OPEN_ER_API

    def __init__(self, base_url: str = "https://open.er-api.com") -> None:
        self._base_url = base_url.rstrip("/")

    def latest(self, base: str) -> SourceRequest:
        """``/v6/latest/{BASE}``."""
        return SourceRequest(
            OPEN_ER_API, VERSION, HttpRequest(f"{self._base_url}/v6/latest/{_code(base)}")
        )

    def check(self, exchange: Exchange) -> ExtractError | None:
        """Provider error (any status), then HTTP status, then a JSON ``success`` body."""
        return check_v6(exchange, source=self.name)

    def alternate(self, request: SourceRequest, error: ExtractError) -> SourceRequest | None:
        """Nothing to fall back to inside this source."""
        return None
