"""The block warm-up (`Indicator.warm_up`, `IndicatorSet.warm_up`) leaves exactly the state of the
per-bar path: every state array, output and flag equal bit for bit (bytes, NaN payloads included)."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from workstation.indicators import Indicator, make_indicator
from workstation.indicators import base as indicator_base
from workstation.indicators.base import Smoothing
from workstation.indicators.block import WarmupBlock
from workstation.pipeline.processor import IndicatorSet
from workstation.pipeline.stage_events import WarmupBars

KINDS = ["sma(20)", "sma(3)", "sma(1)", "ema(9)", "ema(1)", "rsi(14)", "rsi(3)", "macd(12,26,9)", "macd(3,5,2)",
         "bb(20,2)", "bb(5,1.5)", "atr(14)", "atr(2)", "vwap"]  # fmt: skip
FIELDS = ("open", "high", "low", "close", "volume")


def assert_same_state(actual: object, expected: object, path: str) -> None:
    """Every attribute equal: arrays byte for byte, child indicators and smoothings recursively."""
    left, right = vars(actual), vars(expected)
    assert left.keys() == right.keys(), path
    for name, value in left.items():
        other = right[name]
        where = f"{path}.{name}"
        if isinstance(value, np.ndarray):
            assert value.dtype == other.dtype and value.shape == other.shape, where
            assert value.tobytes() == other.tobytes(), f"{where}: {value!r} != {other!r}"
        elif isinstance(value, Indicator | Smoothing):
            assert_same_state(value, other, where)
        elif isinstance(value, tuple) and value and isinstance(value[0], Indicator):
            for k, (child, other_child) in enumerate(zip(value, other, strict=True)):
                assert_same_state(child, other_child, f"{where}[{k}]")
        else:
            assert value == other, f"{where}: {value!r} != {other!r}"


def make_calls(rng: np.random.Generator, lanes: int, calls: int, nan_share: float = 0.0,
               share: float = 0.7) -> list[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """Random update calls: a random subset of lanes each (shuffled, some lanes never fed), prices
    on a cent grid (ties and flat runs included), some bars NaN."""
    out = []
    skipped = rng.random(lanes) < 0.15
    for _ in range(calls):
        idx = np.flatnonzero((rng.random(lanes) < share) & ~skipped).astype(np.int64)
        rng.shuffle(idx)
        close = np.round(100 + rng.normal(0, 2, idx.shape[0]).cumsum() * 0.1, 2)
        if rng.random() < 0.2:
            close = np.round(np.full(idx.shape[0], 100.0) + rng.integers(0, 2, idx.shape[0]) * 0.01, 2)
        high = close + np.round(rng.random(idx.shape[0]), 2)
        low = close - np.round(rng.random(idx.shape[0]), 2)
        volume = rng.integers(0, 500, idx.shape[0]).astype(np.float64)
        columns = {"open": close.copy(), "high": high, "low": low, "close": close, "volume": volume}
        if nan_share:
            for field in FIELDS:
                columns[field][rng.random(idx.shape[0]) < nan_share] = np.nan
        out.append((idx, columns))
    return out


def per_bar(spec: str, lanes: int, calls) -> Indicator:
    ind = make_indicator(spec, lanes=lanes)
    for idx, columns in calls:
        ind.update(*(columns[f] for f in ind.fields), lanes=idx)
    return ind


def block_of(lanes: int, calls) -> WarmupBlock:
    return WarmupBlock.from_calls(lanes, [idx for idx, _ in calls], {f: [c[f] for _, c in calls] for f in FIELDS})


@pytest.mark.parametrize("spec", KINDS)
@pytest.mark.parametrize("calls", [0, 1, 2, 12, 40, 300])
def test_block_warm_up_equals_per_bar_updates(spec: str, calls: int) -> None:
    """Short warm-ups (fewer inputs than the indicator needs), long ones, lanes never fed, uneven lanes."""
    rng = np.random.default_rng(zlib.crc32(f"{spec}-{calls}".encode()))
    fed = make_calls(rng, 7, calls)
    expected = per_bar(spec, 7, fed)
    actual = make_indicator(spec, lanes=7)
    actual.warm_up(block_of(7, fed))
    assert_same_state(actual, expected, spec)


@pytest.mark.parametrize("spec", KINDS)
def test_block_warm_up_with_nan_bars(spec: str) -> None:
    rng = np.random.default_rng(zlib.crc32(spec.encode()) + 1)
    fed = make_calls(rng, 5, 120, nan_share=0.05)
    expected = per_bar(spec, 5, fed)
    actual = make_indicator(spec, lanes=5)
    actual.warm_up(block_of(5, fed))
    assert_same_state(actual, expected, spec)


@pytest.mark.parametrize("spec", ["ema(9)", "rsi(14)", "macd(3,5,2)", "atr(2)", "sma(20)"])
def test_block_warm_up_with_many_lanes_steps_them_with_numpy(spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both ways of `Smoothing.series` (Python floats for few lanes, numpy per input for many)."""
    rng = np.random.default_rng(11)
    fed = make_calls(rng, 40, 150, nan_share=0.02)
    expected = per_bar(spec, 40, fed)
    for lanes_in_python in (0, 1000):
        monkeypatch.setattr(indicator_base, "_PYTHON_SERIES_LANES", lanes_in_python)
        actual = make_indicator(spec, lanes=40)
        actual.warm_up(block_of(40, fed))
        assert_same_state(actual, expected, f"{spec} python lanes {lanes_in_python}")


