"""Speed slider: log mapping, MAX stop, notches, debounced emission (pytest-qt, offscreen)."""

from __future__ import annotations

import math
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from ui.widgets.speed_control import (
    LAST_FINITE_POSITION,
    MAX_POSITION,
    NOTCHES,
    STEPS_PER_DECADE,
    SpeedControl,
    format_speed,
    position_to_speed,
    speed_to_position,
)

STEP_FACTOR = 10 ** (1 / STEPS_PER_DECADE)


@pytest.fixture
def control(qtbot):
    widget = SpeedControl()
    qtbot.addWidget(widget)
    widget.resize(320, 30)
    widget.show()
    return widget


class FakeClock:
    """Stands in for time.monotonic so debounce tests do not depend on machine speed."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_log_mapping_ends_and_monotonic():
    assert position_to_speed(0) == 1.0
    assert position_to_speed(LAST_FINITE_POSITION) == 10_000.0
    assert position_to_speed(MAX_POSITION) == 0.0
    assert position_to_speed(STEPS_PER_DECADE) == 10.0
    assert position_to_speed(3 * STEPS_PER_DECADE) == 1000.0
    speeds = [position_to_speed(p) for p in range(LAST_FINITE_POSITION + 1)]
    assert all(b >= a for a, b in zip(speeds, speeds[1:], strict=False))
    # Log scale: each decade takes the same slider length.
    assert speed_to_position(100) - speed_to_position(10) == speed_to_position(1000) - speed_to_position(100)
    assert speed_to_position(0) == MAX_POSITION == speed_to_position(math.inf)


def test_slider_ends_map_to_1x_and_max(control):
    slider = control.slider
    slider.setValue(slider.minimum())
    assert control.speed() == 1.0 and control.value_label.text() == "1×"
    slider.setValue(LAST_FINITE_POSITION)
    assert control.speed() == 10_000.0 and control.value_label.text() == "10,000×"
    slider.setValue(slider.maximum())
    assert control.speed() == 0.0 and control.is_max() and control.value_label.text() == "MAX"


@pytest.mark.parametrize("speed", [1.0, 1.5, 3.0, 12.0, 250.0, 999.0, 5000.0, 10_000.0])
def test_set_speed_round_trip_within_a_notch(control, speed):
    control.set_speed(speed)
    assert control.speed() == speed
    shown = position_to_speed(control.slider.value())
    assert speed / STEP_FACTOR <= shown * 1.06 and shown <= speed * STEP_FACTOR * 1.06


def test_set_speed_clamps_and_max(control, qtbot):
    with qtbot.assertNotEmitted(control.speed_changed):
        control.set_speed(0)
        assert control.is_max() and control.speed() == 0.0
        assert control.slider.value() == MAX_POSITION
        control.set_speed(0.25)
        assert control.speed() == 1.0
        control.set_speed(50_000)
        assert control.speed() == 10_000.0
    with pytest.raises(ValueError, match="NaN"):
        control.set_speed(math.nan)


def test_format_speed():
    assert [format_speed(s) for s in (0, 1, 1.3, 12, 250, 2000)] == [
        "MAX",
        "1×",
        "1.3×",
        "12×",
        "250×",
        "2,000×",
    ]


def test_faster_and_slower_step_by_notches(control, qtbot):
    emitted = []
    control.speed_changed.connect(emitted.append)
    control.set_speed(1)
    for _ in range(3):
        control.faster()
    assert control.speed() == 10.0
    control.set_speed(12)
    control.faster()
    assert control.speed() == 20.0
    control.set_speed(12)
    control.slower()
    assert control.speed() == 10.0
    control.set_speed(NOTCHES[-1])
    control.faster()
    assert control.is_max()
    control.faster()
    assert control.is_max()
    control.slower()
    assert control.speed() == NOTCHES[-1]
    control.set_speed(1)
    control.slower()
    assert control.speed() == 1.0
    assert emitted == [2.0, 5.0, 10.0, 20.0, 10.0, 0.0, 10_000.0]
    assert control.value_label.text() == "1×"


def test_click_or_key_on_slider_emits_immediately(control, qtbot):
    with qtbot.waitSignal(control.speed_changed, timeout=1000) as blocker:
        control.slider.setValue(2 * STEPS_PER_DECADE)
    assert blocker.args == [100.0]
    with qtbot.waitSignal(control.speed_changed, timeout=1000) as blocker:
        control.slider.setValue(MAX_POSITION)
    assert blocker.args == [0.0]


def test_drag_is_debounced_and_release_emits_snapped_value(qtbot):
    clock = FakeClock()
    control = SpeedControl(clock=clock)
    qtbot.addWidget(control)
    emitted = []
    control.speed_changed.connect(emitted.append)
    slider = control.slider
    slider.setSliderDown(True)
    for position in range(10, 80):
        slider.setValue(position)
    assert emitted == [position_to_speed(10)]  # first move at once, the rest held back
    assert control.value_label.text() == format_speed(position_to_speed(79))  # label follows the drag
    clock.now += 0.15
    slider.setValue(118)  # 100 ms later: one more emission while dragging
    assert emitted[-1] == position_to_speed(118) and len(emitted) == 2
    slider.setValue(119)
    slider.setSliderDown(False)  # release next to the 100x notch: snaps onto it
    assert control.speed() == 100.0 and slider.value() == speed_to_position(100)
    assert emitted == [position_to_speed(10), position_to_speed(118), 100.0]


def test_drag_trailing_emission_after_pause(qtbot):
    clock = FakeClock()
    control = SpeedControl(clock=clock)
    qtbot.addWidget(control)
    emitted = []
    control.speed_changed.connect(emitted.append)
    control.slider.setSliderDown(True)
    control.slider.setValue(30)
    control.slider.setValue(45)  # held back, sent by the timer while the user holds still
    qtbot.waitUntil(lambda: len(emitted) == 2, timeout=2000)
    assert emitted == [position_to_speed(30), position_to_speed(45)]
    control.slider.setSliderDown(False)
    assert len(emitted) == 2  # released on a value already sent
