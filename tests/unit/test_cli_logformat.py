"""Log lines on stderr: text lines carry the record's extras; no format shows a secret
that reached a record through its extras."""

from __future__ import annotations

import json
import logging
import sys

from makerates_lake.cli.logformat import JsonFormatter, TextFormatter
from makerates_lake.log_redact import remember_secrets

SECRET = "sk-live-7f3a9c2e41b8"  # a made-up key, for the masking test


def _record(message: str, **extras: object) -> logging.LogRecord:
    record = logging.LogRecord(
        "makerates_lake.extract", logging.ERROR, "f.py", 1, message, (), None
    )
    for key, value in extras.items():
        setattr(record, key, value)
    return record


def test_text_lines_say_what_the_message_is_about() -> None:
    """The extras follow the message as key=value (event, which only names it, does not)."""
    line = TextFormatter().format(
        _record("tier skipped", event="tier_skipped", source="ecb", reason="bad base 'E;R'")
    )
    assert line == "ERROR makerates_lake.extract: tier skipped source=ecb reason=bad base 'E;R'"
    assert TextFormatter().format(_record("plain")) == "ERROR makerates_lake.extract: plain"


def test_text_extras_stay_on_the_first_line_of_a_traceback() -> None:
    """With a traceback the extras end the message line, and the traceback follows."""
    try:
        raise ValueError("boom")
    except ValueError:
        record = _record("failed", source="ecb")
        record.exc_info = sys.exc_info()
    first, *rest = TextFormatter().format(record).splitlines()
    assert first == "ERROR makerates_lake.extract: failed source=ecb"
    assert rest[-1] == "ValueError: boom"


def test_a_secret_in_an_extra_is_masked_in_both_formats() -> None:
    """Extras are set on a record after the redaction filter saw its message: the
    formatters scrub the line they make."""
    remember_secrets([SECRET])
    record = _record("rotation failed", error=f"vault said: bad key {SECRET}")
    text = TextFormatter().format(record)
    data = json.loads(JsonFormatter().format(record))
    assert SECRET not in text
    assert "error=vault said: bad key" in text
    assert SECRET not in json.dumps(data)
    assert data["error"].startswith("vault said: bad key")


def test_secrets_with_json_escapes_are_masked_and_the_line_stays_json() -> None:
    """A secret holding a quote or a backslash (or ending in one) is masked as written,
    not searched for in its escaped spelling, and the line still parses."""
    for secret in ('Pg-Zq7x back\\slash "quoted"', "ends-in-a-backslash\\"):
        remember_secrets([secret])
        line = JsonFormatter().format(_record("attach failed", detail=f"pw {secret} end"))
        data = json.loads(line)
        assert secret not in data["detail"]
        assert data["detail"].startswith("pw ")
        assert data["detail"].endswith(" end")


def test_json_keeps_numbers_and_containers_and_masks_inside_them() -> None:
    """Numbers stay numbers, lists stay lists; texts inside them are scrubbed too."""
    remember_secrets([SECRET])
    data = json.loads(JsonFormatter().format(_record("x", rows=3, ids=["a", SECRET])))
    assert data["rows"] == 3
    assert data["ids"][0] == "a"
    assert SECRET not in data["ids"][1]


def test_text_extras_follow_a_multi_line_message() -> None:
    """The extras come after the whole message, not inside it."""
    line = TextFormatter().format(_record("two\nlines", source="ecb"))
    assert line == "ERROR makerates_lake.extract: two\nlines source=ecb"
