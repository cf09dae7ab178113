"""Quote bars in the bar store: bid/ask OHLC and sizes per minute, beside the trade bars.

Layout and columns in workstation/store/schema.py (`<root>/quotes/interval=1m/period=<date>/`):
one file per exchange-local date, all symbols, sorted by (symbol, timestamp); timestamps are bar
STARTS in int ns UTC (a quote bar stamped 09:30 covers [09:30, 09:31) and is known at 09:31).
Writes take the store's write lock and replace each touched date file atomically, as trade bars
do; a quote bar already stored for (symbol, timestamp) is kept (the new one is a duplicate, or a
conflict when its values differ). Readers take no lock. Any thread may read; one writer at a time.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from workstation.calendar import as_date
from workstation.errors import DataError, StoreError, named
from workstation.model import parse_interval
from workstation.session.quote_bars import QUOTE_FIELDS, QuoteSessionArrays, empty_quote_arrays
from workstation.store.bar_store import (
    ROW_CONFLICT,
    ROW_DUPLICATE,
    ROW_NEW,
    BarStore,
    WriteResult,
    _atomic_write_table,
    _classify_sorted,
    _remove_empty_folder,
)
from workstation.store.schema import (
    DAILY_INTERVAL,
    PART_FILE,
    PARTITION_KEY,
    QUOTE_COLUMNS,
    QUOTE_SCHEMA,
    QUOTE_VALUE_COLUMNS,
    QUOTES_DIR,
    quote_partition_dir,
)


def quote_file(store: BarStore, interval: str, day: dt.date | str) -> Path:
    """The file holding one exchange-local date of quote bars (may not exist)."""
    return store.root / quote_partition_dir(parse_interval(interval).name, as_date(day).isoformat()) / PART_FILE


def quote_dates(store: BarStore, interval: str = "1m") -> list[dt.date]:
    """Exchange-local dates that have quote bars of `interval`."""
    base = store.root / QUOTES_DIR / f"interval={parse_interval(interval).name}"
    if not base.is_dir():
        return []
    prefix = f"{PARTITION_KEY}="
    return sorted(dt.date.fromisoformat(c.name[len(prefix):]) for c in base.iterdir()
                  if c.name.startswith(prefix) and (c / PART_FILE).is_file())


def has_quotes(store: BarStore, interval: str = "1m") -> bool:
    return bool(quote_dates(store, interval))


def _read_quote_file(path: Path, dictionary_symbols: bool = False) -> pa.Table:
    """The quote file's columns (QUOTE_SCHEMA; with `dictionary_symbols` the symbol column stays
    dictionary-encoded, for fast mapping to symbol indexes); StoreError naming the file when damaged."""
    try:
        parquet = pq.ParquetFile(path, page_checksum_verification=True,
                                 read_dictionary=["symbol"] if dictionary_symbols else None)
        missing = [c for c in QUOTE_COLUMNS if parquet.schema_arrow.get_field_index(c) < 0]
        if missing:
            raise StoreError(f"quote file {path} is not a quote-bar file: it lacks {named('column', missing)}")
        table = parquet.read(columns=list(QUOTE_COLUMNS))
        return table if dictionary_symbols else table.cast(QUOTE_SCHEMA)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise StoreError(f"quote file {path} cannot be read: {exc}; restore it, or delete it and import its "
                         "quotes again") from exc


def check_quote_files(store: BarStore, interval: str = "1m") -> list[str]:
    """One line per quote-bar file that cannot be read whole (see BarStore.check)."""
    problems = []
    for day in quote_dates(store, interval):
        try:
            _read_quote_file(quote_file(store, interval, day))
        except StoreError as exc:
            problems.append(str(exc))
    return problems


def _table_columns(table: pa.Table) -> dict[str, np.ndarray]:
    cols: dict[str, np.ndarray] = {
        "symbol": table.column("symbol").to_numpy(zero_copy_only=False).astype(object),
        "timestamp": table.column("timestamp").to_numpy().view(np.int64),
        "rth": table.column("rth").to_numpy(zero_copy_only=False).astype(bool),
    }
    for c in QUOTE_VALUE_COLUMNS:
        cols[c] = table.column(c).to_numpy(zero_copy_only=False).astype(np.float64)
    return cols


def _columns_to_table(cols: dict[str, np.ndarray]) -> pa.Table:
    arrays = [
        pa.array(cols["symbol"], type=pa.string()),
        pa.array(cols["timestamp"].view("datetime64[ns]"), type=QUOTE_SCHEMA.field("timestamp").type),
        *(pa.array(cols[c], type=pa.float64()) for c in QUOTE_VALUE_COLUMNS),
        pa.array(cols["rth"], type=pa.bool_()),
    ]
    return pa.Table.from_arrays(arrays, schema=QUOTE_SCHEMA)


def write_quotes(store: BarStore, frame: pd.DataFrame, interval: str = "1m") -> WriteResult:
    """Add quote bars (columns symbol, timestamp as int ns UTC or tz-aware, the ten QUOTE_FIELDS, rth);
    only the date files holding new rows are written, each atomically, under the store's write lock.
    The caller (the importer) has validated the rows."""
    name = parse_interval(interval).name
    if name == DAILY_INTERVAL:
        raise DataError("quote bars are intraday (e.g. --interval 1m), not daily")
    missing = [c for c in ("symbol", "timestamp", *QUOTE_VALUE_COLUMNS, "rth") if c not in frame.columns]
    if missing:
        raise DataError(f"quotes written to {store.root} lack {named('column', missing)}")
    ts = frame["timestamp"]
    if isinstance(ts.dtype, pd.DatetimeTZDtype):
        ts_ns = ts.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").view(np.int64)
    else:
        ts_ns = ts.to_numpy(dtype=np.int64)
    cols: dict[str, np.ndarray] = {"symbol": frame["symbol"].astype(str).to_numpy(dtype=object), "timestamp": ts_ns,
                                   "rth": frame["rth"].to_numpy(dtype=bool)}
    for c in QUOTE_VALUE_COLUMNS:
        cols[c] = frame[c].to_numpy(dtype=np.float64)
    n = len(ts_ns)
    status = np.zeros(n, dtype=np.int8)
    if n == 0:
        return WriteResult(0, 0, 0, [], [], status)
    with store.writing():
        days = store.time_manager.local_dates(ts_ns)
        plans = []
        for day in np.unique(days):
            rows = np.flatnonzero(days == day)
            path = quote_file(store, name, day.astype(object))
            existing = _table_columns(_read_quote_file(path)) if path.is_file() else None
            plans.append((path, rows, existing))
        touched: list[str] = []
        created: list[str] = []
        for path, rows, existing in plans:
            part = {c: v[rows] for c, v in cols.items()}
            n_old = 0 if existing is None else len(existing["timestamp"])
            combined = part if existing is None else {c: np.concatenate([existing[c], part[c]]) for c in part}
            values = {c: combined[c] for c in QUOTE_VALUE_COLUMNS}
            st, _, order = _classify_sorted(combined["symbol"], combined["timestamp"], values)
            status[rows] = st[n_old:]
            if not (st[n_old:] == ROW_NEW).any():
                continue
            keep = order[st[order] == ROW_NEW]
            merged = {c: v[keep] for c, v in combined.items()}
            store._ensure_created()
            exists = path.is_file()
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                _atomic_write_table(_columns_to_table(merged), path, durable=exists)
            except OSError as exc:
                if not exists:
                    _remove_empty_folder(path.parent)
                raise StoreError(f"writing quote file {path} failed: {exc}; files written before it: "
                                 f"{', '.join(touched) or 'none'}; run the same import again") from None
            rel = str(path.relative_to(store.root))
            touched.append(rel)
            if not exists:
                created.append(rel)
    return WriteResult(int((status == ROW_NEW).sum()), int((status == ROW_DUPLICATE).sum()),
                       int((status == ROW_CONFLICT).sum()), touched, created, status)


def read_quote_session_arrays(store: BarStore, day: dt.date | str, symbols: list[str], interval: str = "1m",
                              rth_only: bool = True) -> QuoteSessionArrays:
    """One exchange-local date of quote bars of `symbols` (indexes into that list), sorted by
    (timestamp, symbol_index); empty arrays when the date has no quote file."""
    if not isinstance(store, BarStore):   # e.g. a sweep worker's MemoryBarStore: no quote bars shipped
        raise StoreError("quote bars are read from a bar store folder; this run's bars come from memory (a sweep "
                         "cell), which holds no quote bars: run with streams.quotes false and fill_prices 'trades'")
    path = quote_file(store, interval, day)
    if not path.is_file() or not symbols:
        return empty_quote_arrays()
    table = _read_quote_file(path, dictionary_symbols=True)
    lookup = {s: i for i, s in enumerate(symbols)}
    parts = []
    for chunk in table.column("symbol").chunks:      # map each chunk's dictionary, not every row
        mapping = np.array([lookup.get(v, -1) for v in chunk.dictionary.to_pylist()], dtype=np.int32)
        parts.append(mapping[chunk.indices.to_numpy(zero_copy_only=False)] if len(mapping)
                     else np.empty(0, dtype=np.int32))
    sym_idx = np.concatenate(parts) if parts else np.empty(0, dtype=np.int32)
    keep = sym_idx >= 0
    if rth_only:
        keep &= table.column("rth").to_numpy(zero_copy_only=False)
    sel = np.flatnonzero(keep)
    ts = table.column("timestamp").to_numpy().view(np.int64)[sel]
    sym_idx = sym_idx[sel]
    order = np.lexsort((sym_idx, ts))
    take = sel[order]
    values = np.empty((len(take), len(QUOTE_FIELDS)), dtype=np.float64)
    for k, c in enumerate(QUOTE_FIELDS):
        values[:, k] = table.column(c).to_numpy()[take]
    return QuoteSessionArrays(sym_idx[order], ts[order], values)


def read_quotes(store: BarStore, symbols: list[str] | None, start_ns: int, end_ns: int,
                interval: str = "1m") -> pd.DataFrame:
    """Quote bars of `symbols` (None = all) with start in [start_ns, end_ns), sorted by (timestamp, symbol)."""
    name = parse_interval(interval).name
    if end_ns <= start_ns:
        return QUOTE_SCHEMA.empty_table().to_pandas()
    first, last = store.time_manager.local_dates(np.array([start_ns, end_ns - 1], dtype=np.int64))
    days = [d for d in quote_dates(store, name) if first.astype(object) <= d <= last.astype(object)]
    ts_type = QUOTE_SCHEMA.field("timestamp").type
    expr = (pc.field("timestamp") >= pa.scalar(int(start_ns), ts_type)) & (
        pc.field("timestamp") < pa.scalar(int(end_ns), ts_type))
    if symbols is not None:
        expr = expr & pc.field("symbol").isin(pa.array(list(symbols), pa.string()))
    tables = [_read_quote_file(quote_file(store, name, d)).filter(expr) for d in days]
    table = pa.concat_tables(tables) if tables else QUOTE_SCHEMA.empty_table()
    if table.num_rows:
        table = table.sort_by([("timestamp", "ascending"), ("symbol", "ascending")])
    return table.to_pandas().reset_index(drop=True)
