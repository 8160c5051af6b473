"""Convert amounts with gold's best rates (pure: works on ``fact_rate`` rows).

The rule for a date without a rate (weekends, holidays, before the first rate): by
default :class:`~makerates_lake.gold.errors.NoRateError`; with ``fallback="previous"``
the latest earlier date that has a rate, at most ``max_lookback_days`` back. For one
date the lookup tries, in order: a direct (published) ``from -> to`` rate;
``pivot -> to / pivot -> from`` over direct rates through EUR, USD, then any other
pivot (alphabetically), where ``pivot == to`` means ``1 / (to -> from)``; the inverse
of a direct ``to -> from``; finally a stored derived row. Computed rates follow the
precision rule (:func:`makerates_lake.gold.model.divide`) of the transform version the
gold rows carry (their ``transform_version``), so a book read from gold reprocessed with
an older version derives rates as that gold does; legs of two versions are refused
(:class:`MixedTransformVersionsError`) rather than given either version's rule.
The converted amount is not rounded: round it to the currency's ``minor_units``.

A currency into itself is the identity (rate 1) only on a date that has rates and holds
that code, so an unknown code or a date gold does not cover is a NoRateError, as for any
other pair. Amounts are checked by :func:`amount_of`: a number, finite, and at most
:data:`AMOUNT_DIGITS` digits either side of the point, so the product stays exact.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, Inexact, InvalidOperation, Overflow
from typing import Literal

import polars as pl

from makerates_lake.errors import ConfigError
from makerates_lake.gold.errors import GoldError, NoRateError
from makerates_lake.gold.model import divide
from makerates_lake.silver.versions import CURRENT_TRANSFORM_VERSION, rules_for

_PREFERRED_PIVOTS = ("EUR", "USD")

Fallback = Literal["error", "previous"]
"""What a date without a rate does: fail, or take the last rate before it."""

#: Digits an amount may have before, and after, the decimal point: far beyond any sum of
#: money, yet it keeps an exact product (and its plain text) small; 1E+1000000 is refused.
AMOUNT_DIGITS = 100

#: How much of a refused amount an error message repeats.
_SHOWN_CHARS = 40


class MixedTransformVersionsError(GoldError):
    """A rate would be computed from gold rows of different transform versions, whose
    precision rules differ: no one rule is the right one for it."""


@dataclass(frozen=True)
class Quote:
    """A rate found for a pair: the value, the date it is from and how it was found.

    Attributes:
        rate: Units of the target per unit of the source.
        rate_date: The date whose rate this is (earlier than asked with a fallback).
        method: ``"identity"``, ``"direct"``, ``"derived"``, ``"inverse"`` or
            ``"pivot:<CCY>"``.
        sources: The sources of the gold rows it came from.
        extraction_ids: The bronze rows those came from, for ``makerates audit trace``.
    """

    rate: Decimal
    rate_date: date
    method: str
    sources: tuple[str, ...] = ()
    extraction_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Row:
    """One best rate of a date and pair, with where it came from."""

    rate: Decimal
    derived: bool
    sources: tuple[str, ...]
    extraction_ids: tuple[str, ...]
    version: int = CURRENT_TRANSFORM_VERSION

    @classmethod
    def combined(cls, rate: Decimal, *legs: _Row) -> _Row:
        """A rate computed from ``legs``, carrying all their provenance."""
        return cls(
            rate,
            True,
            tuple(dict.fromkeys(s for leg in legs for s in leg.sources)),
            tuple(dict.fromkeys(e for leg in legs for e in leg.extraction_ids)),
            legs[0].version,
        )

    def quote(self, day: date, method: str) -> Quote:
        return Quote(self.rate, day, method, self.sources, self.extraction_ids)


class RateBook:
    """The best rate per (date, base, quote), indexed for lookups.

    Args:
        facts: ``gold.fact_rate`` rows (only ``is_best`` rows are used).
        transform_version: Whose precision rule applies to computed rates; default each
            row's own ``transform_version`` (the current version where it has none).

    Raises:
        UnknownTransformVersionError: A version this code does not implement.
    """

    def __init__(self, facts: pl.DataFrame, *, transform_version: int | None = None) -> None:
        best = facts.filter(pl.col("is_best"))
        if transform_version is not None or "transform_version" not in best.columns:
            version = pl.lit(transform_version or CURRENT_TRANSFORM_VERSION, dtype=pl.Int64)
        else:
            version = pl.col("transform_version").cast(pl.Int64)
        best = best.with_columns(version.fill_null(CURRENT_TRANSFORM_VERSION).alias("_version"))
        self._digits = {v: rules_for(v).cross_significant_digits for v in best["_version"].unique()}
        self._rates: dict[date, dict[tuple[str, str], _Row]] = defaultdict(dict)
        columns = ["rate_date", "base_currency", "quote_currency", "rate", "is_derived", "_version"]
        provenance = [c for c in ("source_name", "extraction_id") if c in best.columns]
        for values in best.select(*columns, *provenance).iter_rows():
            day, base, quote, rate, derived, row_version, *origin = values
            source, extraction = (*origin, None, None)[:2]
            self._rates[day][(base, quote)] = _Row(
                rate,
                derived,
                (source,) if source else (),
                (extraction,) if extraction else (),
                row_version,
            )

    def transform_versions(self) -> list[int]:
        """The transform versions whose rules the book's rows follow, lowest first."""
        return sorted(self._digits)

    def _divide(self, day: date, numerator: Decimal, denominator: Decimal, *legs: _Row) -> Decimal:
        """``numerator / denominator`` by the precision rule of the legs' version.

        Raises:
            MixedTransformVersionsError: The legs are of different transform versions.
        """
        versions = sorted({leg.version for leg in legs})
        if len(versions) > 1:
            raise MixedTransformVersionsError(
                "the rates to combine come from gold rows of different transform versions; "
                "reprocess gold with one version",
                date=day.isoformat(),
                versions=", ".join(map(str, versions)),
            )
        return divide(numerator, denominator, self._digits[versions[0]])

    def dates(self) -> list[date]:
        """Every date that has a rate, oldest first."""
        return sorted(self._rates)

    def quotes_of(self, base: str, on: date) -> list[str]:
        """Currencies ``base`` can be priced in on ``on``: those with a direct rate from or
        into it, and those reachable through a pivot it has a direct rate with; sorted."""
        pairs = [pair for pair, row in self._rates.get(on, {}).items() if not row.derived]
        near = {q for b, q in pairs if b == base} | {b for b, q in pairs if q == base}
        reachable = set(near)
        for pivot in near:
            reachable |= {q for b, q in pairs if b == pivot} | {b for b, q in pairs if q == pivot}
        return sorted(reachable - {base})

    def latest_on_or_before(self, on: date, *, max_lookback_days: int) -> date | None:
        """The latest date with rates on or before ``on``, at most that many days back."""
        for back in range(max_lookback_days + 1):
            day = on - timedelta(days=back)
            if day in self._rates:
                return day
        return None

    def _on(self, day: date, source: str, target: str) -> Quote | None:
        rates = self._rates.get(day)
        if not rates:
            return None
        # Published (direct) numbers first; a stored cross rate is already rounded, so
        # computing from direct legs is preferred over reusing or inverting it.
        direct = {pair: row for pair, row in rates.items() if not row.derived}
        if (source, target) in direct:
            return direct[(source, target)].quote(day, "direct")
        pivots = sorted(
            {b for b, _ in direct},
            key=lambda c: (_PREFERRED_PIVOTS.index(c) if c in _PREFERRED_PIVOTS else 9, c),
        )
        one = Decimal(1)
        for pivot in pivots:
            leg_from, leg_to = direct.get((pivot, source)), direct.get((pivot, target))
            if leg_from is not None and leg_to is not None:
                rate = self._divide(day, leg_to.rate, leg_from.rate, leg_to, leg_from)
                return _Row.combined(rate, leg_to, leg_from).quote(day, f"pivot:{pivot}")
            if pivot == target and leg_from is not None:
                inverse = self._divide(day, one, leg_from.rate, leg_from)
                return _Row.combined(inverse, leg_from).quote(day, "inverse")
        if (target, source) in direct:
            leg = direct[(target, source)]
            inverse = self._divide(day, one, leg.rate, leg)
            return _Row.combined(inverse, leg).quote(day, "inverse")
        if (source, target) in rates:
            return rates[(source, target)].quote(day, "derived")
        return None

    def _identity(self, day: date, code: str) -> Quote | None:
        """Rate 1 if ``day`` has a rate in ``code`` (else an unknown code or an uncovered
        date would pass as a conversion)."""
        if any(code in pair for pair in self._rates.get(day, {})):
            return Quote(Decimal(1), day, "identity")
        return None

    def rate(
        self,
        source: str,
        target: str,
        on: date,
        *,
        fallback: Fallback = "error",
        max_lookback_days: int = 7,
    ) -> Quote:
        """The rate to convert ``source`` into ``target`` on ``on``.

        Raises:
            NoRateError: No rate on that date (or within the lookback with ``"previous"``),
                also for a currency into itself where that date has no rate in it.
            ConfigError: ``fallback`` is not ``"error"`` or ``"previous"`` (a ValueError).
            MixedTransformVersionsError: The rate would combine rows of two versions.
        """
        days = max_lookback_days if checked_fallback(fallback) == "previous" else 0
        for back in range(days + 1):
            day = on - timedelta(days=back)
            if source == target:
                found = self._identity(day, source)
            else:
                found = self._on(day, source, target)
            if found is not None:
                return found
        raise NoRateError(
            "no rate for this pair on this date",
            pair=f"{source}/{target}",
            date=on.isoformat(),
            fallback=fallback,
        )

    def convert(
        self,
        amount: Decimal | int | str,
        source: str,
        target: str,
        on: date,
        *,
        fallback: Fallback = "error",
        max_lookback_days: int = 7,
    ) -> Decimal:
        """``amount`` of ``source`` in ``target`` on ``on`` (exact product, not rounded).

        Raises:
            ConfigError: ``amount`` is refused by :func:`amount_of`.
            NoRateError: See :meth:`rate`.
        """
        value = amount_of(amount)
        quote = self.rate(
            source, target, on, fallback=fallback, max_lookback_days=max_lookback_days
        )
        return exact_product(value, quote.rate)


