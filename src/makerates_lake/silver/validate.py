"""Validation and flags for parsed rate rows (pure, vectorised Polars).

Rules, checked in this order; a row that breaks several gets one reject naming the
first (the ``rule`` column of ``silver.rejects``):

=========================  ===========================================================
``invalid_currency_code``  base or quote is not an ISO 4217 code (historical included)
``rate_not_a_number``      the rate text is not a decimal number (``NaN``, ``"abc"``)
``rate_not_positive``      zero or negative
``rate_precision_exceeded`` more than 18 decimal places: it would not survive exactly
``rate_out_of_range``      more than 20 integer digits (beyond decimal(38,18))
``base_to_base_not_one``   quote == base with a rate other than 1
``base_mismatch``          the payload's base differs from the base that was requested
``invalid_rate_date``      no date, or not a calendar date
``future_rate_date``       more than one day after the extraction (UTC); one day of
                           slack because providers east of UTC date rates ahead of it
``duplicate_quote``        one extraction gave the same base/quote/date more than once;
                           every copy is rejected because we cannot tell which is right
=========================  ===========================================================

Flags keep the row: ``is_jump`` (day-over-day change above a threshold within one
source, base and quote, against the previous observed date within ten days) and
``is_stale`` (a *latest* answer whose provider time is older than a threshold at
extraction; history and backfills are old on purpose).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import polars as pl

from makerates_lake import source_names
from makerates_lake.silver.currencies import known_codes
from makerates_lake.silver.parse import META_COLUMNS

RATE_DTYPE = pl.Decimal(38, 18)
MAX_SCALE = 18
MAX_INTEGER_DIGITS = 20
FUTURE_SLACK = timedelta(days=1)

# ASCII digits only: a regex \d (and Python's Decimal) also takes other scripts' digits,
# which decimal(38,18) does not: a rate of Arabic-Indic digits stopped the whole batch
# (a rate that fits no decimal) instead of being rejected.
_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_NUMBER_TEXT = re.compile(_NUMBER)
#: Digits of the longest valid rate; an exponent form longer than this written out is
#: invalid whatever its digits.
_MAX_DIGITS = MAX_INTEGER_DIGITS + MAX_SCALE
#: A rate text that breaks none of the number rules when it also has a digit 1-9: a
#: plain decimal, at most MAX_INTEGER_DIGITS integer digits without a leading zero and
#: at most MAX_SCALE decimals, nothing around it. Nearly every rate a provider sends.
_PLAIN_RATE = rf"^(?:0|[1-9][0-9]{{0,{MAX_INTEGER_DIGITS - 1}}})(?:\.[0-9]{{1,{MAX_SCALE}}})?$"
#: The number rules, in the order they are checked (see the module docstring).
_NUMBER_RULES = (
    "rate_not_a_number",
    "rate_not_positive",
    "rate_precision_exceeded",
    "rate_out_of_range",
)

#: Column order of silver.rates.
SILVER_COLUMNS = (
    *META_COLUMNS,
    "base_currency",
    "quote_currency",
    "rate",
    "rate_text",
    "rate_date",
    "provider_updated_at",
    "schema_version",
    "transform_version",
    "is_jump",
    "is_stale",
)
#: Column order of silver.rejects.
REJECT_COLUMNS = (
    *META_COLUMNS,
    "rule",
    "field",
    "offending_value",
    "detail",
    "base_currency",
    "quote_currency",
    "rate_date",
    "transform_version",
)


@dataclass(frozen=True)
class Validated:
    """Rows that passed (``rates``, silver column order) and rows that did not."""

    rates: pl.DataFrame
    rejects: pl.DataFrame


def _plain_decimal(texts: pl.Series) -> pl.Series:
    """Exponent forms (``1e-05``) written out as plain decimals; other texts unchanged.

    A text with an exponent that is not a number in :data:`_NUMBER`'s sense becomes null
    (not a number): Python's Decimal would also take "1_0e2" or other scripts' digits.
    """
    mapping: dict[str, str | None] = {}
    for text in texts.filter(texts.str.contains("[eE]")).unique().to_list():
        match = _NUMBER_TEXT.fullmatch(text)
        mapping[text] = None if match is None else _plain_text(text, match)
    if not mapping:
        return texts
    return texts.replace(mapping)


def _plain_text(text: str, number: re.Match[str]) -> str:
    """The number ``text`` (matched by :data:`_NUMBER`) without its exponent; when that
    is longer than any valid rate, a short text that breaks the same first rule instead.

    Written out, ``1e999999999`` is a gigabyte of zeros, and ``1e99999999999999999999``
    is more than Decimal takes; either is rejected anyway. The stand-in keeps what the
    rules read: the sign, whether the value is zero, and whether the integer part has
    more than MAX_INTEGER_DIGITS significant digits and the fraction more than MAX_SCALE
    digits, all counted here on the text.
    """
    whole, _, decimals = number.group(1).partition(".")
    written = number.group(2)[1:]
    # Python refuses int() of more than 4,300 digits; 10**20 is as out of range as more.
    shift = int(written) if len(written) <= 20 else (-1 if written[0] == "-" else 1) * 10**20
    exponent = shift - len(decimals)
    digits = (whole + decimals).lstrip("0")
    integer_digits = max(0, len(digits) + exponent)
    fraction_digits = max(0, -exponent)
    negative = text.startswith("-")
    if not digits:  # zero, however written: rate_not_positive
        return "-0" if negative else "0"
    if integer_digits + fraction_digits <= _MAX_DIGITS:
        return format(Decimal(text), "f")
    stand_in = "-" if negative else ""
    whole_digits = min(integer_digits, MAX_INTEGER_DIGITS + 1)
    stand_in += "1".ljust(whole_digits, "0") if whole_digits else "0"
    if fraction_digits:
        stand_in += "." + "1".rjust(min(fraction_digits, MAX_SCALE + 1), "0")
    return stand_in


_DUPLICATE_KEY = ("extraction_id", "base_currency", "quote_currency", "rate_date")


def _duplicates(frame: pl.DataFrame) -> pl.Series:
    """Rows whose (extraction, base, quote, date) occurs more than once.

    A 64-bit hash of the key finds the candidates in one cheap pass over 1.75 million
    rows; only those (in practice none or a handful) are compared on the real key, so a
    hash collision never rejects a row.
    """
    hashes = frame.select(pl.struct(_DUPLICATE_KEY).hash()).to_series()
    # Counting distinct hashes costs half of marking the duplicated ones, and in
    # practice there are none to mark.
    if hashes.n_unique() == hashes.len():
        return pl.repeat(False, frame.height, eager=True)
    maybe = hashes.is_duplicated()
    candidates = frame.with_row_index("_i").filter(maybe)
    confirmed = candidates.filter(pl.len().over(_DUPLICATE_KEY) > 1).get_column("_i")
    return pl.repeat(False, frame.height, eager=True).scatter(confirmed, True)


def _rule_columns(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rows that pass every rule, and the others with ``rule``, ``field`` and
    ``offending_value`` (the first rule each breaks)."""
    codes = list(known_codes())
    numbers = [
        (pl.col(f"_n{i}"), rule, "rate", pl.col("rate_text"))
        for i, rule in enumerate(_NUMBER_RULES)
    ]
    checks: list[tuple[pl.Expr, str, str, pl.Expr]] = [
        (
            ~pl.col("base_currency").is_in(codes).fill_null(False),
            "invalid_currency_code",
            "base_currency",
            pl.col("base_currency"),
        ),
        (
            ~pl.col("quote_currency").is_in(codes).fill_null(False),
            "invalid_currency_code",
            "quote_currency",
            pl.col("quote_currency"),
        ),
        *numbers,
        (
            (pl.col("base_currency") == pl.col("quote_currency"))
            & (pl.col("_rate") != pl.lit(1).cast(RATE_DTYPE)),
            "base_to_base_not_one",
            "rate",
            pl.col("rate_text"),
        ),
        (
            pl.col("requested_base").is_not_null()
            & (pl.col("base_currency") != pl.col("requested_base")),
            "base_mismatch",
            "base_currency",
            pl.col("base_currency"),
        ),
        (pl.col("_date").is_null(), "invalid_rate_date", "rate_date", pl.col("rate_date")),
        (
            pl.col("_date") > (pl.col("extraction_timestamp") + FUTURE_SLACK).dt.date(),
            "future_rate_date",
            "rate_date",
            pl.col("rate_date"),
        ),
        (
            pl.col("_duplicate"),
            "duplicate_quote",
            "quote_currency",
            pl.col("quote_currency"),
        ),
    ]
    frame = frame.hstack(_number_columns(frame.get_column("rate_text")))
    frame = frame.with_columns(
        pl.col("_plain").cast(RATE_DTYPE, strict=False).alias("_rate"),
        _duplicates(frame).alias("_duplicate"),
    )
    # Each condition is computed once, as a column: the three when/then chains below
    # would otherwise evaluate every regex and window three times.
    frame = frame.with_columns(
        condition.fill_null(False).alias(f"_c{i}") for i, (condition, *_) in enumerate(checks)
    )
    flags = [pl.col(f"_c{i}") for i in range(len(checks))]
    broken = pl.any_horizontal(flags)
    good = frame.filter(~broken).drop([f"_c{i}" for i in range(len(checks))])
    # The chains below visit every rule for every row they see: they see only the
    # rejected rows (few or none), not 1.75 million good ones.
    frame = frame.filter(broken)
    # when/then chains change type after the first link; Any keeps the loop simple.
    rule: Any = pl.when(flags[0]).then(pl.lit(checks[0][1]))
    field: Any = pl.when(flags[0]).then(pl.lit(checks[0][2]))
    value: Any = pl.when(flags[0]).then(checks[0][3])
    for flag, (_, name, column, offending) in zip(flags[1:], checks[1:], strict=True):
        rule = rule.when(flag).then(pl.lit(name))
        field = field.when(flag).then(pl.lit(column))
        value = value.when(flag).then(offending)
    bad = frame.with_columns(
        rule.otherwise(None).alias("rule"),
        field.otherwise(None).alias("field"),
        value.otherwise(None).str.slice(0, 200).alias("offending_value"),
    ).drop([f"_c{i}" for i in range(len(checks))])
    return good, bad


