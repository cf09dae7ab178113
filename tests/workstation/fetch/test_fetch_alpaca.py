"""`workstation fetch alpaca` against a loopback stand-in of Alpaca's historical bars API.

The key check: a fetch stores exactly what an import of the same bars from a CSV file stores (same
bars, same quarantine). Then pagination, 429 / 5xx / malformed pages / refused keys / unknown
symbols / empty ranges (clear errors, nothing written), resume after an interruption and after a
kill, the CLI's --json and that keys are never printed. No test sleeps: waits are injected.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from fetch_standin import FetchStandIn, rfc3339, session_bars

from workstation.cli import main
from workstation.fetch.alpaca import FetchError, FetchRequest, fetch_alpaca
from workstation.fetch.commands import ProgressBar
from workstation.store import BarStore
from workstation.store.importer import import_files

REPO = Path(__file__).resolve().parents[3]
KEY, SECRET = "fetch-key-id-123", "fetch-secret-value-456"
DAYS = ["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08"]
NOW = lambda: dt.datetime(2024, 6, 1, tzinfo=dt.UTC)  # noqa: E731 - a fixed clock, long after the days


def _bars_for(standin: FetchStandIn) -> None:
    """AAA: every regular minute plus some pre/post-market; BBB: thin (every 7th minute), one bad row."""
    for i, day in enumerate(DAYS):
        standin.add_bars("AAA", session_bars("AAA", day, 100 + i, [240, 300, 555, *range(570, 960), 965, 1199]))
        rows = session_bars("BBB", day, 20 + i, list(range(570, 960, 7)))
        if day == "2024-03-06":
            rows[3]["h"] = rows[3]["l"] - 1.0   # high < low: the importer quarantines it
        standin.add_bars("BBB", rows)


@pytest.fixture
def standin():
    server = FetchStandIn(KEY, SECRET, page_size=997).start()
    _bars_for(server)
    yield server
    server.stop()


@pytest.fixture
def env(standin):
    return {"APCA_API_KEY_ID": KEY, "APCA_API_SECRET_KEY": SECRET}


def _request(standin, symbols=("AAA", "BBB"), start="2024-03-04", end="2024-03-08", **kw) -> FetchRequest:
    return FetchRequest(tuple(symbols), dt.date.fromisoformat(start), dt.date.fromisoformat(end),
                        data_url=standin.url, **kw)


def _fetch(tmp_path, standin, env, name="fetched", **kw):
    store = BarStore(tmp_path / name, create=True)
    request = kw.pop("request", None) or _request(standin)
    summary = fetch_alpaca(store, request, environ=env, sleep=kw.pop("sleep", lambda s: False), now=NOW, **kw)
    return store, summary


def _stored(store: BarStore) -> pd.DataFrame:
    """Every bar of the store, as read from its files, sorted (exact values, all columns)."""
    frames = [pq.read_table(p).to_pandas() for p in store.files()]
    if not frames:
        return pd.DataFrame()
    frame = pd.concat(frames, ignore_index=True)
    return frame.sort_values(["symbol", "timestamp"]).reset_index(drop=True)


def _quarantined(store: BarStore) -> pd.DataFrame:
    frames = [pq.read_table(p).to_pandas() for p in store.quarantine_files()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _reference(tmp_path, standin, symbols=("AAA", "BBB"), days=DAYS) -> BarStore:
    """The same bars written to a CSV file and imported with the importer."""
    rows = []
    for sym in symbols:
        for r in standin.minute_bars.get(sym, []):
            if r["t"][:10] >= days[0] and pd.Timestamp(r["t"]).tz_convert("America/New_York").date().isoformat() in days:
                rows.append({"symbol": sym, "timestamp": r["t"], "open": r["o"], "high": r["h"], "low": r["l"],
                             "close": r["c"], "volume": r["v"], "trade_count": r["n"], "vwap": r["vw"]})
    path = tmp_path / "same_bars.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    store = BarStore(tmp_path / "imported", create=True)
    import_files([path], store)
    return store


def _minute_requests(standin):
    return [r for r in standin.requests if r.get("timeframe") == "1Min"]


# ------------------------------------------------------------------------------ correctness
def test_a_fetch_equals_an_import_of_the_same_bars_from_a_file(tmp_path, standin, env):
    store, summary = _fetch(tmp_path, standin, env)
    reference = _reference(tmp_path, standin)
    fetched, imported = _stored(store), _stored(reference)
    assert len(fetched) == len(imported) == 5 * (390 + 5) + 5 * 56 - 1
    pd.testing.assert_frame_equal(fetched, imported, check_exact=True)
    # the same row refused for the same reason
    q_fetch, q_import = _quarantined(store), _quarantined(reference)
    assert list(q_fetch["reason"]) == list(q_import["reason"]) == ["high < low"]
    assert summary.rows_stored == len(fetched) and summary.rows_quarantined == 1
    assert summary.symbol_days_fetched == 10 and summary.symbol_days_skipped == 0
    # pre/post-market bars are kept with rth=False, as an import keeps them
    assert int((~fetched["rth"]).sum()) == 5 * 5


def test_requests_follow_the_documented_api_and_page_tokens(tmp_path, standin, env):
    standin.page_size = 250
    _fetch(tmp_path, standin, env)
    minute = _minute_requests(standin)
    first = minute[0]
    assert first["path"] == "/v2/stocks/bars"
    assert first["symbols"] == "AAA,BBB" and first["feed"] == "iex" and first["adjustment"] == "raw"
    assert first["limit"] == "10000" and first["sort"] == "asc" and "page_token" not in first
    # whole exchange-local days: New York midnight to the second before the next midnight (inclusive end)
    assert first["start"] == "2024-03-04T05:00:00Z"
    assert all(r["status"] == "200" for r in standin.requests)
    # every page after the first carries the previous answer's token (the stand-in checks it)
    total = sum(len(rows) for rows in standin.minute_bars.values())
    assert len(minute) == -(-total // 250)                 # every page asked once, one batch
    tokens = [base64.b64decode(r["page_token"]).decode().split("|")[0] for r in minute[1:]]
    assert "AAA" in tokens and "BBB" in tokens              # pages run across from AAA's bars into BBB's
    daily = [r for r in standin.requests if r.get("timeframe") == "1Day"]
    assert len(daily) == 1 and daily[0]["start"] == "2024-03-04T05:00:00Z" and daily[0]["end"] == "2024-03-09T04:59:59Z"


def test_rate_limit_429_waits_for_retry_after_then_goes_on(tmp_path, standin, env):
    waits: list[float] = []
    too_many = json.dumps({"message": "too many requests."})
    # Retry-After first; then a 429 without it: exponential back-off from 1 s
    standin.script = [(429, {"Retry-After": "3"}, too_many), (429, {}, too_many), (429, {}, too_many)]
    store, summary = _fetch(tmp_path, standin, env, sleep=lambda s: waits.append(s) or False)
    assert waits == [3.0, 1.0, 2.0]
    assert summary.rate_limited == 3 and summary.wait_s == 6.0
    pd.testing.assert_frame_equal(_stored(store), _stored(_reference(tmp_path, standin)), check_exact=True)


def test_server_errors_are_retried_with_capped_exponential_backoff(tmp_path, standin, env):
    waits: list[float] = []
    standin.script = [(503, {}, "{}"), (500, {}, "{}"), (502, {}, "{}")]
    store, _ = _fetch(tmp_path, standin, env, sleep=lambda s: waits.append(s) or False)
    assert waits == [1.0, 2.0, 4.0]
    assert len(_stored(store)) == len(_stored(_reference(tmp_path, standin)))


def test_server_errors_that_persist_end_the_fetch_with_nothing_written(tmp_path, standin, env):
    waits: list[float] = []
    standin.script = [(503, {}, json.dumps({"message": "service unavailable"}))] * 6
    with pytest.raises(FetchError, match=r"HTTP 503.*6 times.*nothing was written"):
        _fetch(tmp_path, standin, env, sleep=lambda s: waits.append(s) or False)
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert not (tmp_path / "fetched" / "store.json").exists()


def test_a_page_that_is_not_json_is_a_clear_error(tmp_path, standin, env):
    # the daily check passes, the first minute page is fine, the second is cut off
    first_daily = standin.answer({"symbols": "AAA,BBB", "timeframe": "1Day", "start": "2024-03-04T05:00:00Z",
                                  "end": "2024-03-09T04:59:59Z", "adjustment": "raw", "feed": "iex"},
                                 {"APCA-API-KEY-ID": KEY, "APCA-API-SECRET-KEY": SECRET})
    second = json.dumps({"bars": {"AAA": []}, "next_page_token": "QUFBfDE="})
    standin.script = [first_daily, (200, {}, second), (200, {}, '{"bars": {"AAA": [{"t": ')]
    with pytest.raises(FetchError, match=r"not JSON.*nothing was written"):
        _fetch(tmp_path, standin, env)
    assert not (tmp_path / "fetched" / "store.json").exists()


@pytest.mark.parametrize("body", ['{"bars": [1, 2]}', '{"bars": {"AAA": {"t": 1}}}', '{"bars": {"AAA": [7]}}',
                                  '[]', '{"bars": {"ZZZ": []}}'])
def test_pages_of_the_wrong_shape_are_clear_errors(tmp_path, standin, env, body):
    daily = standin.answer({"symbols": "AAA", "timeframe": "1Day", "start": "2024-03-04T05:00:00Z",
                            "end": "2024-03-09T04:59:59Z", "adjustment": "raw", "feed": "iex"},
                           {"APCA-API-KEY-ID": KEY, "APCA-API-SECRET-KEY": SECRET})
    standin.script = [daily, (200, {}, body)]
    with pytest.raises(FetchError, match=r"Alpaca bars .*nothing was written"):
        _fetch(tmp_path, standin, env, request=_request(standin, symbols=("AAA",)))
    assert not (tmp_path / "fetched" / "store.json").exists()


# ------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("status", [401, 403])
def test_rejected_keys_write_nothing_and_name_the_variables(tmp_path, standin, env, status):
    standin.reject_status = status
    bad = {"APCA_API_KEY_ID": "wrong-key-id-999", "APCA_API_SECRET_KEY": "wrong-secret-888"}
    with pytest.raises(FetchError) as info:
        _fetch(tmp_path, standin, bad)
    text = str(info.value)
    assert f"HTTP {status}" in text and "APCA_API_KEY_ID" in text and "nothing was written" in text
    assert "wrong-key-id-999" not in text and "wrong-secret-888" not in text
    assert not (tmp_path / "fetched").exists()


def test_missing_keys_stop_before_any_request(tmp_path, standin):
    with pytest.raises(FetchError, match=r"APCA_API_SECRET_KEY.*nothing was fetched"):
        _fetch(tmp_path, standin, {"APCA_API_KEY_ID": KEY})
    assert standin.requests == [] and not (tmp_path / "fetched").exists()


def test_an_unknown_symbol_writes_nothing(tmp_path, standin, env):
    with pytest.raises(FetchError, match=r"ZZZZ has no bars at Alpaca.*unknown symbol.*nothing was written"):
        _fetch(tmp_path, standin, env, request=_request(standin, symbols=("AAA", "ZZZZ")))
    assert _minute_requests(standin) == []
    assert not (tmp_path / "fetched" / "store.json").exists()


def test_an_invalid_symbol_is_refused_before_any_request(tmp_path, standin, env):
    with pytest.raises(FetchError, match="symbol"):
        _fetch(tmp_path, standin, env, request=_request(standin, symbols=("AAA", "no spaces")))
    assert standin.requests == []


def test_a_range_without_trading_days_writes_nothing(tmp_path, standin, env):
    # a weekend, then Good Friday 2024 (NYSE closed)
    for start, end in (("2024-03-09", "2024-03-10"), ("2024-03-29", "2024-03-29")):
        with pytest.raises(FetchError, match=rf"no trading days between {start} and {end}.*nothing was fetched"):
            _fetch(tmp_path, standin, env, request=_request(standin, start=start, end=end))
    assert standin.requests == [] and not (tmp_path / "fetched").exists()


def test_keys_only_over_tls_except_to_loopback(tmp_path, standin, env):
    request = FetchRequest(("AAA",), dt.date(2024, 3, 4), dt.date(2024, 3, 4), data_url="http://data.example.com")
    with pytest.raises(FetchError, match=r"clear text.*nothing was fetched"):
        fetch_alpaca(BarStore(tmp_path / "s", create=True), request, environ=env, now=NOW)


# ------------------------------------------------------------------------------ resume
def test_an_interrupted_fetch_keeps_whole_days_and_a_rerun_skips_them(tmp_path, standin, env):
    stop = threading.Event()
    seen = []

    def progress(p):
        seen.append(p)
        if p.symbol_days_done >= 4:     # two whole days of both symbols are stored
            stop.set()

    with pytest.raises(FetchError, match=r"cancelled.*4 symbol-days stored before it are kept"):
        _fetch(tmp_path, standin, env, batch_bars=1000, stop=stop, progress=progress)
    store = BarStore(tmp_path / "fetched")
    assert [d.isoformat() for d in store.dates()] == DAYS[:2]
    reference = _stored(_reference(tmp_path, standin))
    partial = _stored(store)
    expected = reference[reference["timestamp"].dt.tz_convert("America/New_York").dt.date.astype(str).isin(DAYS[:2])]
    pd.testing.assert_frame_equal(partial, expected.reset_index(drop=True), check_exact=True)

    standin.requests.clear()
    store, summary = _fetch(tmp_path, standin, env, batch_bars=1000)
    assert summary.symbol_days_skipped == 4 and summary.symbol_days_fetched == 6
    asked = sorted({r["start"][:10] for r in _minute_requests(standin)})
    assert asked == ["2024-03-06", "2024-03-07", "2024-03-08"]     # the stored days are not asked again
    pd.testing.assert_frame_equal(_stored(store), reference, check_exact=True)

    standin.requests.clear()
    _, again = _fetch(tmp_path, standin, env)
    assert again.symbol_days_skipped == 10 and standin.requests == []


def test_days_imported_whole_from_a_file_are_not_fetched(tmp_path, standin, env):
    reference = _reference(tmp_path, standin, symbols=("AAA",), days=DAYS[:1])
    _, summary = _fetch(tmp_path, standin, env, name="imported", batch_bars=1000)   # a day per batch
    assert reference.root == tmp_path / "imported"
    assert summary.symbol_days_skipped == 1     # AAA's first day: all 390 regular minutes stored
    first_day = [r for r in _minute_requests(standin) if r["start"] == "2024-03-04T05:00:00Z"]
    assert first_day and all(r["symbols"] == "BBB" for r in first_day)


def test_a_killed_fetch_leaves_whole_days_and_a_rerun_completes_it(tmp_path, standin, env):
    standin.block_after = 3      # the third minute request hangs: the process is killed there
    root = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "workstation.cli", "fetch", "alpaca", "AAA", "BBB", "--start", DAYS[0],
         "--end", DAYS[-1], "--store", str(root), "--data-url", standin.url, "--no-progress", "--batch-bars", "1000"],
        cwd=REPO, env={**os.environ, **env},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert standin.blocked.wait(60), proc.communicate(timeout=5)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    store = BarStore(root)
    kept = [d.isoformat() for d in store.dates()]
    assert kept == DAYS[:2]
    reference = _stored(_reference(tmp_path, standin))
    local_days = reference["timestamp"].dt.tz_convert("America/New_York").dt.date.astype(str)
    pd.testing.assert_frame_equal(_stored(store), reference[local_days.isin(kept)].reset_index(drop=True),
                                  check_exact=True)
    standin.block_after = None
    standin.release.set()
    store, summary = _fetch(tmp_path, standin, env, name="killed")
    assert summary.symbol_days_skipped == 4
    pd.testing.assert_frame_equal(_stored(store), reference, check_exact=True)


# ------------------------------------------------------------------------------ CLI
def test_cli_json_and_keys_never_printed(tmp_path, standin, env, monkeypatch, capsys):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = main(["-v", "fetch", "alpaca", "AAA,BBB", "--start", DAYS[0], "--end", DAYS[1],
                 "--store", str(tmp_path / "cli"), "--data-url", standin.url, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    assert doc["ok"] is True and doc["symbols"] == ["AAA", "BBB"] and doc["symbol_days_fetched"] == 4
    assert doc["rows_stored"] == len(_stored(BarStore(tmp_path / "cli")))
    assert "symbol-days 4/4" in err                                     # the progress bar
    for secret in (KEY, SECRET):
        assert secret not in out and secret not in err

    code = main(["fetch", "alpaca", "AAA", "--start", "2024-03-09", "--end", "2024-03-10",
                 "--store", str(tmp_path / "cli2"), "--data-url", standin.url, "--json"])
    out, err = capsys.readouterr()
    assert code == 2
    assert json.loads(out)["ok"] is False and "no trading days" in err


def test_cli_rejected_keys_exit_non_zero_without_printing_them(tmp_path, standin, monkeypatch, capsys):
    monkeypatch.setenv("APCA_API_KEY_ID", "rejected-key-77777")
    monkeypatch.setenv("APCA_API_SECRET_KEY", "rejected-secret-66666")
    code = main(["-v", "fetch", "alpaca", "AAA", "--start", DAYS[0], "--end", DAYS[0],
                 "--store", str(tmp_path / "cli"), "--data-url", standin.url])
    out, err = capsys.readouterr()
    assert code == 2 and "HTTP 401" in err
    assert "rejected-key-77777" not in out + err and "rejected-secret-66666" not in out + err
    assert not (tmp_path / "cli").exists()


def test_progress_bar_line_counts_symbol_days():
    import io

    from workstation.fetch.alpaca import FetchProgress

    stream = io.StringIO()
    bar = ProgressBar(stream)
    bar.update(FetchProgress(3, 10, 1234, 5, 6, 1, "2024-03-06"))
    bar.finish()
    line = stream.getvalue().strip().splitlines()[-1]
    assert line.startswith("[#######.................] symbol-days 3/10") and "bars 1,234" in line
    assert "rate-limited 1" in line and rfc3339(0) == "1970-01-01T00:00:00Z"


# ------------------------------------------------------------------------------ more cases
def test_daily_bars_fetch_equals_an_import_of_the_same_daily_bars(tmp_path, standin, env):
    store, summary = _fetch(tmp_path, standin, env, request=_request(standin, interval="1d"))
    daily = [{"symbol": s, **r} for s in ("AAA", "BBB") for r in standin._daily(s)]
    path = tmp_path / "daily.csv"
    pd.DataFrame(daily).rename(columns={"t": "timestamp", "o": "open", "h": "high", "l": "low", "c": "close",
                                        "v": "volume", "n": "trade_count", "vw": "vwap"}).to_csv(path, index=False)
    reference = BarStore(tmp_path / "imported", create=True)
    import_files([path], reference, interval="1d")
    fetched = _stored(store)
    assert len(fetched) == 10 and set(fetched["rth"]) == {True}
    pd.testing.assert_frame_equal(fetched, _stored(reference), check_exact=True)
    assert summary.rows_stored == 10 and not [r for r in standin.requests if r["timeframe"] == "1Min"]
    standin.requests.clear()
    _, again = _fetch(tmp_path, standin, env, request=_request(standin, interval="1d"))
    assert again.symbol_days_skipped == 10 and standin.requests == []


def test_a_day_still_in_progress_is_stored_but_fetched_again_later(tmp_path, standin, env):
    during = lambda: dt.datetime(2024, 3, 6, 20, 0, tzinfo=dt.UTC)  # noqa: E731 - 15:00 New York
    store = BarStore(tmp_path / "s", create=True)
    summary = fetch_alpaca(store, _request(standin), environ=env, now=during, sleep=lambda s: False)
    assert [d.isoformat() for d in store.dates()] == DAYS[:3]              # later days have not begun
    assert any("have not begun" in w for w in summary.warnings)
    assert any("2024-03-06: the session is not over" in w for w in summary.warnings)
    standin.requests.clear()
    later = fetch_alpaca(store, _request(standin), environ=env, now=NOW, sleep=lambda s: False)
    # days 1-2 are in the ledger; day 3 is asked again for BBB (thin: only the ledger could say it is
    # whole) but not for AAA, whose day 3 the stand-in served whole; days 4-5 are new
    assert later.symbol_days_skipped == 5 and later.symbol_days_fetched == 5
    day3 = [r for r in _minute_requests(standin) if r["start"] == "2024-03-06T05:00:00Z"]
    assert day3 and {r["symbols"] for r in day3} <= {"BBB", "AAA,BBB"}
    assert sorted({r["start"][:10] for r in _minute_requests(standin)})[0] == "2024-03-06"


def test_a_store_locked_by_another_writer_is_a_clear_error(tmp_path, standin, env):
    root = tmp_path / "locked"
    _fetch(tmp_path, standin, env, name="locked", request=_request(standin, end=DAYS[0]))
    holder = BarStore(root)
    with holder.writing():
        store = BarStore(root, lock_timeout=0.05)
        with pytest.raises(FetchError, match=r"(being written|locked).*nothing was written to the store"):
            fetch_alpaca(store, _request(standin), environ=env, now=NOW, sleep=lambda s: False)
    assert [d.isoformat() for d in BarStore(root).dates()] == DAYS[:1]


def test_days_without_any_bar_are_reported_and_not_asked_again(tmp_path, standin, env):
    standin.minute_bars["BBB"] = [r for r in standin.minute_bars["BBB"] if not r["t"].startswith("2024-03-08")]
    _, summary = _fetch(tmp_path, standin, env)
    assert summary.per_symbol["BBB"]["days_without_bars"] == [dt.date(2024, 3, 8)]
    assert summary.per_symbol["AAA"]["days_without_bars"] == []
    assert summary.warnings == ["BBB: Alpaca (iex feed) has no 1m bars on 2024-03-08 (no trades, a halt, or not "
                                "yet in its data)"]
    assert json.loads(json.dumps(summary.to_dict(), default=str))["per_symbol"]["BBB"]["days_without_bars"] == [
        "2024-03-08"]
    standin.requests.clear()
    _, again = _fetch(tmp_path, standin, env)
    assert again.symbol_days_skipped == 10 and standin.requests == []
