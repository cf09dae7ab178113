"""Sweep definitions without Ray: values, paths, constraints, sampling, walk-forward windows, the data
each cell is shipped, and every bad input refused before anything runs (CLI exit 2, nothing written)."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest

from tests.workstation.sweep.conftest import SWEEP_SYMBOLS, sweep_config
from workstation.calendar import TimeManager
from workstation.cli import main
from workstation.config import validate_config_dict
from workstation.errors import ConfigError, StoreError
from workstation.store import BarStore
from workstation.store.memory_store import MemoryBarStore
from workstation.sweep.shipping import CellNeeds, DataShipper, cell_needs
from workstation.sweep.spec import (
    Constraint,
    RangeSpec,
    SweepSpec,
    build_plan,
    load_sweep_file,
    parse_values,
    range_values,
    sweep_json_schema,
)
from workstation.sweep.walk_forward import (
    overall_summary,
    parse_walk_forward,
    report_text,
    stitch_equity,
    walk_forward_windows,
)

FAST = "strategies.sma.params.fast"
SLOW = "strategies.sma.params.slow"


@pytest.fixture(scope="module")
def tm() -> TimeManager:
    return TimeManager("XNYS", "America/New_York")


@pytest.fixture
def base(sweep_store):
    return validate_config_dict(sweep_config(sweep_store))


def plan_of(base, tm, **spec):
    return build_plan(SweepSpec(**spec), base, tm, "test config")


# ---------------------------------------------------------------------- values
def test_values_lists_ranges_and_json():
    assert parse_values("3,5,8", "w") == [3, 5, 8]
    assert parse_values("0.5, x ,true,null", "w") == [0.5, "x", True, None]
    assert range_values(parse_values("15:40:5", "w"), "w") == [15, 20, 25, 30, 35, 40]  # both ends
    assert range_values(parse_values("15:38:5", "w"), "w") == [15, 20, 25, 30, 35]
    assert range_values(parse_values("0.1:0.5:0.1", "w"), "w") == [0.1, 0.2, 0.3, 0.4, 0.5]  # exact decimals
    assert parse_values('[["ACME"], ["BOLT", "CYRX"]]', "w") == [["ACME"], ["BOLT", "CYRX"]]
    assert parse_values("0.1:0.9", "w") == RangeSpec(start=0.1, stop=0.9)
    with pytest.raises(ConfigError, match="has no values"):
        range_values(parse_values("40:15:5", "w"), "w")
    with pytest.raises(ConfigError, match="no step"):
        range_values(parse_values("1:5", "w"), "w")
    with pytest.raises(ConfigError, match="not a range"):
        parse_values("a:b", "w")


def test_grid_is_the_product_of_the_values_under_the_constraints(base, tm):
    plan = plan_of(base, tm, params={FAST: "3,5,8", SLOW: "4:12:4", "risk.min_confidence": [0, 0.5]},
                   constraints=["fast < slow"])
    expected = [{FAST: f, SLOW: s, "risk.min_confidence": c}
                for f, s, c in itertools.product([3, 5, 8], [4, 8, 12], [0, 0.5]) if f < s]
    assert plan.combos == expected
    assert [a.alias for a in plan.axes] == ["fast", "slow", "min_confidence"]
    assert len({c.cell_id for c in plan.cells}) == len(plan.cells) == len(expected)
    cell = plan.cells[3]
    assert cell.config["strategies"][0]["params"]["fast"] == cell.params[FAST]
    assert cell.config["risk"]["min_confidence"] == cell.params["risk.min_confidence"]
    assert cell.config["backtest"]["stage_threads"] is False  # one CPU per cell
    # the same definition gives the same cell ids (resume relies on it)
    assert [c.cell_id for c in plan_of(base, tm, params={FAST: "3,5,8", SLOW: "4:12:4",
                                                          "risk.min_confidence": [0, 0.5]},
                                       constraints=["fast < slow"]).cells] == [c.cell_id for c in plan.cells]


def test_any_config_field_can_be_swept(base, tm):
    plan = plan_of(base, tm, params={"symbols": [["ACME"], ["BOLT", "CYRX"]], "backtest.start_date":
                                     ["2024-11-25", "2024-11-26"], "execution.slippage_bps": "0:2:1",
                                     "strategies.0.params.quantity": [50]})
    assert len(plan.cells) == 2 * 2 * 3
    assert {tuple(c.config["symbols"]) for c in plan.cells} == {("ACME",), ("BOLT", "CYRX")}
    assert {c.config["backtest"]["start_date"] for c in plan.cells} == {"2024-11-25", "2024-11-26"}
    assert plan.axes[3].path == "strategies.sma.params.quantity"  # positions become names


def test_a_parameter_swept_over_null_keeps_null_in_labels_heatmap_axes_and_replays(base, tm, sweep_store):
    """`execution.participation_limit_pct: [null, 10]` (whole orders, or 10 % of a bar's volume): its
    results column holds NaN for null; the labels write it "null" (as the sweep file does), the
    heatmap's axis lists it last as one value, and the replay config of such a cell has null again."""
    import numpy as np
    import pandas as pd

    from workstation.sweep.results import axis_values, heatmap_grid, params_label
    from workstation.sweep.runner import sweep_definition
    from workstation.sweep.spec import replay_config

    part = "execution.participation_limit_pct"
    plan = plan_of(base, tm, params={part: [None, 10], FAST: [3, 5]})
    assert sorted((c.params[part] is None, c.params[FAST]) for c in plan.cells) == [
        (False, 3), (False, 5), (True, 3), (True, 5)]
    assert params_label(plan.aliases, {part: np.nan, FAST: 3}) == "participation_limit_pct=null fast=3"
    assert params_label(plan.aliases, {part: 10.0, FAST: 5}) == "participation_limit_pct=10.0 fast=5"
    assert axis_values([10.0, np.nan, 25.0, None, 10.0]) == [10.0, 25.0, None]
    assert axis_values([3, 5]) == [3, 5]
    frame = pd.DataFrame({"cell": range(4), "cell_id": list("abcd"), "status": "ok",
                          part: [np.nan, 10.0, np.nan, 10.0], FAST: [3, 3, 5, 5], "sharpe": [1.0, 2.0, 3.0, 4.0]})
    xs, ys, grid, ids = heatmap_grid(frame, part, FAST, "sharpe")
    assert (xs, ys, ids.tolist()) == ([10.0, None], [3, 5], [["b", "a"], ["d", "c"]])
    assert grid.tolist() == [[2.0, 1.0], [4.0, 3.0]]
    _, _, held, _ = heatmap_grid(frame, FAST, "sharpe", "sharpe", fixed={part: None})
    assert np.nansum(held) == 4.0                     # only the null cells (sharpe 1 and 3)
    definition = sweep_definition(plan, sweep_store, None)
    config = replay_config(definition, {part: float("nan"), FAST: np.int64(5)})
    assert config["execution"]["participation_limit_pct"] is None and config["strategies"][0]["params"]["fast"] == 5
    # the recorded base spells stage_threads: true out; the replay leaves it to the window (one thread, gated)
    assert definition["identity"]["config"]["backtest"]["stage_threads"] is True
    assert "stage_threads" not in config["backtest"]
    from workstation.run_commands import runs_in_one_thread

    assert runs_in_one_thread(validate_config_dict(config))


def test_random_sampling_is_seeded_distinct_and_inside_the_grid(base, tm):
    spec = {"params": {FAST: "2:9:1", SLOW: "10:30:5"}, "constraints": ["slow - fast >= 5"], "method": "random",
            "samples": 7, "seed": 11}
    a, b = plan_of(base, tm, **spec), plan_of(base, tm, **spec)
    grid = plan_of(base, tm, params=spec["params"], constraints=spec["constraints"]).combos
    assert a.combos == b.combos and len(a.combos) == 7
    assert len({json.dumps(c, sort_keys=True) for c in a.combos}) == 7 and all(c in grid for c in a.combos)
    assert plan_of(base, tm, **{**spec, "seed": 12}).combos != a.combos
    continuous = plan_of(base, tm, params={"risk.min_confidence": "0.1:0.9", FAST: [3, 4]}, method="random",
                         samples=5, seed=1)
    values = [c["risk.min_confidence"] for c in continuous.combos]
    assert len(set(values)) == 5 and all(0.1 <= v <= 0.9 for v in values)


def test_constraints_are_interpreted_not_evaluated(base, tm):
    plan = plan_of(base, tm, params={FAST: [3, 5], SLOW: [5, 20]})
    c = Constraint("slow - fast >= 3 and fast in (3, 4) or abs(slow - fast) > 100", plan.axes)
    assert c({FAST: 3, SLOW: 20}) and not c({FAST: 5, SLOW: 20}) and not c({FAST: 3, SLOW: 5})
    assert Constraint("strategies.sma.params.fast * 4 <= params.slow", plan.axes)({FAST: 5, SLOW: 20})
    for text, message in (("__import__('os').system('true')", "only abs, min, max, len"),
                          ("fast.__class__ == 1", "is not a swept parameter"),
                          ("[x for x in (1,)]", "ListComp is not allowed"),
                          ("fast <", "not a valid condition"),
                          ("quick < slow", "'quick' is not a swept parameter")):
        with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
            Constraint(text, plan.axes)


# ---------------------------------------------------------------------- bad input, before anything runs
@pytest.mark.parametrize(("params", "constraints", "message"), [
    ({"strategies.sma.params.fastt": [3]}, [], "strategy 'sma' .* has no parameter 'fastt' \\(it takes fast, slow, quantity, "
     "confidence; did you mean 'fast' for 'fastt'\\?\\)"),
    ({"strategies.nope.params.fast": [3]}, [], "has no element 'nope'"),
    ({"risk.max_loss": [3]}, [], "'max_loss' is not a field of risk"),
    ({"risk.min_quality_pct.x": [3]}, [], "is a value"),
    ({SLOW: "40:15:5"}, [], "has no values"),
    ({SLOW: []}, [], "no values to sweep"),
    ({"risk.min_quality_pct": [90, 120]}, [], r"--param risk.min_quality_pct: value 120 is rejected .*less than or equal to 100"),
    ({"backtest.start_date": ["2024-11-25", "2024-12-20"]}, [], "value 2024-12-20 is rejected .*before start_date"),
    ({"streams.interval": ["1m", "7m"]}, [], "value 7m is rejected"),
    ({FAST: [3, 5], SLOW: [3, 5]}, ["fast > slow + 10"], "remove every one of the 4 cells"),
])
def test_bad_sweeps_are_refused_naming_the_parameter(base, tm, params, constraints, message):
    with pytest.raises(ConfigError, match=message):
        plan_of(base, tm, params=params, constraints=constraints)


def test_a_strategy_parameter_the_config_does_not_set_can_be_swept(base, tm):
    plan = plan_of(base, tm, params={"strategies.sma.params.confidence": [0.5, 1.0]})
    assert [c.config["strategies"][0]["params"]["confidence"] for c in plan.cells] == [0.5, 1.0]


def test_cli_bad_input_exits_2_and_writes_nothing(sweep_store, tmp_path, capsys):
    config = tmp_path / "cfg.json"
    config.write_text(json.dumps(sweep_config(sweep_store)))
    out = tmp_path / "sweep"
    cases = [
        (["--param", "strategies.sma.params.fastt=3,5"], "fastt"),
        (["--param", f"{SLOW}=40:15:5"], "has no values"),
        (["--param", f"{FAST}=3,5", "--param", f"{SLOW}=4,5", "--constraint", "fast > slow + 10"], "remove every"),
        (["--param", "risk.min_quality_pct=101"], "risk.min_quality_pct: value 101"),
        (["--param", f"{FAST}=3", "--objective", "happiness"], "unknown objective 'happiness'"),
        (["--param", f"{FAST}=3", "--walk-forward", "train=3,test=2", "--param", "backtest.end_date=2024-11-29"],
         "do not sweep them"),
        (["--param", f"{FAST}=3", "--walk-forward", "train=30,test=5"], "needs train \\+ test = 35 trading days"),
        (["--param", f"{FAST}=3", "--symbols", "ACME,ZZZZ"], "ZZZZ"),
    ]
    import re

    for extra, message in cases:
        code = main(["sweep", str(config), "--out", str(out), *extra])
        err = capsys.readouterr().err
        assert code == 2, (extra, err)
        assert re.search(message, err), (extra, err)
        assert not out.exists(), extra


def test_sweep_file_is_validated_and_has_a_schema(sweep_store, tmp_path, capsys):
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"config": "cfg.json", "params": {FAST: [3, 5], SLOW: {"start": 10, "stop": 20,
                                                                                       "step": 10}},
                                "constraints": ["fast < slow"], "objective": "total_return",
                                "walk_forward": None}))
    (tmp_path / "cfg.json").write_text(json.dumps(sweep_config(sweep_store)))
    spec = load_sweep_file(good)
    assert spec.objective_column() == "total_return_pct" and spec.direction_or_default() == "max"
    assert main(["sweep", "--sweep-file", str(good), "--out", str(tmp_path / "o"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "4 cells" in out and "fast=5 slow=20" in out and not (tmp_path / "o").exists()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"params": {FAST: [3]}, "method": "exhaustive", "samples": 0}))
    with pytest.raises(ConfigError) as info:
        load_sweep_file(bad)
    fields = [p for p, _ in info.value.problems]
    assert "method" in fields and "samples" in fields
    schema = sweep_json_schema()
    assert {"params", "constraints", "objective", "walk_forward"} <= set(schema["properties"])
    assert main(["sweep-schema"]) == 0 and json.loads(capsys.readouterr().out)["title"] == "SweepSpec"


