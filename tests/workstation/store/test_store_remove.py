"""`workstation store remove`: a symbol's bars of one interval and date range go, everything else
stays byte for byte the same bars; a dry run changes nothing; a disk that refuses part-way leaves
every file whole and says which were changed."""

from __future__ import annotations

import pandas as pd
import pytest

from workstation.cli import main as cli_main
from workstation.store import BarStore, generate_demo
from workstation.store.bar_store import StoreWriteError

ALL = (0, 2**62)


@pytest.fixture
def store(tmp_path) -> BarStore:
    root = tmp_path / "store"
    generate_demo(root, symbols=3, days=4, seed=5)
    return BarStore(root)


def _bars(store: BarStore, interval: str = "1m") -> pd.DataFrame:
    return store.read_bars(None, interval, *ALL)


def _snapshot(store: BarStore) -> dict:
    return {p: p.read_bytes() for p in store.root.rglob("*.parquet")}


def test_one_symbols_bars_in_a_date_range_go_and_nothing_else(store, capsys):
    before = _bars(store)
    days = store.dates("1m")
    symbols = sorted(before["symbol"].unique())
    gone = symbols[0]
    local = pd.to_datetime(before["timestamp"], utc=True).dt.tz_convert("America/New_York").dt.date
    in_range = (before["symbol"] == gone) & (local >= days[1]) & (local <= days[2])
    snapshot = _snapshot(store)
    args = ["store", "remove", "--store", str(store.root), "--symbol", gone.lower(), "--start", str(days[1]),
            "--end", str(days[2])]
    assert cli_main(args) == 0                                  # a dry run: says what, changes nothing
    assert f"would remove {int(in_range.sum()):,} bars ({gone} {int(in_range.sum()):,})" in capsys.readouterr().out
    assert _snapshot(store) == snapshot
    assert cli_main([*args, "--yes"]) == 0
    assert "2 rewritten, 0 deleted" in capsys.readouterr().out
    after = _bars(store)
    pd.testing.assert_frame_equal(after, before[~in_range].reset_index(drop=True))
    assert set(after["symbol"]) == set(symbols)                 # its bars outside the range stay
    for path in snapshot:                                       # files of other dates untouched
        if str(days[1]) not in str(path) and str(days[2]) not in str(path):
            assert path.read_bytes() == snapshot[path]
    assert cli_main([*args, "--yes"]) == 0                      # again: nothing left to remove
    assert "nothing to remove" in capsys.readouterr().out


