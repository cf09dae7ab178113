"""BarStore: the Parquet folder of bars (layout and columns in workstation/store/schema.py).

All times are int nanoseconds UTC and ranges are half-open [start, end). Intraday bars live in one
file per exchange-local date (all symbols), daily bars in one file per year. Writes merge into the
affected partition files only, each replaced atomically (a crash leaves every file either as it was
or fully written; running the same import again completes it). Every existing file a write needs is
read and checked before the first byte is written, so a damaged store file stops a write before it
starts. Writers of one store exclude each other (StoreWriteLock, `<root>/.write.lock`) for the whole
read-merge-write, so two imports at once never lose each other's bars; readers take no lock.

Files are written with Parquet page checksums and read with checksum verification, so a damaged
page is reported (StoreError naming the file) instead of read as wrong prices. A file that is not a
bar file (missing columns, a column of the wrong type) is reported with the file and the column.
A write that fails part-way (disk full, read-only) raises StoreWriteError saying which files were
written and which were not.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pyarrow as pa

from workstation.atomic_files import os_error_text, write_bytes_atomic, write_parquet_atomic
from workstation.calendar import TimeManager, as_date
from workstation.errors import DataError, StoreError, counted, named
from workstation.model import parse_interval, shown_symbol, symbol_problem
from workstation.store import migrate
from workstation.store.lock import DEFAULT_LOCK_TIMEOUT_S, LOCK_FILE, StoreWriteLock
from workstation.store.schema import (
    BAR_COLUMNS,
    BAR_SCHEMA,
    BARS_DIR,
    DAILY_INTERVAL,
    FORMAT_VERSION,
    LAYOUT,
    PART_FILE,
    PARTITION_KEY,
    PRICE_COLUMNS,
    QUARANTINE_DIR,
    STORE_FILE,
    partition_dir,
)

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

ROW_NEW = 0
ROW_DUPLICATE = 1
ROW_CONFLICT = 2

_FLOAT_COLUMNS = ("open", "high", "low", "close", "volume", "vwap")
_COMPARE_COLUMNS = ("open", "high", "low", "close", "volume", "trade_count", "vwap")
_MERGE_ROWS_HELD = 5_000_000
_SESSION_COLUMNS = ["symbol", "timestamp", "open", "high", "low", "close", "volume", "rth"]
_DAILY_COLUMNS = ["symbol", "timestamp", "open", "high", "low", "close", "volume"]


class StoreWriteError(StoreError):
    """A write stopped part-way (disk full, read-only, permission); says what was and was not written.

    `written` are the store-relative files completed before the failure (each whole), `rows_written`
    the new bars in them, `failed` the file whose write failed, `not_written` the files not reached.
    """

    def __init__(self, message: str, written: list[str], rows_written: int, failed: str, not_written: list[str],
                 cause: OSError):
        super().__init__(message)
        self.written = written
        self.rows_written = rows_written
        self.failed = failed
        self.not_written = not_written
        self.cause = cause


@dataclass(frozen=True)
class WriteResult:
    """What one write_bars call did; `status` gives each input row's fate (ROW_NEW/DUPLICATE/CONFLICT)."""

    rows_new: int
    duplicates_skipped: int
    conflicts: int
    files_touched: list[str]
    files_created: list[str]
    status: np.ndarray = field(repr=False)


@dataclass
class RemoveResult:
    """What one remove_bars call found and (unless a dry run) removed."""

    interval: str
    removed: dict[str, int]                  # bars per symbol
    files_rewritten: list[str]               # store-relative files that kept other bars
    files_deleted: list[str]                 # files that held nothing else
    applied: bool                            # False: a dry run, nothing was changed
    kind: str = "bars"                       # "bars" (trade bars) or "quotes" (quote bars)

    @property
    def rows(self) -> int:
        return sum(self.removed.values())


class SessionArrays(NamedTuple):
    """One session's bars as numpy arrays, sorted by (timestamp, symbol_index).

    `symbol_index` indexes the `symbols` list the caller passed; `timestamp` is the bar start, int ns UTC.
    """

    symbol_index: np.ndarray
    timestamp: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @property
    def rows(self) -> int:
        return int(self.timestamp.shape[0])


def _empty_session_arrays() -> SessionArrays:
    f = np.empty(0, dtype=np.float64)
    return SessionArrays(
        np.empty(0, dtype=np.int32), np.empty(0, dtype=np.int64), f, f.copy(), f.copy(), f.copy(), f.copy()
    )


class DailyArrays(NamedTuple):
    """Daily bars as numpy arrays, sorted by (timestamp, symbol) as `read_daily` sorts its frame.

    `symbol_index` indexes the `symbols` list the caller passed; `date` is each bar's exchange-local
    date (datetime64[D]); `timestamp` its start, int ns UTC.
    """

    symbol_index: np.ndarray
    date: np.ndarray
    timestamp: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @property
    def rows(self) -> int:
        return int(self.timestamp.shape[0])

    def take(self, rows: np.ndarray) -> DailyArrays:
        return DailyArrays(*(column[rows] for column in self))


class _LocalParquet:
    """A local Parquet file read as pyarrow.parquet.ParquetFile reads it (`schema_arrow`,
    `read(columns)`), through the reader it wraps (pyarrow._parquet.ParquetReader, on the path
    itself): importing pyarrow.parquet also loads pyarrow's filesystems (S3, GCS, Azure, HDFS and
    ssl), ~10 ms of a run's start-up that a local store never uses. Where that reader is not
    available (another pyarrow), ParquetFile itself."""

    def __init__(self, path: Path, read_dictionary: Sequence[str] | None = None,
                 page_checksum_verification: bool = False):
        try:
            from pyarrow._parquet import ParquetReader
        except ImportError:
            import pyarrow.parquet as pq

            self._file = pq.ParquetFile(path, read_dictionary=read_dictionary,
                                        page_checksum_verification=page_checksum_verification)
            self._reader = None
            return
        self._file = None
        self._reader = ParquetReader()
        self._reader.open(str(path), read_dictionary=read_dictionary,
                          page_checksum_verification=page_checksum_verification)

    @property
    def schema_arrow(self) -> pa.Schema:
        return self._reader.schema_arrow if self._reader is not None else self._file.schema_arrow

    def read(self, columns: Sequence[str] | None = None) -> pa.Table:
        if self._reader is None:
            return self._file.read(columns=columns)
        indices = None if columns is None else [self._reader.column_name_idx(c) for c in columns]
        return self._reader.read_all(column_indices=indices, use_threads=True)