def checked_fallback(value: object) -> Fallback:
    """``value`` checked to be a :data:`Fallback`.

    Raises:
        ConfigError: Neither ``"error"`` nor ``"previous"`` (a ValueError too).
    """
    if value == "previous":
        return "previous"
    if value == "error":
        return "error"
    raise ConfigError("fallback must be 'error' or 'previous'", fallback=repr(value))


def amount_of(value: Decimal | int | str) -> Decimal:
    """``value`` as the exact Decimal amount to convert (text is read as written).

    Raises:
        ConfigError: ``value`` is not a number, not finite (NaN, Infinity), or has more
            than :data:`AMOUNT_DIGITS` digits before or after the decimal point; the
            message names the amount (its first characters if it is long).
    """
    out_of_range = (
        f"the amount is out of range: at most {AMOUNT_DIGITS} digits before and "
        f"{AMOUNT_DIGITS} after the decimal point"
    )
    try:
        text = str(value)
    except ValueError:  # an int of more digits than Python will write out
        raise ConfigError(out_of_range) from None
    shown = repr(text if len(text) <= _SHOWN_CHARS else f"{text[: _SHOWN_CHARS - 3]}...")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(text)
    except (InvalidOperation, ValueError, TypeError):
        raise ConfigError("the amount is not a number", amount=shown) from None
    if not amount.is_finite():
        raise ConfigError("the amount must be a finite number", amount=shown)
    if amount.adjusted() >= AMOUNT_DIGITS or _places(amount) > AMOUNT_DIGITS:
        raise ConfigError(out_of_range, amount=shown)
    return amount