@pytest.mark.parametrize("spec", ["sma(2)", "sma(9)", "bb(9,2)"])
def test_block_warm_up_covers_the_sma_resum_and_its_countdown(spec: str) -> None:
    """Past period * 64 inputs the running sums are recomputed from the window (pairwise sums of 9
    values differ from sequential ones), and the countdown to the next check is per call."""
    rng = np.random.default_rng(5)
    fed = make_calls(rng, 6, 1400, share=0.8)
    fed[3][1]["close"][:] = 1e16          # float residue in the running sums until the resum
    expected = per_bar(spec, 6, fed)
    assert (expected.count >= 9 * 64).any()
    actual = make_indicator(spec, lanes=6)
    actual.warm_up(block_of(6, fed))
    assert_same_state(actual, expected, spec)


@pytest.mark.parametrize("spec", ["sma(5)", "ema(4)", "rsi(3)", "macd(3,5,2)", "bb(4,2)", "atr(3)", "vwap"])
def test_warm_up_after_earlier_inputs_goes_call_after_call(spec: str) -> None:
    rng = np.random.default_rng(3)
    first, then = make_calls(rng, 4, 10), make_calls(rng, 4, 30)
    expected = per_bar(spec, 4, first + then)
    actual = per_bar(spec, 4, first)
    actual.warm_up(block_of(4, then))
    assert_same_state(actual, expected, spec)
    actual.warm_up(block_of(4, []))          # nothing to feed: nothing changes
    assert_same_state(actual, expected, spec)


def test_warm_up_block_checks_its_lanes() -> None:
    with pytest.raises(ValueError, match="block of 3 lanes, expected 2"):
        make_indicator("sma(3)", lanes=2).warm_up(block_of(3, []))


def test_warmup_block_lays_out_each_lanes_inputs_in_order() -> None:
    calls = [(np.array([2, 0]), {"close": np.array([20.0, 0.0])}), (np.array([], dtype=np.int64),
             {"close": np.array([])}), (np.array([0]), {"close": np.array([1.0])})]
    block = WarmupBlock.from_calls(4, [idx for idx, _ in calls], {"close": [c["close"] for _, c in calls]})
    assert block.calls == 2
    np.testing.assert_array_equal(block.lengths, [2, 0, 1, 0])
    np.testing.assert_array_equal(block.fed, [0, 2])
    np.testing.assert_array_equal(block.series("close"), [[0.0, 20.0], [1.0, np.nan]])
    np.testing.assert_array_equal(block.counts_after_calls(), [[1, 0, 1, 0], [2, 0, 1, 0]])


def test_smoothing_series_matches_step_in_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(2)
    inputs = np.round(rng.normal(100, 1, (50, 3)), 2)
    inputs[10:14, 1] = inputs[9, 1]                   # prev == x: kept as is
    inputs[20, 2] = np.nan
    inputs[:5, 0] = 467.6     # prev == x where the smoothing step would not give x back exactly
    smoothing = Smoothing(6.5)
    assert (smoothing.one_minus * 467.6 + smoothing.alpha * 467.6) / smoothing.denom != 467.6
    first = np.array([467.6, np.nan, 99.5])
    expected = [first]
    for k in range(50):
        expected.append(smoothing.step(expected[-1], inputs[k]))
    for lanes_in_python in (0, 24):
        monkeypatch.setattr(indicator_base, "_PYTHON_SERIES_LANES", lanes_in_python)
        out = smoothing.series(first, inputs, np.array([50, 50, 50]))
        assert out.tobytes() == np.array(expected).tobytes()