def _number_rules(plain: pl.Expr) -> list[pl.Expr]:
    """Whether a written-out rate text (:func:`_plain_decimal`) breaks each of
    :data:`_NUMBER_RULES` (null counts as not broken, except for the first)."""
    # A valid number here is [+-]digits[.digits] (exponents were written out), so the
    # digit counts come from the position of the dot instead of regex captures. Rows
    # that are not numbers fail an earlier rule first.
    length = plain.str.len_bytes()
    dot = plain.str.find(".", literal=True)
    fraction = pl.when(dot.is_null()).then(0).otherwise(length - dot - 1)
    # Significant integer digits: the part before the dot less its leading signs and
    # zeros. Stripping those from the whole text stops at the dot at the latest, so it
    # strips the same characters without slicing out the integer part first.
    leading = length - plain.str.strip_chars_start("+-0").str.len_bytes()
    integer_digits = pl.coalesce(dot, length) - leading
    return [
        ~plain.str.contains(_NUMBER).fill_null(False),
        plain.str.starts_with("-") | ~plain.str.contains("[1-9]"),
        fraction > MAX_SCALE,
        integer_digits > MAX_INTEGER_DIGITS,
    ]


def _numbers_rule_by_rule(texts: pl.Series) -> pl.DataFrame:
    """:func:`_number_columns` without its shortcut: every text stripped, written out
    (``_plain``) and checked against each of :data:`_NUMBER_RULES` (``_n0`` to ``_n3``)."""
    written = pl.DataFrame({"_plain": _plain_decimal(texts.str.strip_chars())})
    rules = _number_rules(pl.col("_plain"))
    return written.select(
        "_plain", *(rule.fill_null(False).alias(f"_n{i}") for i, rule in enumerate(rules))
    )


