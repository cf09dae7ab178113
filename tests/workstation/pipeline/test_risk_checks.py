"""RiskChecks on their own: confidence, quality and position-size limits, CLOSE sizing, in that
order, at and around each boundary, with a real broker holding positions and pending orders."""

from __future__ import annotations

import numpy as np
import pytest

from workstation.config.models import ExecutionConfig, RiskConfig
from workstation.execution.broker import SimulatedBroker
from workstation.model import Action, Signal
from workstation.pipeline.analysis import RiskChecks
from workstation.session import SessionData

SYMBOLS = ["AAA", "BBB"]


@pytest.fixture
def setup():
    sd = SessionData(SYMBOLS, ["1m", "5m"])
    sd.publish_quality(["1m", "5m"], np.array([96.0, 80.0]))
    broker = SimulatedBroker(SYMBOLS, ExecutionConfig(allow_short=True))  # these checks come before the account's
    risk = RiskChecks(RiskConfig(min_quality_pct=95, max_position_qty=1000, min_confidence=0.5), sd, broker)
    return risk, broker, sd


def _signal(action, qty=100.0, symbol="AAA", confidence=1.0):
    return Signal(symbol, action, qty, 10.0, 0, "test", confidence)


def _hold(broker, i, qty):
    broker.submit(i, qty, 0, "test", 10.0)
    idx = np.arange(len(SYMBOLS), dtype=np.int64)
    broker.on_bar_time(60_000_000_000, idx, np.full(len(SYMBOLS), 10.0), np.full(len(SYMBOLS), 10.0))


def test_buy_and_sell_are_signed_and_approved(setup):
    risk, _, _ = setup
    decision, qty = risk.decide(_signal(Action.BUY), 0, "1m")
    assert decision.approved and decision.reason == "" and qty == 100
    decision, qty = risk.decide(_signal(Action.SELL, 40), 0, "1m")
    assert decision.approved and qty == -40


@pytest.mark.parametrize(("confidence", "approved"), [(0.49, False), (0.5, True), (0.51, True)])
def test_confidence_minimum_is_inclusive(setup, confidence, approved):
    risk, _, _ = setup
    decision, qty = risk.decide(_signal(Action.BUY, confidence=confidence), 0, "1m")
    assert decision.approved is approved and (qty == 100) is approved
    if not approved:
        assert decision.reason == "confidence 0.49 < minimum 0.50"


def test_quality_minimum_reads_the_signals_interval(setup):
    risk, _, sd = setup
    decision, _ = risk.decide(_signal(Action.BUY, symbol="BBB"), 1, "5m")
    assert not decision.approved and decision.reason == "data quality 80.0% < minimum 95.0%"
    sd.publish_quality(["5m"], np.array([96.0, 95.0]))
    assert risk.decide(_signal(Action.BUY, symbol="BBB"), 1, "5m")[0].approved        # 95 % is enough
    assert not risk.decide(_signal(Action.BUY, symbol="BBB"), 1, "1m")[0].approved    # 1m still 80 %


def test_confidence_is_checked_before_quality(setup):
    risk, _, _ = setup
    decision, _ = risk.decide(_signal(Action.BUY, symbol="BBB", confidence=0.1), 1, "1m")
    assert decision.reason.startswith("confidence")


def test_close_flattens_position_and_pending_orders(setup):
    risk, broker, _ = setup
    decision, qty = risk.decide(_signal(Action.CLOSE), 0, "1m")
    assert not decision.approved and decision.reason == "nothing to close: position is flat" and qty == 0
    _hold(broker, 0, 300)
    assert risk.decide(_signal(Action.CLOSE), 0, "1m")[1] == -300
    broker.submit(0, 50, 0, "test", 10.0)                          # pending, not filled yet
    assert risk.decide(_signal(Action.CLOSE), 0, "1m")[1] == -350


def test_position_limit_counts_position_and_pending(setup):
    risk, broker, _ = setup
    _hold(broker, 0, 800)
    assert risk.decide(_signal(Action.BUY, 200), 0, "1m")[0].approved                # exactly 1000
    decision, qty = risk.decide(_signal(Action.BUY, 201), 0, "1m")
    assert not decision.approved and qty == 0
    assert decision.reason == "position limit: would hold 1001 > 1000 shares"
    broker.submit(0, 150, 0, "test", 10.0)
    assert not risk.decide(_signal(Action.BUY, 100), 0, "1m")[0].approved            # 800 + 150 + 100
    assert risk.decide(_signal(Action.SELL, 1900), 0, "1m")[0].approved               # to -950
    assert not risk.decide(_signal(Action.SELL, 2000), 0, "1m")[0].approved           # to -1050
