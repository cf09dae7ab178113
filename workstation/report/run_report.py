"""The HTML report of one run: headline statistics, equity and drawdown, daily and monthly returns,
trade distribution, per-symbol and per-strategy tables, the data coverage of the run (quality per
symbol and session, gaps), the trade list and the config that produced it.

Built from a RunResults (workstation.runs), so it needs only the run folder. Times are shown in the
run's exchange zone; the equity and drawdown charts use the equity-point number as x (one point per
bar time), as the results view does, so nights and weekends take no room.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from html import escape
from operator import itemgetter
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from workstation import __version__
from workstation.errors import counted
from workstation.execution.stats import drawdown_series
from workstation.report import figures
from workstation.report.formatting import (
    DASH,
    fmt_duration,
    fmt_money,
    fmt_money_level,
    fmt_money_short,
    fmt_number,
    fmt_pct,
    fmt_qty,
    open_at_end_text,
    price_decimals,
    run_time_text,
    sharpe_note,
)
from workstation.report.page import Column, cards, heat_colour, page, quality_colour, table, tone
from workstation.report.svg import ACCENT, DOWN, UP, Axis, Series, bar_chart, empty_chart, line_chart

if TYPE_CHECKING:
    from workstation.runs import RunResults

MAX_TRADE_ROWS = 2000
MAX_GAP_ROWS = 300
MAX_MATRIX_CELLS = 6000
MAX_MATRIX_SYMBOLS = 40
LONG_TABLE = 25  # rows; longer tables scroll inside the page (all rows are in the file)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
GENERATOR = f"Backtest Workstation {__version__}"


def session_axis(times: pd.Series, tz: str) -> Axis:
    """x-axis of a chart whose x is the point number: a label and a separator at each session start."""
    if len(times) == 0:
        return Axis()
    local = pd.to_datetime(times).dt.tz_convert(tz)
    days = local.dt.date.to_numpy()
    starts = np.flatnonzero(np.r_[True, days[1:] != days[:-1]])
    ticks = [(float(i), pd.Timestamp(local.iloc[int(i)]).strftime("%b %d")) for i in starts.tolist()]
    return Axis(ticks=ticks, separators=[float(i) - 0.5 for i in starts[1:].tolist()])


def headline_cards(results: RunResults) -> str:
    s = results.stats
    n = int(s.get("trades") or 0)
    sharpe = s.get("sharpe")
    pf = s.get("profit_factor")
    pf_text = "\u221e" if pf is None and n and not s.get("losing_trades") else fmt_number(pf)
    items = [
        ("Total return", fmt_pct(s.get("total_return_pct")), tone(s.get("total_return_pct")),
         f"{fmt_money(s.get('net_pnl'))} net"),
        ("Sharpe", fmt_number(sharpe), tone(sharpe), sharpe_note(s)),
        ("Max drawdown", fmt_pct(s.get("max_drawdown_pct")), "down" if s.get("max_drawdown_pct") else "",
         fmt_money(s.get("max_drawdown"))),
        ("Win rate", fmt_pct(s.get("win_rate_pct"), signed=False, decimals=1), "",
         f"{s.get('winning_trades', 0):,} of {n:,} won" if n else "no trades"),
        ("Profit factor", pf_text, "" if pf is None else tone((pf or 0) - 1),
         f"{fmt_money_short(s.get('gross_profit'))} / {fmt_money_short(s.get('gross_loss'))}" if n else "no trades"),
        ("Trades", f"{n:,}", "", f"{s.get('long_trades', 0):,} long \u00b7 {s.get('short_trades', 0):,} short"),
        ("Exposure", fmt_pct(s.get("exposure_pct"), signed=False, decimals=1), "", "time in market"),
        ("Final equity", fmt_money(s.get("final_equity"), signed=False), tone(s.get("net_pnl")),
         f"from {fmt_money(s.get('starting_cash'), signed=False, decimals=0)}"),
        ("Avg trade", fmt_money(s.get("avg_trade_pnl")), tone(s.get("avg_trade_pnl")),
         f"best {fmt_money_short(s.get('best_trade'))}, worst {fmt_money_short(s.get('worst_trade'))}"
         if n else "no trades"),
        _commission_card(results),
    ]
    return cards(items)


def _commission_card(results: RunResults) -> tuple[str, str, str, str]:
    """Every fill's commission when the run recorded its fills (the entries of positions still open
    too), else the closed trades' (the statistic `total_commission`), said so."""
    fills = results.fills
    if len(fills) and "commission" in fills:
        paid = float(pd.to_numeric(fills["commission"], errors="coerce").fillna(0.0).sum())
        return ("Commission", fmt_money(paid, signed=False), "",
                f"paid in total, {len(fills):,} fill{'' if len(fills) == 1 else 's'}")
    return "Commission", fmt_money(results.stats.get("total_commission"), signed=False), "", "on closed trades"


