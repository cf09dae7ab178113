"""Corporate actions (splits and cash dividends) and split/dividend-adjusted prices, applied at read time.

The store keeps raw bars and never rewrites them. Recorded actions live beside them in
`<store>/corporate_actions.json` (written atomically under the store's write lock). A run with
`prices: adjusted` reads its bars through `AdjustedBarStore`, which applies `PriceAdjustments` to
every read (session arrays, bar frames, daily bars); `prices: raw` reads the bars as stored. The
sweep's in-memory store carries the adjustments resolved by the driver from the real store, so a
cell and a plain run adjust identically (one implementation, here).

The rule (a bar's exchange-local date d; the actions of its symbol with effective date E > d):
- split of ratio R (R new shares per old share; 7 = 7-for-1, 0.1 = 1-for-10 reverse): open, high,
  low, close and vwap are divided by R, volume multiplied by R;
- cash dividend D per share with ex-date E: prices multiplied by 1 - D / C, C = the raw close of the
  last session before E in the store (the daily bar's close, else the last regular-session 1m bar's
  close); volume unchanged. A dividend with no stored close before it adjusts nothing (no bar
  precedes it);
- several actions multiply: price = raw / (product of R) * (product of (1 - D / C)).
Bars on or after the last action's effective date are unchanged: adjusted prices are in today's
units. trade_count is unchanged.

Dates are exchange-local calendar dates; times int ns UTC (bar start). Read-only objects are
thread safe; the import holds the store's write lock for its read-check-write.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from workstation.atomic_files import os_error_text, write_bytes_atomic
from workstation.calendar import as_date
from workstation.errors import DataError, StoreError, counted, named
from workstation.model import shown_symbol, symbol_problem

if TYPE_CHECKING:
    import pandas as pd

    from workstation.store.bar_store import DailyArrays

ACTIONS_FILE = "corporate_actions.json"
ACTIONS_FORMAT_VERSION = 1
SPLIT, DIVIDEND = "split", "dividend"
MAX_LISTED_PROBLEMS = 20
_SEARCH_SESSIONS_BACK = 10

_SYMBOL_COLUMNS = ("symbol", "ticker")
_DATE_COLUMNS = ("effective_date", "ex_date", "exdate", "date")
_RATIO_COLUMNS = ("split_ratio", "ratio", "split")
_DIVIDEND_COLUMNS = ("dividend", "cash_dividend", "cash_amount", "amount")
_RATIO_TEXT = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(?::|/|-for-|\s+for\s+)\s*([0-9]*\.?[0-9]+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class CorporateAction:
    """One split (`value` = ratio, new shares per old share) or cash dividend (`value` = cash per share,
    as paid, not adjusted for later splits), effective at the open of `effective_date` (the ex-date)."""

    symbol: str
    effective_date: dt.date
    kind: str     # SPLIT or DIVIDEND
    value: float
    source: str = ""

    @property
    def key(self) -> tuple[str, dt.date, str]:
        return self.symbol, self.effective_date, self.kind

    def describe(self) -> str:
        if self.kind == SPLIT:
            return f"{self.symbol} {self.effective_date} split {ratio_text(self.value)}"
        return f"{self.symbol} {self.effective_date} dividend {self.value:g}"

    def to_json(self) -> dict:
        out: dict[str, Any] = {"symbol": self.symbol, "effective_date": self.effective_date.isoformat(),
                               "kind": self.kind}
        out["ratio" if self.kind == SPLIT else "dividend"] = self.value
        if self.source:
            out["source"] = self.source
        return out


def ratio_text(ratio: float) -> str:
    """7 -> '7-for-1', 1.5 -> '3-for-2', 0.1 -> '1-for-10 (reverse)'."""
    for m in range(1, 11):
        n = ratio * m
        if abs(n - round(n)) < 1e-9 * max(n, 1.0):
            return f"{round(n)}-for-{m}" + (" (reverse)" if ratio < 1 else "")
    inverse = 1.0 / ratio
    if abs(inverse - round(inverse)) < 1e-9 * inverse:
        return f"1-for-{round(inverse)} (reverse)"
    return f"{ratio:g}-for-1"


# ---------------------------------------------------------------------- the stored file
def actions_path(root: str | Path) -> Path:
    return Path(root) / ACTIONS_FILE


def read_actions(root: str | Path) -> list[CorporateAction]:
    """The actions recorded in the store at `root` (empty when none were ever imported)."""
    path = actions_path(root)
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"cannot read the corporate actions {path}: {exc}; restore it, or delete it and import "
                         "the actions again") from exc
    if not isinstance(data, dict) or not isinstance(data.get("actions"), list):
        raise StoreError(f"{path} is not a corporate-actions file (expected an object with an 'actions' list)")
    out = []
    for i, item in enumerate(data["actions"]):
        try:
            kind = str(item["kind"])
            value = float(item["ratio"] if kind == SPLIT else item["dividend"])
            if kind not in (SPLIT, DIVIDEND) or not (math.isfinite(value) and value > 0):
                raise ValueError(f"kind {kind!r} value {value!r}")
            out.append(CorporateAction(str(item["symbol"]), dt.date.fromisoformat(str(item["effective_date"])), kind,
                                       value, str(item.get("source", ""))))
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"{path}: action {i + 1} is damaged ({exc}); restore the file, or delete it and import "
                             "the actions again") from None
    return out


def _write_actions(root: Path, actions: Sequence[CorporateAction]) -> None:
    ordered = sorted(actions, key=lambda a: (a.symbol, a.effective_date, a.kind))
    doc = {"format_version": ACTIONS_FORMAT_VERSION, "actions": [a.to_json() for a in ordered]}
    try:
        write_bytes_atomic(actions_path(root), (json.dumps(doc, indent=2) + "\n").encode(), durable=True)
    except OSError as exc:
        raise StoreError(f"cannot write {actions_path(root)}: {os_error_text(exc)}; the recorded actions are "
                         "unchanged") from None


# ---------------------------------------------------------------------- parsing a corporate-actions CSV
def _column(header: list[str], names: Sequence[str]) -> str | None:
    return next((n for n in names if n in header), None)


def _parse_ratio(text: str) -> float:
    m = _RATIO_TEXT.match(text)
    if m:
        new, old = float(m.group(1)), float(m.group(2))
        if old <= 0:
            raise ValueError(f"split ratio {text!r} has a non-positive second number")
        return new / old
    return float(text)


def _parse_date(text: str) -> dt.date:
    day = dt.date.fromisoformat(text.strip())  # YYYY-MM-DD or YYYYMMDD
    if not dt.date(1900, 1, 1) <= day <= dt.date(2100, 12, 31):
        raise ValueError("outside 1900 .. 2100")
    return day


def parse_actions_file(path: str | Path, known_symbols: set[str] | None = None) -> list[CorporateAction]:
    """Every row of a corporate-actions CSV, checked; DataError listing each bad line (nothing is kept).

    Columns (a header row, any case, any order): symbol (or ticker); effective_date (or ex_date, date),
    YYYY-MM-DD; split_ratio (or ratio, split): `7`, `7:1`, `7/1`, `3-for-2`, `1:10` (reverse);
    dividend (or cash_dividend, amount): cash per share. Each row has a split ratio or a dividend.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read the corporate-actions file {path}: {os_error_text(exc)}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV") from None
    reader = csv.reader(io.StringIO(text))
    rows = [(reader.line_num, r) for r in reader]
    rows = [(n, r) for n, r in rows if any(c.strip() for c in r)]
    if not rows:
        raise DataError(f"{path} is empty: a corporate-actions file has a header row (symbol, effective_date, "
                        "split_ratio, dividend) and one row per action")
    header_line, header_cells = rows[0]
    header = [c.strip().lower().replace(" ", "_") for c in header_cells]
    sym_col, date_col = _column(header, _SYMBOL_COLUMNS), _column(header, _DATE_COLUMNS)
    ratio_col, div_col = _column(header, _RATIO_COLUMNS), _column(header, _DIVIDEND_COLUMNS)
    missing = [what for what, col in (("symbol", sym_col), ("effective_date", date_col)) if col is None]
    if ratio_col is None and div_col is None:
        missing.append("split_ratio or dividend")
    if missing:
        raise DataError(f"{path} line {header_line}: the header lacks {named('column', missing)} "
                        f"(found: {', '.join(header) or 'none'}); nothing was written")
    index = {name: header.index(name) for name in (sym_col, date_col, ratio_col, div_col) if name}
    problems: list[str] = []
    actions: list[CorporateAction] = []
    first_line: dict[tuple[str, dt.date, str], int] = {}
    if len(rows) == 1:
        problems.append(f"line {header_line}: a header but no action rows")
    for line, cells in rows[1:]:
        def cell(name: str | None, cells: list[str] = cells) -> str:
            i = index.get(name) if name else None
            return cells[i].strip() if i is not None and i < len(cells) else ""

        symbol = cell(sym_col).upper()
        where = f"line {line}"
        if not symbol:
            problems.append(f"{where}: no symbol")
            continue
        bad = symbol_problem(symbol)
        if bad:
            problems.append(f"{where}: {bad}")
            continue
        if known_symbols is not None and symbol not in known_symbols:
            problems.append(f"{where}: unknown symbol {shown_symbol(symbol)} (the store has no bars of it; import its "
                            "bars first)")
            continue
        try:
            day = _parse_date(cell(date_col))
        except ValueError:
            problems.append(f"{where}: unparseable effective date {cell(date_col)!r} (expected YYYY-MM-DD)")
            continue
        ratio_text_, dividend_text = cell(ratio_col), cell(div_col).lstrip("$")
        if bool(ratio_text_) == bool(dividend_text):
            problems.append(f"{where}: give either a split ratio or a dividend"
                            + (" (both are filled)" if ratio_text_ else " (both are empty)"))
            continue
        kind = SPLIT if ratio_text_ else DIVIDEND
        try:
            value = _parse_ratio(ratio_text_) if kind == SPLIT else float(dividend_text)
        except ValueError:
            problems.append(f"{where}: {'split ratio' if kind == SPLIT else 'dividend'} "
                            f"{ratio_text_ or dividend_text!r} is not a number")
            continue
        if not math.isfinite(value) or value <= 0:
            what = "split ratio" if kind == SPLIT else "dividend"
            problems.append(f"{where}: {what} {ratio_text_ or dividend_text!r} is not positive; a {what} must be "
                            "greater than 0")
            continue
        if kind == SPLIT and value == 1.0:
            problems.append(f"{where}: split ratio {ratio_text_!r} is 1 and changes nothing")
            continue
        action = CorporateAction(symbol, day, kind, value, f"{path.name} line {line}")
        if action.key in first_line:
            problems.append(f"{where}: duplicate of line {first_line[action.key]} ({symbol} {day} {kind})")
            continue
        first_line[action.key] = line
        actions.append(action)
    if problems:
        raise actions_error(path, problems)
    return actions


