"""The gap list of a run folder (gaps.parquet/): every run of missing bars, per session, symbol and
interval (streamed and derived), as the DataQualityManager measured it.

Columns: session_date (exchange-local date), symbol, interval, start and end (UTC timestamps; the
missing bars cover [start, end), a lunch break inside a gap is not counted), missing (bars),
status (measured in backtests; pending / filled / partial / failed / unavailable in live runs).
One Parquet part per session, written by the RunWriter; read by the results view.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from workstation.errors import DataError, named

if TYPE_CHECKING:
    import pandas as pd
else:
    from workstation.lazy_modules import LazyModule

    pd = LazyModule("pandas")  # imported at first use: not on the path to a run's first bar

GAP_COLUMNS = ["session_date", "symbol", "interval", "start", "end", "missing", "status"]


def gaps_frame(rows: list[dict]) -> pd.DataFrame:
    """Gap rows (start/end as int ns UTC) as the gaps.parquet table."""
    df = pd.DataFrame(rows, columns=GAP_COLUMNS)
    for col in ("start", "end"):
        df[col] = pd.to_datetime(df[col].astype("int64"), utc=True)
    return df.astype({"missing": "int64"})


def read_gap_list(run_dir: str | Path) -> pd.DataFrame | None:
    """The run folder's gap list in time order; None when the run has none (no gap, or a run folder
    written before gap lists existed); DataError naming the folder when it cannot be read."""
    path = Path(run_dir) / "gaps.parquet"
    if not path.exists():
        return None
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a damaged file
        raise DataError(f"cannot read the gap list {path}: {exc}") from exc
    missing = [c for c in GAP_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"the gap list {path} lacks {named('column', missing)}")
    return df.sort_values(["start", "symbol", "interval"], kind="mergesort").reset_index(drop=True)
