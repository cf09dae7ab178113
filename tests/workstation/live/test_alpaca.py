"""AlpacaProvider against a loopback stand-in server, plus the provider base-class bookkeeping."""

from __future__ import annotations

import logging
import socket

import pytest
from alpaca_helpers import (
    KEY,
    MINUTE,
    SECRET,
    T0,
    WAIT,
    Collector,
    StepClock,
    provider_threads,
    start,
    states,
)
from alpaca_standin import bar_message, rfc3339

from workstation.errors import ProviderError
from workstation.live import AlpacaProvider, MarketDataProvider, ProviderHealth
from workstation.live.alpaca import format_rfc3339_ns, parse_rfc3339_ns
from workstation.model import Bar

# ------------------------------------------------------------------------------------ streaming


def test_bars_stream_in_for_two_symbols_with_provider_clock_receive_times(make_provider, standin):
    clock = StepClock(start_ns=5_000_000_000)
    provider = make_provider(clock=clock)
    sink = start(provider, standin, ["aaa", "BBB"])

    assert standin.auth_messages == [{"action": "auth", "key": KEY, "secret": SECRET}]
    assert standin.subscribe_messages[0]["bars"] == ["AAA", "BBB"]
    assert standin.subscribe_messages[0]["updatedBars"] == ["AAA", "BBB"]
    pushed = [bar_message("b", sym, T0 + i * MINUTE, 100 + i) for i in range(3) for sym in ("AAA", "BBB")]
    standin.push(pushed)

    assert sink.wait_for(6)
    bars = sink.bars
    assert [(b.symbol, b.timestamp) for b in bars] == [(m["S"], parse_rfc3339_ns(m["t"])) for m in pushed]
    first = bars[0]
    assert first == Bar("AAA", "1m", T0, 100.0, 100.5, 99.5, 100.25, 100.0)
    receive_times = [receive_ns for _, receive_ns in sink.items]
    assert all(5_000_000_000 < t < clock.now_ns() for t in receive_times)
    assert receive_times == sorted(receive_times)
    assert sink.threads == {"alpaca-dispatch"}
    stats = provider.stats()
    assert stats["bars_delivered"] == 6
    assert stats["duplicates_dropped"] == 0
    assert stats["last_message_ns"] == receive_times[-1]
    assert stats["server_subscription"]["bars"] == ["AAA", "BBB"]
    assert states(provider) == [ProviderHealth.CONNECTING, ProviderHealth.STREAMING]


def test_a_drop_loses_what_was_published_meanwhile_then_reconnects_through_406_without_duplicates(
        make_provider, standin):
    """As the real service: bars published while no session exists are not resent, and the server
    holds the dropped session for a while, refusing the new one with 406 (the provider backs off)."""
    standin.replay_overlap = 2          # a resend of already delivered bars is dropped as duplicates
    standin.refuse_after_drop_s = 0.3
    provider = make_provider()
    sink = start(provider, standin, ["AAA"])

    standin.push([bar_message("b", "AAA", T0 + i * MINUTE, 100 + i) for i in range(5)])
    assert sink.wait_for(5)
    standin.drop()
    standin.push([bar_message("b", "AAA", T0 + i * MINUTE, 100 + i) for i in range(5, 7)])   # lost
    assert standin.lost_messages == 2
    assert standin.wait_until(lambda: len(standin.subscribe_messages) == 2, timeout=WAIT)
    standin.push([bar_message("b", "AAA", T0 + i * MINUTE, 100 + i) for i in range(7, 10)])

    assert sink.wait_for(8)
    assert provider.wait_for_health({ProviderHealth.STREAMING}, WAIT) is ProviderHealth.STREAMING
    assert [b.timestamp for b in sink.bars] == [T0 + i * MINUTE for i in (0, 1, 2, 3, 4, 7, 8, 9)]
    assert standin.refusals["406"] >= 1
    assert standin.subscribe_messages[1]["bars"] == ["AAA"]
    stats = provider.stats()
    assert stats["duplicates_dropped"] == 2  # the overlap resent bars 3 and 4
    assert stats["bars_delivered"] == 8
    assert stats["reconnects"] == 1 + standin.refusals["406"]
    assert stats["server_error_codes"] == {"406": standin.refusals["406"]}
    history = provider.health_history()
    assert [e.state for e in history[:4]] == [
        ProviderHealth.CONNECTING, ProviderHealth.STREAMING, ProviderHealth.DISCONNECTED, ProviderHealth.RECONNECTING]
    assert "connection lost" in history[2].detail
    assert any("406 connection limit exceeded" in e.detail for e in history if e.state is ProviderHealth.DISCONNECTED)
    assert history[-1].state is ProviderHealth.STREAMING


