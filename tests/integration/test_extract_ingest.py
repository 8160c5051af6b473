"""Ingest end to end: every source on a loopback HTTPS server, into a real embedded lake."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stamina
from click.testing import CliRunner

from makerates_lake.cli.extract import commands
from makerates_lake.extract.errors import AllTiersFailedError
from makerates_lake.extract.jobs import backfill_ecb, ingest
from makerates_lake.pipeline import sample_ecb_history
from makerates_lake.settings import load_settings
from makerates_lake.store.catalog import Lake, open_lake
from tests.integration.extract_servers import (
    LoopbackCa,
    Reply,
    Router,
    Running,
    make_ca,
    serve,
)
from tests.unit.extract import payloads as p

pytestmark = pytest.mark.integration

KEY = "k3y-9f8e7d6c5b4a39281706"  # a made-up ExchangeRate-API key
# The project's own ECB slice (real rates, 2023 on): the tests need nothing outside the repo.
ECB_ZIP = sample_ecb_history()
JSON = "application/json"


@pytest.fixture(autouse=True)
def real_attempt_counts() -> Iterator[None]:
    """Retries keep the configured attempt count (3) but never sleep."""
    with stamina.set_testing(True, attempts=3, cap=True):
        yield


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> LoopbackCa:
    """A CA made for this module."""
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def router() -> Router:
    """Every source answering with a recorded, real-format success."""
    router = Router()
    router.add(f"/v6/{KEY}/latest/USD", Reply(body=p.ERAPI_LATEST))
    router.add("/v6/latest/USD", Reply(body=p.OPEN_ER_LATEST))
    router.add("/v1/latest", Reply(body=p.FRANKFURTER_V1_LATEST))
    router.add("/v2/rates", Reply(body=p.FRANKFURTER_V2_RATES))
    router.add("/ecb/daily.xml", Reply(body=p.ECB_DAILY_XML, content_type="text/xml"))
    router.add("/ecb/hist.zip", Reply(body=ECB_ZIP.read_bytes(), content_type="application/zip"))
    return router


@pytest.fixture
def server(router: Router, ca: LoopbackCa) -> Iterator[Running]:
    """The loopback HTTPS server."""
    with serve(router, tls=ca.server_context()) as running:
        yield running


def _settings(tmp_path: Path, server: Running, ca: LoopbackCa, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "home": tmp_path / "lake",
        "exchangerate_api_url": server.url,
        "open_er_api_url": server.url,
        "frankfurter_url": server.url,
        "ecb_daily_url": f"{server.url}/ecb/daily.xml",
        "ecb_history_url": f"{server.url}/ecb/hist.zip",
        "http_ca_file": ca.ca_file,
        "exchangerate_api_key": KEY,
        "http_connect_timeout_s": 3,
        "http_read_timeout_s": 3,
    }
    values.update(extra)
    return values


@pytest.fixture
def lake(tmp_path: Path, server: Running, ca: LoopbackCa) -> Lake:
    """An embedded lake whose settings point every source at the loopback server."""
    return open_lake(load_settings(**_settings(tmp_path, server, ca)))


def _rows(lake: Lake) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = lake.bronze().scan().to_arrow().to_pylist()
    return sorted(rows, key=lambda r: (r["extraction_timestamp"], r["retry_attempt"]))


@pytest.mark.parametrize(
    ("source", "body"),
    [
        ("exchangerate-api", p.ERAPI_LATEST),
        ("open-er-api", p.OPEN_ER_LATEST),
        ("frankfurter", p.FRANKFURTER_V1_LATEST),
        ("ecb-daily", p.ECB_DAILY_XML),
    ],
)
def test_each_source_lands_verbatim_in_bronze(lake: Lake, source: str, body: bytes) -> None:
    """Each source's answer is stored byte for byte as a successful primary row."""
    report = ingest(lake, ["USD"], sources=[source])
    rows = _rows(lake)
    assert report.append.written == 1
    assert len(rows) == 1
    assert rows[0]["source_name"] == source
    assert rows[0]["source_tier"] == "primary"
    assert rows[0]["http_status_code"] == 200
    assert rows[0]["error_code"] is None
    assert rows[0]["raw_response"] == body


def test_request_urls_follow_the_silver_contract(lake: Lake) -> None:
    """The base is in the path (v6 sources) or the query (Frankfurter); the key is redacted."""
    ingest(lake, ["USD"], sources=["exchangerate-api"])
    ingest(lake, ["USD"], sources=["open-er-api"])
    ingest(lake, ["USD"], sources=["frankfurter"])
    by_source = {r["source_name"]: r for r in _rows(lake)}
    assert by_source["exchangerate-api"]["request_url"].endswith("/v6/[REDACTED]/latest/USD")
    assert by_source["open-er-api"]["request_url"].endswith("/v6/latest/USD")
    assert '"base": "USD"' in by_source["frankfurter"]["request_params"]
    assert by_source["frankfurter"]["source_version"] == "v1"


