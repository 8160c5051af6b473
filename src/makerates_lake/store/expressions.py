"""Typed builders for PyIceberg row filters.

PyIceberg's expression classes are pydantic models whose positional constructors (the
documented way to build them) confuse mypy; these wrappers hold the one ignore each.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyiceberg.expressions import (
    AlwaysFalse,
    AlwaysTrue,
    And,
    BooleanExpression,
    EqualTo,
    GreaterThanOrEqual,
    In,
    LessThan,
    LessThanOrEqual,
    Or,
)


def is_in(column: str, values: Sequence[object]) -> BooleanExpression:
    """``column IN values``."""
    return In(column, list(values))  # type: ignore[call-arg, arg-type]


def equal(column: str, value: object) -> BooleanExpression:
    """``column = value``."""
    return EqualTo(column, value)  # type: ignore[call-arg, arg-type]


def at_least(column: str, value: object) -> BooleanExpression:
    """``column >= value``."""
    return GreaterThanOrEqual(column, value)  # type: ignore[call-arg, arg-type]


def at_most(column: str, value: object) -> BooleanExpression:
    """``column <= value``."""
    return LessThanOrEqual(column, value)  # type: ignore[call-arg, arg-type]


def below(column: str, value: object) -> BooleanExpression:
    """``column < value``."""
    return LessThan(column, value)  # type: ignore[call-arg, arg-type]


def all_of(*parts: BooleanExpression) -> BooleanExpression:
    """Every condition (AlwaysTrue for none)."""
    result: BooleanExpression = AlwaysTrue()
    for part in parts:
        result = part if isinstance(result, AlwaysTrue) else And(result, part)
    return result


def any_of(*parts: BooleanExpression) -> BooleanExpression:
    """Any condition (AlwaysFalse for none)."""
    result: BooleanExpression = AlwaysFalse()
    for part in parts:
        result = part if isinstance(result, AlwaysFalse) else Or(result, part)
    return result


def all_equal(*pairs: tuple[str, object]) -> BooleanExpression:
    """``a = x AND b = y ...`` (AlwaysTrue for none)."""
    return all_of(*(equal(column, value) for column, value in pairs))


def in_range(column: str, start: object | None, end: object | None) -> BooleanExpression:
    """``start <= column < end``, either bound optional."""
    parts: list[BooleanExpression] = []
    if start is not None:
        parts.append(at_least(column, start))
    if end is not None:
        parts.append(below(column, end))
    return all_of(*parts)
