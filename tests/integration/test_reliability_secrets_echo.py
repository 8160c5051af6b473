"""Secrets a hostile provider echoes back: never stored, never logged, on both layouts.

Issue 20's findings, each a test: a key echoed in an error page was stored verbatim
(finding 1); a key echoed in a response header reached the debug log (finding 2); the
log filter mangled non-secret debug lines such as a ``Location`` with a query (finding
5). Then one scan of every file under the lake, decoded and expanded, and of every log
line at ``-vv``, after ingests against providers that echo the key in bodies, headers
and redirects, finds the key 0 times.

(Kept apart from ``test_reliability_secrets.py``, the full production run, for size.)
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Iterator
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from makerates_lake.audit.trace import trace
from makerates_lake.cli import main
from makerates_lake.errors import MakeratesError
from makerates_lake.extract.jobs import ingest
from makerates_lake.store.catalog import Lake, open_lake
from tests.integration.echo_providers import (
    API_KEY,
    ECHOED_FORMS,
    PLAIN_LOCATION_PATH,
    echo_provider,
)
from tests.integration.extract_servers import LoopbackCa, Reply, Router, Running, make_ca, serve
from tests.integration.lake_scan import every_stored_blob, occurrences
from tests.integration.reliability_helpers import overwrite_object, read_object, run_cli
from tests.integration.reliability_helpers import settings_env as env_of
from tests.unit.extract import payloads

pytestmark = pytest.mark.integration

REDACTED = b"[REDACTED]"
_DAY = date(2020, 3, 27)  # ERAPI_LATEST's time_last_update_unix


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> LoopbackCa:
    """A CA for the loopback HTTPS servers."""
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def echo(ca: LoopbackCa) -> Iterator[Running]:
    """The echoing provider (see :func:`echo_provider`) over TLS."""
    with serve(echo_provider(), tls=ca.server_context()) as running:
        yield running


def _against(lake: Lake, server: Running, ca: LoopbackCa, **changes: object) -> Lake:
    settings = lake.settings.replace(
        exchangerate_api_url=server.url,
        open_er_api_url=server.url,
        http_ca_file=ca.ca_file,
        exchangerate_api_key=API_KEY,
        **changes,
    )
    return open_lake(settings)


def _rows(lake: Lake) -> list[dict[str, object]]:
    rows = lake.bronze(refresh=True).scan().to_arrow().to_pylist()
    return sorted(rows, key=lambda r: (r["extraction_timestamp"], r["retry_attempt"]))


def test_key_echoed_in_an_error_page_is_masked_counted_and_checksummed(
    lake: Lake, echo: Running, ca: LoopbackCa
) -> None:
    """Finding 1: a 404 page echoing the key's path stores [REDACTED], counted, both sums kept."""
    lake = _against(lake, echo, ca)
    with pytest.raises(MakeratesError):
        ingest(lake, ["USD"], sources=["exchangerate-api"])
    (row,) = _rows(lake)
    received = f"<html><body>404 Not Found: /v6/{API_KEY}/latest/USD</body></html>".encode()
    stored = received.replace(API_KEY.encode(), REDACTED)
    assert row["raw_response"] == stored
    assert row["response_masked_count"] == 1
    assert row["response_received_checksum"] == hashlib.sha256(received).hexdigest()
    assert row["response_checksum"] == hashlib.sha256(stored).hexdigest()
    assert row["response_size_bytes"] == len(stored)
    assert row["response_incomplete_reason"] is None
    assert API_KEY not in str(row)
    verified = CliRunner().invoke(main, ["audit", "verify"], env=env_of(lake.settings))
    assert verified.exit_code == 0, verified.output


def _tamper_rate(lake: Lake) -> str:
    """Rewrite EUR's rate in the bronze file in place (checksums left alone)."""
    (task,) = list(lake.bronze(refresh=True).scan().plan_files())
    path = task.file.file_path
    table = pq.read_table(pa.BufferReader(read_object(lake, path)))
    bodies = [b.replace(b'"EUR":0.86720', b'"EUR":0.96720') for b in
              table.column("raw_response").to_pylist()]  # fmt: skip
    index = table.schema.get_field_index("raw_response")
    forged = table.set_column(index, table.schema.field(index), pa.array(bodies, pa.binary()))
    sink = io.BytesIO()
    pq.write_table(forged, sink)
    overwrite_object(lake, path, sink.getvalue())
    return str(table.column("extraction_id")[0].as_py())


