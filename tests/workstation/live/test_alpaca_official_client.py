"""Alpaca's official client (alpaca-py) checks the stand-in: pointed at it, its StockDataStream
(which asks for msgpack, as against the real service) and StockHistoricalDataClient receive the same
bars our provider receives. If the stand-in drifted from the real protocol, alpaca-py would notice."""

from __future__ import annotations

import datetime as dt
import threading
import time
import warnings

import pytest
from alpaca_helpers import KEY, MINUTE, SECRET, T0, WAIT, start
from alpaca_standin import bar_message, rest_row

pytest.importorskip("alpaca", reason="alpaca-py is in the test extras (pip install -e .[test])")

from alpaca.data.enums import DataFeed  # noqa: E402
from alpaca.data.historical import StockHistoricalDataClient  # noqa: E402
from alpaca.data.live import StockDataStream  # noqa: E402
from alpaca.data.requests import StockBarsRequest  # noqa: E402
from alpaca.data.timeframe import TimeFrame  # noqa: E402


def _ns(moment: dt.datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1_000


def _fields(bar) -> tuple:
    return (bar.symbol, bar.open, bar.high, bar.low, bar.close, bar.volume)


def test_alpaca_py_stream_gets_msgpack_and_the_same_bars_as_our_provider(make_provider, standin):
    ours = make_provider()
    sink = start(ours, standin, ["AAA", "BBB"])
    received: list = []
    lock = threading.Lock()

    async def on_bar(bar) -> None:
        with lock:
            received.append(bar)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # alpaca-py uses websockets' legacy client
        stream = StockDataStream(KEY, SECRET, feed=DataFeed.IEX, url_override=standin.ws_url)
        stream.subscribe_bars(on_bar, "AAA", "BBB")
        runner = threading.Thread(target=stream.run, name="alpaca-py-stream", daemon=True)
        runner.start()
        try:
            assert standin.wait_until(lambda: len(standin.subscribe_messages) == 2, timeout=WAIT)
            assert standin.connection_formats == ["json", "msgpack"]
            assert sorted(standin.subscribe_messages[1]["bars"]) == ["AAA", "BBB"]
            pushed = [bar_message("b", sym, T0 + i * MINUTE, 100 + i + k / 10)
                      for i in range(3) for k, sym in enumerate(("AAA", "BBB"))]
            standin.push(pushed)
            assert sink.wait_for(6)
            deadline = time.monotonic() + WAIT
            while len(received) < 6 and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            stream.stop()
            standin.drop()          # ends alpaca-py's 5 s receive wait at once
            runner.join(WAIT)
    theirs = [(_fields(b), _ns(b.timestamp)) for b in received]
    mine = [((b.symbol, b.open, b.high, b.low, b.close, b.volume), b.timestamp) for b in sink.bars]
    assert len(mine) == 6 and theirs == mine


def test_alpaca_py_history_gets_the_same_bars_as_our_provider(make_provider, standin):
    standin.rest_page_size = 7     # several pages, crossing from one symbol to the next
    for k, sym in enumerate(("AAA", "BBB", "CCC")):
        standin.rest_bars[sym] = [rest_row(bar_message("b", sym, T0 + i * MINUTE, 50 + k + i / 4))
                                  for i in range(12) if (sym, i) != ("BBB", 5)]
    mine = make_provider().request_history_many(["AAA", "BBB", "CCC"], "1m", T0, T0 + 12 * MINUTE)

    client = StockHistoricalDataClient(KEY, SECRET, url_override=standin.rest_url)
    start_at = dt.datetime.fromtimestamp(T0 / 1e9, tz=dt.UTC)
    barset = client.get_stock_bars(StockBarsRequest(
        symbol_or_symbols=["AAA", "BBB", "CCC"], timeframe=TimeFrame.Minute, start=start_at,
        end=start_at + dt.timedelta(minutes=11), feed=DataFeed.IEX))   # Alpaca's end is inclusive

    theirs = {sym: [(_fields(b), _ns(b.timestamp)) for b in bars] for sym, bars in barset.data.items()}
    assert theirs == {sym: [(_fields(b), b.timestamp) for b in bars] for sym, bars in mine.items()}
    assert len(theirs["BBB"]) == 11 and len(theirs["AAA"]) == 12
    assert {r["symbols"] for r in standin.rest_requests} == {"AAA,BBB,CCC"}