def read_local_parquet(path: Path, columns: Sequence[str] | None = None) -> pa.Table:
    """A local Parquet file's table (only `columns` when given), read as pyarrow.parquet.ParquetFile(path)
    .read(columns) reads it, without importing pyarrow.parquet (see _LocalParquet)."""
    return _LocalParquet(path).read(columns)


def column_numpy(column: pa.ChunkedArray | pa.Array, dtype: type) -> np.ndarray:
    """A column of fixed-width values (float64, int32/int64, timestamps as int64 ns, booleans) as a
    numpy array of `dtype`, read from its Arrow buffers. pyarrow's own to_numpy imports pandas (to
    check for pandas types), which the path to a run's first bar must not; a chunk holding nulls
    still goes through it."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    parts: list[np.ndarray] = []
    for chunk in chunks:
        n, start = len(chunk), chunk.offset
        if not n:
            continue
        if chunk.null_count:
            parts.append(np.asarray(chunk.to_numpy(zero_copy_only=False)).astype(dtype, copy=False))
        elif pa.types.is_boolean(chunk.type):
            bits = np.unpackbits(np.frombuffer(chunk.buffers()[1], dtype=np.uint8), bitorder="little")
            parts.append(bits[start:start + n].astype(np.bool_))
        else:
            parts.append(np.frombuffer(chunk.buffers()[1], dtype=dtype)[start:start + n])
    if not parts:
        return np.empty(0, dtype=dtype)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _symbol_codes_of(column: pa.ChunkedArray, symbols: Sequence[str]) -> np.ndarray:
    """Each row's index in `symbols` (-1: another symbol) of a dictionary-encoded symbol column."""
    lookup = {s: i for i, s in enumerate(symbols)}
    parts = []
    for chunk in column.chunks:
        mapping = np.array([lookup.get(v, -1) for v in chunk.dictionary.to_pylist()], dtype=np.int32)
        parts.append(
            mapping[column_numpy(chunk.indices, np.int32)] if len(mapping) else np.empty(0, dtype=np.int32)
        )
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int32)


