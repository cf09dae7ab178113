"""Incremental indicators: each against an independent textbook computation, per lane, plus the factory."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pandas as pd
import pytest

from workstation.errors import WorkstationError
from workstation.indicators import (
    ATR,
    EMA,
    INDICATOR_KINDS,
    MACD,
    RSI,
    SMA,
    VWAP,
    BollingerBands,
    Indicator,
    IndicatorError,
    compute_series,
    input_fields,
    make_indicator,
)

FIELDS = ("open", "high", "low", "close", "volume")


# ---------------------------------------------------------------- independent reference computations


def ref_sma(close: list[float], period: int) -> dict[str, list[float]]:
    out = [math.nan] * len(close)
    for i in range(period - 1, len(close)):
        out[i] = math.fsum(close[i - period + 1 : i + 1]) / period
    return {"value": out}


def ref_ema_pandas(close: list[float], period: int) -> dict[str, list[float]]:
    """SMA seed of the first `period` closes, then pandas ewm(span=period, adjust=False)."""
    out = [math.nan] * len(close)
    if len(close) >= period:
        seeded = [sum(close[:period]) / period, *close[period:]]
        out[period - 1 :] = pd.Series(seeded).ewm(span=period, adjust=False).mean().tolist()
    return {"value": out}


def ema_loop(values: list[float], period: int) -> list[float]:
    """Textbook EMA: mean of the first `period` values, then ema += alpha * (x - ema)."""
    alpha = 2.0 / (period + 1)
    out = [math.nan] * len(values)
    ema = math.nan
    for i, x in enumerate(values):
        if i == period - 1:
            ema = sum(values[:period]) / period
        elif i >= period:
            ema = ema + alpha * (x - ema)
        out[i] = ema
    return out


def ref_rsi(close: list[float], period: int) -> dict[str, list[float]]:
    out = [math.nan] * len(close)
    avg_gain = avg_loss = 0.0
    gains: list[float] = []
    losses: list[float] = []
    for i in range(1, len(close)):
        change = close[i] - close[i - 1]
        gain, loss = max(change, 0.0), max(-change, 0.0)
        if i <= period:
            gains.append(gain)
            losses.append(loss)
            if i < period:
                continue
            avg_gain, avg_loss = sum(gains) / period, sum(losses) / period
        else:
            avg_gain = (avg_gain * (period - 1) + gain) / period
            avg_loss = (avg_loss * (period - 1) + loss) / period
        out[i] = 100.0 if avg_loss == 0 else 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)
    return {"value": out}


def ref_macd(close: list[float], fast: int, slow: int, signal: int) -> dict[str, list[float]]:
    n = len(close)
    line = [f - s for f, s in zip(ema_loop(close, fast), ema_loop(close, slow), strict=True)]
    sig = [math.nan] * n
    if n >= slow:
        sig[slow - 1 :] = ema_loop(line[slow - 1 :], signal)
    start = slow + signal - 2
    macd = [line[i] if i >= start else math.nan for i in range(n)]
    hist = [macd[i] - sig[i] if i >= start else math.nan for i in range(n)]
    return {"macd": macd, "signal": sig, "histogram": hist}


def ref_bollinger(close: list[float], period: int, k: float) -> dict[str, list[float]]:
    """Middle = window mean, bands = mean +/- k * population std (ddof=0) of the window."""
    out: dict[str, list[float]] = {name: [math.nan] * len(close) for name in ("middle", "upper", "lower")}
    for i in range(period - 1, len(close)):
        window = close[i - period + 1 : i + 1]
        mean = math.fsum(window) / period
        std = math.sqrt(math.fsum((x - mean) ** 2 for x in window) / period)
        out["middle"][i], out["upper"][i], out["lower"][i] = mean, mean + k * std, mean - k * std
    return out


def ref_atr(high: list[float], low: list[float], close: list[float], period: int) -> dict[str, list[float]]:
    out = [math.nan] * len(close)
    ranges: list[float] = []
    atr = 0.0
    for i in range(len(close)):
        if i == 0:
            tr = high[i] - low[i]
        else:
            tr = max(high[i] - low[i], abs(high[i] - close[i - 1]), abs(low[i] - close[i - 1]))
        if i < period:
            ranges.append(tr)
            if i < period - 1:
                continue
            atr = sum(ranges) / period
        else:
            atr = (atr * (period - 1) + tr) / period
        out[i] = atr
    return {"value": out}


def ref_vwap(
    high: list[float], low: list[float], close: list[float], volume: list[float]
) -> dict[str, list[float]]:
    out = []
    pv = vol = 0.0
    for h, lo, c, v in zip(high, low, close, volume, strict=True):
        pv += (h + lo + c) / 3 * v
        vol += v
        out.append(pv / vol if vol > 0 else math.nan)
    return {"value": out}


def reference(spec: str, bars: dict[str, list[float]]) -> dict[str, list[float]]:
    """Textbook outputs of `spec` over one lane's bars."""
    ind = make_indicator(spec)
    close = bars["close"]
    if isinstance(ind, SMA):
        return ref_sma(close, ind.period)
    if isinstance(ind, EMA):
        return ref_ema_pandas(close, ind.period)
    if isinstance(ind, RSI):
        return ref_rsi(close, ind.period)
    if isinstance(ind, MACD):
        return ref_macd(close, ind.fast, ind.slow, ind.signal_period)
    if isinstance(ind, BollingerBands):
        return ref_bollinger(close, ind.period, ind.k)
    if isinstance(ind, ATR):
        return ref_atr(bars["high"], bars["low"], close, ind.period)
    if isinstance(ind, VWAP):
        return ref_vwap(bars["high"], bars["low"], close, bars["volume"])
    raise AssertionError(spec)


