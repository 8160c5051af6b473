"""Bounds of the write-audit-publish checks (the ``wap_thresholds`` setting).

Top level, beside :mod:`makerates_lake.settings`: the checks (pipeline) and branch
expiry (maintenance) both read it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from makerates_lake.errors import ConfigError


@dataclass(frozen=True)
class Thresholds:
    """Bounds of the checks; the ``wap_thresholds`` setting overrides them by name.

    Attributes:
        max_row_drop: Largest share of ``silver.rates`` or ``gold.fact_rate`` rows a run
            may remove against the previous ``main`` (0.5 = half).
        min_currency_share: A source's day must carry at least this share of the quote
            currencies that source usually carries (its median per day around the run).
        max_reject_share: Largest share of the run's new silver rows that may be rejects.
        max_jump_share: Largest share of the run's silver rows flagged ``is_jump``.
        max_disagreement_share: Largest share of the run's source pairs (two sources'
            rates of one pair and date) that may disagree.
        rate_disagreement: Relative difference above which two sources' rates disagree;
            unless named in ``wap_thresholds``, the lake's ``disagreement_threshold``.
        min_rows: Below this many rows a share is not judged (it passes).
        branch_max_age_days: ``maintain`` removes ``wap-`` branches older than this.
        publish_grace_minutes: A branch whose checks passed this long ago and that is
            still there was abandoned while publishing; the next run, on any host,
            finishes moving ``main`` (``pipeline/wap_recovery.py``).
    """

    max_row_drop: float = 0.5
    min_currency_share: float = 0.6
    max_reject_share: float = 0.5
    max_jump_share: float = 0.5
    max_disagreement_share: float = 0.05
    rate_disagreement: float = 0.02
    min_rows: float = 20
    branch_max_age_days: float = 7
    publish_grace_minutes: float = 15

    @classmethod
    def parse(cls, text: str, **defaults: float) -> Thresholds:
        """``name=value,...`` over ``defaults`` and the class's defaults (the
        ``wap_thresholds`` setting).

        Raises:
            ConfigError: An unknown name or a value that is not a non-negative number.
        """
        known = {item.name for item in dataclasses.fields(cls)}
        values: dict[str, float] = dict(defaults)
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, _, raw = part.partition("=")
            name = name.strip()
            try:
                value = float(raw)
            except ValueError:
                value = -1.0
            if name not in known or value < 0:
                raise ConfigError(
                    "wap_thresholds takes name=value pairs of known checks",
                    key="wap_thresholds",
                    value=part,
                    known=", ".join(sorted(known)),
                )
            values[name] = value
        return cls(**values)
