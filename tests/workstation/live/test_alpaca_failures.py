"""How the Alpaca provider fails, against the stand-in: feeds and URLs, refused handshakes, every
stream error code of the table, unknown codes, and hostile frames (too large, too deeply nested)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from alpaca_helpers import MINUTE, T0, WAIT, start, states
from alpaca_standin import bar_message

from workstation.config import validate_config_dict
from workstation.errors import ConfigError, ProviderError
from workstation.live import AlpacaProvider, ProviderHealth
from workstation.live.alpaca.errors import STREAM_ERRORS, ErrorAction, readme_table
from workstation.live.alpaca.wire import MAX_FRAME_CHARS
from workstation.model import Bar

README = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")


def _alpaca_cfg(**alpaca) -> dict:
    return {"name": "alpaca urls", "mode": "live", "symbols": ["AAA"],
            "backtest": {"start_date": "2024-01-02", "end_date": "2024-01-02"},
            "live": {"provider": "alpaca", "alpaca": alpaca}}


# ------------------------------------------------------------------------------- feeds and URLs


def test_the_stream_url_follows_the_feed_and_sip_streams_and_fills_from_sip(make_provider, standin, keys):
    assert AlpacaProvider(feed="sip").ws_url == "wss://stream.data.alpaca.markets/v2/sip"
    assert AlpacaProvider().ws_url == "wss://stream.data.alpaca.markets/v2/iex"
    cfg = validate_config_dict(_alpaca_cfg(feed="sip"))
    assert cfg.live.alpaca.ws_url is None
    assert cfg.live.alpaca.stream_url() == "wss://stream.data.alpaca.markets/v2/sip"

    provider = make_provider(ws_url=standin.ws_url_for("sip"), feed="sip")
    sink = start(provider, standin, ["AAA"])
    assert standin.connection_paths == ["/v2/sip"]
    standin.push([bar_message("b", "AAA", T0, 100)], feed="iex")     # another feed's bar never comes
    standin.push([bar_message("b", "AAA", T0 + MINUTE, 101)], feed="sip")
    assert sink.wait_for(1)
    assert [b.timestamp for b in sink.bars] == [T0 + MINUTE]
    provider.request_history("AAA", "1m", T0, T0 + MINUTE)
    assert standin.rest_requests[-1]["feed"] == "sip"


def test_a_stream_url_naming_another_feed_is_refused_in_the_config_and_the_provider(keys):
    with pytest.raises(ConfigError) as err:
        validate_config_dict(_alpaca_cfg(feed="sip", ws_url="wss://stream.data.alpaca.markets/v2/iex"))
    assert err.value.problems[0][0] == "live.alpaca.ws_url"          # shown next to the field
    assert "streams the 'iex' feed but live.alpaca.feed is 'sip'" in str(err.value)
    with pytest.raises(ProviderError, match="streams the 'iex' feed but live.alpaca.feed is 'sip'"):
        AlpacaProvider(ws_url="ws://127.0.0.1:9/v2/iex", feed="sip")
    # a URL naming no feed (a test stream, a proxy path) is the user's choice
    assert validate_config_dict(_alpaca_cfg(feed="sip", ws_url="wss://example.com/stream")).live.alpaca.ws_url


@pytest.mark.parametrize(("field", "url", "problem"), [
    ("ws_url", "ws://stream.data.alpaca.markets/v2/iex", "unencrypted ws:// to stream.data.alpaca.markets"),
    ("ws_url", "http://stream.data.alpaca.markets/v2/iex", "must start with wss://"),
    ("ws_url", "wss://user:pw@stream.data.alpaca.markets/v2/iex", "carries credentials"),
    ("ws_url", "wss:///v2/iex", "names no host"),
    ("ws_url", "wss://stream.data.alpaca.markets:99999/v2/iex", "invalid port"),
    ("rest_url", "http://data.alpaca.markets", "unencrypted http:// to data.alpaca.markets"),
    ("rest_url", "https://data.alpaca.markets?token=1", "must not have a query"),
    ("rest_url", "ftp://data.alpaca.markets", "must start with https://"),
    ("rest_url", "", "non-empty URL"),
])
def test_urls_that_would_send_keys_in_clear_or_nowhere_are_config_errors(field, url, problem):
    with pytest.raises(ConfigError) as err:
        validate_config_dict(_alpaca_cfg(**{field: url}))
    assert f"live.alpaca.{field}" in str(err.value) and problem in str(err.value)


@pytest.mark.parametrize("url", ["ws://127.0.0.1:8765/v2/iex", "ws://localhost:8765/v2/iex",
                                 "ws://[::1]:8765/v2/iex", "wss://stream.data.alpaca.markets/v2/iex"])
def test_plain_ws_is_accepted_for_loopback_hosts_only(url):
    assert validate_config_dict(_alpaca_cfg(ws_url=url)).live.alpaca.ws_url == url


def test_key_destinations_name_the_hosts(make_provider, standin):
    provider = make_provider()
    port = standin.port
    assert provider.key_destinations() == {"stream": f"127.0.0.1:{port}",
                                           "history": f"127.0.0.1:{standin.rest_url.rsplit(':', 1)[1]}"}


# --------------------------------------------------------------------------- refused handshakes


def test_a_wrong_stream_path_fails_at_once_instead_of_retrying_forever(make_provider, standin):
    provider = make_provider(ws_url=standin.ws_url.replace("/v2/iex", "/v9/nothing"))
    provider.subscribe(["AAA"], ["1m"])
    provider.connect()
    assert provider.wait_for_health({ProviderHealth.FAILED}, WAIT) is ProviderHealth.FAILED
    detail = provider.health_history()[-1].detail
    assert "HTTP 404" in detail and "check live.alpaca.ws_url" in detail
    assert not standin.wait_until(lambda: len(standin.connection_paths) > 1, timeout=0.5)


def test_a_key_refused_at_the_handshake_fails(make_provider, standin):
    standin.handshake_fail = [401]
    provider = make_provider()
    provider.subscribe(["AAA"], ["1m"])
    provider.connect()
    assert provider.wait_for_health({ProviderHealth.FAILED}, WAIT) is ProviderHealth.FAILED
    assert "HTTP 401" in provider.health_history()[-1].detail
    assert "refused the API key" in provider.health_history()[-1].detail


def test_handshake_429_and_503_are_retried_honouring_retry_after(make_provider, standin):
    standin.refusal = "429"
    standin.refuse_after_drop_s = 2.5
    standin.handshake_retry_after = 1
    provider = make_provider()
    start(provider, standin, ["AAA"])
    standin.drop()
    assert standin.wait_until(lambda: len(standin.subscribe_messages) == 2, timeout=2 * WAIT)
    assert standin.refusals["429"] >= 2
    shakes = standin.handshakes
    waits = [b[0] - a[0] for a, b in zip(shakes, shakes[1:], strict=False) if a[1] == 429]
    # back-off alone would retry after 0.05-0.2 s; Retry-After: 1 makes every wait at least a second
    assert len(waits) == standin.refusals["429"] and min(waits) >= 0.95
    details = [e.detail for e in provider.health_history() if e.state is ProviderHealth.DISCONNECTED]
    assert any("handshake refused (HTTP 429" in d and "Retry-After" in d for d in details)

    standin.handshake_fail = [503]
    standin.refuse_after_drop_s = 0.0
    standin.drop()
    assert standin.wait_until(lambda: len(standin.subscribe_messages) == 3, timeout=WAIT)
    assert provider.wait_for_health({ProviderHealth.STREAMING}, WAIT) is ProviderHealth.STREAMING
    assert provider.stats()["handshake_refusals"] == standin.refusals["429"] + 1


def test_an_unknown_host_fails_after_a_few_attempts(make_provider):
    provider = make_provider(ws_url="wss://no-such-host.invalid/v2/iex")
    provider.subscribe(["AAA"], ["1m"])
    provider.connect()
    assert provider.wait_for_health({ProviderHealth.FAILED}, WAIT) is ProviderHealth.FAILED
    detail = provider.health_history()[-1].detail
    assert "no-such-host.invalid was not found 3 times" in detail
    assert provider.stats()["connection_attempts"] == 3


# ------------------------------------------------------------------------------ stream errors


# the decisions, written out independently of the table in workstation/live/alpaca/errors.py
FAIL_CODES = (402, 405, 409, 410, 411)          # retrying cannot help: a user action is needed
RECONNECT_CODES = (401, 404, 406, 407, 500)     # a new connection (after back-off) can
KEPT_CODES = {400: "report", 403: "ignore"}     # the connection stays


def test_the_error_table_decides_as_documented():
    assert {c for c, r in STREAM_ERRORS.items() if r.action is ErrorAction.FAIL} == set(FAIL_CODES)
    assert {c for c, r in STREAM_ERRORS.items() if r.action is ErrorAction.RECONNECT} == set(RECONNECT_CODES)
    assert {c: r.action.value for c, r in STREAM_ERRORS.items() if c in KEPT_CODES} == KEPT_CODES


@pytest.mark.parametrize("code", [c for c in FAIL_CODES if c != 402])
def test_codes_that_need_a_user_action_fail_without_retrying(make_provider, standin, code):
    provider = make_provider()
    start(provider, standin, ["AAA"])
    standin.send_error(code, STREAM_ERRORS[code].meaning, close=False)
    assert provider.wait_for_health({ProviderHealth.FAILED}, WAIT) is ProviderHealth.FAILED
    detail = provider.health_history()[-1].detail
    assert str(code) in detail and STREAM_ERRORS[code].meaning in detail
    assert not standin.wait_until(lambda: standin.connections > 1, timeout=0.4)


@pytest.mark.parametrize("code", [c for c in RECONNECT_CODES if c != 404])
def test_codes_that_a_new_connection_cures_reconnect_and_resubscribe(make_provider, standin, code):
    provider = make_provider()
    sink = start(provider, standin, ["AAA"])
    standin.send_error(code, STREAM_ERRORS[code].meaning, close=False)
    assert standin.wait_until(lambda: len(standin.subscribe_messages) == 2, timeout=WAIT)
    standin.push([bar_message("b", "AAA", T0, 100)])
    assert sink.wait_for(1)
    assert provider.stats()["reconnects"] == 1
    assert any(str(code) in e.detail for e in provider.health_history() if e.state is ProviderHealth.DISCONNECTED)


def test_harmless_and_unknown_codes_keep_the_connection_and_unknown_ones_are_listed(make_provider, standin):
    provider = make_provider()
    sink = start(provider, standin, ["AAA"])
    standin.send_error(403, "already authenticated", close=False)
    standin.send_error(499, "something new", close=False)
    standin.send_error(400, "invalid syntax", close=False)
    standin.push([bar_message("b", "AAA", T0, 100)])
    assert sink.wait_for(1)
    stats = provider.stats()
    assert stats["connection_attempts"] == 1 and stats["reconnects"] == 0
    assert stats["unknown_server_errors"] == 1
    assert stats["server_error_codes"] == {"403": 1, "499": 1, "400": 1}
    recent = {e["code"]: e for e in stats["server_errors_recent"]}
    assert recent[499]["known"] is False and recent[499]["msg"] == "something new"
    assert recent[499]["action"] == "report" and recent[403]["action"] == "ignore"
    assert provider.health is ProviderHealth.STREAMING


def test_the_readme_lists_the_error_table():
    assert readme_table() in README


# ----------------------------------------------------------------------------- hostile frames


def test_oversized_and_deeply_nested_frames_are_dropped_and_counted_and_the_stream_goes_on(make_provider, standin):
    provider = make_provider()
    sink = start(provider, standin, ["AAA"])
    standin.send_raw("[" * 200_000 + "]" * 200_000)                               # RecursionError in json
    standin.send_raw('[{"T": "b", "S": "' + "A" * (MAX_FRAME_CHARS + 10) + '"}]')  # 4 MiB + a bit
    standin.send_raw(b"\xff\xfe not utf-8")
    nested = "[" * 500 + "]" * 500                                                 # decodes, but no objects
    standin.send_raw(f'[{nested}, {{"T": "b", "S": "AAA", "o": {nested}}}]')
    standin.push([bar_message("b", "AAA", T0, 100)])
    assert sink.wait_for(1)
    assert sink.bars == [Bar("AAA", "1m", T0, 100.0, 100.5, 99.5, 100.25, 100.0)]
    stats = provider.stats()
    assert stats["frames_dropped"] == 3
    assert stats["malformed_messages"] == 5      # the 3 frames and the 2 bad items of the last one
    assert stats["connection_attempts"] == 1 and provider.health is ProviderHealth.STREAMING
    assert states(provider) == [ProviderHealth.CONNECTING, ProviderHealth.STREAMING]


def test_frame_bound_messages_are_short():
    from workstation.live.alpaca.wire import FrameRejected, decode_frame, excerpt

    with pytest.raises(FrameRejected, match="nested too deeply"):
        decode_frame("[" * 100_000)
    deep: list = []
    for _ in range(2000):
        deep = [deep]
    assert len(excerpt(deep)) < 100
    assert len(excerpt("x" * 10_000_000)) < 100
    started = time.perf_counter()
    with pytest.raises(FrameRejected, match=re.escape(f"over the {MAX_FRAME_CHARS:,} limit")):
        decode_frame("x" * (MAX_FRAME_CHARS + 1))
    assert time.perf_counter() - started < 1.0
