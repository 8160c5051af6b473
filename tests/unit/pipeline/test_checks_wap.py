"""The write-audit-publish checks on small frames (pipeline/checks_wap.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from makerates_lake.errors import ConfigError
from makerates_lake.pipeline.checks_wap import (
    Evidence,
    check_currencies,
    check_disagreements,
    check_gold_matches_silver,
    check_jumps,
    check_lineage,
    check_rejects,
    check_row_counts,
    run_checks,
)
from makerates_lake.wap_thresholds import Thresholds

DAY = date(2026, 11, 2)
QUOTES = [f"C{i:02d}" for i in range(30)]


def _silver(quotes: list[str], day: date = DAY, text: str = "1.5") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "rate_date": [day] * len(quotes),
            "base_currency": ["EUR"] * len(quotes),
            "quote_currency": quotes,
            "source_name": ["ecb"] * len(quotes),
            "extraction_id": ["e1"] * len(quotes),
            "extraction_timestamp": [datetime(2026, 11, 2, 16, tzinfo=UTC)] * len(quotes),
            "rate_text": [text] * len(quotes),
            "is_jump": [False] * len(quotes),
        }
    )


def _evidence(silver: pl.DataFrame, **changes: object) -> Evidence:
    history = pl.DataFrame(
        {
            "source_name": ["ecb"] * 20,
            "base_currency": ["EUR"] * 20,
            "rate_date": [date(2026, 10, d) for d in range(1, 21)],
            "quotes": [30] * 20,
        }
    )
    base: dict[str, object] = {
        "silver": silver,
        "history": history,
        "gold": silver.select(
            "rate_date", "base_currency", "quote_currency", "source_name", "rate_text"
        ),
        "bronze_ids": pl.DataFrame({"extraction_id": ["e1"]}),
        "totals_before": {"silver.rates": 100, "silver.rejects": 0},
        "totals_after": {"silver.rates": 100 + silver.height, "silver.rejects": 0},
    }
    base.update(changes)
    return Evidence(**base)  # type: ignore[arg-type]


LIMITS = Thresholds()


def test_a_clean_run_passes_every_check() -> None:
    """A whole day of currencies, traced, gold equal to silver: every check passes."""
    results = run_checks(_evidence(_silver(QUOTES)), LIMITS)
    assert [r.name for r in results if not r.passed] == []


def test_half_the_currencies_fail_the_currency_check() -> None:
    """A day with 15 of the usual 30 quotes fails ``currencies`` and names the day."""
    result = check_currencies(_evidence(_silver(QUOTES[:15])), LIMITS)
    assert not result.passed
    assert result.observed == 0.5
    assert "2026-11-02" in result.detail


def test_rows_without_bronze_fail_lineage() -> None:
    """A silver row whose extraction bronze does not hold fails ``lineage``."""
    evidence = _evidence(_silver(QUOTES), bronze_ids=pl.DataFrame({"extraction_id": ["other"]}))
    assert not check_lineage(evidence, LIMITS).passed


def test_a_lost_half_fails_row_counts() -> None:
    """Silver shrinking from 100 to 40 rows fails ``row_counts`` at the default 0.5."""
    evidence = _evidence(_silver(QUOTES), totals_after={"silver.rates": 40, "silver.rejects": 0})
    result = check_row_counts(evidence, LIMITS)
    assert not result.passed
    assert result.observed == pytest.approx(0.6)


def test_rejects_and_jumps_are_judged_as_shares() -> None:
    """Mostly rejects, or mostly jumps, fail; under ``min_rows`` they are not judged."""
    many = _evidence(_silver(QUOTES), totals_after={"silver.rates": 110, "silver.rejects": 40})
    assert not check_rejects(many, LIMITS).passed
    jumpy = _silver(QUOTES).with_columns(pl.lit(True).alias("is_jump"))
    assert not check_jumps(_evidence(jumpy), LIMITS).passed
    assert check_jumps(_evidence(jumpy.head(5)), LIMITS).passed


def test_gold_text_other_than_silver_fails() -> None:
    """A direct gold rate whose text is not silver's fails ``gold_matches_silver``."""
    silver = _silver(QUOTES)
    gold = silver.select(
        "rate_date",
        "base_currency",
        "quote_currency",
        "source_name",
        pl.lit("1.50").alias("rate_text"),
    )
    assert not check_gold_matches_silver(_evidence(silver, gold=gold), LIMITS).passed


def test_thresholds_parse_names_and_refuse_unknown_ones() -> None:
    """``wap_thresholds`` overrides defaults by name; an unknown name is a ConfigError."""
    assert Thresholds.parse("max_jump_share=0.1, min_rows=5").max_jump_share == 0.1
    assert Thresholds.parse("") == Thresholds()
    with pytest.raises(ConfigError):
        Thresholds.parse("max_jumps=1")


def _second_source(silver: pl.DataFrame, texts: list[str]) -> pl.DataFrame:
    other = silver.with_columns(
        pl.lit("frankfurter").alias("source_name"),
        pl.lit("e2").alias("extraction_id"),
        pl.Series("rate_text", texts),
    )
    return pl.concat([silver, other])


def test_sources_that_disagree_on_many_pairs_fail_and_a_few_pass() -> None:
    """Two sources on 30 pairs: 3 beyond the 2 % difference is 10 % of the pairs (over
    the 5 % bound, named in the detail); 1 is 3.3 % (passes); one source compares
    nothing and passes."""
    silver = _silver(QUOTES)
    many = _second_source(silver, ["1.6"] * 3 + ["1.5"] * 27)
    result = check_disagreements(_evidence(many), LIMITS)
    assert not result.passed
    assert result.observed == pytest.approx(0.1)
    assert "3 of 30 source pairs differ" in result.detail
    assert "ecb=1.5 frankfurter=1.6" in result.detail

    few = _second_source(silver, ["1.6"] + ["1.5"] * 29)
    assert check_disagreements(_evidence(few), LIMITS).passed
    # 1.529 is 1.93 % from 1.5: within the bound, however many pairs.
    close = _second_source(silver, ["1.529"] * 30)
    assert check_disagreements(_evidence(close), LIMITS).observed == 0.0
    alone = check_disagreements(_evidence(silver), LIMITS)
    assert alone.passed
    assert alone.detail == "0 of 0 source pairs differ (too few to judge)"


def test_the_disagreement_bound_comes_from_the_lakes_setting_unless_named() -> None:
    """``rate_disagreement`` defaults to what the caller passes (the lake's
    ``disagreement_threshold``); a value in ``wap_thresholds`` wins."""
    assert Thresholds.parse("", rate_disagreement=0.1).rate_disagreement == 0.1
    named = Thresholds.parse("rate_disagreement=0.001", rate_disagreement=0.1)
    assert named.rate_disagreement == 0.001
    silver = _silver(QUOTES)
    many = _second_source(silver, ["1.6"] * 3 + ["1.5"] * 27)
    assert check_disagreements(_evidence(many), Thresholds.parse("", rate_disagreement=0.1)).passed