def make_bars(rng: np.random.Generator, n: int, flat_run: bool = True) -> dict[str, np.ndarray]:
    """Random-walk cent-grid bars with a flat stretch (zero changes) and some zero-volume bars."""
    close = np.round(50 + np.cumsum(rng.normal(0, 0.25, n)), 2)
    close = np.maximum(close, 1.0)
    if flat_run and n > 60:
        close[40:60] = close[40]
    spread = np.round(rng.uniform(0, 0.3, (2, n)), 2)
    volume = rng.integers(0, 5000, n).astype(float)
    volume[:3] = 0.0
    volume[rng.random(n) < 0.1] = 0.0
    return {
        "open": close.copy(),
        "high": close + spread[0],
        "low": close - spread[1],
        "close": close,
        "volume": volume,
    }


def assert_same_series(actual: np.ndarray, expected: list[float] | np.ndarray, what: str) -> None:
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected), err_msg=f"{what}: NaN positions")
    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-9, equal_nan=True, err_msg=what)


SPECS = ["sma(20)", "sma(3)", "ema(9)", "rsi(14)", "rsi(3)", "macd(12,26,9)", "macd(3,5,2)",
         "bb(20,2)", "bb(5,1.5)", "atr(14)", "atr(2)", "vwap"]  # fmt: skip


# ---------------------------------------------------------------- single lane


@pytest.mark.parametrize("spec", SPECS)
def test_single_lane_matches_reference(spec: str) -> None:
    rng = np.random.default_rng(zlib.crc32(spec.encode()))
    bars = make_bars(rng, 400)
    ind = make_indicator(spec)
    assert ind.n_lanes == 1
    recorded = {name: np.empty(400) for name in ind.output_names}
    ready = np.empty(400, dtype=bool)
    for i in range(400):
        ind.update(*(float(bars[f][i]) for f in ind.fields))
        for name, arr in ind.outputs().items():
            assert arr.shape == (1,)
            recorded[name][i] = arr[0]
        ready[i] = ind.ready_of()
        assert math.isnan(ind.value_of()) == math.isnan(ind.value[0])
    expected = reference(spec, {f: bars[f].tolist() for f in FIELDS})
    for name in ind.output_names:
        assert_same_series(recorded[name], expected[name], f"{spec} {name}")
    primary = recorded[ind.output_names[0]]
    np.testing.assert_array_equal(ready, ~np.isnan(primary))
    if spec != "vwap":
        assert not ready[ind.warmup - 2] and ready[ind.warmup - 1]


def test_ema_is_seeded_sma_then_pandas_ewm() -> None:
    closes = [10.0, 11.0, 12.0, 13.0, 20.0, 18.0]
    ema = EMA(3)
    values = []
    for c in closes:
        ema.update(c)
        values.append(ema.value_of())
    assert math.isnan(values[0]) and math.isnan(values[1])
    assert values[2] == pytest.approx(11.0)
    assert values[3] == pytest.approx(11.0 + 0.5 * (13.0 - 11.0))
    assert ema.alpha == pytest.approx(0.5)
    assert_same_series(values, ref_ema_pandas(closes, 3)["value"], "ema(3)")