def test_frankfurter_v2_is_recorded_with_its_version(
    tmp_path: Path, server: Running, ca: LoopbackCa
) -> None:
    """With frankfurter_version v2 the rates endpoint is called and tagged v2."""
    lake = open_lake(load_settings(**_settings(tmp_path, server, ca, frankfurter_version="v2")))
    ingest(lake, ["USD"], sources=["frankfurter"])
    (row,) = _rows(lake)
    assert row["source_version"] == "v2"
    assert row["raw_response"] == p.FRANKFURTER_V2_RATES
    assert server.seen[-1].query == {"base": "USD"}


@pytest.mark.parametrize(
    ("error_type", "status"),
    list(zip(p.ERAPI_ERROR_TYPES, [200, 403, 429, 404, 400, 200, 401], strict=True)),
)
def test_every_provider_error_type_is_coded_and_falls_back(
    lake: Lake, router: Router, error_type: str, status: int
) -> None:
    """Each documented error type, at any status (even 200), is its code; next tier answers."""
    router.add(f"/v6/{KEY}/latest/USD", Reply(status, p.erapi_error(error_type)))
    report = ingest(lake, ["USD"], sources=["exchangerate-api", "open-er-api"])
    primary, fallback = _rows(lake)
    assert report.run.results[0].answered_by == "open-er-api"
    assert primary["error_code"] == error_type
    assert primary["source_tier"] == "primary"
    assert primary["raw_response"] == p.erapi_error(error_type)
    assert fallback["source_tier"] == "fallback"
    assert fallback["error_code"] is None


BAD_INPUTS = [
    ("html-200", [Reply(200, p.HTML_PAGE, content_type="text/html")], ["html-instead-of-json"]),
    ("truncated-json", [Reply(200, p.OPEN_ER_LATEST[:57])], ["invalid-json"]),
    ("empty-body", [Reply(200, b"")], ["empty-body"]),
    ("wrong-type", [Reply(200, p.OPEN_ER_LATEST, content_type="text/plain")],
     ["unexpected-content-type"]),
    ("ten-megabytes", [Reply(stream_bytes=10 * 1024 * 1024 + 1)], ["response-too-large"]),
    ("429-then-ok", [Reply(429, headers={"Retry-After": "0"}), Reply(200, p.OPEN_ER_LATEST)],
     ["rate-limited", None]),
    ("429-no-retry-after", [Reply(429), Reply(200, p.OPEN_ER_LATEST)], ["rate-limited", None]),
    ("429-long-retry-after", [Reply(429, headers={"Retry-After": "1200"})], ["rate-limited"]),
    ("503-then-ok", [Reply(503), Reply(200, p.OPEN_ER_LATEST)], ["server-error", None]),
    ("503-always", [Reply(503)], ["server-error"] * 3),
    ("reset-then-ok", [Reply(reset=True), Reply(200, p.OPEN_ER_LATEST)],
     ["connection-reset", None]),
    ("404", [Reply(404, b'{"result":"error"}')], ["provider-error"]),
]


