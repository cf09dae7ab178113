"""Config editor dialog: schema-built form, validation next to fields, raw JSON sync, save/run."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDoubleSpinBox,
    QLineEdit,
    QMessageBox,
    QSpinBox,
)

from ui.dialogs.config_editor import ConfigEditorDialog, pretty_json, split_problems
from ui.dialogs.schema_form import ObjectListEditor, empty_placeholder, leaf_paths, resolve
from workstation.config import config_json_schema, load_config, validate_config_dict
from workstation.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "session_configs" / "example_session.json"


@pytest.fixture
def example_path(tmp_path: Path) -> Path:
    dst = tmp_path / "configs" / "example_session.json"
    dst.parent.mkdir()
    shutil.copy(EXAMPLE, dst)
    return dst


@pytest.fixture(scope="module")
def editor_store(tmp_path_factory) -> Path:
    """A demo bar store holding the example config's five symbols over its dates (its pre-flight checks pass)."""
    from workstation.store import generate_demo

    root = tmp_path_factory.mktemp("editor_store") / "store"
    generate_demo(root, symbols=5, days=10, seed=3)
    return root


@pytest.fixture
def make_dialog(qtbot, editor_store):
    """Build dialogs; at teardown drop their edits (else closing would ask about unsaved changes)."""
    made: list[ConfigEditorDialog] = []

    def make(*args, **kwargs) -> ConfigEditorDialog:
        kwargs.setdefault("store_path", editor_store)
        dlg = ConfigEditorDialog(*args, **kwargs)
        made.append(dlg)
        return dlg

    yield make
    for dlg in made:
        dlg.discard_changes()
        dlg.close()
        dlg.deleteLater()


@pytest.fixture(scope="module")
def shared_dialog(qapp, tmp_path_factory, editor_store):
    """One dialog for the module (building one takes a noticeable fraction of a second); reloaded per test."""
    start = tmp_path_factory.mktemp("shared") / "example_session.json"
    shutil.copy(EXAMPLE, start)
    dlg = ConfigEditorDialog(start, configs_dir=start.parent, store_path=editor_store)
    yield dlg
    dlg.discard_changes()
    dlg.close()
    dlg.deleteLater()


@pytest.fixture
def dialog(shared_dialog: ConfigEditorDialog, example_path: Path) -> ConfigEditorDialog:
    """The shared dialog with a fresh copy of the example opened (a test's edits never leak into the next)."""
    shared_dialog.load(example_path)
    shared_dialog.show_section("General")
    shared_dialog.show()
    yield shared_dialog
    shared_dialog.discard_changes()


def _raw_dict(dlg: ConfigEditorDialog) -> dict:
    return json.loads(dlg.raw_json_editor().toPlainText())


def _list_paths(schema: dict, root: dict, prefix: str = "") -> list[tuple[str, dict]]:
    """(path, item schema) of every array-of-objects field outside arrays."""
    out = []
    for key, sub in resolve(schema, root).get("properties", {}).items():
        sub = resolve(sub, root)
        path = f"{prefix}.{key}" if prefix else key
        items = resolve(sub.get("items", {}), root)
        if sub.get("type") == "array" and items.get("type") == "object" and items.get("properties"):
            out.append((path, items))
        elif sub.get("type") == "object" and sub.get("properties"):
            out.extend(_list_paths(sub, root, path))
    return out


def test_every_schema_field_has_a_widget(dialog: ConfigEditorDialog) -> None:
    schema = config_json_schema()
    paths = leaf_paths(schema, schema)
    assert len(paths) > 40
    for path in paths:
        assert dialog.field_widget(path) is not None, path
    example = json.loads(EXAMPLE.read_text())
    for list_path, item_schema in _list_paths(schema, schema):
        assert isinstance(dialog.field_editor(list_path), ObjectListEditor)
        head, _, tail = list_path.partition(".")
        items = example[head][tail] if tail else example[head]
        assert items, list_path
        for i in range(len(items)):
            for leaf in leaf_paths(item_schema, schema, f"{list_path}.{i}"):
                assert dialog.field_widget(leaf) is not None, leaf
    with pytest.raises(KeyError):
        dialog.field_widget("strategies.5.name")


def test_form_round_trips_the_example(dialog: ConfigEditorDialog) -> None:
    assert dialog.is_valid(), dialog.problems()
    assert dialog.problems() == []
    expected = validate_config_dict(json.loads(EXAMPLE.read_text())).model_dump()
    assert validate_config_dict(dialog.current_dict()).model_dump() == expected
    assert not dialog.is_modified()
    assert dialog.section_titles()[:3] == ["General", "Symbols & streams", "Historical"]
    assert dialog.section_titles()[-1] == "Raw JSON"


