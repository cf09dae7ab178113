"""Replay speed slider: a log scale from 1x to 10,000x plus a MAX stop (as fast as the data flows).

`speed()` is the multiplier of wall-clock time (1.0 = real time) or 0.0 for MAX, the value the
engine's `set_speed` takes. Dragging updates the label at once but emits `speed_changed` at most
every 100 ms and once more on release, so the engine is not flooded with speed changes.
"""

from __future__ import annotations

import bisect
import logging
import math
import time
from collections.abc import Callable

from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSlider, QStyle, QStyleOptionSlider, QWidget

from ui import theme

logger = logging.getLogger(__name__)

MIN_SPEED = 1.0
MAX_FINITE_SPEED = 10_000.0
MAX_SPEED = 0.0
STEPS_PER_DECADE = 60
DECADES = round(math.log10(MAX_FINITE_SPEED / MIN_SPEED))
LAST_FINITE_POSITION = DECADES * STEPS_PER_DECADE
MAX_POSITION = LAST_FINITE_POSITION + STEPS_PER_DECADE // 5
NOTCHES: tuple[float, ...] = tuple(
    float(m * 10**e) for e in range(DECADES + 1) for m in (1, 2, 5) if m * 10**e <= MAX_FINITE_SPEED
)
SNAP_STEPS = 2
EMIT_INTERVAL_S = 0.1


def round_speed(speed: float) -> float:
    """Two significant digits (1.3, 12, 250, 1200): what a slider position means to a person."""
    if speed <= 0:
        return MAX_SPEED
    digits = 1 - math.floor(math.log10(speed))
    return float(round(speed, digits))


def position_to_speed(position: int) -> float:
    """Slider position -> speed (0.0 for the MAX stop); log scale between 1x and 10,000x."""
    if position > LAST_FINITE_POSITION:
        return MAX_SPEED
    position = max(0, position)
    return round_speed(MIN_SPEED * 10 ** (position / STEPS_PER_DECADE))


def speed_to_position(speed: float) -> int:
    """Speed -> nearest slider position (0 or infinity give the MAX stop)."""
    if speed <= 0 or math.isinf(speed):
        return MAX_POSITION
    speed = min(max(speed, MIN_SPEED), MAX_FINITE_SPEED)
    return round(math.log10(speed / MIN_SPEED) * STEPS_PER_DECADE)


def format_speed(speed: float) -> str:
    """0 -> "MAX", 1 -> "1×", 1.3 -> "1.3×", 250 -> "250×", 2000 -> "2,000×"."""
    if speed <= 0:
        return "MAX"
    if speed < 10 and speed != int(speed):
        return f"{speed:.1f}×"
    return f"{round(speed):,}×"


def _snap(position: int) -> int:
    """Pull a position onto a 1-2-5 notch within SNAP_STEPS, or onto the MAX stop past the last notch."""
    if position > LAST_FINITE_POSITION:
        return MAX_POSITION
    for notch in NOTCHES:
        notch_position = speed_to_position(notch)
        if abs(notch_position - position) <= SNAP_STEPS:
            return notch_position
    return position


class _SpeedSlider(QSlider):
    """QSlider that marks each decade (1x, 10x, ... 10,000x) and the MAX stop under its groove."""

    def __init__(self) -> None:
        super().__init__(Qt.Orientation.Horizontal)
        self.setMinimumHeight(22)

    def tick_x(self, position: int) -> float:
        """Horizontal centre of the handle when the slider is at `position`."""
        option = QStyleOptionSlider()
        self.initStyleOption(option)
        style = self.style()
        groove = style.subControlRect(
            QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderGroove, self
        )
        handle = style.subControlRect(
            QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderHandle, self
        )
        span = groove.width() - handle.width()
        offset = QStyle.sliderPositionFromValue(self.minimum(), self.maximum(), position, span)
        return groove.left() + offset + handle.width() / 2

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        painter = QPainter(self)
        painter.setPen(Qt.PenStyle.NoPen)
        bottom = self.height() - 1
        painter.setBrush(QColor(theme.MUTED))
        for decade in range(DECADES + 1):
            x = self.tick_x(decade * STEPS_PER_DECADE)
            painter.drawRect(QRectF(x - 0.5, bottom - 3, 1, 3))
        painter.setBrush(QColor(theme.AMBER))
        x = self.tick_x(MAX_POSITION)
        painter.drawRect(QRectF(x - 1, bottom - 3, 2, 3))
        painter.end()


