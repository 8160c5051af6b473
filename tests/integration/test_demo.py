"""The offline demo: the bundled sample through every layer, twice, with nothing duplicated."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from click.testing import CliRunner

from makerates_lake.cli import main
from makerates_lake.pipeline import sample_ecb_history
from makerates_lake.settings import load_settings
from makerates_lake.store.catalog import open_lake


def _published_rates() -> int:
    """Rates in the bundled sample, counted straight from its CSV (N/A cells excluded)."""
    with zipfile.ZipFile(sample_ecb_history()) as archive:
        text = archive.read(archive.namelist()[0]).decode()
    rows = list(csv.reader(io.StringIO(text)))
    return sum(1 for row in rows[1:] for cell in row[1:] if cell.strip() not in {"", "N/A"})


def test_demo_twice_prints_the_same_rates_and_duplicates_nothing(tmp_path: Path) -> None:
    """Two demo runs print identical rates, store the sample once and leave one PNG."""
    home = tmp_path / "lake"
    runner = CliRunner()
    first = runner.invoke(main, ["--home", str(home), "demo"], catch_exceptions=False)
    second = runner.invoke(main, ["--home", str(home), "demo"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output

    def rates(output: str) -> list[str]:
        return [line for line in output.splitlines() if line.startswith("  ") and "/" in line]

    assert rates(first.output) == rates(second.output)
    assert "  EUR/USD 2026-10-30  1.1172  (direct)" in rates(first.output)  # ECB's published rate
    assert "already in bronze" in second.output
    assert "audit trace EUR/USD 2026-10-30: verdict ok" in first.output
    assert "audit trace EUR/USD 2026-10-30: verdict ok" in second.output

    lake = open_lake(load_settings(home=home))
    assert lake.bronze().scan().to_arrow().num_rows == 1
    assert lake.table("silver.rates").scan().to_arrow().num_rows == _published_rates()
    charts = list(home.rglob("*.png"))
    assert len(charts) == 1
    assert charts[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