def test_widgets_follow_the_schema_types(dialog: ConfigEditorDialog) -> None:
    assert isinstance(dialog.field_widget("backtest.start_date"), QDateEdit)
    assert dialog.field_widget("backtest.start_date").calendarPopup()
    mode = dialog.field_widget("mode")
    assert isinstance(mode, QComboBox) and [mode.itemText(i) for i in range(mode.count())] == [
        "backtest",
        "live",
    ]
    days = dialog.field_widget("historical.trailing_days")
    assert isinstance(days, QSpinBox) and days.step_bounds == (0, 400)  # the arrows' range; typing is free
    conf = dialog.field_widget("risk.min_confidence")
    assert isinstance(conf, QDoubleSpinBox) and conf.step_bounds == (0.0, 1.0)
    assert isinstance(dialog.field_widget("streams.quotes"), QCheckBox)
    symbols = dialog.field_widget("symbols")
    assert isinstance(symbols, QLineEdit) and symbols.text() == "ACME, BOLT, CYRX, DYNA, ECHO"
    assert isinstance(dialog.field_widget("live.replay.start"), QLineEdit)
    assert "Minimum signal confidence" in conf.toolTip()
    editor = dialog.field_editor("risk.min_confidence")
    assert "Minimum signal confidence" in editor.help_label.text() and "0 … 1" in editor.help_label.text()


def test_an_optional_number_is_empty_for_its_default_and_checked_when_typed(
    qtbot, dialog: ConfigEditorDialog
) -> None:
    edit = dialog.field_widget("live.batch_quiet_ms")
    assert isinstance(edit, QLineEdit) and edit.text() == ""
    assert edit.placeholderText() == "empty = 2 for replay, 500 for alpaca"
    assert _raw_dict(dialog)["live"]["batch_quiet_ms"] is None
    edit.setText("250")
    qtbot.waitUntil(lambda: _raw_dict(dialog)["live"]["batch_quiet_ms"] == 250.0)
    assert dialog.is_valid()
    edit.setText("soon")
    qtbot.waitUntil(lambda: not dialog.is_valid())
    label = dialog.error_label("live.batch_quiet_ms")
    assert label is not None and "number" in label.text()
    edit.setText("-5")
    qtbot.waitUntil(lambda: dialog.error_label("live.batch_quiet_ms") is not None
                    and "greater than or equal to 0" in dialog.error_label("live.batch_quiet_ms").text())
    edit.clear()
    qtbot.waitUntil(dialog.is_valid)
    assert _raw_dict(dialog)["live"]["batch_quiet_ms"] is None
    data = _raw_dict(dialog)
    data["live"]["batch_quiet_ms"] = 40
    dialog.raw_json_editor().setPlainText(json.dumps(data, indent=2))
    qtbot.waitUntil(lambda: edit.text() == "40")


def test_a_field_left_empty_says_what_empty_means(dialog: ConfigEditorDialog) -> None:
    """Every field that may be null says in its placeholder what leaving it empty does (the config
    model's `empty`), not a bare "default" the trader must look up: the daily loss limit's empty is off."""
    nullable = []
    schema = config_json_schema()
    for path in leaf_paths(schema, schema):
        widget = dialog.field_widget(path)
        if isinstance(widget, QLineEdit) and "empty = " in widget.placeholderText():
            nullable.append(path)
            assert "empty = default" not in widget.placeholderText(), path
    assert {"risk.max_daily_loss", "risk.flatten_before_close_minutes", "execution.participation_limit_pct",
            "live.replay.start", "live.alpaca.ws_url", "live.batch_quiet_ms"} <= set(nullable)
    assert dialog.field_widget("risk.max_daily_loss").placeholderText() == "empty = off"
    assert dialog.field_widget("execution.participation_limit_pct").placeholderText() == "empty = no limit"
    assert (dialog.field_widget("live.replay.start").placeholderText()
            == "YYYY-MM-DD HH:MM:SS (empty = the open of start_date)")
    assert empty_placeholder({"type": "number"}) == "empty = default"
    assert empty_placeholder({"type": "string", "format": "date"}) == "YYYY-MM-DD (empty = default)"


def test_end_before_start_shows_at_section_and_field(qtbot, dialog: ConfigEditorDialog) -> None:
    end = dialog.field_widget("backtest.end_date")
    start = dialog.field_widget("backtest.start_date")
    end.setDate(start.date().addDays(-3))
    qtbot.waitUntil(lambda: not dialog.is_valid())
    assert [p for p, _ in dialog.problems()] == ["backtest"]
    assert "is before start_date" in dialog.error_label("backtest").text()
    assert "is before start_date" in dialog.error_label("backtest.end_date").text()
    assert dialog.section_problem_counts()["Backtest"] == 1
    assert not dialog._save_button.isEnabled() and not dialog._run_button.isEnabled()
    assert "1 problem" in dialog._status.text()
    end.setDate(start.date().addDays(5))
    qtbot.waitUntil(dialog.is_valid)
    assert dialog.error_label("backtest") is None and dialog.error_label("backtest.end_date") is None
    assert dialog._save_button.isEnabled() and dialog._run_button.isEnabled()
    assert "Valid" in dialog._status.text()


