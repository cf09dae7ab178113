"""Gap status is one Enum (GapStatus) whose values are the strings the run folder has always held:
gaps.parquet and gap_fills.json read back as plain text."""

from __future__ import annotations

import json

import pandas as pd

from workstation.pipeline.gap_list import gaps_frame
from workstation.pipeline.quality import Gap, GapStatus


def test_gap_status_is_an_enum_written_as_its_plain_value(tmp_path):
    gap = Gap("ACME", "1m", 0, 60_000_000_000, 2)
    assert gap.status is GapStatus.MEASURED and gap.status == "measured"
    gap.status = GapStatus.NO_TRADES
    assert json.loads(json.dumps(gap.as_dict()))["status"] == "no_trades"
    rows = [{"session_date": "2024-12-02", "symbol": "ACME", "interval": "1m", "start": 0, "end": 120_000_000_000,
             "missing": 2, "status": status} for status in (GapStatus.FILLED, GapStatus.FAILED)]
    frame = gaps_frame(rows)
    frame.to_parquet(tmp_path / "gaps.parquet", index=False)
    back = pd.read_parquet(tmp_path / "gaps.parquet")
    assert back["status"].tolist() == ["filled", "failed"]
    assert all(type(v) is str for v in back["status"])
    assert {s.value for s in GapStatus} == {"measured", "pending", "filled", "no_trades", "failed"}
