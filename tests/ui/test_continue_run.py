"""File → Continue a run… (workstation.runs.continuation): a replay traded by hand, stopped (the window
closed, another config opened), is taken up again from its run folder: the same positions, working
orders, fills and account at the same bar time as when it stopped, the trader's orders and the
strategies' alike, and trading goes on into a new folder that holds the earlier orders and the new ones.
The expectation is the stopped run itself, as the window showed it."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolBar

from tests.ui.test_hand_trading import FINISH_MS, manual_orders, paused_at, shown, step, strategies_off
from workstation.execution.manual import load_manual_orders
from workstation.system import PAUSED, STOPPED


def account_state(w) -> tuple:
    """What the trader sees of the run: bar times delivered, working orders, fills, the account."""
    b = w.bridge
    orders = sorted((o.id, o.strategy, o.symbol, o.quantity, o.filled_quantity, o.order_type.value, o.limit_price,
                     o.stop_price, o.status.value) for o in b.open_orders())
    fills = [(f.order_id, f.strategy, f.symbol, f.quantity, f.price, f.time) for f in b.fills()]
    a = b.account
    return (b.system.position, orders, fills, a.time_ns, a.cash, a.equity, a.positions.tolist())


def taken_up(qtbot, w, old_system, position: int) -> None:
    qtbot.waitUntil(lambda: w.bridge.system is not old_system and w.bridge.started
                    and not w.bridge.system.seeking and w.bridge.system.state == PAUSED
                    and w.bridge.system.position == position, timeout=FINISH_MS)
    shown(qtbot, w)
    w.refresh_views()


def bought_and_stopped(qtbot, w, config) -> tuple[tuple, object, object]:
    """`config` loaded without strategies, Buy MKT after 3 bar times, 2 more, then Stop, its folder
    written: (the account state shown, the stopped system, its run folder)."""
    w.load_config(config)
    strategies_off(w)
    paused_at(qtbot, w, 3)
    qtbot.mouseClick(w.trade_bar.buy_button, Qt.MouseButton.LeftButton)
    step(qtbot, w, 2)
    before = account_state(w)
    system, run_dir = w.bridge.system, w.bridge.run_dir
    w.stop()
    qtbot.waitUntil(lambda: w.bridge.system.state == STOPPED, timeout=FINISH_MS)
    assert w.bridge.wait_writers(10.0)
    return before, system, run_dir


def test_a_stopped_run_traded_by_hand_is_taken_up_where_it_stopped(qtbot, ui_make_window, ui_small_config):
    w = ui_make_window()
    w.load_config(ui_small_config)                      # its two strategies trade too
    paused_at(qtbot, w, 40)
    bar = w.trade_bar
    symbol = bar.symbol()
    bar.stop_loss_box.setValue(0.5)
    bar.take_profit_box.setValue(1.0)
    qtbot.mouseClick(bar.buy_button, Qt.MouseButton.LeftButton)        # a bracket of 100
    qtbot.waitUntil(lambda: "done" in bar.answer_text(), timeout=FINISH_MS)
    step(qtbot, w, 3)
    bar.stop_loss_box.setValue(0)
    bar.take_profit_box.setValue(0)
    bar.quantity_box.setValue(40)
    qtbot.mouseClick(bar.sell_button, Qt.MouseButton.LeftButton)
    step(qtbot, w, 2)
    last = w.bridge.position_of(symbol)[2]
    w.bridge.submit_order(symbol, 25, "limit", limit_price=round(last * 0.97, 2), tif="gtc")   # works on
    step(qtbot, w, 30)                                  # on past the last hand order
    assert len(manual_orders(w, symbol)) >= 1                    # the limit order, working
    w.stop()
    qtbot.waitUntil(lambda: w.bridge.system.state == STOPPED, timeout=FINISH_MS)
    assert w.bridge.wait_writers(10.0)
    shown(qtbot, w)
    before = account_state(w)
    run_dir, old = w.bridge.run_dir, w.bridge.system
    strategies = {f[1] for f in before[2]}
    assert strategies >= {"manual", "sma_5_20"}, "the hand orders and a strategy filled: the test needs both"
    w.strategies_action.trigger()                       # the run had its strategies: its continuation too
    assert not w.strategies_action.isChecked()

    assert w.continue_run(run_dir)
    taken_up(qtbot, w, old, before[0])
    assert w.strategies_action.isChecked() and w.bridge.strategies_running
    assert account_state(w) == before
    assert w.bridge.run_dir != run_dir and w.bridge.run_config.backtest.start_date == old.cfg.backtest.start_date
    assert w.bridge.run_dir.name.startswith("small-continued-")        # not "config-…"
    when = dt.datetime.fromtimestamp(before[3] / 1e9, ZoneInfo("America/New_York"))
    assert w.statusBar().currentMessage() == (f"At the bar {when:%a %m-%d %H:%M}, where it stopped: continued "
                                              f"{run_dir.name} (3 hand orders)")
    assert w.config_combo.currentText() == run_dir.name          # not "config"

    # trading goes on, and the new folder holds the earlier orders and the new one
    bar.quantity_box.setValue(60)
    qtbot.mouseClick(bar.sell_button, Qt.MouseButton.LeftButton)
    step(qtbot, w)
    new_dir = w.bridge.run_dir
    qtbot.waitUntil(lambda: len(load_manual_orders(new_dir / "manual_orders.json")) == 4, timeout=FINISH_MS)
    earlier = json.loads((run_dir / "manual_orders.json").read_text())["commands"]
    now = json.loads((new_dir / "manual_orders.json").read_text())["commands"]
    assert now[:3] == earlier and now[3]["quantity"] == -60


def test_a_paused_run_traded_by_hand_asks_before_it_is_replaced_by_a_continuation(
        qtbot, ui_make_window, ui_small_config):
    """Taking up a folder while a run traded by hand is paused ends that run: the window asks first; a
    Cancel keeps it. Taking up the paused run's own folder gives its state at its last hand order (its
    equity after that is not written yet)."""
    w = ui_make_window()
    w.load_config(ui_small_config)
    asked: list[tuple] = []
    answer = [False]
    w.confirm = lambda *question: asked.append(question) or answer[0]
    strategies_off(w)
    paused_at(qtbot, w, 5)
    qtbot.mouseClick(w.trade_bar.buy_button, Qt.MouseButton.LeftButton)
    step(qtbot, w)
    before = account_state(w)
    system, run_dir = w.bridge.system, w.bridge.run_dir
    qtbot.waitUntil(lambda: (run_dir / "manual_orders.json").is_file(), timeout=FINISH_MS)
    loaded: list[bool] = []
    w.config_loaded.connect(lambda _path, ok: loaded.append(ok))
    assert w.continue_run(run_dir)
    qtbot.waitUntil(lambda: loaded == [False], timeout=FINISH_MS)
    assert [(a[0], a[3]) for a in asked] == [(f"Continue {run_dir.name}?", "Continue")]
    assert "File → Continue a run… takes it up again there" in asked[0][2]
    assert w.bridge.system is system and account_state(w) == before
    answer[0] = True
    assert w.continue_run(run_dir)
    taken_up(qtbot, w, system, 5)                       # the bar time the hand order followed
    assert w.bridge.position_of(w.trade_bar.symbol())[0] == 0     # the order is working again, not filled
    assert [o.quantity for o in manual_orders(w, w.trade_bar.symbol())] == [100]
    step(qtbot, w)
    assert account_state(w) == before


def test_a_folder_that_cannot_be_taken_up_is_said_and_the_run_is_kept(qtbot, ui_make_window, ui_small_config,
                                                                       tmp_path):
    w = ui_make_window()
    w.load_config(ui_small_config)
    system = w.bridge.system
    not_a_run = tmp_path / "not_a_run"
    not_a_run.mkdir()
    assert not w.continue_run(not_a_run)
    assert w.error_messages[-1] == ("Cannot continue the run", f"{not_a_run} is not a run folder: it has no "
                                    "config.json (pick the folder of a run, e.g. runs/<config>-<date>-<time>)")
    (not_a_run / "config.json").write_text(ui_small_config.read_text())
    (not_a_run / "manual_orders.json").write_text('{"commands": [{"action": "submit"}]}')
    assert not w.continue_run(not_a_run)
    assert w.error_messages[-1][1].startswith(f"{not_a_run / 'manual_orders.json'}: commands[0]")
    assert w.bridge.system is system and not w.loading


def test_a_run_traded_before_its_first_bar_is_taken_up_before_it(qtbot, ui_make_window, ui_small_config):
    """An order sent before Play (the run starts paused before its first bar; the order's time is the
    session's open; a limit order: a market order has no price yet) and filled by the first Step: the run
    taken up again has it filled at the same bar time."""
    w = ui_make_window()
    w.load_config(ui_small_config)
    strategies_off(w)
    symbol = w.trade_bar.symbol()
    w.bridge.submit_order(symbol, 10, "limit", limit_price=1000.0)
    qtbot.waitUntil(lambda: len(manual_orders(w, symbol)) == 1, timeout=FINISH_MS)
    assert w.bridge.system.position == 0
    step(qtbot, w)
    assert w.bridge.position_of(symbol)[0] == 10
    before = account_state(w)
    system, run_dir = w.bridge.system, w.bridge.run_dir
    w.stop()
    qtbot.waitUntil(lambda: w.bridge.system.state == STOPPED, timeout=FINISH_MS)
    assert w.bridge.wait_writers(10.0)
    assert w.continue_run(run_dir)
    taken_up(qtbot, w, system, 1)                       # the stopped run's equity reached its first bar time
    assert account_state(w) == before


def test_the_results_window_takes_up_the_run_it_shows(qtbot, ui_make_window, ui_small_config):
    """File → Open run folder… shows a run's results; its "Continue this run…" takes it up in the replay."""
    from ui.windows.results_view import ResultsWindow

    w = ui_make_window()
    before, system, run_dir = bought_and_stopped(qtbot, w, ui_small_config)
    results = ResultsWindow(w, runs_dir=run_dir.parent, continue_run=w.continue_run)
    qtbot.addWidget(results)
    assert not results.continue_action.isEnabled()          # no run shown yet
    assert results.open_run_folder(run_dir) and results.continue_action.isEnabled()
    results.continue_action.trigger()
    taken_up(qtbot, w, system, 5)
    assert account_state(w) == before
    plain = ResultsWindow()                                  # a results window on its own: nothing to continue in
    qtbot.addWidget(plain)
    assert plain.continue_action not in plain.findChild(QToolBar).actions()
    assert results.continue_action in results.findChild(QToolBar).actions()


def test_a_run_whose_config_names_its_store_relatively_is_taken_up_from_another_folder(
        qtbot, ui_make_window, ui_demo_store, ui_configs_dir, tmp_path, monkeypatch):
    """The config says `store_path: "store"`, relative to the folder the window ran in; taken up from
    another folder, the run reads the store its run_status.json recorded (absolute)."""
    from tests.ui.conftest import ui_config_dict

    raw = ui_config_dict(ui_demo_store)
    raw["data_source"]["store_path"] = ui_demo_store.name                  # "store"
    path = ui_configs_dir / "relative.json"
    path.write_text(json.dumps(raw))
    monkeypatch.chdir(ui_demo_store.parent)
    w = ui_make_window()
    before, system, run_dir = bought_and_stopped(qtbot, w, path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)                                            # no "store" here
    assert w.continue_run(run_dir)
    taken_up(qtbot, w, system, 5)
    assert account_state(w) == before and w.error_messages == []
    assert w.bridge.store_path == ui_demo_store.resolve()