def test_auth_failure_fails_with_clear_message_and_no_retry_storm(make_provider, standin, monkeypatch):
    monkeypatch.setenv("APCA_API_SECRET_KEY", "wrong-secret")
    provider = make_provider()
    provider.subscribe(["AAA"], ["1m"])
    provider.connect()

    assert provider.wait_for_health({ProviderHealth.FAILED}, WAIT) is ProviderHealth.FAILED
    detail = provider.health_history()[-1].detail
    assert (
        detail == "Alpaca rejected the API key (402 auth failed): check APCA_API_KEY_ID / APCA_API_SECRET_KEY"
    )
    # With a 0.05 s back-off a retry storm would open many connections in this second.
    assert not standin.wait_until(lambda: standin.connections > 1, timeout=1.0)
    assert standin.connections == 1
    assert states(provider) == [ProviderHealth.CONNECTING, ProviderHealth.FAILED]
    assert standin.subscribe_messages == []
    provider.close()
    assert provider.health is ProviderHealth.FAILED


def test_malformed_messages_are_counted_and_the_stream_goes_on(make_provider, standin):
    provider = make_provider()
    sink = start(provider, standin, ["AAA"])
    good = bar_message("b", "AAA", T0, 100)
    standin.send_raw("this is not json")
    standin.send_raw('[{"T": "b", "S": "AAA", "o": 1}]')  # missing h, l, c, v, t
    standin.send_raw(
        '[{"T": "b", "S": "AAA", "o": "1", "h": 1, "l": 1, "c": 1, "v": 1, "t": "2024-01-02T14:30:00Z"}]'
    )
    standin.send_raw('[{"T": "b", "S": "AAA", "o": 1, "h": 1, "l": 1, "c": 1, "v": 1, "t": "yesterday"}]')
    standin.send_raw('[42, {"no": "type"}]')
    standin.push([good])

    assert sink.wait_for(1)
    assert sink.bars == [Bar("AAA", "1m", T0, 100.0, 100.5, 99.5, 100.25, 100.0)]
    stats = provider.stats()
    assert stats["malformed_messages"] == 6
    assert stats["connection_attempts"] == 1
    assert provider.health is ProviderHealth.STREAMING


def test_slow_consumer_gets_every_bar_in_order_through_back_pressure(make_provider, standin):
    provider = make_provider(queue_size=4)
    slow_sink = Collector(delay_s=0.004)
    provider.set_bar_sink(slow_sink)
    provider.subscribe(["AAA", "BBB"], ["1m"])
    provider.connect()
    assert standin.wait_until(lambda: len(standin.subscribe_messages) == 1)
    pushed = [bar_message("b", sym, T0 + i * MINUTE, 100 + i) for i in range(40) for sym in ("AAA", "BBB")]
    standin.push(pushed)

    assert slow_sink.wait_for(80, timeout=10)
    assert [(b.symbol, b.timestamp) for b in slow_sink.bars] == [
        (m["S"], parse_rfc3339_ns(m["t"])) for m in pushed
    ]
    stats = provider.stats()
    assert stats["slow_consumer_waits"] > 0
    assert stats["queue_high_water"] <= 4
    assert stats["reconnects"] == 0


def test_updated_bar_goes_to_the_update_sink_not_the_bar_sink(make_provider, standin):
    provider = make_provider()
    updates = Collector()
    provider.set_bar_update_sink(updates)
    sink = start(provider, standin, ["AAA"])
    corrected = bar_message("u", "AAA", T0, 100, volume=250.0)
    standin.push(
        [
            bar_message("b", "AAA", T0, 100),
            corrected,
            dict(corrected),  # the same correction again is a duplicate
            bar_message("u", "AAA", T0 + MINUTE, 101),  # update of a minute never delivered -> new bar
            bar_message("b", "AAA", T0 + 2 * MINUTE, 102),
        ]
    )

    assert sink.wait_for(3)
    assert updates.wait_for(1)
    assert [b.timestamp for b in sink.bars] == [T0, T0 + MINUTE, T0 + 2 * MINUTE]
    assert sink.bars[0].volume == 100.0
    assert updates.bars == [Bar("AAA", "1m", T0, 100.0, 100.5, 99.5, 100.25, 250.0)]
    stats = provider.stats()
    assert stats["bar_updates"] == 1
    assert stats["bars_delivered"] == 3
    assert stats["duplicates_dropped"] == 1