def headline_html(results: RunResults) -> str:
    """The title and headline cards alone (a notebook's rich display of a result)."""
    return (f"<div><b>{escape(results.name)}</b> <span style='color:#6b7280'>{escape(str(results.run_dir))}"
            f"</span><style>{_NOTEBOOK_CSS}</style>{headline_cards(results)}</div>")


_NOTEBOOK_CSS = (".cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:8px;margin:6px 0}"
                 ".card{border:1px solid #e3e6eb;border-radius:8px;padding:6px 10px}.card .t{font-size:11px;"
                 "color:#6b7280}.card .v{font-size:18px;font-weight:600}.card .c{font-size:11px;color:#6b7280}"
                 f".up{{color:{UP}}}.down{{color:{DOWN}}}")


def _subtitle(results: RunResults) -> str:
    return '<p class="sub">' + "".join(f"<span>{escape(p)}</span>" for p in results.headline_facts(8)) + "</p>"


def _state_warning(results: RunResults) -> str:
    summary = results.summary
    state = summary.get("state")
    out = []
    record = results.run_status
    if record is not None and not record.get("complete"):
        error = f": {record['write_error']}" if record.get("write_error") else ""
        out.append(f"This run folder is not marked complete (its completion record says "
                   f"{record.get('state', 'unknown')}{error}); the figures cover what it holds.")
    if summary.get("error"):
        out.append(f"The run failed: {summary['error']}")
    elif state and state != "finished":
        out.append(f"The run did not finish (state {state}): {summary.get('sessions_done', '?')} of "
                   f"{summary.get('sessions_total', '?')} sessions ran. Figures cover what ran.")
    elif not summary:
        out.append("This run folder has no metrics.json: the run may have stopped before its first session "
                   "ended. Figures cover what the folder holds.")
    errors = {k: v for k, v in (summary.get("strategy_errors") or {}).items() if v}
    if errors:
        out.append("Strategy errors: " + ", ".join(f"{k} {v}" for k, v in errors.items()))
    return "".join(f'<div class="warn">{escape(t)}</div>' for t in out)


def _equity_section(results: RunResults) -> str:
    equity = results.equity
    start_cash = float(results.stats.get("starting_cash") or results.starting_cash)
    if equity.empty:
        return "<h2>Equity and drawdown</h2>" + empty_chart("No equity points: the run ended before its first bar")
    axis = session_axis(equity["time"], results.timezone)
    x = np.arange(len(equity), dtype=np.float64)
    values = equity["equity"].to_numpy(dtype=np.float64)
    eq = line_chart([Series("Equity", x, values, ACCENT, fill_to=-math.inf)],
                    height=300, axis=axis, y_format=fmt_money_level, reference=start_cash,
                    reference_label=f"starting cash {fmt_money(start_cash, signed=False, decimals=0)}",
                    label="Equity curve", css_class="equity-chart")
    dd = drawdown_series(equity, start_cash)["drawdown_pct"].to_numpy()
    ddc = line_chart([Series("Drawdown %", x, dd, DOWN, width=1.2, fill_to=0.0, fill_opacity=0.25)], height=170,
                     axis=axis, y_format=lambda v: fmt_pct(v, decimals=1), label="Drawdown",
                     css_class="drawdown-chart", y_ceiling=0.0, y_floor=min(float(dd.min()), -0.1))
    s = results.stats
    peak, trough = s.get("max_drawdown_peak_time"), s.get("max_drawdown_trough_time")
    note = ""
    if trough:
        when = pd.Timestamp(trough).tz_convert(results.timezone).strftime("%Y-%m-%d %H:%M")
        since = (pd.Timestamp(peak).tz_convert(results.timezone).strftime("%Y-%m-%d %H:%M") if peak
                 else "the start")
        note = (f'<p class="note">Deepest drawdown {fmt_pct(s.get("max_drawdown_pct"))} '
                f'({fmt_money(s.get("max_drawdown"))}) from the peak of {since} to {when}.</p>')
    return ("<h2>Equity and drawdown</h2>"
            f'<div class="panel"><div class="cap">Equity</div>{eq}</div>'
            f'<div class="panel"><div class="cap">Drawdown from the running peak</div>{ddc}</div>{note}')