class BarStore:
    """A folder of Parquet bar files; see schema.py for the layout.

    Writes hold the store's write lock (other processes and other BarStore objects wait up to
    `lock_timeout` seconds, then StoreLockedError); one BarStore object is not meant to be written
    from two threads at once.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        create: bool = False,
        exchange: str = "XNYS",
        time_manager: TimeManager | None = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT_S,
        on_lock_wait: Callable[[str], None] | None = None,
    ):
        self.root = Path(root)
        self._write_lock = StoreWriteLock(self.root, lock_timeout, on_lock_wait)
        self._pending_create = False
        meta_path = self.root / STORE_FILE
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(
                f"{self.root} is a file, not a bar store folder: give --store a folder "
                "(it is created if missing)"
            )
        if meta_path.is_file():
            migrate.ensure_current(self.root)  # older layouts move to the current one, atomically
            meta = self._load_meta(meta_path)
            self.exchange = str(meta.get("exchange", exchange))
            self.tz = str(meta.get("tz", "")) or None
        else:
            if not create:
                # a relative path is read from the working directory, not from the config's folder: say
                # which, for a window or a command started somewhere else than the user thinks
                where = "" if self.root.is_absolute() else f", a path relative to the working directory {Path.cwd()}"
                raise StoreError(
                    f"no bar store at {self.root} (no {STORE_FILE} there{where}): create one with "
                    f"`workstation demo-data --store {self.root}` or "
                    f"`workstation import FILE... --store {self.root}`"
                )
            others = self.root.is_dir() and any(p.name != LOCK_FILE for p in self.root.iterdir())
            if others and not (self.root / BARS_DIR).is_dir():
                raise StoreError(
                    f"{self.root} already holds other files and is not a bar store: "
                    "pick a new or empty folder for the store"
                )
            self.exchange = exchange
            self.tz = time_manager.tz if time_manager is not None else None
            self._pending_create = True
        if time_manager is not None and time_manager.exchange != self.exchange:
            raise StoreError(
                f"bar store {self.root} is for exchange {self.exchange}, "
                f"but a {time_manager.exchange} calendar was given"
            )
        self._time_manager = time_manager

    @staticmethod
    def exchange_of(root: str | os.PathLike) -> str | None:
        """The exchange of the store at `root` as its description says (read only, no migration);
        None when there is no store there or its description cannot be read."""
        try:
            meta = json.loads((Path(root) / STORE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return str(meta.get("exchange", "XNYS")) if isinstance(meta, dict) else None

    @classmethod
    def for_import(cls, root: str | os.PathLike, exchange: str | None = None,
                   lock_timeout: float = DEFAULT_LOCK_TIMEOUT_S,
                   on_lock_wait: Callable[[str], None] | None = None) -> BarStore:
        """The store an import writes into: the one at `root`, or a new one there on the calendar of
        `exchange` (default XNYS; a pandas-market-calendars name: an unknown one fails in the import's
        first calendar question, before anything is written). StoreError when `root` holds a store of
        another exchange: a store keeps one exchange's sessions, so another exchange's bars go into a
        store of their own."""
        store = cls(root, create=True, exchange=exchange or "XNYS", lock_timeout=lock_timeout,
                    on_lock_wait=on_lock_wait)
        if store.exists and exchange is not None and exchange != store.exchange:
            raise StoreError(
                f"the bar store {store.root} holds {store.exchange} bars, not {exchange}: a store keeps one "
                f"exchange's calendar, so import {exchange} bars into a store folder of their own")
        return store

    # ------------------------------------------------------------------ metadata
    @staticmethod
    def _load_meta(path: Path) -> dict:
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(f"cannot read {path}: {exc}; the store was not changed") from exc
        if not isinstance(meta, dict):
            raise StoreError(f"{path} is not a bar store description (expected a JSON object)")
        version = meta.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise StoreError(
                f"{path} has format_version {version!r}; this program reads bar stores up to "
                f"version {FORMAT_VERSION}"
            )
        return meta

    @property
    def time_manager(self) -> TimeManager:
        """The exchange calendar of this store (created on first use)."""
        if self._time_manager is None:
            self._time_manager = TimeManager(self.exchange, self.tz)
            self.tz = self._time_manager.tz
        return self._time_manager

    @property
    def exists(self) -> bool:
        return (self.root / STORE_FILE).is_file()

    def writing(self) -> StoreWriteLock:
        """The store's write lock as a context manager (re-entrant); every write method takes it."""
        return self._write_lock

    def _ensure_created(self) -> None:
        """Write store.json when this object is creating the store (call with the write lock held)."""
        if not self._pending_create and self.exists:
            return
        if self.exists:  # another writer created it since this object was made
            meta = self._load_meta(self.root / STORE_FILE)
            if str(meta.get("exchange", self.exchange)) != self.exchange:
                raise StoreError(
                    f"bar store {self.root} was just created by another writer for exchange "
                    f"{meta.get('exchange')}, not {self.exchange}; nothing was written"
                )
            self._pending_create = False
            return
        tz = self.time_manager.tz
        self.root.mkdir(parents=True, exist_ok=True)
        meta = {
            "format_version": FORMAT_VERSION,
            "exchange": self.exchange,
            "tz": tz,
            "layout": LAYOUT,
        }
        try:
            write_bytes_atomic(self.root / STORE_FILE, (json.dumps(meta, indent=2) + "\n").encode(), durable=True)
        except OSError as exc:
            raise StoreError(f"cannot create the bar store {self.root}: {os_error_text(exc)}; nothing was written"
                             ) from None
        self._pending_create = False
        log.info("created bar store %s (%s, %s)", self.root, self.exchange, tz)

    # ------------------------------------------------------------------ paths / listing
    def _interval_dir(self, interval: str) -> Path:
        return self.root / BARS_DIR / f"interval={interval}"

    def _partition_file(self, interval: str, key: str) -> Path:
        return self.root / partition_dir(interval, key) / PART_FILE

    def _partition_keys(self, interval: str) -> list[str]:
        base = self._interval_dir(interval)
        if not base.is_dir():
            return []
        prefix = f"{PARTITION_KEY}="
        keys = []
        for child in base.iterdir():
            name = child.name
            if name.startswith(prefix) and (child / PART_FILE).is_file():
                keys.append(name[len(prefix) :])
        return sorted(keys)

    def intervals(self) -> list[str]:
        """Intervals that have at least one bar file, shortest first."""
        base = self.root / BARS_DIR
        if not base.is_dir():
            return []
        names = [
            c.name.split("=", 1)[1]
            for c in base.iterdir()
            if c.name.startswith("interval=") and self._partition_keys(c.name.split("=", 1)[1])
        ]
        return sorted(names, key=lambda n: parse_interval(n).seconds)

    def files(self, interval: str | None = None) -> list[Path]:
        """Every bar file (of one interval, or all), in key order."""
        names = [parse_interval(interval).name] if interval else self.intervals()
        return [self._partition_file(i, k) for i in names for k in self._partition_keys(i)]

    def quarantine_files(self) -> list[Path]:
        qdir = self.root / QUARANTINE_DIR
        return sorted(qdir.glob("*.parquet")) if qdir.is_dir() else []

    # ------------------------------------------------------------------ low-level read
    def _read_file(
        self,
        path: Path,
        columns: Sequence[str] | None = None,
        filters=None,
        read_dictionary: Sequence[str] | None = None,
    ) -> pa.Table:
        wanted = list(columns or BAR_COLUMNS)
        try:
            parquet = _LocalParquet(path, read_dictionary=read_dictionary, page_checksum_verification=True)
        except KeyError:  # a read_dictionary column is missing: say which, from the schema
            parquet = _LocalParquet(path)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise StoreError(
                f"bar store file {path} cannot be read: {_short(exc)}; it is truncated, damaged or not "
                f"Parquet. {_RESTORE}"
            ) from exc
        _check_schema(path, parquet.schema_arrow)
        try:
            table = parquet.read(columns=wanted if columns else None)
            if filters is not None:
                table = table.filter(filters)
        except (pa.ArrowException, OSError, ValueError, KeyError) as exc:
            raise StoreError(
                f"bar store file {path} is damaged: {_short(exc)} (reading its bars failed). {_RESTORE}"
            ) from exc
        return table

    # ------------------------------------------------------------------ write
    def write_bars(self, df: pd.DataFrame, interval: str) -> WriteResult:
        """Add bars; a bar whose (symbol, timestamp) is already stored is kept as stored.

        `df` needs symbol, timestamp (tz-aware datetimes or int ns UTC, bar start), open, high,
        low, close, volume; trade_count, vwap and rth are optional (rth is computed from the
        calendar when absent). Only the partition files holding the new rows are written.
        """
        name = parse_interval(interval).name
        cols = _frame_columns(df, self.root)
        n = len(cols["timestamp"])
        status = np.zeros(n, dtype=np.int8)
        if n == 0:
            return WriteResult(0, 0, 0, [], [], status)
        with self._write_lock:
            return self._write_locked(cols, name, status)

    def _write_locked(self, cols: dict[str, np.ndarray], name: str, status: np.ndarray) -> WriteResult:
        n = len(status)
        tm = self.time_manager
        local = tm.local_dates(cols["timestamp"])
        if cols.get("rth") is None:
            if name == DAILY_INTERVAL:
                cols["rth"] = np.ones(n, dtype=bool)
            else:
                opens, closes = tm.session_bounds(local)
                ts = cols["timestamp"]
                cols["rth"] = (opens >= 0) & (ts >= opens) & (ts < closes) & ~tm.break_mask(ts, local)
        if name == DAILY_INTERVAL:
            part_codes = local.astype("datetime64[Y]").astype(np.int64) + 1970
        else:
            part_codes = local.astype(np.int64)
        order = np.argsort(part_codes, kind="stable")
        uniq, starts = np.unique(part_codes[order], return_index=True)
        bounds = list(starts) + [n]
        # phase 1: read (and so check) every existing partition this write touches, before any write;
        # tables are kept for phase 2 up to a memory budget, beyond it they are read again there
        plans: list[tuple[Path, np.ndarray, dict | None, bool]] = []
        held = 0
        for i, code in enumerate(uniq):
            key = str(int(code)) if name == DAILY_INTERVAL else str(np.datetime64(int(code), "D"))
            rows = order[bounds[i] : bounds[i + 1]]
            path = self._partition_file(name, key)
            existing = None
            if path.is_file():
                table = self._read_file(path)
                if held + table.num_rows <= _MERGE_ROWS_HELD:
                    existing = _table_columns(table)
                    held += table.num_rows
            plans.append((path, rows, existing, path.is_file()))
        # phase 2: merge each partition in memory and write it if it gained rows
        touched: list[str] = []
        created: list[str] = []
        rows_written = 0
        for k, (path, rows, existing, exists) in enumerate(plans):
            if exists and existing is None:
                existing = _table_columns(self._read_file(path))
            part = {c: v[rows] for c, v in cols.items()}
            merged, part_status = _merge(existing, part)
            new_rows = int((part_status == ROW_NEW).sum())
            if not new_rows:
                status[rows] = part_status
                continue
            try:
                self._ensure_created()
                path.parent.mkdir(parents=True, exist_ok=True)
                _atomic_write_table(_columns_to_table(merged), path, durable=exists)
            except OSError as exc:
                if not exists:
                    _remove_empty_folder(path.parent)
                later = [str(p.relative_to(self.root)) for p, _, _, _ in plans[k + 1:]]
                rows_left = new_rows + sum(len(r) for _, r, _, _ in plans[k + 1:])
                raise self._write_failure(path, exc, touched, rows_written, later, rows_left) from None
            status[rows] = part_status
            rows_written += new_rows
            rel = str(path.relative_to(self.root))
            touched.append(rel)
            if not exists:
                created.append(rel)
        conflicts = int((status == ROW_CONFLICT).sum())
        if conflicts:
            log.warning(
                "%s: different from the bars already stored with the same symbol and timestamp; "
                "the stored bars were kept",
                counted(conflicts, "bar"),
            )
        return WriteResult(
            int((status == ROW_NEW).sum()),
            int((status == ROW_DUPLICATE).sum()),
            conflicts,
            touched,
            created,
            status,
        )

    def _write_failure(self, path: Path, exc: OSError, written: list[str], rows_written: int,
                       later: list[str], rows_left: int) -> StoreWriteError:
        rel = str(path.relative_to(self.root))
        done = (f"{counted(len(written), 'file')} with {counted(rows_written, 'new bar')} "
                f"{'was' if len(written) == 1 else 'were'} written completely before it "
                f"({_list_files(written)})" if written else "No bar file was written before it")
        message = (
            f"writing the bar store {self.root} failed at {rel}: {os_error_text(exc)}. {done}; "
            f"{rows_left:,} bars of this write in {counted(1 + len(later), 'file')} were not written "
            f"({_list_files([rel, *later])}). "
            "Every store file is either complete or as it was; free space (or make the store writable) and "
            "run the same command again: the bars already stored are skipped as duplicates"
        )
        return StoreWriteError(message, list(written), rows_written, rel, later, exc)

    def remove_bars(self, symbols: Sequence[str], interval: str, start: dt.date | str | None = None,
                    end: dt.date | str | None = None, apply: bool = True, kind: str = "bars") -> RemoveResult:
        """Remove the bars of `symbols` of one interval, on the exchange-local dates [start, end]
        (inclusive; None: from the first / to the last), e.g. after importing a file with the wrong
        --tz or symbol. `kind` "quotes": the quote bars (the store's quotes/ tree), not the trade bars.
        Under the store's write lock; every file concerned is read (and so checked) before the first is
        changed, then each is replaced atomically without those bars, or deleted when nothing else is
        in it. `apply` False: only count (a dry run). StoreWriteError, naming what was changed and what
        was not, when the disk refuses a file part-way."""
        name = parse_interval(interval).name
        wanted = {str(s).strip().upper() for s in symbols}
        first, last = (as_date(start) if start is not None else None), (as_date(end) if end is not None else None)
        if first is not None and last is not None and first > last:
            raise DataError(f"--start {first} is after --end {last}")
        if kind not in ("bars", "quotes"):
            raise DataError(f"unknown kind {kind!r}: use bars or quotes")
        file_of: Callable[[str], Path]
        read: Callable[[Path], pa.Table]
        if kind == "quotes":
            from workstation.store.quote_store import _read_quote_file, quote_dates, quote_file

            keys = [day.isoformat() for day in quote_dates(self, name)]
            file_of, read = (lambda key: quote_file(self, name, key)), (lambda path: _read_quote_file(path))
        else:
            keys = self._partition_keys(name)
            file_of, read = (lambda key: self._partition_file(name, key)), (lambda path: self._read_file(path))
        what = "quote bars" if kind == "quotes" else "bars"
        with self._write_lock:
            # the files' tables are kept for the second pass up to the write's memory budget, beyond it
            # they are read again there
            plans: list[tuple[Path, np.ndarray, pa.Table | None]] = []
            held = 0
            removed: dict[str, int] = {}
            for key in keys:
                if name == DAILY_INTERVAL:
                    if (first is not None and int(key) < first.year) or (last is not None and int(key) > last.year):
                        continue
                elif (first is not None and key < first.isoformat()) or (last is not None and key > last.isoformat()):
                    continue
                path = file_of(key)
                table = read(path)
                names = table.column("symbol").to_numpy(zero_copy_only=False).astype(object)
                drop = np.fromiter((n in wanted for n in names), dtype=bool, count=len(names))
                if name == DAILY_INTERVAL and drop.any() and (first is not None or last is not None):
                    days = self.time_manager.local_dates(table.column("timestamp").to_numpy().view(np.int64))
                    if first is not None:
                        drop &= days >= np.datetime64(first)
                    if last is not None:
                        drop &= days <= np.datetime64(last)
                if drop.any():
                    keep_table = held + table.num_rows <= _MERGE_ROWS_HELD
                    held += table.num_rows if keep_table else 0
                    plans.append((path, drop, table if keep_table else None))
                    for symbol, count in zip(*np.unique(names[drop].astype(str), return_counts=True), strict=True):
                        removed[str(symbol)] = removed.get(str(symbol), 0) + int(count)
            rewritten: list[str] = []
            deleted: list[str] = []
            if not apply:
                return RemoveResult(name, dict(sorted(removed.items())), [str(p.relative_to(self.root)) for p, d, _ in
                                    plans if not d.all()], [str(p.relative_to(self.root)) for p, d, _ in plans
                                                            if d.all()], False, kind)
            for k, (path, drop, table) in enumerate(plans):
                rel = str(path.relative_to(self.root))
                try:
                    if drop.all():
                        path.unlink()
                        _remove_empty_folder(path.parent)
                        deleted.append(rel)
                    else:
                        kept = (table if table is not None else read(path)).filter(pa.array(~drop))
                        _atomic_write_table(kept, path, durable=True)
                        rewritten.append(rel)
                except OSError as exc:
                    done = [*rewritten, *deleted]
                    later = [str(p.relative_to(self.root)) for p, _, _ in plans[k + 1:]]
                    message = (
                        f"removing {what} from the bar store {self.root} failed at {rel}: {os_error_text(exc)}. "
                        + (f"{counted(len(done), 'file')} {'was' if len(done) == 1 else 'were'} changed completely "
                           f"before it ({_list_files(done)})" if done else "No file was changed before it")
                        + (f"; {rel} and {counted(len(later), 'later file')} were not changed" if later else
                           f"; {rel} was not changed")
                        + f". Every store file is either as it was or without those {what}; run the same command "
                        "again to finish.")
                    raise StoreWriteError(message, done, 0, rel, later, exc) from None
        log.info("removed %s %s of %s (%s) from %s", sum(removed.values()), what, ", ".join(sorted(wanted)), name,
                 self.root)
        return RemoveResult(name, dict(sorted(removed.items())), rewritten, deleted, True, kind)

    def write_quarantine(self, rows: pd.DataFrame, source_name: str) -> Path:
        """Write refused rows to quarantine/<source_name>-<utc stamp>.parquet and return the path."""
        with self._write_lock:
            try:
                return self._write_quarantine_locked(rows, source_name)
            except OSError as exc:
                raise StoreError(
                    f"cannot write the quarantine file of {source_name} in {self.root / QUARANTINE_DIR}: "
                    f"{os_error_text(exc)}"
                ) from None

    def _write_quarantine_locked(self, rows: pd.DataFrame, source_name: str) -> Path:
        self._ensure_created()
        qdir = self.root / QUARANTINE_DIR
        qdir.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in source_name) or "import"
        path = qdir / f"{safe}-{stamp}.parquet"
        suffix = 1
        while path.exists():
            path = qdir / f"{safe}-{stamp}-{suffix}.parquet"
            suffix += 1
        table = pa.Table.from_pandas(rows.reset_index(drop=True), preserve_index=False)
        _atomic_write_table(table, path)
        return path

    # ------------------------------------------------------------------ read
    def _keys_in_range(self, interval: str, start_ns: int, end_ns: int) -> list[str]:
        if end_ns <= start_ns:
            return []
        tm = self.time_manager
        first, last = tm.local_dates(np.array([start_ns, end_ns - 1], dtype=np.int64))
        if interval == DAILY_INTERVAL:
            lo, hi = str(first.astype("datetime64[Y]")), str(last.astype("datetime64[Y]"))
        else:
            lo, hi = str(first), str(last)
        return [k for k in self._partition_keys(interval) if lo <= k <= hi]

    def read_bars(
        self, symbols: Sequence[str] | None, interval: str, start_ns: int, end_ns: int, rth_only: bool = False
    ) -> pd.DataFrame:
        """Bars of `symbols` (None = all) with start in [start_ns, end_ns), sorted by (timestamp, symbol)."""
        import pandas as pd
        import pyarrow.compute as pc  # (with the Expression filter: pyarrow.dataset, which imports pandas)

        name = parse_interval(interval).name
        keys = self._keys_in_range(name, int(start_ns), int(end_ns))
        if symbols is not None and len(symbols) == 0:
            keys = []
        ts_type = BAR_SCHEMA.field("timestamp").type
        expr = (pc.field("timestamp") >= pa.scalar(int(start_ns), ts_type)) & (
            pc.field("timestamp") < pa.scalar(int(end_ns), ts_type)
        )
        if symbols is not None:
            expr = expr & pc.field("symbol").isin(pa.array(list(symbols), pa.string()))
        if rth_only:
            expr = expr & pc.field("rth")
        tables = [
            self._read_file(self._partition_file(name, k), columns=BAR_COLUMNS, filters=expr) for k in keys
        ]
        tables = [t.select(list(BAR_COLUMNS)).cast(BAR_SCHEMA) for t in tables]
        table = pa.concat_tables(tables) if tables else BAR_SCHEMA.empty_table()
        if table.num_rows:
            table = table.sort_by([("timestamp", "ascending"), ("symbol", "ascending")])
        frame = table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
        return frame.reset_index(drop=True)

    def read_session_arrays(
        self, date: dt.date | str, interval: str, symbols: Sequence[str], rth_only: bool = True
    ) -> SessionArrays:
        """One exchange-local date of intraday bars as numpy arrays (the coordinator's fast path).

        Reads the date's single file once; rows of symbols not in `symbols` are dropped. Empty
        arrays when the date has no file.
        """
        name = parse_interval(interval).name
        if name == DAILY_INTERVAL:
            raise ValueError("read_session_arrays reads intraday bars; use read_daily for '1d'")
        key = as_date(date).isoformat()
        path = self._partition_file(name, key)
        if not path.is_file() or not symbols:
            return _empty_session_arrays()
        table = self._read_file(path, columns=_SESSION_COLUMNS, read_dictionary=["symbol"])
        sym_idx = _symbol_codes_of(table.column("symbol"), symbols)
        keep = sym_idx >= 0
        if rth_only:
            keep &= column_numpy(table.column("rth"), np.bool_)
        ts = column_numpy(table.column("timestamp"), np.int64)
        if not keep.all():
            sel = np.flatnonzero(keep)
            sym_idx, ts = sym_idx[sel], ts[sel]
        else:
            sel = None
        if len(ts) == 0:
            return _empty_session_arrays()
        span = int(ts.max() - ts.min()) + 1
        if span < (2**62) // max(len(symbols), 1):
            order = np.argsort((ts - ts.min()) * len(symbols) + sym_idx, kind="stable")
        else:
            order = np.lexsort((sym_idx, ts))
        take = order if sel is None else sel[order]

        def col(c: str) -> np.ndarray:
            return column_numpy(table.column(c), np.float64)[take]

        return SessionArrays(
            sym_idx[order].astype(np.int32, copy=False),
            ts[order],
            col("open"),
            col("high"),
            col("low"),
            col("close"),
            col("volume"),
        )

    def read_daily(
        self, symbols: Sequence[str] | None, start_date: dt.date | str, end_date: dt.date | str
    ) -> pd.DataFrame:
        """Daily bars of the exchange-local dates [start_date, end_date] (both inclusive).

        Adds a `date` column (datetime.date, exchange-local); sorted by (timestamp, symbol).
        """
        start_ns = self._local_midnight_ns(start_date)
        end_ns = self._local_midnight_ns(as_date(end_date) + dt.timedelta(days=1))
        import pandas as pd

        frame = self.read_bars(symbols, DAILY_INTERVAL, start_ns, end_ns)
        local = self.time_manager.local_dates(pd.DatetimeIndex(frame["timestamp"]).as_unit("ns").asi8)
        frame.insert(0, "date", pd.Series(local.astype(object), dtype=object))
        return frame

    def read_daily_arrays(self, symbols: Sequence[str], start_date: dt.date | str,
                          end_date: dt.date | str) -> DailyArrays:
        """`read_daily` as numpy arrays, without pandas (the run's daily history, read before its
        first bar): the daily bars of `symbols` of the exchange-local dates [start_date, end_date]."""
        start_ns = self._local_midnight_ns(start_date)
        end_ns = self._local_midnight_ns(as_date(end_date) + dt.timedelta(days=1))
        parts = self._daily_parts(symbols, start_ns, end_ns) if symbols and end_ns > start_ns else []
        if not parts:
            empty = np.empty(0)
            return DailyArrays(np.empty(0, dtype=np.int32), np.empty(0, dtype="datetime64[D]"),
                               np.empty(0, dtype=np.int64), empty, empty, empty, empty, empty)
        joined = DailyArrays(*(np.concatenate(columns) for columns in zip(*parts, strict=True)))
        # read_daily's order: by timestamp, then symbol name
        name_rank = np.argsort(np.argsort(np.asarray(symbols, dtype=str), kind="stable"), kind="stable")
        ordered = joined.take(np.lexsort((name_rank[joined.symbol_index], joined.timestamp)))
        return ordered._replace(date=self.time_manager.local_dates(ordered.timestamp))

    def _daily_parts(self, symbols: Sequence[str], start_ns: int, end_ns: int) -> list[DailyArrays]:
        """The daily bars of `symbols` starting in [start_ns, end_ns), one part per file read (dates
        not yet set)."""
        parts: list[DailyArrays] = []
        for key in self._keys_in_range(DAILY_INTERVAL, start_ns, end_ns):
            table = self._read_file(self._partition_file(DAILY_INTERVAL, key), columns=_DAILY_COLUMNS,
                                    read_dictionary=["symbol"])
            codes = _symbol_codes_of(table.column("symbol"), symbols)
            ts = column_numpy(table.column("timestamp"), np.int64)
            keep = np.flatnonzero((codes >= 0) & (ts >= start_ns) & (ts < end_ns))
            columns = [column_numpy(table.column(c), np.float64)[keep] for c in ("open", "high", "low", "close", "volume")]
            parts.append(DailyArrays(codes[keep], np.empty(len(keep), dtype="datetime64[D]"), ts[keep], *columns))
        return parts

    def _local_midnight_ns(self, day: dt.date | str) -> int:
        return self.time_manager.local_midnight_ns(as_date(day))

    # ------------------------------------------------------------------ corporate actions
    def corporate_actions(self) -> list:
        """The splits and dividends recorded in this store (workstation.store.corporate_actions)."""
        from workstation.store.corporate_actions import read_actions

        return read_actions(self.root)

    def price_adjustments(self):
        """The recorded actions resolved against the raw bars, for `prices: adjusted` reads."""
        from workstation.store.corporate_actions import store_adjustments

        return store_adjustments(self)

    # ------------------------------------------------------------------ catalogue
    def symbols(self, interval: str | None = None) -> list[str]:
        """Sorted symbols that have bars (of one interval, or any)."""
        found: set[str] = set()
        for path in self.files(interval):
            found |= self.file_symbols(path)
        return sorted(found)

    def missing_symbols(self, symbols: Sequence[str], interval: str) -> list[str]:
        """Those of `symbols` with no bar of `interval` in the store, in their order: files are read
        newest first until every symbol is found (one file when all trade every day), not all of them."""
        wanted = set(symbols)
        for path in reversed(self.files(interval)):
            wanted -= self.file_symbols(path)
            if not wanted:
                break
        return [s for s in symbols if s in wanted]

    def file_symbols(self, path: Path) -> set[str]:
        """Symbols stored in one bar file (one of `files()`)."""
        table = self._read_file(path, columns=["symbol"], read_dictionary=["symbol"])
        found: set[str] = set()
        for chunk in table.column("symbol").chunks:
            found.update(chunk.dictionary.to_pylist())
        return found

    def day_file(self, interval: str, day: dt.date) -> Path:
        """The file holding the intraday bars of `interval` of one exchange-local date (may not exist)."""
        return self._partition_file(parse_interval(interval).name, day.isoformat())

    def has_symbol(self, symbol: str, interval: str | None = None) -> bool:
        return symbol in self.symbols(interval)

    def dates(self, interval: str = "1m") -> list[dt.date]:
        """Exchange-local dates that have bars of `interval`."""
        name = parse_interval(interval).name
        if name != DAILY_INTERVAL:
            return [dt.date.fromisoformat(k) for k in self._partition_keys(name)]
        days: set[dt.date] = set()
        for path in self.files(name):
            ts = self._read_file(path, columns=["timestamp"]).column("timestamp").to_numpy().view(np.int64)
            days.update(np.unique(self.time_manager.local_dates(ts)).astype(object))
        return sorted(days)

    def coverage(self, interval: str = "1m") -> pd.DataFrame:
        """Per symbol: first_date, last_date, days (dates with bars), bars, rth_bars."""
        import pandas as pd

        name = parse_interval(interval).name
        day_frames, count_frames = [], []
        for path in self.files(name):
            table = self._read_file(path, columns=["symbol", "timestamp", "rth"], read_dictionary=["symbol"])
            col = table.column("symbol").combine_chunks()
            if isinstance(col, pa.ChunkedArray):
                col = col.chunk(0)
            codes = col.indices.to_numpy(zero_copy_only=False)
            names = np.asarray(col.dictionary.to_pylist(), dtype=object)
            rth = table.column("rth").to_numpy(zero_copy_only=False)
            local = self.time_manager.local_dates(table.column("timestamp").to_numpy().view(np.int64))
            pairs = pd.DataFrame({"code": codes, "day": local.astype(np.int64)}).drop_duplicates()
            day_frames.append(pd.DataFrame({"symbol": names[pairs["code"].to_numpy()], "day": pairs["day"]}))
            count_frames.append(
                pd.DataFrame(
                    {
                        "symbol": names,
                        "bars": np.bincount(codes, minlength=len(names)),
                        "rth_bars": np.bincount(codes, weights=rth, minlength=len(names)).astype(np.int64),
                    }
                )
            )
        columns = ["symbol", "first_date", "last_date", "days", "bars", "rth_bars"]
        if not day_frames:
            return pd.DataFrame(columns=columns)
        days = pd.concat(day_frames, ignore_index=True).drop_duplicates()
        spans = days.groupby("symbol")["day"].agg(["min", "max", "count"])
        counts = pd.concat(count_frames, ignore_index=True).groupby("symbol")[["bars", "rth_bars"]].sum()
        counts = counts[counts["bars"] > 0].join(spans).sort_index()
        return pd.DataFrame(
            {
                "symbol": counts.index.to_numpy(dtype=object),
                "first_date": counts["min"].to_numpy().astype("datetime64[D]").astype(object),
                "last_date": counts["max"].to_numpy().astype("datetime64[D]").astype(object),
                "days": counts["count"].to_numpy(dtype=np.int64),
                "bars": counts["bars"].to_numpy(dtype=np.int64),
                "rth_bars": counts["rth_bars"].to_numpy(dtype=np.int64),
            },
            columns=columns,
        )

    def check(self) -> list[str]:
        """Read every bar file (and quote-bar file) whole (every page, verifying its checksum) and return
        one line per damaged or foreign file; an empty list means every file reads cleanly."""
        problems = []
        for path in self.files():
            try:
                self._read_file(path)
            except StoreError as exc:
                problems.append(str(exc))
        from workstation.store.quote_store import check_quote_files

        return problems + check_quote_files(self)

    def size_bytes(self) -> int:
        """Total size of every file under the store root."""
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file()) if self.root.is_dir() else 0

    def describe(self) -> dict:
        """A JSON-ready summary: exchange, intervals with their date ranges, symbols, files, size."""
        intervals = {}
        for name in self.intervals():
            cov = self.coverage(name)
            days = self.dates(name)
            intervals[name] = {
                "files": len(self.files(name)),
                "dates": len(days),
                "first_date": days[0].isoformat() if days else None,
                "last_date": days[-1].isoformat() if days else None,
                "bars": int(cov["bars"].sum()) if len(cov) else 0,
                "rth_bars": int(cov["rth_bars"].sum()) if len(cov) else 0,
                "coverage": [
                    {
                        "symbol": r["symbol"],
                        "first_date": r["first_date"].isoformat(),
                        "last_date": r["last_date"].isoformat(),
                        "days": int(r["days"]),
                        "bars": int(r["bars"]),
                        "rth_bars": int(r["rth_bars"]),
                    }
                    for r in cov.to_dict("records")
                ],
            }
        from workstation.store.price_jumps import scan_price_jumps

        actions = self.corporate_actions()
        from workstation.store.quote_store import quote_dates

        quote_days = quote_dates(self)
        quotes = {"1m": {"files": len(quote_days), "dates": len(quote_days),
                         "first_date": quote_days[0].isoformat(), "last_date": quote_days[-1].isoformat()}
                  } if quote_days else {}
        return {
            "root": str(self.root),
            "exchange": self.exchange,
            "tz": self.time_manager.tz,
            "format_version": FORMAT_VERSION,
            "symbols": self.symbols(),
            "intervals": intervals,
            "file_count": len(self.files()),
            "quarantine_files": len(self.quarantine_files()),
            "size_bytes": self.size_bytes(),
            "quotes": quotes,
            "corporate_actions": [a.to_json() for a in actions],
            "warnings": [j.to_dict() for j in scan_price_jumps(self)],
        }