def actions_error(path: Path, problems: list[str]) -> DataError:
    listed = problems[:MAX_LISTED_PROBLEMS]
    more = [f"... and {len(problems) - len(listed)} more"] if len(problems) > len(listed) else []
    return DataError(f"corporate-actions file {path} has {counted(len(problems), 'problem')}; nothing was written:\n"
                     + "\n".join(f"  {p}" for p in [*listed, *more]))


# ---------------------------------------------------------------------- import
@dataclass
class ActionsImportSummary:
    """What `import_actions` did; `to_dict()` is the JSON of `workstation store import-actions --json`."""

    store_root: str
    file: str
    added: list[CorporateAction]
    replaced: list[CorporateAction]
    already_recorded: list[CorporateAction]
    total_recorded: int
    warnings: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"store": self.store_root, "file": self.file, "added": [a.to_json() for a in self.added],
                "replaced": [a.to_json() for a in self.replaced],
                "already_recorded": [a.to_json() for a in self.already_recorded],
                "total_recorded": self.total_recorded, "warnings": list(self.warnings)}

    def render(self) -> str:
        lines = [f"Corporate actions from {self.file} into {self.store_root}: {len(self.added)} added, "
                 f"{len(self.replaced)} replaced, {len(self.already_recorded)} already recorded; "
                 f"{self.total_recorded} recorded in all"]
        lines += [f"  + {a.describe()}" for a in self.added]
        lines += [f"  ~ {a.describe()} (replaced)" for a in self.replaced]
        lines += [f"warning: {w['message']}" for w in self.warnings]
        return "\n".join(lines)