def _returns_section(results: RunResults) -> str:
    start_cash = float(results.stats.get("starting_cash") or results.starting_cash)
    daily = figures.daily_returns(results.equity, start_cash, results.timezone)
    if daily.empty:
        return "<h2>Daily and monthly returns</h2><p class='note'>No session completed.</p>"
    labels = [pd.Timestamp(str(d)).strftime("%b %d") for d in daily["date"]]
    tips = [f"{d}: {fmt_pct(r)} ({fmt_money(p)})" for d, r, p in
            zip(daily["date"], daily["return_pct"], daily["pnl"], strict=True)]
    chart = bar_chart(daily["return_pct"].to_numpy(), labels, tooltips=tips, y_format=lambda v: fmt_pct(v, decimals=2),
                      label="Daily returns", css_class="daily-chart")
    r = daily["return_pct"].to_numpy()
    defined = np.isfinite(r)
    summary = ""
    if defined.any():
        best, worst = int(np.nanargmax(r)), int(np.nanargmin(r))
        summary = (f'<p class="note">{int((r > 0).sum())} up sessions, {int((r < 0).sum())} down, '
                   f'{int((r == 0).sum())} flat; best {daily["date"].iloc[best]} {fmt_pct(r[best])}, worst '
                   f'{daily["date"].iloc[worst]} {fmt_pct(r[worst])}; mean '
                   f'{fmt_pct(float(np.nanmean(r)), decimals=3)} a session.</p>')
    if not defined.all():
        missing = int((~defined).sum())
        summary += (f'<p class="note">{counted(missing, "session")} {"has" if missing == 1 else "have"} no return: '
                    "the equity before them was zero or negative.</p>")
    monthly = figures.monthly_returns(daily, start_cash)
    yearly = figures.yearly_returns(monthly, start_cash)
    scale = max(float(np.nanmax(np.abs(monthly["return_pct"]), initial=0.0)), 0.1)
    head = "".join(f"<th>{m}</th>" for m in MONTHS)
    rows = []
    for year in sorted(monthly["year"].unique()):
        cells = []
        for month in range(1, 13):
            hit = monthly[(monthly["year"] == year) & (monthly["month"] == month)]
            if hit.empty:
                cells.append("<td></td>")
            else:
                v = float(hit["return_pct"].iloc[0])
                data = f' data-v="{v!r}"' if math.isfinite(v) else ""
                cells.append(f'<td{data} style="background:{heat_colour(v, scale)}">{escape(fmt_pct(v))}</td>')
        total = float(yearly.loc[yearly["year"] == year, "return_pct"].iloc[0])
        rows.append(f'<tr><td class="l"><b>{int(year)}</b></td>{"".join(cells)}'
                    f'<td class="{tone(total)}"><b>{escape(fmt_pct(total))}</b></td></tr>')
    grid = (f'<table class="grid monthly"><thead><tr><th class="l">Year</th>{head}<th>Year</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')
    return ("<h2>Daily and monthly returns</h2>"
            f'<div class="panel"><div class="cap">Return of each session (close to close)</div>{chart}</div>'
            f"{summary}<h3>Monthly returns (compounded)</h3>{grid}")


