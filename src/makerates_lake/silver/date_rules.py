"""The date rules of validation: rate date texts read as calendar dates, and how far
ahead of the extraction a rate date may lie."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

#: A rate date more than this after the extraction (UTC) is ``future_rate_date``: one
#: day of slack because providers east of UTC date rates ahead of it.
FUTURE_SLACK = timedelta(days=1)


def parse_dates(texts: pl.Series) -> pl.Series:
    """Rate date texts as dates (null where not a calendar date).

    A payload's rows usually share one date and lie together: each run of equal texts
    is parsed once, instead of parsing every row.
    """
    runs = texts.rle_id()
    starts = (runs != runs.shift(1)).fill_null(True)
    parsed = texts.filter(starts).str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
    return parsed.gather(runs)
