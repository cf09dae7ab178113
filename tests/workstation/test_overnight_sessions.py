"""Sessions across midnight (CME's Globex futures and currencies open the evening before their date)
are refused with the reason, everywhere a run or an import would otherwise silently lose the
evening's bars (stored under the previous day, or refused as a closed date, and the session reported
missing them). The expectation is pandas-market-calendars' own schedule."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pandas_market_calendars as mcal
import pytest

from tests.integration.runhelpers import crossover_config
from workstation.calendar import TimeManager
from workstation.cli import main as cli_main
from workstation.config import validate_config_dict
from workstation.errors import ConfigError, DataError
from workstation.preflight import preflight_problems
from workstation.store import BarStore, generate_demo, import_files
from workstation.system import SystemManager

START, END = "2024-03-01", "2024-03-29"


def _crossing_dates(name: str, tz: str | None = None) -> list[dt.date]:
    """Session dates whose open or close falls on another date in the exchange's zone (pmc's schedule)."""
    cal = mcal.get_calendar(name)
    sched = cal.schedule(START, END)
    zone = str(cal.tz)
    opens = sched["market_open"].dt.tz_convert(zone).dt.date
    closes = (sched["market_close"] - pd.Timedelta(1, "ns")).dt.tz_convert(zone).dt.date
    own = sched.index.date
    return [d for d, o, c in zip(own, opens, closes, strict=True) if o != d or c != d]


@pytest.mark.parametrize("name, tz", [("CME_Currency", None), ("CME_Equity", None), ("XNYS", None), ("24/5", None),
                                      ("XTKS", None), ("XNYS", "Asia/Tokyo"), ("XLON", "America/New_York")])
def test_a_session_across_midnight_is_found_as_the_calendar_has_it(name, tz):
    crossing = _crossing_dates(name)
    found = TimeManager(name, tz).overnight_session(START, END)
    assert (found.date if found else None) == (crossing[0] if crossing else None)
    assert bool(crossing) == name.startswith("CME")    # a display zone (XNYS shown in Tokyo) does not count


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> BarStore:
    root = tmp_path_factory.mktemp("overnight") / "store"
    generate_demo(root, symbols=2, days=3, seed=3)
    return BarStore(root)


def test_a_config_on_such_a_calendar_is_refused_before_it_runs(store, tmp_path, capsys):
    syms, days = store.symbols("1m"), store.dates("1m")
    cfg = crossover_config(syms, days[0], days[-1], data_source={"store_path": str(store.root)})
    assert not [p for p in preflight_problems(validate_config_dict(cfg)) if p[0] == "exchange"]
    shown_in_tokyo = validate_config_dict({**cfg, "timezone": "Asia/Tokyo"})
    assert not [p for p in preflight_problems(shown_in_tokyo) if p[0] == "exchange"]
    SystemManager(shown_in_tokyo, store=store)
    futures = validate_config_dict({**cfg, "exchange": "CME_Equity", "timezone": "America/Chicago"})
    problems = [m for p, m in preflight_problems(futures) if p == "exchange"]
    assert len(problems) == 1 and "sessions across midnight" in problems[0] and "17:00" in problems[0]
    with pytest.raises(ConfigError, match="sessions across midnight"):     # the Python API and the window
        SystemManager(futures, store=store)
    path = tmp_path / "futures.json"
    path.write_text(futures.model_dump_json())
    assert cli_main(["run", str(path), "--out", str(tmp_path / "run")]) != 0
    assert "sessions across midnight" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def _dukascopy(path, start: str, hours: int) -> pd.DataFrame:
    times = pd.date_range(start, periods=hours * 60, freq="1min", tz="UTC")
    frame = pd.DataFrame({"Gmt time": times.strftime("%d.%m.%Y %H:%M:%S.000"), "Open": 1.08, "High": 1.081,
                          "Low": 1.079, "Close": 1.0805, "Volume": 10})
    frame.to_csv(path, index=False)
    return frame


def test_an_intraday_import_into_such_a_store_stores_nothing_and_says_why(tmp_path):
    path = tmp_path / "EURUSD_Candlestick_1_M_BID.csv"
    _dukascopy(path, "2024-03-04 22:00", 6)                 # Monday 17:00 Chicago .. 23:00: Tuesday's session
    with pytest.raises(DataError, match="sessions across midnight .*nothing was imported"):
        import_files([path], BarStore.for_import(tmp_path / "cme", "CME_Currency"))
    assert not (tmp_path / "cme").exists()
    summary = import_files([path], BarStore.for_import(tmp_path / "fx", "24/5"))  # whole UTC days: taken,
    assert summary.rows_stored == 6 * 60                    # the Gmt time read as UTC without --tz
    stored = BarStore(tmp_path / "fx").read_bars(None, "1m", 0, 2**62)
    assert pd.Timestamp(stored["timestamp"].min()) == pd.Timestamp("2024-03-04 22:00", tz="UTC")


def test_rows_outside_the_calendars_years_do_not_stop_the_check(tmp_path):
    """The check asks the calendar about the files' dates: a row of 2250 or 1985 (quarantined as an
    unusable time) is not among them; the first form of the check failed the whole import on them."""
    path = tmp_path / "XYZ_1m.csv"
    path.write_text("time,open,high,low,close,volume\n2024-03-04T15:00:00Z,1,1,1,1,1\n"
                    "2250-01-01T00:00:00Z,1,1,1,1,1\n1985-01-01T00:00:00Z,1,1,1,1,1\n")
    summary = import_files([path], BarStore(tmp_path / "store", create=True))
    assert (summary.rows_stored, summary.rows_quarantined) == (1, 2)


def test_a_currency_weeks_sunday_evening_in_a_24_5_store_is_said_plainly(tmp_path):
    """The currency week opens on Sunday evening; a '24/5' store's sessions are Monday to Friday UTC
    days. The Sunday bars are quarantined as a closed date, and the report says why, which date and
    how many (not supported yet: they would need sessions across midnight)."""
    path = tmp_path / "EURUSD_Candlestick_1_M_BID.csv"
    frame = _dukascopy(path, "2024-03-03 21:00", 6)       # Sunday 21:00 UTC .. Monday 03:00
    is_sunday = pd.to_datetime(frame["Gmt time"], format="%d.%m.%Y %H:%M:%S.%f").dt.day_of_week == 6
    sundays = int(is_sunday.sum())
    first_line = int(is_sunday.to_numpy().argmax()) + 2        # the file's header is line 1
    summary = import_files([path], BarStore.for_import(tmp_path / "fx", "24/5"))
    assert sundays == 180 and (summary.rows_quarantined, summary.rows_stored) == (sundays, 6 * 60 - sundays)
    text = summary.render()
    assert (f"closed exchange date: {sundays} (no session on 2024-03-03 (Sunday): line {first_line} and "
            f"{sundays - 1} more rows)") in text
    (warning,) = summary.warnings
    assert f"{sundays} bars fall on Sundays (UTC)" in warning and "across midnight" in warning
    xnys = import_files([path], BarStore.for_import(tmp_path / "stocks", "XNYS"))      # not a currency store
    assert not xnys.warnings