def test_raw_json_out_of_range_confidence_marks_the_field(qtbot, dialog: ConfigEditorDialog) -> None:
    data = _raw_dict(dialog)
    data["risk"]["min_confidence"] = 1.5
    dialog.raw_json_editor().setPlainText(json.dumps(data, indent=2))
    qtbot.waitUntil(lambda: not dialog.is_valid())
    label = dialog.error_label("risk.min_confidence")
    assert label is not None and "less than or equal to 1" in label.text()
    spin = dialog.field_widget("risk.min_confidence")
    assert spin.value() == pytest.approx(1.5)
    assert spin.property("invalid") is True
    assert dialog.current_dict()["risk"]["min_confidence"] == 1.5
    spin.setValue(0.7)
    qtbot.waitUntil(dialog.is_valid)
    assert dialog.error_label("risk.min_confidence") is None
    assert spin.property("invalid") is False
    assert _raw_dict(dialog)["risk"]["min_confidence"] == pytest.approx(0.7)


def test_unknown_strategy_symbol_is_shown_on_the_strategy(dialog: ConfigEditorDialog) -> None:
    dialog.set_field("strategies.1.symbols", ["ACME", "ZZZZ"])
    assert dialog.problems() and dialog.problems()[0][0] == "strategies.1.symbols"
    label = dialog.error_label("strategies.1.symbols")
    assert label is not None and "are not configured symbols" in label.text() and "ZZZZ" in label.text()
    strategies = dialog.field_editor("strategies")
    assert strategies.invalid_rows() == {1}
    assert strategies.list_widget().item(1).text().startswith("●")
    assert dialog.section_problem_counts()["Strategies"] == 1
    dialog.set_field("strategies.1.symbols", ["ACME", "ECHO"])
    assert dialog.is_valid() and dialog.error_label("strategies.1.symbols") is None
    assert strategies.invalid_rows() == set()


def test_derived_interval_not_a_multiple(dialog: ConfigEditorDialog) -> None:
    dialog.set_field("streams.derived", ["5m", "90s"])
    assert not dialog.is_valid()
    assert "must be a larger multiple" in dialog.error_label("streams.derived").text()
    assert "must be a larger multiple" in dialog.error_label("streams").text()
    assert dialog.section_problem_counts()["Symbols & streams"] == 1
    dialog.field_widget("streams.derived").setText("5m, 15m, 30m")
    dialog.revalidate()
    assert dialog.is_valid() and dialog.error_label("streams.derived") is None


def test_negative_commission_blocks_save_and_run(qtbot, dialog: ConfigEditorDialog, tmp_path: Path) -> None:
    dialog.set_field("execution.commission_per_share", -0.01)
    label = dialog.error_label("execution.commission_per_share")
    assert label is not None and "greater than or equal to 0" in label.text()
    assert not dialog._save_button.isEnabled() and not dialog._run_button.isEnabled()
    with qtbot.assertNotEmitted(dialog.run_requested):
        assert dialog.run() is False
    assert dialog.save() is False
    with pytest.raises(ConfigError) as exc:
        dialog.save_as(tmp_path / "bad.json")
    assert not (tmp_path / "bad.json").exists()
    assert any(p == "execution.commission_per_share" for p, _ in exc.value.problems)
    dialog.set_field("execution.commission_per_share", 0.002)
    assert dialog.is_valid() and dialog.error_label("execution.commission_per_share") is None


def test_unknown_field_in_raw_json_shows_at_section_top(dialog: ConfigEditorDialog) -> None:
    data = _raw_dict(dialog)
    data["backtest"]["speed"] = 5
    dialog.set_raw_json(json.dumps(data))
    assert (
        "backtest.speed",
        next(m for p, m in dialog.problems() if p == "backtest.speed"),
    ) in dialog.problems()
    assert "unknown field" in dialog.error_label("backtest").text()
    data["backtest"].pop("speed")
    data["colour"] = "red"
    dialog.set_raw_json(json.dumps(data))
    assert [p for p, _ in dialog.problems()] == ["colour"]
    assert "unknown field" in dialog.error_label("(config)").text()
    assert dialog.section_problem_counts()["General"] == 1
    data.pop("colour")
    dialog.set_raw_json(json.dumps(data))
    assert dialog.is_valid() and dialog.error_label("(config)") is None


def test_raw_json_syntax_error_leaves_form_untouched(dialog: ConfigEditorDialog) -> None:
    before = dialog.current_dict()
    dialog.set_raw_json('{\n  "name": "x",\n  "mode" "live"\n}')
    error = dialog.raw_json_error()
    assert error is not None and error.startswith("Line 3, column 10")
    assert dialog.current_dict() == before
    assert not dialog.is_valid() and dialog.section_problem_counts()["Raw JSON"] == 1
    dialog.set_field("name", "Edited in the form")
    assert dialog.raw_json_error() is None and dialog.is_valid()
    assert _raw_dict(dialog)["name"] == "Edited in the form"


