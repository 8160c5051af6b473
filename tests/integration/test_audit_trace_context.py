"""A trace shows the provider's value where the stored bytes write it: the ECB CSV's line
and cell inside the zip's member, or the JSON member of an API answer, with byte offsets."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date, datetime
from typing import Any

import pytest
from click.testing import CliRunner

from makerates_lake import source_names
from makerates_lake.audit.render import render_trace
from makerates_lake.audit.trace import LegTrace, trace
from makerates_lake.bronze.record import BronzeRecord
from makerates_lake.bronze.writer import BronzeWriter
from makerates_lake.cli.audit import commands
from makerates_lake.pipeline import run_transform
from makerates_lake.store.catalog import Lake
from tests.audit_helpers import FIRST_DAY, build_small_lake, rewrite_bronze_body
from tests.silver_helpers import SAMPLE_ZIP, record


def _member() -> tuple[str, bytes]:
    """The sample zip's CSV member, read here with zipfile alone."""
    with zipfile.ZipFile(SAMPLE_ZIP) as archive:
        (info,) = archive.infolist()
        return info.filename, archive.read(info)


def _expected_cells(member: bytes, day: str) -> tuple[bytes, dict[str, str]]:
    """The line of ``day`` and its cells by column, read with the csv module."""
    line = next(raw for raw in member.split(b"\n") if raw.startswith(day.encode() + b","))
    rows = csv.DictReader(io.StringIO(member.decode()))
    (cells,) = [row for row in rows if row["Date"] == day]
    return line.rstrip(b"\r"), cells


def _load_sample(lake: Lake) -> BronzeRecord:
    """The bundled ECB sample zip in bronze, as a backfill stores it, then silver and gold."""
    body = SAMPLE_ZIP.read_bytes()
    rec = record(
        body,
        source=source_names.ECB_HISTORY,
        version=None,
        url="file:///eurofxref-hist.zip",
        response_content_type="application/zip",
        when=datetime.fromisoformat("2026-11-02T09:00:00+00:00"),
    )
    BronzeWriter(lake).append([rec])
    run_transform(lake)
    return rec


def _assert_cell(leg: LegTrace, member_name: str, member: bytes, day: str) -> None:
    line, cells = _expected_cells(member, day)
    context = leg.provider_context
    assert context is not None
    assert context.format == "csv"
    assert context.member == member_name
    assert context.field == leg.quote_currency
    assert context.value == cells[leg.quote_currency] == leg.provider_text
    assert context.fragment == line.decode()
    assert context.offset == member.index(line)
    assert context.line_number == member[: context.offset].count(b"\n") + 1
    cell = cells[leg.quote_currency].encode()
    assert member[context.value_offset : context.value_offset + len(cell)] == cell
    assert context.header == member.split(b"\n", 1)[0].rstrip(b"\r").decode()
    assert context.column_number is not None
    assert context.header.split(",")[context.column_number - 1] == leg.quote_currency


