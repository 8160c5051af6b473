"""Frankfurter (ECB data, free, no key): v1 latest / a date / a range, and v2 rates.

The base always goes in the query (v1 ``base``, v2 ``base``): silver reads it there.
v1 answers an object with ``rates``; v2 a JSON array of ``{date, base, quote, rate}``.
Errors: 404 ``{"message": "not found"}``, 422 ``{"message": ...}`` (v2 adds ``status``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from makerates_lake.extract.errors import ExtractError, SourceError
from makerates_lake.extract.http import Exchange, HttpRequest, status_error
from makerates_lake.extract.sources.base import SourceRequest, body_error, check_json, try_json
from makerates_lake.extract.sources.exchangerate_api import _code
from makerates_lake.redact import redact_url
from makerates_lake.source_names import FRANKFURTER

_STATUS_CODES = {404: "not-found", 422: "invalid-request"}


class Frankfurter:
    """Requests for api.frankfurter.dev.

    Args:
        base_url: Scheme and host, without ``/v1`` or ``/v2``.
        version: ``"v1"`` or ``"v2"``; :meth:`latest` uses it.
    """

    name = FRANKFURTER

    def __init__(self, base_url: str = "https://api.frankfurter.dev", version: str = "v1") -> None:
        if version not in {"v1", "v2"}:
            raise ValueError("version must be 'v1' or 'v2'")
        self._base_url = base_url.rstrip("/")
        self.version = version

    def _v1(self, tail: str, base: str, symbols: Sequence[str]) -> SourceRequest:
        params = {"base": _code(base)}
        if symbols:
            params["symbols"] = ",".join(_code(s) for s in symbols)
        return SourceRequest(
            FRANKFURTER, "v1", HttpRequest(f"{self._base_url}/v1/{tail}", params=params)
        )

    def latest(self, base: str, symbols: Sequence[str] = ()) -> SourceRequest:
        """v1 ``/v1/latest?base=`` or v2 ``/v2/rates?base=``, per ``version``."""
        if self.version == "v2":
            return self.rates(base, quotes=symbols)
        return self._v1("latest", base, symbols)

    def on(self, day: date, base: str = "EUR", symbols: Sequence[str] = ()) -> SourceRequest:
        """v1 rates of one day, ``/v1/{YYYY-MM-DD}``."""
        return self._v1(day.isoformat(), base, symbols)

    def series(
        self, start: date, end: date | None = None, base: str = "EUR", symbols: Sequence[str] = ()
    ) -> SourceRequest:
        """v1 time series, ``/v1/{start}..{end}`` (open-ended without ``end``)."""
        tail = f"{start.isoformat()}..{end.isoformat() if end else ''}"
        return self._v1(tail, base, symbols)

    def rates(
        self,
        base: str,
        *,
        quotes: Sequence[str] = (),
        day: date | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> SourceRequest:
        """v2 ``/v2/rates`` with ``base``, ``quotes``, ``date`` or ``from``/``to``."""
        params = {"base": _code(base)}
        if quotes:
            params["quotes"] = ",".join(_code(q) for q in quotes)
        if day is not None:
            params["date"] = day.isoformat()
        if start is not None:
            params["from"] = start.isoformat()
        if end is not None:
            params["to"] = end.isoformat()
        return SourceRequest(
            FRANKFURTER, "v2", HttpRequest(f"{self._base_url}/v2/rates", params=params)
        )

    def check(self, exchange: Exchange) -> ExtractError | None:
        """Status (404/422 named), then a JSON body of the expected shape."""
        error = status_error(exchange, source=self.name)
        if error is not None:
            code = _STATUS_CODES.get(exchange.status or 0)
            if code is None:
                return error
            payload = try_json(exchange.body)
            detail = payload.get("message") if isinstance(payload, dict) else None
            return SourceError(
                f"Frankfurter refused the request: {detail or exchange.status}",
                error_code=code,
                source=self.name,
                url=redact_url(exchange.request.url),
                status=exchange.status,
            )
        payload, body_problem = check_json(exchange, source=self.name)
        if body_problem is not None:
            return body_problem
        expected_list = exchange.request.url.rstrip("/").endswith("/v2/rates")
        if expected_list != isinstance(payload, list) or (
            isinstance(payload, dict) and "rates" not in payload
        ):
            return body_error(
                exchange, source=self.name, code="unexpected-payload",
                message="JSON of an unexpected shape",
            )
        return None

    def alternate(self, request: SourceRequest, error: ExtractError) -> SourceRequest | None:
        """Nothing to fall back to inside this source."""
        return None
