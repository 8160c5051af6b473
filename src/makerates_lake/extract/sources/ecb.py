"""European Central Bank reference rates: the daily XML and the history file.

Both are EUR-based. The history file (``eurofxref-hist.zip`` holding
``eurofxref-hist.csv``, or the CSV itself) is stored as ONE bronze record with the
bytes exactly as received, ``response_content_type`` ``application/zip`` or
``text/csv``, source ``ecb-history``, tier ``backfill``.

Local files: reading a file is recorded like a request so bronze keeps one shape.
``request_url`` is the ``file://`` URI, ``request_method`` is ``READ``, a successful read
has ``http_status_code`` 200 (bronze requires a status or an error) and response header
``x-makerates-origin: local-file`` marks that no HTTP was involved; a failed read has no
status and an error code (``file-not-found``, ``file-unreadable``, ``response-too-large``).
"""

from __future__ import annotations

import io
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from xml.parsers import expat

from makerates_lake.extract.errors import ExtractError, InvalidResponseError, ResponseTooLargeError
from makerates_lake.extract.http import OVER_CAP, Exchange, HttpRequest, status_error
from makerates_lake.extract.sources.base import SourceRequest, body_error, looks_like_html
from makerates_lake.source_names import ECB_DAILY, ECB_HISTORY

LOCAL_FILE_ORIGIN = {"x-makerates-origin": "local-file"}
ZIP_TYPE = "application/zip"
CSV_TYPE = "text/csv"
_XML_TYPES = frozenset({"text/xml", "application/xml"})


class _EntityRefusedError(Exception):
    """A DTD entity declaration: refused so no entity expansion can blow up memory."""


def xml_problem(body: bytes) -> str | None:
    """Why ``body`` is not a well-formed ECB envelope, or None.

    Uses expat with entity declarations refused; a well-formedness check only.
    """
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    seen_cube = False

    def refuse_entity(*_: object) -> None:
        raise _EntityRefusedError

    def start(name: str, _attrs: dict[str, str]) -> None:
        nonlocal seen_cube
        seen_cube = seen_cube or name == "Cube"

    parser.EntityDeclHandler = refuse_entity
    parser.StartElementHandler = start
    try:
        parser.Parse(body, True)
    except _EntityRefusedError:
        return "XML declares entities"
    except expat.ExpatError as exc:
        return f"XML is not well-formed (truncated?): {exc}"
    return None if seen_cube else "XML without Cube elements"


def history_content_type(body: bytes) -> str | None:
    """``application/zip`` or ``text/csv`` from the bytes themselves, or None."""
    if body.startswith(b"PK\x03\x04"):
        return ZIP_TYPE
    if body.lstrip(b"\xef\xbb\xbf").startswith(b"Date,"):
        return CSV_TYPE
    return None


def _history_problem(body: bytes) -> str | None:
    kind = history_content_type(body)
    if kind == CSV_TYPE:
        return None
    if kind is None:
        return "neither a zip archive nor the ECB history CSV"
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile as exc:
        return f"broken zip archive (truncated?): {exc}"
    return None if any(n.lower().endswith(".csv") for n in names) else "zip holds no CSV file"


