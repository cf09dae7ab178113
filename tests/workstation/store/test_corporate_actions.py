"""Splits and dividends: the corporate-actions import, `prices: adjusted` read-time adjustment (BarStore and
the sweep's MemoryBarStore), runs over a split, and the unrecorded-split warning.

Expectations are computed independently with pandas from the raw bars (prices before the effective date
divided by the ratio, volume multiplied; dividends by 1 - dividend / previous close).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import workstation
from workstation.cli import main as cli_main
from workstation.errors import DataError
from workstation.store import BarStore, generate_demo, import_files
from workstation.store.corporate_actions import AdjustedBarStore, bar_source_for, import_actions, read_actions
from workstation.store.memory_store import MemoryBarStore
from workstation.store.price_jumps import guess_split, scan_price_jumps
from workstation.sweep.cell import run_cell
from workstation.sweep.shipping import CellNeeds, DataShipper

SPLIT_DAY = dt.date(2024, 12, 4)
DIVIDEND_DAY = dt.date(2024, 12, 3)
RATIO = 7
DIVIDEND = 0.5
PRICE_COLUMNS = ["open", "high", "low", "close", "vwap"]
ACTIONS_CSV = f"symbol,effective_date,split_ratio,dividend\nACME,{SPLIT_DAY},{RATIO}:1,\nBOLT,{DIVIDEND_DAY},,{DIVIDEND}\n"


def _local_dates(frame: pd.DataFrame, tz: str) -> np.ndarray:
    return pd.DatetimeIndex(frame["timestamp"]).tz_convert(tz).tz_localize(None).normalize().to_numpy() \
        .astype("datetime64[D]")


def _every_bar(store: BarStore) -> dict[str, pd.DataFrame]:
    return {iv: store.read_bars(None, iv, 0, 2**62) for iv in store.intervals()}


def _split_store(demo_root: Path, root: Path) -> BarStore:
    """The demo bars with ACME split 7-for-1 at the open of SPLIT_DAY (raw prices from then on / 7)."""
    source = BarStore(demo_root)
    store = BarStore(root, create=True)
    for interval, frame in _every_bar(source).items():
        after = (frame["symbol"] == "ACME").to_numpy() & (_local_dates(frame, source.time_manager.tz)
                                                         >= np.datetime64(SPLIT_DAY))
        for c in PRICE_COLUMNS:
            frame.loc[after, c] = (frame.loc[after, c] / RATIO).round(4)
        frame.loc[after, "volume"] = frame.loc[after, "volume"] * RATIO
        store.write_bars(frame, interval)
    return store


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            digest.update(str(p.relative_to(root)).encode() + p.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("actions") / "demo"
    generate_demo(root, symbols=2, days=6, seed=3)  # ACME, BOLT: 2024-11-29 .. 2024-12-06, daily bars too
    return root


@pytest.fixture(scope="module")
def raw_root(demo_root, tmp_path_factory) -> Path:
    """A split store without recorded actions (the raw vendor bars of a 7-for-1 split)."""
    root = tmp_path_factory.mktemp("actions") / "raw"
    _split_store(demo_root, root)
    return root


@pytest.fixture(scope="module")
def recorded_root(raw_root, tmp_path_factory) -> Path:
    """The split store with the split and BOLT's dividend recorded."""
    root = tmp_path_factory.mktemp("actions") / "recorded"
    shutil.copytree(raw_root, root)
    csv = root.parent / "actions.csv"
    csv.write_text(ACTIONS_CSV)
    import_actions(csv, BarStore(root))
    return root


def _expected_adjusted(store: BarStore, frame: pd.DataFrame, local: np.ndarray) -> pd.DataFrame:
    """The documented rule, computed with pandas from the raw bars."""
    out = frame.copy()
    split = (out["symbol"] == "ACME").to_numpy() & (local < np.datetime64(SPLIT_DAY))
    for c in PRICE_COLUMNS:
        if c in out:
            out.loc[split, c] = out.loc[split, c] / RATIO
    out.loc[split, "volume"] = out.loc[split, "volume"] * RATIO
    daily = store.read_daily(["BOLT"], DIVIDEND_DAY - dt.timedelta(days=10), DIVIDEND_DAY - dt.timedelta(days=1))
    factor = 1.0 - DIVIDEND / float(daily["close"].iloc[-1])  # the close of the session before the ex-date
    dividend = (out["symbol"] == "BOLT").to_numpy() & (local < np.datetime64(DIVIDEND_DAY))
    for c in PRICE_COLUMNS:
        if c in out:
            out.loc[dividend, c] = out.loc[dividend, c] * factor
    return out


