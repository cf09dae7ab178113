"""A whole live session on the Alpaca provider against a stand-in that behaves like the real service.

The stand-in plays a session of 4 liquid and 2 thin symbols (thin: a bar only in minutes with a
trade, as IEX streams them) on a fast clock. The run starts mid-afternoon, so it first catches up
from REST history, which answers HTTP 429 and rate-limits. Then the connection drops: the minutes
published meanwhile are lost for good (the real service never resends them) and the server refuses
reconnects for a while (406 after auth, or HTTP 429 at the handshake). Every lost minute must be
filled from history, no bar doubled, and the session's bars and quality must equal a backtest of
the same data; minutes the thin symbols did not trade are "no trades", asked for at most once.
"""

from __future__ import annotations

import pandas as pd
import pytest
from alpaca_helpers import KEY, SECRET
from alpaca_standin import AlpacaStandIn, StandInMarket, parse_rfc3339
from market_data import session_bars, stream_messages

from workstation.calendar import TimeManager
from workstation.config import validate_config_dict
from workstation.live import AlpacaProvider
from workstation.live.known_empty import HISTORY_SETTLE_NS
from workstation.live.replay import ReplayClock
from workstation.live.system import LiveSystemManager
from workstation.store import BarStore
from workstation.system import SystemManager

DAY = "2024-01-03"
MINUTE = 60_000_000_000
LIQUID = ("AAA", "BBB", "CCC", "DDD")
THIN = {"THNA": 0.3, "THNB": 0.12}
SPEED = 150.0           # 1 market minute = 0.4 s of wall time


def _ns(local: str) -> int:
    return int(pd.Timestamp(f"{DAY} {local}", tz="America/New_York").tz_convert("UTC").value)


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    frame = session_bars(DAY, {**dict.fromkeys(LIQUID, 1.0), **THIN}, seed=11)
    store = BarStore(tmp_path_factory.mktemp("live_alpaca") / "store", create=True)
    store.write_bars(frame, "1m")
    return frame, store


def _cfg(mode: str) -> object:
    return validate_config_dict({
        "name": f"alpaca session {mode}", "mode": mode, "symbols": sorted([*LIQUID, *THIN]),
        "streams": {"interval": "1m", "derived": ["5m", "15m"], "indicators": ["sma(20)"]},
        "historical": {"trailing_days": 0, "warmup_bars": 0, "indicators": []},
        "gap_filler": {"max_retries": 3, "retry_interval_seconds": 0.3},
        "backtest": {"start_date": DAY, "end_date": DAY},
        "strategies": [{"name": "sma", "class_path": "sma_crossover", "params": {"fast": 3, "slow": 8}}],
        "risk": {"min_quality_pct": 0, "min_confidence": 0, "max_position_qty": 1e12},
        # market-time windows wide enough for a busy machine at 150x (30 s = 0.2 s of wall time)
        "live": {"provider": "alpaca", "grace_seconds": 30, "batch_quiet_ms": 40, "quiet_after_seconds": 600},
    })


def _session_result(system) -> dict:
    out: dict = {}

    def on_end(_kind, payload) -> None:
        sd = system.session_data
        out["bars"] = sorted(
            (sym, iv, int(t), float(o), float(h), float(lo), float(c), float(v))
            for iv in sd.intervals for sym in sd.symbols
            for t, o, h, lo, c, v in zip(*(getattr(sd.bars(sym, iv), f) for f in
                                           ("timestamp", "open", "high", "low", "close", "volume")), strict=True))
        out["quality"] = {(r["symbol"], r["interval"]): (r["present"], r["expected"], r["quality_pct"])
                          for r in payload["quality_rows"]}

    system.events.subscribe("session_end", on_end)
    return out


def _play_one_session(system, standin, frame, clock, start_ns: int, drop_at=()):
    """Start `system`, stream the session from `start_ns` through the stand-in (dropping the connection at
    `drop_at`), wait for its end: the session's bars and quality (`_session_result`) and the market player
    (stopped; its record of the drops stays)."""
    live = _session_result(system)
    system.events.subscribe("session_end", lambda _k, _p: system.control.stop())
    # made before the run starts: it gives the stand-in's REST its history, which the run's catch-up asks
    # for at once (made after, a loaded machine let the catch-up find no history: flaked in CI)
    market_player = StandInMarket(standin, stream_messages(frame), clock, start_ns=start_ns, drop_at=list(drop_at))
    system.start()
    market_player.start()
    try:
        assert system.wait(90), "the live run did not end"
        assert system.error is None, system.error
    finally:
        market_player.stop()
    return live, market_player


@pytest.fixture(scope="module")
def backtest(market):
    _, store = market
    system = SystemManager(_cfg("backtest"), store=store)
    result = _session_result(system)
    system.start()
    assert system.wait(60) and system.error is None
    return result