class EcbDaily:
    """The daily reference rates XML.

    Args:
        url: Full URL of ``eurofxref-daily.xml``.
    """

    name = ECB_DAILY

    def __init__(
        self, url: str = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
    ) -> None:
        self._url = url

    def latest(self, base: str = "EUR") -> SourceRequest:
        """The daily file; the ECB publishes EUR only, so ``base`` is not sent."""
        return SourceRequest(
            ECB_DAILY,
            None,
            HttpRequest(self._url, headers={"Accept": "application/xml, text/xml"}),
        )

    def check(self, exchange: Exchange) -> ExtractError | None:
        """Status, content type, then a well-formed envelope with Cube elements."""
        error = status_error(exchange, source=self.name)
        if error is not None:
            return error
        if not exchange.body.strip():
            return body_error(exchange, source=self.name, code="empty-body", message="empty body")
        if looks_like_html(exchange.body):
            return body_error(
                exchange, source=self.name, code="html-instead-of-xml",
                message="an HTML page arrived where XML was expected",
            )
        kind = exchange.content_type
        if kind is not None and kind not in _XML_TYPES:
            return body_error(
                exchange, source=self.name, code="unexpected-content-type",
                message=f"content type {kind!r} is not XML",
            )
        problem = xml_problem(exchange.body)
        if problem is not None:
            return body_error(exchange, source=self.name, code="invalid-xml", message=problem)
        return None

    def alternate(self, request: SourceRequest, error: ExtractError) -> SourceRequest | None:
        """Nothing to fall back to inside this source."""
        return None


class EcbHistory:
    """The full history file, by URL or from a local path.

    Args:
        url: URL of ``eurofxref-hist.zip`` (or a CSV).
    """

    name = ECB_HISTORY

    def __init__(
        self, url: str = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.zip"
    ) -> None:
        self._url = url

    def latest(self, base: str = "EUR") -> SourceRequest:
        """The history file from its URL (EUR only; ``base`` is not sent)."""
        return SourceRequest(
            ECB_HISTORY,
            None,
            HttpRequest(
                self._url,
                headers={"Accept": "application/zip, text/csv, application/octet-stream"},
            ),
        )

    def local(self, path: Path) -> SourceRequest:
        """A request that reads ``path`` instead of fetching (see :func:`read_local`)."""
        return SourceRequest(
            ECB_HISTORY, None, HttpRequest(path.resolve().as_uri(), method="READ")
        )

    def check(self, exchange: Exchange) -> ExtractError | None:
        """Status, then a zip holding a CSV, or the CSV itself (decided by the bytes)."""
        error = status_error(exchange, source=self.name)
        if error is not None:
            return error
        if not exchange.body:
            return body_error(exchange, source=self.name, code="empty-body", message="empty body")
        problem = _history_problem(exchange.body)
        if problem is not None:
            return body_error(
                exchange, source=self.name, code="invalid-history-file", message=problem
            )
        return None

    def alternate(self, request: SourceRequest, error: ExtractError) -> SourceRequest | None:
        """Nothing to fall back to inside this source."""
        return None


def read_local(request: HttpRequest, path: Path, *, max_bytes: int) -> Exchange:
    """Read a local file into an :class:`Exchange` (status 200 on success, see module doc)."""
    started_at = datetime.now(UTC)
    start = time.perf_counter()
    error: ExtractError | None = None
    body = b""
    status: int | None = None
    incomplete: str | None = None
    url = request.url
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            body = handle.read(max_bytes + 1)
        if len(body) > max_bytes:
            body = body[:max_bytes]
            incomplete = OVER_CAP
            error = ResponseTooLargeError(
                f"file of {size} bytes exceeds max_response_bytes={max_bytes}; the first "
                f"{max_bytes} bytes are kept in bronze, marked incomplete ({OVER_CAP})",
                source=ECB_HISTORY,
                url=url,
                size=size,
            )
        else:
            status = 200
    except FileNotFoundError:
        error = InvalidResponseError(
            "file not found", error_code="file-not-found", source=ECB_HISTORY, url=url
        )
    except OSError as exc:
        error = InvalidResponseError(
            f"cannot read file: {type(exc).__name__}: {exc.strerror}",
            error_code="file-unreadable",
            source=ECB_HISTORY,
            url=url,
        )
    return Exchange(
        request=request,
        sent_headers={},
        started_at=started_at,
        duration_ms=(time.perf_counter() - start) * 1000.0,
        status=status,
        headers=dict(LOCAL_FILE_ORIGIN) if status is not None else {},
        body=body,
        final_url=url,
        error=error,
        incomplete=incomplete,
        received_bytes=len(body) if incomplete is None else size,
    )
