"""Overnight price jumps that look like an unrecorded split (warned by the importers and `store info`).

For each symbol and each pair of consecutive stored sessions, the ratio of the previous session's
close to the next session's open is compared, on prices adjusted by the recorded corporate actions
(so a recorded split no longer jumps). A ratio close to a usual split ratio (3-for-2, 2-for-1 ...
100-for-1, or a reverse split 1-for-2 ... 1-for-100) is reported with that ratio as the guess: a
7-for-1 split shows as -85.7 % overnight. Close means within 6 %, or 3 % for the small ratios 3-for-2,
2-for-1 and 5-for-2 (so a -30.8 % crash day of a leveraged ETF, UPRO on 2020-03-16 in the real data,
is not taken for a 3-for-2 split). Moves that match no split ratio (a +30 % earnings gap) are not
reported.

Sessions come from the regular-session bars of the store's shortest intraday interval (the first
regular bar's open, the last one's close), and from the daily bars on dates without intraday bars
of the symbol (the daily history before the 1m bars). Dates are exchange-local. Reads only; no lock.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workstation.store.schema import DAILY_INTERVAL

TOLERANCE = 0.06
SMALL_RATIO_TOLERANCE = 0.03  # for ratios below 3 (3-for-2, 2-for-1, 5-for-2 and their reverses)
_SPLIT_RATIOS = sorted({*[(3, 2), (5, 2)], *[(n, 1) for n in (2, 3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 25, 30, 40, 50,
                                                             100)]}, key=lambda r: r[0] / r[1])
MAX_WARNINGS = 50
_SCAN_COLUMNS = ["symbol", "timestamp", "open", "close", "rth"]


@dataclass(frozen=True)
class PriceJump:
    """One overnight move that looks like an unrecorded split of `ratio` (new shares per old share)."""

    symbol: str
    date: dt.date             # the session that opened at the jumped price (the likely ex-date)
    previous_date: dt.date
    previous_close: float
    open: float
    change_pct: float
    ratio: float
    ratio_text: str

    @property
    def message(self) -> str:
        return (f"{self.symbol} {self.date}: {self.change_pct:+.1f} % overnight (close {self.previous_close:,.4g} on "
                f"{self.previous_date}, open {self.open:,.4g}) looks like an unrecorded {self.ratio_text} split; "
                f"if it is one, record it (symbol,effective_date,split_ratio = {self.symbol},{self.date},"
                f"{_ratio_cell(self.ratio)}) with `workstation store import-actions FILE --store DIR`")

    def to_dict(self) -> dict:
        return {"symbol": self.symbol, "date": self.date.isoformat(), "previous_date": self.previous_date.isoformat(),
                "previous_close": self.previous_close, "open": self.open, "change_pct": round(self.change_pct, 2),
                "ratio_guess": self.ratio, "ratio_text": self.ratio_text, "message": self.message}


def _ratio_cell(ratio: float) -> str:
    for new, old in _SPLIT_RATIOS:
        if math.isclose(ratio, new / old):
            return f"{new}:{old}"
        if math.isclose(ratio, old / new):
            return f"{old}:{new}"
    return f"{ratio:g}"


def guess_split(price_ratio: float) -> tuple[float, str] | None:
    """(ratio, text) of the usual split whose ratio is close to `price_ratio` (previous close / open; see
    the module docstring), or None. 7.02 -> (7.0, '7-for-1'); 0.1 -> (0.1, '1-for-10 reverse')."""
    if not (price_ratio > 0 and math.isfinite(price_ratio)):
        return None
    for new, old in _SPLIT_RATIOS:
        for ratio, text in ((new / old, f"{new}-for-{old}"), (old / new, f"1-for-{new // old} reverse"
                                                               if old == 1 else f"{old}-for-{new} reverse")):
            tolerance = SMALL_RATIO_TOLERANCE if new / old < 3 else TOLERANCE
            if abs(math.log(price_ratio / ratio)) <= math.log1p(tolerance):
                return ratio, text
    return None


def session_open_close(store, symbols: Sequence[str] | None = None, first: dt.date | None = None,
                       last: dt.date | None = None) -> pd.DataFrame:
    """Per (symbol, date): the session's first regular-hours open and last close, raw; columns symbol,
    date (datetime64[D]), open, close, sorted by (symbol, date). From the shortest intraday interval,
    and from the daily bars for the dates without intraday bars of that symbol (e.g. the years of
    daily history before the 1m bars). Only dates within [first, last] when given."""
    columns = ["symbol", "date", "open", "close"]
    wanted = list(symbols) if symbols is not None else None
    intervals = store.intervals()
    parts = []
    intraday = [i for i in intervals if i != DAILY_INTERVAL]
    if intraday:
        interval = intraday[0]
        days = [d for d in store.dates(interval) if (first is None or d >= first) and (last is None or d <= last)]
        for day in days:  # one file per date, only the columns needed
            table = store._read_file(store.day_file(interval, day), columns=_SCAN_COLUMNS)
            keep = table.column("rth").to_numpy(zero_copy_only=False)
            symbol = table.column("symbol").to_numpy(zero_copy_only=False)[keep]
            if wanted is not None:
                inside = np.isin(symbol, wanted)
                keep = np.flatnonzero(keep)[inside]
                symbol = symbol[inside]
            if not len(symbol):
                continue
            timestamp = table.column("timestamp").to_numpy().view(np.int64)[keep]
            opens, closes = table.column("open").to_numpy()[keep], table.column("close").to_numpy()[keep]
            order = np.lexsort((timestamp, symbol))  # files are written in this order: usually a no-op
            symbol, opens, closes = symbol[order], opens[order], closes[order]
            starts = np.flatnonzero(np.r_[True, symbol[1:] != symbol[:-1]])
            ends = np.r_[starts[1:], len(symbol)] - 1
            parts.append(pd.DataFrame({"symbol": symbol[starts], "date": np.datetime64(day, "D"),
                                       "open": opens[starts], "close": closes[ends]}))
    if DAILY_INTERVAL in intervals:
        daily = store.read_daily(wanted, first or dt.date(1900, 1, 1), last or dt.date(2100, 12, 31))
        if len(daily):
            parts.append(pd.DataFrame({
                "symbol": daily["symbol"].astype(str).to_numpy(dtype=object),
                "date": np.array([np.datetime64(d, "D") for d in daily["date"]], dtype="datetime64[D]"),
                "open": daily["open"].to_numpy(dtype=float), "close": daily["close"].to_numpy(dtype=float)}))
    if not parts:
        return pd.DataFrame(columns=columns)
    sessions = pd.concat(parts, ignore_index=True)[columns]  # intraday rows first: they win a shared date
    sessions = sessions.drop_duplicates(["symbol", "date"], keep="first")
    return sessions.sort_values(["symbol", "date"], kind="stable").reset_index(drop=True)


def scan_price_jumps(store, adjustments=None, symbols: Sequence[str] | None = None, first: dt.date | None = None,
                     last: dt.date | None = None) -> list[PriceJump]:
    """Overnight jumps that look like unrecorded splits (module docstring), on prices adjusted by
    `adjustments` (default: the store's recorded actions). With `first`/`last`, the sessions in that
    range and the stored sessions just before and after it are compared."""
    from workstation.store.corporate_actions import store_adjustments

    if adjustments is None:
        adjustments = store_adjustments(store)
    if first is not None or last is not None:  # also compare with the stored sessions just outside
        intraday = [i for i in store.intervals() if i != DAILY_INTERVAL]
        stored = store.dates(intraday[0]) if intraday else []
        if first is not None:
            before = [d for d in stored if d < first]
            first = before[-1] if before else first
        if last is not None:
            after = [d for d in stored if d > last]
            last = after[0] if after else last
    sessions = session_open_close(store, symbols, first, last)
    if len(sessions) < 2:
        return []
    sessions = adjustments.adjust_frame(sessions, sessions["date"].to_numpy(dtype="datetime64[D]"))
    sessions = sessions.sort_values(["symbol", "date"], kind="stable").reset_index(drop=True)
    same = sessions["symbol"].eq(sessions["symbol"].shift())
    previous_close = sessions["close"].shift()
    ratio = (previous_close / sessions["open"]).where(same)
    candidates = np.flatnonzero(((ratio >= 1.4) | (ratio <= 1 / 1.4)).to_numpy())
    jumps = []
    for i in candidates:
        guess = guess_split(float(ratio.iloc[i]))
        if guess is None:
            continue
        row, prev = sessions.iloc[i], sessions.iloc[i - 1]
        jumps.append(PriceJump(str(row["symbol"]), pd.Timestamp(row["date"]).date(),
                               pd.Timestamp(prev["date"]).date(), float(prev["close"]), float(row["open"]),
                               (float(row["open"]) / float(prev["close"]) - 1.0) * 100.0, *guess))
        if len(jumps) >= MAX_WARNINGS:
            break
    return jumps