def test_raw_json_edits_update_the_form_and_back(qtbot, dialog: ConfigEditorDialog) -> None:
    data = _raw_dict(dialog)
    data["symbols"] = ["ACME", "BOLT"]
    data["backtest"]["end_date"] = "2024-12-10"
    data["strategies"][1]["symbols"] = "all"
    data["execution"]["fill_rule"] = "close"
    dialog.raw_json_editor().setPlainText(pretty_json(data))
    qtbot.waitUntil(lambda: dialog.field_widget("symbols").text() == "ACME, BOLT")
    assert dialog.field_widget("backtest.end_date").date().toString("yyyy-MM-dd") == "2024-12-10"
    assert dialog.field_widget("execution.fill_rule").currentText() == "close"
    assert dialog.field_editor("strategies.1.symbols").all_checkbox().isChecked()
    assert dialog.is_valid() and dialog.is_modified()
    name = dialog.field_widget("name")
    name.clear()
    qtbot.keyClicks(name, "Typed name")
    qtbot.waitUntil(lambda: _raw_dict(dialog)["name"] == "Typed name")
    assert _raw_dict(dialog)["symbols"] == ["ACME", "BOLT"]


def test_save_as_writes_a_config_the_engine_accepts(
    qtbot, dialog: ConfigEditorDialog, tmp_path: Path
) -> None:
    dialog.set_field("name", "Saved from the editor")
    dialog.set_field("symbols", ["acme", "BOLT", "CYRX", "DYNA", "ECHO"])
    target = tmp_path / "out" / "saved.json"
    with qtbot.waitSignal(dialog.saved) as blocker:
        written = dialog.save_as(target)
    assert blocker.args == [str(target)] and written == target
    cfg = load_config(target)
    assert cfg.name == "Saved from the editor" and cfg.symbols[0] == "ACME"
    assert dialog.config_path() == target and not dialog.is_modified()
    assert dialog.field_widget("symbols").text().startswith("ACME")
    from workstation.cli import main

    assert main(["validate", str(target), "--store", str(dialog._store_override)]) == 0


def test_saving_keeps_a_short_config_short(make_dialog, tmp_path: Path) -> None:
    """Save writes the file's own entries and what the user changed, not every default the form shows."""
    short = {"name": "Short", "symbols": ["ACME", "BOLT"],
             "backtest": {"start_date": "2024-11-25", "end_date": "2024-11-27"},
             "strategies": [{"name": "s", "class_path": "sma_crossover", "params": {"fast": 5, "slow": 20}}]}
    path = tmp_path / "short.json"
    path.write_text(json.dumps(short, indent=2))
    dlg = make_dialog(path, configs_dir=tmp_path)
    assert dlg.current_dict()["execution"]["slippage_bps"] == 0.0       # the form shows the defaults
    dlg.set_field("execution.slippage_bps", 2.0)
    dlg.set_field("symbols", ["acme", "BOLT"])
    assert dlg.save() is True and not dlg.is_modified()
    expected = {**short, "execution": {"slippage_bps": 2.0}}
    assert path.read_text() == pretty_json(expected) + "\n"          # laid out as the Raw JSON page shows it
    assert load_config(path).model_dump(mode="json") == validate_config_dict(
        {**dlg.current_dict(), "symbols": ["ACME", "BOLT"]}).model_dump(mode="json")
    dlg.set_field("execution.slippage_bps", 0.0)        # now an entry of the file: it stays, at its default
    assert dlg.save() is True
    assert json.loads(path.read_text()) == {**short, "execution": {"slippage_bps": 0.0}}


def test_run_saves_then_emits_only_when_valid(qtbot, dialog: ConfigEditorDialog, example_path: Path) -> None:
    dialog.set_field("backtest.end_date", "2024-11-01")
    with qtbot.assertNotEmitted(dialog.run_requested):
        assert dialog.run() is False
    dialog.set_field("backtest.end_date", "2024-12-02")
    with qtbot.waitSignal(dialog.run_requested) as blocker:
        assert dialog.run() is True
    assert blocker.args == [str(example_path)]
    assert load_config(example_path).backtest.end_date.isoformat() == "2024-12-02"


def test_new_config_starts_from_the_example_shape(make_dialog, example_path: Path, tmp_path: Path) -> None:
    dlg = make_dialog(None, configs_dir=example_path.parent)
    assert dlg.config_path() is None and dlg.current_dict()["name"] == "New session"
    assert dlg.current_dict()["symbols"] == json.loads(EXAMPLE.read_text())["symbols"]
    assert dlg.is_valid() and not dlg.is_modified()
    empty = tmp_path / "empty"
    empty.mkdir()
    bare = make_dialog(None, configs_dir=empty)
    # the built-in template's symbols are not in this store: the pre-flight check says so at the field
    assert [p for p, _ in bare.problems()] == ["symbols"] and "AAPL, MSFT have no 1m bars" in bare.problems()[0][1]
    assert bare.current_dict()["name"] == "New session"


