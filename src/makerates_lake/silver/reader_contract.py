"""What every payload reader takes, fills and raises: the :class:`Request` a payload
answered, the :class:`Collector` it appends rate rows to, and :class:`PayloadRejected`.

A collector is a set of column lists, so that a payload costs one ``json.loads`` and a
few C-level ``list.extend`` calls, and the columns become one Polars frame at the end.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import polars as pl

from makerates_lake.silver.exact_json import as_text

RAW_RATE_SCHEMA: dict[str, Any] = {
    "row": pl.UInt32,
    "base_currency": pl.String,
    "quote_currency": pl.String,
    "rate_text": pl.String,
    "rate_date": pl.String,
    "provider_updated_unix": pl.Int64,
    "schema_version": pl.String,
    "requested_base": pl.String,
    "is_latest": pl.Boolean,
}
RAW_REJECT_SCHEMA: dict[str, Any] = {
    "row": pl.UInt32,
    "rule": pl.String,
    "field": pl.String,
    "offending_value": pl.String,
    "detail": pl.String,
}


class PayloadRejected(Exception):  # noqa: N818 - control flow of the readers, never raised out
    """A whole payload is rejected with one rule; caught by the parse loop."""

    def __init__(self, rule: str, value: object, detail: str, field: str = "payload") -> None:
        super().__init__(detail)
        self.rule = rule
        self.value = value
        self.detail = detail
        self.field = field


@dataclass
class Collector:
    """Column lists of rate rows and rejects, plus frames from vectorised readers."""

    row: list[int] = field(default_factory=list)
    base: list[str | None] = field(default_factory=list)
    quote: list[str | None] = field(default_factory=list)
    text: list[str | None] = field(default_factory=list)
    rate_date: list[str | None] = field(default_factory=list)
    updated: list[int | None] = field(default_factory=list)
    version: list[str] = field(default_factory=list)
    requested: list[str | None] = field(default_factory=list)
    latest: list[bool] = field(default_factory=list)
    frames: list[pl.DataFrame] = field(default_factory=list)
    rejects: list[tuple[int, str, str, str | None, str]] = field(default_factory=list)

    def add(
        self,
        row: int,
        quotes: list[str | None],
        texts: list[str | None],
        *,
        base: str | list[str | None] | None,
        rate_date: str | list[str | None] | None,
        updated: int | None,
        version: str,
        requested: str | None,
        latest: bool,
    ) -> None:
        """Append the rates of one payload; scalars are repeated for every rate."""
        n = len(quotes)
        self.row.extend([row] * n)
        self.quote.extend(quotes)
        self.text.extend(texts)
        self.base.extend(base if isinstance(base, list) else [base] * n)
        self.rate_date.extend(rate_date if isinstance(rate_date, list) else [rate_date] * n)
        self.updated.extend([updated] * n)
        self.version.extend([version] * n)
        self.requested.extend([requested] * n)
        self.latest.extend([latest] * n)

    def reject(self, row: int, rule: str, field: str, value: object, detail: str) -> None:
        """Record one reject for a whole payload."""
        shown = value if isinstance(value, str) else as_text(value)
        self.rejects.append((row, rule, field, None if shown is None else shown[:200], detail))

    def mark(self) -> tuple[int, int]:
        """A point to roll back to if a reader fails half-way through a payload."""
        return len(self.row), len(self.frames)

    def rollback(self, mark: tuple[int, int]) -> None:
        """Forget rows added since ``mark``."""
        size, frames = mark
        for column in (
            self.row,
            self.base,
            self.quote,
            self.text,
            self.rate_date,
            self.updated,
            self.version,
            self.requested,
            self.latest,
        ):
            del column[size:]
        del self.frames[frames:]

    def rates_frame(self) -> pl.DataFrame:
        """All rate rows collected so far."""
        listed = pl.DataFrame(
            {
                "row": self.row,
                "base_currency": self.base,
                "quote_currency": self.quote,
                "rate_text": self.text,
                "rate_date": self.rate_date,
                "provider_updated_unix": self.updated,
                "schema_version": self.version,
                "requested_base": self.requested,
                "is_latest": self.latest,
            },
            schema=RAW_RATE_SCHEMA,
        )
        return pl.concat([listed, *self.frames], how="vertical") if self.frames else listed

    def rejects_frame(self) -> pl.DataFrame:
        """All payload-level rejects."""
        return pl.DataFrame(self.rejects, schema=RAW_REJECT_SCHEMA, orient="row")


@dataclass(frozen=True)
class Request:
    """What silver needs to know about the request a payload answered."""

    source_name: str
    source_version: str | None
    url: str
    params: str | None
    content_type: str | None

    def query(self) -> dict[str, str]:
        """Query parameters from the stored params (JSON) and the URL, lower-cased keys."""
        found = {k.lower(): v for k, v in parse_qsl(urlsplit(self.url).query)}
        if self.params:
            try:
                stored = json.loads(self.params)
            except ValueError:
                stored = None
            if isinstance(stored, dict):
                found.update({str(k).lower(): str(v) for k, v in stored.items()})
        return found
