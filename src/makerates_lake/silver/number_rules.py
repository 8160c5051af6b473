"""The number rules of validation: whether a rate text is a decimal that fits
decimal(38,18) exactly (see :mod:`makerates_lake.silver.validate` for every rule).

Rate texts are checked as text, never through a float: a text with an exponent is
first written out as a plain decimal (``1e-05`` becomes ``0.00001``), and that
written-out form is what the rules read and what is cast to the decimal.
"""

from __future__ import annotations

import re
from decimal import Decimal

import polars as pl

MAX_SCALE = 18
MAX_INTEGER_DIGITS = 20

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
#: The number rules, in the order they are checked (see the validate module docstring).
NUMBER_RULES = (
    "rate_not_a_number",
    "rate_not_positive",
    "rate_precision_exceeded",
    "rate_out_of_range",
)


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


def _number_rules(plain: pl.Expr) -> list[pl.Expr]:
    """Whether a written-out rate text (:func:`_plain_decimal`) breaks each of
    :data:`NUMBER_RULES` (null counts as not broken, except for the first)."""
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
    """:func:`number_columns` without its shortcut: every text stripped, written out
    (``_plain``) and checked against each of :data:`NUMBER_RULES` (``_n0`` to ``_n3``)."""
    written = pl.DataFrame({"_plain": _plain_decimal(texts.str.strip_chars())})
    rules = _number_rules(pl.col("_plain"))
    return written.select(
        "_plain", *(rule.fill_null(False).alias(f"_n{i}") for i, rule in enumerate(rules))
    )


def number_columns(texts: pl.Series) -> pl.DataFrame:
    """Each rate text written out (``_plain``, what is read as the decimal) and whether
    it breaks each of :data:`NUMBER_RULES` (``_n0`` to ``_n3``).

    A text of :data:`_PLAIN_RATE` with a digit 1-9 breaks none and is its own written-out
    form: two checks of the whole column settle nearly every row, and only the others
    (usually none) are stripped, written out and checked rule by rule. Checking every
    row rule by rule took several passes over the texts.
    """
    settled = (texts.str.contains(_PLAIN_RATE) & texts.str.contains("[1-9]")).fill_null(False)
    columns = pl.DataFrame(
        [texts.alias("_plain")]
        + [
            pl.repeat(False, texts.len(), eager=True).alias(f"_n{i}")
            for i in range(len(NUMBER_RULES))
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