# ---------------------------------------------------------------------- walk-forward windows and shipping
def test_walk_forward_windows_come_from_the_calendar(tm):
    sessions = tm.trading_dates("2024-11-01", "2024-12-31")
    windows = walk_forward_windows(sessions, train=10, test=3, step=4)
    assert parse_walk_forward("train=10, test=3,step=4") == {"train": 10, "test": 3, "step": 4}
    assert len(windows) == (len(sessions) - 13) // 4 + 1
    for k, w in enumerate(windows):
        assert list(w.train) == tm.trading_dates(w.train_start, w.train_end) and len(w.train) == 10
        assert list(w.test) == tm.trading_dates(w.test_start, w.test_end) and len(w.test) == 3
        assert w.test_start == tm.next_trading_date(w.train_end) > w.train_end  # no overlap, no gap
        assert w.train_start == sessions[4 * k]
    assert all(dt.date(2024, 11, 28) not in w.train + w.test for w in windows)  # Thanksgiving
    with pytest.raises(ConfigError, match="needs train \\+ test"):
        walk_forward_windows(sessions[:5], train=4, test=2)


def test_no_test_window_bar_is_ever_shipped_to_its_train_cells(base, tm, sweep_store):
    cfg = validate_config_dict(sweep_config(sweep_store, start="2024-11-12", end="2024-12-06"))
    plan = plan_of(cfg, tm, params={FAST: [3, 5]}, walk_forward={"train": 5, "test": 3, "step": 3})
    store = BarStore(sweep_store)
    shipper = DataShipper(store, tm, cfg.symbols, put=lambda block: block)
    sessions = tm.trading_dates("2024-11-12", "2024-12-06")
    assert len(plan.windows) == (len(sessions) - 8) // 3 + 1 == 4 and len(plan.cells) == 8
    needs = {c.cell_id: cell_needs(validate_config_dict(c.config), tm, shipper.has_daily_bars) for c in plan.cells}
    shipper.expect(needs.values())
    for cell in plan.cells:
        window = plan.windows[cell.window]
        blocks = shipper.refs(needs[cell.cell_id])
        shipped_last = max(b.last_date for b in blocks)
        assert shipped_last == window.train_end < window.test_start
        assert all(int(b.timestamp.max(initial=0)) < tm.session(window.test_start).open_ns for b in blocks)
        mem = MemoryBarStore(blocks, {"1m": store.symbols("1m")}, tm)
        with pytest.raises(StoreError, match="not shipped"):
            mem.read_session_arrays(window.test_start, "1m", cfg.symbols)
        with pytest.raises(StoreError, match="not shipped"):
            mem.read_daily(cfg.symbols, window.train_start, window.test_start)
    # each date was read from the store once, however many cells need it
    distinct = {(iv, d) for n in needs.values() for iv, days in n.intraday.items() for d in days}
    assert shipper.store_reads == len(distinct) + 1  # + one read of the daily bars
    assert shipper.blocks_shipped == len(distinct) + len({n.daily for n in needs.values()})


