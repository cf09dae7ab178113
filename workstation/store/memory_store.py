"""MemoryBarStore: the read side of a BarStore, answered from bars already in memory.

Sweep cells run on Ray workers that have no copy of the bar store: the driver reads the store once
and ships `BarBlock`s (plain numpy columns, zero-copy through Ray's object store) to the workers,
where a MemoryBarStore built from them answers the engine's reads (`read_session_arrays`,
`read_bars`, `read_daily`, `symbols`) exactly as `BarStore` would, without any Parquet. It is the
bar source given to an ordinary SystemManager; nothing else of the engine changes.

A store knows which exchange-local dates it was given per interval. Asking for a date outside
them raises StoreError instead of answering "no bars" (an empty answer would silently change a
backtest); a date inside them without a block simply has no bars, as in the store.

Times are int ns UTC, bar start; ranges are half-open [start, end). Read-only, thread safe.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from workstation.calendar import TimeManager, as_date
from workstation.errors import StoreError
from workstation.model import parse_interval
from workstation.store.bar_store import BarStore, DailyArrays, SessionArrays, _empty_session_arrays
from workstation.store.corporate_actions import PriceAdjustments
from workstation.store.schema import BAR_SCHEMA, DAILY_INTERVAL

_VALUE_COLUMNS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class BarBlock:
    """Bars of one interval whose exchange-local dates lie in [first_date, last_date], sorted by
    (timestamp, symbol). `symbol` holds codes into `symbols` (sorted names); `trade_count` and
    `vwap` hold NaN where the store has no value."""

    interval: str
    first_date: dt.date
    last_date: dt.date
    symbols: tuple[str, ...]
    symbol: np.ndarray       # int32 codes into `symbols`
    timestamp: np.ndarray    # int64 ns UTC, bar start
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    trade_count: np.ndarray  # float64, NaN = none
    vwap: np.ndarray         # float64, NaN = none
    rth: np.ndarray          # bool

    @property
    def rows(self) -> int:
        return int(self.timestamp.shape[0])

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, c).nbytes for c in ("symbol", "timestamp", *_VALUE_COLUMNS, "trade_count",
                                                      "vwap", "rth"))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, interval: str, first_date: dt.date, last_date: dt.date) -> BarBlock:
        """A block from a `BarStore.read_bars` frame (already sorted by timestamp, then symbol)."""
        names = tuple(sorted(set(frame["symbol"].astype(str)))) if len(frame) else ()
        codes = pd.Categorical(frame["symbol"].astype(str), categories=list(names)).codes.astype(np.int32)
        ts = pd.DatetimeIndex(frame["timestamp"]).as_unit("ns").asi8 if len(frame) else np.empty(0, np.int64)

        def floats(col: str) -> np.ndarray:
            return pd.to_numeric(frame[col]).to_numpy(dtype=np.float64, na_value=np.nan)

        return cls(parse_interval(interval).name, first_date, last_date, names, codes,
                   np.ascontiguousarray(ts, dtype=np.int64),
                   floats("open"), floats("high"), floats("low"), floats("close"), floats("volume"),
                   floats("trade_count"), floats("vwap"), frame["rth"].to_numpy(dtype=bool))

    def select(self, first_date: dt.date, last_date: dt.date, time_manager: TimeManager) -> BarBlock:
        """The rows whose exchange-local date lies in [first_date, last_date] (a narrower horizon)."""
        local = time_manager.local_dates(self.timestamp)
        keep = (local >= np.datetime64(first_date, "D")) & (local <= np.datetime64(last_date, "D"))
        idx = np.flatnonzero(keep)
        return BarBlock(self.interval, first_date, last_date, self.symbols,
                        *(getattr(self, c)[idx] for c in ("symbol", "timestamp", *_VALUE_COLUMNS,
                                                           "trade_count", "vwap", "rth")))


class MemoryBarStore:
    """BarStore's read interface over shipped BarBlocks (see the module docstring)."""

    def __init__(self, blocks: Iterable[BarBlock], catalog: dict[str, Sequence[str]], time_manager: TimeManager,
                 root: str | Path = "(memory)", adjustments: PriceAdjustments | None = None):
        """`catalog` maps each interval to every symbol the real store has bars of (for `symbols()`);
        `root` names the store the bars came from, for messages; `adjustments` are the real store's
        resolved corporate actions (`BarStore.price_adjustments()`), for runs with `prices: adjusted`."""
        self.root = Path(root)
        self._adjustments = adjustments if adjustments is not None else PriceAdjustments()
        self.time_manager = time_manager
        self.exchange = time_manager.exchange
        self.tz = time_manager.tz
        self._catalog = {parse_interval(k).name: sorted(v) for k, v in catalog.items()}
        self._blocks: dict[str, list[BarBlock]] = {}
        for block in blocks:
            if block.interval != DAILY_INTERVAL and block.first_date != block.last_date:
                raise StoreError(f"in-memory {block.interval} bars come one block per date, got "
                                 f"{block.first_date}..{block.last_date}")
            self._blocks.setdefault(block.interval, []).append(block)
        for name, found in self._blocks.items():
            found.sort(key=lambda b: b.first_date)
            for a, b in zip(found, found[1:], strict=False):
                if b.first_date <= a.last_date:
                    raise StoreError(f"in-memory bars of {name} overlap: {a.first_date}..{a.last_date} and "
                                     f"{b.first_date}..{b.last_date}")
        self._by_date = {name: {b.first_date: b for b in found} for name, found in self._blocks.items()}

    def price_adjustments(self) -> PriceAdjustments:
        """The corporate actions of the store the bars came from, resolved there (the blocks hold raw bars;
        a run with `prices: adjusted` reads them through AdjustedBarStore, as it reads a BarStore)."""
        return self._adjustments

    # ------------------------------------------------------------------ coverage
    def dates_held(self, interval: str) -> tuple[dt.date, dt.date] | None:
        """First and last exchange-local date this store was given bars of `interval` for."""
        found = self._blocks.get(parse_interval(interval).name)
        return (found[0].first_date, found[-1].last_date) if found else None

    def dates(self, interval: str = "1m") -> list[dt.date]:
        """Exchange-local dates holding bars of `interval` among those shipped (BarStore.dates; the
        warm-up reads back no further than the first). Intraday intervals only: daily blocks span
        a range."""
        name = parse_interval(interval).name
        return sorted(b.first_date for b in self._blocks.get(name, []) if b.rows)

    def _covering(self, name: str, first: dt.date, last: dt.date) -> list[BarBlock]:
        """The blocks holding [first, last]; the dates between blocks must be days without a session
        (the store never holds bars of those)."""
        found = self._blocks.get(name, [])
        covered, day = [], first
        for block in found:
            if block.last_date < first or block.first_date > last:
                continue
            if block.first_date > day and self._sessions_between(day, block.first_date - dt.timedelta(days=1)):
                break
            covered.append(block)
            day = block.last_date + dt.timedelta(days=1)
        if day <= last and self._sessions_between(day, last):
            missing = self.time_manager.trading_dates(day, last)[0]
            held = f"{found[0].first_date}..{found[-1].last_date}" if found else "none"
            raise StoreError(
                f"the {name} bars of {missing} were not shipped to this sweep cell (asked for {first}..{last}, "
                f"held {held}): a bug in the sweep's data planning, please report it with the config"
            )
        return covered

    def _sessions_between(self, first: dt.date, last: dt.date) -> bool:
        return bool(self.time_manager.trading_dates(first, last))

    def _local_date(self, ts_ns: int) -> dt.date:
        return self.time_manager.local_dates(np.array([ts_ns], dtype=np.int64))[0].astype(dt.date)

    # ------------------------------------------------------------------ reads (BarStore's interface)
    def symbols(self, interval: str | None = None) -> list[str]:
        """Sorted symbols that have bars (of one interval, or any) in the store the bars came from."""
        if interval is not None:
            return list(self._catalog.get(parse_interval(interval).name, []))
        return sorted({s for names in self._catalog.values() for s in names})

    def has_symbol(self, symbol: str, interval: str | None = None) -> bool:
        return symbol in self.symbols(interval)

    def missing_symbols(self, symbols: Sequence[str], interval: str) -> list[str]:
        """Those of `symbols` with no bar of `interval` in the store the bars came from (BarStore's)."""
        known = set(self.symbols(interval))
        return [s for s in symbols if s not in known]

    def read_bars(self, symbols: Sequence[str] | None, interval: str, start_ns: int, end_ns: int,
                  rth_only: bool = False) -> pd.DataFrame:
        """Bars of `symbols` (None = all) with start in [start_ns, end_ns), sorted by (timestamp, symbol)."""
        name = parse_interval(interval).name
        start_ns, end_ns = int(start_ns), int(end_ns)
        parts: list[pa.Table] = []
        if end_ns > start_ns and (symbols is None or len(symbols)):
            for block in self._covering(name, self._local_date(start_ns), self._local_date(end_ns - 1)):
                keep = (block.timestamp >= start_ns) & (block.timestamp < end_ns)
                if symbols is not None:
                    keep &= np.isin(block.symbol, _codes(block, symbols))
                if rth_only:
                    keep &= block.rth
                idx = np.flatnonzero(keep)
                if len(idx):
                    parts.append(_table(block, idx))
        table = pa.concat_tables(parts) if parts else BAR_SCHEMA.empty_table()
        frame = table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
        return frame.reset_index(drop=True)

    def read_session_arrays(self, date: dt.date | str, interval: str, symbols: Sequence[str],
                            rth_only: bool = True) -> SessionArrays:
        """One exchange-local date of intraday bars as numpy arrays, sorted by (timestamp, index in
        `symbols`); rows of symbols not in `symbols` are dropped."""
        name = parse_interval(interval).name
        if name == DAILY_INTERVAL:
            raise ValueError("read_session_arrays reads intraday bars; use read_daily for '1d'")
        day = as_date(date)
        self._covering(name, day, day)
        block = self._by_date.get(name, {}).get(day)
        if block is None or not symbols or not block.rows:
            return _empty_session_arrays()
        lookup = {s: i for i, s in enumerate(symbols)}
        mapping = np.array([lookup.get(s, -1) for s in block.symbols], dtype=np.int32)
        sym_idx = mapping[block.symbol]
        keep = sym_idx >= 0
        if rth_only:
            keep &= block.rth
        sel = np.flatnonzero(keep)
        if not len(sel):
            return _empty_session_arrays()
        sym_idx, ts = sym_idx[sel], block.timestamp[sel]
        order = np.lexsort((sym_idx, ts))
        take = sel[order]
        return SessionArrays(sym_idx[order].astype(np.int32, copy=False), ts[order],
                             *(getattr(block, c)[take] for c in _VALUE_COLUMNS))

    def _daily_parts(self, symbols: Sequence[str], start_ns: int, end_ns: int) -> list[DailyArrays]:
        """BarStore._daily_parts from the shipped daily blocks."""
        parts: list[DailyArrays] = []
        for block in self._covering(DAILY_INTERVAL, self._local_date(start_ns), self._local_date(end_ns - 1)):
            lookup = {s: i for i, s in enumerate(symbols)}
            mapping = np.array([lookup.get(s, -1) for s in block.symbols], dtype=np.int32)
            codes = mapping[block.symbol] if len(mapping) else np.empty(0, dtype=np.int32)
            keep = np.flatnonzero((codes >= 0) & (block.timestamp >= start_ns) & (block.timestamp < end_ns))
            parts.append(DailyArrays(codes[keep], np.empty(len(keep), dtype="datetime64[D]"), block.timestamp[keep],
                                     *(getattr(block, c)[keep] for c in _VALUE_COLUMNS)))
        return parts

    # the daily reads are BarStore's own, over this store's read_bars and _daily_parts (one
    # implementation of the rule)
    read_daily = BarStore.read_daily
    read_daily_arrays = BarStore.read_daily_arrays
    _local_midnight_ns = BarStore._local_midnight_ns


def _codes(block: BarBlock, symbols: Sequence[str]) -> np.ndarray:
    wanted = set(symbols)
    return np.array([i for i, s in enumerate(block.symbols) if s in wanted], dtype=np.int32)


def _table(block: BarBlock, idx: np.ndarray) -> pa.Table:
    trade_count, vwap = block.trade_count[idx], block.vwap[idx]
    tc_null = np.isnan(trade_count)
    symbol = pa.DictionaryArray.from_arrays(pa.array(block.symbol[idx], pa.int32()), pa.array(list(block.symbols)))
    arrays = [
        symbol.cast(pa.string()),
        pa.array(block.timestamp[idx].view("datetime64[ns]"), type=BAR_SCHEMA.field("timestamp").type),
        *(pa.array(getattr(block, c)[idx], type=pa.float64()) for c in _VALUE_COLUMNS),
        pa.array(np.where(tc_null, 0, trade_count).astype(np.int64), mask=tc_null, type=pa.int64()),
        pa.array(vwap, mask=np.isnan(vwap), type=pa.float64()),
        pa.array(block.rth[idx], type=pa.bool_()),
    ]
    return pa.Table.from_arrays(arrays, schema=BAR_SCHEMA)
