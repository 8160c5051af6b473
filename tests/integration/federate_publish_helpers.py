"""Gold data for the federation and publish tests: the ECB sample, backfilled offline."""

from __future__ import annotations

from pathlib import Path

import makerates_lake
from makerates_lake.extract.jobs import backfill_ecb
from makerates_lake.pipeline import run_transform
from makerates_lake.settings import Settings
from makerates_lake.store.catalog import Lake, open_lake
from makerates_lake.store.tables import GOLD_FACT_RATE

ECB_SAMPLE = Path(makerates_lake.__file__).parent / "data" / "eurofxref-hist-sample.zip"


def fill_gold(lake: Lake) -> int:
    """Backfill the ECB sample file and build silver and gold; returns the gold snapshot id."""
    backfill_ecb(lake, path=ECB_SAMPLE)
    run_transform(lake)
    snapshot = lake.table(GOLD_FACT_RATE).current_snapshot()
    if snapshot is None:
        raise RuntimeError("gold was not written")
    return snapshot.snapshot_id


def gold_lake(settings: Settings) -> Lake:
    """A lake with gold built from the ECB sample."""
    lake = open_lake(settings)
    fill_gold(lake)
    return lake