def test_cell_needs_cover_warmup_trailing_intraday_and_daily_history(tm, sweep_store):
    cfg = validate_config_dict(sweep_config(sweep_store, start="2024-11-25", end="2024-11-27"))
    needs = cell_needs(cfg, tm, lambda *a: True)
    sessions = tm.trading_dates("2024-11-25", "2024-11-27")
    # the warm-up may read back 3 x ceil(120 5m bars / 78 a day) + 5 = 11 trading days (pipeline.warmup)
    warmup = tm.trading_dates(tm.trading_days_back(sessions[0], 3 * 2 + 5), "2024-11-24")
    hist_first = min(tm.trailing_dates(sessions[0], "3d")[0], tm.trailing_dates(sessions[0], "4d")[0])
    assert needs.intraday["1m"] == tuple(sorted(set(sessions) | set(warmup) |
                                                set(tm.trading_dates(hist_first, sessions[-1]))))
    assert needs.daily == (tm.trailing_dates(sessions[0], "52w")[0], sessions[-1])
    no_daily = cell_needs(cfg, tm, lambda *a: False)  # a store without daily bars: 1m bars are aggregated
    # (the daily span still shipped: the engine reads it first and gets the store's empty answer)
    assert no_daily.daily == needs.daily and no_daily.intraday["1m"][0] == needs.daily[0]
    lean = validate_config_dict(sweep_config(sweep_store, start="2024-11-25", end="2024-11-27", historical={
        "trailing_days": 0, "indicators": [], "warmup_bars": 1000}))
    warm = tm.trading_dates(tm.trading_days_back(sessions[0], 3 * 13 + 5), "2024-11-24")  # 1000 5m bars
    assert cell_needs(lean, tm, lambda *a: True) == CellNeeds({"1m": tuple(warm + sessions)}, None,
                                                              ("ACME", "BOLT", "CYRX"))


