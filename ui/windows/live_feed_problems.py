"""What went wrong with a live feed, made visible: a notice bar for the live monitor's header and a
"Feed problems" panel listing the server's error messages and the quarantined (bad) bars.

Notices come from one `live_status()` dict (workstation.live.system): a FAILED provider (why the
run ended), a QUIET feed (what it means, which symbols are behind, and that minutes without a trade
are checked against history and listed as "no trades"), unknown server error codes, quarantined
bars and a failed catch-up. UI thread only; `feed_notices` is a pure function.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QSplitter, QVBoxLayout, QWidget

from ui import theme
from ui.windows.record_table import Column, RecordTableModel, fit_columns, make_view, natural_widths
from workstation.errors import counted

MAX_LISTED_SYMBOLS = 8
LEVEL_COLOURS = {"error": theme.DOWN, "warning": theme.AMBER, "info": theme.ACCENT_LIGHT}


@dataclass(frozen=True, slots=True)
class FeedNotice:
    """One line of the notice bar: `level` is "error", "warning" or "info"."""

    level: str
    text: str
    tip: str = ""


def _symbols_text(symbols: Sequence[str]) -> str:
    shown = ", ".join(symbols[:MAX_LISTED_SYMBOLS])
    return shown + (f" and {len(symbols) - MAX_LISTED_SYMBOLS} more" if len(symbols) > MAX_LISTED_SYMBOLS else "")


def feed_notices(status: dict, behind: Sequence[str] = (), time_text: Callable[[int], str] = str,
                 run_ended: bool = False) -> list[FeedNotice]:
    """The notices `status` calls for, most severe first. `behind`: symbols whose last bar is behind
    the clock while the session is open; `time_text` formats a clock time (int ns) for display."""
    notices: list[FeedNotice] = []
    health = str(status.get("health", ""))
    history = status.get("health_history") or []
    detail = str(history[-1][2]) if history else ""
    if health == "FAILED":
        notices.append(FeedNotice(
            "error", f"Feed failed: {detail}" + (" — the run has ended." if run_ended else " — the run is ending."),
            "The provider gave up: retrying cannot help (e.g. a rejected key, a feed the plan does not include, "
            "a wrong URL). Fix the cause and start a new run."))
    elif health == "QUIET":
        text = f"Feed quiet: {detail or 'no data for longer than expected'}; the connection is kept."
        if behind:
            text += f" No recent bar from {_symbols_text(behind)}."
        notices.append(FeedNotice(
            "warning", text,
            "QUIET: connected, but nothing arrived for longer than live.quiet_after_seconds. Outside market "
            "hours the feed is silent; during a session thin symbols trade rarely (IEX sends a minute bar "
            "only when a trade happened). Each missing minute is checked against the provider's history: "
            "the bars it has are filled in, minutes without a trade are listed as \"no trades\" and never "
            "asked for again. A connection that really stalled is dropped by the keep-alive and reconnected."))
    stats = status.get("provider_stats") or {}
    unknown = [e for e in stats.get("server_errors_recent") or [] if not e.get("known", True)]
    if unknown:
        last = unknown[-1]
        count = int(stats.get("unknown_server_errors", len(unknown)) or len(unknown))
        notices.append(FeedNotice(
            "warning",
            f"Server sent {counted(count, 'message')} with an unknown error code, last {last['code']} "
            f"\u201c{last.get('msg', '')}\u201d at {time_text(int(last['time_ns']))}; connection kept "
            "(see Feed problems).",
            "Codes outside Alpaca's documented table are counted and listed, never acted on blindly."))
    quarantine = status.get("quarantine") or {}
    bad = int(quarantine.get("quarantined", 0) or 0)
    if bad:
        reasons = sorted((quarantine.get("by_reason") or {}).items(), key=lambda kv: -kv[1])
        listed = ", ".join(f"{reason} {count}" for reason, count in reasons[:4])
        notices.append(FeedNotice(
            "warning", f"{counted(bad, 'bad bar')} quarantined ({listed}); never stored (see Feed problems).",
            "Live bars get the importer's checks plus the live ones (a bar that has not ended on the live "
            "clock, a timestamp far from it). A bad bar cannot move the clock or make later bars late."))
    if status.get("catch_up_error"):
        notices.append(FeedNotice(
            "warning", f"Catch-up from history failed: {status['catch_up_error']}; the session's earlier "
            "minutes are gaps, filled as the history allows."))
    return notices


class FeedNoticeBar(QFrame):
    """Notice lines under the live monitor's header; hidden when there is nothing to say."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("feedNotices")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(12, 5, 12, 5)
        self._layout.setSpacing(2)
        self._labels: list[QLabel] = []
        self._shown: list[FeedNotice] = []
        self.hide()

    def set_notices(self, notices: list[FeedNotice]) -> None:
        if notices == self._shown:
            return
        self._shown = list(notices)
        while len(self._labels) < len(notices):
            label = QLabel()
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.PlainText)
            self._layout.addWidget(label)
            self._labels.append(label)
        for label, notice in zip(self._labels, notices, strict=False):
            colour = LEVEL_COLOURS.get(notice.level, theme.TEXT)
            mark = "\u26a0" if notice.level != "info" else "\u2139"
            label.setText(f"{mark}  {notice.text}")
            label.setToolTip(notice.tip)
            label.setStyleSheet(f"color: {colour};")
            label.show()
        for label in self._labels[len(notices):]:
            label.hide()
        worst = notices[0].level if notices else "info"
        edge = LEVEL_COLOURS.get(worst, theme.BORDER)
        tint = theme.blend(theme.BACKGROUND, edge, 0.12)
        self.setStyleSheet(
            f"QFrame#feedNotices {{ background: {tint.name()}; border-left: 4px solid {edge}; "
            f"border-bottom: 1px solid {theme.BORDER}; }}")
        self.setVisible(bool(notices))

    def texts(self) -> list[str]:
        """The notice texts shown (for tests and scripted use)."""
        return [n.text for n in self._shown]


