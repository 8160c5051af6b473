"""Row filters for audit scans.

PyIceberg's expression classes are pydantic models whose documented positional
constructors confuse mypy; these wrappers hold the ignores in one place.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyiceberg.expressions import (
    AlwaysTrue,
    And,
    BooleanExpression,
    EqualTo,
    GreaterThanOrEqual,
    In,
    LessThan,
)


def equal(column: str, value: object) -> BooleanExpression:
    """``column = value``."""
    return EqualTo(column, value)  # type: ignore[call-arg, arg-type]


def all_equal(*pairs: tuple[str, object]) -> BooleanExpression:
    """``a = x AND b = y ...`` (AlwaysTrue for none)."""
    return all_of(*(equal(column, value) for column, value in pairs))


def is_in(column: str, values: Sequence[object]) -> BooleanExpression:
    """``column IN values``."""
    return In(column, list(values))  # type: ignore[call-arg, arg-type]


def in_range(column: str, start: object | None, end: object | None) -> BooleanExpression:
    """``start <= column < end``, either bound optional."""
    parts: list[BooleanExpression] = []
    if start is not None:
        parts.append(GreaterThanOrEqual(column, start))  # type: ignore[call-arg, arg-type]
    if end is not None:
        parts.append(LessThan(column, end))  # type: ignore[call-arg, arg-type]
    return all_of(*parts)


def all_of(*parts: BooleanExpression) -> BooleanExpression:
    """Every condition (AlwaysTrue for none)."""
    if not parts:
        return AlwaysTrue()
    result = parts[0]
    for part in parts[1:]:
        result = And(result, part)
    return result
