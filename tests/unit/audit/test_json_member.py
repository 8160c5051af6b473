"""The decoded search for a JSON member gives the token walk's answer, and takes the walk
only where the decoded document could differ from it."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from makerates_lake.audit import json_member
from makerates_lake.audit.json_member import JsonHit, find_member, walked_member
from makerates_lake.silver.parse import parse_bronze
from tests.silver_helpers import frame
from tests.unit.audit.test_provider_value import SHAPES

_JSON_SHAPES = [
    (name, rec) for name, rec, _ in SHAPES if rec.raw_response.lstrip()[:1] in (b"{", b"[")
]


def _v6(quotes: int, seed: int) -> bytes:
    rng = random.Random(seed)
    codes = [f"{chr(65 + i // 26)}{chr(65 + i % 26)}X" for i in range(quotes)]
    rates = ",".join(f'"{code}":{rng.uniform(0.2, 150):.6f}' for code in codes)
    return (
        '{"result":"success","time_last_update_unix":1714694401,"base_code":"USD",'
        f'"conversion_rates":{{{rates}}}}}'
    ).encode()


@pytest.mark.parametrize(("name", "rec"), _JSON_SHAPES, ids=[s[0] for s in _JSON_SHAPES])
def test_every_json_shape_gives_the_walks_answer(name: str, rec: object) -> None:
    """For each rate silver reads from each JSON shape (and a few it does not), both
    searches name the same member at the same offsets."""
    body: bytes = rec.raw_response  # type: ignore[attr-defined]
    rates = parse_bronze(frame(rec)).rates  # type: ignore[arg-type]
    asked = {
        (str(d), str(q), str(t))
        for d, q, t in zip(
            rates["rate_date"], rates["quote_currency"], rates["rate_text"], strict=True
        )
    }
    asked |= {("2024-01-03", "EUR", "0.9"), ("2020-03-27", "GBP", "1"), ("x", "JPY", "151")}
    for day, quote, text in sorted(asked):
        assert find_member(body, day, quote, text) == walked_member(body, day, quote, text), (
            name, day, quote, text,
        )  # fmt: skip


def test_a_plain_v6_answer_is_found_without_the_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    """A valid, escape-free answer whose quote key is written once never walks the tokens,
    and the member found is the one the walk finds."""
    body = _v6(150, seed=1)
    expected = walked_member(body, "2024-05-03", "BKX", "x")
    assert expected is not None
    assert body[expected.start : expected.end].startswith(b'"BKX":')

    def walk(*_: object) -> JsonHit | None:
        raise AssertionError("the token walk was taken")

    monkeypatch.setattr(json_member, "walked_member", walk)
    assert find_member(body, "2024-05-03", "BKX", "x") == expected


@pytest.mark.parametrize(
    "body",
    [
        b'{"conversion_rates":{"EUR":0.9,"EUR":0.91}}',  # duplicate key
        b'{"conversion_rates":{"EUR":0.9},"note":"\\"EUR\\""}',  # escapes
        b'{"conversion_rates":{"EUR":0.9},"x":"\xc3\xa9"}',  # non-ASCII
        b'{"conversion_rates":{"EUR":0.9}',  # not JSON (cut short)
        b'{"conversion_rates":{"EUR":0.9},"y":NaN}',  # a constant JSON does not have
        b'{"a":{"EUR":0.8},"conversion_rates":{"EUR":0.9}}',  # the key written twice
        b'[{"quote":"EUR","rate":0.9}]',  # the key "rate" once, but "EUR" is a value
        b'{"EUR":[0.8,0.9]}',  # an array element
    ],
)
def test_documents_the_decoded_search_cannot_stand_for_take_the_walk(
    body: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the decoded document could differ from the tokens, the walk answers."""
    walked: list[bytes] = []
    original = json_member.walked_member

    def walk(data: bytes, day: str, quote: str, value: str) -> JsonHit | None:
        walked.append(data)
        return original(data, day, quote, value)

    monkeypatch.setattr(json_member, "walked_member", walk)
    found = find_member(body, "2024-01-02", "EUR", "0.9")
    expected = original(body, "2024-01-02", "EUR", "0.9")
    assert found == expected
    if body.startswith(b'[{"quote"'):
        # Here the member is found by its key, "rate", which is written once.
        assert found is not None
        assert walked == []
    else:
        assert walked == [body]


@pytest.mark.parametrize(
    ("body", "value", "field"),
    [
        # A rate sent as a JSON string is matched with its quotes, as silver keeps it.
        (b'[{"quote":"EUR","rate":1},{"quote":"EUR","price":"0.9"}]', '"0.9"', (1, "price")),
        # Equally good: the first in the document wins, also across nesting levels.
        (b'{"x":{"y":{"quote":"EUR","rate":2}},"quote":"EUR","bid":2}', "3", ("x", "y", "rate")),
        # The day's member beats an earlier one of another day.
        (b'{"2024-01-01":{"EUR":1},"2024-01-02":{"GBP":2,"EUR":1.5}}', "7", ("2024-01-02", "EUR")),
    ],
)
def test_the_best_member_is_chosen_as_the_walk_chooses(
    body: bytes, value: str, field: tuple[str | int, ...]
) -> None:
    """Written text first, then the asked day, then document order."""
    found = find_member(body, "2024-01-02", "EUR", value)
    assert found == walked_member(body, "2024-01-02", "EUR", value)
    assert found is not None
    assert found.path == field


_CODES = st.sampled_from(["EUR", "USD", "GBP", "rate", "quote", "target_code", "date",
                          "2024-01-02", "2024-01-03", "", "a b", "E\u00e9"])  # fmt: skip
_SCALARS = st.one_of(
    st.sampled_from(["0.9", "1", "-2.5e3", "true", "false", "null"]),
    _CODES.map(json.dumps),
    st.sampled_from(['"0.9"', '" 1.5 "', '"\\u0045UR"', '"E\\"x"']),
)


def _document(depth: int) -> st.SearchStrategy[str]:
    if depth == 0:
        return _SCALARS
    inner = _document(depth - 1)
    members = st.lists(st.tuples(_CODES, inner), max_size=4).map(
        lambda pairs: "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in pairs) + "}"
    )
    items = st.lists(inner, max_size=3).map(lambda values: "[" + ",".join(values) + "]")
    return st.one_of(_SCALARS, members, items)


@settings(max_examples=400, deadline=None)
@given(
    document=_document(3),
    spaces=st.sampled_from(["", " ", "\n  "]),
    day=st.sampled_from(["2024-01-02", "2024-01-03"]),
    quote=st.sampled_from(["EUR", "USD", "GBP"]),
    value=st.sampled_from(["0.9", "1", '"0.9"', " 1.5 ", "-2.5e3"]),
    cut=st.integers(min_value=0, max_value=3),
)
def test_any_document_gives_the_walks_answer(
    document: str, spaces: str, day: str, quote: str, value: str, cut: int
) -> None:
    """Random documents (nested, with duplicate keys, escapes, non-ASCII keys, quoted
    numbers, spacing, and cut short): the decoded search answers as the walk does."""
    text = document.replace(":", spaces + ":" + spaces).replace(",", "," + spaces)
    body = text.encode()[: len(text.encode()) - cut]
    assert find_member(body, day, quote, value) == walked_member(body, day, quote, value)
