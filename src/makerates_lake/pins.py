"""The ``http_pins`` setting: SPKI SHA-256 pins per host, parsed without any I/O.

Kept apart from :mod:`makerates_lake.extract.pinning` (which checks them during the TLS
handshake) so that loading settings stays light.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import Final

from makerates_lake.errors import ConfigError

__all__ = ["PIN_PREFIX", "check_pins_setting", "format_pin", "parse_pins"]

#: Every pin is written ``sha256/<base64 of the 32-byte digest>``.
PIN_PREFIX: Final = "sha256/"


def format_pin(digest: bytes) -> str:
    """``sha256/<base64>``, the form settings use."""
    return PIN_PREFIX + base64.b64encode(digest).decode("ascii")


def _digest(text: str) -> bytes:
    """The bytes of a pin's base64, or b"" when it is not base64.

    curl writes pins ``sha256//<base64>``; base64 itself may begin with ``/``, so the
    text is read as written first, and without one leading ``/`` only if that fails.
    """
    for candidate in (text, text[1:] if text.startswith("/") else None):
        if candidate is None:
            continue
        try:
            digest = base64.b64decode(candidate, validate=True)
        except binascii.Error:
            continue
        if len(digest) == hashlib.sha256().digest_size:
            return digest
    return b""


def parse_pins(text: str) -> dict[str, frozenset[bytes]]:
    """``host=sha256/AAA...=,sha256/BBB...=; other.host=sha256/CCC...=`` -> digests per host.

    Raises:
        ValueError: An entry without a host or pins, a pin without the ``sha256/``
            prefix, or one that is not the base64 of 32 bytes.
    """
    pins: dict[str, frozenset[bytes]] = {}
    for entry in text.split(";"):
        if not entry.strip():
            continue
        host, sep, values = entry.partition("=")
        host = host.strip().lower().rstrip(".")
        if not sep or not host:
            raise ValueError(f"expected host=sha256/<base64>[,...], got {entry.strip()!r}")
        digests: set[bytes] = set()
        for pin in (p.strip() for p in values.split(",")):
            if not pin.startswith(PIN_PREFIX):
                raise ValueError(f"pin for {host} must start with {PIN_PREFIX!r}: {pin!r}")
            digest = _digest(pin[len(PIN_PREFIX) :])
            if len(digest) != hashlib.sha256().digest_size:
                raise ValueError(f"pin for {host} is not base64 of a SHA-256 digest: {pin!r}")
            digests.add(digest)
        pins[host] = frozenset(digests) | pins.get(host, frozenset())
    return pins


def check_pins_setting(value: str | None, origin: Mapping[str, str], consulted: list[str]) -> None:
    """Validate ``http_pins`` while settings load.

    Raises:
        ConfigError: The value does not parse; names the key, where it came from and
            every place consulted.
    """
    if not value:
        return
    try:
        parse_pins(value)
    except ValueError as exc:
        raise ConfigError(
            f"invalid value for setting 'http_pins': {exc}",
            key="http_pins",
            source=origin.get("http_pins", "default"),
            consulted="; ".join(consulted),
        ) from None
