"""Alpaca REST history against the stand-in: many symbols per request, pages across symbols, rate
limits (429 with Retry-After, X-RateLimit-Remaining 0), transient 5xx, and the time budget."""

from __future__ import annotations

import email.utils
import time

import pytest
from alpaca_helpers import MINUTE, T0
from alpaca_standin import bar_message, rest_row

from workstation.errors import ProviderError
from workstation.live.alpaca import retry_after_seconds
from workstation.live.alpaca.history import MAX_SYMBOLS_PER_REQUEST


def _store(standin, symbols, minutes, skip=()):
    """REST bars for `symbols` over `minutes` minutes from T0; (symbol, minute) in `skip` have none."""
    expected = {}
    for k, sym in enumerate(symbols):
        rows = [rest_row(bar_message("b", sym, T0 + i * MINUTE, 100 + k + i / 100))
                for i in range(minutes) if (sym, i) not in skip]
        standin.rest_bars[sym] = rows
        expected[sym] = [T0 + i * MINUTE for i in range(minutes) if (sym, i) not in skip]
    return expected


def test_many_symbols_come_in_one_request_paged_across_symbols(make_provider, standin):
    standin.rest_page_size = 100
    expected = _store(standin, ["CCC", "AAA", "BBB"], 150, skip={("BBB", 7), ("BBB", 8)})
    provider = make_provider()

    got = provider.request_history_many(["CCC", "AAA", "BBB", "ZZZ"], "1m", T0, T0 + 150 * MINUTE)

    assert {s: [b.timestamp for b in bars] for s, bars in got.items()} == {**expected, "ZZZ": []}
    assert got["BBB"][7].timestamp == T0 + 9 * MINUTE
    assert all(b.symbol == s and b.interval == "1m" for s, bars in got.items() for b in bars)
    # 448 bars at 100 a page: 5 requests, all of one symbol list, chained by page token
    assert len(standin.rest_requests) == 5
    assert {r["symbols"] for r in standin.rest_requests} == {"CCC,AAA,BBB,ZZZ"}
    assert [r.get("page_token") for r in standin.rest_requests] == [None, "100", "200", "300", "400"]
    assert provider.stats()["rest_requests"] == 5


def test_long_symbol_lists_are_split(make_provider, standin):
    standin.rest_page_size = 10_000
    symbols = [f"S{k:03d}" for k in range(MAX_SYMBOLS_PER_REQUEST + 30)]
    expected = _store(standin, symbols, 3)
    got = make_provider().request_history_many(symbols, "1m", T0, T0 + 3 * MINUTE)
    assert {s: [b.timestamp for b in bars] for s, bars in got.items()} == expected
    assert [len(r["symbols"].split(",")) for r in standin.rest_requests] == [MAX_SYMBOLS_PER_REQUEST, 30]


def test_http_429_waits_for_retry_after_and_goes_on(make_provider, standin):
    standin.rest_page_size = 50
    expected = _store(standin, ["AAA", "BBB"], 60)
    standin.rest_rate_limit = (1, 2.0)       # one request per 2 s: every page after the first gets a 429
    provider = make_provider()
    provider._history._note_rate_headers = lambda headers: None   # react to the 429s, not the headers
    started = time.monotonic()
    got = provider.request_history_many(["AAA", "BBB"], "1m", T0, T0 + 60 * MINUTE, timeout=20)
    elapsed = time.monotonic() - started
    assert {s: [b.timestamp for b in bars] for s, bars in got.items()} == expected
    # Retry-After (2 s) honoured: each of pages 2 and 3 is refused once; the 1 s back-off alone would
    # have been refused again
    assert len([r for r in standin.rest_requests if r["status"] == "200"]) == 3
    assert standin.rest_rate_limited == 2 and provider.stats()["rest_rate_limited"] == 2
    assert elapsed >= 3.5 and provider.stats()["rest_wait_s"] >= 3.5


def test_x_ratelimit_remaining_zero_holds_the_next_request_so_no_429_comes(make_provider, standin):
    standin.rest_page_size = 40
    expected = _store(standin, ["AAA"], 120)
    standin.rest_rate_limit = (2, 1.0)
    provider = make_provider()
    started = time.monotonic()
    got = provider.request_history("AAA", "1m", T0, T0 + 120 * MINUTE, timeout=20)
    assert [b.timestamp for b in got] == expected["AAA"]
    assert len(standin.rest_requests) == 3
    assert standin.rest_rate_limited == 0       # the third page waited for the reset instead
    assert time.monotonic() - started >= 0.4


def test_a_rate_limit_longer_than_the_budget_is_a_clear_error(make_provider, standin):
    _store(standin, ["AAA"], 5)
    standin.rest_rate_limit = (0, 30.0)
    with pytest.raises(ProviderError, match=r"rate limited \(HTTP 429\); waiting .* would pass the request's "
                                            r"time budget"):
        make_provider().request_history("AAA", "1m", T0, T0 + 5 * MINUTE, timeout=2.0)


def test_transient_503_is_retried_twice_then_reported(make_provider, standin):
    expected = _store(standin, ["AAA"], 5)
    provider = make_provider()
    standin.rest_fail = [503]
    assert [b.timestamp for b in provider.request_history("AAA", "1m", T0, T0 + 5 * MINUTE)] == expected["AAA"]
    standin.rest_fail = [503, 502, 504]
    with pytest.raises(ProviderError, match="HTTP 504 .* 3 times"):
        provider.request_history("AAA", "1m", T0, T0 + 5 * MINUTE, timeout=20)


def test_http_403_names_the_key_variables(make_provider, standin, monkeypatch):
    monkeypatch.setenv("APCA_API_SECRET_KEY", "not-the-secret")
    with pytest.raises(ProviderError, match=r"HTTP 403 .*check APCA_API_KEY_ID / APCA_API_SECRET_KEY"):
        make_provider().request_history("AAA", "1m", T0, T0 + MINUTE)


def test_retry_after_header_forms():
    now = 1_700_000_000.0
    assert retry_after_seconds({"Retry-After": "3"}, now) == 3.0
    assert retry_after_seconds({"Retry-After": email.utils.formatdate(now + 7, usegmt=True)}, now) == \
        pytest.approx(7, abs=1)
    assert retry_after_seconds({"X-RateLimit-Reset": str(int(now) + 12)}, now) == 12.0
    assert retry_after_seconds({"Retry-After": "soon"}, now) is None
    assert retry_after_seconds({}, now) is None
    assert retry_after_seconds({"Retry-After": "-5"}, now) == 0.0
