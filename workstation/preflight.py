"""Pre-flight checks of a session config against the world it runs in: the bar store, the exchange
calendar and the strategies' code. The config model checks the file on its own (types, ranges,
cross-field rules); these checks answer "would this config run?" before anything starts.

One function, `preflight_problems`, is used by `workstation validate`, `workstation run` and the
config editor (which calls it on every edit, so it keeps a `PreflightCache` of calendars, stores and
the symbols of each store file, keyed by the file's modification time). Problems are
(field path, message) pairs with the paths the editor shows messages next to
('symbols', 'backtest.start_date', 'strategies.0.params', ...). No threads, no Qt.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from workstation.calendar import TimeManager, overnight_problem
from workstation.errors import CalendarError, ConfigError, DataError, StoreError, StrategyError
from workstation.indicators import IndicatorError, make_indicator
from workstation.store import BarStore
from workstation.strategies.loader import StrategyClassError, load_strategy, strategy_class

if TYPE_CHECKING:
    from workstation.config import SessionConfig

Problem = tuple[str, str]
_SAMPLE = 12


@dataclass
class PreflightCache:
    """Calendars, stores and per-file symbol lists reused across checks (one per editor)."""

    calendars: dict[tuple[str, str], TimeManager] = field(default_factory=dict)
    stores: dict[Path, BarStore] = field(default_factory=dict)
    file_symbols: dict[Path, tuple[int, frozenset[str]]] = field(default_factory=dict)

    def calendar(self, exchange: str, tz: str) -> TimeManager:
        key = (exchange, tz)
        tm = self.calendars.get(key)
        if tm is None:
            tm = self.calendars[key] = TimeManager(exchange, tz)
        return tm

    def store(self, root: Path) -> BarStore:
        key = root.resolve()
        store = self.stores.get(key)
        if store is None or not store.exists:
            store = BarStore(root)
            self.stores[key] = store
        return store

    def symbols_in(self, store: BarStore, path: Path) -> frozenset[str]:
        """Symbols of one store file (re-read only when the file changed)."""
        stamp = path.stat().st_mtime_ns
        cached = self.file_symbols.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        symbols = frozenset(store.file_symbols(path))
        self.file_symbols[path] = (stamp, symbols)
        return symbols


def preflight_problems(
    cfg: SessionConfig, store_path: str | Path | None = None, cache: PreflightCache | None = None
) -> list[Problem]:
    """Every reason `cfg` would not run (empty list: it runs). `store_path` overrides the config's
    `data_source.store_path` (relative paths are from the working directory)."""
    cache = cache if cache is not None else PreflightCache()
    problems: list[Problem] = []
    uses_store = cfg.mode == "backtest" or cfg.live.provider == "replay"
    tm: TimeManager | None = None
    try:
        tm = cache.calendar(cfg.exchange, cfg.timezone)
    except CalendarError as exc:
        problems.append(("exchange", str(exc)))
    if tm is not None and cfg.session_hours == "extended" and not tm.has_extended_hours:
        problems.append(("session_hours", f"exchange calendar {cfg.exchange!r} has no pre-/post-market times: "
                                          "use exchange 'NYSE' or 'NASDAQ' for extended hours"))
    if tm is not None:
        today = dt.date.today()
        first, last = ((cfg.backtest.start_date, cfg.backtest.end_date) if uses_store
                       else (today - dt.timedelta(days=7), today + dt.timedelta(days=14)))
        overnight = tm.overnight_session(first, last)
        if overnight is not None:
            problems.append(("exchange", overnight_problem(cfg.exchange, overnight, tm.exchange_tz)))
    sessions: list[dt.date] = []
    if tm is not None and uses_store:
        start, end = cfg.backtest.start_date, cfg.backtest.end_date
        sessions = [s.date for s in tm.sessions(start, end)]
        if not sessions:
            problems.append(
                ("backtest.start_date", f"no trading days between {start} and {end} on {cfg.exchange}")
            )
    if uses_store:
        problems += _store_problems(cfg, store_path, cache, sessions)
    problems += _strategy_problems(cfg)
    return problems


def check_runnable(
    cfg: SessionConfig, store_path: str | Path | None = None, source: str = "<config>",
    cache: PreflightCache | None = None,
) -> None:
    """Raise ConfigError listing every pre-flight problem of `cfg` (nothing when it would run)."""
    problems = preflight_problems(cfg, store_path, cache)
    if problems:
        raise ConfigError(source, problems)


def _store_problems(
    cfg: SessionConfig, store_path: str | Path | None, cache: PreflightCache, sessions: list[dt.date]
) -> list[Problem]:
    root = Path(store_path if store_path is not None else cfg.data_source.store_path)
    where = "data_source.store_path"
    try:
        store = cache.store(root)
    except StoreError as exc:
        return [(where, str(exc))]
    interval = cfg.streams.interval
    try:
        days = store.dates(interval)
        if not days:
            return [(where, f"the bar store {root} has no {interval} bars; import some with "
                            f"`workstation import FILE --store {root}`")]
        in_range = [d for d in days if cfg.backtest.start_date <= d <= cfg.backtest.end_date]
        problems: list[Problem] = []
        if sessions and not in_range:
            problems.append((
                "backtest.start_date",
                f"the bar store {root} has no {interval} bars between {cfg.backtest.start_date} and "
                f"{cfg.backtest.end_date}; it has {days[0]} to {days[-1]}",
            ))
        present: set[str] = set()
        for day in in_range:
            present |= cache.symbols_in(store, store.day_file(interval, day))
        missing = [s for s in cfg.symbols if s not in present]
        if missing and in_range:
            everywhere: set[str] = set(present)
            for day in days:
                if day not in in_range:
                    everywhere |= cache.symbols_in(store, store.day_file(interval, day))
            absent = [s for s in missing if s not in everywhere]
            elsewhere = [s for s in missing if s in everywhere]
            if absent:
                sample = ", ".join(sorted(everywhere)[:_SAMPLE]) or "none"
                more = " …" if len(everywhere) > _SAMPLE else ""
                problems.append((
                    "symbols",
                    f"{', '.join(absent)} {'has' if len(absent) == 1 else 'have'} no {interval} bars in the "
                    f"store {root} (it has {sample}{more}); import them or remove them from 'symbols'",
                ))
            if elsewhere:
                problems.append((
                    "symbols",
                    f"{', '.join(elsewhere)} {'has' if len(elsewhere) == 1 else 'have'} no {interval} bars "
                    f"between {cfg.backtest.start_date} and {cfg.backtest.end_date} in the store {root}",
                ))
        if cfg.execution.fill_prices == "quotes" and in_range:
            from workstation.store.quote_store import quote_dates

            if not any(cfg.backtest.start_date <= d <= cfg.backtest.end_date for d in quote_dates(store, interval)):
                problems.append((
                    "execution.fill_prices",
                    f"fill_prices 'quotes' needs quote bars, but the store {root} has no {interval} quote bars "
                    f"between {cfg.backtest.start_date} and {cfg.backtest.end_date}; import them with "
                    f"`workstation import FILE --kind quotes --store {root}`, or fill at 'trades'",
                ))
        if cfg.prices == "adjusted":
            try:
                store.price_adjustments()  # the recorded corporate actions read and resolved (cached per file state)
            except DataError as exc:
                problems.append(("prices", f"prices: adjusted needs the store's corporate actions: {exc}"))
        return problems
    except StoreError as exc:
        return [(where, str(exc))]


def _strategy_problems(cfg: SessionConfig) -> list[Problem]:
    problems: list[Problem] = []
    for i, st in enumerate(cfg.strategies):
        if not st.enabled:
            continue
        try:
            strategy_class(st, i)
        except StrategyClassError as exc:
            problems.append((f"strategies.{i}.class_path", _without_entry(str(exc), i)))
            continue
        try:
            strategy = load_strategy(cfg, st, i)
        except StrategyError as exc:
            problems.append((f"strategies.{i}.params", _without_entry(str(exc), i)))
            continue
        try:
            specs = list(strategy.required_indicators())
        except Exception as exc:  # noqa: BLE001 - a user strategy's own bug, reported where it lives
            problems.append((f"strategies.{i}.params", f"required_indicators() failed: {type(exc).__name__}: {exc}"))
            continue
        for spec in specs:
            try:
                make_indicator(spec)
            except IndicatorError as exc:
                problems.append((f"strategies.{i}.params", f"the strategy asks for indicator {spec!r}: {exc}"))
    return problems


def _without_entry(message: str, index: int) -> str:
    """The loader's message without its 'strategies[i] ('name'): ' prefix (the path says where)."""
    prefix = f"strategies[{index}] ("
    if message.startswith(prefix) and "): " in message:
        return message.split("): ", 1)[1]
    return message
