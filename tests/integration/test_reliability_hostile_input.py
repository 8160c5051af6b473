"""Hostile input: fuzzed payloads, SQL in CLI options, XML entity attacks, bodies cut short.

Parsing is pure (bronze frame in, silver frames out), so the fuzzing runs without I/O;
the CLI checks run the real command against an embedded lake and then prove the lake is
intact. Every bad value must end as a reject row, never as a crash or a stored rate.
A provider that cuts its body off, stalls, or sends more than the cap: bronze keeps
every byte that arrived (up to the cap), on both storage layouts.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyiceberg.schema import Schema

from makerates_lake import source_names
from makerates_lake.bronze.writer import BronzeWriter
from makerates_lake.cli import main
from makerates_lake.errors import MakeratesError
from makerates_lake.extract.jobs import ingest
from makerates_lake.settings import Settings, load_settings
from makerates_lake.silver.transform import SilverBatch, transform_bronze
from makerates_lake.store.catalog import Lake, open_lake
from makerates_lake.store.tables import ALL_TABLES, BRONZE_EXTRACTIONS
from tests.integration.bronze_helpers import make_record
from tests.integration.extract_servers import LoopbackCa, Reply, Router, make_ca, serve
from tests.integration.reliability_helpers import settings_env, zip_bytes
from tests.silver_helpers import frame, record, v6_latest
from tests.unit.extract import payloads

pytestmark = pytest.mark.integration

SQL = "USD'; DROP TABLE x;--"
FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Rate texts no exchange rate can be: each must become a reject, never a silver rate.
_BAD_RATES = st.one_of(
    st.sampled_from(["NaN", "Infinity", "-Infinity", "0", "0.0", "-0", "-1.5", "-0.0001"]),
    st.integers(min_value=1, max_value=10**6).map(lambda n: f"-{n}"),
    st.integers(min_value=400, max_value=5000).map(lambda n: "9" * n),  # beyond any decimal
    st.integers(min_value=400, max_value=5000).map(lambda n: f"1e{n}"),
    st.text(min_size=1, max_size=50).map(json.dumps),  # strings, control chars included
    st.sampled_from(["null", "true", "[]", "{}", '"1.0\\u0000"', '"\\u202e1.0"']),
)


def _transform(*records: object) -> SilverBatch:
    return transform_bronze(frame(*records), transform_version=2)  # type: ignore[arg-type]


def _accounted(batch: SilverBatch, extraction_id: str) -> None:
    """The bronze row produced rows or rejects, and every reject says why."""
    ids = set(batch.rates["extraction_id"]) | set(batch.rejects["extraction_id"])
    assert extraction_id in ids
    assert batch.rejects["rule"].null_count() == 0


@FUZZ
@given(rate=_BAD_RATES)
def test_impossible_rates_become_rejects(rate: str) -> None:
    """NaN, Infinity, zero, negative, enormous and non-numeric rates: one reject each."""
    rec = record(v6_latest(f'{{"EUR":{rate},"GBP":0.79}}'))
    batch = _transform(rec)
    _accounted(batch, rec.extraction_id)
    assert batch.rates["quote_currency"].to_list() == ["GBP"]
    assert batch.rejects.height == 1


@FUZZ
@given(code=st.text(min_size=0, max_size=300).filter(lambda c: c not in {"EUR", "GBP"}))
def test_hostile_currency_codes_become_rejects(code: str) -> None:
    """Unicode, control characters, SQL and long strings as currency codes are rejected."""
    body = json.dumps({"result": "success", "time_last_update_unix": 1714694401,
                       "base_code": "USD", "conversion_rates": {code: 1.5}})  # fmt: skip
    batch = _transform(rec := record(body))
    _accounted(batch, rec.extraction_id)
    if not (len(code) == 3 and code.isascii() and code.isalpha() and code.isupper()):
        assert batch.rates.height == 0
        assert batch.rejects.height == 1


@FUZZ
@given(
    body=st.one_of(
        st.binary(max_size=2000),
        st.text(max_size=2000).map(str.encode),
        st.integers(min_value=1, max_value=200_000).map(lambda n: b"[" * n + b"]" * n),
        st.integers(min_value=1, max_value=200_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
        st.integers(min_value=10_000, max_value=2_000_000).map(lambda n: b'"' + b"x" * n + b'"'),
    ),
    source=st.sampled_from(source_names.ALL_SOURCES),
)
def test_malformed_payloads_never_crash(body: bytes, source: str) -> None:
    """Broken JSON/XML/CSV, deep nesting and megabyte strings: a reject, never a crash."""
    rec = record(body, source=source, url="https://x.test/v6/latest/USD")
    _accounted(_transform(rec), rec.extraction_id)


@FUZZ
@given(
    rows=st.lists(
        st.lists(st.text(max_size=12).filter(lambda t: "\n" not in t and "\r" not in t),
                 min_size=1, max_size=5),
        max_size=6,
    ),
    zipped=st.booleans(),
)  # fmt: skip
def test_malformed_ecb_csv_never_crashes(rows: list[list[str]], zipped: bool) -> None:
    """Random CSV (zipped or not) as the ECB history: rates or rejects, never a crash."""
    text = "Date,USD,JPY,\n" + "\n".join(",".join(r) for r in rows)
    body = zip_bytes("eurofxref-hist.csv", text.encode()) if zipped else text.encode()
    rec = record(body, source=source_names.ECB_HISTORY, url="https://x.test/hist.zip")
    batch = _transform(rec)  # must not raise
    # A file without a single rate cell is covered by test_ecb_csv_without_rates_becomes_a_reject.
    if any(cell.strip() not in {"", "N/A"} for row in rows for cell in row[1:3]):
        _accounted(batch, rec.extraction_id)


@pytest.mark.parametrize("text", ["Date,USD,JPY,\n", "Date,USD,JPY,\n2024-05-03,N/A,N/A,\n"])
def test_ecb_csv_without_rates_becomes_a_reject(text: str) -> None:
    """An ECB history file holding no rate at all is accounted for by a no_rates reject."""
    rec = record(text.encode(), source=source_names.ECB_HISTORY, url="https://x.test/h.zip")
    _accounted(_transform(rec), rec.extraction_id)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Envelope><Cube><Cube time="2024-05-03"><Cube currency="USD" rate="&lol9;"/></Cube></Cube>
</Envelope>"""