@pytest.mark.parametrize("refusal", ["406", "429"])
def test_lost_minutes_are_filled_thin_minutes_are_no_trades_and_the_session_equals_the_backtest(
        market, backtest, monkeypatch, refusal):
    frame, store = market
    monkeypatch.setenv("APCA_API_KEY_ID", KEY)
    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET)
    standin = AlpacaStandIn(KEY, SECRET, refuse_after_drop_s=0.8, refusal=refusal).start()
    try:
        clock = ReplayClock(_ns("15:41"), SPEED)
        standin.clock = clock
        standin.rest_page_size = 600            # the catch-up takes several pages...
        standin.rest_rate_limit = (2, 0.5)      # ...under a rate limit,
        standin.rest_fail = [429]               # and its first request is refused outright
        tm = TimeManager()
        provider = AlpacaProvider(ws_url=standin.ws_url, rest_url=standin.rest_url, clock=clock,
                                  initial_backoff_s=0.05, max_backoff_s=0.3, jitter=0.0, quiet_after_s=None)
        system = LiveSystemManager(_cfg("live"), store=store, time_manager=tm, provider=provider, clock=clock)
        assert [s.date.isoformat() for s in system.sessions][0] == DAY
        live, market_player = _play_one_session(system, standin, frame, clock, _ns("15:41"), drop_at=[_ns("15:48")])
    finally:
        standin.stop()

    c = system.feed
    # the drop really lost minutes, and the server refused the reconnects for a while
    assert market_player.drops_done == [_ns("15:48")]
    assert standin.lost_messages >= 2 * len(LIQUID)
    assert standin.refusals[refusal] >= 1
    assert any(refusal in e.detail for e in provider.health_history() if e.state.value == "DISCONNECTED")
    # the catch-up came through the 429 and the rate limit, in multi-symbol requests
    stats = provider.stats()
    assert stats["rest_rate_limited"] >= 1 and stats["rest_wait_s"] > 0
    assert c.caught_up_bars > 1000 and c.catch_up_error is None
    first = [r for r in standin.rest_requests if not r.get("page_token")]
    assert first[0]["symbols"].split(",") == sorted([*LIQUID, *THIN])        # one request for the catch-up
    # the minutes lost in the drop are asked for several symbols at once, not one request per symbol
    # (all four share one range unless the reconnect fell in the middle of a minute's messages)
    assert any(len(set(LIQUID) & set(r["symbols"].split(","))) >= 2 for r in first[2:])

    # every lost minute filled, no bar doubled, derived bars and quality as in the backtest
    assert live["bars"] == backtest["bars"]
    assert live["quality"] == backtest["quality"]
    for sym in LIQUID:
        assert live["quality"][(sym, "1m")][2] == 100.0
    assert c.duplicate_bars == 0 and c.bar_checks.quarantined == 0
    gaps = system.gap_filler.gaps
    assert {g.status for g in gaps} <= {"filled", "no_trades"}, [g.as_dict() for g in gaps if g.status not in
                                                                 ("filled", "no_trades")]
    lost = [g for g in gaps if g.symbol in LIQUID]
    assert lost and all(g.status == "filled" and g.filled == g.missing for g in lost)
    thin = [g for g in gaps if g.symbol in THIN]
    assert any(g.status == "no_trades" for g in thin)
    assert sum(system.known_empty.counts().values()) > 0
    summary = system.summary()
    assert summary["gaps_failed"] == 0 and summary["gaps_no_trades"] >= 1

    _assert_no_request_for_a_known_empty_minute(frame, standin.rest_requests)


def _assert_no_request_for_a_known_empty_minute(frame: pd.DataFrame, requests: list[dict]) -> None:
    """Replay the REST log against the true data: once a request's answer showed no bar for a settled
    minute of a symbol, no later request may ask for that minute of that symbol again."""
    traded = {(s, int(t)) for s, t in zip(frame["symbol"], frame["timestamp"].astype("int64"), strict=True)}
    known_empty: set[tuple[str, int]] = set()
    asked_again = []
    for r in requests:
        if r.get("page_token") or r["status"] != "200":
            continue                       # a later page of the same request, or one refused (429)
        start, end, at = parse_rfc3339(r["start"]), parse_rfc3339(r["end"]), int(r["clock_ns"])
        minutes = range(start + (-start) % MINUTE, end + 1, MINUTE)
        for sym in r["symbols"].split(","):
            asked_again += [(sym, m) for m in minutes if (sym, m) in known_empty]
        for sym in r["symbols"].split(","):
            known_empty.update((sym, m) for m in minutes
                               if (sym, m) not in traded and m + MINUTE + HISTORY_SETTLE_NS <= at)
    assert known_empty, "the check saw no empty minute: the thin symbols did not test anything"
    assert asked_again == []


def test_a_live_run_without_a_bar_store_starts_with_no_stored_history(market, backtest, monkeypatch, tmp_path,
                                                                        caplog):
    """`workstation validate` takes a live Alpaca config to need no bar store; the run stopped with "no bar
    store at data/store". It now starts from an empty store of its own, says what it goes without, and the
    session it streams is the backtest's (this config keeps no history anyway), caught up from REST."""
    import logging

    frame, _ = market
    monkeypatch.setenv("APCA_API_KEY_ID", KEY)
    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET)
    standin = AlpacaStandIn(KEY, SECRET).start()
    missing = tmp_path / "no-store-here"
    try:
        clock = ReplayClock(_ns("15:50"), SPEED)
        standin.clock = clock
        provider = AlpacaProvider(ws_url=standin.ws_url, rest_url=standin.rest_url, clock=clock,
                                  initial_backoff_s=0.05, max_backoff_s=0.3, jitter=0.0, quiet_after_s=None)
        with caplog.at_level(logging.WARNING, logger="workstation.live.system"):
            system = LiveSystemManager(_cfg("live"), store_path=missing, time_manager=TimeManager(),
                                       provider=provider, clock=clock)
        assert any(f"no bar store at {missing}: the live run starts without stored history" in r.getMessage()
                   for r in caplog.records)
        live, _ = _play_one_session(system, standin, frame, clock, _ns("15:50"))
    finally:
        standin.stop()
    assert not missing.exists()                      # nothing created where the config points
    assert live["bars"] == backtest["bars"] and live["quality"] == backtest["quality"]
    assert system.feed.caught_up_bars > 1000