def _number_columns(texts: pl.Series) -> pl.DataFrame:
    """Each rate text written out (``_plain``, what is read as the decimal) and whether
    it breaks each of :data:`_NUMBER_RULES` (``_n0`` to ``_n3``).

    A text of :data:`_PLAIN_RATE` with a digit 1-9 breaks none and is its own written-out
    form: two checks of the whole column settle nearly every row, and only the others
    (usually none) are stripped, written out and checked rule by rule. Checking every
    row rule by rule took nine passes over the texts.
    """
    settled = (texts.str.contains(_PLAIN_RATE) & texts.str.contains("[1-9]")).fill_null(False)
    columns = pl.DataFrame(
        [texts.alias("_plain")]
        + [
            pl.repeat(False, texts.len(), eager=True).alias(f"_n{i}")
            for i in range(len(_NUMBER_RULES))
        ]
    )
    others = (~settled).arg_true()
    if others.len() == 0:
        return columns
    checked = _numbers_rule_by_rule(texts.gather(others))
    return pl.DataFrame(
        [
            columns.get_column(name).scatter(others, checked.get_column(name))
            for name in columns.columns
        ]
    )


def validate(rates: pl.DataFrame, *, transform_version: int) -> Validated:
    """Apply every rule to parsed rate rows.

    Args:
        rates: :attr:`ParsedBatch.rates <makerates_lake.silver.parse.ParsedBatch.rates>`.
        transform_version: Stored on every output row.

    Returns:
        Valid rows in silver column order (flags still False: see :func:`flag_suspicious`)
        and rejected rows in reject column order.
    """
    frame = rates.with_columns(_dates(rates.get_column("rate_date")).alias("_date"))
    version = pl.lit(transform_version, pl.Int32).alias("transform_version")
    passed, failed = _rule_columns(frame)
    good = passed.with_columns(version).select(
        *META_COLUMNS,
        "base_currency",
        "quote_currency",
        # Computed once for the rules; every valid text fits decimal(38,18), so there is
        # no null here (the rules reject what would not fit).
        pl.col("_rate").alias("rate"),
        "rate_text",
        pl.col("_date").alias("rate_date"),
        pl.from_epoch("provider_updated_unix", time_unit="s")
        .dt.replace_time_zone("UTC")
        .alias("provider_updated_at"),
        "schema_version",
        "transform_version",
        pl.lit(False).alias("is_jump"),
        pl.col("is_latest").alias("is_stale"),  # replaced by flag_suspicious
    )
    bad = failed.with_columns(version).select(
        *META_COLUMNS,
        "rule",
        "field",
        "offending_value",
        pl.lit("row failed validation").alias("detail"),
        "base_currency",
        "quote_currency",
        pl.col("_date").alias("rate_date"),
        "transform_version",
    )
    if good.get_column("rate").null_count():  # the rules above make this impossible
        raise AssertionError("a validated rate does not fit decimal(38,18)")
    return Validated(rates=good, rejects=bad)