def _places(amount: Decimal) -> int:
    """Digits after the point that matter: ``1.000`` has none (no rounding context)."""
    _, digits, exponent = amount.as_tuple()
    if not any(digits):
        return 0
    places = -int(exponent)
    for digit in reversed(digits):
        if digit or places <= 0:
            break
        places -= 1
    return max(places, 0)


def exact_product(amount: Decimal, rate: Decimal) -> Decimal:
    """``amount * rate`` with every digit: the context holds both coefficients' digits and
    any exponent (Python's default keeps 28 digits), and a lost digit raises rather than
    rounds.

    Raises:
        ConfigError: ``amount`` is refused by :func:`amount_of`.
    """
    amount = amount_of(amount)
    digits = len(amount.as_tuple().digits) + len(rate.as_tuple().digits)
    exact = Context(
        prec=digits + 2, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[Inexact, InvalidOperation, Overflow]
    )
    return exact.multiply(amount, rate)


def convert(
    facts: pl.DataFrame,
    amount: Decimal | int | str,
    source: str,
    target: str,
    on: date,
    *,
    fallback: Fallback = "error",
) -> Decimal:
    """One-off conversion over ``fact_rate`` rows; build a :class:`RateBook` for many.

    Raises:
        ConfigError: ``amount`` is refused by :func:`amount_of`.
        NoRateError: No rate for the pair on ``on`` (see the module rule).
    """
    return RateBook(facts).convert(amount, source, target, on, fallback=fallback)
