"""Errors of the silver stage.

::

    TransformError                       (makerates_lake.errors)
     └── SilverError
          └── UnknownTransformVersionError (ValueError)

A payload that cannot be parsed is never an error here: it becomes a row of
``silver.rejects``. These errors are for the run itself (a wrong argument).
"""

from __future__ import annotations

from makerates_lake.errors import TransformError


class SilverError(TransformError):
    """Base for the silver stage."""


class UnknownTransformVersionError(SilverError, ValueError):
    """A transform version was asked for that this code does not implement."""