def _dates(texts: pl.Series) -> pl.Series:
    """Rate date texts as dates (null where not a calendar date).

    A payload's rows usually share one date and lie together: each run of equal texts
    is parsed once, a fifth of the cost of parsing every row.
    """
    runs = texts.rle_id()
    starts = (runs != runs.shift(1)).fill_null(True)
    parsed = texts.filter(starts).str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
    return parsed.gather(runs)


def payload_rejects(rejects: pl.DataFrame, *, transform_version: int) -> pl.DataFrame:
    """Payload-level rejects from parsing, in reject column order."""
    return rejects.with_columns(
        pl.lit(None, pl.String).alias("base_currency"),
        pl.lit(None, pl.String).alias("quote_currency"),
        pl.lit(None, pl.Date).alias("rate_date"),
        pl.lit(transform_version, pl.Int32).alias("transform_version"),
    ).select(REJECT_COLUMNS)


_KEY = ("source_name", "base_currency", "quote_currency")
_DAY = (*_KEY, "rate_date")
#: Row order of silver.rates: the table's sort order, then a unique tie-break.
SILVER_ORDER = (
    "rate_date",
    "base_currency",
    "quote_currency",
    "source_name",
    "extraction_timestamp",
    "extraction_id",
)


#: Values each part of a packed key can take: currency codes, sources, and days (2^25,
#: centred on 1970-01-01).
_CODES, _SOURCES, _DAYS = 512, 16, 1 << 25