def test_strategy_list_add_duplicate_remove(dialog: ConfigEditorDialog) -> None:
    strategies = dialog.field_editor("strategies")
    strategies.add_item()
    dialog.revalidate()
    added = dialog.current_dict()["strategies"][2]
    assert added["name"] == "strategy_3" and added["class_path"] == "sma_crossover"
    assert dialog.is_valid(), dialog.problems()
    strategies.select(0)
    strategies.duplicate_current()
    dialog.revalidate()
    names = [s["name"] for s in dialog.current_dict()["strategies"]]
    assert names == ["sma_5_20", "rsi_15m", "strategy_3", "sma_5_20_copy"]
    assert dialog.current_dict()["strategies"][3]["params"] == {"fast": 5, "slow": 20, "quantity": 100}
    strategies.select(1)
    strategies.remove_current()
    dialog.revalidate()
    names = [s["name"] for s in dialog.current_dict()["strategies"]]
    assert names == ["sma_5_20", "strategy_3", "sma_5_20_copy"]
    assert dialog.field_widget("strategies.2.name").text() == "sma_5_20_copy"
    with pytest.raises(KeyError):
        dialog.field_widget("strategies.3.name")
    dialog.set_field("strategies.2.name", "sma_5_20")
    assert dialog.error_label("strategies.2.name") is not None
    assert "used twice" in dialog.error_label("strategies.2.name").text()


