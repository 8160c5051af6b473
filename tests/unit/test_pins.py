"""Certificate pins: the setting's syntax, and SPKI extraction checked against cryptography."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from makerates_lake.errors import ConfigError
from makerates_lake.extract.pinning import spki_der, spki_sha256
from makerates_lake.pins import format_pin, parse_pins
from makerates_lake.settings import load_settings

CATALOG = Path(__file__).resolve().parents[2] / "catalog"
PIN_A = format_pin(hashlib.sha256(b"a").digest())
PIN_B = format_pin(hashlib.sha256(b"b").digest())


def test_pins_per_host_with_backups_parse_to_digests() -> None:
    """Hosts are lower-cased, backups kept, repeated hosts merged, blanks ignored."""
    pins = parse_pins(
        f" Rates.Example.={PIN_A},{PIN_B} ; other.test={PIN_A};;rates.example={PIN_A}"
    )
    assert pins == {
        "rates.example": frozenset({hashlib.sha256(b"a").digest(), hashlib.sha256(b"b").digest()}),
        "other.test": frozenset({hashlib.sha256(b"a").digest()}),
    }
    assert parse_pins("") == {}


@pytest.mark.parametrize(
    "text",
    ["rates.example", f"={PIN_A}", "rates.example=abc", "rates.example=sha256/AAAA",
     f"rates.example={PIN_A},", "rates.example=sha256/!!!"],
)  # fmt: skip
def test_malformed_pins_are_refused_with_the_setting_named(text: str) -> None:
    """A pin without a host, prefix or 32-byte digest is a ConfigError naming http_pins."""
    with pytest.raises(ValueError, match=r"host=|must start with|SHA-256 digest"):
        parse_pins(text)
    with pytest.raises(ConfigError, match="http_pins") as caught:
        load_settings(http_pins=text, environ={})
    assert caught.value.context["key"] == "http_pins"


@pytest.mark.parametrize("key_type", [trustme.KeyType.RSA, trustme.KeyType.ECDSA])
def test_spki_matches_cryptography(key_type: trustme.KeyType) -> None:
    """The DER walk finds the same SubjectPublicKeyInfo as cryptography, for RSA and EC keys."""
    ca = trustme.CA(key_type=key_type)
    for pem in (
        ca.cert_pem.bytes(),
        ca.issue_cert("127.0.0.1", "localhost").cert_chain_pems[0].bytes(),
    ):
        certificate = x509.load_pem_x509_certificate(pem)
        expected = certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        der = certificate.public_bytes(serialization.Encoding.DER)
        assert spki_der(der) == expected
        assert spki_sha256(der) == hashlib.sha256(expected).digest()


def test_garbage_is_not_a_certificate() -> None:
    """Bytes that are not DER X.509 raise ValueError, never return a key."""
    for junk in (b"", b"\x30", b"\x30\x82\xff\xff" + b"\x00" * 10, b"\x04\x02ab"):
        with pytest.raises(ValueError, match=r"DER|X\.509|SubjectPublicKeyInfo"):
            spki_der(junk)


@pytest.mark.parametrize("name", ["embedded.toml", "postgres-minio.toml", "rest.toml"])
def test_each_catalog_file_shows_a_pin_example_that_parses(name: str) -> None:
    """The commented http_pins example, with real digests filled in, is a valid setting."""
    text = (CATALOG / name).read_text()
    (line,) = re.findall(r"^# (http_pins = .*)$", text, re.MULTILINE)
    value = line.split("=", 1)[1].strip().strip('"')
    filled = value.replace("sha256/<current>", PIN_A).replace("sha256/<backup>", PIN_B)
    pins = parse_pins(filled)
    assert set(pins) == {"v6.exchangerate-api.com", "open.er-api.com"}
    assert all(len(p) == 2 for p in pins.values())
    assert base64.b64decode(PIN_A.removeprefix("sha256/")) in pins["open.er-api.com"]


def test_a_pin_whose_base64_starts_with_a_slash_and_curls_form_both_parse() -> None:
    """``sha256//...`` is curl's form, but also ours when the base64 begins with '/'."""
    digest = next(
        hashlib.sha256(str(n).encode()).digest()
        for n in range(1000)
        if format_pin(hashlib.sha256(str(n).encode()).digest()).startswith("sha256//")
    )
    assert parse_pins(f"h={format_pin(digest)}") == {"h": frozenset({digest})}
    curl = "sha256//" + base64.b64encode(hashlib.sha256(b"a").digest()).decode()
    assert parse_pins(f"h={curl}") == {"h": frozenset({hashlib.sha256(b"a").digest()})}