def test_adjusted_reads_equal_raw_divided_by_the_ratio_before_the_effective_date(recorded_root):
    store = BarStore(recorded_root)
    adjusted = AdjustedBarStore(store)
    tz = store.time_manager.tz
    raw = store.read_bars(None, "1m", 0, 2**62)
    expected = _expected_adjusted(store, raw, _local_dates(raw, tz))
    got = adjusted.read_bars(None, "1m", 0, 2**62)
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
    acme_before = (raw["symbol"] == "ACME").to_numpy() & (_local_dates(raw, tz) < np.datetime64(SPLIT_DAY))
    assert acme_before.sum() > 0
    np.testing.assert_array_equal(got.loc[acme_before, "close"], raw.loc[acme_before, "close"] / RATIO)
    assert (got.loc[~acme_before & (raw["symbol"] == "ACME").to_numpy(), "close"]
            == raw.loc[~acme_before & (raw["symbol"] == "ACME").to_numpy(), "close"]).all()  # after: unchanged
    # daily bars and the engine's session arrays follow the same rule
    daily_raw = store.read_daily(None, dt.date(2024, 11, 1), dt.date(2024, 12, 6))
    daily_local = np.array([np.datetime64(d, "D") for d in daily_raw["date"]])
    pd.testing.assert_frame_equal(adjusted.read_daily(None, dt.date(2024, 11, 1), dt.date(2024, 12, 6)),
                                  _expected_adjusted(store, daily_raw, daily_local), check_exact=False, rtol=1e-12)
    for day in (dt.date(2024, 12, 2), DIVIDEND_DAY, SPLIT_DAY):
        arrays = adjusted.read_session_arrays(day, "1m", ["BOLT", "ACME"])
        frame = expected[(_local_dates(expected, tz) == np.datetime64(day)) & expected["rth"].to_numpy()]
        frame = frame.assign(order=frame["symbol"].map({"BOLT": 0, "ACME": 1})).sort_values(["timestamp", "order"])
        for c in ("open", "high", "low", "close", "volume"):
            np.testing.assert_allclose(getattr(arrays, c), frame[c].to_numpy(dtype=float), rtol=1e-12, err_msg=c)
    # the store itself still holds the raw bars
    assert BarStore(recorded_root).read_bars(["ACME"], "1m", 0, 2**62)["close"].equals(
        raw[raw["symbol"] == "ACME"]["close"].reset_index(drop=True))


def test_the_sweeps_memory_store_adjusts_exactly_as_the_parquet_store(recorded_root):
    store = BarStore(recorded_root)
    tm = store.time_manager
    days = store.dates("1m")
    shipper = DataShipper(store, tm, store.symbols(), put=lambda block: block)
    blocks = shipper.refs(CellNeeds({"1m": tuple(days)}, (days[0], days[-1]), tuple(store.symbols())))
    memory = MemoryBarStore(blocks, {"1m": store.symbols("1m"), "1d": store.symbols("1d")}, tm,
                            adjustments=store.price_adjustments())
    adjusted_memory, adjusted_parquet = bar_source_for(memory, "adjusted"), bar_source_for(store, "adjusted")
    assert bar_source_for(memory, "raw") is memory and bar_source_for(adjusted_memory, "adjusted") is adjusted_memory
    for day in days:
        a = adjusted_memory.read_session_arrays(day, "1m", ["ACME", "BOLT"])
        b = adjusted_parquet.read_session_arrays(day, "1m", ["ACME", "BOLT"])
        for name in a._fields:
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=f"{day} {name}")
    pd.testing.assert_frame_equal(adjusted_memory.read_daily(None, days[0], days[-1]),
                                  adjusted_parquet.read_daily(None, days[0], days[-1]))


def _hold_config(prices: str) -> dict:
    return {
        "name": f"hold {prices}", "symbols": ["ACME", "BOLT"], "prices": prices,
        "streams": {"interval": "1m", "derived": ["5m"], "indicators": []},
        "backtest": {"start_date": "2024-12-02", "end_date": "2024-12-05", "stage_threads": False},
        "historical": {"trailing_days": 0, "warmup_bars": 0},
        "strategies": [{"name": "hold", "class_path": "tests.workstation.store.hold_strategy:BuyAndHold",
                        "symbols": ["ACME"], "params": {"quantity": 70}}],
        "risk": {"min_quality_pct": 0},
    }


def _overnight_change(result, day: dt.date) -> float:
    equity = result.equity.set_index("time")["equity"]
    local = equity.index.tz_convert("America/New_York")
    before = equity[local.date < day].iloc[-1]
    after = equity[local.date == day].iloc[0]
    return float(after - before)