def packed_day_key(frame: pl.DataFrame) -> pl.Series | None:
    """(rate_date, base, quote, source) packed into one integer that sorts the same way.

    Sorting 1.75 million rows on text keys costs a second; validated rows have ISO codes
    and known sources, so the four keys pack into one integer (codes and sources in
    alphabetical order, so the order is the same). None when a value does not fit (a row
    that did not come through validation): the caller sorts on the columns instead.
    """
    codes = pl.Enum(sorted(known_codes()))
    sources = pl.Enum(sorted(source_names.ALL_SOURCES))
    if len(codes.categories) > _CODES or len(sources.categories) > _SOURCES:
        return None
    days = pl.col("rate_date").cast(pl.Int64) + _DAYS // 2
    base = pl.col("base_currency").cast(codes, strict=False).to_physical().cast(pl.Int64)
    quote = pl.col("quote_currency").cast(codes, strict=False).to_physical().cast(pl.Int64)
    source = pl.col("source_name").cast(sources, strict=False).to_physical().cast(pl.Int64)
    key = ((days * _CODES + base) * _CODES + quote) * _SOURCES + source
    keys = frame.select(key.alias("_k"), days.alias("_d"))
    in_range = keys.select(pl.col("_d").is_between(0, _DAYS - 1).all()).item()
    packed = keys.get_column("_k")
    return packed if in_range and packed.null_count() == 0 else None


def _date_last_key(day_first: pl.Expr) -> pl.Expr:
    """A :func:`packed_day_key` value repacked as (source, base, quote, date), which
    sorts each pair's days together: arithmetic, ten times cheaper than packing the
    text columns again."""
    per_day = _CODES * _CODES * _SOURCES
    days, pair_and_source = day_first // per_day, day_first % per_day
    pair, source = pair_and_source // _SOURCES, pair_and_source % _SOURCES
    return (source * (_CODES * _CODES) + pair) * _DAYS + days


def sort_silver(rates: pl.DataFrame) -> pl.DataFrame:
    """Rows in :data:`SILVER_ORDER`, sorted on :func:`packed_day_key` when it fits."""
    return _sorted_silver(rates)[0]


def _sorted_silver(rates: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series | None]:
    """:func:`sort_silver`, and the rows' :func:`packed_day_key` in their new order
    (None when it does not fit)."""
    packed = packed_day_key(rates)
    if packed is None or rates.height == 0:
        return rates.sort(SILVER_ORDER), None
    order = _silver_order(rates, packed)
    # Filters leave one chunk per thread, and gathering 1.75 million rows across chunks
    # costs several times the copy into one chunk plus the gather from it.
    return rates.rechunk()[order], packed.gather(order)


#: Bits of a non-negative Int64 sort key.
_KEY_BITS = 63


def _silver_order(rates: pl.DataFrame, packed: pl.Series) -> pl.Series:
    """Row indices that put ``rates`` (not empty) in :data:`SILVER_ORDER`.

    One integer sort when the day key (shifted to start at 0) and the rank of the
    extraction fit one Int64 together (five years of six daily extractions take 47
    bits): a sort on the key, the time and the id text costs three times as much.
    """
    ranks = _extraction_ranks(rates)
    if ranks is not None:
        low: int = packed.min()  # type: ignore[assignment]
        high: int = packed.max()  # type: ignore[assignment]
        rank_bits = max(int(ranks.max()), 1).bit_length()  # type: ignore[arg-type]
        if (high - low).bit_length() + rank_bits < _KEY_BITS:
            return ((packed - low) * (1 << rank_bits) + ranks).arg_sort()
    keys = rates.select("extraction_timestamp", "extraction_id").with_columns(packed)
    return keys.select(pl.arg_sort_by("_k", "extraction_timestamp", "extraction_id")).to_series()