# ---------------------------------------------------------------------- helpers
def _timestamp_ns(values, root: Path) -> np.ndarray:
    import pandas as pd

    series = pd.Series(values)
    if pd.api.types.is_integer_dtype(series.dtype):
        return series.to_numpy(dtype=np.int64)
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        utc = series.dt.tz_convert("UTC").dt.tz_localize(None)
        return utc.to_numpy(dtype="datetime64[ns]").view(np.int64)
    raise DataError(
        f"bars written to {root} need tz-aware timestamps or int ns UTC; got dtype {series.dtype}"
    )


_RESTORE = "Nothing else was changed: restore that file, or delete it and re-import its bars"


def _short(exc: BaseException, limit: int = 300) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= limit else text[:limit] + "..."


def _remove_empty_folder(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def _list_files(files: list[str], limit: int = 4) -> str:
    shown = ", ".join(files[:limit])
    return shown + (f" and {len(files) - limit} more" if len(files) > limit else "")


def _type_ok(column: str, arrow_type: pa.DataType) -> bool:
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if column == "symbol":
        return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
    if column == "timestamp":
        return pa.types.is_timestamp(arrow_type) and arrow_type.tz is not None
    if column == "rth":
        return pa.types.is_boolean(arrow_type)
    if column == "trade_count":
        return pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type)
    return pa.types.is_floating(arrow_type) or pa.types.is_integer(arrow_type)


