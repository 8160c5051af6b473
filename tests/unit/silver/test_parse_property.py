"""Arbitrary input never crashes the parser: it yields rates or reject rows."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from makerates_lake import source_names
from makerates_lake.silver.transform import transform_bronze
from tests.silver_helpers import frame, record

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.sampled_from(["USD", "EUR", "rates", "conversion_rates", "base_code", "result"]),
    lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(
        st.sampled_from(["USD", "EUR", "GBP", "rates", "conversion_rates", "base_code", "base",
                         "date", "result", "rate", "quote", "year", "month", "day",
                         "time_last_update_unix", "target_code", "conversion_rate"])
        | st.text(max_size=5),
        inner,
        max_size=6,
    ),
    max_leaves=30,
)  # fmt: skip
_sources = st.sampled_from(source_names.ALL_SOURCES)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_json, source=_sources)
def test_arbitrary_json_never_crashes(value: object, source: str) -> None:
    """Any JSON document for any source gives rates or at least one reject, never an error."""
    body = json.dumps(value)
    batch = transform_bronze(
        frame(record(body, source=source, url="https://x.test/v6/latest/USD")),
        transform_version=2,
    )
    assert batch.rates.height + batch.rejects.height >= 1
    assert batch.rejects["rule"].null_count() == 0


@settings(max_examples=60, deadline=None)
@given(body=st.binary(max_size=200), source=_sources)
def test_arbitrary_bytes_never_crash(body: bytes, source: str) -> None:
    """Any bytes (broken UTF-8, truncated zip or XML) are rejected, never raised."""
    batch = transform_bronze(
        frame(record(body, source=source, url="https://x.test/")), transform_version=2
    )
    assert batch.rates.height + batch.rejects.height >= 1