def import_actions(path: str | Path, store, replace: bool = False) -> ActionsImportSummary:
    """Check a corporate-actions CSV against the store and record its actions (see the module docstring).

    Refused as a whole (DataError naming the file and lines, nothing written): any bad row (unknown
    symbol, unparseable date, non-positive ratio, duplicate rows), a row that differs from an action
    already recorded for the same symbol, date and kind (unless `replace`), a dividend not below the
    close it is measured against. The write holds the store's write lock and replaces the file atomically.
    """
    from workstation.store.price_jumps import scan_price_jumps

    path = Path(path)
    known = set(store.symbols())
    actions = parse_actions_file(path, known)
    with store.writing():
        recorded = {a.key: a for a in read_actions(store.root)}
        problems, added, replaced, same = [], [], [], []
        for action in actions:
            old = recorded.get(action.key)
            if old is None:
                added.append(action)
            elif old.value == action.value:
                same.append(action)
            elif replace:
                replaced.append(action)
            else:
                problems.append(f"line {action.source.rsplit(' line ', 1)[-1]}: {action.describe()} differs from "
                                f"the recorded {old.describe()} "
                                f"({old.source or 'recorded earlier'}); use --replace to record the new value")
        merged = dict(recorded)
        for action in (*added, *replaced):
            merged[action.key] = action
        adjustments = None
        try:
            adjustments = resolve_adjustments(list(merged.values()), store)
        except DataError as exc:
            problems.append(str(exc))
        if problems:
            raise actions_error(path, problems)
        if added or replaced:
            _write_actions(store.root, list(merged.values()))
    summary = ActionsImportSummary(str(store.root), str(path), added, replaced, same, len(merged))
    touched = sorted({a.symbol for a in actions})
    summary.warnings = [j.to_dict() for j in scan_price_jumps(store, adjustments, symbols=touched)]
    return summary