def test_a_cell_on_a_store_with_minutes_only_runs_its_52_week_history_like_a_plain_run(sweep_store, tm, tmp_path):
    """A store without daily bars (1m only: an import of minute files) and a config with a 52-week high:
    the engine reads the daily bars, finds none and aggregates the minutes. The cell's in-memory store
    was shipped no daily span and refused the read ("not shipped to this sweep cell"): every cell failed."""
    import workstation
    from workstation.sweep.cell import run_cell

    source = BarStore(sweep_store)
    minutes_only = BarStore(tmp_path / "minutes", create=True)
    days = source.dates("1m")
    start = tm.session(days[0]).open_ns - 10 ** 9 * 3600 * 6
    minutes_only.write_bars(source.read_bars(None, "1m", start, tm.session(days[-1]).close_ns + 10 ** 9 * 3600 * 6), "1m")
    assert minutes_only.read_daily(list(SWEEP_SYMBOLS), days[0], days[-1]).empty
    cfg = sweep_config(tmp_path / "minutes", start="2024-11-25", end="2024-11-29")
    plain = workstation.run(cfg, out=tmp_path / "plain")
    assert plain.stats["trades"] > 0
    shipper = DataShipper(minutes_only, tm, cfg["symbols"], put=lambda block: block)
    needs = cell_needs(validate_config_dict(cfg), tm, shipper.has_daily_bars)
    memory = MemoryBarStore(shipper.refs(needs), {"1m": minutes_only.symbols("1m")}, tm, root=minutes_only.root)
    outcome = run_cell(plain.config, memory, tm)
    for name in ("net_pnl", "trades", "final_equity", "sharpe"):
        assert outcome.statistics[name] == pytest.approx(plain.stats[name], abs=1e-9), name


