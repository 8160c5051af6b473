"""Convert amounts with gold's best rates (pure: works on ``fact_rate`` rows).

The rule for a date without a rate (weekends, holidays, before the first rate): by
default :class:`~makerates_lake.gold.errors.NoRateError`; with ``fallback="previous"``
the latest earlier date that has a rate, at most ``max_lookback_days`` back. For one
date the lookup tries, in order: a direct (published) ``from -> to`` rate;
``pivot -> to / pivot -> from`` over direct rates through EUR, USD, then any other
pivot (alphabetically), where ``pivot == to`` means ``1 / (to -> from)``; the inverse
of a direct ``to -> from``; finally a stored derived row. Computed rates follow the
transform version's precision rule (:func:`makerates_lake.gold.model.divide`).
The converted amount is not rounded: round it to the currency's ``minor_units``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, localcontext
from typing import Literal

import polars as pl

from makerates_lake.gold.errors import NoRateError
from makerates_lake.gold.model import divide
from makerates_lake.silver.versions import CURRENT_TRANSFORM_VERSION, rules_for

_PREFERRED_PIVOTS = ("EUR", "USD")


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

    @classmethod
    def combined(cls, rate: Decimal, *legs: _Row) -> _Row:
        """A rate computed from ``legs``, carrying all their provenance."""
        return cls(
            rate,
            True,
            tuple(dict.fromkeys(s for leg in legs for s in leg.sources)),
            tuple(dict.fromkeys(e for leg in legs for e in leg.extraction_ids)),
        )

    def quote(self, day: date, method: str) -> Quote:
        return Quote(self.rate, day, method, self.sources, self.extraction_ids)


class RateBook:
    """The best rate per (date, base, quote), indexed for lookups.

    Args:
        facts: ``gold.fact_rate`` rows (only ``is_best`` rows are used).
        transform_version: Whose precision rule applies to computed rates.
    """

    def __init__(self, facts: pl.DataFrame, *, transform_version: int | None = None) -> None:
        best = facts.filter(pl.col("is_best"))
        version = transform_version or CURRENT_TRANSFORM_VERSION
        self._digits = rules_for(version).cross_significant_digits
        self._rates: dict[date, dict[tuple[str, str], _Row]] = defaultdict(dict)
        columns = ["rate_date", "base_currency", "quote_currency", "rate", "is_derived"]
        provenance = [c for c in ("source_name", "extraction_id") if c in best.columns]
        for values in best.select(*columns, *provenance).iter_rows():
            day, base, quote, rate, derived, *origin = values
            source, extraction = (*origin, None, None)[:2]
            self._rates[day][(base, quote)] = _Row(
                rate, derived, (source,) if source else (), (extraction,) if extraction else ()
            )

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
                rate = divide(leg_to.rate, leg_from.rate, self._digits)
                return _Row.combined(rate, leg_to, leg_from).quote(day, f"pivot:{pivot}")
            if pivot == target and leg_from is not None:
                inverse = divide(one, leg_from.rate, self._digits)
                return _Row.combined(inverse, leg_from).quote(day, "inverse")
        if (target, source) in direct:
            leg = direct[(target, source)]
            return _Row.combined(divide(one, leg.rate, self._digits), leg).quote(day, "inverse")
        if (source, target) in rates:
            return rates[(source, target)].quote(day, "derived")
        return None

    def rate(
        self,
        source: str,
        target: str,
        on: date,
        *,
        fallback: Literal["error", "previous"] = "error",
        max_lookback_days: int = 7,
    ) -> Quote:
        """The rate to convert ``source`` into ``target`` on ``on``.

        Raises:
            NoRateError: No rate on that date (or within the lookback with ``"previous"``).
            ValueError: ``fallback`` is not ``"error"`` or ``"previous"``.
        """
        if fallback not in ("error", "previous"):
            raise ValueError("fallback must be 'error' or 'previous'")
        if source == target:
            return Quote(Decimal(1), on, "identity")
        days = max_lookback_days if fallback == "previous" else 0
        for back in range(days + 1):
            found = self._on(on - timedelta(days=back), source, target)
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
        amount: Decimal,
        source: str,
        target: str,
        on: date,
        *,
        fallback: Literal["error", "previous"] = "error",
        max_lookback_days: int = 7,
    ) -> Decimal:
        """``amount`` of ``source`` in ``target`` on ``on`` (exact product, not rounded).

        Raises:
            NoRateError: See :meth:`rate`.
        """
        quote = self.rate(
            source, target, on, fallback=fallback, max_lookback_days=max_lookback_days
        )
        return exact_product(Decimal(amount), quote.rate)


def exact_product(amount: Decimal, rate: Decimal) -> Decimal:
    """``amount * rate`` with every digit (Python's default context keeps 28).

    Raises:
        ValueError: ``amount`` is not a finite number.
    """
    if not amount.is_finite():
        raise ValueError(f"cannot convert {amount}: not a finite amount")
    with localcontext() as context:
        context.prec = len(amount.as_tuple().digits) + len(rate.as_tuple().digits) + 2
        return amount * rate


def convert(
    facts: pl.DataFrame,
    amount: Decimal,
    source: str,
    target: str,
    on: date,
    *,
    fallback: Literal["error", "previous"] = "error",
) -> Decimal:
    """One-off conversion over ``fact_rate`` rows; build a :class:`RateBook` for many.

    Raises:
        NoRateError: No rate for the pair on ``on`` (see the module rule).
    """
    return RateBook(facts).convert(amount, source, target, on, fallback=fallback)