#: Rows per run of one extraction below which :func:`_extraction_ranks` gives up.
_MIN_RUN = 8


def _extraction_ranks(rates: pl.DataFrame) -> pl.Series | None:
    """Each row's place among the batch's extractions in (timestamp, id) order (0, 1, ...).

    Parsed rows of one extraction lie together, so the extractions are ranked one row
    per run of equal ids (thousands, not millions); a run that reappears gets the same
    rank, since equal (timestamp, id) pairs rank equal. None when the runs are short
    (rows in another order, e.g. stored silver): ranking them would cost more than the
    sort it saves.
    """
    starts = (pl.col("extraction_id") != pl.col("extraction_id").shift(1)).fill_null(True)
    runs = rates.select("extraction_timestamp", "extraction_id", starts.alias("_start"))
    firsts = runs.filter("_start").select("extraction_timestamp", "extraction_id")
    if firsts.height * _MIN_RUN > rates.height:
        return None
    run_of_row = runs.select(pl.col("_start").cum_sum().cast(pl.Int64) - 1).to_series()
    order = firsts.select(pl.arg_sort_by("extraction_timestamp", "extraction_id")).to_series()
    ordered = firsts[order]
    changed = pl.any_horizontal(pl.col(c) != pl.col(c).shift(1) for c in ordered.columns)
    dense = ordered.select(changed.fill_null(True).cum_sum().cast(pl.Int64) - 1).to_series()
    rank_of_run = pl.Series([0] * firsts.height, dtype=pl.Int64).scatter(order, dense)
    return rank_of_run.gather(run_of_row)


#: A jump compares a day with the previous observed date only when that date is at most
#: this far back: a gap longer than a holiday is not "day over day". The bound also
#: keeps incremental runs exact: new rows can change flags only within this window.
JUMP_WINDOW = timedelta(days=10)


def flag_suspicious(
    rates: pl.DataFrame,
    *,
    jump_threshold: float,
    stale_after: timedelta,
    on_sorted: Callable[[pl.DataFrame], object] | None = None,
) -> pl.DataFrame:
    """Set ``is_jump`` and ``is_stale`` on valid rows.

    A jump compares a day's rows (per source, base and quote) with the previous date's
    last observation, when that date is within :data:`JUMP_WINDOW`. The flag is a
    function of the set of rows alone, never of the order they arrived in: incremental
    runs recompute it with :func:`mark_jumps` over the rows around the new ones. The
    ratio is computed in float: a flag is a heuristic, the stored rate stays exact.

    Args:
        rates: Valid rows from :func:`validate` (with ``is_stale`` holding ``is_latest``).
        jump_threshold: Relative change that counts as a jump (0.1 = 10 %).
        stale_after: Age of a latest answer's provider time (or rate date, when the
            provider sends no time) at extraction beyond which it is stale.
        on_sorted: Called with the rows in :data:`SILVER_ORDER` before the flags are
            set (their other columns are final), so a caller can start on them
            meanwhile, e.g. gold on another thread.

    Returns:
        The rows in :data:`SILVER_ORDER`, silver column order.
    """
    provider_time = pl.coalesce(
        pl.col("provider_updated_at"),
        pl.col("rate_date").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
    )
    ordered, day_keys = _sorted_silver(rates)
    if on_sorted is not None:
        on_sorted(ordered)
    flagged = _with_jumps(ordered, day_keys, jump_threshold).with_columns(
        (pl.col("is_stale") & ((pl.col("extraction_timestamp") - provider_time) > stale_after))
        .fill_null(False)
        .alias("is_stale"),
    )
    return flagged.select(SILVER_COLUMNS)


def mark_jumps(rows: pl.DataFrame, *, jump_threshold: float) -> pl.DataFrame:
    """Recompute ``is_jump`` of silver rows (any order; ``is_stale`` is kept as it is).

    Returns:
        The rows in :data:`SILVER_ORDER`, silver column order.
    """
    return _with_jumps(*_sorted_silver(rows), jump_threshold).select(SILVER_COLUMNS)