def test_rsi_is_100_without_losses_and_bollinger_is_population_std() -> None:
    rsi = RSI(3)
    for c in [1.0, 2.0, 3.0, 4.0, 4.0]:
        rsi.update(c)
    assert rsi.value_of() == 100.0
    bb = BollingerBands(4, k=1.0)
    for c in [1.0, 2.0, 3.0, 4.0]:
        bb.update(c)
    std = float(np.std([1.0, 2.0, 3.0, 4.0], ddof=0))
    assert bb.middle[0] == pytest.approx(2.5)
    assert bb.upper[0] == pytest.approx(2.5 + std)
    assert bb.lower[0] == pytest.approx(2.5 - std)


def test_vwap_nan_until_volume_and_reset_starts_a_new_session() -> None:
    vwap = VWAP()
    vwap.update(10.0, 9.0, 9.5, 0.0)
    assert math.isnan(vwap.value_of()) and not vwap.ready_of()
    vwap.update(12.0, 10.0, 11.0, 100.0)
    assert vwap.value_of() == pytest.approx(11.0)
    vwap.update(21.0, 19.0, 20.0, 300.0)
    assert vwap.value_of() == pytest.approx((11.0 * 100 + 20.0 * 300) / 400)
    vwap.reset()
    assert math.isnan(vwap.value_of())
    vwap.update(6.0, 3.0, 3.0, 10.0)
    assert vwap.value_of() == pytest.approx(4.0)


# ---------------------------------------------------------------- many lanes, different subsets per step


def run_lanes(spec: str, lane_bars: list[dict[str, np.ndarray]], steps: int, rng: np.random.Generator):
    """Feed random subsets of lanes (in shuffled order); return each lane's recorded outputs."""
    n_lanes = len(lane_bars)
    ind = make_indicator(spec, lanes=n_lanes)
    position = np.zeros(n_lanes, dtype=np.int64)
    recorded: list[dict[str, list[float]]] = [{name: [] for name in ind.output_names} for _ in range(n_lanes)]
    for _ in range(steps):
        lanes = np.flatnonzero(rng.random(n_lanes) < 0.6)
        rng.shuffle(lanes)
        before = ind.outputs()
        inputs = [np.array([lane_bars[lane][f][position[lane]] for lane in lanes]) for f in ind.fields]
        ind.update(*inputs, lanes=lanes)
        position[lanes] += 1
        after = ind.outputs()
        untouched = np.setdiff1d(np.arange(n_lanes), lanes)
        for name in ind.output_names:
            np.testing.assert_array_equal(after[name][untouched], before[name][untouched])
            for lane in lanes:
                recorded[lane][name].append(after[name][lane])
        np.testing.assert_array_equal(ind.count, position)
    return ind, position, recorded


@pytest.mark.parametrize("spec", SPECS)
def test_lanes_with_random_subsets_match_each_lanes_own_sequence(spec: str) -> None:
    rng = np.random.default_rng(7 + zlib.crc32(spec.encode()))
    lane_bars = [make_bars(rng, 500) for _ in range(5)]
    ind, position, recorded = run_lanes(spec, lane_bars, 450, rng)
    for lane in range(5):
        k = int(position[lane])
        own = {f: lane_bars[lane][f][:k].tolist() for f in FIELDS}
        expected = reference(spec, own)
        for name in ind.output_names:
            assert_same_series(recorded[lane][name], expected[name], f"{spec} lane {lane} {name}")
        assert ind.ready_of(lane) == (not math.isnan(recorded[lane][ind.output_names[0]][-1]))


def test_update_with_all_lanes_scalars_and_arrays() -> None:
    sma = SMA(2, lanes=3)
    sma.update(1.0)
    sma.update(np.array([3.0, 5.0, 7.0]))
    np.testing.assert_allclose(sma.value, [2.0, 3.0, 4.0])
    sma.update([10.0], lanes=[1])
    np.testing.assert_allclose(sma.value, [2.0, 7.5, 4.0])
    sma.update(2.0, lanes=np.array([2, 0]))
    np.testing.assert_allclose(sma.value, [2.5, 7.5, 4.5])
    sma.update(np.array([]), lanes=np.array([], dtype=np.int64))
    np.testing.assert_allclose(sma.value, [2.5, 7.5, 4.5])