@pytest.mark.parametrize("day", ["2026-10-30", "2024-06-14"])
def test_a_cross_rate_from_the_ecb_zip_shows_both_csv_cells(
    embedded_lake: Lake, day: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """USD/JPY through EUR names the JPY and the USD cell of the date's line in the zip's
    CSV member, at the offsets the member holds them, and the zip is inflated once."""
    _load_sample(embedded_lake)
    member_name, member = _member()
    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def counting_open(self: zipfile.ZipFile, name: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(getattr(name, "filename", name)))
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", counting_open)
    result = trace(embedded_lake, date.fromisoformat(day), "USD", "JPY")
    monkeypatch.undo()
    assert result.verdict == "ok"
    assert result.fact["is_derived"]
    legs = {leg.role: leg for leg in result.legs}
    assert (legs["quote_leg"].base_currency, legs["quote_leg"].quote_currency) == ("EUR", "JPY")
    assert (legs["base_leg"].base_currency, legs["base_leg"].quote_currency) == ("EUR", "USD")
    for leg in result.legs:
        _assert_cell(leg, member_name, member, day)
    assert opened == [member_name]  # both legs read one inflated member
    text = render_trace(result)
    _, cells = _expected_cells(member, day)
    assert f"cell '{cells['JPY']}'" in text
    assert f"cell '{cells['USD']}'" in text
    assert f"zip member {member_name}" in text
    assert "PK\\x03\\x04" not in text
    assert "PK\x03\x04" not in text
    assert "b'" not in text


def test_the_cli_shows_the_cells_in_text_and_json_and_never_the_zip_bytes(
    embedded_lake: Lake,
) -> None:
    """`audit trace` prints the cells and their place; --json carries them per leg and
    leaves the zip's bytes out unless the whole body is asked for."""
    rec = _load_sample(embedded_lake)
    member_name, member = _member()
    group = {c.name: c for c in commands}["audit"]
    args = ["trace", "USD", "JPY", "--date", "2026-10-30"]
    runner = CliRunner()
    shown = runner.invoke(group, args, obj=embedded_lake)
    assert shown.exit_code == 0, shown.output
    assert "b'" not in shown.output
    assert "PK\\x03" not in shown.output
    assert "a zip archive (not shown)" in shown.output
    as_json = runner.invoke(group, [*args, "--json"], obj=embedded_lake)
    assert as_json.exit_code == 0, as_json.output
    legs = json.loads(as_json.output)["legs"]
    line, cells = _expected_cells(member, "2026-10-30")
    for leg in legs:
        context = leg["provider_context"]
        assert context["member"] == member_name
        assert context["value"] == cells[leg["quote_currency"]]
        assert context["offset"] == member.index(line)
        assert leg["bronze"]["raw_response"] is None
        assert leg["bronze"]["raw_response_kind"] == "zip"
    whole = runner.invoke(group, [*args, "--json", "--full-body"], obj=embedded_lake)
    bronze = json.loads(whole.output)["legs"][0]["bronze"]
    assert bronze["raw_response_encoding"] == "base64"
    assert bronze["raw_response_truncated"] is False
    assert bronze["raw_response_size"] == len(rec.raw_response)


def test_a_rewritten_zip_is_tampered_and_shows_the_cell_it_now_holds(embedded_lake: Lake) -> None:
    """A zip whose CSV cell is changed in storage fails its checksum; the context shows the
    stored (altered) cell, and silver's value still differs from it."""
    rec = _load_sample(embedded_lake)
    member_name, member = _member()
    line, cells = _expected_cells(member, "2026-10-30")
    altered_line = line.replace(b"," + cells["USD"].encode() + b",", b",9.9999,", 1)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member_name, member.replace(line, altered_line, 1))
    rewrite_bronze_body(embedded_lake, rec.extraction_id, buffer.getvalue())
    result = trace(embedded_lake, date(2026, 10, 30), "EUR", "USD")
    assert result.verdict == "tampered"
    (leg,) = result.legs
    assert leg.provider_context is not None
    assert leg.provider_context.value == "9.9999"
    assert leg.provider_context.fragment == altered_line.decode()
    assert any("9.9999" in problem for problem in leg.problems)


def test_a_json_answer_shows_the_member_and_its_offset_in_the_body(lake: Lake) -> None:
    """A v6 answer's rate is the ``"EUR":0.9120`` member at its offset in the stored body;
    a cross rate through USD shows the member of each leg."""
    records = build_small_lake(lake)
    body = records[0].raw_response
    direct = trace(lake, FIRST_DAY, "USD", "EUR")
    (leg,) = direct.legs
    context = leg.provider_context
    assert context is not None
    assert (context.format, context.member) == ("json", None)
    assert context.fragment == '"EUR":0.9120'
    assert context.offset == body.index(b'"EUR":0.9120')
    assert context.value == "0.9120" == leg.provider_text
    assert body[context.value_offset : context.value_offset + 6] == b"0.9120"
    assert context.field == "conversion_rates.EUR"
    text = render_trace(direct)
    assert '"EUR":0.9120' in text
    assert f"byte {context.offset}" in text
    assert "b'" not in text
    cross = trace(lake, FIRST_DAY, "EUR", "GBP")
    fragments = sorted(
        leg.provider_context.fragment for leg in cross.legs if leg.provider_context is not None
    )
    assert fragments == ['"EUR":0.9120', '"GBP":0.805']
    for leg in cross.legs:
        assert leg.provider_context is not None
        at, fragment = leg.provider_context.offset, leg.provider_context.fragment.encode()
        assert body[at : at + len(fragment)] == fragment
