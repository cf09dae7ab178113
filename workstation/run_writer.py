"""RunWriter: writes a run folder as the run goes, so a run stopped halfway keeps what it produced.

Layout of a run folder (every Parquet "file" that grows per session is a folder of one part per
session, which `pandas.read_parquet`, `pyarrow.parquet.read_table` and DuckDB's
`read_parquet('run/bars.parquet/*.parquet')` read as one table; each part is written atomically):

    config.json        the resolved config (after command-line overrides)
    bars.parquet/      every session bar, streamed and derived: symbol, interval, timestamp, OHLCV
    quality.parquet/   session_date, symbol, interval, expected, present, quality_pct, gaps, missing
    gaps.parquet/      session_date, symbol, interval, start, end, missing, status: every gap (missing
                       bars cover [start, end)), streamed and derived intervals
    signals.parquet/   time, symbol, strategy, action, quantity, price, confidence, approved, reason, kind
    trades.parquet     symbol, quantity, entry/exit time and price, pnl, commission, strategy
    equity.parquet     time, equity, cash, positions_value, gross_exposure
    metrics.json       session reports and the backtest report (SPEC 5.8)
    report.txt         the same as text, plus the backtest statistics
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from workstation.config import dump_config
from workstation.execution.results import trades_frame
from workstation.execution.stats import compute_stats
from workstation.pipeline.gap_list import gaps_frame

log = logging.getLogger(__name__)


def _atomic_parquet(df: pd.DataFrame, path: Path) -> None:
    _atomic_table(pa.Table.from_pandas(df, preserve_index=False), path)


def _atomic_table(table: pa.Table, path: Path) -> None:
    """Write a Parquet file through a temporary name, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name, suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def session_bars_table(symbols: list[str], intervals: list[str], bars: dict) -> pa.Table:
    """One session's bars as the bars.parquet table: symbol, interval, timestamp (UTC bar start),
    open, high, low, close, volume; ordered by interval, then symbol, then time. `bars` maps
    (symbol, interval) to a BarsView (missing keys = no bars)."""
    keys = [(s, iv) for iv in intervals for s in symbols if (s, iv) in bars]
    views = [bars[k] for k in keys]
    counts = np.array([v.timestamp.shape[0] for v in views], dtype=np.int64)
    sym_index = {s: i for i, s in enumerate(symbols)}
    iv_index = {iv: i for i, iv in enumerate(intervals)}
    sym_codes = np.repeat(np.array([sym_index[s] for s, _ in keys], dtype=np.int32), counts)
    iv_codes = np.repeat(np.array([iv_index[iv] for _, iv in keys], dtype=np.int32), counts)

    def column(name: str, dtype) -> np.ndarray:
        parts = [np.asarray(getattr(v, name)) for v in views]
        return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)

    return pa.table({
        "symbol": pa.DictionaryArray.from_arrays(sym_codes, pa.array(list(symbols))).cast(pa.string()),
        "interval": pa.DictionaryArray.from_arrays(iv_codes, pa.array(list(intervals))).cast(pa.string()),
        "timestamp": pa.array(column("timestamp", np.int64), type=pa.timestamp("ns", tz="UTC")),
        **{c: pa.array(column(c, np.float64)) for c in ("open", "high", "low", "close", "volume")},
    })


