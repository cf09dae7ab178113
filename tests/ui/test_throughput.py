"""ThroughputMeter: the bars/s the window shows, from bar counts sampled every ~250 ms."""

from __future__ import annotations

import numpy as np
import pytest

from ui.throughput import ThroughputMeter


def replay(meter: ThroughputMeter, bars_per_bar_time: int, bar_wall_s: float, seconds: float,
           rng: np.random.Generator, paced: bool = True) -> list[float]:
    """Samples every 250 ms (jittered like a Qt timer) of a run delivering a bar time every `bar_wall_s`."""
    shown, now = [], 0.0
    while now < seconds:
        now += 0.25 + rng.uniform(-0.03, 0.05)
        bars = int(now // bar_wall_s) * bars_per_bar_time
        shown.append(meter.sample(now, bars, bar_wall_s if paced else None))
    return shown


@pytest.mark.parametrize("speed", [60.0, 30.0, 120.0, 600.0])
def test_a_paced_replay_shows_its_real_rate(speed):
    """60x on 5 symbols: a bar time of 5 bars a second is 5 bars/s, not a smoothed 0..11."""
    rng = np.random.default_rng(3)
    bar_wall_s = 60.0 / speed
    real = 5 / bar_wall_s
    shown = replay(ThroughputMeter(), 5, bar_wall_s, 40.0, rng)
    settled = shown[len(shown) // 2:]
    assert min(settled) >= 0.85 * real and max(settled) <= 1.15 * real, (real, min(settled), max(settled))


def test_as_fast_as_possible_follows_the_flow():
    rng = np.random.default_rng(4)
    meter = ThroughputMeter()
    shown = replay(meter, 700, 0.005, 6.0, rng, paced=False)      # ~140,000 bars/s
    settled = shown[len(shown) // 2:]
    assert all(0.95 * 140_000 <= r <= 1.05 * 140_000 for r in settled)


def test_a_stall_falls_to_zero_and_a_new_count_starts_afresh():
    meter = ThroughputMeter()
    for k in range(20):
        meter.sample(k * 0.25, k * 100)
    assert meter.sample(5.0, 2000) == pytest.approx(400.0, rel=0.05)
    assert meter.sample(6.5, 2000) > 0                # less than a window without bars: kept
    assert meter.sample(7.5, 2000) == 0.0             # a whole window without bars: stalled
    meter.sample(10.0, 50)                            # fewer bars than before: a new run
    assert meter.sample(10.25, 50) == 0.0             # one arrival: no rate yet
    assert meter.sample(10.5, 150) == pytest.approx(200.0)    # 100 bars in the 0.5 s since the first


def test_the_window_spans_bar_times_at_slow_speeds():
    meter = ThroughputMeter()
    assert meter.window_s(None) == meter.MIN_WINDOW_S
    assert meter.window_s(0.1) == meter.MIN_WINDOW_S                 # 600x
    assert meter.window_s(6.0) == 6.0 * meter.BAR_TIMES              # 10x
    assert meter.window_s(60.0 * 60) == meter.MAX_WINDOW_S