# ---------------------------------------------------------------------- resolved adjustment factors
@dataclass(frozen=True)
class SymbolAdjustment:
    """One symbol's actions as arrays, by effective date ascending: `split_ratio` (1 for a dividend)
    and `dividend_factor` (1 - D / C; 1 for a split)."""

    effective: np.ndarray        # datetime64[D]
    split_ratio: np.ndarray      # float64
    dividend_factor: np.ndarray  # float64

    def factors(self, local_dates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(split divisor, dividend multiplier) per bar date: the products over actions effective after it."""
        n = len(self.effective)
        divisor = np.ones(n + 1)
        multiplier = np.ones(n + 1)
        divisor[:n] = np.cumprod(self.split_ratio[::-1])[::-1]
        multiplier[:n] = np.cumprod(self.dividend_factor[::-1])[::-1]
        idx = np.searchsorted(self.effective, np.asarray(local_dates, dtype="datetime64[D]"), side="right")
        return divisor[idx], multiplier[idx]


_PRICE_FIELDS = ("open", "high", "low", "close", "vwap")


@dataclass(frozen=True)
class PriceAdjustments:
    """Every symbol's resolved split and dividend factors; empty = prices stay raw. Picklable (shipped
    to sweep workers)."""

    by_symbol: dict[str, SymbolAdjustment] = field(default_factory=dict)
    actions: tuple[CorporateAction, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.by_symbol)

    def as_of(self, day: dt.date) -> PriceAdjustments:
        """Only the actions effective on or before `day` (a live run: its live bars are raw, so an action
        recorded ahead of its date must not adjust the history yet)."""
        limit = np.datetime64(day, "D")
        kept = {}
        for symbol, adj in self.by_symbol.items():
            keep = adj.effective <= limit
            if keep.any():
                kept[symbol] = SymbolAdjustment(adj.effective[keep], adj.split_ratio[keep], adj.dividend_factor[keep])
        return PriceAdjustments(kept, tuple(a for a in self.actions if a.effective_date <= day))

    def adjust_frame(self, frame: pd.DataFrame, local_dates: np.ndarray) -> pd.DataFrame:
        """A copy of a bar frame (symbol, open/high/low/close[/vwap], volume) adjusted; `local_dates` are the
        rows' exchange-local dates. Rows of symbols without actions are unchanged."""
        import pandas as pd

        if not self.by_symbol or not len(frame):
            return frame
        symbols = frame["symbol"].astype(str).to_numpy(dtype=object)
        present = set(pd.unique(symbols))
        hit = [s for s in self.by_symbol if s in present]
        if not hit:
            return frame
        divisor = np.ones(len(frame))
        multiplier = np.ones(len(frame))
        local_dates = np.asarray(local_dates, dtype="datetime64[D]")
        for symbol in hit:
            rows = np.flatnonzero(symbols == symbol)
            divisor[rows], multiplier[rows] = self.by_symbol[symbol].factors(local_dates[rows])
        out = frame.copy()
        for c in _PRICE_FIELDS:
            if c in out.columns:
                values = pd.to_numeric(out[c]).to_numpy(dtype=np.float64, na_value=np.nan)
                out[c] = values / divisor * multiplier
        if "volume" in out.columns:
            out["volume"] = pd.to_numeric(out["volume"]).to_numpy(dtype=np.float64) * divisor
        return out

    def adjust_daily_arrays(self, arrays: DailyArrays, symbols: Sequence[str]) -> DailyArrays:
        """Daily store arrays adjusted as `adjust_frame` adjusts a frame (the same operations per row,
        by each bar's exchange-local date); without pandas."""
        divisor = np.ones(arrays.rows)
        multiplier = np.ones(arrays.rows)
        hit = False
        for i, symbol in enumerate(symbols):
            adjustment = self.by_symbol.get(symbol)
            rows = np.flatnonzero(arrays.symbol_index == i) if adjustment is not None else ()
            if len(rows):
                divisor[rows], multiplier[rows] = adjustment.factors(arrays.date[rows])  # type: ignore[union-attr]
                hit = True
        if not hit:
            return arrays
        return arrays._replace(open=arrays.open / divisor * multiplier, high=arrays.high / divisor * multiplier,
                               low=arrays.low / divisor * multiplier, close=arrays.close / divisor * multiplier,
                               volume=arrays.volume * divisor)

    def session_factors(self, symbols: Sequence[str], day: dt.date) -> tuple[np.ndarray, np.ndarray] | None:
        """(split divisor, dividend multiplier) per entry of `symbols` on `day`; None when all are 1."""
        divisor = np.ones(len(symbols))
        multiplier = np.ones(len(symbols))
        date = np.array([np.datetime64(day, "D")])
        for i, symbol in enumerate(symbols):
            adj = self.by_symbol.get(symbol)
            if adj is not None:
                d, m = adj.factors(date)
                divisor[i], multiplier[i] = d[0], m[0]
        if (divisor == 1.0).all() and (multiplier == 1.0).all():
            return None
        return divisor, multiplier


