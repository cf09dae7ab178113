"""Sweeps on a local Ray cluster of 2 workers (started once for this module).

References: a plain `workstation run` of the same config with the same parameters (statistics,
trades, equity), pandas over results.parquet for the best cells and the walk-forward choice, files
written by the test strategy in each attempt for the retry counts.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.workstation.sweep.conftest import sweep_config
from tests.workstation.sweep.sweep_strategies import DRIVER_PID_ENV, attempts_file
from workstation.calendar import TimeManager
from workstation.cli import main
from workstation.config import validate_config_dict
from workstation.store import BarStore
from workstation.sweep.ray_cluster import StopFlag
from workstation.sweep.results import SweepFolder
from workstation.sweep.runner import SweepOptions, run_sweep
from workstation.sweep.spec import SweepSpec, build_plan

ray = pytest.importorskip("ray")

FAST = "strategies.sma.params.fast"
SLOW = "strategies.sma.params.slow"
STATISTICS = ("final_equity", "net_pnl", "total_return_pct", "sharpe", "sessions", "max_drawdown_pct",
              "max_drawdown", "exposure_pct", "trades", "winning_trades", "losing_trades", "win_rate_pct",
              "gross_profit", "gross_loss", "profit_factor", "avg_trade_pnl", "best_trade", "worst_trade",
              "total_commission", "closed_pnl", "open_pnl", "open_exposure")


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    """One local Ray cluster of 2 CPUs for the whole module (Ray takes seconds to start), in its own
    temp dir so that the test can check that none of its processes outlives it."""
    from tests.workstation.sweep.test_sweep_cluster import wait_gone

    temp = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))  # short: Ray's socket paths stay under 108 bytes
    previous = os.environ.get("RAY_TMPDIR")
    os.environ["RAY_TMPDIR"] = str(temp)
    try:
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        yield
    finally:
        ray.shutdown()
        if previous is None:
            os.environ.pop("RAY_TMPDIR", None)
        else:
            os.environ["RAY_TMPDIR"] = previous
        left = wait_gone(str(temp), 15.0)
        shutil.rmtree(temp, ignore_errors=True)
        assert not left, f"processes of the module's Ray cluster still running: {left}"


@pytest.fixture(scope="module")
def tm() -> TimeManager:
    return TimeManager("XNYS", "America/New_York")


def plain_run(cfg: dict, out: Path) -> dict:
    """`workstation run` of a config file: (statistics, trades, equity, quality)."""
    path = out.with_suffix(".json")
    path.write_text(json.dumps(cfg))
    assert main(["run", str(path), "--out", str(out), "--no-bars"]) == 0
    return {"statistics": json.loads((out / "metrics.json").read_text())["statistics"],
            "trades": pd.read_parquet(out / "trades.parquet"), "equity": pd.read_parquet(out / "equity.parquet"),
            "quality": pd.read_parquet(out / "quality.parquet")}


def with_params(cfg: dict, **params) -> dict:
    out = json.loads(json.dumps(cfg))
    out["strategies"][0]["params"].update(params)
    return out


def assert_row_equals_stats(row: pd.Series, stats: dict) -> None:
    for key in STATISTICS:
        expected, got = stats[key], row[key]
        if expected is None:
            assert pd.isna(got), key
        else:
            assert got == pytest.approx(expected, rel=1e-12, abs=1e-12), key
    assert row["end_time"] == pd.Timestamp(stats["end_time"])


def test_cells_equal_plain_runs_and_need_no_store(sweep_store, tmp_path, tm):
    """Each cell equals `workstation run` of the config with its parameters; the sweep's config points
    at a store path that does not exist, so the workers can only have used the shipped bars."""
    cfg = sweep_config(sweep_store, start="2024-11-26", end="2024-11-29")
    swept = {**cfg, "data_source": {"store_path": str(tmp_path / "no-store-here")}}
    warmup = "historical.warmup_bars"  # 1500 bars reach further back than the trailing days
    plan = build_plan(SweepSpec(params={FAST: [3, 5], warmup: [120, 1500]}, keep_top=2),
                      validate_config_dict(swept), tm, "test")
    outcome = run_sweep(plan, BarStore(sweep_store), tm, SweepFolder(tmp_path / "sweep"),
                        SweepOptions(keep_top=2, progress=io.StringIO()))
    assert outcome.state == "finished" and outcome.ok == 4 and outcome.failed == 0
    results = pd.read_parquet(tmp_path / "sweep" / "results.parquet")
    assert len(results) == 4 and set(results["status"]) == {"ok"}
    assert str(os.getpid()) not in {w.split(":")[-1] for w in results["worker"]}  # ran in Ray workers
    # the driver read each date of the store once, whatever the number of cells: the warm-up of the
    # 1500-bar cells may read back 3 x ceil(1500 5m bars / 78 a day) + 5 = 65 trading days
    needs_dates = tm.trading_dates(tm.trading_days_back("2024-11-26", 3 * 20 + 5), "2024-11-29")
    assert outcome.store_reads == len(needs_dates) + 1
    # the kept run folders are those of the 2 best cells by sharpe
    top = results.sort_values(["sharpe", "cell"], ascending=[False, True]).head(2)
    assert sorted(p.name for p in (tmp_path / "sweep" / "runs").iterdir()) == sorted(top["cell_id"])
    for _, row in results.iterrows():
        plain_cfg = with_params(cfg, fast=int(row[FAST]))
        plain_cfg["historical"]["warmup_bars"] = int(row[warmup])
        plain = plain_run(plain_cfg, tmp_path / f"plain{row['cell']}")
        assert_row_equals_stats(row, plain["statistics"])
        kept = tmp_path / "sweep" / "runs" / row["cell_id"]
        if row["cell_id"] in set(top["cell_id"]):
            pd.testing.assert_frame_equal(pd.read_parquet(kept / "trades.parquet"), plain["trades"])
            pd.testing.assert_frame_equal(pd.read_parquet(kept / "equity.parquet"), plain["equity"])
        quality = plain["quality"]
        assert row["coverage_pct"] == pytest.approx(quality[quality["interval"] == "1m"]["quality_pct"].mean())
        assert row["trades"] == len(plain["trades"]) > 0


def test_a_failing_cell_is_retried_twice_then_recorded_while_the_others_finish(sweep_store, tmp_path, tm,
                                                                              monkeypatch):
    monkeypatch.setenv(DRIVER_PID_ENV, str(os.getpid()))   # this process is the sweep's driver
    logs = tmp_path / "attempts"
    logs.mkdir()
    cfg = sweep_config(sweep_store, start="2024-11-26", end="2024-11-26")
    cfg["strategies"][0] = {"name": "sma", "class_path": "tests.workstation.sweep.sweep_strategies:CountedSma",
                            "params": {"fast": 5, "slow": 20, "log_dir": str(logs)}}
    plan = build_plan(SweepSpec(params={"strategies.sma.params.explode": [False, True],
                                        "strategies.sma.params.flaky": [False, True]}),
                      validate_config_dict(cfg), tm, "test")
    outcome = run_sweep(plan, BarStore(sweep_store), tm, SweepFolder(tmp_path / "sweep"),
                        SweepOptions(progress=io.StringIO()))
    results = pd.read_parquet(tmp_path / "sweep" / "results.parquet").set_index(
        ["strategies.sma.params.explode", "strategies.sma.params.flaky"])
    assert outcome.ok == 2 and outcome.failed == 2
    for (explode, flaky), row in results.iterrows():
        attempts = len(attempts_file(logs, 5, 20, explode, flaky).read_text().splitlines())
        if explode:
            assert row["status"] == "failed" and attempts == row["attempts"] == 3  # the first try and 2 retries
            assert "exploding on purpose" in row["error"] and "CountedSma.__init__ failed" in row["error"]
            assert pd.isna(row["sharpe"]) and pd.isna(row["trades"])
        else:
            assert row["status"] == "ok" and pd.isna(row["error"]) and row["trades"] >= 0
            assert attempts == row["attempts"] == (2 if flaky else 1)


def test_an_interrupted_sweep_resumes_with_only_the_missing_cells(sweep_store, tmp_path, tm):
    cfg = sweep_config(sweep_store, start="2024-11-26", end="2024-11-27")
    spec = {"params": {FAST: [3, 5, 8], SLOW: [15, 20]}}
    folder = tmp_path / "sweep"
    stop = StopFlag()

    def stop_after_first_result() -> None:
        while not (folder / "results.parquet").exists():
            time.sleep(0.02)
        stop.event.set()

    watcher = threading.Thread(target=stop_after_first_result, daemon=True)
    watcher.start()
    plan = build_plan(SweepSpec(**spec), validate_config_dict(cfg), tm, "test")
    first = run_sweep(plan, BarStore(sweep_store), tm, SweepFolder(folder),
                      SweepOptions(stop=stop, progress=io.StringIO()))
    watcher.join(5)
    assert first.state == "interrupted"
    before = pd.read_parquet(folder / "results.parquet")
    assert 1 <= len(before) < 6 and json.loads((folder / "progress.json").read_text())["state"] == "interrupted"
    again = run_sweep(build_plan(SweepSpec(**spec), validate_config_dict(cfg), tm, "test"), BarStore(sweep_store),
                      tm, SweepFolder(folder), SweepOptions(progress=io.StringIO()))
    after = pd.read_parquet(folder / "results.parquet")
    assert again.state == "finished" and again.skipped == len(before) and again.computed == 6 - len(before)
    assert len(after) == 6 and after["cell_id"].is_unique
    kept = after.set_index("cell_id").loc[before["cell_id"]]
    assert (kept["finished_at"].to_numpy() == before["finished_at"].to_numpy()).all()  # not recomputed
    # a different sweep in the same folder is refused, the folder untouched
    from workstation.errors import ConfigError

    with pytest.raises(ConfigError, match="holds another sweep"):
        run_sweep(build_plan(SweepSpec(params={FAST: [3, 4]}), validate_config_dict(cfg), tm, "test"),
                  BarStore(sweep_store), tm, SweepFolder(folder), SweepOptions(progress=io.StringIO()))
    pd.testing.assert_frame_equal(pd.read_parquet(folder / "results.parquet"), after)


def test_walk_forward_optimises_each_window_and_tests_the_best_out_of_sample(sweep_store, tmp_path, tm):
    cfg = sweep_config(sweep_store, start="2024-11-12", end="2024-12-06")
    plan = build_plan(SweepSpec(params={FAST: [3, 5], SLOW: [20]}, objective="total_return",
                                walk_forward={"train": 5, "test": 3, "step": 5}),
                      validate_config_dict(cfg), tm, "test")
    folder = tmp_path / "wf"
    outcome = run_sweep(plan, BarStore(sweep_store), tm, SweepFolder(folder), SweepOptions(progress=io.StringIO()))
    assert outcome.state == "finished" and outcome.total == 3 * 2 + 3 and outcome.ok == 9
    results = pd.read_parquet(folder / "results.parquet")
    windows = pd.read_parquet(folder / "walk_forward.parquet")
    assert len(windows) == 3
    stitched_parts, carried = [], 0.0
    for w in plan.windows:
        train = results[(results["phase"] == "train") & (results["window"] == w.index)]
        assert len(train) == 2 and (train["end_time"] < tm.session(w.test_start).open_utc).all()
        best = train.sort_values(["total_return_pct", "cell"], ascending=[False, True]).iloc[0]
        test = results[(results["phase"] == "test") & (results["window"] == w.index)].iloc[0]
        assert test[FAST] == best[FAST]
        entry = windows[windows["window"] == w.index].iloc[0]
        assert json.loads(entry["params"]) == {FAST: int(best[FAST]), SLOW: 20}
        assert entry["is_total_return_pct"] == pytest.approx(best["total_return_pct"])
        assert entry["oos_total_return_pct"] == pytest.approx(test["total_return_pct"])
        plain_cfg = with_params(cfg, fast=int(best[FAST]))
        plain_cfg["backtest"].update(start_date=str(w.test_start), end_date=str(w.test_end))
        plain = plain_run(plain_cfg, tmp_path / f"test{w.index}")
        assert_row_equals_stats(test, plain["statistics"])
        stitched_parts.append(plain["equity"]["equity"] + carried)
        carried += plain["equity"]["equity"].iloc[-1] - 100_000.0
    stitched = pd.read_parquet(folder / "walk_forward_equity.parquet")
    assert stitched["equity"].tolist() == pytest.approx(pd.concat(stitched_parts).tolist())
    summary = json.loads((folder / "walk_forward.json").read_text())
    assert summary["overall"]["out_of_sample"]["total_return_pct"] == pytest.approx(carried / 100_000.0 * 100)
    assert "Walk-forward" in outcome.report and "out-of-sample" in outcome.report


def test_the_python_api_sweep_with_adjusted_prices_equals_plain_runs(sweep_store, tmp_path):
    """workstation.sweep(): results frame, best cell and a cell's run; a `prices: adjusted` config reaches the
    Ray cells with the store's corporate actions (a recorded 2-for-1 split of ACME), as a plain run reads them."""
    import workstation
    from workstation.store.corporate_actions import import_actions

    store = tmp_path / "store"
    shutil.copytree(sweep_store, store)
    (tmp_path / "actions.csv").write_text("symbol,effective_date,split_ratio,dividend\nACME,2024-11-27,2:1,\n")
    import_actions(tmp_path / "actions.csv", BarStore(store))
    cfg = sweep_config(store, start="2024-11-25", end="2024-11-29", prices="adjusted")
    result = workstation.sweep(cfg, {"strategies__sma__params__fast": [3, 5], SLOW: range(20, 21)},
                               constraint="fast < slow",
                               objective="net_pnl", workers=2, out=tmp_path / "sweep", progress=False)
    assert result.state == "finished"
    frame = result.results
    assert len(frame) == 2 and set(frame["status"]) == {"ok"}
    assert frame.equals(pd.read_parquet(tmp_path / "sweep" / "results.parquet"))
    best = frame.loc[frame["net_pnl"].idxmax()]
    assert result.best["cell_id"] == best["cell_id"] and result.best_params == {FAST: int(best[FAST]), SLOW: 20}
    for _, row in frame.iterrows():
        plain_cfg = with_params(cfg, fast=int(row[FAST]))
        plain_cfg["backtest"]["stage_threads"] = False
        adjusted = plain_run(plain_cfg, tmp_path / f"adjusted{row['cell']}")
        assert_row_equals_stats(row, adjusted["statistics"])
        raw = plain_run({**plain_cfg, "prices": "raw"}, tmp_path / f"raw{row['cell']}")
        assert raw["statistics"]["net_pnl"] != pytest.approx(row["net_pnl"])  # the adjustment changed the cell
    best_run = result.run()  # not kept: run again into the sweep folder
    assert best_run.stats["net_pnl"] == pytest.approx(result.best["net_pnl"], rel=1e-12)
    assert best_run.config["prices"] == "adjusted" and (tmp_path / "sweep" / "runs" / best["cell_id"]).is_dir()
    assert result.cell_config(int(best["cell"]))["strategies"][0]["params"]["fast"] == int(best[FAST])


