"""Import vendor bar files (CSV, CSV.gz, Parquet) into the bar store, validating every row.

Accepted shapes: a time column named time / timestamp / datetime / date / ts / t (any case; or
separate date + time columns), open/high/low/close/volume (or o/h/l/c/v), optional trade_count
(trades, n) and vwap (vw), and an optional symbol (ticker) column. Time values may be epoch
seconds / ms / us / ns (told apart by magnitude), YYYYMMDD, or date-time strings, with or without a
UTC offset; offsets may change inside a file (DST). Bar timestamps are taken as bar STARTS.

Symbols: `symbol=` (CLI --symbol) declares the symbol of every row (it overrides a symbol column);
otherwise the file's symbol column; otherwise the ticker that starts the file name
("AAPL_Minute.csv.gz" -> AAPL, upper-case names only). The summary says which source was used.

Time zones: timestamps with an offset or "Z" keep their own offset; `tz=` (--tz) declares the zone
of timestamps WITHOUT one (an IANA zone or one shifted by hours, e.g. MetaTrader's server time
America/New_York+7: import_zones.py) and never overrides an explicit offset. When the bars read in that zone
fit another zone clearly better (regular-hours share, opening-bar volume; see zone_check.py), the
summary carries a warning saying so (the import still runs). A time column whose name says UTC
(Dukascopy's "Gmt time", `time_utc`, `timestamp_utc`, `datetime_utc`) is read as UTC without --tz.
A file whose timestamps are otherwise all
naive is refused as a whole (DataError, nothing imported) unless --tz is given; naive rows mixed
into a file of offset timestamps are quarantined ("naive timestamp without --tz"). Daily (1d)
imports read a naive value as the exchange-local date and need no --tz.

Every row is checked; a bad row goes to the quarantine file with its original fields (as text),
`reason`, `detail`, `import_symbol`, `source_file` and `source_line`. Reasons, first match wins:
missing symbol, invalid symbol (not a symbol a config could use: see workstation.model.symbol),
unparseable timestamp (also any time outside 1990 .. 2100, e.g. year 1 or 9999), naive timestamp
without --tz, nonexistent or ambiguous local time, missing value, value out of range (an infinite
value, a price above 1e9 or a volume above 1e15), non-positive price, high < low, open outside
[low, high], close outside [low, high], negative volume, negative trade_count, off-grid
timestamp, closed exchange date,
conflicting duplicate (same symbol and timestamp as an earlier row of the import, other values:
the first is kept), conflicts with stored bar (the store already holds another bar there: the
stored bar is kept). Exact duplicates are stored once and counted; out-of-order rows are put in
place and counted as reordered. Extended-hours bars are kept with rth=False and counted as pre- or
post-market, never as regular-session bars.

File-level problems (missing, empty, truncated or unreadable file, missing columns, all-naive
timestamps without --tz, no symbol, an invalid --symbol, bars spaced closer than the declared
--interval, e.g. a 1m file imported as 1h, or one bar a day imported as intraday bars) raise
DataError naming the file before anything is
written. The store's write lock is held while the bars and the quarantine file are written; a
write that fails part-way (disk full, read-only store) raises DataError saying what was stored.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import logging
import math
import re
import warnings
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from workstation.calendar import TimeManager, overnight_problem
from workstation.errors import DataError, WorkstationError, counted, named
from workstation.indicators.price_grid import MAX_DECIMALS, decimals_of
from workstation.model import is_valid_symbol, parse_interval, symbol_problem
from workstation.store.bar_store import (
    ROW_CONFLICT,
    ROW_DUPLICATE,
    ROW_NEW,
    BarStore,
    StoreWriteError,
    classify_duplicates,
)
from workstation.store.import_zones import localize as localize_zone
from workstation.store.import_zones import parse_zone
from workstation.store.schema import (
    DAILY_INTERVAL,
    MAX_PRICE,
    MAX_VOLUME,
    PRICE_COLUMNS,
    QUARANTINE_META_COLUMNS,
)
from workstation.store.zone_check import bar_end_warning, declared_zone_warning

log = logging.getLogger(__name__)

R_OK = ""
R_SYMBOL = "missing symbol"
R_TS = "unparseable timestamp"
R_NAIVE = "naive timestamp without --tz"
R_LOCAL = "nonexistent or ambiguous local time"
R_MISSING = "missing value"
R_NONPOS = "non-positive price"
R_HL = "high < low"
R_OPEN = "open outside [low, high]"
R_CLOSE = "close outside [low, high]"
R_NEGVOL = "negative volume"
R_NEGTC = "negative trade_count"
R_GRID = "off-grid timestamp"
R_CLOSED = "closed exchange date"
R_CONFLICT = "conflicting duplicate"
R_STORED = "conflicts with stored bar"
R_BAD_SYMBOL = "invalid symbol"
R_RANGE = "value out of range"
R_CROSSED = "crossed quote"
R_NEGSIZE = "negative size"
REASONS = (
    R_OK,
    R_SYMBOL,
    R_TS,
    R_NAIVE,
    R_LOCAL,
    R_MISSING,
    R_NONPOS,
    R_HL,
    R_OPEN,
    R_CLOSE,
    R_NEGVOL,
    R_NEGTC,
    R_GRID,
    R_CLOSED,
    R_CONFLICT,
    R_STORED,
    R_BAD_SYMBOL,
    R_RANGE,
    R_CROSSED,
    R_NEGSIZE,
)
_CODE = {r: i for i, r in enumerate(REASONS)}
QUARANTINE_EXAMPLES = 3    # the import report shows this many distinct details of each quarantine reason

_TIME_NAMES = (
    "timestamp",
    "time",
    "datetime",
    "date",
    "date_time",
    "datetime_utc",
    "timestamp_utc",
    "time_utc",
    "ts",
    "t",
    "bar_time",
    "begins_at",
    "gmt_time",         # Dukascopy's export: "Gmt time" 01.07.2021 13:30:00.000
    "local_time",       # ... or "Local time" 01.07.2021 16:30:00.000 GMT+0300
)
# time columns whose name says their zone: their naive values are UTC without --tz
_UTC_TIME_NAMES = ("datetime_utc", "timestamp_utc", "time_utc", "gmt_time")
_ALIASES = {
    "open": ("open", "o", "open_price"),
    "high": ("high", "h", "high_price"),
    "low": ("low", "l", "low_price"),
    "close": ("close", "c", "close_price"),
    "volume": ("volume", "v", "vol", "real_volume"),
    "trade_count": ("trade_count", "trades", "n", "num_trades", "number_of_trades", "transactions"),
    "vwap": ("vwap", "vw"),
    "symbol": ("symbol", "ticker", "sym"),
}
_TICK_VOLUME_NAMES = ("tickvol", "tick_volume", "tick_vol", "ticks")
_QUOTE_ALIASES: dict[str, tuple[str, ...]] = {
    f"{side}_{f}": (f"{side}_{f}", f"{f}_{side}", f"{side}{f}", f"{f}{side}", f"{side[0]}{f[0]}")
    for side in ("bid", "ask") for f in ("open", "high", "low", "close")
}
_QUOTE_ALIASES["bid_size"] = ("bid_size", "bidsize", "size_bid", "bid_volume", "bid_qty", "bs")
_QUOTE_ALIASES["ask_size"] = ("ask_size", "asksize", "size_ask", "ask_volume", "ask_qty", "as")
_QUOTE_ALIASES["symbol"] = _ALIASES["symbol"]
KINDS = ("bars", "quotes")
_OHLC = ("open", "high", "low", "close")
BAR_TIMES = ("start", "end")
_CSV_SUFFIXES = (".csv", ".csv.gz", ".txt", ".txt.gz", ".tsv", ".tsv.gz")
_PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
_TICKER = re.compile(r"^[A-Z][A-Z0-9.]{0,9}$")
_TRADINGVIEW_NAME = re.compile(r"^[A-Z][A-Z0-9]*_([A-Z][A-Z0-9.]{0,9}), \w+")
_OFFSET = r"(?:Z|UTC|[+-]\d\d:?\d\d)$"
_CLOCK = re.compile(r"^\d{1,2}:\d{2}(:\d{2}(\.\d*)?)?$")
_MIN_NS = int(pd.Timestamp("1990-01-01", tz="UTC").value)
_MAX_NS = int(pd.Timestamp("2100-12-31", tz="UTC").value)
_NS_LOW = np.datetime64("1678-01-01")
_NS_HIGH = np.datetime64("2262-01-01")
_EPOCH_UNITS = ((1e11, "s", 1_000_000_000), (1e14, "ms", 1_000_000), (1e17, "us", 1_000), (np.inf, "ns", 1))


@dataclass
class ImportSummary:
    """What an import did; `to_dict()` is the JSON the CLI prints with --json."""

    store_root: str
    interval: str
    rows_read: int
    rows_stored: int
    rows_quarantined: int
    quarantined_by_reason: dict[str, int]
    per_symbol: dict[str, dict]
    files: list[dict]
    duplicates_skipped: int
    reordered: int
    quarantine_file: str | None
    files_written: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)     # e.g. a --tz that does not fit the bars
    kind: str = "bars"                                     # "bars" (trade bars) or "quotes" (quote bars)
    # the bars a warning doubts, as `BarStore.remove_bars` takes them: one dict per doubted file with
    # "file", "kind" (bars or quotes), "symbols" (list), "interval", "start" and "end" (exchange-local
    # ISO dates, inclusive)
    removals: list[dict] = field(default_factory=list)
    exchange: str = "XNYS"                                 # the store's exchange calendar
    # reason -> the first distinct details of its rows (QUARANTINE_EXAMPLES at most), and how many
    # distinct details it has: "no session on 2024-03-03 (Sunday)"
    quarantine_examples: dict[str, list[str]] = field(default_factory=dict)
    quarantine_detail_counts: dict[str, int] = field(default_factory=dict)
    # reason -> where the first row of each of its examples is ("line 8", "XYZ.csv line 8" when several
    # files were imported; "line 8 and 129 more rows" when the detail has more): for fixing the file
    quarantine_example_rows: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The summary as JSON-able dict; "warnings" (a list of sentences) only when there are any."""
        out: dict = {"kind": "quotes"} if self.kind == "quotes" else {}   # bar imports: as before
        out |= {
            "exchange": self.exchange,
            "rows_read": self.rows_read,
            "rows_stored": self.rows_stored,
            "rows_quarantined": self.rows_quarantined,
            "quarantined_by_reason": dict(self.quarantined_by_reason),
            "quarantine_examples": {r: list(d) for r, d in self.quarantine_examples.items()},
            "quarantine_example_rows": {r: list(d) for r, d in self.quarantine_example_rows.items()},
            "per_symbol": {s: dict(v) for s, v in self.per_symbol.items()},
            "files": [dict(f) for f in self.files],
            "duplicates_skipped": self.duplicates_skipped,
            "reordered": self.reordered,
            "quarantine_file": self.quarantine_file,
        }
        if self.warnings:
            out["warnings"] = list(self.warnings)
        if self.removals:
            out["removals"] = [dict(r) for r in self.removals]
        return out

    def _examples_text(self, reason: str) -> str:
        """' (no session on 2024-03-03 (Sunday), ... 4 more)' for the report's reason lines."""
        examples = self.quarantine_examples.get(reason)
        if not examples:
            return ""
        where = self.quarantine_example_rows.get(reason) or [""] * len(examples)
        shown = [f"{example}: {at}" if at else example for example, at in zip(examples, where, strict=True)]
        more = self.quarantine_detail_counts.get(reason, len(examples)) - len(examples)
        return f" ({'; '.join(shown)}{f'; and {more:,} more' if more > 0 else ''})"

    def render(self) -> str:
        """A readable multi-line report."""
        what = " of quote bars" if self.kind == "quotes" else ""
        lines = [f"Imported {counted(len(self.files), 'file')}{what} into {self.store_root} (interval {self.interval})"]
        for f in self.files:
            lines.append(
                f"  {f['path']}: {f['rows_read']:,} rows, symbol {f['symbol']} "
                f"(from {f['symbol_source']}), timestamps {f['timestamps']}"
                + (f", {counted(f['blank_lines'], 'blank line')} skipped" if f.get("blank_lines") else "")
                + "".join(f"; {note}" for note in f.get("notes", ()))
            )
        lines.append(
            f"rows read {self.rows_read:,} | stored {self.rows_stored:,} | quarantined "
            f"{self.rows_quarantined:,} | duplicates skipped {self.duplicates_skipped:,} | "
            f"reordered {self.reordered:,}"
        )
        if self.quarantined_by_reason:
            lines.append("quarantined by reason:")
            lines += [f"  {reason}: {count:,}{self._examples_text(reason)}"
                      for reason, count in sorted(self.quarantined_by_reason.items())]
        if self.per_symbol:
            head = (
                f"  {'symbol':<8}{'read':>9}{'stored':>9}{'quarant.':>9}{'dups':>7}{'reord.':>7}"
                f"{'rth':>9}{'pre':>7}{'post':>7}{'days':>6}  first .. last (UTC)"
            )
            lines += [
                "per symbol (rth = regular-session bars; pre/post = extended hours, kept with rth=False):",
                head,
            ]
            for sym, s in sorted(self.per_symbol.items()):
                span = f"{s['first']} .. {s['last']}" if s["first"] else "-"
                lines.append(
                    f"  {sym:<8}{s['rows_read']:>9,}{s['rows_stored']:>9,}{s['rows_quarantined']:>9,}"
                    f"{s['duplicates']:>7,}{s['reordered']:>7,}{s['rth_bars']:>9,}"
                    f"{s['pre_market_bars']:>7,}{s['post_market_bars']:>7,}{s['sessions']:>6}  {span}"
                )
        lines.append(
            f"quarantine file: {self.quarantine_file}"
            if self.quarantine_file
            else "quarantine file: none (no row was refused)"
        )
        lines += [f"WARNING: {w}" for w in self.warnings]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