def test_daily_bars_are_removed_by_date_inside_their_year_file(store):
    before = _bars(store, "1d")
    symbol = sorted(before["symbol"].unique())[1]
    local = pd.to_datetime(before["timestamp"], utc=True).dt.tz_convert("America/New_York").dt.date
    cut = local[before["symbol"] == symbol].iloc[len(local[before["symbol"] == symbol]) // 2]
    result = store.remove_bars([symbol], "1d", start=cut)
    gone = (before["symbol"] == symbol) & (local >= cut)
    assert result.removed == {symbol: int(gone.sum())} and result.applied
    pd.testing.assert_frame_equal(_bars(store, "1d"), before[~gone].reset_index(drop=True))


def test_a_full_disk_stops_the_removal_with_every_file_whole(store, monkeypatch):
    """ENOSPC on the last date's file (injected at the Parquet write: root ignores permissions): the
    files before it are complete without the bars, that one and the store's other bars as they were;
    the message says so, and the same command run again finishes it."""
    import errno

    import pyarrow.parquet as pq

    before = _bars(store)
    days = store.dates("1m")
    symbol = sorted(before["symbol"].unique())[0]
    last = f"period={days[-1]}"
    real = pq.write_table

    def full(table, where, **options):
        if last in str(where):
            raise OSError(errno.ENOSPC, "No space left on device", str(where))
        return real(table, where, **options)

    monkeypatch.setattr(pq, "write_table", full)
    with pytest.raises(StoreWriteError, match=rf"failed at .*{last}.*: the disk is full\. 3 files were changed "
                                              rf"completely before it .*; .*{last}/part-0\.parquet was not changed\. .*run the "
                                              r"same command again") as caught:
        store.remove_bars([symbol], "1m")
    assert caught.value.failed.endswith(f"{last}/part-0.parquet") and len(caught.value.written) == 3
    monkeypatch.undo()
    after = _bars(store)
    local = pd.to_datetime(before["timestamp"], utc=True).dt.tz_convert("America/New_York").dt.date
    expected = before[(before["symbol"] != symbol) | (local == days[-1])].reset_index(drop=True)
    pd.testing.assert_frame_equal(after, expected)
    result = store.remove_bars([symbol], "1m")                  # the same command finishes it
    assert result.applied and result.removed == {symbol: int(((before["symbol"] == symbol) & (local == days[-1])).sum())}
    assert set(_bars(store)["symbol"]) == set(before["symbol"]) - {symbol}


def test_files_beyond_the_memory_budget_are_read_again_with_the_same_result(store, monkeypatch):
    """The first pass keeps the files' tables for the second up to the write's memory budget; with no
    budget every file is read again there, and the store ends the same."""
    import workstation.store.bar_store as bar_store

    before = _bars(store)
    first, second = sorted(before["symbol"].unique())[:2]
    reads = []
    real = BarStore._read_file
    monkeypatch.setattr(BarStore, "_read_file", lambda self, path, *a, **k: reads.append(path) or real(self, path, *a, **k))
    result = store.remove_bars([first], "1m")
    assert result.files_rewritten and len(reads) == len(result.files_rewritten)          # each file read once
    reads.clear()
    monkeypatch.setattr(bar_store, "_MERGE_ROWS_HELD", 0)
    result = store.remove_bars([second], "1m")
    assert result.files_rewritten and len(reads) == 2 * len(result.files_rewritten)      # read, then read again
    pd.testing.assert_frame_equal(_bars(store), before[~before["symbol"].isin([first, second])].reset_index(drop=True))


def _quote_file(bars: pd.DataFrame, path, symbol: str, end_stamped: bool = False) -> None:
    """Quote bars (bid a cent under, ask a cent over each trade bar) of one symbol's regular session,
    stamped with their starts or, as NinjaTrader does, their ends."""
    local = pd.to_datetime(bars["timestamp"], utc=True).dt.tz_convert("America/New_York")
    stamp = local + pd.Timedelta(minutes=1) if end_stamped else local
    q = pd.DataFrame({"time": stamp.dt.strftime("%Y-%m-%d %H:%M:%S"), "symbol": symbol})
    for side, shift in (("bid", -0.01), ("ask", 0.01)):
        for field in ("open", "high", "low", "close"):
            q[f"{side}_{field}"] = (bars[field] + shift).round(2).to_numpy()
    q["bid_size"], q["ask_size"] = 5, 7
    q.to_csv(path, index=False)


def test_quote_bars_of_a_doubted_import_are_removed_and_the_trade_bars_stay(tmp_path, capsys):
    from workstation.store import import_files
    from workstation.store.quote_store import read_quotes

    generate_demo(tmp_path / "quoted", symbols=3, days=10, seed=5)       # enough sessions to tell end stamps
    store = BarStore(tmp_path / "quoted")
    trades = _bars(store)
    symbols = sorted(trades["symbol"].unique())
    local = pd.to_datetime(trades["timestamp"], utc=True).dt.tz_convert("America/New_York")
    rth = (local.dt.strftime("%H:%M") >= "09:30") & (local.dt.strftime("%H:%M") < "16:00")
    for sym in symbols[1:]:                                        # quotes of the others, stamped right
        _quote_file(trades[(trades["symbol"] == sym) & rth].reset_index(drop=True), tmp_path / f"{sym}_q.csv", sym)
        import_files([tmp_path / f"{sym}_q.csv"], store, tz="America/New_York", kind="quotes")
    others = read_quotes(store, None, *ALL)
    snapshot = _snapshot(store)
    # one symbol's quotes stamped with their ends, read as starts: doubted
    doubted = tmp_path / f"{symbols[0]}_quotes.csv"
    _quote_file(trades[(trades["symbol"] == symbols[0]) & rth].reset_index(drop=True), doubted, symbols[0],
                end_stamped=True)
    summary = import_files([doubted], store, tz="America/New_York", kind="quotes")
    (warning,) = summary.warnings
    assert "look like bar ends" in warning and "--kind quotes" in warning
    assert summary.removals[0]["kind"] == "quotes" and summary.removals[0]["symbols"] == [symbols[0]]
    command = warning.split("To remove them: workstation ", 1)[1].split()
    assert cli_main(command) == 0
    assert f"removed {summary.rows_stored:,} quote bars ({symbols[0]} {summary.rows_stored:,})" in capsys.readouterr().out
    assert read_quotes(store, [symbols[0]], *ALL).empty
    pd.testing.assert_frame_equal(read_quotes(store, None, *ALL), others)     # the others' quotes stay
    pd.testing.assert_frame_equal(_bars(store), trades)                      # and every trade bar
    for path, data in snapshot.items():                                      # trade files untouched
        if "quotes" not in str(path):
            assert path.read_bytes() == data
    with pytest.raises(Exception, match="unknown kind"):
        store.remove_bars(symbols, "1m", kind="ticks")
