"""Item 10: hostile values in vendor files are quarantined row by row, never stored, never a traceback.

Infinite and absurd prices and volumes, timestamps in year 1 and year 9999, symbols no config could
use (checked against the config model's own rule), and a 1m file declared as 1h.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.faults.helpers import cli_in_process
from workstation.config import validate_config_dict
from workstation.errors import ConfigError, DataError
from workstation.store import BarStore, import_files

HEADER = "timestamp,open,high,low,close,volume\n"
GOOD = "2024-12-02T14:{m:02d}:00Z,10,11,9,10,100\n"


@pytest.fixture
def store(tmp_path) -> BarStore:
    return BarStore(tmp_path / "store", create=True)


def quarantine(summary) -> pd.DataFrame:
    return pd.read_parquet(summary.quarantine_file).set_index("source_line")


def test_infinite_and_huge_values_are_quarantined(tmp_path, store):
    path = tmp_path / "EDGE.csv"
    path.write_text(HEADER + GOOD.format(m=30)
                    + "2024-12-02T14:31:00Z,inf,inf,9,10,100\n"
                    + "2024-12-02T14:32:00Z,1e308,1e308,9,10,100\n"
                    + "2024-12-02T14:33:00Z,10,11,9,10,inf\n"
                    + "2024-12-02T14:34:00Z,10,11,9,10,1e300\n"
                    + "2024-12-02T14:35:00Z,-inf,11,9,10,100\n"
                    + GOOD.format(m=36))
    summary = import_files([path], store)
    assert summary.rows_stored == 2 and summary.quarantined_by_reason == {"value out of range": 5}
    q = quarantine(summary)
    assert "open inf" in q.loc[3, "detail"] and "1e+308" in q.loc[4, "detail"]
    assert "volume inf" in q.loc[5, "detail"] and "volume 1e+300" in q.loc[6, "detail"]
    stored = store.read_bars(None, "1m", 0, 2**62)
    values = stored[["open", "high", "low", "close", "volume"]].to_numpy()
    assert np.isfinite(values).all() and values.max() < 1e9


def test_year_1_and_year_9999_rows_are_quarantined_not_the_file(tmp_path, store):
    path = tmp_path / "EDGE.csv"
    path.write_text(HEADER + GOOD.format(m=30)
                    + "9999-12-31T23:59:00Z,10,11,9,10,100\n"
                    + "0001-01-01T00:00:00Z,10,11,9,10,100\n"
                    + "9999-12-31 23:59:00+00:00,10,11,9,10,100\n"
                    + GOOD.format(m=31))
    summary = import_files([path], store)
    assert summary.rows_stored == 2 and summary.quarantined_by_reason == {"unparseable timestamp": 3}
    assert "9999-12-31T23:59:00Z" in quarantine(summary).loc[3, "detail"]


def test_year_9999_in_a_parquet_file(tmp_path, store):
    frame = pd.DataFrame({
        "timestamp": pd.to_datetime(["2024-12-02 14:30:00", "9999-12-31 23:59:00", "0001-01-01 00:00:00"], utc=True).as_unit("s"),
        "open": 10.0, "high": 11.0, "low": 9.0, "close": 10.0, "volume": 100.0,
    })
    path = tmp_path / "EDGE.parquet"
    frame.to_parquet(path)
    summary = import_files([path], store)
    assert (summary.rows_stored, summary.rows_quarantined) == (1, 2)


HOSTILE = ["../../etc/x", "A/B", "AB\x00C", "X" * 100_000, "spa ce", "1ABC", "A" * 16]


def test_symbols_no_config_could_use_are_quarantined(tmp_path, store):
    lines = "symbol,timestamp,open,high,low,close,volume\n" + "".join(
        f"{sym},2024-12-02T14:{30 + i:02d}:00Z,10,11,9,10,100\n" for i, sym in enumerate([*HOSTILE, "", "brk.b"]))
    path = tmp_path / "syms.csv"
    path.write_text(lines)
    summary = import_files([path], store)
    assert summary.quarantined_by_reason == {"invalid symbol": len(HOSTILE), "missing symbol": 1}
    assert store.symbols() == ["BRK.B"]                          # upper-cased, valid
    q = quarantine(summary)
    detail_100k = q.loc[2 + HOSTILE.index("X" * 100_000), "detail"]
    assert "100,000 characters" in detail_100k and len(detail_100k) < 300
    assert max(len(k) for k in summary.per_symbol) < 20          # the summary never echoes a long symbol
    rendered = summary.render()
    assert len(rendered) < 5_000 and "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX" not in rendered
    for sym in HOSTILE:                                          # the same rule as the config model
        with pytest.raises(ConfigError, match="symbols"):
            validate_config_dict({"name": "x", "symbols": [sym],
                                  "backtest": {"start_date": "2024-12-02", "end_date": "2024-12-02"}})


@pytest.mark.parametrize("symbol", ["../../etc/x", "A/B", "X" * 100_000, "", " "])
def test_invalid_symbol_option_refuses_the_import(tmp_path, symbol, capsys):
    path = tmp_path / "bars.csv"
    path.write_text(HEADER + GOOD.format(m=30))
    code, _, err = cli_in_process(capsys, "import", str(path), "--store", str(tmp_path / "store"), "--symbol", symbol)
    assert code == 2 and "--symbol" in err and "Traceback" not in err and len(err) < 500
    assert not (tmp_path / "store" / "bars").exists()


def test_store_refuses_invalid_symbols_from_any_writer(store):
    frame = pd.DataFrame({"symbol": ["../x"], "timestamp": [pd.Timestamp("2024-12-02 14:30", tz="UTC")],
                          "open": [10.0], "high": [11.0], "low": [9.0], "close": [10.0], "volume": [1.0]})
    with pytest.raises(DataError, match="invalid symbol"):
        store.write_bars(frame, "1m")
    with pytest.raises(DataError, match="infinite"):
        store.write_bars(frame.assign(symbol="OK", close=np.inf), "1m")


def minute_csv(path, days=("2024-12-02", "2024-12-03"), missing_every=0) -> int:
    rows = []
    for day in days:
        start = pd.Timestamp(f"{day} 14:30", tz="UTC")
        for k in range(390):
            if missing_every and k % missing_every == 0:
                continue
            rows.append(f"{(start + pd.Timedelta(minutes=k)).isoformat()},10,11,9,10,100")
    path.write_text(HEADER + "\n".join(rows) + "\n")
    return len(rows)


@pytest.mark.parametrize("interval", ["1h", "5m", "1d"])
def test_minute_file_declared_coarser_is_refused(tmp_path, store, interval):
    path = tmp_path / "ABC_1m.csv"
    minute_csv(path, missing_every=7)                            # missing minutes do not hide it
    with pytest.raises(DataError, match=rf"1 minute apart .* --interval {interval} was declared") as info:
        import_files([path], store, interval=interval)
    assert "--interval 1m" in str(info.value) and "nothing was imported" in str(info.value)
    assert not (store.root / "bars").exists()


def test_real_hourly_and_daily_files_still_import(tmp_path, store):
    """Clock-anchored hourly bars (09:30, then 10:00, 11:00 ...) and daily bars with weekends pass."""
    hourly = tmp_path / "ABC_1h.csv"
    stamps = ["2024-12-02T14:30:00Z"] + [f"2024-12-02T{h}:00:00Z" for h in range(15, 21)]
    hourly.write_text(HEADER + "".join(f"{t},10,11,9,10,100\n" for t in stamps))
    assert import_files([hourly], store, interval="1h").rows_stored == 7
    daily = tmp_path / "ABC_1d.csv"
    days = pd.bdate_range("2024-11-04", "2024-11-27")
    daily.write_text(HEADER + "".join(f"{d:%Y-%m-%d},10,11,9,10,100\n" for d in days))
    assert import_files([daily], store, interval="1d").rows_stored == len(days)