def test_update_rejects_bad_inputs() -> None:
    atr = ATR(3, lanes=2)
    with pytest.raises(IndicatorError, match="3 input"):
        atr.update(1.0, 2.0)
    with pytest.raises(IndicatorError, match="'low'.*shape"):
        atr.update(np.ones(2), np.ones(3), np.ones(2))
    with pytest.raises(IndicatorError, match="integer indices"):
        atr.update(1.0, 1.0, 1.0, lanes=np.array([True, False]))
    np.testing.assert_array_equal(atr.count, [0, 0])


def test_value_is_a_copy() -> None:
    sma = SMA(1, lanes=2)
    sma.update(np.array([1.0, 2.0]))
    sma.value[0] = 99.0
    sma.outputs()["value"][1] = 99.0
    np.testing.assert_array_equal(sma.value, [1.0, 2.0])


# ---------------------------------------------------------------- reset and grow


@pytest.mark.parametrize("spec", ["sma(5)", "ema(4)", "rsi(3)", "macd(3,5,2)", "bb(4,2)", "atr(3)", "vwap"])
def test_reset_one_lane_restarts_only_that_lane(spec: str) -> None:
    rng = np.random.default_rng(11)
    bars = [make_bars(rng, 60, flat_run=False) for _ in range(3)]
    ind = make_indicator(spec, lanes=3)
    for i in range(30):
        ind.update(*(np.array([bars[lane][f][i] for lane in range(3)]) for f in ind.fields))
    ind.reset(np.array([1]))
    assert ind.count.tolist() == [30, 0, 30]
    assert not ind.ready_of(1) and math.isnan(ind.value_of(1))
    for i in range(30, 60):
        ind.update(*(np.array([bars[lane][f][i] for lane in range(3)]) for f in ind.fields))
    outputs = ind.outputs()
    for lane, start in ((0, 0), (1, 30), (2, 0)):
        expected = reference(spec, {f: bars[lane][f][start:60].tolist() for f in FIELDS})
        for name in ind.output_names:
            assert_same_series([outputs[name][lane]], [expected[name][-1]], f"{spec} lane {lane} {name}")
    ind.reset()
    assert ind.count.tolist() == [0, 0, 0]
    assert not ind.ready.any()
    assert all(np.isnan(v).all() for v in ind.outputs().values())


@pytest.mark.parametrize("spec", ["sma(5)", "ema(4)", "rsi(3)", "macd(3,5,2)", "bb(4,2)", "atr(3)", "vwap"])
def test_grow_keeps_existing_lanes_and_adds_fresh_ones(spec: str) -> None:
    rng = np.random.default_rng(5)
    bars = [make_bars(rng, 50, flat_run=False) for _ in range(4)]
    ind = make_indicator(spec, lanes=2)
    for i in range(20):
        ind.update(*(np.array([bars[lane][f][i] for lane in range(2)]) for f in ind.fields))
    ind.grow(4)
    assert ind.n_lanes == 4
    assert ind.count.tolist() == [20, 20, 0, 0]
    for i in range(20, 50):
        lanes = np.arange(4)
        steps = [i, i, i - 20, i - 20]
        ind.update(
            *(np.array([bars[lane][f][steps[lane]] for lane in lanes]) for f in ind.fields), lanes=lanes
        )
    outputs = ind.outputs()
    for lane, length in ((0, 50), (1, 50), (2, 30), (3, 30)):
        expected = reference(spec, {f: bars[lane][f][:length].tolist() for f in FIELDS})
        for name in ind.output_names:
            assert_same_series([outputs[name][lane]], [expected[name][-1]], f"{spec} lane {lane} {name}")
    with pytest.raises(IndicatorError, match="n_lanes"):
        ind.grow(3)


def test_grow_from_zero_lanes() -> None:
    ema = EMA(2, lanes=0)
    assert ema.value.shape == (0,)
    ema.grow(2)
    ema.update(np.array([1.0, 3.0]))
    ema.update(np.array([3.0, 5.0]))
    np.testing.assert_allclose(ema.value, [2.0, 4.0])


# ---------------------------------------------------------------- SMA exactness over long runs


