"""Real-format payloads of every source (shapes from docs/SOURCES.md), shared by the tests."""

from __future__ import annotations

import json
from typing import Final

ERAPI_LATEST: Final = (
    b'{"result":"success","documentation":"https://www.exchangerate-api.com/docs",'
    b'"terms_of_use":"https://www.exchangerate-api.com/terms","time_last_update_unix":1585267200,'
    b'"time_last_update_utc":"Fri, 27 Mar 2020 00:00:00 +0000","time_next_update_unix":1585353700,'
    b'"time_next_update_utc":"Sat, 28 Mar 2020 00:00:00 +0000","base_code":"USD",'
    b'"conversion_rates":{"USD":1,"AUD":1.4817,"EUR":0.86720}}'
)
ERAPI_PAIR: Final = (
    b'{"result":"success","base_code":"EUR","target_code":"GBP","conversion_rate":0.8412,'
    b'"conversion_result":4.206,"time_last_update_unix":1585267200}'
)
ERAPI_HISTORY: Final = (
    b'{"result":"success","year":2015,"month":2,"day":22,"base_code":"USD",'
    b'"conversion_rates":{"EUR":0.8812}}'
)
OPEN_ER_LATEST: Final = (
    b'{"result":"success","provider":"https://www.exchangerate-api.com",'
    b'"documentation":"https://www.exchangerate-api.com/docs/free",'
    b'"terms_of_use":"https://www.exchangerate-api.com/terms_of_use#free",'
    b'"time_last_update_unix":1723680151,"time_next_update_unix":1723767001,"time_eol_unix":0,'
    b'"base_code":"USD","rates":{"USD":1,"EUR":0.9083}}'
)
FRANKFURTER_V1_LATEST: Final = (
    b'{"amount":1.0,"base":"USD","date":"2024-05-03","rates":{"EUR":0.92937,"GBP":0.79682}}'
)
FRANKFURTER_V1_SERIES: Final = (
    b'{"amount":1.0,"base":"EUR","start_date":"2024-01-02","end_date":"2024-01-03",'
    b'"rates":{"2024-01-02":{"USD":1.0956},"2024-01-03":{"USD":1.0919}}}'
)
FRANKFURTER_V2_RATES: Final = b'[{"date":"2026-05-04","base":"USD","quote":"EUR","rate":0.8523}]'
FRANKFURTER_NOT_FOUND: Final = b'{"message":"not found"}'
FRANKFURTER_BAD_PAIR: Final = b'{"message":"bad currency pair"}'
ECB_DAILY_XML: Final = (
    b"<?xml version='1.0' encoding='UTF-8'?>\n"
    b"<gesmes:Envelope xmlns:gesmes='http://www.gesmes.org/xml/2002-08-01' "
    b"xmlns='http://www.ecb.int/vocabulary/2002-08-01/eurofxref'>"
    b"<gesmes:subject>Reference rates</gesmes:subject><gesmes:Sender>"
    b"<gesmes:name>European Central Bank</gesmes:name></gesmes:Sender>"
    b"<Cube><Cube time='2026-08-17'><Cube currency='USD' rate='1.1593'/>"
    b"<Cube currency='GBP' rate='0.86720'/></Cube></Cube></gesmes:Envelope>\n"
)
ECB_HISTORY_CSV: Final = (
    b"Date,USD,JPY,CYP,\n2026-10-30,1.1593,172.11,N/A,\n2026-10-29,1.1601,171.90,N/A,\n"
)
HTML_PAGE: Final = b"<!DOCTYPE html><html><body><h1>Service unavailable</h1></body></html>"

ERAPI_ERROR_TYPES: Final = (
    "invalid-key",
    "inactive-account",
    "quota-reached",
    "unsupported-code",
    "malformed-request",
    "no-data-available",
    "plan-upgrade-required",
)


def erapi_error(error_type: str, *, hyphenated_terms: bool = True) -> bytes:
    """An ExchangeRate-API error body as the provider sends it."""
    terms = "terms-of-use" if hyphenated_terms else "terms_of_use"
    body = {
        "result": "error",
        "documentation": "https://www.exchangerate-api.com/docs",
        terms: "https://www.exchangerate-api.com/terms",
        "error-type": error_type,
    }
    return json.dumps(body).encode()