class SpeedControl(QWidget):
    """Log-scale replay speed slider (1x..10,000x, MAX) with a value label; +/- step by notches."""

    speed_changed = Signal(float)

    def __init__(
        self,
        speed: float = 1.0,
        parent: QWidget | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`clock` (monotonic seconds) paces emissions while dragging; tests pass a fake one."""
        super().__init__(parent)
        self._clock = clock
        self._speed = MIN_SPEED
        self._last_emitted: float | None = None
        self._last_emit_time = -math.inf
        self._syncing = False

        self.caption = QLabel("Speed")
        self.caption.setStyleSheet(f"color: {theme.MUTED};")
        self.slider = _SpeedSlider()
        self.slider.setRange(0, MAX_POSITION)
        self.slider.setSingleStep(1)
        self.slider.setPageStep(STEPS_PER_DECADE // 3)
        self.slider.setMinimumWidth(140)
        self.slider.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.slider.setToolTip(
            "Replay speed: 1× is real time, 10,000× the fastest paced replay, MAX as fast as the "
            "data flows.\nKeys + and − step through 1, 2, 5, 10, 20, 50…"
        )
        self.value_label = QLabel()
        self.value_label.setFont(theme.mono_font(10, bold=True))
        self.value_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.value_label.setMinimumWidth(self.value_label.fontMetrics().horizontalAdvance("10,000×") + 6)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(8)
        layout.addWidget(self.caption)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.value_label)

        self._emit_timer = QTimer(self)
        self._emit_timer.setSingleShot(True)
        self._emit_timer.timeout.connect(self._emit_pending)

        self.slider.valueChanged.connect(self._on_value_changed)
        self.slider.sliderReleased.connect(self._on_released)
        self.set_speed(speed)
        self._last_emitted = self._speed

    # ----- public API ---------------------------------------------------------------------------

    def speed(self) -> float:
        """Current speed multiplier; 0.0 means MAX (data-driven, no pacing)."""
        return self._speed

    def is_max(self) -> bool:
        """Whether the MAX stop is selected."""
        return self._speed == MAX_SPEED

    def set_speed(self, speed: float) -> None:
        """Show `speed` (0 or inf = MAX, else clamped to 1..10,000x) without emitting speed_changed."""
        if math.isnan(speed):
            raise ValueError("replay speed must be a number, got NaN")
        if speed <= 0 or math.isinf(speed):
            value = MAX_SPEED
        else:
            value = min(max(float(speed), MIN_SPEED), MAX_FINITE_SPEED)
        self._speed = value
        self._last_emitted = value
        self._emit_timer.stop()
        self._syncing = True
        try:
            self.slider.setValue(speed_to_position(value))
        finally:
            self._syncing = False
        self._update_label()

    def faster(self) -> None:
        """One notch up (1, 2, 5, 10, 20, 50, ... 10,000, then MAX); emits speed_changed."""
        if self.is_max():
            return
        index = bisect.bisect_right(NOTCHES, self._speed * (1 + 1e-9))
        self._user_set(NOTCHES[index] if index < len(NOTCHES) else MAX_SPEED)

    def slower(self) -> None:
        """One notch down (MAX -> 10,000 -> 5,000 ... -> 1); emits speed_changed."""
        if self.is_max():
            self._user_set(NOTCHES[-1])
            return
        index = bisect.bisect_left(NOTCHES, self._speed * (1 - 1e-9)) - 1
        if index >= 0:
            self._user_set(NOTCHES[index])

    # ----- internals ----------------------------------------------------------------------------

    def _user_set(self, speed: float) -> None:
        self.set_speed(speed)
        self._last_emitted = None
        self._emit_now()

    def _update_label(self) -> None:
        self.value_label.setText(format_speed(self._speed))
        colour = theme.AMBER if self.is_max() else theme.TEXT_BRIGHT
        self.value_label.setStyleSheet(f"color: {colour};")

    def _on_value_changed(self, position: int) -> None:
        if self._syncing:
            return
        self._speed = position_to_speed(position)
        self._update_label()
        if self.slider.isSliderDown():
            elapsed = self._clock() - self._last_emit_time
            if elapsed >= EMIT_INTERVAL_S:
                self._emit_now()
            elif not self._emit_timer.isActive():
                self._emit_timer.start(max(1, int((EMIT_INTERVAL_S - elapsed) * 1000)))
        else:
            self._emit_now()

    def _on_released(self) -> None:
        self._emit_timer.stop()
        snapped = _snap(self.slider.value())
        if snapped != self.slider.value():
            self._syncing = True
            try:
                self.slider.setValue(snapped)
            finally:
                self._syncing = False
            self._speed = position_to_speed(snapped)
            self._update_label()
        self._emit_now()

    def _emit_pending(self) -> None:
        if self.slider.isSliderDown():
            self._emit_now()

    def _emit_now(self) -> None:
        self._emit_timer.stop()
        self._last_emit_time = self._clock()
        if self._speed != self._last_emitted:
            self._last_emitted = self._speed
            self.speed_changed.emit(self._speed)