def test_sma_difference_is_exact_on_cent_prices_over_200k_updates() -> None:
    """round(2000 * (sma5 - sma20)) must equal 4 * sum5 - sum20 (cents) on every bar."""
    steps, lanes = 200_000, 3
    rng = np.random.default_rng(2024)
    cents = rng.integers(1_000, 2_000_000, size=(steps, lanes))  # $10.00 .. $20,000.00
    prices = cents / 100.0
    fast, slow = SMA(5, lanes=lanes), SMA(20, lanes=lanes)
    diff = np.empty((steps, lanes))
    for i in range(steps):
        row = prices[i]
        fast.update(row)
        slow.update(row)
        diff[i] = fast.value - slow.value
    csum = np.vstack([np.zeros((1, lanes), dtype=np.int64), np.cumsum(cents, axis=0)])
    sum5 = csum[20:] - csum[15:-5]
    sum20 = csum[20:] - csum[:-20]
    exact = 4 * sum5 - sum20
    got = np.round(2000.0 * diff[19:])
    mismatches = np.count_nonzero(got != exact)
    assert mismatches == 0, f"{mismatches} bars differ"
    assert np.isnan(diff[:19]).all()


def test_sma_running_sum_is_recomputed_exactly_per_lane() -> None:
    """A huge value leaves float residue in a running sum; each lane's periodic exact resum removes it."""
    period, steps = 2, 400
    resum_every = period * 64
    rng = np.random.default_rng(3)
    prices = rng.integers(1, 100_000, size=(steps, 2)) / 100.0
    prices[0] = 1e16
    running, residue = 0.0, 0.0
    for i in range(resum_every - 1):  # the naive running sum of this input drifts visibly
        running += prices[i, 0] - (prices[i - period, 0] if i >= period else 0.0)
        residue = abs(running - math.fsum(prices[i - period + 1 : i + 1, 0]))
    assert residue > 0.01
    sma = SMA(period, lanes=2)
    start = {0: 0, 1: 50}  # lane 1 starts later, so its resum points fall on other steps
    for step in range(steps):
        lanes = np.array([lane for lane in (0, 1) if step >= start[lane]], dtype=np.int64)
        positions = [step - start[lane] for lane in lanes]
        sma.update(np.array([prices[p, lane] for p, lane in zip(positions, lanes, strict=True)]), lanes=lanes)
        for p, lane in zip(positions, lanes, strict=True):
            if p + 1 >= resum_every:
                exact = math.fsum(prices[p - period + 1 : p + 1, lane]) / period
                assert abs(sma.value_of(int(lane)) - exact) < 1e-9, (lane, p)


# ---------------------------------------------------------------- batch series for display


@pytest.mark.parametrize("spec", [*SPECS, "bollinger(7, 3)", "ema(1)", "sma(1)"])
def test_compute_series_equals_incremental(spec: str) -> None:
    rng = np.random.default_rng(99)
    n = 1500  # > 20 * 64: covers the SMA's exact resum of its running sum
    bars = make_bars(rng, n)
    session_start = np.zeros(n, dtype=bool)
    session_start[[0, 390, 780, 1200]] = True
    ind = make_indicator(spec)
    incremental = {name: np.empty(n) for name in ind.output_names}
    for i in range(n):
        if ind.kind == "vwap" and session_start[i]:
            ind.reset()
        ind.update(*(float(bars[f][i]) for f in ind.fields))
        for name, arr in ind.outputs().items():
            incremental[name][i] = arr[0]
    batch = compute_series(spec, *(bars[f] for f in FIELDS), session_start=session_start)
    assert set(batch) == set(ind.output_names)
    for name in ind.output_names:
        assert batch[name].shape == (n,)
        np.testing.assert_array_equal(batch[name], incremental[name], err_msg=f"{spec} {name}")


def test_compute_series_short_input_and_unused_fields() -> None:
    close = np.array([1.0, 2.0, 3.0])
    out = compute_series("sma(5)", None, None, None, close, None)
    assert out["value"].shape == (3,) and np.isnan(out["value"]).all()
    out = compute_series("rsi(14)", None, None, None, close, None)
    assert np.isnan(out["value"]).all()
    out = compute_series("macd", None, None, None, close, None)
    assert all(np.isnan(v).all() for v in out.values())
    vwap = compute_series("vwap", None, close + 1, close - 1, close, np.ones(3))
    np.testing.assert_allclose(vwap["value"], [1.0, 1.5, 2.0])
    with pytest.raises(IndicatorError, match="'volume'"):
        compute_series("vwap", None, close, close, close, None)
    with pytest.raises(IndicatorError, match="'low'.*length 3"):
        compute_series("atr", None, close, close[:2], close, None)


