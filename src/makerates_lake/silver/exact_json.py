"""JSON decoding that keeps what the provider wrote: every number as its exact text and
every duplicate key, plus the short texts a reject shows of a value or a payload.

Numbers are read with ``parse_float``/``parse_int`` hooks: the rate text is exactly what
the provider wrote (no float round trip), ``0.86720`` stays ``0.86720``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

#: Longest text of an offending value (or a payload's start) that a reject keeps.
OFFENDING_MAX_CHARS = 200


class _DupDict(dict[str, Any]):
    """A JSON object that had a key more than once; ``pairs`` keeps every occurrence."""

    pairs: list[tuple[str, Any]]


def _pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) == len(pairs):
        return result
    dup = _DupDict(result)
    dup.pairs = pairs
    return dup


class JsonNumber(str):
    """A JSON number kept as its exact text (``0.86720`` stays ``0.86720``).

    A distinct type so a rate sent as a JSON *string* (``"0.92"``) is not mistaken for a
    number: see :func:`rate_text`.
    """

    __slots__ = ()


def load_json(body: bytes) -> Any:
    """Decode JSON keeping every number as its exact text and every duplicate key."""
    return json.loads(
        body,
        parse_float=JsonNumber,
        parse_int=JsonNumber,
        parse_constant=JsonNumber,  # NaN/Infinity stay text and fail the number rule
        object_pairs_hook=_pairs_hook,
    )


def rate_text(value: object) -> str | None:
    """A rate value as text for validation.

    Numbers keep their exact text. A JSON string keeps its quotes (``"0.92"`` becomes
    ``'"0.92"'``), so it fails the number rule and the reject shows what was sent: a
    provider that starts quoting its rates has changed its schema, and we flag it rather
    than guess.
    """
    if isinstance(value, JsonNumber):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    return as_text(value)


def as_text(value: object) -> str | None:
    """A JSON value as text for a rate or code column (numbers are already text)."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)[:OFFENDING_MAX_CHARS]


def preview(body: bytes) -> str:
    """The start of a payload, for the offending_value of a payload-level reject."""
    return body[:OFFENDING_MAX_CHARS].decode("utf-8", errors="replace")


def rate_items(rates: Mapping[str, Any]) -> tuple[list[str | None], list[str | None], bool]:
    """Quotes and rate texts of a rates object, flat (``{"EUR": 0.92}``) or nested
    (``{"EUR": {"rate": 0.92, ...}}``); the flag says whether the nested shape was seen."""
    if isinstance(rates, _DupDict):
        quotes: list[str | None] = [k for k, _ in rates.pairs]
        values = [v for _, v in rates.pairs]
    else:
        quotes = list(rates.keys())
        values = list(rates.values())
    if all(type(v) is JsonNumber for v in values):  # the common flat shape: no per-rate work
        return quotes, values, False
    texts: list[str | None] = []
    nested = False
    for value in values:
        if isinstance(value, Mapping):
            nested = True
            texts.append(rate_text(value.get("rate")))
        else:
            texts.append(rate_text(value))
    return quotes, texts, nested