# ---------------------------------------------------------------- the processor's indicator set


def warm_up_batches(rng: np.random.Generator, n: int) -> list[tuple[str, np.ndarray, tuple[np.ndarray, ...]]]:
    batches = []
    for interval, calls in (("1m", make_calls(rng, n, 200, nan_share=0.01)), ("5m", make_calls(rng, n, 60)),
                            ("15m", make_calls(rng, n, 25))):
        batches.extend((interval, idx, tuple(columns[f] for f in FIELDS)) for idx, columns in calls)
    order = rng.permutation(len(batches))       # intervals interleaved, each in its own order
    by_interval: dict[str, list] = {}
    for batch in batches:
        by_interval.setdefault(batch[0], []).append(batch)
    out = []
    for k in order.tolist():
        out.append(by_interval[batches[k][0]].pop(0))
    return out


def as_blocks(batches, per_block: int) -> list[WarmupBars]:
    """The batches of each interval, `per_block` bar times to a block (the loader gives a day's)."""
    by_interval: dict[str, list] = {}
    for batch in batches:
        by_interval.setdefault(batch[0], []).append(batch)
    blocks = []
    for interval, parts in by_interval.items():
        for start in range(0, len(parts), per_block):
            chunk = parts[start : start + per_block]
            sizes = [len(idx) for _, idx, _ in chunk]
            blocks.append(WarmupBars(interval, np.concatenate([idx for _, idx, _ in chunk]),
                                     tuple(np.concatenate([c[k] for _, _, c in chunk]) for k in range(5)),
                                     np.concatenate(([0], np.cumsum(sizes))).astype(np.int64),
                                     np.zeros(len(chunk), dtype=np.int64)))
    return blocks


@pytest.mark.parametrize("per_block", [1, 7, 1000])
def test_indicator_set_warm_up_equals_per_batch_updates_and_session_reset(per_block: int) -> None:
    rng = np.random.default_rng(8)
    specs = ["sma(20)", "ema(20)", "rsi(14)", "vwap", "macd(12,26,9)", "bb(20,2)", "atr(14)"]
    sets = [IndicatorSet(6), IndicatorSet(6)]
    for indicator_set in sets:
        for interval in ("1m", "5m", "15m"):
            for spec in specs:
                indicator_set.add(interval, spec)
        indicator_set.add("1m", "sma(5)")
    batches = warm_up_batches(rng, 6)
    batches[5][2][3][0] = 17.921                # a finer price: the price grid's decimals grow
    expected, actual = sets
    for interval, idx, columns in batches:
        expected.update(interval, idx, columns)
    expected.session_reset()
    actual.warm_up(as_blocks(batches, per_block))
    assert_same_state(actual.price_grid, expected.price_grid, "price_grid")
    assert expected.price_grid.decimals.max() == 3
    assert actual.specs() == expected.specs()
    for interval, spec in expected.specs():
        assert_same_state(actual.get(interval, spec), expected.get(interval, spec), f"{interval}:{spec}")


def test_indicator_set_warm_up_does_not_feed_session_reset_banks(monkeypatch: pytest.MonkeyPatch) -> None:
    """VWAP restarts at the first session's open: feeding it the bars of earlier days is wasted."""
    from workstation.indicators import VWAP

    fed: list[str] = []
    original = Indicator.warm_up

    def spy(self: Indicator, block: WarmupBlock) -> None:
        fed.append(self.spec)
        original(self, block)

    monkeypatch.setattr(Indicator, "warm_up", spy)
    indicator_set = IndicatorSet(3)
    for spec in ("vwap", "sma(3)"):
        indicator_set.add("1m", spec)
    indicator_set.warm_up(as_blocks([
        ("1m", np.array([0, 1, 2]), (np.ones(3), np.ones(3), np.ones(3), np.ones(3), np.ones(3)))], 1))
    assert fed == ["sma(3)"]
    vwap = indicator_set.get("1m", "vwap")
    assert isinstance(vwap, VWAP) and not vwap.count.any()
