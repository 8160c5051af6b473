"""Redaction: keys in paths, secret-looking parameters and headers, known values."""

from __future__ import annotations

from makerates_lake.redact import REDACTED, redact_mapping, redact_text, redact_url


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