def _external_entity(target: Path) -> bytes:
    return (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "'
        + target.as_uri().encode()
        + b'">]><Envelope><Cube><Cube time="2024-05-03"><Cube currency="USD" rate="&xxe;"/>'
        b"</Cube></Cube></Envelope>"
    )


def test_xml_entity_expansion_is_refused_quickly() -> None:
    """A billion-laughs ECB XML is rejected in well under a second, no expansion."""
    rec = record(BILLION_LAUGHS, source=source_names.ECB_DAILY, url="https://x.test/daily.xml")
    started = time.monotonic()
    batch = _transform(rec)
    assert time.monotonic() - started < 2
    assert batch.rates.height == 0
    assert batch.rejects["rule"].to_list() == ["unparseable"]
    assert "lollollol" not in batch.rejects.write_csv()


def test_xml_external_entities_are_never_fetched(tmp_path: Path) -> None:
    """An external entity pointing at a local file is not resolved into any row."""
    secret = tmp_path / "secret.txt"
    secret.write_text("1.2345-LEAKED-FILE-CONTENT")
    rec = record(_external_entity(secret), source=source_names.ECB_DAILY,
                 url="https://x.test/daily.xml")  # fmt: skip
    batch = _transform(rec)
    _accounted(batch, rec.extraction_id)
    assert "LEAKED" not in batch.rates.write_csv() + batch.rejects.write_csv()
    assert batch.rates.height == 0


@pytest.fixture
def small_lake(tmp_path: Path) -> Lake:
    """An embedded lake with one bronze row."""
    lake = open_lake(load_settings(home=tmp_path / "lake"))
    BronzeWriter(lake).append([make_record(1)])
    return lake


def _intact(lake: Lake, rows_before: int) -> None:
    """Every table still exists and bronze still holds its rows."""
    fresh = open_lake(lake.settings, create=False)
    for spec in ALL_TABLES:
        assert fresh.catalog.table_exists(spec.identifier), spec.identifier
    assert len(fresh.bronze().scan().to_arrow()) == rows_before


@pytest.mark.parametrize(
    "args",
    [
        ["ingest", "--base", SQL],
        ["ingest", "--base", "USD,EU'R"],
        ["ingest", "--source", "x'; DROP TABLE bronze.extractions;--"],
        ["backfill", "ecb", "--from", SQL],
        ["publish", "--days", "1; DROP TABLE x"],
        ["maintain", "--keep-last", "1; DROP TABLE x"],
    ],
    ids=["base", "base-list", "source", "backfill-from", "publish-days", "maintain-keep"],
)
def test_sql_in_cli_options_is_rejected_before_any_sql(small_lake: Lake, args: list[str]) -> None:
    """SQL-carrying options fail click validation (exit 2): no command body, lake intact."""
    result = CliRunner().invoke(main, args, env=settings_env(small_lake.settings))
    assert result.exit_code == 2, result.output
    assert "DROP" in result.output or "Invalid value" in result.output
    _intact(small_lake, 1)


@pytest.mark.parametrize(
    "args",
    [
        ["audit", "trace", SQL, "EUR", "--date", "2024-05-03"],
        ["audit", "trace", "USD", SQL, "--date", "2024-05-03"],
        ["audit", "read", "bronze.extractions; DROP TABLE x;--"],
        ["audit", "read", "bronze.extractions", "--as-of", SQL],
        ["audit", "diff", "silver.rates\"; DROP TABLE x;--", "--from", "1"],
        ["publish", "--as-of", SQL],
    ],
    ids=["trace-base", "trace-quote", "read-table", "read-as-of", "diff-table", "publish-as-of"],
)
def test_sql_in_arguments_fails_cleanly_and_changes_nothing(
    small_lake: Lake, args: list[str]
) -> None:
    """SQL in a currency, table or as-of argument: a named error, exit non-zero, lake intact."""
    env = settings_env(small_lake.settings)
    env["MAKERATES_PUBLISH_DSN"] = "postgresql://nobody@127.0.0.1:1/none"  # never reached
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code != 0, result.output
    # A library error or a usage error, never a traceback from a database driver.
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    _intact(small_lake, 1)


