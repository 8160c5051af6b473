"""The ISO 4217 reference list shipped with the package (current and historical codes).

Historical codes (CYP, ROL, TRL, ...) are valid in silver because the ECB history
quotes them; they are marked inactive in ``gold.dim_currency``. Codes that are not
ISO 4217 (for example ``GGP`` or ``FOK`` that ExchangeRate-API sends) are rejected by
the ``invalid_currency_code`` rule; extend ``data/iso4217.csv`` to accept more.
"""

from __future__ import annotations

import functools
from importlib import resources

import polars as pl

CURRENCY_SCHEMA = {
    "currency_code": pl.String,
    "numeric_code": pl.String,
    "minor_units": pl.Int32,
    "currency_name": pl.String,
    "is_active": pl.Boolean,
}


@functools.cache
def _iso4217_csv() -> bytes:
    return resources.files("makerates_lake").joinpath("data/iso4217.csv").read_bytes()


def iso4217() -> pl.DataFrame:
    """Every known code with name, numeric code, minor units and whether it is current."""
    frame = pl.read_csv(_iso4217_csv(), infer_schema=False)
    return frame.select(
        pl.col("code").alias("currency_code"),
        pl.col("numeric").alias("numeric_code"),
        pl.col("minor_units").cast(pl.Int32, strict=False),
        pl.col("name").alias("currency_name"),
        (pl.col("active") == "true").alias("is_active"),
    )


#: ISO 4217 codes that name no currency: a rate quoted in one is a provider's mistake.
NOT_CURRENCIES = frozenset({"XTS", "XXX"})  # reserved for testing; "no currency"


@functools.cache
def known_codes() -> frozenset[str]:
    """The set of accepted ISO 4217 alphabetic codes (less :data:`NOT_CURRENCIES`)."""
    return frozenset(iso4217().get_column("currency_code").to_list()) - NOT_CURRENCIES
