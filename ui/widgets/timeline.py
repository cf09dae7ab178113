"""Timeline: the run's sessions as one bar under the chart; click or drag to go to any bar time.

Each session is one segment, as wide as its trading time (an early close is shorter; nights and
weekends take no room), separated by a thin gap and labelled with its date when there is room. The
part already played is filled; the handle marks the replay's clock; the run's furthest point is a
lighter fill (the future you stepped back from). Pressing, dragging and releasing the mouse asks for
a seek (`seek_requested(bar_start_ns)`), throttled while dragging (the engine replays headless
between two requests) and always sent on release; the widget holds no trading logic, the window
hands the request to the engine (EngineBridge.seek). Times are int ns UTC; labels are in the
exchange time zone. UI thread only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from ui import theme

DRAG_SEEK_MS = 120      # at most one seek request per this many ms while dragging
MARGIN = 8
TRACK_H = 10
GAP = 3


@dataclass(frozen=True)
class TimelineSession:
    """One session on the timeline (int ns UTC; `date` is the exchange-local trading date)."""

    date: dt.date
    open_ns: int
    close_ns: int


class Timeline(QWidget):
    """The scrubber; see the module docstring."""

    seek_requested = Signal(object)   # int: a bar START, ns UTC (beyond a 32-bit Qt int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("Timeline")
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Timeline: click or drag to go to any bar time (← steps back one bar time, → one forward)")
        self._sessions: list[TimelineSession] = []
        self._bar_ns = 60_000_000_000
        self._zone = ZoneInfo("America/New_York")
        self._clock_ns = -1           # the replay clock: the END of the last delivered bar time
        self._reached_ns = -1         # the furthest clock of the run so far
        self._drag_ns: int | None = None
        self._pending_ns: int | None = None
        self.requests_sent = 0
        self._throttle = QTimer(self)
        self._throttle.setSingleShot(True)
        self._throttle.setInterval(DRAG_SEEK_MS)
        self._throttle.timeout.connect(self._send_pending)
        self._font = QFont(theme.ui_font(8))

    # ------------------------------------------------------------------ data
    def set_sessions(self, sessions: list[TimelineSession], bar_ns: int, tz: str) -> None:
        """A new run: its sessions, its streamed bar length and the exchange zone."""
        self._sessions = list(sessions)
        self._bar_ns = int(bar_ns)
        self._zone = ZoneInfo(tz)
        self._clock_ns = self._reached_ns = -1
        self._drag_ns = self._pending_ns = None
        self.update()

    def set_clock(self, clock_ns: int) -> None:
        """The replay clock now (a step back moves it left; the furthest point stays)."""
        clock_ns = int(clock_ns)
        if clock_ns != self._clock_ns:
            self._clock_ns = clock_ns
            self._reached_ns = max(self._reached_ns, clock_ns)
            self.update()

    @property
    def clock_ns(self) -> int:
        return self._clock_ns

    @property
    def reached_ns(self) -> int:
        return self._reached_ns

    def sessions(self) -> list[TimelineSession]:
        return list(self._sessions)

    # ------------------------------------------------------------------ geometry
    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(600, 34)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(120, 34)

    def _segments(self) -> list[tuple[float, float, TimelineSession]]:
        """(x0, x1, session) of every session, widths proportional to trading time."""
        if not self._sessions:
            return []
        width = max(1.0, self.width() - 2 * MARGIN - GAP * (len(self._sessions) - 1))
        total = sum(max(1, s.close_ns - s.open_ns) for s in self._sessions)
        out, x = [], float(MARGIN)
        for s in self._sessions:
            w = width * max(1, s.close_ns - s.open_ns) / total
            out.append((x, x + w, s))
            x += w + GAP
        return out

    def x_of(self, clock_ns: int) -> float | None:
        """x of a clock time (a bar END or any time inside a session); None before the first session."""
        segments = self._segments()
        if not segments or clock_ns < segments[0][2].open_ns:
            return None
        for x0, x1, s in segments:
            if clock_ns <= s.close_ns:
                if clock_ns < s.open_ns:
                    return x0
                return x0 + (x1 - x0) * (clock_ns - s.open_ns) / max(1, s.close_ns - s.open_ns)
        return segments[-1][1]

    def bar_at(self, x: float) -> int | None:
        """Start of the bar time under `x` (int ns UTC), or None without sessions."""
        segments = self._segments()
        if not segments:
            return None
        for k, (x0, x1, s) in enumerate(segments):
            last = k == len(segments) - 1
            if x < x1 + GAP / 2 or last:
                frac = min(1.0, max(0.0, (x - x0) / max(1e-9, x1 - x0)))
                n_bars = max(1, (s.close_ns - s.open_ns) // self._bar_ns)
                i = min(n_bars - 1, int(frac * n_bars))
                return s.open_ns + i * self._bar_ns
        return None

    def label_of(self, bar_ns: int) -> str:
        t = dt.datetime.fromtimestamp(bar_ns / 1e9, tz=self._zone)
        return f"{t:%a %Y-%m-%d %H:%M}"

    # ------------------------------------------------------------------ mouse
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton and self.isEnabled():
            self._drag_to(event.position().x(), immediate=False)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        x = event.position().x()
        bar = self.bar_at(x)
        if bar is not None:
            QToolTip.showText(event.globalPosition().toPoint(), self.label_of(bar), self)
        if self._drag_ns is not None and event.buttons() & Qt.MouseButton.LeftButton:
            self._drag_to(x, immediate=False)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton and self._drag_ns is not None:
            self._drag_to(event.position().x(), immediate=True)
            self._drag_ns = None
            self.update()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def _drag_to(self, x: float, immediate: bool) -> None:
        bar = self.bar_at(x)
        if bar is None:
            return
        self._drag_ns = bar
        self._pending_ns = bar
        self.update()
        if immediate:
            self._throttle.stop()
            self._send_pending()
        elif not self._throttle.isActive():
            self._throttle.start()

    def _send_pending(self) -> None:
        if self._pending_ns is None:
            return
        target, self._pending_ns = self._pending_ns, None
        self.requests_sent += 1
        self.seek_requested.emit(int(target))

    # ------------------------------------------------------------------ paint
    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor(theme.PANEL))
        segments = self._segments()
        top = 6.0
        track = QColor(theme.SCROLL_HANDLE)
        track.setAlpha(120)
        played = QColor(theme.ACCENT)
        future = QColor(theme.ACCENT)
        future.setAlpha(70)
        p.setFont(self._font)
        fm = p.fontMetrics()
        label_every = 1
        if segments:
            widest = fm.horizontalAdvance("12-31") + 6
            seg_w = segments[0][1] - segments[0][0] + GAP
            label_every = max(1, int(widest // max(1.0, seg_w)) + 1)
        for k, (x0, x1, s) in enumerate(segments):
            p.fillRect(QRectF(x0, top, x1 - x0, TRACK_H), track)
            for until, colour in ((self._reached_ns, future), (self._clock_ns, played)):
                if until > s.open_ns:
                    xe = x0 + (x1 - x0) * min(1.0, (until - s.open_ns) / max(1, s.close_ns - s.open_ns))
                    p.fillRect(QRectF(x0, top, xe - x0, TRACK_H), colour)
            if k % label_every == 0:
                p.setPen(QColor(theme.MUTED))
                p.drawText(QPointF(x0 + 1, top + TRACK_H + fm.ascent() + 3), f"{s.date:%m-%d}")
        if not segments:
            p.setPen(QColor(theme.MUTED))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Timeline: load a session config")
            return
        x = self.x_of(self._clock_ns) if self._clock_ns >= 0 else None
        if x is not None:
            p.setPen(QPen(QColor(theme.TEXT), 2))
            p.drawLine(QPointF(x, top - 4), QPointF(x, top + TRACK_H + 4))
            p.setBrush(QColor(theme.TEXT))
            p.drawEllipse(QPointF(x, top + TRACK_H / 2), 4.5, 4.5)
        if self._drag_ns is not None:
            xd = self.x_of(self._drag_ns + self._bar_ns)
            if xd is not None:
                p.setPen(QPen(QColor(theme.AMBER), 2, Qt.PenStyle.DashLine))
                p.drawLine(QPointF(xd, top - 4), QPointF(xd, top + TRACK_H + 4))
                text = self.label_of(self._drag_ns)
                tw = fm.horizontalAdvance(text) + 8
                tx = min(max(2.0, xd - tw / 2), self.width() - tw - 2)
                ty = top + TRACK_H + 2
                p.fillRect(QRectF(tx, ty, tw, fm.height() + 2), QColor(theme.AMBER))
                p.setPen(QColor("#101010"))
                p.drawText(QRectF(tx, ty, tw, fm.height() + 2), Qt.AlignmentFlag.AlignCenter, text)