def _distribution_section(results: RunResults) -> str:
    trades = results.trades
    if trades.empty:
        return "<h2>Trade distribution</h2><p class='note'>No closed trades in this run.</p>"
    pnl = trades["pnl"].to_numpy(dtype=np.float64)
    hist = figures.pnl_histogram(pnl)
    counts, edges = hist.counts, hist.edges
    labels = [fmt_money_short(e) for e in edges[:-1]]
    tips = [f"{fmt_money(lo)} to {fmt_money(hi)}: {c} trade{'s' if c != 1 else ''}"
            for lo, hi, c in zip(edges[:-1], edges[1:], counts, strict=True)]
    if hist.open_low:
        labels[0] = "< " + labels[1]
        tips[0] = f"below {fmt_money(edges[1])}: {counts[0]} trade{'s' if counts[0] != 1 else ''}"
    if hist.open_high:
        tips[-1] = f"{fmt_money(edges[-2])} and above: {counts[-1]} trade{'s' if counts[-1] != 1 else ''}"
    colours = [UP if lo >= 0 else DOWN for lo in edges[:-1]]
    chart = bar_chart(counts, labels, tooltips=tips, colours=colours, y_format=lambda v: f"{v:,.0f}",
                      label="Trade P&L distribution", css_class="histogram-chart")
    hold = figures.holding_minutes(trades)
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    facts = [
        ("Winning trades", f"{len(wins):,}", f"avg {fmt_money(wins.mean()) if len(wins) else DASH}"),
        ("Losing trades", f"{len(losses):,}", f"avg {fmt_money(losses.mean()) if len(losses) else DASH}"),
        ("Payoff ratio", fmt_number(wins.mean() / -losses.mean()) if len(wins) and len(losses) else DASH,
         "avg win / avg loss"),
        ("Median trade", fmt_money(float(np.median(pnl))), f"std {fmt_money(float(pnl.std()), signed=False)}"),
        ("Median holding", fmt_duration(float(np.median(hold))), f"longest {fmt_duration(float(hold.max()))}"),
    ]
    card_html = cards([(t, v, "", c) for t, v, c in facts])
    tails = ""
    if hist.open_low or hist.open_high:
        tails = (f'<p class="note">The bars span the middle 98 % of the trades; the outer bars also hold the '
                 f"tails (worst trade {fmt_money(float(pnl.min()))}, best {fmt_money(float(pnl.max()))}).</p>")
    return ("<h2>Trade distribution</h2>"
            f'<div class="panel"><div class="cap">Net P&amp;L per trade</div>{chart}</div>{tails}{card_html}')


def _group_section(results: RunResults) -> str:
    out = []
    for by, title in (("symbol", "By symbol"), ("strategy", "By strategy")):
        table_frame = figures.group_table(results.trades, by)
        if table_frame.empty:
            out.append(f"<h3>{title}</h3><p class='note'>No closed trades.</p>")
            continue
        cols = [
            Column(by.capitalize(), str, left=True),
            Column("Trades", lambda v: f"{int(v):,}"),
            Column("Win %", lambda v: fmt_pct(v, signed=False, decimals=1)),
            Column("Net P&L", fmt_money, tone=tone),
            Column("Avg trade", fmt_money, tone=tone),
            Column("Gross profit", lambda v: fmt_money(v, signed=False)),
            Column("Gross loss", lambda v: fmt_money(v, signed=False)),
            Column("Best", fmt_money, tone=tone),
            Column("Worst", fmt_money, tone=tone),
            Column("Commission", lambda v: fmt_money(v, signed=False)),
            Column("Long / short", str, sort_value=lambda v: float(v.split(" / ")[0].replace(",", ""))),
        ]
        rows = [(r[by], r["trades"], r["win_rate_pct"], r["net_pnl"], r["avg_pnl"], r["gross_profit"],
                 r["gross_loss"], r["best"], r["worst"], r["commission"], f"{int(r['long']):,} / {int(r['short']):,}")
                for _, r in table_frame.iterrows()]
        out.append(f"<h3>{title}</h3>" + table(cols, rows, sortable=True, css_class=f"by-{by}",
                                               scroll=len(rows) > LONG_TABLE))
        joined = next((str(name) for name in table_frame[by] if "+" in str(name)), None) if by == "strategy" else None
        if joined is not None:
            out.append(f"<p class='note'>{escape(joined)}: round trips that more than one strategy traded "
                       "(the account nets each symbol's position across strategies), opened by the first named, "
                       "the others in the order they first traded them.</p>")
    return "<h2>Per symbol and per strategy</h2>" + "".join(out)