def _row_place(path: Path | str, line: int, rows: int, name_file: bool) -> str:
    """Where a quarantined detail's first row is: "line 8" ("XYZ.csv line 8" when `name_file`), and
    how many more rows have the same detail."""
    at = f"{Path(path).name} line {line}" if name_file else f"line {line}"
    return at + (f" and {rows - 1:,} more {'row' if rows == 2 else 'rows'}" if rows > 1 else "")


@dataclass(frozen=True)
class FrameSource:
    """Rows already in memory (e.g. downloaded bars), checked and imported exactly like a file's.

    `frame` has the columns a file would (any accepted names); `name` stands for the file name in
    the summary and in the quarantine file's `source_file`; `source_line` is the 1-based row.
    """

    name: str
    frame: pd.DataFrame


@dataclass
class _FileRows:
    """One source file after parsing and row checks (arrays aligned with the file's data rows)."""

    path: Path
    raw: pd.DataFrame
    lines: np.ndarray
    symbol: np.ndarray
    timestamp: np.ndarray
    values: dict[str, np.ndarray]
    reason: np.ndarray
    detail: np.ndarray
    rth: np.ndarray
    session_part: np.ndarray  # -1 pre-market, 0 regular session, 1 post-market
    local_day: np.ndarray
    reordered: np.ndarray
    info: dict
    csv_sep: str | None = None
    spacing_doubt: str | None = None    # _check_spacing: the bars look like a longer interval's