def _number(value: object) -> str:
    if isinstance(value, str):
        return value
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    return f"{x:,.4f}".rstrip("0").rstrip(".") if math.isfinite(x) else str(x)


class FeedProblemsPanel(QSplitter):
    """Two tables, newest first: the server's error messages and the quarantined bars."""

    def __init__(self, time_text: Callable[[int, str], str], parent: QWidget | None = None):
        super().__init__(Qt.Orientation.Vertical, parent)
        self.setChildrenCollapsible(False)
        self._time_text = time_text
        self.error_model = RecordTableModel(self._error_columns(), self)
        self.error_view = make_view(self.error_model, sortable=False)
        self.bar_model = RecordTableModel(self._bar_columns(), self)
        self.bar_view = make_view(self.bar_model, sortable=False)
        for title, view in (("Server error messages", self.error_view), ("Quarantined bars (never stored)",
                                                                         self.bar_view)):
            box = QWidget()
            layout = QVBoxLayout(box)
            layout.setContentsMargins(6, 4, 6, 2)
            layout.setSpacing(3)
            caption = QLabel(title)
            caption.setStyleSheet(f"color: {theme.MUTED}; font-weight: 600;")
            layout.addWidget(caption)
            layout.addWidget(view, 1)
            self.addWidget(box)
        for view, model in ((self.error_view, self.error_model), (self.bar_view, self.bar_model)):
            fit_columns(view, natural_widths(model)[:-1])

    def set_time_text(self, time_text: Callable[[int, str], str]) -> None:
        """Format times with `time_text(ns, fmt)` (the run's exchange zone); resets the tables."""
        self._time_text = time_text
        self.error_model.reset(self._error_columns())
        self.bar_model.reset(self._bar_columns())

    def _error_columns(self) -> list[Column]:
        t = self._time_text
        return [
            Column("Time", lambda r: t(int(r["time_ns"]), "%H:%M:%S"), mono=True, sample="00:00:00",
                   tip="When the message arrived (provider clock, exchange time)"),
            Column("Code", lambda r: str(r["code"]), mono=True, right=True, sample="0000"),
            Column("Known", lambda r: "yes" if r.get("known") else "UNKNOWN",
                   colour=lambda r: None if r.get("known") else theme.AMBER, bold=True, sample="UNKNOWN",
                   tip="Whether the code is in Alpaca's documented table (README: Live mode)"),
            Column("Action", lambda r: str(r.get("action", "")), sample="reconnect",
                   tip="fail: the feed stops (needs a user action); reconnect; ignore; report: kept, counted"),
            Column("Message", lambda r: str(r.get("msg", "")), cell_tip=lambda r: str(r.get("msg", "")) or None),
        ]

    def _bar_columns(self) -> list[Column]:
        t = self._time_text

        def bar_time(r: dict) -> str:
            ts = int(r["timestamp"])
            try:
                return t(ts, "%Y-%m-%d %H:%M:%S")
            except (OverflowError, ValueError, OSError):
                return f"{ts} ns (not a date)"

        return [
            Column("Checked", lambda r: t(int(r["receive_ns"]), "%H:%M:%S"), mono=True, sample="00:00:00",
                   tip="Live clock when the bar was refused"),
            Column("Symbol", lambda r: str(r["symbol"]), bold=True, sample="WWWWW"),
            Column("Bar start", bar_time, mono=True, sample="0000-00-00 00:00:00",
                   tip="The bar's timestamp as sent (exchange time)"),
            Column("Reason", lambda r: str(r["reason"]), colour=lambda r: theme.DOWN, bold=True,
                   sample="not ended on the live clock"),
            Column("Source", lambda r: str(r.get("source", "")), sample="history",
                   tip="stream (new bar), update (correction) or history (catch-up or gap fill)"),
            Column("O / H / L / C / V", lambda r: " / ".join(_number(r[k]) for k in
                                                          ("open", "high", "low", "close", "volume")),
                   mono=True),
        ]

    def update_status(self, status: dict) -> tuple[int, int]:
        """Show the errors and quarantined bars of `status`; returns (errors, bad bars) counts."""
        stats = status.get("provider_stats") or {}
        errors = list(reversed(stats.get("server_errors_recent") or []))
        quarantine = status.get("quarantine") or {}
        bars = list(reversed(quarantine.get("recent") or []))
        if errors != self.error_model.records():
            self.error_model.set_records(errors)
        if bars != self.bar_model.records():
            self.bar_model.set_records(bars)
        return int(stats.get("server_errors", len(errors)) or 0), int(quarantine.get("quarantined", 0) or 0)