def test_the_command_without_out_sweeps_into_a_new_dated_folder_and_names_it(sweep_store, tmp_path, monkeypatch,
                                                                              capsys):
    import re

    monkeypatch.chdir(tmp_path)
    (tmp_path / "cfg.json").write_text(json.dumps(sweep_config(sweep_store, start="2024-11-25", end="2024-11-26")))
    assert main(["sweep", "cfg.json", "--param", f"{FAST}=3,5", "--dry-run"]) == 0    # lists, writes nothing
    assert not (tmp_path / "sweeps").exists()
    assert main(["sweep", "cfg.json", "--param", f"{FAST}=3,5", "--workers", "2"]) == 0
    folders = list((tmp_path / "sweeps").iterdir())
    assert len(folders) == 1 and re.fullmatch(r"cfg-\d{8}-\d{6}", folders[0].name)
    assert len(pd.read_parquet(folders[0] / "results.parquet")) == 2
    where = Path("sweeps") / folders[0].name
    assert f"sweep folder: {where} (give --out {where} to resume it)" in capsys.readouterr().err
    assert main(["sweep", "cfg.json", "--param", f"{FAST}=3,5", "--workers", "2", "--out", str(where)]) == 0
    assert "0 computed now, 2 from before" in capsys.readouterr().out      # resumed: the same folder
    assert len(list((tmp_path / "sweeps").iterdir())) == 1