def _previous_close(store, symbol: str, day: dt.date) -> tuple[dt.date, float] | None:
    """The raw close of the last session before `day` with bars of `symbol`: (date, close) or None."""
    import pandas as pd

    from workstation.store.schema import DAILY_INTERVAL

    found: list[tuple[dt.date, int, float]] = []
    daily = store.read_daily([symbol], day - dt.timedelta(days=400), day - dt.timedelta(days=1))
    if len(daily):
        found.append((daily["date"].iloc[-1], 1, float(daily["close"].iloc[-1])))
    intraday = [i for i in store.intervals() if i != DAILY_INTERVAL]
    if intraday:
        interval = intraday[-1] if "1m" not in intraday else "1m"
        days = [d for d in store.dates(interval) if d < day][-_SEARCH_SESSIONS_BACK:]
        tm = store.time_manager
        for d in reversed(days):
            start = int(pd.Timestamp(d).tz_localize(tm.tz).tz_convert("UTC").value)
            end = int(pd.Timestamp(d + dt.timedelta(days=1)).tz_localize(tm.tz).tz_convert("UTC").value)
            bars = store.read_bars([symbol], interval, start, end, rth_only=True)
            if len(bars):
                found.append((d, 0, float(bars["close"].iloc[-1])))
                break
    if not found:
        return None
    date, _, close = max(found)  # the later date; on the same date the daily bar's (official) close
    return date, close


def resolve_adjustments(actions: Sequence[CorporateAction], store) -> PriceAdjustments:
    """PriceAdjustments of `actions` over the raw bars of `store` (a BarStore: dividends need the close
    before their ex-date). DataError when a dividend is not below that close."""
    by: dict[str, list[tuple[np.datetime64, float, float]]] = {}
    problems = []
    for a in sorted(actions, key=lambda a: (a.symbol, a.effective_date, a.kind)):
        if a.kind == SPLIT:
            by.setdefault(a.symbol, []).append((np.datetime64(a.effective_date, "D"), a.value, 1.0))
            continue
        previous = _previous_close(store, a.symbol, a.effective_date)
        if previous is None:
            continue  # no bar before the ex-date: nothing to adjust
        date, close = previous
        if not a.value < close:
            problems.append(f"{a.source or 'recorded'}: {a.describe()} is not below the close {close:g} of {date}, "
                            "so it cannot be a cash dividend per share (a split written as a dividend?)")
            continue
        by.setdefault(a.symbol, []).append((np.datetime64(a.effective_date, "D"), 1.0, 1.0 - a.value / close))
    if problems:
        raise DataError("; ".join(problems))
    resolved = {}
    for symbol, rows in by.items():
        rows.sort(key=lambda r: r[0])
        resolved[symbol] = SymbolAdjustment(np.array([r[0] for r in rows], dtype="datetime64[D]"),
                                            np.array([r[1] for r in rows], dtype=np.float64),
                                            np.array([r[2] for r in rows], dtype=np.float64))
    return PriceAdjustments(resolved, tuple(actions))