def _local(ts: Any, tz: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if ts is None or pd.isna(ts):
        return DASH
    t = pd.Timestamp(ts)
    t = t.tz_localize("UTC") if t.tzinfo is None else t
    return t.tz_convert(tz).strftime(fmt)


def _coverage_section(results: RunResults) -> str:
    quality = results.quality
    summary = results.summary
    out = ["<h2>Data coverage</h2>"]
    missing_sessions = summary.get("missing_sessions") or {}
    if missing_sessions:
        items = "; ".join(f"{sym}: {', '.join(days)}" for sym, days in missing_sessions.items())
        out.append(f'<div class="warn">Sessions with no bars in the store: {escape(items)}</div>')
    interval = figures.streamed_interval(quality, results.config)
    if interval is None:
        out.append("<p class='note'>This run folder has no quality table (quality.parquet): the run measured no "
                   "session, or session quality was turned off (gap_filler.enable_session_quality).</p>")
    else:
        by_symbol = figures.coverage_by_symbol(quality, interval)
        cols = [
            Column("Symbol", str, left=True),
            Column("Sessions", lambda v: f"{int(v):,}"),
            Column("Bars expected", lambda v: f"{int(v):,}"),
            Column("Bars present", lambda v: f"{int(v):,}"),
            Column("Quality", lambda v: fmt_pct(v, signed=False, decimals=2)),
            Column("Worst session", lambda v: fmt_pct(v, signed=False, decimals=2)),
            Column("Gaps", lambda v: f"{int(v):,}"),
            Column("Missing bars", lambda v: f"{int(v):,}"),
        ]
        rows = [tuple(r) for r in by_symbol.itertuples(index=False)]
        out.append(f"<h3>Bar quality of the {escape(interval)} bars per symbol (present / expected since each "
                   "session's open, early closes honoured)</h3>")
        out.append(table(cols, rows, sortable=True, css_class="coverage", scroll=len(rows) > LONG_TABLE))
        out.append(_coverage_matrix(quality, interval))
    out.append(_gaps_table(results, interval))
    historical = (results.metrics or {}).get("historical_quality") or []
    if historical:
        cols = [Column("Symbol", str, left=True), Column("Trailing days", lambda v: f"{int(v):,}"),
                Column("Bars present", lambda v: f"{int(v):,}"), Column("Bars expected", lambda v: f"{int(v):,}"),
                Column("Quality", lambda v: fmt_pct(v, signed=False, decimals=2))]
        rows = [(h.get("symbol", ""), h.get("days", 0), h.get("present", 0), h.get("expected", 0),
                 h.get("quality_pct")) for h in historical if isinstance(h, dict)]
        out.append("<h3>Historical bars loaded before the first session</h3>"
                   + table(cols, rows, scroll=len(rows) > LONG_TABLE))
    return "".join(out)


def _coverage_matrix(quality: pd.DataFrame, interval: str) -> str:
    matrix = figures.coverage_matrix(quality, interval)
    if matrix.empty:
        return ""
    n_sessions, n_symbols = matrix.shape
    if n_symbols <= MAX_MATRIX_SYMBOLS and n_sessions * n_symbols <= MAX_MATRIX_CELLS:
        head = "".join(f"<th>{escape(str(s))}</th>" for s in matrix.columns)
        body = []
        for day, row in matrix.iterrows():
            cells = "".join(
                f'<td style="background:{quality_colour(v)}" title="{escape(str(sym))} {day}: '
                f'{escape(fmt_pct(v, signed=False))}">{escape(_quality_cell(v))}</td>'
                for sym, v in row.items())
            body.append(f'<tr><td class="l">{day}</td>{cells}</tr>')
        return ("<h3>Quality per session and symbol</h3>"
                f'<div class="scroll"><table class="grid quality-matrix"><thead><tr><th class="l">Session</th>'
                f'{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')
    stacked = cast(pd.Series, matrix.stack()).rename("quality_pct").reset_index()  # one column level: a Series
    worst = stacked[stacked["quality_pct"] < 100.0].sort_values("quality_pct", kind="mergesort").head(300)
    if worst.empty:
        return (f"<p class='note'>All {n_sessions * n_symbols:,} session \u00d7 symbol pairs have every expected "
                "bar.</p>")
    cols = [Column("Session", str, left=True), Column("Symbol", str, left=True),
            Column("Quality", lambda v: fmt_pct(v, signed=False, decimals=2))]
    rows = [(str(r.session_date), str(r.symbol), r.quality_pct) for r in worst.itertuples(index=False)]
    return (f"<h3>Sessions below 100 % ({len(stacked[stacked['quality_pct'] < 100.0]):,} of "
            f"{n_sessions * n_symbols:,} session \u00d7 symbol pairs; the worst {len(rows)})</h3>"
            + table(cols, rows, sortable=True, scroll=True))


def _quality_cell(v: float) -> str:
    if v is None or not np.isfinite(v):
        return DASH
    return "100" if v >= 99.9995 else f"{v:.1f}"


def _text_or_dash(v: Any) -> str:
    """A cell of an extra gaps column: a dash for a missing value (None, or the NaN/NaT pandas made of it)."""
    return DASH if v is None or (not isinstance(v, str) and bool(pd.isna(v))) else str(v)


def _gaps_table(results: RunResults, interval: str | None) -> str:
    gaps = results.gaps
    if not results.gaps_recorded:
        return ("<p class='note'>The gap list itself is not in this run folder (no gaps.parquet); the gap and "
                "missing-bar counts above come from the quality table.</p>")
    if gaps.empty:
        return "<h3>Gaps</h3><p class='note'>No gap: every expected bar was there.</p>"
    tz = results.timezone
    start_col = next((c for c in ("start", "start_time", "start_ns") if c in gaps), None)
    end_col = next((c for c in ("end", "end_time", "end_ns") if c in gaps), None)
    bars_col = next((c for c in ("missing", "bars", "missing_bars", "count") if c in gaps), None)
    frame = gaps.copy()
    for col in (start_col, end_col):
        if col is not None and col.endswith("_ns"):
            frame[col] = pd.to_datetime(frame[col].astype("int64"), unit="ns", utc=True)
    if start_col is not None:
        frame = frame.sort_values([start_col, "symbol"], kind="mergesort")
    total = len(frame)
    frame = frame.head(MAX_GAP_ROWS)
    extra = [c for c in frame.columns if c not in ("symbol", "interval", start_col, end_col, bars_col)]
    cols = [Column("Symbol", str, left=True)]
    getters: list[Callable[[pd.Series], Any]] = [lambda r: r["symbol"]]
    if "interval" in frame:
        cols.append(Column("Interval", str, left=True))
        getters.append(lambda r: r["interval"])
    for col, title in ((start_col, "First missing bar"), (end_col, "Last missing bar")):
        if col is not None:
            cols.append(Column(title, lambda v: _local(v, tz), left=True))
            getters.append(itemgetter(col))
    if bars_col is not None:
        cols.append(Column("Missing bars", lambda v: f"{int(v):,}"))
        getters.append(lambda r: r[bars_col])
    for col in extra[:4]:
        cols.append(Column(col.replace("_", " ").capitalize(), _text_or_dash, left=True))
        getters.append(itemgetter(col))
    rows = [tuple(g(r) for g in getters) for _, r in frame.iterrows()]
    more = f" (the first {MAX_GAP_ROWS} of {total:,})" if total > MAX_GAP_ROWS else ""
    return f"<h3>Gaps{more}</h3>" + table(cols, rows, sortable=True, scroll=True, css_class="gaps")


def _trades_section(results: RunResults) -> str:
    trades = results.trades
    if trades.empty:
        return ""
    tz = results.timezone
    dec = price_decimals(np.r_[trades["entry_price"].to_numpy(float), trades["exit_price"].to_numpy(float)])
    hold = figures.holding_minutes(trades)
    shown = trades.head(MAX_TRADE_ROWS)
    cols = [
        Column("#", lambda v: f"{v}"),
        Column("Symbol", str, left=True),
        Column("Side", str, left=True),
        Column("Quantity", lambda v: fmt_qty(abs(v))),
        Column("Entry", lambda v: _local(v, tz), left=True),
        Column("Entry price", lambda v: f"{v:,.{dec}f}"),
        Column("Exit", lambda v: _local(v, tz), left=True),
        Column("Exit price", lambda v: f"{v:,.{dec}f}"),
        Column("Held", fmt_duration),
        Column("Net P&L", fmt_money, tone=tone),
        Column("Commission", lambda v: fmt_money(v, signed=False)),
        Column("Strategy", str, left=True),
    ]
    rows = [(i + 1, r["symbol"], "long" if r["quantity"] > 0 else "short", float(r["quantity"]), r["entry_time"],
             float(r["entry_price"]), r["exit_time"], float(r["exit_price"]), float(hold[i]), float(r["pnl"]),
             float(r["commission"]), r["strategy"])
            for i, r in enumerate(shown.to_dict("records"))]
    more = (f" (the first {MAX_TRADE_ROWS:,} of {len(trades):,}; all are in trades.parquet)"
            if len(trades) > MAX_TRADE_ROWS else f" ({len(trades):,})")
    return f"<h2>Trades{more}</h2>" + table(cols, rows, sortable=True, scroll=True, css_class="trades")


def _run_section(results: RunResults) -> str:
    s = results.summary
    rows = []
    if s:
        rows = [
            ("State", str(s.get("state", DASH))),
            ("Sessions", f"{s.get('sessions_done', DASH)} of {s.get('sessions_total', DASH)}"),
            ("Bars processed", f"{int(s.get('bars_processed') or 0):,}"),
            ("Signals", f"{int(s.get('signals') or 0):,} ({int(s.get('rejected') or 0):,} rejected by the risk checks)"),
            ("Fills", f"{int(s.get('fills') or 0):,}"),
            ("Run time", run_time_text(s)),
        ]
    rows.append(("Run folder", str(results.run_dir)))
    missing = [t for t in results.missing_tables if t not in ("bars",)]
    if missing:
        rows.append(("Tables not recorded", ", ".join(missing)))
    body = "".join(f'<tr><td class="l">{escape(k)}</td><td class="l">{escape(v)}</td></tr>' for k, v in rows)
    config = json.dumps(results.config, indent=2, ensure_ascii=False, sort_keys=False)
    return ("<h2>The run and its config</h2>"
            f'<table class="run-facts" style="width:auto"><tbody>{body}</tbody></table>'
            "<h3>Config that produced this run (config.json, after command-line overrides)</h3>"
            f'<pre class="config">{escape(config)}</pre>')


def _open_at_end(results: RunResults) -> str:
    text = open_at_end_text(results.stats)
    return f'<p class="note">{escape(text)}</p>' if text else ""


def render_run_report(results: RunResults) -> str:
    """The whole report as one HTML document (string)."""
    body = "".join([
        f"<h1>{escape(results.name)}</h1>",
        _subtitle(results),
        _state_warning(results),
        headline_cards(results),
        _open_at_end(results),
        _equity_section(results),
        _returns_section(results),
        _distribution_section(results),
        _group_section(results),
        _coverage_section(results),
        _trades_section(results),
        _run_section(results),
    ])
    return page(f"{results.name} \u2014 backtest report", body, GENERATOR)