def test_walk_forward_means_leave_out_what_no_window_has_without_a_warning():
    import warnings

    rows = [{"status": "ok", "is_sharpe": 1.0, "is_total_return_pct": 2.0, "is_profit_factor": None,
             "is_win_rate_pct": float("inf"), "train_days": 10, "test_days": 5},
            {"status": "ok", "is_sharpe": 3.0, "is_total_return_pct": 4.0, "is_profit_factor": float("nan"),
             "is_win_rate_pct": 50.0, "train_days": 10, "test_days": 5},
            {"status": "failed", "is_sharpe": 100.0}]
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # numpy's "Mean of empty slice" was printed by the sweep
        summary = overall_summary(rows, {"total_return_pct": 1.0, "sharpe": 0.5}, "sharpe")
    assert summary["in_sample"]["sharpe"] == 2.0            # the failed window left out
    assert summary["in_sample"]["total_return_pct"] == 3.0
    assert summary["in_sample"]["profit_factor"] is None    # no window has one
    assert summary["in_sample"]["win_rate_pct"] is None     # one infinite: no mean
    # efficiency: OOS 1 % over 10 test days, IS (0.2 + 0.4) / 2 % a day
    assert summary["efficiency"] == pytest.approx((0.01 / 10) / 0.003)


def test_the_walk_forward_report_shows_each_windows_parameters_in_full():
    import pandas as pd

    params = [{"strategies.orb.params.range_minutes": 30, "strategies.orb.params.reward_risk": 1.5},
              {"strategies.orb.params.range_minutes": 5, "strategies.orb.params.reward_risk": 3.0}]
    windows = pd.DataFrame([
        {"window": k, "train_start": "2021-07-02", "train_end": "2021-07-16", "test_start": "2021-07-19",
         "test_end": "2021-07-23", "params": p, "status": "ok", "is_sharpe": -6.875 + k, "oos_sharpe": -8.781,
         "oos_trades": 36} for k, p in enumerate(params)])
    aliases = {path: path.rsplit(".", 1)[1] for path in params[0]}
    text = report_text(windows, {"in_sample": {}, "out_of_sample": {}}, "sharpe", aliases)
    lines = text.splitlines()
    head = next(line for line in lines if line.lstrip().startswith("window"))
    rows = [line for line in lines if line.lstrip().startswith(("0 ", "1 "))]
    assert "range_minutes=30 reward_risk=1.5" in rows[0] and "range_minutes=5 reward_risk=3.0" in rows[1]
    # the columns after it stay under their headings: the in-sample figure ends where "IS sharpe" ends
    end = head.index("IS sharpe") + len("IS sharpe")
    assert [row[end - 6:end] for row in rows] == ["-6.875", "-5.875"]


