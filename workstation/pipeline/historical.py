"""Historical phase of each session: trailing bars, historical indicators and historical quality.

Trailing windows come from the TimeManager. The first session loads the whole trailing window;
every later session rolls it forward by one day (the session just finished is appended, the oldest
day dropped) instead of reloading. Daily history (52-week highs, average daily volume) is read once
for the whole run from the store's 1d bars (or aggregated from 1m bars when there are none).
"""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pandas as pd

from workstation.calendar import TimeManager, TradingSession
from workstation.config import SessionConfig
from workstation.model import ns_array
from workstation.session import BarsView

log = logging.getLogger(__name__)


def _trading_session(tm: TimeManager, day: dt.date) -> TradingSession:
    """The session of `day`, a trading date (from the calendar's trading dates or the store's)."""
    session = tm.session(day)
    if session is None:
        raise ValueError(f"{day} is not a trading day of {tm.exchange}")
    return session


class HistoricalService:
    """Computes and rolls the historical state kept in SessionData for each session."""

    def __init__(self, cfg: SessionConfig, store, tm: TimeManager, session_data, metrics):
        self.cfg = cfg
        self.store = store
        self.tm = tm
        self.sd = session_data
        self.metrics = metrics
        self.symbols = cfg.historical_symbols()
        self.intervals = [iv for iv in cfg.historical.intervals if iv != "1d"]
        self.trailing_days = cfg.historical.trailing_days
        self._daily: pd.DataFrame | None = None
        self._minute_days: dict[dt.date, pd.DataFrame] = {}   # 1m bars of trailing days (for intraday stats)
        self._loaded_for: dt.date | None = None
        self.quality_rows: list[dict] = []

    # ------------------------------------------------------------------ daily
    def prepare(self, first: dt.date, last: dt.date) -> None:
        """Read the daily history the run needs once (longest indicator period before `first`)."""
        inds = self.cfg.historical.indicators
        daily_needed = [i for i in inds if i.kind in ("avg_daily", "max", "min")]
        if not daily_needed:
            return
        earliest = min(self.tm.trailing_dates(first, i.period)[0] if self.tm.trailing_dates(first, i.period)
                       else first for i in daily_needed)
        with self.metrics.timer("historical.daily_load"):
            daily = self.store.read_daily(self.symbols, earliest, last)
            if daily is None or len(daily) == 0:
                start_ns = _trading_session(self.tm, self.tm.first_trading_date_on_or_after(earliest)).open_ns
                end_sess = self.tm.session(self.tm.previous_trading_date(last + dt.timedelta(days=1)))
                end_ns = end_sess.close_ns if end_sess else start_ns
                minute = self.store.read_bars(self.symbols, "1m", start_ns, end_ns, rth_only=True)
                daily = _aggregate_daily(minute, self.tm.tz)
            daily = daily.copy()
            daily["date"] = pd.to_datetime(daily["timestamp"]).dt.tz_convert(self.tm.tz).dt.date \
                if "date" not in daily.columns else daily["date"]
        self._daily = daily

    # ------------------------------------------------------------------ per session
    def load_session(self, day: dt.date) -> None:
        """Set trailing bars, historical indicators and historical quality for session `day`."""
        with self.metrics.timer("historical.load"):
            trailing = self.tm.trailing_dates(day, f"{self.trailing_days}d") if self.trailing_days else []
            intraday_days = self._intraday_window(day)
            need = sorted(set(trailing) | set(intraday_days))
            missing = [d for d in need if d not in self._minute_days]
            if missing:
                self._load_minutes(missing)
            for d in list(self._minute_days):
                if d not in need:
                    del self._minute_days[d]
            self._set_trailing_bars(trailing)
            self._historical_indicators(day, intraday_days)
            self._historical_quality(trailing)
            self._loaded_for = day

    def needs_minutes(self) -> bool:
        """Whether finished sessions' 1m bars must be kept (trailing bars or intraday averages)."""
        return bool(self.symbols) and (self.trailing_days > 0 or any(
            i.kind == "avg_intraday" for i in self.cfg.historical.indicators) or self._daily is not None)

    def roll(self, day: dt.date, session_bars: pd.DataFrame) -> None:
        """Keep the finished session's 1m bars so the next session needs no reload of that day."""
        self._minute_days[day] = session_bars
        session = self.tm.session(day)
        if session is not None and session.extended and len(session_bars):   # daily values stay regular-hours
            session_bars = session_bars[session.regular_mask(ns_array(session_bars["timestamp"]))]
        if self._daily is not None and len(session_bars):
            agg = _aggregate_daily(session_bars, self.tm.tz)
            agg["date"] = day
            self._daily = pd.concat([self._daily[self._daily["date"] != day], agg], ignore_index=True)

    def _intraday_window(self, day: dt.date) -> list[dt.date]:
        days: set[dt.date] = set()
        for ind in self.cfg.historical.indicators:
            if ind.kind == "avg_intraday":
                days |= set(self.tm.trailing_dates(day, ind.period))
        return sorted(days)

    def _load_minutes(self, dates: list[dt.date]) -> None:
        with self.metrics.timer("historical.minute_load"):
            for d in dates:
                sess = self.tm.session(d)
                if sess is None:
                    continue
                # the session's hours: pre/post-market too in extended hours (daily values stay regular)
                df = self.store.read_bars(self.symbols, "1m", sess.start_ns, sess.end_ns, rth_only=not sess.extended)
                self._minute_days[d] = df

    def _set_trailing_bars(self, trailing: list[dt.date]) -> None:
        frames = [self._minute_days[d] for d in trailing if d in self._minute_days and len(self._minute_days[d])]
        groups = {}
        if frames:
            df = pd.concat(frames, ignore_index=True)
            groups = {str(sym): g for sym, g in df.groupby("symbol", sort=False)}
        empty = _empty_view()
        for sym in self.symbols:
            sub = groups.get(sym)
            for iv in self.intervals:
                view = _view_of(sub) if iv == "1m" and sub is not None and len(sub) else empty
                self.sd.set_historical_bars(sym, iv, view)

    def _historical_indicators(self, day: dt.date, intraday_days: list[dt.date]) -> None:
        for ind in self.cfg.historical.indicators:
            dates = self.tm.trailing_dates(day, ind.period)
            if ind.skip_early_close:
                dates = [d for d in dates if not _trading_session(self.tm, d).early_close]
            if ind.kind == "avg_intraday":
                self._avg_intraday(ind, dates, max(_trading_session(self.tm, d).minutes for d in [*dates, day]))
                continue
            daily = self._daily
            if daily is None or len(daily) == 0:
                for sym in self.symbols:
                    self.sd.set_historical_indicator(sym, ind.name, float("nan"))
                continue
            window = daily[daily["date"].isin(set(dates))]
            agg = {"avg_daily": "mean", "max": "max", "min": "min"}[ind.kind]
            values = window.groupby("symbol")[ind.field].agg(agg).to_dict() if len(window) else {}
            for sym in self.symbols:
                self.sd.set_historical_indicator(sym, ind.name, float(values.get(sym, float("nan"))))

    def _avg_intraday(self, ind, dates: list[dt.date], minutes: int) -> None:
        """One mean per trading minute of a full session (`minutes` values: the longest session of the
        window, 390 on XNYS, 330 on XHKG whose lunch break is not a minute of the session), over the
        trailing days (vectorised: a [days, symbols, minutes] grid filled from each day's bars, each
        placed by its trading minute since that day's open; an early close leaves its tail NaN)."""
        index = {s: i for i, s in enumerate(self.symbols)}
        days = [d for d in dates if d in self._minute_days and len(self._minute_days[d])]
        grid = np.full((len(days), len(self.symbols), minutes), np.nan)
        for k, d in enumerate(days):
            f = self._minute_days[d]
            minute = _trading_session(self.tm, d).trading_minute_index(ns_array(f["timestamp"]))
            rows = f["symbol"].map(index).to_numpy()
            ok = (minute >= 0) & (minute < minutes) & ~pd.isna(rows)
            grid[k, rows[ok].astype(np.int64), minute[ok]] = f[ind.field].to_numpy(dtype=float)[ok]
        with np.errstate(all="ignore"):
            cnt = np.sum(~np.isnan(grid), axis=0)
            mean = np.where(cnt > 0, np.nansum(grid, axis=0) / np.maximum(cnt, 1), np.nan)
        for i, sym in enumerate(self.symbols):
            self.sd.set_historical_indicator(sym, ind.name, mean[i] if len(days) else np.full(minutes, np.nan))

    def _historical_quality(self, trailing: list[dt.date]) -> None:
        expected = sum(_trading_session(self.tm, d).minutes for d in trailing)
        present: dict[str, int] = {}
        for d in trailing:
            df = self._minute_days.get(d)
            if df is not None and len(df):
                for sym, n in df["symbol"].value_counts().items():
                    present[str(sym)] = present.get(str(sym), 0) + int(n)
        rows = []
        for sym in self.symbols:
            have = present.get(sym, 0)
            pct = 100.0 if not self.cfg.historical.enable_quality or expected == 0 else 100.0 * have / expected
            self.sd.set_historical_indicator(sym, "historical_quality_pct", pct)
            rows.append({"symbol": sym, "days": len(trailing), "present": have, "expected": expected,
                         "quality_pct": pct})
        self.quality_rows = rows


def _view_of(df: pd.DataFrame) -> BarsView:
    ts = ns_array(df["timestamp"])
    return BarsView(ts, df["open"].to_numpy(float), df["high"].to_numpy(float), df["low"].to_numpy(float),
                    df["close"].to_numpy(float), df["volume"].to_numpy(float))


def _empty_view() -> BarsView:
    e = np.empty(0)
    return BarsView(np.empty(0, dtype=np.int64), e, e, e, e, e)


def _aggregate_daily(minute: pd.DataFrame, tz: str) -> pd.DataFrame:
    """Daily OHLCV per (symbol, exchange-local date) from 1m bars."""
    if minute is None or len(minute) == 0:
        return pd.DataFrame(columns=["symbol", "timestamp", "open", "high", "low", "close", "volume", "date"])
    m = minute.sort_values(["symbol", "timestamp"])
    m = m.assign(date=pd.to_datetime(m["timestamp"]).dt.tz_convert(tz).dt.date)
    g = m.groupby(["symbol", "date"], sort=True)
    out = g.agg(timestamp=("timestamp", "first"), open=("open", "first"), high=("high", "max"),
                low=("low", "min"), close=("close", "last"), volume=("volume", "sum")).reset_index()
    return out
