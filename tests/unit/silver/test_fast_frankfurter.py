"""The vectorised Frankfurter one-day reader against the exact per-payload reader."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from makerates_lake import source_names
from makerates_lake.silver.fast_frankfurter import parse_frankfurter_days
from makerates_lake.silver.parse import parse_bronze
from tests.silver_helpers import frame, mostly, only_exact_reader, record, sorted_rows

_ws = mostly(["", " ", "\n  "], ["\t", "\r\n", "\f"])
_number = mostly(
    ["1", "1.6147", "0", "1e-05", "1E+3", "123456789.123456789012345678", "2.0", "-0.5"],
    ["01", "1.", "NaN", '"0.9"', "true", "null", '{"AUD": 1.6}', "[1]"],
)  # fmt: skip
_quote = mostly(["USD", "JPY", "GBP", "XYZ", "EUR"], ["usd", "2024-01-02", "US D", ""])
_scalar = mostly(
    ['"EUR"', '"2024-01-02"', "1.0", "1", "4", "null", "true", '"USD"'],
    ['"x\\"y"', "12", "[]", "{}", '""'],
)
_top_key = mostly(["amount", "base", "date", "provider"],
                   ["message", "rates", "conversion_rates", "Base", "start_date"])  # fmt: skip
_url = st.sampled_from(
    ["https://api.frankfurter.app/2024-01-02", "https://api.frankfurter.app/latest",
     "https://api.frankfurter.app/latest?from=USD", "https://api.frankfurter.app/2024-01-02?base=gbp",
     "https://latest.frankfurter.test/2024-01-02"],
)  # fmt: skip
_params = st.sampled_from([None, None, None, {"base": "CHF"}, {"from": "usd"}, {}])
_version = st.sampled_from(["v1", None, ""])


@st.composite
def _bodies(draw: st.DrawFn) -> str:
    """Mostly canonical one-day answers with a few of every irregularity sprinkled in."""
    ws = draw(_ws)
    pairs = draw(st.lists(st.tuples(_quote, _number), max_size=6))
    rates = "{" + ",".join(f'{ws}"{q}"{draw(_ws)}:{ws}{n}' for q, n in pairs) + ws + "}"
    keys = draw(st.lists(_top_key, max_size=4))
    members = [(k, draw(_scalar)) for k in keys]
    for name, value in (("base", '"EUR"'), ("date", '"2024-01-02"')):
        if name not in keys and draw(mostly(["yes"], ["no"])) == "yes":
            members.append((name, value))
    members.insert(draw(st.integers(0, len(members))), ("rates", rates))
    body = "{" + ",".join(f'{ws}"{k}"{draw(_ws)}:{ws}{v}' for k, v in members) + ws + "}"
    return draw(mostly(["", " "], ["\ufeff", "x"])) + body + draw(_ws)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    bodies=st.lists(_bodies(), min_size=1, max_size=4),
    urls=st.lists(_url, min_size=4, max_size=4),
    params=st.lists(_params, min_size=4, max_size=4),
    versions=st.lists(_version, min_size=4, max_size=4),
)
def test_fast_reader_matches_json_reader(
    bodies: list[str],
    urls: list[str],
    params: list[dict[str, str] | None],
    versions: list[str | None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On generated payloads both readers give the same rates and rejects, row for row."""
    bronze = frame(
        *(
            record(
                body,
                url=urls[i],
                source=source_names.FRANKFURTER,
                version=versions[i],
                request_params=params[i],
            )
            for i, body in enumerate(bodies)
        )
    )
    fast = parse_bronze(bronze)
    with monkeypatch.context() as patch:
        only_exact_reader(patch, "parse_frankfurter_days")
        slow = parse_bronze(bronze)
    assert sorted_rows(fast.rates).equals(sorted_rows(slow.rates))
    assert sorted_rows(fast.rejects).equals(sorted_rows(slow.rejects))


def test_one_day_answer_takes_the_fast_path_exactly() -> None:
    """A typical one-day answer is read by the vectorised reader with every text kept."""
    body = '{"amount":1.0,"base":"EUR","date":"2024-01-02","rates":{"AUD":1.6147,"JPY":155.73}}'
    series = '{"base":"EUR","rates":{"2024-01-02":{"USD":1.1}}}'
    bronze = frame(
        record(
            body, url="https://api.frankfurter.app/2024-01-02", source="frankfurter", version="v1"
        ),
        record(series, url="https://api.frankfurter.app/2024-01-02..", source="frankfurter"),
    )
    rates, handled = parse_frankfurter_days(bronze, pl.Series([True, True]))
    assert handled.to_list() == [True, False]
    assert rates["quote_currency"].to_list() == ["AUD", "JPY"]
    assert rates["rate_text"].to_list() == ["1.6147", "155.73"]
    assert rates.select("base_currency", "rate_date", "schema_version").unique().rows() == [
        ("EUR", "2024-01-02", "frankfurter-v1-day")
    ]