def test_stitching_adds_each_window_pnl_to_the_equity_reached(tm):
    import pandas as pd

    def curve(times, values):
        return pd.DataFrame({"time": pd.to_datetime(times, utc=True), "equity": values, "gross_exposure": 0.0})

    stitched = stitch_equity([(0, curve(["2024-11-25 15:00", "2024-11-25 16:00"], [100.0, 110.0])),
                              (1, curve(["2024-11-26 15:00", "2024-11-26 16:00"], [95.0, 105.0]))], 100.0)
    assert stitched["equity"].tolist() == [100.0, 110.0, 105.0, 115.0]
    assert stitched["window"].tolist() == [0, 0, 1, 1]


def test_the_readme_sweep_file_and_messages_are_real(base, tm):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```json\n(.*?)```", readme, flags=re.S) if "walk_forward" in b)
    spec = SweepSpec.model_validate(json.loads(block))
    assert spec.walk_forward is not None and spec.objective_column() == "total_return_pct"
    with pytest.raises(ConfigError) as info:
        plan_of(base, tm, params={"risk.min_quality_pct": [120]})
    assert "--param risk.min_quality_pct: value 120 is rejected by the config:" in str(info.value)
    assert "value 120 is rejected by the config: ... less than or equal" in readme.replace("\n", " ")


