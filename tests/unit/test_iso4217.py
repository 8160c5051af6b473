"""The bundled ISO 4217 list: well-known facts, and a shape the loader can rely on."""

from __future__ import annotations

import csv
import io
from importlib import resources
from typing import Any

import pytest

from makerates_lake.silver.currencies import iso4217, known_codes


def _rows() -> dict[str, dict[str, Any]]:
    return {str(row["currency_code"]): row for row in iso4217().to_dicts()}


@pytest.mark.parametrize(
    ("code", "numeric", "minor_units", "name"),
    [
        ("EUR", "978", 2, "Euro"),
        ("USD", "840", 2, "US Dollar"),
        ("JPY", "392", 0, "Yen"),
        ("GBP", "826", 2, "Pound Sterling"),
        ("CHF", "756", 2, "Swiss Franc"),
        ("KWD", "414", 3, "Kuwaiti Dinar"),
        ("BHD", "048", 3, "Bahraini Dinar"),
        ("ISK", "352", 0, "Iceland Krona"),
        ("CLF", "990", 4, "Unidad de Fomento"),
        ("XCG", "532", 2, "Caribbean Guilder"),
        ("XAU", "959", None, "Gold"),
        ("XDR", "960", None, "SDR (Special Drawing Right)"),
    ],
)
def test_current_codes(code: str, numeric: str, minor_units: int | None, name: str) -> None:
    """Numeric code, minor units and name as ISO 4217 list one has them."""
    row = _rows()[code]
    assert row["numeric_code"] == numeric
    assert row["minor_units"] == minor_units
    assert row["currency_name"] == name
    assert row["is_active"] is True


@pytest.mark.parametrize(
    ("code", "numeric"),
    [
        ("ANG", "532"),  # replaced by XCG in 2025
        ("BGN", "975"),  # Bulgaria adopted the euro on 2026-01-01
        ("CYP", "196"),
        ("EEK", "233"),
        ("GRD", "300"),
        ("HRK", "191"),
        ("LTL", "440"),
        ("LVL", "428"),
        ("MTL", "470"),
        ("ROL", "642"),
        ("SIT", "705"),
        ("SKK", "703"),
        ("TRL", "792"),
    ],
)
def test_withdrawn_codes_are_known_but_not_active(code: str, numeric: str) -> None:
    """Codes the ECB history quotes stay valid for silver and are flagged inactive."""
    row = _rows()[code]
    assert code in known_codes()
    assert row["numeric_code"] == numeric
    assert row["is_active"] is False


def test_codes_not_in_iso4217_are_unknown() -> None:
    """Codes some APIs send that ISO 4217 does not define stay out."""
    assert not {"GGP", "FOK", "IMP", "JEP", "TVD", "KID", "EU", "usd"} & known_codes()


def test_file_shape() -> None:
    """Header unchanged; codes unique and three capitals; numeric codes three digits and
    unique among active codes; active is exactly true or false; minor units 0-4 or empty."""
    text = resources.files("makerates_lake").joinpath("data/iso4217.csv").read_text("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == "code,numeric,minor_units,name,active"
    codes = [row["code"] for row in rows]
    assert len(codes) == len(set(codes))
    for row in rows:
        assert len(row["code"]) == 3
        assert row["code"].isascii()
        assert row["code"].isupper()
        assert len(row["numeric"]) == 3
        assert row["numeric"].isdigit()
        assert row["minor_units"] in {"", "0", "2", "3", "4"}
        assert row["active"] in {"true", "false"}
        assert row["name"]
        assert row["name"] == row["name"].strip()
    active_numeric = [row["numeric"] for row in rows if row["active"] == "true"]
    assert len(active_numeric) == len(set(active_numeric))
