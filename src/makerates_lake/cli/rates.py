"""``makerates rates`` and ``makerates convert``: the answers people ask a rates lake for."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import click

from makerates_lake.cli.support import currency_code, lake_from_context, library_errors

_FORMATS = ("table", "csv", "json")
_AS_OF = click.option(
    "--as-of", "as_of", default=None, help="Gold at a snapshot id, tag or ISO time."
)
_FORMAT = click.option("--format", "output", type=click.Choice(_FORMATS), default="table")


def _day(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def _code_option(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    """Click callback for one currency code (``--base``, SOURCE, TARGET)."""
    return currency_code(value)


def _quotes(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [currency_code(part) for part in value.split(",") if part.strip()]


def _exact(value: Decimal) -> str:
    """Every digit of ``value`` in plain notation, trailing zeros after the point dropped
    (``1.117200000000000000`` shows as ``1.1172``). Formatting without a precision and
    trimming the text use no decimal context, so nothing is rounded (``normalize()``
    would round to the context's 28 digits)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _plain(value: Any, *, joined: bool) -> Any:
    """A value as JSON or CSV shows it: decimals exactly, dates in ISO, lists as lists in
    JSON and space-separated in a CSV cell or a table."""
    if isinstance(value, Decimal):
        return _exact(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        items = [_plain(v, joined=joined) for v in value]
        return " ".join(str(v) for v in items) if joined else items
    return value


def _echo(rows: list[dict[str, Any]], output: str) -> None:
    if output == "json":
        plain = [{k: _plain(v, joined=False) for k, v in row.items()} for row in rows]
        click.echo(json.dumps(plain, indent=2))
        return
    if not rows:
        return
    plain = [{k: _plain(v, joined=True) for k, v in row.items()} for row in rows]
    columns = list(plain[0])
    if output == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(plain)
        click.echo(buffer.getvalue(), nl=False)
        return
    widths = {c: max(len(c), *(len(str(r[c])) for r in plain)) for c in columns}
    click.echo("  ".join(c.ljust(widths[c]) for c in columns))
    for row in plain:
        click.echo("  ".join(str(row[c]).ljust(widths[c]) for c in columns))


@click.command("rates")
@click.option("--date", "on", type=click.DateTime(["%Y-%m-%d"]), help="Default: newest date.")
@click.option("--base", default="EUR", show_default=True, callback=_code_option)
@click.option("--quote", "quote", default=None, help="Comma-separated, e.g. USD,JPY.")
@click.option(
    "--fallback",
    type=click.Choice(["error", "previous"]),
    default="error",
    show_default=True,
    help="previous: a date without a rate takes the last one before it (a week at most).",
)
@click.option("--closing", "closing", default=None, help="Closing rates of a period: 2026-09.")
@click.option("--average", "average", default=None, help="Average rates of a period: 2026-Q3.")
@_AS_OF
@_FORMAT
@click.pass_context
@library_errors
def rates_command(
    ctx: click.Context,
    on: datetime | None,
    base: str,
    quote: str | None,
    fallback: str,
    closing: str | None,
    average: str | None,
    as_of: str | None,
    output: str,
) -> None:
    """Show rates: a day's (default the newest), or a period's closing or average rates."""
    from makerates_lake.gold import rates as gold_rates

    quotes = _quotes(quote)
    if closing and average:
        raise click.UsageError("--closing and --average exclude each other")
    if (closing or average) and not quotes:
        raise click.UsageError("--closing and --average need --quote")
    lake = lake_from_context(ctx)
    if closing:
        frame = gold_rates.closing_rates(lake, closing, base=base, quotes=quotes or [], as_of=as_of)
    elif average:
        frame = gold_rates.average_rates(lake, average, base=base, quotes=quotes or [], as_of=as_of)
    else:
        frame = gold_rates.rates(
            lake,
            on=_day(on),
            base=base,
            quotes=quotes,
            fallback="previous" if fallback == "previous" else "error",
            as_of=as_of,
        )
    _echo(frame.to_dicts(), output)


@click.command("convert")
@click.argument("amount")
@click.argument("source", callback=_code_option)
@click.argument("target", callback=_code_option)
@click.option("--date", "on", type=click.DateTime(["%Y-%m-%d"]), help="Default: newest date.")
@click.option(
    "--fallback", type=click.Choice(["error", "previous"]), default="error", show_default=True
)
@_AS_OF
@_FORMAT
@click.pass_context
@library_errors
def convert_command(
    ctx: click.Context,
    amount: str,
    source: str,
    target: str,
    on: datetime | None,
    fallback: str,
    as_of: str | None,
    output: str,
) -> None:
    """Convert AMOUNT of SOURCE into TARGET at gold's best rate (exact, not rounded)."""
    from makerates_lake.gold.convert import amount_of
    from makerates_lake.gold.rates import convert

    value = amount_of(amount)  # a bad amount is a ConfigError before the lake is opened
    done = convert(
        lake_from_context(ctx),
        value,
        source,
        target,
        on=_day(on),
        fallback="previous" if fallback == "previous" else "error",
        as_of=as_of,
    )
    _echo(
        [
            {
                "amount": done.amount,
                "source": done.source,
                "target": done.target,
                "result": done.result,
                "rate": done.quote.rate,
                "rate_date": done.quote.rate_date,
                "method": done.quote.method,
                "extraction_ids": list(done.quote.extraction_ids),
            }
        ],
        output,
    )


commands: list[click.Command] = [rates_command, convert_command]