def test_suggested_paths_offer_the_parameters_a_config_leaves_at_their_defaults():
    """A strategy entry that sets only `quantity` still offers its class's other parameters (fast, slow,
    confidence of sma_crossover), in the class's order with the class defaults; an entry whose class
    cannot be imported offers what the config gives."""
    from workstation.strategies.sma_crossover import SmaCrossover
    from workstation.sweep.spec import strategy_parameters, suggested_paths

    entry = {"name": "s", "class_path": "sma_crossover", "params": {"quantity": 10}}
    defaults = inspect_defaults(SmaCrossover)
    assert strategy_parameters(entry) == {**defaults, "quantity": 10}
    assert list(strategy_parameters(entry)) == ["fast", "slow", "quantity", "confidence"]
    paths = suggested_paths({"strategies": [entry, {"name": "gone", "class_path": "no_such_mod:X",
                                                    "params": {"k": 1}}]})
    assert paths[:5] == ["strategies.s.params.fast", "strategies.s.params.slow", "strategies.s.params.quantity",
                         "strategies.s.params.confidence", "strategies.gone.params.k"]


def inspect_defaults(cls) -> dict:
    import inspect

    return {n: p.default for n, p in inspect.signature(cls.__init__).parameters.items()
            if n not in ("self", "name", "symbols", "interval")}


def test_a_strategy_class_of_the_running_script_is_refused_before_ray_starts(sweep_store, tm):
    """`__main__:Cls` (a class defined in a notebook or script) runs in `workstation.run`, in this process,
    but no sweep worker can load it: the sweep is refused up front, naming the entry and what to do."""
    cfg = sweep_config(sweep_store)
    cfg["strategies"].append({"name": "mine", "class_path": "__main__:Dip", "enabled": True})
    base = validate_config_dict(cfg)
    with pytest.raises(ConfigError) as caught:
        plan_of(base, tm, params={FAST: [3, 5]})
    text = str(caught.value)
    assert "strategies.1.class_path: '__main__:Dip' is a class of the running script or notebook" in text
    assert "'my_strategies:Dip'" in text
    cfg["strategies"][1]["enabled"] = False                      # a disabled one does not run: no problem
    assert plan_of(validate_config_dict(cfg), tm, params={FAST: [3, 5]}).total_cells == 2


def test_a_second_driver_of_a_running_sweep_folder_is_refused_before_anything_runs(sweep_store, tmp_path, capsys):
    """Two `workstation sweep` of one folder at once (a shell's and the window's Resume) computed every cell
    twice and rewrote results.parquet under each other: the folder's lock names the first, the second stops."""
    import os

    from workstation.sweep.results import SweepFolder

    config = tmp_path / "cfg.json"
    config.write_text(json.dumps(sweep_config(sweep_store)))
    out = tmp_path / "sw"
    folder = SweepFolder(out)
    assert folder.running_holder() is None
    with folder.hold():
        assert f"process {os.getpid()}" in folder.running_holder()
        with pytest.raises(ConfigError, match="a sweep is running in"), folder.hold():
            pass
        assert main(["sweep", str(config), "--out", str(out), "--param", f"{FAST}=3,5", "--workers", "1"]) == 2
        err = capsys.readouterr().err
        assert f"a sweep is running in {out} (process {os.getpid()}" in err and "give another --out" in err
        assert sorted(p.name for p in out.iterdir()) == [".sweep.lock"]        # nothing else written
    assert folder.running_holder() is None                      # released: the folder takes this sweep
    assert folder.check_resumable({"identity": {}}) is False    # its lock file alone is no "other file"