# ---------------------------------------------------------------------- reading files
def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(_PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(_CSV_SUFFIXES):
        return "csv"
    raise DataError(
        f"{path}: unsupported file type; import reads .csv, .csv.gz, .txt(.gz) and .parquet files"
    )


def _open(path: Path, mode: str, **text_options):
    """The file, gunzipped as it is read when its name ends in .gz."""
    return (gzip.open if path.name.lower().endswith(".gz") else open)(path, mode, **text_options)


def _text_encoding(path: Path) -> str:
    """A text file's encoding by its byte-order mark: UTF-16 (MetaTrader's scripts write it by
    default, as does Excel's "Unicode text"), UTF-8 with a BOM, else UTF-8."""
    with _open(path, "rb") as fh:
        start = fh.read(3)
    if start[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    return "utf-8-sig" if start == b"\xef\xbb\xbf" else "utf-8"


def _sniff_delimiter(path: Path, encoding: str) -> str:
    with _open(path, "rt", encoding=encoding, errors="replace") as fh:
        first = fh.readline()
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else ","


HEADERLESS_LAYOUTS = {
    6: ("time", "open", "high", "low", "close", "volume"),            # NinjaTrader: 20241125 093100;o;h;l;c;v
    7: ("date", "time", "open", "high", "low", "close", "volume"),    # MetaTrader 4: 2024.11.25,09:30,o,h,l,c,v
}
"""Column names of a CSV without a header row, by its number of columns (vendors' export shapes)."""


def _is_number(text: object) -> bool:
    try:
        float(str(text).strip())
    except ValueError:
        return False
    return True


def _headerless(path: Path, columns: pd.Index, sep: str) -> tuple[str, ...] | None:
    """The column names of a CSV whose first line is data, not a header (its "names" are mostly
    numbers: a vendor export without a header row); None when the first line is a header. DataError
    when it has no header and a shape HEADERLESS_LAYOUTS does not know."""
    names = [str(c) for c in columns]
    if sum(_is_number(c) for c in names) < 3:
        return None
    layout = HEADERLESS_LAYOUTS.get(len(names))
    if layout is None or (len(names) == 7 and not _CLOCK.match(names[1].strip())):
        shown = sep.join(names)
        raise DataError(
            f"{path} has no header row (its first line is data: {shown[:80]!r}) and {len(names)} columns; a file "
            "without a header is read as time, open, high, low, close, volume (6 columns, e.g. NinjaTrader's "
            "export) or date, clock time, open, high, low, close, volume (7, e.g. MetaTrader 4's); add a header "
            "line naming the columns; nothing was imported")
    return layout


def _read_csv(path: Path, sep: str, encoding: str, names: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The file's rows as text and numbers (empty cells NaN, nothing else taken for missing); `names`:
    the file has no header row, its columns are these."""
    return pd.read_csv(path, sep=sep, header=None if names is not None else "infer",
                       names=list(names) if names is not None else None, skip_blank_lines=False,
                       compression="infer", encoding=encoding, keep_default_na=False, na_values=[""])


def _read_source(path: Path) -> tuple[pd.DataFrame, np.ndarray, str, int, str | None, str | None]:
    """(rows as read, source line per row, kind, blank lines skipped, CSV delimiter, how a file
    without a header row was read or None); DataError for unusable files."""
    if not path.exists():
        raise DataError(f"{path} does not exist; nothing was imported")
    if path.is_dir():
        raise DataError(
            f"{path} is a folder; pass the files in it (e.g. {path}/*.csv.gz); nothing was imported"
        )
    kind = _kind(path)
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty (0 bytes); nothing was imported")
    blank = 0
    sep: str | None = None
    layout_note = None
    try:
        if kind == "csv":
            encoding = _text_encoding(path)
            sep = _sniff_delimiter(path, encoding)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                frame = _read_csv(path, sep, encoding)
                names = _headerless(path, frame.columns, sep)
                if names is not None:               # the first line was data: read it as a row
                    frame = _read_csv(path, sep, encoding, names)
                    layout_note = f"no header row: columns read as {', '.join(names)}"
            lines = np.arange(len(frame), dtype=np.int64) + (1 if names is not None else 2)
            empty = frame.isna().all(axis=1).to_numpy() if len(frame.columns) else np.zeros(len(frame), bool)
            if empty.any():
                blank = int(empty.sum())
                frame, lines = frame.loc[~empty].reset_index(drop=True), lines[~empty]
        else:
            frame = pq.ParquetFile(path).read().to_pandas()
            lines = np.arange(len(frame), dtype=np.int64) + 1
    except (EOFError, zlib.error) as exc:
        raise DataError(
            f"cannot read {path}: the compressed file is truncated or damaged ({exc}); nothing was imported"
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path} is empty (no header, no rows); nothing was imported") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"cannot read {path}: not UTF-8 or UTF-16 text ({exc}); nothing was imported") from exc
    except (pa.ArrowException, OSError, ValueError, pd.errors.ParserError) as exc:
        what = "Parquet" if kind == "parquet" else "CSV"
        raise DataError(f"cannot read {path} as {what}: {exc}; nothing was imported") from exc
    if len(frame) == 0:
        raise DataError(f"{path} has no data rows (columns {list(frame.columns)}); nothing was imported")
    return frame, lines, kind, blank, sep, layout_note


def _column_key(col: object) -> str:
    """A column's name as matched: lower case, `<OPEN>` as `open`, spaces and dashes as `_`."""
    return re.sub(r"[\s\-]+", "_", str(col).strip().strip("<>").strip().lower())


def _map_columns(frame: pd.DataFrame, path: Path, kind: str = "bars") -> tuple[dict[str, str], str | None]:
    """Map canonical names to the file's columns; the time column key is 'time' (DataError if missing).
    Names are matched in any letter case, MetaTrader's `<OPEN>` as `open`. A tick-volume column
    (MetaTrader's `<TICKVOL>`) is the volume when the file has no volume column, or one of only zeros
    (MetaTrader exports real volume as 0 where the broker has none, e.g. currencies)."""
    normal: dict[str, str] = {}
    for col in frame.columns:
        normal.setdefault(_column_key(col), col)
    mapping: dict[str, str] = {}
    for canon, names in (_QUOTE_ALIASES if kind == "quotes" else _ALIASES).items():
        for n in names:
            if n in normal:
                mapping[canon] = normal[n]
                break
    ticks = next((normal[n] for n in _TICK_VOLUME_NAMES if n in normal), None)
    if kind == "bars" and ticks is not None and (
            "volume" not in mapping or not np.nan_to_num(_numbers(frame[mapping["volume"]])).any()):
        mapping["volume"] = ticks
    time_col = next((normal[n] for n in _TIME_NAMES if n in normal), None)
    clock_col = None
    if "date" in normal and "time" in normal:
        sample = frame[normal["time"]].dropna()
        if len(sample) and _CLOCK.match(str(sample.iloc[0]).strip()):
            time_col, clock_col = normal["date"], normal["time"]
    sides = [f"{side}_{f}" for side in ("bid", "ask") for f in _OHLC]
    if kind == "quotes" and "spread" in normal and not any(c in mapping for c in sides):
        # MetaTrader's bars: bid prices and a <SPREAD> in points; the asks are made from them (_asks_from_spread)
        bars_mapping = {canon: normal[n] for canon in _OHLC for n in _ALIASES[canon] if n in normal}
        if len(bars_mapping) == len(_OHLC):
            mapping.update({f"bid_{f}": col for f, col in bars_mapping.items()}, spread=normal["spread"])
    made = {f"ask_{f}" for f in _OHLC} if "spread" in mapping else set()     # by _asks_from_spread
    missing = [c for c in _value_names(kind)[:-2 if kind == "quotes" else 5] if c not in mapping and c not in made]
    lacking = " and ".join((["a time column"] if time_col is None else []) + ([named("column", missing)] if missing
                                                                               else []))
    if kind == "quotes" and lacking:
        raise DataError(
            f"{path} lacks {lacking} of quote bars: found columns {[str(c) for c in frame.columns]}; expected a "
            "time column and bid_open, bid_high, bid_low, bid_close, ask_open, ask_high, ask_low, ask_close "
            "(bid_size, ask_size optional; any letter case), or MetaTrader's bid open, high, low, close and "
            "<SPREAD>; nothing was imported"
        )
    if lacking or time_col is None:
        raise DataError(
            f"{path} lacks {lacking}: found columns {[str(c) for c in frame.columns]}; "
            "expected a time column (timestamp, time, datetime or date) and open, high, low, close, volume "
            "(any letter case); nothing was imported"
        )
    mapping["time"] = time_col
    return mapping, clock_col


def _value_names(kind: str) -> tuple[str, ...]:
    """The numeric columns of a row of this kind, in store order."""
    if kind == "quotes":
        return ("bid_open", "bid_high", "bid_low", "bid_close", "ask_open", "ask_high", "ask_low", "ask_close",
                "bid_size", "ask_size")
    return ("open", "high", "low", "close", "volume", "trade_count", "vwap")


_DECIMAL_COMMA = r"^\s*[+-]?\d+,\d+\s*$"
_WHOLE = r"^\s*[+-]?\d+\s*$"


def _decimal_commas(columns: dict[str, pd.Series]) -> bool:
    """True when the file writes its numbers with a decimal comma (a spreadsheet's export in a European
    locale: "429,5" separated by ";" or tabs): every text value column holds only such numbers or
    whole ones, some of them with a comma, and no decimal point anywhere. Read as they are, every row
    would fail as a missing value."""
    text = [col for col in columns.values() if not pd.api.types.is_numeric_dtype(col.dtype)]
    if not text:
        return False
    seen_comma = False
    for col in text:
        values = col.dropna().astype(str)
        values = values[values.str.strip() != ""]
        if values.empty:
            continue
        comma = values.str.match(_DECIMAL_COMMA)
        if not (comma | values.str.match(_WHOLE)).all():
            return False
        seen_comma |= bool(comma.any())
    return seen_comma


def _numbers(col: pd.Series) -> np.ndarray:
    """A column as float64; unreadable or empty values become NaN (and so fail the row)."""
    if pd.api.types.is_numeric_dtype(col.dtype):
        return col.to_numpy(dtype=np.float64, na_value=np.nan)
    try:
        arr = pa.array(col.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
        return pc.cast(pc.utf8_trim_whitespace(arr), pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _symbol_from_name(path: Path, period_suffix: str | None = None) -> str | None:
    """The ticker a file's name starts with; `period_suffix` (MetaTrader 4 names its exports by symbol
    and period in minutes, "EURUSD1.csv" for 1m bars) is dropped from the end of the name first."""
    name = path.name
    for suffix in (".gz", ".csv", ".txt", ".tsv", ".parquet", ".pq", ".parq"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    if period_suffix and name.endswith(period_suffix) and len(name) > len(period_suffix):
        name = name[: -len(period_suffix)]
    if name.endswith(".Last"):                  # NinjaTrader's export of trade bars: "AAPL.Last.txt"
        name = name[: -len(".Last")]
    chart = _TRADINGVIEW_NAME.match(name)       # TradingView's export: "NASDAQ_AAPL, 1.csv"
    if chart:
        return chart.group(1)
    token = re.split(r"[_\s\-]", name, maxsplit=1)[0]
    return token if _TICKER.match(token) else None


# ---------------------------------------------------------------------- time parsing
def _to_ns(values: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Datetime values (aware -> UTC, naive as is) to int64 ns with NaT -> int64 min."""
    idx = pd.DatetimeIndex(values)
    if idx.tz is not None:
        idx = idx.tz_convert("UTC").tz_localize(None)
    raw = idx.to_numpy()
    if raw.dtype != np.dtype("datetime64[ns]"):  # parsed at a coarser unit: year 1 or 9999 do not fit ns
        fits = (raw >= _NS_LOW) & (raw <= _NS_HIGH)
        out = np.full(len(raw), np.iinfo(np.int64).min, dtype=np.int64)
        out[fits] = raw[fits].astype("datetime64[ns]").view(np.int64)
        return out
    return raw.view(np.int64).copy()


_NUMERIC_DATE = r"^\s*(\d{1,2})([./-])(\d{1,2})[./-](\d{4})(?!\d)"


def _day_first(text: pd.Series) -> bool | None:
    """Whether dates written with the day and the month as numbers before the year (01.07.2021,
    07/01/2021) put the day first: a first field over 12 says so, a second one over 12 says the month
    is first; when none tells, a dot says day first (the European way, dd.mm.yyyy), a slash or a dash
    month first (the US way). None when the file has no such dates, or its fields contradict each
    other (those rows then fail as unparseable)."""
    parts = text.str.extract(_NUMERIC_DATE)
    found = parts[0].notna()
    if not found.any():
        return None
    first, second = parts.loc[found, 0].astype(int), parts.loc[found, 2].astype(int)
    day_first, month_first = bool((first > 12).any()), bool((second > 12).any())
    if day_first != month_first:
        return day_first
    if day_first:
        return None
    return parts.loc[found, 1].iloc[0] == "."


def _parse_strings(text: pd.Series) -> tuple[np.ndarray, str | None]:
    """Naive or aware date-time strings -> int64 ns (aware ones as UTC, naive ones as wall time), and a
    note on how dates with the day and the month as numbers were read (`_day_first`), or None."""
    note = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = (
            _to_ns(pd.to_datetime(text, format="ISO8601", errors="coerce", utc=False))
            if len(text)
            else np.empty(0, np.int64)
        )
        nat = out == np.iinfo(np.int64).min
        if nat.any():
            retry, note = _parse_in_order(text[nat], utc=False)
            out[nat] = _to_ns(retry)
    return out, note


def _parse_in_order(text: pd.Series, utc: bool) -> tuple[pd.Series, str | None]:
    """Date-time strings the ISO parse did not read, with dates in their day-and-month order
    (`_day_first`); and how such dates were read, the first one as example, or None when there were
    none. The caller silences pandas' warnings."""
    day_first = _day_first(text)
    parsed = pd.to_datetime(text, errors="coerce", utc=utc, dayfirst=bool(day_first))
    if day_first is None or pd.isna(parsed.iloc[0]):
        return parsed, None
    return parsed, (f"dates read {'day' if day_first else 'month'} first ({str(text.iloc[0]).strip()[:10]} as "
                    f"{parsed.iloc[0].strftime('%d %B %Y')})")


def _parse_times(
    col: pd.Series, tz: str | None, daily: bool, zone_source: str = "from --tz"
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """(ns, naive mask, reason code per row, description). Naive values come back as wall-clock ns;
    with `tz`, as that zone's times (the description names the zone and `zone_source`)."""
    n = len(col)
    nat = np.iinfo(np.int64).min
    code = np.zeros(n, dtype=np.int8)
    naive = np.zeros(n, dtype=bool)
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        ns, desc = _to_ns(col), "timezone-aware timestamps"
    elif pd.api.types.is_datetime64_dtype(col.dtype):
        ns, desc = _to_ns(col), "naive timestamps"
        naive[:] = True
    else:
        numeric = pd.api.types.is_numeric_dtype(col.dtype)
        text = col if numeric else col.astype("str").str.strip()  # numeric: only `col` is read
        present = col.notna().to_numpy() if numeric else (text.notna() & (text != "")).to_numpy()
        if numeric:
            is_num = present
        else:
            arr = pa.array(text.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
            is_num = pc.fill_null(pc.match_substring_regex(arr, r"^[+-]?\d+(\.\d+)?$"), False).to_numpy(
                zero_copy_only=False
            )
        ns = np.full(n, nat, dtype=np.int64)
        if present.any() and is_num[present].all():
            nums = pd.to_numeric(col[present] if numeric else text[present], errors="coerce")
            ymd = nums.between(19000101, 21001231).all() and (nums % 1 == 0).all()
            if ymd:
                ns[present] = _to_ns(
                    pd.to_datetime(nums.astype(np.int64).astype(str), format="%Y%m%d", errors="coerce")
                )
                naive[:] = True
                desc = "YYYYMMDD dates"
            else:
                as_float = nums.to_numpy(dtype=np.float64)
                mag = float(np.nanmedian(np.abs(as_float)))
                _, unit, factor = next(u for u in _EPOCH_UNITS if mag < u[0])
                fits = np.abs(as_float * factor) < 4e18  # beyond that int64 ns would overflow
                idx = np.flatnonzero(present)[fits]
                if pd.api.types.is_integer_dtype(nums.dtype):
                    ns[idx] = nums.to_numpy(dtype=np.int64)[fits] * factor
                else:
                    ns[idx] = np.round(as_float[fits] * factor).astype(np.int64)
                desc = f"epoch {unit} (UTC)"
        elif present.any():
            arr = pa.array(text.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
            aware = pc.fill_null(pc.match_substring_regex(arr, _OFFSET), False).to_numpy(zero_copy_only=False)
            naive = present & ~aware
            order_note = None
            if aware.any():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    parsed = pd.to_datetime(text[aware], format="ISO8601", errors="coerce", utc=True)
                    miss = parsed.isna().to_numpy()
                    if miss.any():
                        parsed[miss], order_note = _parse_in_order(text[aware][miss], utc=True)
                ns[aware] = _to_ns(parsed)
            if naive.any():
                ns[naive], naive_note = _parse_strings(text[naive])
                order_note = order_note or naive_note
            desc = (
                "ISO-8601 strings with UTC offset"
                if not naive.any()
                else "naive date-time strings"
                if not aware.any()
                else "strings, some with UTC offset"
            ) + (f", {order_note}" if order_note else "")
        else:
            desc = "no timestamps"
        naive &= present
        code[~present] = _CODE[R_TS]
    code[(code == 0) & (ns == nat)] = _CODE[R_TS]
    if naive.any() and not daily:
        if tz is None:
            code[(code == 0) & naive] = _CODE[R_NAIVE]
        else:
            ok = naive & (ns != nat)
            wall = pd.DatetimeIndex(ns[ok].view("datetime64[ns]"))
            local = localize_zone(wall, tz)
            converted = _to_ns(local)
            bad = converted == nat
            idx = np.flatnonzero(ok)
            code[idx[bad]] = _CODE[R_LOCAL]
            ns[idx[~bad]] = converted[~bad]
            desc += f" (zone {tz} {zone_source})"
    out_of_range = (code == 0) & ((ns < _MIN_NS) | (ns > _MAX_NS))
    code[out_of_range] = _CODE[R_TS]
    return ns, naive, code, desc


# ---------------------------------------------------------------------- per-file checks
def _check_file(source: Path | FrameSource, symbol: str | None, tz: str | None, interval: str,
                tm: TimeManager, content: str = "bars", bar_time: str = "start") -> _FileRows:
    if isinstance(source, FrameSource):
        path = Path(source.name)
        frame = source.frame.reset_index(drop=True)
        lines, kind, blank, sep, layout_note = np.arange(1, len(frame) + 1), "download", 0, None, None
    else:
        path = source
        frame, lines, kind, blank, sep, layout_note = _read_source(path)
    mapping, clock_col = _map_columns(frame, path, content)
    notes = [layout_note] if layout_note else []
    if content == "bars" and str(mapping["volume"]).strip("<>").strip().lower() in _TICK_VOLUME_NAMES:
        notes.append(f"volume from {mapping['volume']} (tick counts: no real volume in the file)")
    n = len(frame)
    daily = interval == DAILY_INTERVAL
    interval_ns = parse_interval(interval).ns

    if symbol is not None:
        symbols = np.full(n, symbol, dtype=object)
        symbol_source = "--symbol" + (" (overrides the file's symbol column)" if "symbol" in mapping else "")
    elif "symbol" in mapping:
        col = frame[mapping["symbol"]].astype("str").str.strip().str.upper()
        symbols = col.fillna("").to_numpy(dtype=object)
        symbol_source = "the symbol column"
    else:
        metatrader4 = layout_note is not None and len(frame.columns) == 7     # HEADERLESS_LAYOUTS[7]
        inferred = _symbol_from_name(path, str(interval_ns // 60_000_000_000) if metatrader4 else None)
        if inferred is None:
            raise DataError(
                f"cannot tell the symbol of {path}: it has no symbol column and its name does not start "
                "with an upper-case ticker (like AAPL_Minute.csv.gz); pass --symbol; nothing was imported"
            )
        symbols = np.full(n, inferred, dtype=object)
        symbol_source = "the file name"

    time_values = frame[mapping["time"]]
    if clock_col is not None:
        time_values = time_values.astype("str").str.strip() + " " + frame[clock_col].astype("str").str.strip()
    zone_source = "from --tz"
    if tz is None and clock_col is None and _column_key(mapping["time"]) in _UTC_TIME_NAMES:
        tz, zone_source = "UTC", f"as its column {mapping['time']!r} says"   # Dukascopy's "Gmt time"
    ns, naive, code, desc = _parse_times(time_values, tz, daily, zone_source)
    if bar_time == "end":
        read = code == 0
        ns[read] -= interval_ns
        desc += f", bar end times moved back {interval} to the bar starts (--bar-time end)"
    if not daily and tz is None and naive.any() and not (~naive & (code != _CODE[R_TS])).any():
        example = str(time_values[naive].iloc[0])
        raise DataError(
            f"{path}: its timestamps have no time zone (e.g. '{example}'); pass --tz with the zone they "
            "were recorded in (e.g. --tz America/New_York or --tz UTC); nothing was imported"
        )
    columns = {c: frame[mapping[c]] for c in _value_names(content) if c in mapping}
    if content == "quotes" and "spread" in mapping:
        columns["spread"] = frame[mapping["spread"]]
    if _decimal_commas(columns):
        columns = {c: col if pd.api.types.is_numeric_dtype(col.dtype) else col.astype(str).str.replace(",", ".")
                   for c, col in columns.items()}
        notes.append("decimal commas read as decimal points (e.g. 429,5 as 429.5)")
    values = {c: _numbers(columns[c]) if c in columns else np.full(n, np.nan) for c in _value_names(content)}
    if "spread" in columns:
        notes.append(_asks_from_spread(values, _numbers(columns["spread"]), path))

    def flag(reason: str, cond: np.ndarray) -> None:
        code[(code == 0) & cond] = _CODE[reason]

    code[symbols == ""] = _CODE[R_SYMBOL]
    invalid = {s for s in pd.unique(symbols) if s != "" and not is_valid_symbol(s)}
    if invalid:
        flag(R_BAD_SYMBOL, np.fromiter((s in invalid for s in symbols), dtype=bool, count=n))
    quote_detail: dict[int, str] = {}
    if content == "quotes":
        _check_quote_values(values, flag, code, quote_detail)
    else:
        o, h, lo, c, v = (values[k] for k in ("open", "high", "low", "close", "volume"))
        flag(R_MISSING, np.isnan(o) | np.isnan(h) | np.isnan(lo) | np.isnan(c) | np.isnan(v))
        flag(R_RANGE, _out_of_range(values))
        flag(R_NONPOS, (o <= 0) | (h <= 0) | (lo <= 0) | (c <= 0))
        flag(R_HL, h < lo)
        flag(R_OPEN, (o < lo) | (o > h))
        flag(R_CLOSE, (c < lo) | (c > h))
        flag(R_NEGVOL, v < 0)
        flag(R_NEGTC, values["trade_count"] < 0)

    local_day = np.zeros(n, dtype="datetime64[D]")
    ok = code == 0
    spacing_doubt = _check_spacing(path, symbols, ns, ok, interval, tm)
    if daily:
        local_day[ok] = _daily_dates(ns[ok], naive[ok], tm)
    else:
        step = min(interval_ns, 60_000_000_000)
        flag(R_GRID, ns % step != 0)
        ok = code == 0
        local_day[ok] = tm.local_dates(ns[ok])
    opens = np.full(n, -1, dtype=np.int64)
    closes = np.full(n, -1, dtype=np.int64)
    opens[ok], closes[ok] = tm.session_bounds(local_day[ok])
    flag(R_CLOSED, ok & (opens < 0))
    ok = code == 0
    if daily:
        ns = np.where(ok, opens, ns)
        rth = ok.copy()
        part = np.zeros(n, dtype=np.int8)
    else:
        rth = ok & (ns >= opens) & (ns < closes)
        if tm.has_breaks and ok.any():      # a lunch-break bar is not a regular-session bar
            rth[ok] &= ~tm.break_mask(ns[ok], local_day[ok])
        part = np.where(ns < opens, -1, np.where(ns >= closes, 1, 0)).astype(np.int8)

    reordered = np.zeros(n, dtype=bool)
    if ok.any():
        good = pd.DataFrame({"s": symbols[ok], "t": ns[ok]})
        reordered[np.flatnonzero(ok)] = (good["t"] < good.groupby("s", sort=False)["t"].cummax()).to_numpy()

    detail = np.full(n, None, dtype=object)
    bad = np.flatnonzero(code != 0)
    if len(bad):
        checked = _value_names("quotes")[:8] if content == "quotes" else ("open", "high", "low", "close", "volume")
        raw: dict[str, pd.Series] = {c: frame[mapping[c]] for c in checked if c in mapping}
        detail[bad] = [
            _quote_detail(REASONS[code[i]], i, values, quote_detail, raw) if content == "quotes" and (
                REASONS[code[i]] in _QUOTE_VALUE_REASONS) else
            _detail(REASONS[code[i]], i, time_values, values, local_day, symbols, interval, raw)
            for i in bad
        ]
    info = {
        "path": str(path),
        "format": kind,
        "rows_read": n,
        "blank_lines": blank,
        "symbol": _symbol_label(symbols),
        "symbol_source": symbol_source,
        "timestamps": desc,
    }
    if notes:
        info["notes"] = notes
    return _FileRows(
        path, frame, lines, symbols, ns, values, code, detail, rth, part, local_day, reordered, info, sep,
        spacing_doubt,
    )


_QUOTE_VALUE_REASONS = {R_MISSING, R_RANGE, R_NONPOS, R_HL, R_OPEN, R_CLOSE, R_CROSSED, R_NEGSIZE}


def _asks_from_spread(values: dict[str, np.ndarray], spread: np.ndarray, path: Path) -> str:
    """MetaTrader's bars are bid prices with the bar's spread in points (<SPREAD>, as its strategy tester
    uses it): each ask = bid + spread x point, where the point is the smallest price unit the file's
    prices carry (5 decimals: 0.00001), rounded to that unit. A missing or negative spread makes a row
    that is refused (missing value, crossed quote). The summary's note (returned) names the point."""
    bids = [values[f"bid_{f}"] for f in _OHLC]
    finite = np.concatenate([b[np.isfinite(b)] for b in bids])
    decimals = int(decimals_of(finite).max()) if finite.size else 0
    if decimals >= MAX_DECIMALS:
        raise DataError(f"{path}: its prices are on no decimal grid, so the point the <SPREAD> column counts in "
                        "cannot be told; nothing was imported")
    point = 10.0 ** -decimals
    for f in _OHLC:
        values[f"ask_{f}"] = np.round(values[f"bid_{f}"] + spread * point, decimals)
    return (f"ask = bid + spread x {point:.{decimals}f} (MetaTrader's bid bars and spread in points of the "
            "prices' smallest unit)")


def _check_quote_values(values: dict[str, np.ndarray], flag: Callable[[str, np.ndarray], None], code: np.ndarray,
                        detail: dict[int, str]) -> None:
    """Row checks of quote bars, in the bars' order (missing, range, non-positive, high < low, open and
    close inside the range, per side), then crossed quotes (a bid above the ask of the same field:
    bid_open > ask_open, ... bid_close > ask_close; a locked quote, bid == ask, is kept) and negative
    sizes. Missing sizes are stored as NaN (unknown). `detail` gets the side or fields at fault."""
    prices = {k: values[k] for k in _value_names("quotes")[:8]}
    sizes = {k: values[k] for k in ("bid_size", "ask_size")}
    stacked = np.column_stack(list(prices.values()))
    flag(R_MISSING, np.isnan(stacked).any(axis=1))
    with np.errstate(invalid="ignore"):
        big = (np.isinf(stacked) | (np.abs(stacked) > MAX_PRICE)).any(axis=1)
        for v in sizes.values():
            big |= np.isinf(v) | (np.abs(v) > MAX_VOLUME)
    flag(R_RANGE, big)
    flag(R_NONPOS, np.asarray((stacked <= 0).any(axis=1)))
    for reason, test in ((R_HL, lambda o, h, lo, c: h < lo), (R_OPEN, lambda o, h, lo, c: (o < lo) | (o > h)),
                         (R_CLOSE, lambda o, h, lo, c: (c < lo) | (c > h))):
        for side in ("bid", "ask"):
            cond = test(*(prices[f"{side}_{f}"] for f in ("open", "high", "low", "close"))) & (code == 0)
            for i in np.flatnonzero(cond).tolist():
                detail.setdefault(i, side)
            flag(reason, cond)
    crossed = np.zeros(len(code), dtype=bool)
    for f in ("open", "high", "low", "close"):
        crossed |= prices[f"bid_{f}"] > prices[f"ask_{f}"]
    for i in np.flatnonzero(crossed & (code == 0)).tolist():
        detail[i] = ", ".join(f"bid_{f} {prices[f'bid_{f}'][i]:g} > ask_{f} {prices[f'ask_{f}'][i]:g}"
                              for f in ("open", "high", "low", "close") if prices[f"bid_{f}"][i] > prices[f"ask_{f}"][i])
    flag(R_CROSSED, crossed)
    flag(R_NEGSIZE, (sizes["bid_size"] < 0) | (sizes["ask_size"] < 0))


def _quote_detail(reason: str, i: int | np.integer, values: dict[str, np.ndarray], detail: dict[int, str],
                  raw: dict[str, pd.Series]) -> str:
    i = int(i)
    if reason == R_CROSSED:
        return f"bid above ask: {detail[i]}"
    if reason in (R_HL, R_OPEN, R_CLOSE):
        side = detail.get(i, "bid")
        o, h, lo, c = (values[f"{side}_{f}"][i] for f in ("open", "high", "low", "close"))
        return {R_HL: f"{side}_high {h:g} < {side}_low {lo:g}",
                R_OPEN: f"{side}_open {o:g} outside [{side}_low {lo:g}, {side}_high {h:g}]",
                R_CLOSE: f"{side}_close {c:g} outside [{side}_low {lo:g}, {side}_high {h:g}]"}[reason]
    names = _value_names("quotes")
    if reason == R_MISSING:
        return _missing_detail(names[:8], i, values, raw)
    if reason == R_NONPOS:
        return "prices must be > 0: " + ", ".join(f"{k} {values[k][i]:g}" for k in names[:8] if values[k][i] <= 0)
    if reason == R_NEGSIZE:
        return "sizes must be >= 0: " + ", ".join(f"{k} {values[k][i]:g}" for k in names[8:] if values[k][i] < 0)
    return (f"values must be finite, prices at most {MAX_PRICE:g}, sizes at most {MAX_VOLUME:g}: " +
            ", ".join(f"{k} {values[k][i]:g}" for k in names if np.isinf(values[k][i]) or abs(values[k][i]) > (
                MAX_PRICE if k in names[:8] else MAX_VOLUME)))


def _out_of_range(values: dict[str, np.ndarray]) -> np.ndarray:
    """Rows with an infinite value, a price (or vwap) above MAX_PRICE or a volume or trade count
    above MAX_VOLUME (NaN is 'missing value', checked before)."""
    with np.errstate(invalid="ignore"):
        bad = np.zeros(len(values["open"]), dtype=bool)
        for k in (*PRICE_COLUMNS, "vwap"):
            bad |= np.isinf(values[k]) | (np.abs(values[k]) > MAX_PRICE)
        for k in ("volume", "trade_count"):
            bad |= np.isinf(values[k]) | (np.abs(values[k]) > MAX_VOLUME)
    return bad


SPACING_DOUBT_SHARE = 0.8  # consecutive bars a whole number (2+) of intervals apart that doubt the interval


def _check_spacing(
    path: Path, symbols: np.ndarray, ns: np.ndarray, ok: np.ndarray, interval: str, tm: TimeManager
) -> str | None:
    """DataError when the file's bars are mostly closer together than the declared interval (e.g. a
    1m file imported with --interval 1h). Uses the most common gap between consecutive bars of a
    symbol (within one exchange-local day for intraday intervals), so a short first or last bar of a
    session, or missing bars, never trigger it. Returns a doubt (a sentence) when intraday bars are
    mostly a whole number of intervals apart, as a longer interval's are (5m bars imported with the
    default --interval 1m would each be stored as a minute bar): sparse bars of a thin symbol are
    rarely that regular, so it is a warning, not a refusal."""
    rows = np.flatnonzero(ok)
    if len(rows) < 2:
        return None
    interval_ns = parse_interval(interval).ns
    frame = pd.DataFrame({"s": symbols[rows], "t": ns[rows]})
    if interval != DAILY_INTERVAL:
        frame["d"] = tm.local_dates(frame["t"].to_numpy())
        keys = ["s", "d"]
    else:
        keys = ["s"]
    frame = frame.drop_duplicates().sort_values([*keys, "t"], kind="stable")
    gap = frame["t"].diff().to_numpy()
    same = np.ones(len(frame), dtype=bool)
    for k in keys:
        col = frame[k].to_numpy()
        same[1:] &= col[1:] == col[:-1]
    same[0] = False
    if interval != DAILY_INTERVAL:
        _refuse_one_bar_a_day(path, frame, same, interval)
    gaps = gap[same & (gap > 0)].astype(np.int64)
    if not len(gaps):
        return None
    values, counts = np.unique(gaps, return_counts=True)
    typical = int(values[np.argmax(counts)])
    share = counts.max() / len(gaps)
    longer = (typical >= interval_ns and interval != DAILY_INTERVAL and typical >= 2 * interval_ns
              and typical % interval_ns == 0 and share >= SPACING_DOUBT_SHARE)
    if typical >= interval_ns and not longer:
        return None                     # the declared interval's spacing (or sparser, irregularly)
    at = int(np.flatnonzero(same & (gap == typical))[0])
    first, second = _iso(int(frame["t"].iloc[at - 1])), _iso(int(frame["t"].iloc[at]))
    spacing = _duration_text(typical)
    if longer:
        short = _duration_text(typical, short=True)
        return (f"its bars are {spacing} apart ({share:.0%} of consecutive bars, e.g. {frame['s'].iloc[at]} at "
                f"{first} and {second}), as {short} bars are, not {interval} ones; if so, remove these bars "
                f"from the store and re-import with --interval {short}.")
    raise DataError(
        f"{path}: its bars are {spacing} apart ({share:.0%} of consecutive bars, e.g. "
        f"{frame['s'].iloc[at]} at {first} and {second}), but --interval {interval} was "
        f"declared; a {interval} bar cannot start {spacing} after the previous one. Import it with the "
        f"interval of its bars (e.g. --interval {_duration_text(typical, short=True)}); nothing was imported"
    )


ONE_A_DAY_SHARE = 0.9      # symbol-days holding a single bar, of all, that make a file daily
ONE_A_DAY_MIN = 5          # ... over at least this many symbol-days


def _refuse_one_bar_a_day(path: Path, frame: pd.DataFrame, same_day: np.ndarray, interval: str) -> None:
    """DataError when an intraday import's bars are one a day (a daily export, e.g. MetaTrader's D1,
    imported with the default --interval 1m would store each day as one minute bar at its stamp).
    `frame`: the file's distinct (symbol, local day, time) rows in order; `same_day`: a row has the
    same symbol and day as the one before."""
    starts = ~same_day                                  # the first bar of each symbol-day
    days = int(starts.sum())
    single = int((starts & np.append(starts[1:], True)).sum())
    if days < ONE_A_DAY_MIN or single < ONE_A_DAY_SHARE * days:
        return
    first = frame.iloc[0]
    raise DataError(
        f"{path}: its bars are one a day ({single:,} of {days:,} symbol-days hold a single bar, e.g. {first['s']} at "
        f"{_iso(int(first['t']))}), but --interval {interval} was declared: these look like daily bars; import "
        f"them with --interval {DAILY_INTERVAL}; nothing was imported"
    )


def _duration_text(ns: int, short: bool = False) -> str:
    seconds = ns / 1e9
    for unit, size, word in (("d", 86400, "day"), ("h", 3600, "hour"), ("m", 60, "minute"), ("s", 1, "second")):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count}{unit}" if short else f"{count} {word}{'s' if count != 1 else ''}"
    return f"{seconds:g}s" if short else f"{seconds:g} seconds"


def _daily_dates(ns: np.ndarray, naive: np.ndarray, tm: TimeManager) -> np.ndarray:
    """Exchange-local dates of daily bars: naive values as given; aware ones at exactly 00:00 UTC by
    their UTC date (vendors' date stamps), other aware ones by their date in the exchange zone."""
    out = tm.local_dates(ns)
    utc_days = ns.view("datetime64[ns]").astype("datetime64[D]")
    midnight = (ns % 86_400_000_000_000) == 0
    use_utc = naive | (midnight & ~naive) if midnight.all() else naive
    out[use_utc] = utc_days[use_utc]
    return out


def _symbol_label(symbols: np.ndarray) -> str:
    uniq = sorted({s if is_valid_symbol(s) else "(invalid)" for s in pd.unique(symbols) if s})
    if len(uniq) == 1:
        return uniq[0]
    return f"{len(uniq)} symbols" if len(uniq) > 6 else ", ".join(uniq) or "none"


def _missing_detail(names: tuple[str, ...], i: int | np.integer, values: dict, raw: dict[str, pd.Series] | None) -> str:
    """The columns of row `i` without a number: "no value in close, volume" for empty cells, and a
    cell that holds something else quoted as written ("close 'abc' is not a number")."""
    empty, unreadable = [], []
    for k in names:
        if not np.isnan(values[k][i]):
            continue
        cell = raw[k].iloc[i] if raw is not None and k in raw else None
        text = "" if cell is None or (isinstance(cell, float) and math.isnan(cell)) else str(cell).strip()
        if text and text.lower() != "nan":
            unreadable.append(f"{k} {_shown_value(text)} is not a number")
        else:
            empty.append(k)
    return "; ".join(([f"no value in {', '.join(empty)}"] if empty else []) + unreadable)


def _detail(
    reason: str,
    i: int | np.integer,
    times: pd.Series,
    values: dict,
    local_day: np.ndarray,
    symbols: np.ndarray,
    interval: str,
    raw: dict[str, pd.Series] | None = None,
) -> str:
    """Why row `i` was refused, in words; `raw`: the file's own cells of the value columns (a cell that
    is not a number is quoted as written)."""
    t = times.iloc[i]
    o, h, lo, c, v = (values[k][i] if k in values else np.nan for k in ("open", "high", "low", "close", "volume"))
    if reason == R_SYMBOL:
        return "the symbol column is empty on this row"
    if reason == R_BAD_SYMBOL:
        return f"{symbol_problem(symbols[i])}; no config could use it"
    if reason == R_RANGE:
        parts = [f"{k} {values[k][i]:g}" for k in (*PRICE_COLUMNS, "vwap") if np.isinf(values[k][i])
                 or abs(values[k][i]) > MAX_PRICE]
        parts += [f"{k} {values[k][i]:g}" for k in ("volume", "trade_count") if np.isinf(values[k][i])
                  or abs(values[k][i]) > MAX_VOLUME]
        return (f"{', '.join(parts)}: values must be finite, prices at most {MAX_PRICE:g}, volume and "
                f"trade_count at most {MAX_VOLUME:g}")
    if reason == R_TS:
        return f"cannot read {_shown_value(t)} as a date-time between 1990 and 2100"
    if reason == R_NAIVE:
        return f"{t!r} has no UTC offset; pass --tz to declare its zone"
    if reason == R_LOCAL:
        return f"{t!r} does not exist or is ambiguous in the declared zone (DST change)"
    if reason == R_MISSING:
        return _missing_detail(("open", "high", "low", "close", "volume"), i, values, raw)
    if reason == R_NONPOS:
        cols = [f"{k} {values[k][i]:g}" for k in PRICE_COLUMNS if values[k][i] <= 0]
        return f"prices must be > 0: {', '.join(cols)}"
    if reason == R_HL:
        return f"high {h:g} < low {lo:g}"
    if reason == R_OPEN:
        return f"open {o:g} outside [low {lo:g}, high {h:g}]"
    if reason == R_CLOSE:
        return f"close {c:g} outside [low {lo:g}, high {h:g}]"
    if reason == R_NEGVOL:
        return f"volume {v:g} < 0"
    if reason == R_NEGTC:
        return f"trade_count {values['trade_count'][i]:g} < 0"
    if reason == R_GRID:
        return f"{t!r} is not on the {interval} bar grid (bars start on whole minutes)"
    if reason == R_CLOSED:
        day = local_day[i].astype(object)
        why = day.strftime("%A") if day.weekday() >= 5 else "exchange holiday"
        return f"no session on {day.isoformat()} ({why})"
    return reason


# ---------------------------------------------------------------------- the import
def _refuse_overnight_sessions(checked: list[_FileRows], tm: TimeManager) -> None:
    """DataError when the store's calendar has sessions across midnight on the files' dates (CME's
    futures and currencies open the evening before): their bars would be filed under the wrong day
    and the evening's refused as a closed date. Daily bars are per session date and are taken."""
    nat = np.iinfo(np.int64).min
    times = [fr.timestamp[(fr.timestamp != nat) & (fr.reason != _CODE[R_TS])] for fr in checked]  # in 1990..2100
    times = [t for t in times if t.size]
    if not times:
        return
    first = min(int(t.min()) for t in times)
    last = max(int(t.max()) for t in times)
    days = tm.local_dates(np.array([first, last], dtype=np.int64)).astype(object)
    overnight = tm.overnight_session(days[0] - dt.timedelta(days=1), days[1] + dt.timedelta(days=1))
    if overnight is not None:
        raise DataError(f"{overnight_problem(tm.exchange, overnight, tm.exchange_tz)}; nothing was imported")


def import_files(
    paths: Sequence[str | Path | FrameSource],
    store: BarStore,
    symbol: str | None = None,
    tz: str | None = None,
    interval: str = "1m",
    time_manager: TimeManager | None = None,
    kind: str = "bars",
    bar_time: str = "start",
) -> ImportSummary:
    """Validate every row of `paths` and add the good ones to `store`; refused rows go to quarantine.

    `kind` "bars" imports trade bars; "quotes" imports quote bars (bid/ask OHLC and sizes, stored
    in the store's quotes/ tree, workstation/store/quote_store.py) with the same time, symbol,
    calendar and duplicate checks plus the quote checks of `_check_quote_values`.
    `bar_time` "end": the files stamp each bar with its end (NinjaTrader, TradeStation); the times are
    moved back one interval to the bar starts the store keeps. With "start" (the default), intraday
    bars that look end-stamped (`zone_check.bar_end_warning`) add a warning.
    All files are read and checked before anything is written: a file-level problem raises
    DataError and leaves the store untouched.
    """
    if kind not in KINDS:
        raise DataError(f"unknown import kind {kind!r}: use one of {', '.join(KINDS)}")
    if isinstance(paths, (str, Path, FrameSource)):
        paths = [paths]
    if not paths:
        raise DataError("no files to import were given")
    try:
        interval = parse_interval(interval).name
    except ValueError as exc:
        raise DataError(str(exc)) from exc
    if tz is not None:
        try:
            parse_zone(tz)
        except ValueError as exc:
            raise DataError(f"--tz: {exc}") from None
    if symbol is not None:
        symbol = symbol.strip().upper()
        if not symbol:
            raise DataError("--symbol is empty: give a ticker such as AAPL")
        problem = symbol_problem(symbol)
        if problem:
            raise DataError(f"--symbol {problem}; no config could use it, so nothing was imported")
    if bar_time not in BAR_TIMES:
        raise DataError(f"unknown --bar-time {bar_time!r}: use {' or '.join(BAR_TIMES)}")
    if bar_time == "end" and interval == DAILY_INTERVAL:
        raise DataError("--bar-time end is for intraday bars: daily bars are stamped with their date")
    tm = time_manager or store.time_manager
    if kind == "quotes" and interval == DAILY_INTERVAL:
        raise DataError("quote bars are intraday: import them with --interval 1m (or another intraday interval)")
    checked = [_check_file(p if isinstance(p, FrameSource) else Path(p), symbol, tz, interval, tm, kind, bar_time)
               for p in paths]
    if interval != DAILY_INTERVAL:
        _refuse_overnight_sessions(checked, tm)
    value_names = _value_names(kind)

    # good rows of all files, in file then line order
    good_parts = []
    for fi, fr in enumerate(checked):
        sel = np.flatnonzero(fr.reason == 0)
        good_parts.append(
            pd.DataFrame(
                {
                    "file": np.full(len(sel), fi, dtype=np.int32),
                    "row": sel,
                    "symbol": fr.symbol[sel],
                    "timestamp": fr.timestamp[sel],
                    **{k: fr.values[k][sel] for k in value_names},
                    "rth": fr.rth[sel],
                    "part": fr.session_part[sel],
                    "day": fr.local_day[sel],
                }
            )
        )
    good = pd.concat(good_parts, ignore_index=True)
    value_cols = {k: good[k].to_numpy() for k in value_names}
    dup_status, first_idx = classify_duplicates(
        good["symbol"].to_numpy(dtype=object), good["timestamp"].to_numpy(dtype=np.int64), value_cols
    )
    unique = good.loc[dup_status == ROW_NEW].reset_index(drop=True)
    result = _write_bars_reporting(store, unique.assign(timestamp=unique["timestamp"].astype(np.int64)),
                                   interval, checked, kind)
    unique["status"] = result.status

    # rows refused after the per-row checks: conflicting duplicates inside the import / with the store
    conflicts = np.flatnonzero(dup_status == ROW_CONFLICT)
    good_file, good_row = good["file"].to_numpy(), good["row"].to_numpy()
    for j in conflicts:
        fr = checked[good_file[j]]
        row = good_row[j]
        k = first_idx[j]
        fr.reason[row] = _CODE[R_CONFLICT]
        fr.detail[row] = (
            f"same symbol and timestamp as line {checked[good_file[k]].lines[good_row[k]]}"
            f" of {checked[good_file[k]].path.name}, with different values (that one was kept)"
        )
    stored_conflicts = unique.index[unique["status"] == ROW_CONFLICT]
    for j in stored_conflicts:
        fr = checked[unique.at[j, "file"]]
        row = unique.at[j, "row"]
        fr.reason[row] = _CODE[R_STORED]
        fr.detail[row] = (f"the store already holds a different {'quote bar' if kind == 'quotes' else 'bar'} for "
                          "this symbol and timestamp (it was kept)")

    quarantine_path = _write_quarantine_reporting(checked, store, result)
    summary = _summarise(
        checked, good, dup_status, unique, store, interval, quarantine_path, result.files_touched
    )
    if interval != DAILY_INTERVAL:          # the times the file's bars were read at, doubted
        for fr in checked:
            ok = fr.reason == 0
            volume = fr.values["volume"][ok] if kind == "bars" else np.ones(int(ok.sum()))
            doubts = []
            if tz is not None and kind == "bars" and "from --tz" in fr.info["timestamps"]:
                doubts.append(declared_zone_warning(fr.timestamp[ok], volume, tz, tm))
            if bar_time == "start":
                doubts.append(bar_end_warning(fr.timestamp[ok], volume, parse_interval(interval).ns, tm))
            doubts.append(fr.spacing_doubt)
            doubts = [d for d in doubts if d]
            removal = _removal(fr, interval, kind) if doubts else None
            for warning in doubts:
                summary.warnings.append(f"{fr.path}: {warning}{_removal_hint(store, removal)}")
                log.warning("%s: %s", fr.path, warning)
            if removal is not None:
                summary.removals.append(removal)
    for fr in checked:
        warning, removal = _stored_conflict_warning(fr, interval, kind)
        if warning is not None and removal is not None:
            summary.warnings.append(f"{fr.path}: {warning}{_removal_hint(store, removal)}")
            summary.removals.append(removal)
            log.warning("%s: %s", fr.path, warning)
    if kind == "bars":
        summary.warnings += _split_warnings(store, unique[unique["status"] == ROW_NEW])
    summary.warnings += _week_open_warnings(checked, store.exchange)
    summary.kind = kind
    summary.exchange = store.exchange
    log.info(
        "import into %s: %d read, %d stored, %d quarantined",
        store.root,
        summary.rows_read,
        summary.rows_stored,
        summary.rows_quarantined,
    )
    return summary


def _week_open_warnings(checked: list[_FileRows], exchange: str) -> list[str]:
    """The forex week opens on Sunday evening (17:00 New York): a '24/5' store's sessions are Monday to
    Friday UTC days, so a currency file's Sunday bars are refused as a closed date. Said plainly, once
    per file that has them."""
    if exchange != "24/5":
        return []
    out = []
    for fr in checked:
        weekday = (fr.local_day.view("int64") + 3) % 7      # Monday 0 .. Sunday 6 (1970-01-01 was a Thursday)
        sundays = int(np.count_nonzero((fr.reason == _CODE[R_CLOSED]) & (weekday == 6)))
        if sundays:
            out.append(f"{fr.path}: {sundays:,} bars fall on Sundays (UTC), before the '24/5' calendar's week opens "
                       "(Monday 00:00 UTC); the currency week's first hours on Sunday evening are not kept "
                       "(sessions across midnight are not supported yet). They are in the quarantine file")
    return out


STORED_CONFLICT_SHARE = 0.5   # a file's rows that differ from bars already stored, that say so
STORED_CONFLICT_MIN = 10


def _stored_conflict_warning(fr: _FileRows, interval: str, kind: str) -> tuple[str | None, dict | None]:
    """A warning (and the stored bars' removal) when most of a file's rows differ from bars the store
    already holds at the same times: those were kept and these quarantined, as when a file imported
    with a wrong --tz or --bar-time is imported again with the right one before its bars were removed.
    (None, None) otherwise."""
    clash = fr.reason == _CODE[R_STORED]
    count, rows = int(clash.sum()), len(fr.reason)
    if count < STORED_CONFLICT_MIN or count < STORED_CONFLICT_SHARE * rows:
        return None, None
    what = "quote bars" if kind == "quotes" else "bars"
    return (f"{count:,} of its {rows:,} rows differ from the {what} the store already holds at the same times; "
            f"those were kept and these went to the quarantine file. If this file is the right one (an earlier "
            f"import of the same {what} read with another time zone or bar time?), remove the stored {what} and "
            "import it again."), _removal(fr, interval, kind, clash)


def _removal(fr: _FileRows, interval: str, kind: str, rows: np.ndarray | None = None) -> dict | None:
    """The bars a file's import stored (or of its `rows`), as `BarStore.remove_bars` takes them (their
    symbols, their first and last exchange-local date, trade or quote bars); None when there are none."""
    ok = fr.reason == 0 if rows is None else rows
    if not ok.any():
        return None
    days = fr.local_day[ok]
    return {"file": str(fr.path), "kind": kind, "symbols": sorted({str(s) for s in fr.symbol[ok]}),
            "interval": interval, "start": str(days.min()), "end": str(days.max())}


REMOVAL_HINT = " To remove them: "      # starts the command a doubting warning ends with


def _removal_hint(store: BarStore, removal: dict | None) -> str:
    """The command that removes the bars of `removal` (`_removal`), after REMOVAL_HINT."""
    if removal is None:
        return ""
    kind = " --kind quotes" if removal["kind"] == "quotes" else ""
    return (f"{REMOVAL_HINT}workstation store remove --store {store.root} --symbol {','.join(removal['symbols'])} "
            f"--interval {removal['interval']}{kind} --start {removal['start']} --end {removal['end']} --yes")


def _split_warnings(store: BarStore, stored: pd.DataFrame) -> list[str]:
    """Overnight jumps around the newly stored bars that look like unrecorded splits (price_jumps.py)."""
    from workstation.store.price_jumps import scan_price_jumps

    if not len(stored):
        return []
    days = stored["day"].to_numpy().astype("datetime64[D]")
    try:
        jumps = scan_price_jumps(store, symbols=sorted(set(stored["symbol"].astype(str))),
                                 first=days.min().astype(object), last=days.max().astype(object))
    except WorkstationError as exc:  # a damaged corporate-actions file must not hide the import's result
        return [f"the check for unrecorded splits could not run: {exc}"]
    for jump in jumps:
        log.warning("%s", jump.message)
    return [jump.message for jump in jumps]


def _files_text(checked: list[_FileRows]) -> str:
    names = [fr.path.name for fr in checked]
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more files" if len(names) > 3 else "")


def _write_bars_reporting(store: BarStore, bars: pd.DataFrame, interval: str, checked: list[_FileRows],
                          kind: str = "bars"):
    """store.write_bars (or write_quotes); when it fails part-way, DataError with what was stored and what was not."""
    try:
        if kind == "quotes":
            from workstation.store.quote_store import write_quotes

            return write_quotes(store, bars, interval)
        return store.write_bars(bars, interval)
    except StoreWriteError as exc:
        read = sum(len(fr.reason) for fr in checked)
        refused = sum(int((fr.reason != 0).sum()) for fr in checked)
        refused_text = (f"{refused:,} were refused by the checks (their quarantine file was not written)"
                        if refused else "none was refused by the checks")
        raise DataError(
            f"the import of {_files_text(checked)} stopped: {exc}. Of {read:,} rows read, {refused_text}"
        ) from exc


def _write_quarantine_reporting(checked: list[_FileRows], store: BarStore, result) -> str | None:
    """_write_quarantine; when it fails, DataError saying the bars were stored and what was refused."""
    try:
        return _write_quarantine(checked, store)
    except DataError as exc:
        by_reason: dict[str, int] = {}
        for fr in checked:
            for code in fr.reason[fr.reason != 0]:
                by_reason[REASONS[code]] = by_reason.get(REASONS[code], 0) + 1
        reasons = ", ".join(f"{r}: {c:,}" for r, c in sorted(by_reason.items()))
        raise DataError(
            f"the import of {_files_text(checked)} stored {result.rows_new:,} new bars "
            f"({counted(len(result.files_touched), 'file')} written completely), but {exc}. The refused rows "
            f"({reasons}) are not in a quarantine file: run the same import again once the store is "
            "writable to get it (stored bars are skipped as duplicates)"
        ) from exc


def _write_quarantine(checked: list[_FileRows], store: BarStore) -> str | None:
    frames = []
    sources = []
    for fr in checked:
        bad = np.flatnonzero(fr.reason != 0)
        if not len(bad):
            continue
        sources.append(fr.path)
        raw = _original_text(fr, bad)
        raw.columns = [
            f"{c}_original" if c in (*QUARANTINE_META_COLUMNS, "import_symbol") else c for c in raw.columns
        ]
        raw["reason"] = [REASONS[c] for c in fr.reason[bad]]
        raw["detail"] = fr.detail[bad]
        raw["import_symbol"] = fr.symbol[bad]
        raw["source_file"] = str(fr.path)
        raw["source_line"] = fr.lines[bad]
        frames.append(raw.reset_index(drop=True))
    if not frames:
        return None
    rows = pd.concat(frames, ignore_index=True)
    meta = ["reason", "detail", "import_symbol", "source_file", "source_line"]
    rows = rows[[c for c in rows.columns if c not in meta] + meta]
    for c in rows.columns:
        if c != "source_line":
            rows[c] = rows[c].astype(object).where(rows[c].notna(), None)
    name = _stem(sources[0]) if len(sources) == 1 else "import"
    return str(store.write_quarantine(rows, name))


def _original_text(fr: _FileRows, rows: np.ndarray) -> pd.DataFrame:
    """The refused rows' fields as text: for CSV exactly as written in the file, for Parquet as str()."""
    columns = [str(c) for c in fr.raw.columns]
    if fr.csv_sep is None:
        raw = fr.raw.iloc[rows]
        text = raw.astype("str").astype(object).where(raw.notna(), None)
        text.columns = columns
        return text.reset_index(drop=True)
    wanted = {int(fr.lines[i]): k for k, i in enumerate(rows)}
    last = max(wanted)
    texts: list[str | None] = [None] * len(rows)
    with _open(fr.path, "rt", encoding=_text_encoding(fr.path), newline="") as fh:
        for number, line in enumerate(fh, start=1):
            k = wanted.get(number)
            if k is not None:
                texts[k] = line.rstrip("\r\n")
            if number >= last:
                break
    fields = [next(csv.reader([t], delimiter=fr.csv_sep)) if t else [] for t in texts]
    values = [[f[j] if j < len(f) and f[j] != "" else None for j in range(len(columns))] for f in fields]
    return pd.DataFrame(values, columns=columns, dtype=object)


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".csv", ".txt", ".tsv", ".parquet", ".pq", ".parq"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name


def _shown_value(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _day_text(day) -> str:
    """An exchange-local date (numpy datetime64[D], pandas Timestamp or date) as YYYY-MM-DD."""
    return str(np.datetime64(day, "D"))


def _iso(ns: int) -> str:
    return pd.Timestamp(int(ns), unit="ns", tz="UTC").isoformat().replace("+00:00", "Z")


def _summarise(
    checked: list[_FileRows],
    good: pd.DataFrame,
    dup_status: np.ndarray,
    unique: pd.DataFrame,
    store: BarStore,
    interval: str,
    quarantine_path: str | None,
    written: list[str],
) -> ImportSummary:
    per: dict[str, dict] = {}

    def entry(sym: str) -> dict:
        return per.setdefault(
            (sym if is_valid_symbol(sym) else "(invalid)") if sym else "(none)",
            {
                "rows_read": 0,
                "rows_stored": 0,
                "rows_quarantined": 0,
                "duplicates": 0,
                "reordered": 0,
                "rth_bars": 0,
                "extended_hours_bars": 0,
                "pre_market_bars": 0,
                "post_market_bars": 0,
                "first": None,
                "last": None,
                "sessions": 0,
                "first_session": None,      # exchange-local dates of the first and last bar (ISO)
                "last_session": None,
            },
        )

    by_reason: dict[str, int] = {}
    # reason -> its distinct details, in file order: (file, first line, rows) of each
    details: dict[str, dict[str, list]] = {}
    for fr in checked:
        fr.info["rows_quarantined"] = int((fr.reason != 0).sum())
        fr.info["reordered"] = int(fr.reordered.sum())
        syms, counts = np.unique(fr.symbol.astype(str), return_counts=True)
        for s, cnt in zip(syms, counts, strict=True):
            entry(s)["rows_read"] += int(cnt)
        bad = fr.reason != 0
        if bad.any():
            syms, counts = np.unique(fr.symbol[bad].astype(str), return_counts=True)
            for s, cnt in zip(syms, counts, strict=True):
                entry(s)["rows_quarantined"] += int(cnt)
            codes, counts = np.unique(fr.reason[bad], return_counts=True)
            for cd, cnt in zip(codes, counts, strict=True):
                by_reason[REASONS[cd]] = by_reason.get(REASONS[cd], 0) + int(cnt)
                seen = details.setdefault(REASONS[cd], {})
                rows = np.flatnonzero(bad & (fr.reason == cd))
                for detail, line in zip(fr.detail[rows].tolist(), fr.lines[rows].tolist(), strict=True):
                    if detail:
                        place = seen.get(str(detail))
                        if place is None:
                            seen[str(detail)] = [fr.path, int(line), 1]
                        else:
                            place[2] += 1
        if fr.reordered.any():
            syms, counts = np.unique(fr.symbol[fr.reordered].astype(str), return_counts=True)
            for s, cnt in zip(syms, counts, strict=True):
                entry(s)["reordered"] += int(cnt)
    dups = good.loc[dup_status == ROW_DUPLICATE, "symbol"].value_counts()
    for s, cnt in dups.items():
        entry(s)["duplicates"] += int(cnt)
    accepted = unique.loc[unique["status"] != ROW_CONFLICT]
    if len(accepted):
        stats = accepted.groupby("symbol").agg(
            stored=("status", lambda x: int((x == ROW_NEW).sum())),
            store_dups=("status", lambda x: int((x == ROW_DUPLICATE).sum())),
            rth=("rth", "sum"),
            pre=("part", lambda x: int((x < 0).sum())),
            post=("part", lambda x: int((x > 0).sum())),
            first=("timestamp", "min"),
            last=("timestamp", "max"),
            sessions=("day", "nunique"),
            first_session=("day", "min"),
            last_session=("day", "max"),
        )
        for s, r in stats.iterrows():
            e = entry(str(s))
            e["rows_stored"] += int(r["stored"])
            e["duplicates"] += int(r["store_dups"])
            e["rth_bars"] = int(r["rth"])
            e["pre_market_bars"] = int(r["pre"])
            e["post_market_bars"] = int(r["post"])
            e["extended_hours_bars"] = e["pre_market_bars"] + e["post_market_bars"]
            e["first"], e["last"] = _iso(r["first"]), _iso(r["last"])
            e["sessions"] = int(r["sessions"])
            e["first_session"], e["last_session"] = _day_text(r["first_session"]), _day_text(r["last_session"])
    rows_read = sum(len(fr.reason) for fr in checked)
    rows_stored = int((unique["status"] == ROW_NEW).sum())
    rows_quarantined = sum(int((fr.reason != 0).sum()) for fr in checked)
    duplicates = sum(e["duplicates"] for e in per.values())
    return ImportSummary(
        store_root=str(store.root),
        interval=interval,
        rows_read=rows_read,
        rows_stored=rows_stored,
        rows_quarantined=rows_quarantined,
        quarantined_by_reason=by_reason,
        per_symbol=per,
        files=[fr.info for fr in checked],
        duplicates_skipped=duplicates,
        reordered=sum(int(fr.reordered.sum()) for fr in checked),
        quarantine_file=quarantine_path,
        files_written=written,
        quarantine_examples={r: list(d)[:QUARANTINE_EXAMPLES] for r, d in details.items() if d},
        quarantine_detail_counts={r: len(d) for r, d in details.items() if d},
        quarantine_example_rows={r: [_row_place(path, line, rows, len(checked) > 1)
                                     for path, line, rows in list(d.values())[:QUARANTINE_EXAMPLES]]
                                 for r, d in details.items() if d},
    )
