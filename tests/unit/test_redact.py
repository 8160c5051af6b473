"""Redaction: keys in paths, secret-looking parameters and headers, known values."""

from __future__ import annotations

import base64
from unittest import mock

from hypothesis import example, given, settings
from hypothesis import strategies as st

from makerates_lake import redact
from makerates_lake.redact import (
    REDACTED,
    mask_bytes,
    redact_mapping,
    redact_text,
    redact_url,
    scrub_order,
    secret_forms,
)


def test_exchangerate_api_key_in_path_is_masked_even_when_unknown() -> None:
    """The v6 key-in-path shape is recognised without knowing the key."""
    url = "https://v6.exchangerate-api.com/v6/0123456789abcdef01234567/latest/USD"
    assert redact_url(url) == f"https://v6.exchangerate-api.com/v6/{REDACTED}/latest/USD"


def test_secret_query_parameters_and_userinfo_are_masked() -> None:
    """api_key/token parameters and URL passwords are masked; other parameters stay."""
    url = "https://user:hunter2hunter2@x.test/rates?base=USD&api_key=abc&access_token=t"
    redacted = redact_url(url)
    assert "hunter2" not in redacted
    assert "abc" not in redacted.split("?")[1].replace("base=USD", "")
    assert "base=USD" in redacted
    assert redacted.count(REDACTED) == 3


def test_known_secret_values_are_replaced_anywhere() -> None:
    """A known key is replaced wherever it occurs in free text."""
    text = "GET /x/sk-abcdef999 failed: key sk-abcdef999 rejected"
    expected = f"GET /x/{REDACTED} failed: key {REDACTED} rejected"
    assert redact_text(text, ["sk-abcdef999"]) == expected


def test_short_values_are_not_scrubbed_by_value() -> None:
    """Very short 'secrets' are not replaced everywhere (that would mangle the text)."""
    assert redact_text("base=USD", ["US"]) == "base=USD"


def test_sensitive_headers_are_masked() -> None:
    """Authorization-type headers are masked, harmless ones kept."""
    headers = {"Authorization": "Bearer abc", "X-Api-Key": "k", "User-Agent": "ua", "Accept": "*/*"}
    redacted = redact_mapping(headers)
    assert redacted["Authorization"] == REDACTED
    assert redacted["X-Api-Key"] == REDACTED
    assert redacted["User-Agent"] == "ua"


def test_urls_without_secrets_are_unchanged() -> None:
    """A URL with nothing to mask comes back byte for byte (sqlite:/// keeps its slashes)."""
    for url in ("sqlite:////tmp/lake/catalog.db", "sqlite:///rel.db", "s3://bucket/prefix"):
        assert redact_url(url) == url


# Pieces that exercise every branch of redact_url: userinfo, queries with secret-looking
# names, the v6 key path, fragments, IPv6 brackets, characters urlsplit strips or rejects.
_URL_PIECES = st.sampled_from(
    [
        "https://",
        "http://",
        "s3://",
        "sqlite:///",
        "user:pw@",
        "@",
        "api.test",
        "/v6/",
        "KEY123456789",
        "/latest/USD",
        "/pair",
        "/2024-01-02",
        "?",
        "&",
        "=",
        "api_key=",
        "token=",
        "base=USD",
        "#frag",
        "[::1]",
        "[",
        "]",
        "\t",
        "\n",
        " ",
        "%20",
        "é",
        "\uff20",  # fullwidth @: urlsplit rejects a netloc that normalises to a delimiter
        ":",
        "/",
        "x",
    ]
)


@settings(max_examples=400, deadline=None)
@example(pieces=["https://", "\uff20", "api.test"], secrets=[])  # netloc urlsplit rejects
@example(pieces=["https://", "[", "/x"], secrets=[])  # unbalanced IPv6 bracket
@example(pieces=["https://", "api.test", "/v", "\t", "6/", "KEY123456789", "/latest"], secrets=[])
@given(
    pieces=st.lists(_URL_PIECES, max_size=12),
    secrets=st.lists(st.sampled_from(["KEY123456789", "pw", "hunter2hunter2", "USD"])),
)
def test_fast_path_gives_what_parsing_the_url_gives(pieces: list[str], secrets: list[str]) -> None:
    """Skipping urlsplit for plain URLs never changes the result, or an error raised."""
    url = "".join(pieces)

    def outcome() -> str:
        try:
            return redact_url(url, secrets)
        except ValueError as exc:
            return f"ValueError: {exc}"

    fast = outcome()
    with mock.patch.object(redact, "_has_nothing_structural", return_value=False):
        parsed = outcome()
    assert fast == parsed


def test_plain_url_keeps_known_secret_values_scrubbed() -> None:
    """A URL with no query or userinfo still has known secret values replaced."""
    url = "https://api.test/rates/sk-abcdef999/latest"
    assert redact_url(url, ["sk-abcdef999"]) == f"https://api.test/rates/{REDACTED}/latest"


def test_overlapping_secrets_of_equal_length_redact_the_same_way_every_time() -> None:
    """Ties in length are broken by value, so the stored text does not depend on set order."""
    assert scrub_order(["bcdefg", "abcdef", "abcdefgh", "ab"]) == ("abcdefgh", "abcdef", "bcdefg")
    assert redact_text("abcdefg", ["bcdefg", "abcdef"]) == f"{REDACTED}g"


def test_secrets_may_be_any_iterable() -> None:
    """A generator of secrets is read once and still applied to every value."""
    headers = {"X-Note": "key sk-abcdef999", "Accept": "sk-abcdef999"}
    redacted = redact_mapping(headers, (s for s in ["sk-abcdef999"]))
    assert redacted == {"X-Note": f"key {REDACTED}", "Accept": REDACTED}


def test_echoed_forms_of_a_key_are_masked_in_bytes() -> None:
    """URL-encoded and base64 (any alignment, both alphabets) forms are masked and counted."""
    key = "k3y/SECRET+7c1d9e0a55"
    ordered = scrub_order([key])
    body = b" ".join(
        [
            key.encode(),
            b"k3y%2FSECRET%2B7c1d9e0a55",
            b"k3y%2fSECRET%2b7c1d9e0a55",
            base64.b64encode(f"{key}:".encode()),
            base64.b64encode(f"user:{key}".encode()),
            base64.urlsafe_b64encode(f"ab:{key}".encode()),
        ]
    )
    masked, count = mask_bytes(body, ordered)
    assert count == 6
    assert key.encode() not in masked
    assert b"SECRET" not in masked
    assert mask_bytes(b"nothing here", ordered) == (b"nothing here", 0)


def test_short_keys_get_no_base64_forms() -> None:
    """Below 12 characters the base64 core is too short to tell apart: not searched."""
    assert secret_forms("abcdefgh") == {"abcdefgh"}