def _check_schema(path: Path, schema: pa.Schema, columns: Sequence[str] = BAR_COLUMNS) -> None:
    """StoreError naming the file and the column when it is not a bar file (see schema.py); every
    column is checked (from the footer, no data read), whichever columns the caller reads."""
    missing = [c for c in columns if schema.get_field_index(c) < 0]
    if missing:
        found = ", ".join(schema.names[:12]) + (" ..." if len(schema.names) > 12 else "")
        raise StoreError(
            f"bar store file {path} is not a bar file: it lacks {named('column', missing)} "
            f"(its columns: {found}). {_RESTORE}"
        )
    wrong = [f"{c} is {schema.field(c).type}, expected {BAR_SCHEMA.field(c).type}"
             for c in columns if not _type_ok(c, schema.field(c).type)]
    if wrong:
        raise StoreError(f"bar store file {path} has {counted(len(wrong), 'column')} of the wrong type: {'; '.join(wrong)}. {_RESTORE}")


def _frame_columns(df: pd.DataFrame, root: Path) -> dict[str, np.ndarray]:
    """Canonical column arrays from a caller's DataFrame (trade_count as float64, NaN = missing;
    no "rth" entry when the frame has no rth column)."""
    import pandas as pd

    missing = [c for c in ("symbol", "timestamp", *PRICE_COLUMNS, "volume") if c not in df.columns]
    if missing:
        raise DataError(f"bars written to {root} lack {named('column', missing)}")
    n = len(df)
    symbols = df["symbol"].astype(str).to_numpy(dtype=object)
    bad = [s for s in pd.unique(symbols) if symbol_problem(s)]
    if bad:
        raise DataError(
            f"bars written to {root} have invalid {named('symbol', [shown_symbol(s) for s in bad[:5]], len(bad))}: "
            f"{symbol_problem(bad[0])}"
        )
    cols: dict[str, np.ndarray] = {
        "symbol": symbols,
        "timestamp": _timestamp_ns(df["timestamp"], root),
    }
    for c in (*PRICE_COLUMNS, "volume", "vwap", "trade_count"):
        if c in df.columns:
            cols[c] = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            cols[c] = np.full(n, np.nan)
    bad_cols = [c for c in (*PRICE_COLUMNS, "volume") if not np.isfinite(cols[c]).all()]
    if bad_cols:
        raise DataError(f"bars written to {root} have missing or infinite values in {', '.join(bad_cols)}")
    if "rth" in df.columns:
        cols["rth"] = df["rth"].to_numpy(dtype=bool)
    return cols