def test_a_masked_body_still_traces_and_later_changes_are_caught(
    lake: Lake, ca: LoopbackCa
) -> None:
    """A success body echoing the key is masked, traces ok; a later edit is caught by both."""
    body = payloads.ERAPI_LATEST.replace(b"/docs", b"/docs?key=" + API_KEY.encode())
    router = Router()
    router.add(f"/v6/{API_KEY}/latest/USD", Reply(body=body))
    with serve(router, tls=ca.server_context()) as server:
        lake = _against(lake, server, ca)
        ingest(lake, ["USD"], sources=["exchangerate-api"])
    (row,) = _rows(lake)
    assert row["response_masked_count"] == 1
    assert API_KEY.encode() not in row["raw_response"]  # type: ignore[operator]
    env = env_of(lake.settings)
    assert CliRunner().invoke(main, ["transform"], env=env).exit_code == 0
    assert trace(lake, _DAY, "USD", "EUR").verdict == "ok"

    victim = _tamper_rate(lake)
    assert trace(lake, _DAY, "USD", "EUR").verdict == "tampered"
    verified = CliRunner().invoke(main, ["audit", "verify"], env=env)
    assert verified.exit_code == 1, verified.output
    assert victim in verified.output


@pytest.mark.parametrize("level", [logging.WARNING, logging.INFO, logging.DEBUG])
def test_key_echoed_in_headers_and_redirects_never_reaches_a_log(
    lake: Lake, echo: Running, ca: LoopbackCa, caplog: pytest.LogCaptureFixture, level: int
) -> None:
    """Finding 2: at every level, httpx/httpcore/library records hold no form of the key."""
    caplog.set_level(level)
    lake = _against(lake, echo, ca)
    with pytest.raises(MakeratesError):
        ingest(lake, ["USD", "EUR"], sources=["exchangerate-api"])
    bearer = _against(lake, echo, ca, exchangerate_api_auth="bearer")
    with pytest.raises(MakeratesError):
        ingest(bearer, ["GBP"], sources=["exchangerate-api"])
    text = caplog.text + "".join(repr(r.__dict__) + r.getMessage() for r in caplog.records)
    for form in ECHOED_FORMS:
        assert form.decode() not in text, form
    if level == logging.DEBUG:
        assert "X-Echo-Api-Key" in text  # the header line was logged, masked
        assert "[REDACTED]" in text


@pytest.mark.parametrize("level", [logging.INFO, logging.DEBUG])
def test_non_secret_log_lines_are_left_intact(
    lake: Lake, echo: Running, ca: LoopbackCa, caplog: pytest.LogCaptureFixture, level: int
) -> None:
    """Finding 5: a Location with a query is logged exactly, not as ...?base=USD%27%29]%29."""
    caplog.set_level(level)
    lake = _against(lake, echo, ca)
    ingest(lake, ["CHF"], sources=["open-er-api"])
    target = f"{echo.url}{PLAIN_LOCATION_PATH}"
    assert f'HTTP Request: GET {target} "HTTP/1.0 200 OK"' in caplog.text
    assert f'HTTP Request: GET {echo.url}/v6/latest/CHF "HTTP/1.0 302 Found"' in caplog.text
    if level == logging.DEBUG:
        assert f"(b'Location', b'{target}')" in caplog.text
    assert "%27" not in caplog.text
    assert "[REDACTED]" not in caplog.text


def test_no_key_in_any_lake_file_or_log_after_echoing_providers(
    lake: Lake, echo: Running, ca: LoopbackCa, caplog: pytest.LogCaptureFixture
) -> None:
    """Every lake file (Parquet, Avro, gzip, zstd, zip expanded) and every -vv log: 0 keys."""
    caplog.set_level(logging.DEBUG)
    lake = _against(lake, echo, ca)
    logs: list[str] = []
    for settings, bases in (
        (lake.settings, "USD,EUR,CHF"),
        (lake.settings.replace(exchangerate_api_auth="bearer"), "GBP"),
    ):
        child = run_cli(
            settings, "-vv", "ingest", "--source", "exchangerate-api",
            "--source", "open-er-api", "--base", bases,
        )  # fmt: skip
        assert child.returncode in (0, 1), child.stderr
        logs += [child.stdout, child.stderr]
    with pytest.raises(MakeratesError):  # in-process too, so pytest's capture sees it
        ingest(lake, ["USD"], sources=["exchangerate-api"])
    logs.append(caplog.text)
    assert any("X-Echo-Api-Key" in text for text in logs)  # -vv really logged headers

    rows = _rows(lake)
    assert sum(int(r["response_masked_count"] or 0) for r in rows) >= 4  # type: ignore[call-overload]
    assert {r["source_name"] for r in rows} == {"exchangerate-api", "open-er-api"}
    blobs = every_stored_blob(lake)
    assert occurrences(blobs, REDACTED) > 0
    for form in ECHOED_FORMS:
        assert occurrences(blobs, form) == 0, form
        assert sum(text.count(form.decode()) for text in logs) == 0, form