def test_a_run_over_the_split_with_adjusted_prices_has_no_artificial_loss(recorded_root, tmp_path):
    store = BarStore(recorded_root)
    adjusted = workstation.run(_hold_config("adjusted"), store=recorded_root, out=tmp_path / "adjusted")
    raw = workstation.run(_hold_config("raw"), store=recorded_root, out=tmp_path / "raw")
    acme = store.read_bars(["ACME"], "1m", 0, 2**62, rth_only=True)
    local = _local_dates(acme, "America/New_York")
    prev_close = float(acme["close"][local < np.datetime64(SPLIT_DAY)].iloc[-1])
    first_close = float(acme["close"][local == np.datetime64(SPLIT_DAY)].iloc[0])  # equity marks at bar closes
    # raw: the 70 shares are marked at the post-split price: the split shows as a loss of about 6/7 of them
    assert _overnight_change(raw, SPLIT_DAY) == pytest.approx(70 * (first_close - prev_close), abs=0.01)
    assert _overnight_change(raw, SPLIT_DAY) < -0.8 * 70 * prev_close
    # adjusted: the same 70 (adjusted) shares, bought at a seventh of the raw price, move only by the real gap
    assert _overnight_change(adjusted, SPLIT_DAY) == pytest.approx(70 * (first_close - prev_close / RATIO), abs=0.01)
    assert abs(_overnight_change(adjusted, SPLIT_DAY)) < 0.05 * 70 * first_close
    buy_raw, buy_adjusted = raw.trades if len(raw.trades) else None, adjusted.trades if len(adjusted.trades) else None
    assert buy_raw is None and buy_adjusted is None  # held: no round trip
    fills_raw, fills_adjusted = raw.fills["price"], adjusted.fills["price"]
    assert len(fills_raw) == len(fills_adjusted) == 1 and (adjusted.fills["quantity"] == 70).all()
    assert fills_adjusted.iloc[0] == pytest.approx(fills_raw.iloc[0] / RATIO, rel=1e-12)
    # the bars the adjusted run streamed are the adjusted ones
    bars = adjusted.bars[(adjusted.bars["symbol"] == "ACME") & (adjusted.bars["interval"] == "1m")]
    assert bars["close"].max() < prev_close / RATIO * 1.5


