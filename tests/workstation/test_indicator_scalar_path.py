"""The Python-float path of an update of few lanes (`Indicator.scalar_lanes`: SMA, EMA, RSI, VWAP and the
indicators built of them) leaves exactly the state of the numpy path: every state array, output and flag
equal bit for bit (bytes: NaN payloads and signed zeros included), after every call."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from tests.workstation.test_indicator_warm_up import KINDS, assert_same_state, make_calls
from workstation.indicators import Indicator, make_indicator
from workstation.indicators.momentum import RSI
from workstation.indicators.moving_average import EMA, SMA
from workstation.indicators.volume import VWAP


def fed(spec: str, lanes: int, calls, scalar_lanes: int, monkeypatch: pytest.MonkeyPatch) -> list[Indicator]:
    """The indicator after each call (a deep copy of its state each time), updated with `scalar_lanes`."""
    with monkeypatch.context() as m:
        m.setattr(Indicator, "scalar_lanes", scalar_lanes)
        ind = make_indicator(spec, lanes=lanes)
        states = []
        for idx, columns in calls:
            ind.update(*(columns[f] for f in ind.fields), lanes=idx)
            states.append({name: getattr(ind, attr).tobytes() for name, attr in ind.output_attrs.items()})
        return [ind, states]


@pytest.mark.parametrize("spec", KINDS)
@pytest.mark.parametrize("lanes", [1, 2, 3, 7])
def test_scalar_path_equals_numpy_path(spec: str, lanes: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Random calls of 0..lanes lanes (a single lane or all of them often: the processor's usual calls),
    long enough for SMA(20)'s exact resum of its running sums (every 1,280 inputs of a lane), flat runs
    (the smoothing's prev == x branch) and first changes (RSI's NaN change)."""
    rng = np.random.default_rng(zlib.crc32(f"scalar-{spec}-{lanes}".encode()))
    calls = make_calls(rng, lanes, 2_700, share=0.9 if lanes < 3 else 0.35)
    scalar, scalar_outputs = fed(spec, lanes, calls, 4, monkeypatch)
    numpy_path, numpy_outputs = fed(spec, lanes, calls, 0, monkeypatch)
    for k, (a, b) in enumerate(zip(scalar_outputs, numpy_outputs, strict=True)):
        assert a == b, f"{spec}: outputs differ after call {k} (lanes {calls[k][0].tolist()})"
    assert_same_state(scalar, numpy_path, spec)


def test_scalar_path_is_taken_for_few_lanes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The indicators with a Python-float path take it up to `scalar_lanes` lanes and numpy beyond (a test
    of the equality above that never ran the scalar path would prove nothing)."""
    taken: list[str] = []
    for cls in (SMA, EMA, RSI, VWAP):
        original = cls._update_scalar
        monkeypatch.setattr(cls, "_update_scalar",
                            lambda self, *a, _o=original, _n=cls.__name__: (taken.append(_n), _o(self, *a))[1])
    for spec, kind in (("sma(5)", "SMA"), ("ema(5)", "EMA"), ("rsi(5)", "RSI"), ("vwap", "VWAP")):
        ind = make_indicator(spec, lanes=8)
        columns = {"high": np.full(8, 11.0), "low": np.full(8, 9.0), "close": np.full(8, 10.0),
                   "volume": np.full(8, 100.0)}
        taken.clear()
        ind.update(*(columns[f][:4] for f in ind.fields), lanes=np.arange(4))
        assert taken == [kind], spec
        taken.clear()
        ind.update(*(columns[f][:5] for f in ind.fields), lanes=np.arange(5))
        assert taken == [], spec
