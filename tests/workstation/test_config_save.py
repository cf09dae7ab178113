"""What an editor saves (config.save_config_edits): the file's own entries and the user's changes,
never the defaults a form filled in; the file always validates to the config that was edited."""

from __future__ import annotations

import json
from pathlib import Path

from workstation.config import config_for_bars, load_config, save_config_edits, validate_config_dict

SHORT = {
    "name": "short",
    "symbols": ["ACME", "BOLT"],
    "backtest": {"start_date": "2024-11-25", "end_date": "2024-11-27"},
    "strategies": [{"name": "s", "class_path": "sma_crossover", "params": {"fast": 5, "slow": 20}}],
}


def form_of(data: dict) -> dict:
    """What a form shows for `data`: every entry, the defaults filled in (the model's full dump)."""
    return validate_config_dict(data).model_dump(mode="json")


def save(tmp_path: Path, edited: dict, file_data: dict, shown: dict) -> dict:
    path = tmp_path / "cfg.json"
    cfg = validate_config_dict(edited)
    written = save_config_edits(cfg, edited, file_data, shown, path)
    assert json.loads(path.read_text()) == written
    assert load_config(path).model_dump(mode="json") == cfg.model_dump(mode="json")
    return written


def test_saving_an_unchanged_short_config_keeps_it_as_it_was(tmp_path):
    shown = form_of(SHORT)
    assert len(json.dumps(shown, indent=2).splitlines()) > 100      # what the form holds
    assert save(tmp_path, shown, SHORT, shown) == SHORT


def test_a_changed_default_is_written_alone_and_normalised(tmp_path):
    shown = form_of(SHORT)
    edited = json.loads(json.dumps(shown))
    edited["execution"]["slippage_bps"] = 2.5                      # a section the file lacked
    edited["symbols"] = ["acme", "BOLT"]                          # the model upper-cases symbols
    edited["strategies"][0]["interval"] = "5m"                      # inside a list item
    edited["streams"]["derived"] = ["5m"]
    written = save(tmp_path, edited, SHORT, shown)
    assert written == {**SHORT, "streams": {"derived": ["5m"]},
                       "strategies": [{**SHORT["strategies"][0], "interval": "5m"}],
                       "execution": {"slippage_bps": 2.5}}
    assert list(written) == ["name", "symbols", "streams", "backtest", "strategies", "execution"]  # model order


def test_a_whole_number_in_a_float_field_stays_as_written(tmp_path):
    data = {**SHORT, "risk": {"max_position_qty": 1000}, "backtest": {**SHORT["backtest"], "speed_multiplier": 0}}
    shown = form_of(data)
    assert shown["risk"]["max_position_qty"] == 1000.0 and isinstance(shown["risk"]["max_position_qty"], float)
    written = save(tmp_path, shown, data, shown)
    assert json.dumps(written["risk"]) == '{"max_position_qty": 1000}'
    assert json.dumps(written["backtest"]["speed_multiplier"]) == "0"


def test_an_entry_the_file_had_stays_even_at_its_default(tmp_path):
    data = {**SHORT, "execution": {"slippage_bps": 0.0, "allow_short": False}}
    shown = form_of(data)
    assert save(tmp_path, shown, data, shown) == data


def test_a_new_list_item_is_written_whole(tmp_path):
    shown = form_of(SHORT)
    edited = json.loads(json.dumps(shown))
    added = {"name": "t", "class_path": "rsi_reversion", "params": {}, "symbols": ["ACME"], "interval": "1m",
             "enabled": True}
    edited["strategies"].append(added)
    assert save(tmp_path, edited, SHORT, shown)["strategies"] == [SHORT["strategies"][0], added]


def test_a_form_default_that_is_not_the_models_writes_the_whole_config(tmp_path):
    shown = form_of(SHORT)
    shown["execution"]["slippage_bps"] = 3.0       # the form showed a default the model does not have
    edited = json.loads(json.dumps(shown))
    written = save(tmp_path, edited, SHORT, shown)
    assert written == validate_config_dict(edited).model_dump(mode="json")
    assert written["execution"]["slippage_bps"] == 3.0


def test_a_config_for_imported_bars_is_the_templates_settings_on_their_symbols_and_dates():
    example = json.loads((Path(__file__).resolve().parents[2] / "session_configs" / "example_session.json")
                         .read_text())
    template = json.loads(json.dumps(example))
    data = config_for_bars(template, ["spy", "QQQ"], "2021-07-01", "2021-08-13", "/data/imports")
    assert template == example                                   # the template is left as it was
    cfg = validate_config_dict(data)
    assert cfg.symbols == ["SPY", "QQQ"] and data["name"] == "SPY, QQQ 2021-07-01 to 2021-08-13"
    assert (str(cfg.backtest.start_date), str(cfg.backtest.end_date)) == ("2021-07-01", "2021-08-13")
    assert cfg.data_source.store_path == "/data/imports"
    # the example's RSI strategy names two demo symbols: none is configured now, so it trades all
    assert [st.symbols for st in cfg.strategies] == ["all", "all"]
    assert example["strategies"][1]["symbols"] == ["ACME", "CYRX"]
    # a list that keeps some configured symbols keeps those; everything else is the template's
    kept = config_for_bars(example, ["CYRX", "ZZZ"], "2024-11-25", "2024-11-26")
    assert kept["strategies"][1]["symbols"] == ["CYRX"] and kept["data_source"] == example["data_source"]
    assert {k: v for k, v in kept.items() if k not in ("symbols", "name", "backtest", "strategies")} == {
        k: v for k, v in example.items() if k not in ("symbols", "name", "backtest", "strategies")}
    assert kept["backtest"] == {**example["backtest"], "start_date": "2024-11-25", "end_date": "2024-11-26"}
    # bars of another exchange: its calendar and time zone
    london = config_for_bars(example, ["VOD"], "2024-03-04", "2024-03-08", "/data/lse", exchange="XLON")
    assert (london["exchange"], london["timezone"]) == ("XLON", "Europe/London")
    assert validate_config_dict(london).exchange == "XLON"
    assert config_for_bars(example, ["VOD"], "2024-03-04", "2024-03-08", exchange="XNYS")["timezone"] == \
        example["timezone"]
