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
from decimal import Decimal
from typing import Literal

import polars as pl

from makerates_lake.gold.errors import NoRateError
from makerates_lake.gold.model import divide
from makerates_lake.silver.versions import CURRENT_TRANSFORM_VERSION, rules_for

_PREFERRED_PIVOTS = ("EUR", "USD")


@dataclass(frozen=True)
class Quote:
    """A rate found for a pair: the value, the date it is from and how it was found."""

    rate: Decimal
    rate_date: date
    method: str  # "identity", "direct", "derived", "inverse" or "pivot:<CCY>"


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
        self._rates: dict[date, dict[tuple[str, str], tuple[Decimal, bool]]] = defaultdict(dict)
        rows = best.select("rate_date", "base_currency", "quote_currency", "rate", "is_derived")
        for day, base, quote, rate, derived in rows.iter_rows():
            self._rates[day][(base, quote)] = (rate, derived)

    def _on(self, day: date, source: str, target: str) -> Quote | None:
        rates = self._rates.get(day)
        if not rates:
            return None
        # Published (direct) numbers first; a stored cross rate is already rounded, so
        # computing from direct legs is preferred over reusing or inverting it.
        direct = {pair: rate for pair, (rate, derived) in rates.items() if not derived}
        if (source, target) in direct:
            return Quote(direct[(source, target)], day, "direct")
        pivots = sorted(
            {b for b, _ in direct},
            key=lambda c: (_PREFERRED_PIVOTS.index(c) if c in _PREFERRED_PIVOTS else 9, c),
        )
        for pivot in pivots:
            leg_from, leg_to = direct.get((pivot, source)), direct.get((pivot, target))
            if leg_from is not None and leg_to is not None:
                rate = divide(leg_to, leg_from, self._digits)
                return Quote(rate, day, f"pivot:{pivot}")
            if pivot == target and leg_from is not None:
                return Quote(divide(Decimal(1), leg_from, self._digits), day, "inverse")
        if (target, source) in direct:
            return Quote(divide(Decimal(1), direct[(target, source)], self._digits), day, "inverse")
        if (source, target) in rates:
            return Quote(rates[(source, target)][0], day, "derived")
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
        return Decimal(amount) * quote.rate


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