# ---------------------------------------------------------------- factory and constructor checks


@pytest.mark.parametrize(
    ("spec", "cls", "canonical"),
    [
        ("sma(20)", SMA, "sma(20)"),
        (" SMA ( 20 ) ", SMA, "sma(20)"),
        ("ema(9)", EMA, "ema(9)"),
        ("rsi", RSI, "rsi(14)"),
        ("RSI(7)", RSI, "rsi(7)"),
        ("macd", MACD, "macd(12,26,9)"),
        ("macd(5, 35, 5)", MACD, "macd(5,35,5)"),
        ("bb", BollingerBands, "bb(20,2)"),
        ("bb(20,2)", BollingerBands, "bb(20,2)"),
        ("Bollinger(10, 2.5)", BollingerBands, "bb(10,2.5)"),
        ("atr(14)", ATR, "atr(14)"),
        ("atr", ATR, "atr(14)"),
        ("vwap", VWAP, "vwap"),
        ("VWAP()", VWAP, "vwap"),
    ],
)
def test_make_indicator_parses_specs(spec: str, cls: type[Indicator], canonical: str) -> None:
    ind = make_indicator(spec, lanes=4)
    assert isinstance(ind, cls)
    assert ind.spec == canonical and ind.name == canonical
    assert ind.n_lanes == 4
    assert make_indicator(ind.spec).spec == canonical
    assert input_fields(spec) == ind.fields


def test_input_fields() -> None:
    assert input_fields("sma(5)") == ("close",)
    assert input_fields("macd") == ("close",)
    assert input_fields("bb(20,2)") == ("close",)
    assert input_fields("atr(14)") == ("high", "low", "close")
    assert input_fields("vwap") == ("high", "low", "close", "volume")
    assert set(INDICATOR_KINDS) >= {"sma", "ema", "rsi", "macd", "bb", "bollinger", "atr", "vwap"}


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("foo(3)", "unknown indicator 'foo'"),
        ("sma", "needs a period"),
        ("sma(0)", "period must be an integer >= 1, got 0"),
        ("sma(-3)", "got -3"),
        ("sma(2.5)", "period must be an integer, got '2.5'"),
        ("sma(20", "cannot parse"),
        ("ema(9,3)", "2 argument"),
        ("vwap(3)", "no arguments"),
        ("macd(26,12,9)", "fast must be < slow"),
        ("bb(20,0)", "k must be a finite number > 0, got 0.0"),
        ("bb(20,x)", "k must be a number, got 'x'"),
        ("", "cannot parse"),
    ],
)
def test_make_indicator_rejects_bad_specs(spec: str, fragment: str) -> None:
    with pytest.raises(IndicatorError) as info:
        make_indicator(spec)
    message = str(info.value)
    assert fragment in message
    assert repr(spec) in message or spec == ""
    if "unknown" in fragment or "cannot parse" in fragment:
        assert all(kind in message for kind in INDICATOR_KINDS)
    assert isinstance(info.value, ValueError) and isinstance(info.value, WorkstationError)


def test_constructors_check_arguments_up_front() -> None:
    with pytest.raises(ValueError, match="period must be an integer >= 1, got 0"):
        SMA(0)
    with pytest.raises(ValueError, match=r"period must be an integer >= 1, got 2\.5"):
        EMA(2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="signal must be an integer >= 1, got 0"):
        MACD(12, 26, 0)
    with pytest.raises(ValueError, match="k must be a finite number > 0, got nan"):
        BollingerBands(20, float("nan"))
    with pytest.raises(ValueError, match="lanes must be an integer >= 0, got -1"):
        RSI(14, lanes=-1)
    with pytest.raises(ValueError, match="period must be an integer >= 1, got True"):
        ATR(True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lanes must be an integer >= 0, got 1.5"):
        make_indicator("vwap", lanes=1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize("spec", SPECS)
def test_per_lane_state_is_declared_on_the_class(spec: str) -> None:
    """`_fresh_state` installs attributes with setattr; mypy checks them only through the class's
    annotations, so every state array (and every output attribute) must be declared there."""
    ind = make_indicator(spec, lanes=2)
    declared: set[str] = set()
    for klass in type(ind).__mro__:
        declared.update(vars(klass).get("__annotations__", {}))
    state = set(ind._fresh_state(1))
    assert state - declared == set(), f"{spec}: state set by setattr but not declared"
    assert set(type(ind).output_attrs.values()) <= state
