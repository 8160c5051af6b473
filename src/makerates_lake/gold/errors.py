"""Errors of the gold stage.

::

    TransformError                 (makerates_lake.errors)
     └── GoldError
          └── NoRateError (LookupError)   no rate for a pair on a date
"""

from __future__ import annotations

from makerates_lake.errors import TransformError


class GoldError(TransformError):
    """Base for the gold stage."""


class NoRateError(GoldError, LookupError):
    """No rate (direct, inverse or through a pivot) for a pair on the date asked."""