def test_server_errors_406_and_407_reconnect_and_resubscribe(make_provider, standin):
    standin.reject_with_406 = 1
    provider = make_provider()
    sink = start(provider, standin, ["AAA"])
    assert standin.connections == 2
    assert states(provider)[:4] == [
        ProviderHealth.CONNECTING,
        ProviderHealth.DISCONNECTED,
        ProviderHealth.RECONNECTING,
        ProviderHealth.STREAMING,
    ]
    assert "406" in provider.health_history()[1].detail

    standin.send_error(407, "slow client")
    assert standin.wait_until(lambda: len(standin.subscribe_messages) == 2)
    standin.push([bar_message("b", "AAA", T0, 100)])
    assert sink.wait_for(1)
    details = [e.detail for e in provider.health_history() if e.state is ProviderHealth.DISCONNECTED]
    assert any("407" in d for d in details)
    assert provider.stats()["reconnects"] == 2


def test_quiet_when_no_data_then_streaming_again(make_provider, standin):
    provider = make_provider(quiet_after_s=0.2)
    sink = start(provider, standin, ["AAA"])
    assert provider.wait_for_health({ProviderHealth.QUIET}, WAIT) is ProviderHealth.QUIET
    standin.push([bar_message("b", "AAA", T0, 100)])
    assert sink.wait_for(1)
    assert provider.wait_for_health({ProviderHealth.STREAMING}, WAIT) is ProviderHealth.STREAMING
    assert states(provider)[-3:] == [ProviderHealth.STREAMING, ProviderHealth.QUIET, ProviderHealth.STREAMING]


def test_subscribe_rejects_intervals_alpaca_does_not_stream(make_provider):
    provider = make_provider()
    with pytest.raises(ProviderError, match="only 1m and 1d"):
        provider.subscribe(["AAA"], ["5m"])
    with pytest.raises(ProviderError, match="non-empty list"):
        provider.subscribe([], ["1m"])


def test_close_joins_threads_and_leaves_disconnected(make_provider, standin, caplog):
    provider = make_provider()
    start(provider, standin, ["AAA"])
    assert {t.name for t in provider_threads()} == {"alpaca-stream", "alpaca-dispatch"}
    with caplog.at_level(logging.INFO, logger="workstation.live"):
        provider.close()
    # the close the run asked for is no fault: said, not warned (a run's end printed "WARNING ... DISCONNECTED")
    closing = [r for r in caplog.records if "health DISCONNECTED" in r.getMessage()]
    assert [r.levelno for r in closing] == [logging.INFO]
    assert provider_threads() == []
    assert provider.health is ProviderHealth.DISCONNECTED
    assert standin.wait_until(lambda: standin.connections == 1 and standin.open_connections == 0)
    provider.close()  # a second close is harmless
    with pytest.raises(ProviderError, match="closed"):
        provider.connect()


# -------------------------------------------------------------------------------------- history


def test_history_with_two_pages_returns_all_bars_in_order(make_provider, standin):
    standin.rest_page_size = 100
    standin.rest_bars["AAA"] = [
        {k: v for k, v in bar_message("b", "AAA", T0 + i * MINUTE, 100 + i).items() if k not in ("T", "S")}
        for i in range(-5, 160)
    ]
    provider = make_provider()
    start_ns, end_ns = T0, T0 + 150 * MINUTE

    bars = provider.request_history("AAA", "1m", start_ns, end_ns)

    assert [b.timestamp for b in bars] == [T0 + i * MINUTE for i in range(150)]
    assert all(b.symbol == "AAA" and b.interval == "1m" for b in bars)
    assert bars[7].open == 107.0
    assert len(standin.rest_requests) == 2
    first, second = standin.rest_requests
    assert first["timeframe"] == "1Min" and first["feed"] == "iex" and "page_token" not in first
    assert first["start"] == rfc3339(start_ns) and first["end"] == rfc3339(end_ns - 1_000_000_000)
    assert second["page_token"] == "100"


def test_history_http_500_raises_provider_error_with_status_and_body(make_provider, standin):
    standin.rest_fail = [500]
    provider = make_provider()
    with pytest.raises(ProviderError, match=r"HTTP 500.*internal server error"):
        provider.request_history("AAA", "1m", T0, T0 + MINUTE)


def test_history_unreachable_server_raises_provider_error(make_provider):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    provider = make_provider(rest_url=f"http://127.0.0.1:{closed_port}")
    with pytest.raises(ProviderError, match="request to .* failed"):
        provider.request_history("AAA", "1m", T0, T0 + MINUTE, timeout=2.0)


def test_history_rejects_an_empty_range(make_provider):
    provider = make_provider()
    with pytest.raises(ProviderError, match="must be after start"):
        provider.request_history("AAA", "1m", T0, T0)


# ---------------------------------------------------------------------------------------- keys


