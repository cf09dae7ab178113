"""Synthetic 1-minute sessions for the live tests: liquid symbols trade every minute, thin ones only
in some minutes (no trade, no bar: as IEX streams them). Seeded, so every run sees the same data."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workstation.calendar import TimeManager
from workstation.live.alpaca import format_rfc3339_ns

MINUTE = 60_000_000_000


def session_bars(day: str, trade_probability: dict[str, float], seed: int = 3) -> pd.DataFrame:
    """Regular-hours 1m bars of `day` (XNYS): symbol -> probability that a minute has a trade."""
    session = TimeManager().session(pd.Timestamp(day).date())
    starts = np.arange(session.open_ns, session.close_ns, MINUTE, dtype=np.int64)
    rng = np.random.default_rng(seed)
    frames = []
    for k, (symbol, probability) in enumerate(sorted(trade_probability.items())):
        traded = rng.random(len(starts)) < probability
        traded[0] = True
        close = np.round(40 + 10 * k + np.cumsum(rng.normal(0, 0.05, len(starts))), 2)
        open_ = np.round(np.r_[close[0], close[:-1]] + rng.normal(0, 0.01, len(starts)), 2)
        high = np.round(np.maximum(open_, close) + rng.uniform(0, 0.04, len(starts)), 2)
        low = np.round(np.minimum(open_, close) - rng.uniform(0, 0.04, len(starts)), 2)
        volume = rng.integers(100, 5000, len(starts)).astype(float)
        frames.append(pd.DataFrame({
            "symbol": symbol, "timestamp": pd.to_datetime(starts[traded], utc=True), "open": open_[traded],
            "high": high[traded], "low": low[traded], "close": close[traded], "volume": volume[traded]}))
    return pd.concat(frames, ignore_index=True).sort_values(["timestamp", "symbol"]).reset_index(drop=True)


def stream_messages(frame: pd.DataFrame) -> list[dict]:
    """The frame's bars as Alpaca stream bar objects ("T": "b"), in time order."""
    ns = frame["timestamp"].astype("int64").to_numpy()
    return [{"T": "b", "S": sym, "o": o, "h": h, "l": lo, "c": c, "v": v, "t": format_rfc3339_ns(int(t)),
             "n": 1, "vw": c}
            for sym, t, o, h, lo, c, v in zip(frame["symbol"], ns, frame["open"], frame["high"], frame["low"],
                                               frame["close"], frame["volume"], strict=True)]
