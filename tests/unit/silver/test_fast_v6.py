"""The vectorised v6 reader gives exactly what the json.loads reader gives, or steps aside."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from makerates_lake import source_names
from makerates_lake.silver.fast_v6 import parse_canonical
from makerates_lake.silver.parse import parse_bronze
from tests.silver_helpers import frame, mostly, only_exact_reader, record, sorted_rows, v6_latest

_ws = mostly(["", " ", "\n  "], ["\t", "\r\n", "\f"])
_number = mostly(
    ["1", "0.86720", "0", "1e-05", "1E+3", "123456789.123456789012345678", "2.0", "-0.5",
     "0.000000000000000000001", "1e400"],
    ["01", "1.", ".5", "NaN", '"0.9"', "true", "null", '{"rate": 0.9}', "[1]"],
)  # fmt: skip
_quote = mostly(["EUR", "JPY", "GBP", "XYZ", "USD"], ["eur", "EURO", "US D", "result", ""])
_scalar = mostly(
    ['"success"', "1714694401", '"USD"', "null", "true", "1.5", '"a b"'],
    ['"error"', "-5", "12345678901234", '"x\\"y"', '"1714694401"', "[]", "{}"],
)
_top_key = mostly(["result", "base_code", "time_last_update_unix", "documentation", "provider"],
                   ["error", "error-type", "year", "month", "day", "conversion_rate",
                    "target_code", "rates", "conversion_rates", "Result"])  # fmt: skip
_url = st.sampled_from(
    ["https://v6.exchangerate-api.com/v6/[REDACTED]/latest/USD",
     "https://v6.exchangerate-api.com/v6/[REDACTED]/history/eur/2024/5/3",
     "https://v6.exchangerate-api.com/v6/[REDACTED]/pair/USD/EUR",
     "https://open.er-api.com/v6/latest/GBP", "https://x.test/other"],
)  # fmt: skip
_rates_key = st.sampled_from(["conversion_rates", "conversion_rates", "rates"])


@st.composite
def _bodies(draw: st.DrawFn) -> str:
    """Mostly canonical v6 bodies with a few of every irregularity sprinkled in."""
    ws = draw(_ws)
    pairs = draw(st.lists(st.tuples(_quote, _number), max_size=6))
    rates = "{" + ",".join(f'{ws}"{q}"{draw(_ws)}:{ws}{n}' for q, n in pairs) + ws + "}"
    members = [(k, draw(_scalar)) for k in draw(st.lists(_top_key, max_size=5))]
    members.insert(draw(st.integers(0, len(members))), (draw(_rates_key), rates))
    body = "{" + ",".join(f'{ws}"{k}"{draw(_ws)}:{ws}{v}' for k, v in members) + ws + "}"
    return draw(mostly(["", " "], ["\ufeff", "x"])) + body + draw(_ws)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(bodies=st.lists(_bodies(), min_size=1, max_size=4), urls=st.lists(_url, min_size=4))
def test_fast_reader_matches_json_reader(
    bodies: list[str], urls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On generated payloads both readers give the same rates and rejects, row for row."""
    sources = [source_names.EXCHANGERATE_API, source_names.OPEN_ER_API]
    bronze = frame(
        *(
            record(body, url=urls[i], source=sources[i % 2], version=("v6", None)[i % 2])
            for i, body in enumerate(bodies)
        )
    )
    fast = parse_bronze(bronze)
    with monkeypatch.context() as patch:
        only_exact_reader(patch, "parse_canonical")
        slow = parse_bronze(bronze)
    assert sorted_rows(fast.rates).equals(sorted_rows(slow.rates))
    assert sorted_rows(fast.rejects).equals(sorted_rows(slow.rejects))


def test_canonical_payload_takes_the_fast_path_exactly() -> None:
    """A typical v6 payload is read by the vectorised reader with every rate text kept."""
    bronze = frame(
        record(v6_latest('{"USD":1, "EUR":0.86720,\n "JPY": 1e-05, "PLN":4.4038}')),
        record("nope", status=500),
    )
    rates, handled = parse_canonical(bronze, pl.Series([True, False]))
    assert handled.to_list() == [True, False]
    assert rates["quote_currency"].to_list() == ["USD", "EUR", "JPY", "PLN"]
    assert rates["rate_text"].to_list() == ["1", "0.86720", "1e-05", "4.4038"]
    assert rates["schema_version"].unique().to_list() == ["v6-latest-flat"]
    assert rates["rate_date"].unique().to_list() == ["2024-05-03"]


@pytest.mark.parametrize(
    ("body", "fast"),
    [
        # Characters of several bytes before and after the rates object: it is cut out
        # by byte offsets, which must not drift.
        ('{"provider":"Zürich €","conversion_rates":{"EUR":0.9},"base_code":"USD",'
         '"note":"日本"}', True),
        ('{"base_code":"USD","conversion_rates":{"EUR":0.9},"rates":{"JPY":150}}', False),
        ('{"base_code":"USD","rates":"none","conversion_rates":{"EUR":0.9}}', False),
        ('{"base_code":"USD","conversion_rates":{"EUR":0.9', False),
    ],
)  # fmt: skip
def test_rates_object_is_cut_out_by_bytes(
    body: str, fast: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a body with exactly one rates object takes the fast path, with the same rows."""
    bronze = frame(record(body))
    _, handled = parse_canonical(bronze, pl.Series([True]))
    assert handled.to_list() == [fast]
    with monkeypatch.context() as patch:
        only_exact_reader(patch, "parse_canonical")
        slow = parse_bronze(bronze)
    assert sorted_rows(parse_bronze(bronze).rates).equals(sorted_rows(slow.rates))
    assert sorted_rows(parse_bronze(bronze).rejects).equals(sorted_rows(slow.rejects))