def test_missing_env_keys_raise_provider_error_naming_the_variables(monkeypatch):
    monkeypatch.delenv("APCA_API_KEY_ID", raising=False)
    monkeypatch.delenv("APCA_API_SECRET_KEY", raising=False)
    with pytest.raises(ProviderError, match="set the environment variables APCA_API_KEY_ID and APCA_API_SECRET_KEY "):
        AlpacaProvider()
    monkeypatch.setenv("MY_KEY", "k")
    with pytest.raises(ProviderError, match="MY_SECRET") as info:
        AlpacaProvider(key_env="MY_KEY", secret_env="MY_SECRET")
    assert "set the environment variable MY_SECRET " in str(info.value)


# ----------------------------------------------------------------------------- helpers / base


def test_rfc3339_round_trip():
    assert parse_rfc3339_ns("2024-01-02T09:30:00-05:00") == T0
    assert parse_rfc3339_ns("2024-01-02T14:30:00.000000001Z") == T0 + 1
    assert format_rfc3339_ns(T0) == "2024-01-02T14:30:00Z"
    assert parse_rfc3339_ns(format_rfc3339_ns(T0 + 123)) == T0 + 123
    with pytest.raises(ValueError):
        parse_rfc3339_ns("2024-01-02 yesterday")


class _ManualProvider(MarketDataProvider):
    """Minimal concrete provider driving the base-class helpers directly."""

    def connect(self) -> None:
        self._set_health(ProviderHealth.STREAMING, "manual")

    def subscribe(self, symbols: list[str], intervals: list[str]) -> None:
        pass

    def request_history(self, symbol, interval, start_ns, end_ns, timeout=10.0) -> list[Bar]:
        return []

    def close(self) -> None:
        self._set_health(ProviderHealth.DISCONNECTED, "closed")


class _FixedClock:
    def __init__(self, now_ns: int):
        self.now = now_ns

    def now_ns(self) -> int:
        return self.now


def test_base_quiet_detection_and_health_listeners_use_the_given_clock():
    clock = _FixedClock(T0)
    provider = _ManualProvider("manual", clock)
    heard = []
    provider.add_health_listener(heard.append)
    provider.connect()

    clock.now = T0 + 2 * 1_000_000_000
    assert provider.check_quiet(clock.now, expected_gap_s=5) is False
    assert provider.health is ProviderHealth.STREAMING
    clock.now = T0 + 6 * 1_000_000_000
    assert provider.check_quiet(clock.now, expected_gap_s=5) is True
    assert provider.health is ProviderHealth.QUIET
    provider._record_message(clock.now)
    assert provider.health is ProviderHealth.STREAMING
    assert [(e.state, e.time_ns) for e in heard] == [
        (ProviderHealth.STREAMING, T0),
        (ProviderHealth.QUIET, T0 + 6 * 1_000_000_000),
        (ProviderHealth.STREAMING, T0 + 6 * 1_000_000_000),
    ]
    assert heard == provider.health_history()


def test_a_lost_connection_is_a_warning_and_an_asked_close_is_not(caplog):
    provider = _ManualProvider("manual", _FixedClock(T0))
    provider.connect()
    with caplog.at_level(logging.INFO, logger="workstation.live"):
        provider._set_health(ProviderHealth.DISCONNECTED, "connection reset")
        provider._set_health(ProviderHealth.STREAMING, "reconnected")
        provider._set_health(ProviderHealth.DISCONNECTED, "closed", asked=True)
        provider._set_health(ProviderHealth.FAILED, "key rejected")
    assert [(r.levelno, r.getMessage().split(": ")[-1]) for r in caplog.records if "health" in r.getMessage()] == [
        (logging.WARNING, "connection reset"), (logging.INFO, "reconnected"), (logging.INFO, "closed"),
        (logging.WARNING, "key rejected")]


def test_base_dedup_routes_changed_repeats_to_the_update_sink():
    provider = _ManualProvider("manual", _FixedClock(T0))
    bars, updates = Collector(), Collector()
    provider.set_bar_sink(bars)
    provider.set_bar_update_sink(updates)
    bar = Bar("AAA", "1m", T0, 1.0, 2.0, 0.5, 1.5, 10.0)

    assert provider._deliver_bar(bar, 1) is True
    assert provider._deliver_bar(bar, 2) is False
    assert provider._deliver_bar(bar._replace(interval="5m"), 3) is True
    assert provider._deliver_bar(bar._replace(close=1.6), 4) is False

    assert bars.bars == [bar, bar._replace(interval="5m")]
    assert updates.bars == [bar._replace(close=1.6)]
    stats = provider.stats()
    assert (stats["bars_delivered"], stats["duplicates_dropped"], stats["bar_updates"]) == (2, 1, 1)