# --- every byte received is kept (issue 20, findings 3 and 4) ------------------------------

#: 189 bytes, the size of the body the issue saw cut off after 113.
_BODY_189 = payloads.OPEN_ER_LATEST[:188] + b"}"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> LoopbackCa:
    """A CA for the loopback HTTPS provider."""
    return make_ca(tmp_path_factory.mktemp("ca"))


def _ingest_one(lake: Lake, ca: LoopbackCa, reply: Reply, **changes: object) -> dict[str, Any]:
    """open.er-api answers ``reply`` once (one attempt); the bronze row it left."""
    router = Router()
    router.add("/v6/latest/USD", reply)
    with serve(router, tls=ca.server_context()) as server:
        settings = lake.settings.replace(
            open_er_api_url=server.url, http_ca_file=ca.ca_file, http_retry_attempts=1, **changes
        )
        with pytest.raises(MakeratesError):
            ingest(open_lake(settings), ["USD"], sources=["open-er-api"])
    rows: list[dict[str, Any]] = lake.bronze(refresh=True).scan().to_arrow().to_pylist()
    (row,) = rows
    return row


def _kept(row: dict[str, Any], body: bytes, reason: str) -> None:
    assert row["raw_response"] == body
    assert row["response_size_bytes"] == len(body)
    assert row["response_checksum"] == hashlib.sha256(body).hexdigest()
    assert row["response_received_checksum"] == row["response_checksum"]
    assert row["response_incomplete_reason"] == reason
    assert row["response_masked_count"] == 0


def test_a_body_cut_off_mid_way_keeps_the_bytes_that_arrived(lake: Lake, ca: LoopbackCa) -> None:
    """Finding 3: 113 of 189 bytes then a closed connection: those 113 are stored, and said so."""
    row = _ingest_one(lake, ca, Reply(body=_BODY_189, send_only=113))
    _kept(row, _BODY_189[:113], "connection-closed")
    assert row["http_status_code"] == 200
    assert row["error_code"] == "connection-reset"
    assert row["response_received_bytes"] == 113
    message = str(row["error_message"])
    assert "received 113 bytes, expected 189" in message
    assert "the 113 bytes received before that are kept in bronze" in message


def test_a_body_stalled_past_the_read_timeout_keeps_the_bytes_that_arrived(
    lake: Lake, ca: LoopbackCa
) -> None:
    """Finding 3: 100 bytes then silence past the read timeout: those 100 are stored."""
    reply = Reply(body=_BODY_189, send_only=100, stall_s=3.0)
    row = _ingest_one(lake, ca, reply, http_read_timeout_s=0.5)
    _kept(row, _BODY_189[:100], "read-timeout")
    assert row["error_code"] == "timeout"
    assert "the 100 bytes received before that are kept in bronze" in str(row["error_message"])


def test_a_body_declared_over_the_cap_keeps_the_first_cap_bytes(lake: Lake, ca: LoopbackCa) -> None:
    """Finding 4: a declared 12 MB body keeps exactly max_response_bytes, as the message says."""
    cap = 65_536
    reply = Reply(stream_bytes=12 * 1024 * 1024, declare_length=True)
    row = _ingest_one(lake, ca, reply, max_response_bytes=cap)
    _kept(row, b"x" * cap, "over-max-response-bytes")
    assert row["error_code"] == "response-too-large"
    assert row["response_received_bytes"] > cap
    message = str(row["error_message"])
    assert f"max_response_bytes={cap} (Content-Length {12 * 1024 * 1024})" in message
    assert f"the first {cap} are kept in bronze" in message


def test_a_lake_made_before_the_new_bronze_columns_gains_them_on_write(
    lake_settings: Settings,
) -> None:
    """An old bronze table (27 columns) opens, takes a write, and reads old rows as nulls."""
    old = open_lake(lake_settings, create=False)
    old.catalog.create_namespace_if_not_exists("bronze")
    spec = BRONZE_EXTRACTIONS
    old.catalog.create_table(
        spec.identifier,
        schema=Schema(*spec.schema.fields[:27]),
        # Where the store puts bronze (a REST catalog chooses for itself).
        location=None
        if lake_settings.is_rest_catalog
        else f"{lake_settings.resolved_bronze_warehouse.rstrip('/')}/bronze/extractions",
        partition_spec=spec.partition_spec,
        sort_order=spec.sort_order,
        properties=spec.properties,
    )
    lake = open_lake(lake_settings)
    assert len(lake.bronze().schema().fields) == 27
    BronzeWriter(lake).append([make_record(7)])
    schema = lake.bronze(refresh=True).schema()
    assert [f.field_id for f in schema.fields] == [f.field_id for f in spec.schema.fields]
    (row,) = lake.bronze().scan().to_arrow().to_pylist()
    assert row["response_masked_count"] == 0
    assert row["response_received_checksum"] == row["response_checksum"]