def test_a_chosen_strategy_class_offers_its_parameters_and_keeps_the_users(dialog: ConfigEditorDialog, tmp_path,
                                                                          monkeypatch) -> None:
    (tmp_path / "qa_strategies.py").write_text(
        "from workstation.strategies import BaseStrategy\n\n\n"
        "class Dip(BaseStrategy):\n"
        "    def __init__(self, name, symbols, interval, dip_pct: float = 0.3, quantity: float = 50, tag=None,\n"
        "                 *, lots: int = 1):\n"
        "        super().__init__(name, symbols, interval)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    # opening a config adds nothing to what it says (the example's rsi_15m gives only some parameters),
    # nor does emptying a strategy's table (its class's defaults then apply)
    assert "allow_short" not in dialog.current_dict()["strategies"][1]["params"]
    dialog.set_field("strategies.1.params", {})
    assert dialog.current_dict()["strategies"][1]["params"] == {}
    strategies = dialog.field_editor("strategies")
    strategies.add_item()
    dialog.revalidate()
    added = dialog.current_dict()["strategies"][2]
    assert added["class_path"] == "sma_crossover"    # the first built-in, with every parameter it takes
    assert added["params"] == {"fast": 5, "slow": 20, "quantity": 100, "confidence": 1.0}
    dialog.set_field("strategies.2.class_path", "qa_strategies:Dip")   # untouched: the new class's instead
    assert dialog.current_dict()["strategies"][2]["params"] == {"dip_pct": 0.3, "quantity": 50, "tag": None, "lots": 1}
    assert _raw_dict(dialog)["strategies"][2]["params"]["dip_pct"] == 0.3
    dialog.set_field("strategies.2.params", {"dip_pct": 0.5})                # the user's own values ...
    dialog.set_field("strategies.2.class_path", "rsi_reversion")
    assert dialog.current_dict()["strategies"][2]["params"] == {"dip_pct": 0.5}     # ... are kept
    dialog.set_field("strategies.0.class_path", "rsi_reversion")     # the example's sma_5_20 has its own values
    assert dialog.current_dict()["strategies"][0]["params"] == {"fast": 5, "slow": 20, "quantity": 100}
    dialog.set_field("strategies.2.class_path", "qa_strategies:Nope")       # not importable: nothing offered
    assert dialog.current_dict()["strategies"][2]["params"] == {"dip_pct": 0.5}


def test_a_params_table_names_the_class_parameters_it_does_not_give(dialog: ConfigEditorDialog, tmp_path,
                                                                    monkeypatch) -> None:
    """rsi_15m gives period, oversold, overbought and quantity: the table names the other parameters of
    RsiReversion's constructor with their defaults (read from the class here, not restated), Add offers
    them, and one added takes its default as the value and leaves the list; a required one says so."""
    import inspect

    from workstation.strategies.rsi_reversion import RsiReversion

    editor = dialog.field_editor("strategies.1.params")
    given = dialog.current_dict()["strategies"][1]["params"]
    signature = inspect.signature(RsiReversion.__init__).parameters
    expected = [(name, p.default) for name, p in signature.items()
                if name not in ("self", "name", "symbols", "interval") and name not in given]
    assert [name for name, _ in expected] == ["exit_level", "allow_short"]
    assert [(key.name, key.default) for key in editor.missing_offered()] == expected
    label = editor._offered_label
    assert not label.isHidden()
    assert "exit_level 50" in label.text() and "allow_short false" in label.text()
    menu = editor.offer_menu()
    texts = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert texts == ["exit_level  (50)", "allow_short  (false)", "Another key…"]
    menu.actions()[1].trigger()                         # allow_short, with its default
    dialog.revalidate()
    assert dialog.current_dict()["strategies"][1]["params"] == {**given, "allow_short": False}
    assert [key.name for key in editor.missing_offered()] == ["exit_level"]
    assert "allow_short" not in label.text()
    editor.add_offered("exit_level")
    dialog.revalidate()
    assert dialog.current_dict()["strategies"][1]["params"]["exit_level"] == 50
    assert label.isHidden() and editor.offer_menu() is None      # every parameter given: Add adds a blank row
    dialog.set_field("strategies.1.params", {})             # an emptied table names them all again
    assert [key.name for key in editor.missing_offered()] == [name for name in signature
                                                              if name not in ("self", "name", "symbols", "interval")]
    # a parameter without a default is named as required; a class not importable here offers nothing
    (tmp_path / "qa_required.py").write_text(
        "from workstation.strategies import BaseStrategy\n\n\n"
        "class Needs(BaseStrategy):\n"
        "    def __init__(self, name, symbols, interval, level, quantity: float = 5):\n"
        "        super().__init__(name, symbols, interval)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    dialog.set_field("strategies.0.class_path", "qa_required:Needs")
    first = dialog.field_editor("strategies.0.params")
    assert "level required" in first._offered_label.text()
    dialog.set_field("strategies.0.class_path", "qa_required:Nope")
    assert first.missing_offered() == [] and first._offered_label.isHidden()


def test_params_table_values_are_json(dialog: ConfigEditorDialog) -> None:
    editor = dialog.field_editor("strategies.0.params")
    table = editor.table()
    table.item(0, 1).setText("7")
    editor.add_row("mode", "fast lane")
    editor.add_row("levels", "[1, 2.5]")
    dialog.revalidate()
    params = dialog.current_dict()["strategies"][0]["params"]
    assert params["fast"] == 7 and params["mode"] == "fast lane" and params["levels"] == [1, 2.5]
    editor.add_row("slow", "30")
    dialog.revalidate()
    assert not dialog.is_valid()
    assert "given twice" in dialog.error_label("strategies.0.params").text()


def test_close_asks_about_unsaved_changes(qtbot, dialog: ConfigEditorDialog, monkeypatch) -> None:
    original = dialog.current_dict()
    dialog.set_field("name", "changed")
    assert dialog.is_modified()
    monkeypatch.setattr(QMessageBox, "exec", lambda self: QMessageBox.StandardButton.Cancel)
    dialog.close()
    assert dialog.isVisible()
    dialog.discard_changes()
    assert not dialog.is_modified() and dialog.current_dict() == original
    dialog.close()
    assert not dialog.isVisible()


def test_closing_with_a_problem_offers_no_save_and_says_why(qtbot, dialog: ConfigEditorDialog, monkeypatch) -> None:
    """Changes that make the config invalid: the close prompt said "Save them before closing?" and its Save
    kept the editor open, the file untouched, without a word (seen in Xvfb). It now names the problem and
    offers Discard and Cancel only; valid changes still get Save."""
    prompts: list[QMessageBox] = []

    def answer(box: QMessageBox):
        prompts.append(box)
        return QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(QMessageBox, "exec", answer)
    dialog.set_field("name", "")
    dialog.revalidate()
    assert not dialog.is_valid()
    dialog.close()
    assert dialog.isVisible()
    box = prompts[-1]
    buttons = box.standardButtons()
    assert not buttons & QMessageBox.StandardButton.Save
    assert buttons & QMessageBox.StandardButton.Discard and buttons & QMessageBox.StandardButton.Cancel
    assert box.informativeText() == ("It has 1 problem (name), so it cannot be saved as it is. Discard the "
                                     "changes, or Cancel to fix them?")
    dialog.set_field("name", "valid again")
    dialog.close()
    assert prompts[-1].standardButtons() & QMessageBox.StandardButton.Save
    assert prompts[-1].informativeText() == "Save them before closing?"
    dialog.discard_changes()


def test_saving_over_a_file_changed_on_disk_asks_first(make_dialog, example_path, tmp_path, monkeypatch) -> None:
    """Two writers: the file was edited elsewhere (a text editor, another window) while open here. Save
    overwrote those changes without a word; it now asks: overwrite, reload from disk, or cancel."""
    path = tmp_path / "mine.json"
    path.write_text(example_path.read_text())
    dlg = make_dialog(path, configs_dir=tmp_path)
    answers: list = []
    prompts: list[QMessageBox] = []

    def answer(box: QMessageBox):
        prompts.append(box)
        return answers.pop(0)

    monkeypatch.setattr(QMessageBox, "exec", answer)
    dlg.set_field("name", "edited here")
    assert dlg.save() and not prompts                        # nobody else wrote: saved, no question
    assert json.loads(path.read_text())["name"] == "edited here"
    theirs = json.loads(path.read_text())
    theirs["name"] = "edited elsewhere"
    path.write_text(json.dumps(theirs, indent=2))
    assert dlg.changed_on_disk()
    dlg.set_field("risk.min_confidence", 0.25)
    answers.append(QMessageBox.StandardButton.Cancel)
    assert not dlg.save()
    assert "was changed on disk" in prompts[-1].text()
    assert json.loads(path.read_text())["name"] == "edited elsewhere"          # cancelled: theirs kept
    answers.append(QMessageBox.StandardButton.Reset)
    assert not dlg.save()                                                     # reloaded: theirs in the form
    assert dlg.current_dict()["name"] == "edited elsewhere" and not dlg.is_modified()
    assert dlg.current_dict()["risk"]["min_confidence"] != 0.25
    dlg.set_field("risk.min_confidence", 0.25)
    assert dlg.save() and len(prompts) == 2                  # nothing changed on disk since the reload
    theirs = json.loads(path.read_text())
    assert theirs["name"] == "edited elsewhere" and theirs["risk"]["min_confidence"] == 0.25
    path.write_text(json.dumps({**theirs, "name": "again elsewhere"}, indent=2))
    dlg.set_field("risk.min_confidence", 0.3)
    answers.append(QMessageBox.StandardButton.Save)          # Overwrite
    assert dlg.save() and prompts[-1].button(QMessageBox.StandardButton.Save).text() == "Overwrite"
    assert json.loads(path.read_text())["name"] == "edited elsewhere"


def test_missing_and_broken_files(make_dialog, tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        make_dialog(tmp_path / "nope.json", configs_dir=tmp_path)
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": "x",,}')
    dlg = make_dialog(broken, configs_dir=tmp_path)
    assert dlg.current_section() == "Raw JSON"
    assert dlg.raw_json_error().startswith("Line 1, column 14")
    assert dlg.raw_json_editor().toPlainText() == '{"name": "x",,}'
    assert not dlg.is_valid() and dlg.is_modified()
    # mended on the Raw JSON page, the file is saved with what it now says (no default added)
    mended = {"name": "x", "symbols": ["ACME", "BOLT"],
              "backtest": {"start_date": "2024-11-25", "end_date": "2024-11-27"},
              "strategies": [{"name": "s", "class_path": "sma_crossover", "params": {"fast": 5, "slow": 20}}]}
    dlg.raw_json_editor().setPlainText(json.dumps(mended))
    dlg.revalidate()
    assert dlg.save() is True
    saved = json.loads(broken.read_text())
    assert list(saved) == list(mended) and saved["backtest"] == mended["backtest"]   # no section added
    assert saved["strategies"][0].items() >= mended["strategies"][0].items()   # a new list item: written whole


def test_split_problems_routes_cross_field_messages() -> None:
    msg = "strategies[1].symbols ['ZZ'] are not configured symbols ['A']; strategies[0].interval '7m' is bad"
    assert split_problems([("(config)", msg), ("risk.min_confidence", "too big")]) == [
        ("strategies.1.symbols", "strategies[1].symbols ['ZZ'] are not configured symbols ['A']"),
        ("strategies.0.interval", "strategies[0].interval '7m' is bad"),
        ("risk.min_confidence", "too big"),
    ]
    assert split_problems([("(config)", "the top level must be an object")]) == [
        ("(config)", "the top level must be an object")
    ]


def test_pretty_json_round_trips() -> None:
    data = json.loads(EXAMPLE.read_text())
    text = pretty_json(data)
    assert json.loads(text) == data
    assert '"symbols": ["ACME", "BOLT", "CYRX", "DYNA", "ECHO"]' in text


def test_number_fields_keep_what_is_typed_and_say_what_is_wrong(qtbot, dialog: ConfigEditorDialog) -> None:
    for path, typed, value, text in (
        ("risk.min_quality_pct", "150", 150.0, "less than or equal to 100"),
        ("execution.starting_cash", "-5000", -5000.0, "greater than 0"),
        ("backtest.prefetch_days", "45", 45, "less than or equal to 30"),
    ):
        spin = dialog.field_widget(path)
        spin.setFocus()
        spin.lineEdit().selectAll()
        qtbot.keyClicks(spin.lineEdit(), typed)
        dialog.revalidate()
        assert spin.value() == value, path  # not clamped to the range (150 used to become 15)
        label = dialog.error_label(path)
        assert label is not None and text in label.text(), path
        assert not dialog._save_button.isEnabled() and not dialog._run_button.isEnabled()
        dialog.discard_changes()
    # the arrows step inside the range
    spin = dialog.field_widget("risk.min_confidence")
    spin.setValue(0.995)
    spin.stepBy(3)
    assert spin.value() == pytest.approx(1.0)
    spin.setValue(1.5)  # from outside the range, a step brings it back in
    spin.stepBy(1)
    assert spin.value() == pytest.approx(1.0)


@pytest.mark.parametrize(
    "path, value, field, text",
    [
        ("symbols", ["ACME", "BOLT", "CYRX", "ZZZZ"], "symbols", "ZZZZ has no 1m bars in the store"),
        ("strategies.0.class_path", "no_such_pkg.mod:Strategy", "strategies.0.class_path", "cannot import module"),
        ("strategies.0.params", {"fast": 30, "slow": 20, "quantity": 100}, "strategies.0.params",
         "fast (30) must be shorter than slow (20)"),
        ("strategies.0.params", {"fsat": 5, "slow": 20}, "strategies.0.params", "fsat"),
        ("backtest.end_date", "2024-11-25", None, None),  # a valid one-day range: no problem
        ("data_source.store_path", "/nonexistent/store", None, None),  # the --store override wins
    ],
)
def test_the_editor_runs_the_engines_preflight_checks(
    dialog: ConfigEditorDialog, path: str, value, field: str | None, text: str | None
) -> None:
    dialog.set_field(path, value)
    if field is None:
        assert dialog.is_valid(), dialog.problems()
        return
    assert not dialog.is_valid() and field in [p for p, _ in dialog.problems()]
    label = dialog.error_label(field)
    assert label is not None and text in label.text()
    assert not dialog._run_button.isEnabled() and not dialog._save_button.isEnabled()
    assert "problem" in dialog._status.text()


def test_dates_without_trading_days_or_stored_bars_are_problems(dialog: ConfigEditorDialog) -> None:
    dialog.set_field("backtest.start_date", "2024-11-28")  # Thanksgiving
    dialog.set_field("backtest.end_date", "2024-11-28")
    assert "no trading days between 2024-11-28 and 2024-11-28" in dialog.error_label("backtest.start_date").text()
    dialog.set_field("backtest.start_date", "2023-03-01")
    dialog.set_field("backtest.end_date", "2023-03-03")
    assert "has no 1m bars between 2023-03-01 and 2023-03-03" in dialog.error_label("backtest.start_date").text()


def test_without_a_store_override_the_configs_store_path_is_checked(make_dialog, example_path: Path, tmp_path) -> None:
    dlg = make_dialog(example_path, configs_dir=example_path.parent, store_path=None)
    dlg.set_field("data_source.store_path", str(tmp_path / "no_store_here"))
    label = dlg.error_label("data_source.store_path")
    assert label is not None and "no bar store at" in label.text() and not dlg.is_valid()


def test_the_data_source_section_offers_raw_or_adjusted_prices(qtbot, dialog: ConfigEditorDialog) -> None:
    """`prices` is a raw/adjusted choice beside the store path; choosing adjusted puts it in the config."""
    prices = dialog.field_widget("prices")
    assert isinstance(prices, QComboBox) and [prices.itemText(i) for i in range(prices.count())] == ["raw", "adjusted"]
    assert prices.currentText() == "raw" and _raw_dict(dialog).get("prices", "raw") == "raw"  # the default
    dialog.show_field("prices")
    assert dialog.current_section() == "Data source"
    prices.setCurrentIndex(1)
    qtbot.waitUntil(lambda: _raw_dict(dialog).get("prices") == "adjusted", timeout=3000)
    assert validate_config_dict(_raw_dict(dialog)).prices == "adjusted"


def test_the_general_section_offers_regular_or_extended_session_hours(qtbot, dialog: ConfigEditorDialog) -> None:
    """`session_hours` is a regular/extended choice in General; extended on XNYS (no pre/post times in
    its calendar) is a problem at the field, naming the calendars that have them."""
    hours = dialog.field_widget("session_hours")
    assert isinstance(hours, QComboBox) and [hours.itemText(i) for i in range(hours.count())] == ["regular", "extended"]
    assert hours.currentText() == "regular"
    dialog.show_field("session_hours")
    assert dialog.current_section() == "General"
    hours.setCurrentIndex(1)
    qtbot.waitUntil(lambda: not dialog.is_valid(), timeout=5000)
    label = dialog.error_label("session_hours")
    assert label is not None and "no pre-/post-market times" in label.text() and "'NYSE'" in label.text()
    if os.environ.get("CHART_SCREENSHOT_DIR"):
        dialog.grab().save(os.path.join(os.environ["CHART_SCREENSHOT_DIR"], "config_editor_session_hours.png"))
    dialog.field_widget("exchange").setCurrentText("NYSE")
    qtbot.waitUntil(dialog.is_valid, timeout=5000)
    assert _raw_dict(dialog)["session_hours"] == "extended" and _raw_dict(dialog)["exchange"] == "NYSE"


def test_a_cleared_error_leaves_every_row_of_the_page_its_full_height(make_dialog, example_path, qtbot) -> None:
    """An error line shown under a field, then gone: the form lays its rows out again. Without it the rows
    below kept the heights of before and the Execution page's last help text was cut top and bottom (seen
    in a screenshot, 1100 x 760)."""
    dlg = make_dialog(example_path)
    dlg.resize(1100, 760)
    dlg.show()
    qtbot.waitExposed(dlg)
    dlg.show_field("execution.off_tick_prices")
    editors = [dlg.field_editor(f"execution.{name}") for name in ("intrabar_interval", "tick_size", "off_tick_prices")]

    def squeezed() -> list[str]:
        QApplication.processEvents()
        return [f"{e.path}: {e.height()} < {e.heightForWidth(e.width())}" for e in editors
                if e.height() < e.heightForWidth(e.width())]

    qtbot.waitUntil(lambda: not squeezed())
    dlg.set_field("execution.intrabar_interval", "xx")
    qtbot.waitUntil(lambda: dlg.error_label("execution.intrabar_interval") is not None)
    qtbot.waitUntil(lambda: not squeezed())
    dlg.set_field("execution.intrabar_interval", "1s")
    qtbot.wait(100)
    assert dlg.error_label("execution.intrabar_interval") is None
    assert squeezed() == []