def _table_columns(table: pa.Table) -> dict[str, np.ndarray]:
    cols: dict[str, np.ndarray] = {
        "symbol": table.column("symbol").to_numpy(zero_copy_only=False).astype(object),
        "timestamp": table.column("timestamp").to_numpy().view(np.int64),
        "rth": table.column("rth").to_numpy(zero_copy_only=False).astype(bool),
    }
    for c in _FLOAT_COLUMNS:
        cols[c] = table.column(c).to_numpy(zero_copy_only=False).astype(np.float64)
    tc = table.column("trade_count").cast(pa.float64())
    cols["trade_count"] = tc.to_numpy(zero_copy_only=False).astype(np.float64)
    return cols


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a == b) | (np.isnan(a) & np.isnan(b))


def _classify_sorted(
    symbols: np.ndarray, timestamps: np.ndarray, values: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(status, first, order): see classify_duplicates; `order` sorts rows by (symbol, timestamp, position)."""
    import pandas as pd

    n = len(timestamps)
    codes, _ = pd.factorize(symbols, sort=True)
    order = np.lexsort((np.arange(n), timestamps, codes))
    s_codes, s_ts = codes[order], timestamps[order]
    same_key = np.zeros(n, dtype=bool)
    same_key[1:] = (s_codes[1:] == s_codes[:-1]) & (s_ts[1:] == s_ts[:-1])
    run_start = np.maximum.accumulate(np.where(same_key, 0, np.arange(n)))
    equal = np.ones(n, dtype=bool)
    if same_key.any():
        for c in _COMPARE_COLUMNS:
            if c in values:
                v = np.asarray(values[c], dtype=np.float64)[order]
                equal &= _same(v, v[run_start])
    status = np.empty(n, dtype=np.int8)
    status[order] = np.where(same_key, np.where(equal, ROW_DUPLICATE, ROW_CONFLICT), ROW_NEW)
    first = np.empty(n, dtype=np.int64)
    first[order] = order[run_start]
    return status, first, order


def classify_duplicates(
    symbols: np.ndarray, timestamps: np.ndarray, values: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Mark rows that repeat an earlier row's (symbol, timestamp).

    Returns (status, first): status is ROW_NEW for the first row of each key, ROW_DUPLICATE for a
    later row with the same values (NaN equals NaN), ROW_CONFLICT for a later row with other values;
    `first` is the position of the key's first row. Earlier = lower position.
    """
    if len(timestamps) == 0:
        return np.zeros(0, dtype=np.int8), np.zeros(0, dtype=np.int64)
    status, first, _ = _classify_sorted(symbols, timestamps, values)
    return status, first


def _merge(existing: dict | None, new: dict) -> tuple[dict, np.ndarray]:
    """Merge `new` into `existing` keeping the first bar per (symbol, timestamp); status per new row.

    The merged rows come out sorted by (symbol, timestamp).
    """
    n_old = 0 if existing is None else len(existing["timestamp"])
    combined = new if existing is None else {c: np.concatenate([existing[c], new[c]]) for c in new}
    status, _, order = _classify_sorted(combined["symbol"], combined["timestamp"], combined)
    keep = order[status[order] == ROW_NEW]
    merged = {c: v[keep] for c, v in combined.items()}
    return merged, status[n_old:]


def _columns_to_table(cols: dict) -> pa.Table:
    tc = cols["trade_count"]
    tc_null = np.isnan(tc)
    arrays = [
        pa.array(cols["symbol"], type=pa.string()),
        pa.array(cols["timestamp"].view("datetime64[ns]"), type=BAR_SCHEMA.field("timestamp").type),
        *(pa.array(cols[c], type=pa.float64()) for c in ("open", "high", "low", "close", "volume")),
        pa.array(np.where(tc_null, 0, tc).astype(np.int64), mask=tc_null, type=pa.int64()),
        pa.array(cols["vwap"], mask=np.isnan(cols["vwap"]), type=pa.float64()),
        pa.array(cols["rth"], type=pa.bool_()),
    ]
    return pa.Table.from_arrays(arrays, schema=BAR_SCHEMA)


def _atomic_write_table(table: pa.Table, path: Path, durable: bool = True) -> None:
    """Write a bar or quarantine file atomically, with page checksums.

    `durable` also fsyncs the file before the rename (used when an existing file is replaced, so
    even a power cut leaves either the old or the new file).
    """
    import pyarrow.parquet as pq

    sorting = None
    if table.schema.names[:2] == ["symbol", "timestamp"]:
        sorting = [pq.SortingColumn(0), pq.SortingColumn(1)]
    write_parquet_atomic(table, path, durable=durable, compression="snappy", sorting_columns=sorting,
                         write_page_checksum=True)