def _with_jumps(
    rows: pl.DataFrame, day_keys: pl.Series | None, jump_threshold: float
) -> pl.DataFrame:
    """``is_jump`` for rows already in :data:`SILVER_ORDER`, with their
    :func:`packed_day_key` when it fits."""
    if day_keys is None:
        return _with_jumps_by_columns(rows, jump_threshold)
    # Each (date, base, quote, source) is one run of rows, latest last: the day's last
    # observation closes its run, found without a group-by or a join. The packed key
    # names the run in one integer, so runs are told apart by one comparison a row
    # instead of four (three of them on text).
    rows = rows.with_columns(day_keys.alias("_packed"))
    packed = pl.col("_packed")
    rows, days = _day_closes(
        rows, packed != packed.shift(1), _date_last_key(packed).alias("_by_key")
    )
    by_key = days.get_column("_by_key")
    ordered = days[by_key.arg_sort()]  # each key's days in date order: one integer sort
    key_part = pl.col("_by_key") // _DAYS  # (source, base, quote)
    same_key = key_part == key_part.shift(1)
    near = (pl.col("_by_key") - pl.col("_by_key").shift(1)) <= JUMP_WINDOW.days
    return _flag_jumps(rows, ordered, same_key & near, jump_threshold)


def _with_jumps_by_columns(rows: pl.DataFrame, jump_threshold: float) -> pl.DataFrame:
    """:func:`_with_jumps` for rows whose keys do not pack: the same, on the columns."""
    new_day = pl.any_horizontal(pl.col(c) != pl.col(c).shift(1) for c in _DAY)
    rows, days = _day_closes(rows, new_day, *_DAY)
    ordered = days.sort(*_KEY, "rate_date")
    same_key = pl.all_horizontal(pl.col(c) == pl.col(c).shift(1) for c in _KEY)
    near = (pl.col("rate_date") - pl.col("rate_date").shift(1)) <= JUMP_WINDOW
    return _flag_jumps(rows, ordered, same_key & near, jump_threshold)


def _day_closes(
    rows: pl.DataFrame, new_day: pl.Expr, *keys: str | pl.Expr
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``rows`` with each run of one day's rows numbered (``_day``) and its rate as a
    float (``_float``), and one row per run, its last: ``_day``, ``keys`` and that float
    (``_day_rate``)."""
    rows = rows.with_columns(
        new_day.fill_null(True).cum_sum().cast(pl.Int64).sub(1).alias("_day"),
        pl.col("rate").cast(pl.Float64).alias("_float"),
    )
    closes = (pl.col("_day") != pl.col("_day").shift(-1)).fill_null(True)
    # Lazily, so only these columns are filtered (not all of silver's); in one chunk
    # for the callers' reordering of the days (a gather or a sort).
    days = (
        rows.lazy()
        .filter(closes)
        .select("_day", pl.col("_float").alias("_day_rate"), *keys)
        .collect()
        .rechunk()
    )
    return rows, days


def _flag_jumps(
    rows: pl.DataFrame, ordered_days: pl.DataFrame, follows: pl.Expr, jump_threshold: float
) -> pl.DataFrame:
    """``is_jump`` from the days in key-then-date order: a day is compared with the one
    before it where ``follows`` (same key, within the window)."""
    compared = ordered_days.select(
        pl.when(follows.fill_null(False)).then(pl.col("_day_rate").shift(1))
    ).to_series()
    # Back in day order: the days are numbered 0, 1, ..., so each one's place is its
    # number (a scatter, where sorting by the number cost a sort of every day).
    previous = pl.repeat(None, compared.len(), dtype=pl.Float64, eager=True).scatter(
        ordered_days.get_column("_day"), compared
    )
    jump = ((pl.col("_float") / pl.col("_prev")) - 1).abs() > jump_threshold
    return (
        rows.with_columns(previous.gather(rows.get_column("_day")).alias("_prev"))
        .with_columns(jump.fill_null(False).alias("is_jump"))
        .drop("_day", "_prev", "_float", "_packed", strict=False)
    )
