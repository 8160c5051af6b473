"""Certificate pinning: the server's public key (SPKI) must be one the settings name.

``http_pins`` lists, per host, the base64 SHA-256 digests of the DER
``SubjectPublicKeyInfo`` a server may present (``openssl x509 -pubkey -noout | openssl
pkey -pubin -outform der | openssl dgst -sha256 -binary | base64``), the current key and
backups for a rotation. The check runs right after the TLS handshake, which already
verified the chain and host name, and before a single byte of the request is written:
a mismatch closes the connection and raises :class:`CertificatePinError`. Hosts without
pins are verified as before. Only the leaf certificate's key is compared, as HPKP's
successors (OkHttp, curl's ``--pinnedpubkey``) do for a key the operator controls.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
from collections.abc import Mapping

from makerates_lake.extract.errors import CertificatePinError
from makerates_lake.pins import format_pin, parse_pins

__all__ = ["PinningContext", "format_pin", "parse_pins", "spki_der", "spki_sha256"]


def _tlv(der: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of contents, end of contents) of the DER element at ``at``."""
    if at + 2 > len(der):
        raise ValueError("truncated DER")
    tag, first = der[at], der[at + 1]
    at += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or at + count > len(der):
            raise ValueError("unsupported DER length")
        length = int.from_bytes(der[at : at + count], "big")
        at += count
    if at + length > len(der):
        raise ValueError("truncated DER")
    return tag, at, at + length


def spki_der(certificate: bytes) -> bytes:
    """The DER ``SubjectPublicKeyInfo`` of a DER X.509 certificate.

    Raises:
        ValueError: The bytes are not a certificate this walk understands.
    """
    _, cert_start, _ = _tlv(certificate, 0)
    tag, at, tbs_end = _tlv(certificate, cert_start)
    if tag != 0x30:
        raise ValueError("not an X.509 certificate")
    tag, _, end = _tlv(certificate, at)
    if tag == 0xA0:  # [0] version, present in every v3 certificate
        at = end
    # serial, signature algorithm, issuer, validity, subject, then the key
    for _ in range(5):
        _, _, at = _tlv(certificate, at)
    tag, _, end = _tlv(certificate, at)
    if tag != 0x30 or end > tbs_end:
        raise ValueError("no SubjectPublicKeyInfo where X.509 puts it")
    return certificate[at:end]


def spki_sha256(certificate: bytes) -> bytes:
    """SHA-256 of a DER certificate's ``SubjectPublicKeyInfo``."""
    return hashlib.sha256(spki_der(certificate)).digest()


class PinningContext(ssl.SSLContext):
    """An :class:`ssl.SSLContext` that checks the server key of pinned hosts.

    httpx (through httpcore) opens every TLS connection with :meth:`wrap_socket`, so
    the check sits between the handshake and the first request byte.

    Attributes:
        pins: Accepted SPKI SHA-256 digests per lower-case host name.
    """

    pins: Mapping[str, frozenset[bytes]]

    def wrap_socket(
        self,
        sock: socket.socket,
        server_side: bool = False,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLSocket:
        """Wrap and hand shake as usual, then refuse a pinned host's unknown key."""
        wrapped = super().wrap_socket(
            sock,
            server_side=server_side,
            do_handshake_on_connect=do_handshake_on_connect,
            suppress_ragged_eofs=suppress_ragged_eofs,
            server_hostname=server_hostname,
            session=session,
        )
        host = server_hostname.decode() if isinstance(server_hostname, bytes) else server_hostname
        expected = getattr(self, "pins", {}).get((host or "").lower().rstrip("."))
        if server_side or not expected:
            return wrapped
        if not do_handshake_on_connect:
            wrapped.do_handshake()
        certificate = wrapped.getpeercert(binary_form=True) or b""
        try:
            presented = format_pin(spki_sha256(certificate))
        except ValueError:
            presented = "unreadable certificate"
        if not certificate or presented not in {format_pin(d) for d in expected}:
            wrapped.close()
            raise CertificatePinError(
                "the server's public key matches none of the pins configured for "
                f"{host}; refused before sending the request",
                host=host,
                presented=presented,
                expected=", ".join(sorted(format_pin(d) for d in expected)),
            )
        return wrapped