def store_adjustments(store) -> PriceAdjustments:
    """The store's recorded actions resolved against its bars (cached per state of the actions file)."""
    path = actions_path(store.root)
    try:
        st = path.stat()
        stamp: tuple | None = (st.st_mtime_ns, st.st_size)
    except OSError:
        stamp = None
    cache = getattr(store, "_adjustments_cache", None)
    if cache is not None and cache[0] == stamp:
        return cache[1]
    result = resolve_adjustments(read_actions(store.root), store) if stamp is not None else PriceAdjustments()
    store._adjustments_cache = (stamp, result)
    return result


# ---------------------------------------------------------------------- the adjusted read side
class AdjustedBarStore:
    """A bar source's reads with split/dividend-adjusted prices (module docstring); every other attribute
    is the wrapped store's. Thread safe as the wrapped store."""

    def __init__(self, source, adjustments: PriceAdjustments | None = None):
        self.source = source
        self.adjustments = adjustments if adjustments is not None else source.price_adjustments()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.source, name)

    def price_adjustments(self) -> PriceAdjustments:
        return self.adjustments

    def read_bars(self, symbols: Sequence[str] | None, interval: str, start_ns: int, end_ns: int,
                  rth_only: bool = False) -> pd.DataFrame:
        frame = self.source.read_bars(symbols, interval, start_ns, end_ns, rth_only)
        if not self.adjustments or not len(frame):
            return frame
        import pandas as pd

        ts = pd.DatetimeIndex(frame["timestamp"]).as_unit("ns").asi8
        return self.adjustments.adjust_frame(frame, self.source.time_manager.local_dates(ts))

    def read_daily(self, symbols: Sequence[str] | None, start_date: dt.date | str,
                   end_date: dt.date | str) -> pd.DataFrame:
        frame = self.source.read_daily(symbols, start_date, end_date)
        if not self.adjustments or not len(frame):
            return frame
        local = np.array([np.datetime64(d, "D") for d in frame["date"]], dtype="datetime64[D]")
        return self.adjustments.adjust_frame(frame, local)

    def read_daily_arrays(self, symbols: Sequence[str], start_date: dt.date | str, end_date: dt.date | str):
        arrays = self.source.read_daily_arrays(symbols, start_date, end_date)
        if not self.adjustments or not arrays.rows:
            return arrays
        return self.adjustments.adjust_daily_arrays(arrays, symbols)

    def read_session_arrays(self, date: dt.date | str, interval: str, symbols: Sequence[str],
                            rth_only: bool = True):
        arrays = self.source.read_session_arrays(date, interval, symbols, rth_only)
        if not self.adjustments or not arrays.rows:
            return arrays
        factors = self.adjustments.session_factors(symbols, as_date(date))
        if factors is None:
            return arrays
        divisor, multiplier = factors[0][arrays.symbol_index], factors[1][arrays.symbol_index]
        return arrays._replace(open=arrays.open / divisor * multiplier, high=arrays.high / divisor * multiplier,
                               low=arrays.low / divisor * multiplier, close=arrays.close / divisor * multiplier,
                               volume=arrays.volume * divisor)


def bar_source_for(store, prices: str, as_of: dt.date | None = None):
    """The store a run with `prices` ('raw' or 'adjusted') reads: the raw store, or it adjusted (by the
    actions effective on or before `as_of` when given: live runs)."""
    raw = store.source if isinstance(store, AdjustedBarStore) else store
    if prices != "adjusted":
        return raw
    if isinstance(store, AdjustedBarStore) and as_of is None:
        return store
    adjustments = raw.price_adjustments()
    return AdjustedBarStore(raw, adjustments if as_of is None else adjustments.as_of(as_of))