@pytest.mark.parametrize(("case", "replies", "codes"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_ends_as_coded_bronze_rows(
    lake: Lake, router: Router, server: Running, case: str, replies: list[Reply],
    codes: list[str | None],
) -> None:
    """Every attempt is a row with retry_attempt and a clear code; failures fall back."""
    router.add("/v6/latest/USD", replies)
    report = ingest(lake, ["USD"], sources=["open-er-api", "frankfurter"])
    rows = _rows(lake)
    primary = [r for r in rows if r["source_tier"] == "primary"]
    assert [r["error_code"] for r in primary] == codes
    assert [r["retry_attempt"] for r in primary] == list(range(len(codes)))
    fell_back = codes[-1] is not None
    assert report.run.results[0].answered_by == ("frankfurter" if fell_back else "open-er-api")
    assert len(rows) == len(codes) + (1 if fell_back else 0)


def test_redirect_to_http_is_refused_and_recorded(lake: Lake, router: Router) -> None:
    """A redirect from https to http is a coded row, not followed, and the chain moves on."""
    router.add("/v6/latest/USD", Reply(302, headers={"Location": "http://127.0.0.1:9/x"}))
    ingest(lake, ["USD"], sources=["open-er-api", "frankfurter"])
    first, second = _rows(lake)
    assert first["error_code"] == "insecure-redirect"
    assert first["http_status_code"] == 302
    assert second["error_code"] is None


def test_all_tiers_failing_raises_after_writing_everything(lake: Lake, router: Router) -> None:
    """When every tier fails the run raises, but only after every attempt is in bronze."""
    router.add("/v6/latest/USD", Reply(500))
    router.add("/v1/latest", Reply(422, p.FRANKFURTER_BAD_PAIR))
    with pytest.raises(AllTiersFailedError) as raised:
        ingest(lake, ["USD"], sources=["open-er-api", "frankfurter"])
    rows = _rows(lake)
    assert [r["error_code"] for r in rows] == ["server-error"] * 3 + ["invalid-request"]
    assert "open-er-api" in str(raised.value)


@pytest.mark.parametrize("auth", ["path", "bearer"])
def test_key_never_reaches_lake_files_or_logs(
    tmp_path: Path, server: Running, ca: LoopbackCa, router: Router, auth: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """After ingests that succeed and fail, the key's bytes are in no file of the lake, no log."""
    router.add("/v6/latest/USD", Reply(body=p.ERAPI_LATEST))  # the bearer route
    settings = load_settings(**_settings(tmp_path, server, ca, exchangerate_api_auth=auth))
    lake = open_lake(settings)
    caplog.set_level(logging.DEBUG)
    ingest(lake, ["USD"], sources=["exchangerate-api"])
    router.add(f"/v6/{KEY}/latest/USD", Reply(403, p.erapi_error("invalid-key")))
    router.add("/v6/latest/USD", Reply(403, p.erapi_error("invalid-key")))
    with pytest.raises(AllTiersFailedError) as raised:
        ingest(lake, ["USD"], sources=["exchangerate-api"])
    assert any(KEY in (s.headers.get("authorization", "") + s.path) for s in server.seen)
    files = [f for f in (tmp_path / "lake").rglob("*") if f.is_file()]
    assert any(f.name == "catalog.db" for f in files)
    assert any(f.suffix == ".parquet" for f in files)
    for path in files:
        assert KEY.encode() not in path.read_bytes(), path
    for record in caplog.records:
        assert KEY not in record.getMessage()
        assert KEY not in repr(record.__dict__)
    assert KEY not in str(raised.value)
    assert KEY not in repr(settings)


def test_backfill_from_local_zip_is_one_verbatim_row(lake: Lake) -> None:
    """The ECB history zip read from disk is one backfill row with its exact bytes."""
    from datetime import date

    backfill_ecb(lake, start=date(2020, 1, 1), end=date(2020, 12, 31), path=ECB_ZIP)
    (row,) = _rows(lake)
    assert row["raw_response"] == ECB_ZIP.read_bytes()
    assert row["source_name"] == "ecb-history"
    assert row["source_tier"] == "backfill"
    assert row["response_content_type"] == "application/zip"
    assert row["request_method"] == "READ"
    assert row["request_url"] == ECB_ZIP.resolve().as_uri()
    assert row["http_status_code"] == 200
    assert "local-file" in row["response_headers"]
    assert '"backfill_start": "2020-01-01"' in row["request_params"]


def test_backfill_from_local_csv_is_typed_text_csv(lake: Lake, tmp_path: Path) -> None:
    """A CSV history file is stored as text/csv."""
    csv = tmp_path / "eurofxref-hist.csv"
    csv.write_bytes(p.ECB_HISTORY_CSV)
    backfill_ecb(lake, path=csv)
    (row,) = _rows(lake)
    assert row["response_content_type"] == "text/csv"
    assert row["raw_response"] == p.ECB_HISTORY_CSV


def test_backfill_missing_file_is_recorded_and_raises(lake: Lake, tmp_path: Path) -> None:
    """A missing history file is a coded row without status, and the job fails."""
    with pytest.raises(AllTiersFailedError):
        backfill_ecb(lake, path=tmp_path / "nope.zip")
    (row,) = _rows(lake)
    assert row["error_code"] == "file-not-found"
    assert row["http_status_code"] is None


def test_backfill_by_url_reports_progress(lake: Lake) -> None:
    """Downloading the history file streams it with progress and stores the exact bytes."""
    seen: list[tuple[int, int | None]] = []
    backfill_ecb(lake, on_progress=lambda got, total: seen.append((got, total)))
    (row,) = _rows(lake)
    size = ECB_ZIP.stat().st_size
    assert row["raw_response"] == ECB_ZIP.read_bytes()
    assert row["response_content_type"] == "application/zip"
    assert seen[-1] == (size, size)


def _cli_env(tmp_path: Path, server: Running, ca: LoopbackCa) -> dict[str, str]:
    return {
        f"MAKERATES_{k.upper()}": str(v) for k, v in _settings(tmp_path, server, ca).items()
    }


def test_cli_ingest_exit_codes(
    tmp_path: Path, server: Running, ca: LoopbackCa, router: Router
) -> None:
    """``ingest`` exits 0 when a tier answered and 1 (ErrorType: message) when all failed."""
    ingest_cmd = next(c for c in commands if c.name == "ingest")
    env = _cli_env(tmp_path, server, ca)
    ok = CliRunner().invoke(ingest_cmd, ["--base", "usd"], env=env)
    assert ok.exit_code == 0, ok.output
    assert "answered by exchangerate-api" in ok.output
    router.add(f"/v6/{KEY}/latest/USD", Reply(503))
    router.add("/v6/latest/USD", Reply(503))
    router.add("/v1/latest", Reply(503))
    failed = CliRunner().invoke(ingest_cmd, ["--base", "USD"], env=env)
    assert failed.exit_code == 1
    assert "AllTiersFailedError" in failed.output
    assert KEY not in failed.output


def test_cli_backfill_ecb_file(tmp_path: Path, server: Running, ca: LoopbackCa) -> None:
    """``backfill ecb --from --to --file`` stores the file and reports it."""
    backfill = next(c for c in commands if c.name == "backfill")
    result = CliRunner().invoke(
        backfill,
        ["ecb", "--from", "2024-01-01", "--to", "2024-02-01", "--file", str(ECB_ZIP)],
        env=_cli_env(tmp_path, server, ca),
    )
    assert result.exit_code == 0, result.output
    assert "application/zip" in result.output
    # Like mr.backfill, the command goes on through silver and gold.
    assert "transformed 1 extractions" in result.output


def test_cli_backfill_ecb_no_transform_stores_bronze_only(
    tmp_path: Path, server: Running, ca: LoopbackCa
) -> None:
    """``--no-transform`` stops after bronze and names the next step."""
    from makerates_lake.store.scan import read
    from makerates_lake.store.tables import SILVER_RATES

    backfill = next(c for c in commands if c.name == "backfill")
    env = _cli_env(tmp_path, server, ca)
    result = CliRunner().invoke(
        backfill, ["ecb", "--file", str(ECB_ZIP), "--no-transform"], env=env
    )
    assert result.exit_code == 0, result.output
    assert "next: makerates transform" in result.output
    lake = open_lake(load_settings(**_settings(tmp_path, server, ca)))
    assert len(_rows(lake)) == 1
    assert read(lake, SILVER_RATES).height == 0


def test_a_backfill_window_decides_what_reaches_silver(lake: Lake) -> None:
    """``--from/--to`` (here through the library): silver holds rate dates inside the
    window only, while bronze keeps the whole file's exact bytes."""
    import hashlib
    from datetime import date

    from makerates_lake.pipeline import run_transform
    from makerates_lake.store.scan import read
    from makerates_lake.store.tables import SILVER_RATES

    backfill_ecb(lake, start=date(2024, 1, 1), end=date(2024, 3, 31), path=ECB_ZIP)
    run_transform(lake)
    (row,) = _rows(lake)
    assert row["raw_response"] == ECB_ZIP.read_bytes()
    assert row["response_checksum"] == hashlib.sha256(ECB_ZIP.read_bytes()).hexdigest()
    dates = read(lake, SILVER_RATES, columns=["rate_date"]).get_column("rate_date")
    assert dates.min() == date(2024, 1, 2)  # the first ECB day of 2024
    assert dates.max() == date(2024, 3, 28)  # the last before Easter 2024


def test_cli_backfill_of_the_same_file_and_window_stores_it_once(
    tmp_path: Path, server: Running, ca: LoopbackCa
) -> None:
    """Running the same ``backfill ecb --file`` twice keeps one bronze record; another
    window is another load."""
    backfill = next(c for c in commands if c.name == "backfill")
    env = _cli_env(tmp_path, server, ca)
    args = ["ecb", "--file", str(ECB_ZIP), "--from", "2024-01-01", "--no-transform"]
    first = CliRunner().invoke(backfill, args, env=env)
    again = CliRunner().invoke(backfill, args, env=env)
    assert first.exit_code == again.exit_code == 0, again.output
    assert "already stored with this window" in again.output
    lake = open_lake(load_settings(**_settings(tmp_path, server, ca)))
    assert len(_rows(lake)) == 1
    other = CliRunner().invoke(backfill, ["ecb", "--file", str(ECB_ZIP), "--no-transform"], env=env)
    assert other.exit_code == 0, other.output
    assert len(_rows(lake)) == 2