def test_an_adjusted_run_equals_a_raw_run_on_bars_adjusted_with_pandas(recorded_root, tmp_path):
    store = BarStore(recorded_root)
    reference = BarStore(tmp_path / "reference", create=True)
    for interval, frame in _every_bar(store).items():
        reference.write_bars(_expected_adjusted(store, frame, _local_dates(frame, store.time_manager.tz)), interval)
    cfg = _hold_config("adjusted")
    cfg["strategies"] = [{"name": "sma", "class_path": "sma_crossover", "params": {"fast": 5, "slow": 20}}]
    adjusted = workstation.run(cfg, store=recorded_root, out=tmp_path / "adjusted")
    plain = workstation.run(cfg, store=tmp_path / "reference", out=tmp_path / "plain", prices="raw")
    assert len(adjusted.trades) > 0
    pd.testing.assert_frame_equal(adjusted.trades, plain.trades, check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(adjusted.equity, plain.equity, check_exact=False, rtol=1e-9)
    # a sweep cell on the in-memory store (raw blocks + the shipped adjustments) gives the same statistics
    tm = store.time_manager
    days = store.dates("1m")
    shipper = DataShipper(store, tm, store.symbols(), put=lambda block: block)
    blocks = shipper.refs(CellNeeds({"1m": tuple(days)}, None, tuple(store.symbols())))
    memory = MemoryBarStore(blocks, {"1m": store.symbols("1m")}, tm, adjustments=store.price_adjustments())
    outcome = run_cell(adjusted.config, memory, tm)
    assert outcome.statistics["net_pnl"] == pytest.approx(adjusted.stats["net_pnl"], abs=1e-6)
    assert outcome.statistics["trades"] == adjusted.stats["trades"]


def test_the_jump_warning_fires_on_an_unrecorded_split_and_not_after_recording_it(raw_root, recorded_root, tmp_path,
                                                                                   capsys):
    jumps = scan_price_jumps(BarStore(raw_root))
    assert [(j.symbol, j.date, j.ratio) for j in jumps] == [("ACME", SPLIT_DAY, 7.0)]
    assert "ACME 2024-12-04" in jumps[0].message and "7-for-1" in jumps[0].message
    assert jumps[0].change_pct == pytest.approx(-85.7, abs=1.0)
    assert scan_price_jumps(BarStore(recorded_root)) == []
    # store info (text and --json) says it
    assert cli_main(["store", "info", "--store", str(raw_root)]) == 0
    assert "warning: ACME 2024-12-04" in capsys.readouterr().out
    assert cli_main(["store", "info", "--store", str(raw_root), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert [w["symbol"] for w in info["warnings"]] == ["ACME"] and info["warnings"][0]["ratio_guess"] == 7.0
    assert cli_main(["store", "info", "--store", str(recorded_root), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["warnings"] == [] and [a["kind"] for a in info["corporate_actions"]] == ["split", "dividend"]
    # the bar importer says it when the bars arrive
    csv = tmp_path / "ACME.csv"
    bars = BarStore(raw_root).read_bars(["ACME"], "1m", 0, 2**62)
    bars.assign(timestamp=bars["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))[
        ["timestamp", "open", "high", "low", "close", "volume"]].to_csv(csv, index=False)
    fresh = BarStore(tmp_path / "fresh", create=True)
    summary = import_files([csv], fresh)
    assert any("ACME 2024-12-04" in w and "7-for-1" in w for w in summary.warnings)


def test_guess_split_names_usual_ratios_and_ignores_other_moves():
    assert guess_split(7.05) == (7.0, "7-for-1")
    assert guess_split(1.5)[1] == "3-for-2"
    assert guess_split(0.1)[1] == "1-for-10 reverse"
    assert guess_split(1.3) is None and guess_split(6.5) is None  # a 23 % gap, a move between 6 and 7
    assert guess_split(36.17 / 25.02) is None  # UPRO's -30.8 % on 2020-03-16 (real data) is no 3-for-2 split


@pytest.mark.parametrize(("body", "needle"), [
    ("symbol,effective_date,split_ratio,dividend\nZZZZ,2024-12-04,7,\n", "line 3: unknown symbol 'ZZZZ'"),
    ("symbol,effective_date,split_ratio,dividend\nACME,2024-12-04,0,\n", "line 3: split ratio '0' is not positive"),
    ("symbol,effective_date,split_ratio,dividend\nACME,2024-12-04,-2,\n", "line 3: split ratio '-2' is not positive"),
    ("symbol,effective_date,split_ratio,dividend\nACME,2024-12-04,0:1,\n", "is not positive"),
    ("symbol,effective_date,split_ratio,dividend\nACME,2024-12-04,,-0.3\n", "line 3: dividend '-0.3' is not positive"),
    ("symbol,effective_date,split_ratio,dividend\nACME,04/12/2024,7,\n", "line 3: unparseable effective date"),
    ("symbol,effective_date,split_ratio,dividend\nACME,2024-13-04,7,\n", "line 3: unparseable effective date"),
    ("symbol,effective_date,split_ratio,dividend\nACME,2024-12-04,7,\n\nACME,2024-12-04,7,\n",
     "line 5: duplicate of line 3"),
    ("symbol,effective_date,split_ratio,dividend\nACME,2024-12-04,7,0.2\n", "line 3: give either a split ratio"),
    ("symbol,effective_date,split_ratio,dividend\nBOLT,2024-12-06,,500\n", "is not below the close"),
    ("symbol,when,split_ratio\nACME,2024-12-04,7\n", "the header lacks column effective_date (found: symbol, when, split_ratio)"),
    ("", "is empty"),
])
def test_a_bad_actions_file_is_refused_whole_naming_file_and_line_and_nothing_is_written(
        recorded_root, tmp_path, body, needle):
    root = tmp_path / "store"
    shutil.copytree(recorded_root, root)
    before = _tree_digest(root)
    path = tmp_path / "bad_actions.csv"
    # a good row first (line 2): it must not be written either
    path.write_text(body.replace("dividend\n", "dividend\nBOLT,2024-12-05,2,\n", 1) if body.count("\n") > 1 else body)
    with pytest.raises(DataError) as info:
        import_actions(path, BarStore(root))
    assert str(path) in str(info.value) and needle in str(info.value), str(info.value)
    assert _tree_digest(root) == before
    # the command line: exit 2, the same message, nothing written
    assert cli_main(["store", "import-actions", str(path), "--store", str(root)]) == 2
    assert _tree_digest(root) == before


def test_reimport_is_idempotent_a_changed_value_needs_replace_and_json_output(recorded_root, tmp_path, capsys):
    root = tmp_path / "store"
    shutil.copytree(recorded_root, root)
    csv = tmp_path / "actions.csv"
    csv.write_text(ACTIONS_CSV)
    assert cli_main(["store", "import-actions", str(csv), "--store", str(root), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["added"] == [] and len(doc["already_recorded"]) == 2 and doc["total_recorded"] == 2
    before = _tree_digest(root)
    csv.write_text("symbol,effective_date,split_ratio,dividend\nACME,2024-12-04,8,\n")
    with pytest.raises(DataError, match=r"line 2: ACME 2024-12-04 split 8-for-1 differs from the recorded "
                                        r"ACME 2024-12-04 split 7-for-1"):
        import_actions(csv, BarStore(root))
    assert _tree_digest(root) == before
    summary = import_actions(csv, BarStore(root), replace=True)
    assert [a.value for a in summary.replaced] == [8.0]
    assert {(a.symbol, a.value) for a in read_actions(root)} == {("ACME", 8.0), ("BOLT", DIVIDEND)}
    # a 7-for-1 split recorded as 8-for-1 leaves a jump that the import reports
    assert summary.warnings == [] or all(w["symbol"] == "ACME" for w in summary.warnings)


def test_an_import_waits_for_another_writer_and_a_failed_write_keeps_the_recorded_actions(recorded_root, tmp_path,
                                                                                           monkeypatch):
    from workstation.store import StoreLockedError
    from workstation.store import corporate_actions as module

    root = tmp_path / "store"
    shutil.copytree(recorded_root, root)
    csv = tmp_path / "more.csv"
    csv.write_text("symbol,effective_date,split_ratio,dividend\nBOLT,2024-12-05,,0.1\n")
    before = _tree_digest(root)
    with BarStore(root).writing():  # another writer (its own lock handle) holds the store
        with pytest.raises(StoreLockedError):
            import_actions(csv, BarStore(root, lock_timeout=0))
    assert _tree_digest(root) == before

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(module, "write_bytes_atomic", disk_full)
    with pytest.raises(DataError, match="the disk is full; the recorded actions are unchanged"):
        import_actions(csv, BarStore(root))
    assert _tree_digest(root) == before
    monkeypatch.undo()
    assert len(import_actions(csv, BarStore(root)).added) == 1 and len(read_actions(root)) == 3


def test_validate_names_a_damaged_actions_file_for_adjusted_configs_only(recorded_root, tmp_path):
    from workstation.config import validate_config_dict
    from workstation.preflight import preflight_problems

    root = tmp_path / "store"
    shutil.copytree(recorded_root, root)
    (root / "corporate_actions.json").write_text("{not json")
    adjusted, raw = validate_config_dict(_hold_config("adjusted")), validate_config_dict(_hold_config("raw"))
    problems = preflight_problems(adjusted, root)
    assert [p for p, _ in problems] == ["prices"] and "corporate_actions.json" in problems[0][1]
    assert preflight_problems(raw, root) == []


def test_a_live_run_is_adjusted_only_by_actions_effective_by_today(recorded_root):
    store = BarStore(recorded_root)
    day = dt.date(2024, 12, 2)
    before_both = bar_source_for(store, "adjusted", as_of=DIVIDEND_DAY - dt.timedelta(days=1))
    assert not before_both.adjustments and before_both.read_session_arrays(day, "1m", ["ACME"]).close.tolist() \
        == store.read_session_arrays(day, "1m", ["ACME"]).close.tolist()
    after_split = bar_source_for(store, "adjusted", as_of=SPLIT_DAY)
    np.testing.assert_array_equal(after_split.read_session_arrays(day, "1m", ["ACME"]).close,
                                  store.read_session_arrays(day, "1m", ["ACME"]).close / RATIO)
    only_dividend = bar_source_for(store, "adjusted", as_of=DIVIDEND_DAY)
    assert set(only_dividend.adjustments.by_symbol) == {"BOLT"}


def test_a_split_in_the_daily_history_before_the_1m_bars_is_warned_about(raw_root, tmp_path):
    raw = BarStore(raw_root)
    store = BarStore(tmp_path / "store", create=True)
    store.write_bars(raw.read_bars(None, "1d", 0, 2**62), "1d")
    minute = raw.read_bars(None, "1m", 0, 2**62)
    store.write_bars(minute[_local_dates(minute, raw.time_manager.tz) > np.datetime64(SPLIT_DAY)], "1m")
    assert min(store.dates("1m")) > SPLIT_DAY  # the split day has daily bars only
    jumps = scan_price_jumps(store)
    assert [(j.symbol, j.date, j.ratio) for j in jumps] == [("ACME", SPLIT_DAY, 7.0)]
    daily = raw.read_daily(["ACME"], SPLIT_DAY - dt.timedelta(days=7), SPLIT_DAY)
    assert jumps[0].open == daily["open"].iloc[-1] and jumps[0].previous_close == daily["close"].iloc[-2]
