"""A string that never shows itself by accident."""

from __future__ import annotations

from typing import Final

from makerates_lake.log_redact import remember_secrets

_MASK: Final = "**********"


class Secret:
    """Holds a secret value; ``repr``/``str`` print a mask, :meth:`reveal` gives the value.

    Equality compares values so settings stay comparable, but hashing is by value
    too, which never exposes it. Every value is made known to the log filter
    (:mod:`makerates_lake.log_redact`), so no log record of the library or its HTTP
    stack prints it, whoever logs it.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        remember_secrets((value,))

    def reveal(self) -> str:
        """Return the real value; call it only where the value is sent, never logged."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{_MASK}')"

    def __str__(self) -> str:
        return _MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)
