"""The audit's single-payload reading of the provider's value agrees with silver's parser."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from typing import Any

import pytest

from makerates_lake import source_names
from makerates_lake.audit.lineage import UNSURE, full_parser_text, payload_text
from makerates_lake.bronze.record import BronzeRecord
from makerates_lake.silver.parse import parse_bronze
from tests.silver_helpers import FIXTURES, SAMPLE_ZIP, frame, record, v6_latest

_V6 = "https://v6.exchangerate-api.com/v6/[REDACTED]"
_FRANK = "https://api.frankfurter.dev"
_XML = (
    "<?xml version='1.0' encoding='UTF-8'?><gesmes:Envelope "
    "xmlns:gesmes='http://www.gesmes.org/xml/2002-08-01' "
    "xmlns='http://www.ecb.int/vocabulary/2002-08-01/eurofxref'><Cube>"
    "<Cube time='2026-08-17'><Cube currency='USD' rate='1.1593'/>"
    "<Cube currency='GBP' rate='0.86720'/></Cube></Cube></gesmes:Envelope>"
)


def _zip(csv: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("eurofxref-hist.csv", csv)
    return buffer.getvalue()


def _ecb(body: bytes | str, url: str, ctype: str) -> BronzeRecord:
    return record(body, source=source_names.ECB_HISTORY, version=None, url=url,
                  response_content_type=ctype)  # fmt: skip


#: Every payload shape silver reads, plus the ones it rejects (name, record, fast path?).
SHAPES: list[tuple[str, BronzeRecord, bool]] = [
    ("v6 flat", record(v6_latest('{"USD":1,"EUR":0.86720,"JPY":151.123456789012345678}')), True),
    ("v6 nested", record(v6_latest('{"EUR":{"rate":0.92,"source":"ECB"},"GBP":{"rate":0.79000}}')), True),  # noqa: E501
    ("v6 duplicate quote", record(v6_latest('{"EUR":0.90,"EUR":0.91,"GBP":0.8}')), True),
    ("v6 quoted rate", record(v6_latest('{"EUR":"0.92","GBP":0.8}')), True),
    ("v6 spaced", record(' {\n "result" : "success", "time_last_update_unix" : 1714694401 ,'
                         ' "base_code":"USD", "conversion_rates" : { "EUR" : 0.9 } }\n'), True),
    ("v6 pair", record(
        '{"result":"success","time_last_update_unix":1714694401,"base_code":"EUR",'
        '"target_code":"GBP","conversion_rate":0.8543,"conversion_result":85.43}',
        url=f"{_V6}/pair/EUR/GBP/100"), True),
    ("v6 history", record(
        '{"result":"success","year":2020,"month":3,"day":27,"base_code":"USD",'
        '"conversion_rates":{"EUR":0.9013}}', url=f"{_V6}/history/USD/2020/3/27"), True),
    ("v6 history amounts", record(
        '{"result":"success","year":2020,"month":3,"day":27,"base_code":"USD",'
        '"requested_amount":4,"conversion_amounts":{"EUR":3.6052}}',
        url=f"{_V6}/history/USD/2020/3/27/4"), True),
    ("open.er-api", record(
        '{"result":"success","time_last_update_unix":1714694401,"base_code":"GBP",'
        '"rates":{"GBP":1,"EUR":1.1705}}',
        source=source_names.OPEN_ER_API, url="https://open.er-api.com/v6/latest/GBP"), True),
    ("frankfurter v1 day", record(
        '{"amount":1.0,"base":"EUR","date":"2024-05-03","rates":{"USD":1.0765}}',
        source=source_names.FRANKFURTER, version="v1", url=f"{_FRANK}/v1/latest"), True),
    ("frankfurter v1 series", record(
        '{"amount":1.0,"base":"USD","start_date":"2024-01-02","end_date":"2024-01-03",'
        '"rates":{"2024-01-02":{"EUR":0.91,"GBP":0.79},"2024-01-03":{"EUR":0.9150}}}',
        source=source_names.FRANKFURTER, version="v1",
        url=f"{_FRANK}/v1/2024-01-02..2024-01-03?from=USD"), True),
    ("frankfurter v2", record(
        '[{"date":"2026-06-01","base":"EUR","quote":"USD","rate":1.1601},'
        '{"date":"2026-06-01","base":"EUR","quote":"JPY","rate":170.10}]',
        source=source_names.FRANKFURTER, version="v2", url=f"{_FRANK}/v2/rates?base=EUR"), True),
    ("ecb xml", record(_XML, source=source_names.ECB_DAILY, version=None,
                       url="https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"), True),
    ("ecb csv", _ecb("Date,USD,CYP,\n2024-01-02,1.0956,N/A,\n1999-01-04,1.1789,0.58231,\n",
                     "file:///hist.csv", "text/csv"), True),
    ("ecb zip", _ecb(_zip((FIXTURES / "ecb-hist-2024-01.csv").read_text()),
                     "file:///eurofxref-hist.zip", "application/zip"), True),
    ("ecb sample zip", _ecb(SAMPLE_ZIP.read_bytes(), "file:///eurofxref-hist.zip",
                            "application/zip"), True),
    ("provider error", record('{"result":"error","error-type":"invalid-key"}'), True),
    ("html", record("<html>oops</html>"), True),
    ("not utf-8", record(b'{"result":"success","base_code":"\xff"}'), True),
    ("no rates", record('{"result":"success","base_code":"USD","conversion_rates":{}}'), True),
    ("failed request", record('{"message":"not found"}', status=404), False),
    ("no response", record(b"", status=None, error_code="ConnectError"), False),
    ("unknown source", record(v6_latest('{"EUR":0.9}'), source="somebody-else"), False),
]  # fmt: skip


def _questions(rec: BronzeRecord) -> list[tuple[str, str, str]]:
    """Every (date, base, quote) silver reads from the payload, plus ones it does not hold."""
    rates = parse_bronze(frame(rec)).rates
    asked = {
        (str(d), str(b), str(q))
        for d, b, q in zip(
            rates["rate_date"], rates["base_currency"], rates["quote_currency"], strict=True
        )
        if d is not None and b is not None and q is not None
    }
    # A history file holds thousands of rates: about 30 spread over it and the last keep
    # the test quick (each question parses the whole file once more).
    ordered = sorted(asked)
    sample = ordered if len(ordered) <= 200 else [*ordered[:: len(ordered) // 30], ordered[-1]]
    return [*sample, ("2024-05-03", "USD", "XAU"), ("1999-01-05", "EUR", "USD")]


@pytest.mark.parametrize(("name", "rec", "fast"), SHAPES, ids=[s[0] for s in SHAPES])
def test_single_payload_reading_equals_the_full_parser(
    name: str, rec: BronzeRecord, fast: bool
) -> None:
    """For every rate in the payload and a few absent ones, both readings give the same text."""
    del name
    row: dict[str, Any] = frame(rec).row(0, named=True)
    for day, base, quote in _questions(rec):
        quick = payload_text(row, day, base, quote)
        full = full_parser_text(row, date.fromisoformat(day), base, quote)
        if fast:
            assert quick == full, (day, base, quote)
            assert quick is None or type(quick) is str  # no JsonNumber leaks out
        else:
            assert quick is UNSURE  # anything unusual goes through the full parser


def test_every_rate_of_a_large_body_agrees() -> None:
    """160 quotes of a flat v6 body: the quick reading matches silver's for each of them."""
    quotes = [f"Q{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(160)]
    rates = ",".join(f'"{q}":{i}.{i:03d}0' for i, q in enumerate(quotes))
    rec = record(v6_latest("{" + rates + "}"))
    row: dict[str, Any] = frame(rec).row(0, named=True)
    for quote in quotes:
        assert payload_text(row, "2024-05-03", "USD", quote) == full_parser_text(
            row, date(2024, 5, 3), "USD", quote
        )