def _atomic_text(text: str, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


class RunWriter:
    """Observer of one SystemManager that writes its run folder."""

    def __init__(self, system, run_dir: str | Path, write_bars: bool = True):
        self.system = system
        self.run_dir = Path(run_dir)
        self.write_bars = write_bars
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._signals: list[tuple] = []
        self._session_reports: list[dict] = []
        self._part = 0
        self.tz = system.cfg.timezone
        (self.run_dir / "config.json").write_text(dump_config(system.cfg), encoding="utf-8")
        ev = system.events
        ev.subscribe("decision", self._on_decision)
        ev.subscribe("error", self._on_error)
        ev.subscribe("session_end", self._on_session_end)
        ev.subscribe("backtest_end", self._on_end)
        self.closed = False

    # ------------------------------------------------------------------ events
    def _on_decision(self, _kind, d) -> None:
        s = d.signal
        self._signals.append((s.time, s.symbol, s.strategy, s.action.value, float(s.quantity), float(s.price),
                              float(s.confidence), bool(d.approved), d.reason, "signal"))

    def _on_error(self, _kind, e: dict) -> None:
        self._signals.append((int(e.get("time_ns") or 0), "", e.get("strategy") or "engine", "ERROR", 0.0,
                              float("nan"), 0.0, False, e.get("message", ""), "error"))

    def _on_session_end(self, _kind, payload: dict) -> None:
        self._part += 1
        part = f"part-{self._part:04d}.parquet"
        if self.write_bars:
            bars = self._session_bars()
            if bars.num_rows:
                _atomic_table(bars, self.run_dir / "bars.parquet" / part)
        rows = payload.get("quality_rows") or []
        if rows:
            _atomic_parquet(pd.DataFrame(rows), self.run_dir / "quality.parquet" / part)
        gap_rows = payload.get("gap_rows") or []
        if gap_rows:
            _atomic_parquet(gaps_frame(gap_rows), self.run_dir / "gaps.parquet" / part)
        signals, self._signals = self._signals, []
        _atomic_parquet(self._signals_frame(signals), self.run_dir / "signals.parquet" / part)
        self._session_reports.append(payload.get("metrics") or {})
        self._write_results()

    def _on_end(self, _kind, summary: dict) -> None:
        if self._signals:
            self._part += 1
            _atomic_parquet(self._signals_frame(self._signals),
                            self.run_dir / "signals.parquet" / f"part-{self._part:04d}.parquet")
            self._signals = []
        self._write_results(summary)
        self.closed = True

    # ------------------------------------------------------------------ frames
    def _session_bars(self) -> pa.Table:
        sd = self.system.session_data
        bars = {(sym, iv): sd.bars(sym, iv) for iv in sd.intervals for sym in sd.symbols}
        return session_bars_table(sd.symbols, sd.intervals, bars)

    @staticmethod
    def _signals_frame(rows: list[tuple]) -> pd.DataFrame:
        cols = ["time", "symbol", "strategy", "action", "quantity", "price", "confidence", "approved",
                "reason", "kind"]
        df = pd.DataFrame(rows, columns=cols)
        df["time"] = pd.to_datetime(df["time"].astype("int64"), utc=True)
        return df.astype({"quantity": float, "price": float, "confidence": float, "approved": bool})

    def _write_results(self, summary: dict | None = None) -> None:
        system = self.system
        broker = system.broker
        trades = trades_frame(broker.trades)
        equity = broker.equity_curve()
        _atomic_parquet(trades, self.run_dir / "trades.parquet")
        _atomic_parquet(equity, self.run_dir / "equity.parquet")
        stats = compute_stats(equity, trades, system.cfg.execution.starting_cash, tz=self.tz)
        summary = summary or system.summary()
        report = {
            "summary": summary,
            "statistics": stats,
            "metrics": system.metrics.backtest_report({"bars_processed": system.bars_processed}),
            "historical_quality": system.historical.quality_rows,
            "quality_by_symbol": system.quality.stats(),
            "sessions": self._session_reports,
            "time_manager_cache": system.tm.stats.as_dict(),
        }
        _atomic_text(json.dumps(report, indent=2, default=_json_default) + "\n", self.run_dir / "metrics.json")
        _atomic_text(render_report(system, summary, stats), self.run_dir / "report.txt")


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if hasattr(o, "isoformat"):
        return o.isoformat()
    return str(o)


def render_report(system, summary: dict, stats: dict) -> str:
    """The backtest report as text: summary, statistics, quality, per-stage timings."""
    cfg = system.cfg
    lines = [
        f"Backtest report: {cfg.name}",
        "=" * 72,
        f"Sessions        {summary['sessions_done']} of {summary['sessions_total']} "
        f"({cfg.backtest.start_date} .. {cfg.backtest.end_date}), state {summary['state']}",
        f"Symbols         {len(cfg.symbols)}: {', '.join(cfg.symbols[:10])}{' ...' if len(cfg.symbols) > 10 else ''}",
        f"Bars processed  {summary['bars_processed']:,} in {summary['elapsed_s']:.2f} s "
        f"({summary['bars_per_s']:,.0f} bars/s)",
        f"Signals         {summary['signals']:,} ({summary['rejected']:,} rejected), fills {summary['fills']:,}, "
        f"trades {summary['trades']:,}",
    ]
    if summary.get("error"):
        lines.append(f"ERROR           {summary['error']}")
    errs = {k: v for k, v in (summary.get("strategy_errors") or {}).items() if v}
    if errs:
        lines.append("Strategy errors " + ", ".join(f"{k}: {v}" for k, v in errs.items()))
    ov = summary.get("overruns") or {}
    lines.append("Overruns        " + ", ".join(f"{k.split('.')[-1]} {v}" for k, v in ov.items()))
    missing = summary.get("missing_sessions") or {}
    if missing:
        lines.append("Missing sessions (no bars in the store):")
        for sym, days in missing.items():
            lines.append(f"  {sym}: {', '.join(days)}")
    lines += ["", "Statistics", "-" * 72]
    for key in ("final_equity", "total_return_pct", "sharpe", "max_drawdown_pct", "max_drawdown", "win_rate_pct",
                "profit_factor", "trades", "avg_trade_pnl", "exposure_pct"):
        if key in stats:
            val = stats[key]
            lines.append(f"{key:<18}{val:,.4f}" if isinstance(val, float) else f"{key:<18}{val}")
    per = stats.get("per_symbol") or {}
    if per:
        lines += ["", f"{'symbol':<10}{'trades':>8}{'pnl':>14}{'win %':>9}"]
        for sym, row in per.items():
            lines.append(f"{sym:<10}{row.get('trades', 0):>8}{row.get('pnl', 0.0):>14,.2f}"
                         f"{(row.get('win_rate_pct') or 0.0):>9.1f}")
    qs = system.quality.stats()
    lines += ["", "Data quality (gaps found / missing bars) per symbol", "-" * 72]
    for sym, t in qs.items():
        lines.append(f"{sym:<10} gaps {t['gaps_found']:>5}  missing bars {t['missing_bars']:>6}")
    lines += ["", system.metrics.report_text("Pipeline timings")]
    return "\n".join(lines) + "\n"
