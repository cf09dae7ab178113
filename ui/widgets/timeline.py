"""Timeline: the run's sessions as one bar under the chart; click or drag to go to any bar time.

Each session is one segment, as wide as its trading time (an early close is shorter; nights and
weekends take no room), separated by a thin gap and labelled with its date when there is room. The
part already played is filled; the handle marks the replay's clock; the run's furthest point is a
lighter fill (the future you stepped back from); hour ticks mark each session's hours. Pressing,
dragging and releasing the mouse asks for a seek (`seek_requested(bar_start_ns)`), throttled while
dragging (the engine replays headless between two requests) and always sent on release. A pixel holds
several bar times (a week of 1m sessions on 1,000 px: ~2 bars a pixel), so for a precise bar: hold
Shift while dragging (one bar time per FINE_PX pixels from where Shift was pressed), or turn the
mouse wheel over the timeline (one bar time a notch, Shift: 15); the widget holds no trading logic, the window
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
FINE_PX = 4             # Shift held while dragging: one bar time per this many pixels (else ~5 bars a pixel)
WHEEL_BARS = 1          # bar times per wheel notch over the timeline (Shift: SHIFT_WHEEL_BARS)
SHIFT_WHEEL_BARS = 15
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
        self.setToolTip("Timeline: click or drag to go to any bar time (Shift+drag: bar by bar; wheel: one bar "
                        "time a notch, Shift+wheel 15; ← steps back one bar time, → one forward)")
        self._sessions: list[TimelineSession] = []
        self._bar_ns = 60_000_000_000
        self._zone = ZoneInfo("America/New_York")
        self._clock_ns = -1           # the replay clock: the END of the last delivered bar time
        self._reached_ns = -1         # the furthest clock of the run so far
        self._drag_ns: int | None = None
        self._pending_ns: int | None = None
        self._fine_anchor: tuple[float, int] | None = None   # (x, bar) where Shift-dragging started
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

    def step_bars(self, bar_ns: int, bars: int) -> int | None:
        """The bar start `bars` bar times after (negative: before) `bar_ns` along the timeline's sessions
        (across session boundaries, clamped to the first and last bar); None without sessions."""
        if not self._sessions:
            return None
        counts = [max(1, (s.close_ns - s.open_ns) // self._bar_ns) for s in self._sessions]
        index = 0
        for s, n in zip(self._sessions, counts, strict=True):
            if bar_ns < s.close_ns:
                index += min(n - 1, max(0, (bar_ns - s.open_ns) // self._bar_ns))
                break
            index += n
        else:
            index -= 1
        index = min(sum(counts) - 1, max(0, index + bars))
        for s, n in zip(self._sessions, counts, strict=True):
            if index < n:
                return s.open_ns + index * self._bar_ns
            index -= n
        return None

    def _current_bar(self) -> int | None:
        """The bar a wheel turn starts from: the one being dragged to or asked for, else the clock's."""
        if self._pending_ns is not None:
            return self._pending_ns
        if self._drag_ns is not None:
            return self._drag_ns
        if self._clock_ns >= 0:
            return self._clock_ns - self._bar_ns        # the clock is the END of the last bar time
        return self._sessions[0].open_ns if self._sessions else None

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
        fine = (self._drag_ns is not None and bool(event.buttons() & Qt.MouseButton.LeftButton)
                and bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier))
        if fine:
            QToolTip.hideText()         # the bar under the mouse is not where a fine drag goes: the label says
        elif bar is not None:
            QToolTip.showText(event.globalPosition().toPoint(), self.label_of(bar), self)
        if self._drag_ns is not None and event.buttons() & Qt.MouseButton.LeftButton:
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                if self._fine_anchor is None:
                    self._fine_anchor = (x, self._drag_ns)
                anchor_x, anchor_bar = self._fine_anchor
                target = self.step_bars(anchor_bar, round((x - anchor_x) / FINE_PX))
                if target is not None:
                    self._go_to(target, immediate=False)
            else:
                self._fine_anchor = None
                self._drag_to(x, immediate=False)
        super().mouseMoveEvent(event)

    def wheelEvent(self, event) -> None:  # noqa: N802 - Qt override
        """One bar time per notch (Shift: SHIFT_WHEEL_BARS), forward when turned up or right."""
        if not self.isEnabled() or not self._sessions:
            super().wheelEvent(event)
            return
        delta = event.angleDelta()
        notches = (delta.y() or delta.x()) / 120
        start = self._current_bar()
        if not notches or start is None:
            event.ignore()
            return
        per = SHIFT_WHEEL_BARS if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else WHEEL_BARS
        steps = int(notches * per) or (1 if notches > 0 else -1)
        target = self.step_bars(start, steps)
        if target is not None:
            self._go_to(target, immediate=False)
            self._drag_ns = None
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton and self._drag_ns is not None:
            if self._fine_anchor is not None and event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self._throttle.stop()
                self._send_pending()           # the fine position, not the bar under the mouse
            else:
                self._drag_to(event.position().x(), immediate=True)
            self._drag_ns = None
            self._fine_anchor = None
            self.update()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def _drag_to(self, x: float, immediate: bool) -> None:
        bar = self.bar_at(x)
        if bar is None:
            return
        self._go_to(bar, immediate)

    def _go_to(self, bar: int, immediate: bool) -> None:
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
        tick = QColor(theme.TEXT)
        tick.setAlpha(90)
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
            span = max(1, s.close_ns - s.open_ns)
            hours = span / 3_600_000_000_000
            if (x1 - x0) / max(1.0, hours) >= 6:       # hour ticks where an hour has room (>= 6 px)
                p.setPen(QPen(tick, 1))
                first = -(-s.open_ns // 3_600_000_000_000) * 3_600_000_000_000   # the first whole hour
                for t in range(first, s.close_ns, 3_600_000_000_000):
                    if t > s.open_ns:
                        xt = x0 + (x1 - x0) * (t - s.open_ns) / span
                        p.drawLine(QPointF(xt, top + TRACK_H - 3), QPointF(xt, top + TRACK_H))
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
