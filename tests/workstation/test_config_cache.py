"""Configs validated before (workstation.config.validated): a miss validates with the pydantic models
and remembers a valid config, a hit answers a record tree that reads, dumps, copies and answers
methods exactly as the model does, an invalid config is never remembered, a stale or damaged entry
is ignored and rewritten, and a `workstation run` of a remembered config imports no pydantic and
writes the same run folder."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from workstation import signed_json
from workstation.config import SessionConfig, validate_config_dict
from workstation.config import validated as validated_module
from workstation.config.validated import (
    ConfigRecord,
    ValidatedConfigCache,
    code_key,
    input_digest,
    validated_config,
)
from workstation.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

RICH = {
    "name": "rich", "mode": "live", "symbols": ["acme", "BOLT", "CYRX"],
    "streams": {"interval": "1m", "derived": ["15m", "5m"], "indicators": ["sma(20)", "bb(20,2)"]},
    "historical": {"trailing_days": 3, "symbols": ["ACME", "bolt"],
                   "indicators": [{"name": "hi", "kind": "max", "field": "high", "period": "52W"},
                                  {"name": "v", "kind": "avg_daily", "period": "10d", "skip_early_close": True}]},
    "backtest": {"start_date": "2024-12-02", "end_date": "2024-12-06", "stage_threads": True},
    "strategies": [{"name": "a", "class_path": "sma_crossover", "params": {"fast": 3, "slow": 9,
                                                                          "nested": {"x": [1, 2.5, None]}}},
                   {"name": "b", "class_path": "my.module:Cls", "symbols": ["bolt"], "interval": "5m",
                    "enabled": False}],
    "execution": {"participation_limit_pct": 25, "fill_rule": "close", "starting_cash": 5e5, "tick_size": 0.01,
                  "tick_sizes": {"bolt": 0.05}, "off_tick_prices": "round"},
    "live": {"provider": "alpaca", "replay": {"start": "2024-12-02T10:15:00", "speed": 5},
             "alpaca": {"feed": "sip"}, "batch_quiet_ms": None},
}
UTC_START = copy.deepcopy(RICH)
UTC_START["live"]["replay"]["start"] = "2024-12-02T15:15:00.250000Z"


def _configs() -> list[tuple[str, dict]]:
    files = sorted(p for p in (ROOT / "session_configs").glob("*.json") if ".drawings." not in p.name)
    return [(p.name, json.loads(p.read_text())) for p in files] + [("rich", RICH), ("utc start", UTC_START)]


def _pairs(model, record, path="cfg"):
    """Every (path, model node, record node) of the two trees, models and records included."""
    yield path, model, record
    for name in type(model).model_fields:
        value, other = getattr(model, name), getattr(record, name)
        if hasattr(type(value), "model_fields"):
            yield from _pairs(value, other, f"{path}.{name}")
        elif isinstance(value, list) and value and hasattr(type(value[0]), "model_fields"):
            assert len(value) == len(other), f"{path}.{name}"
            for i, (v, o) in enumerate(zip(value, other, strict=True)):
                yield from _pairs(v, o, f"{path}.{name}[{i}]")


@pytest.fixture
def cache(tmp_path) -> ValidatedConfigCache:
    return ValidatedConfigCache(tmp_path / "cache")


@pytest.mark.parametrize("name,data", _configs(), ids=[n for n, _ in _configs()])
def test_a_remembered_config_reads_dumps_and_answers_as_the_model_does(cache, name, data):
    model = validated_config(copy.deepcopy(data), name, cache)
    assert isinstance(model, SessionConfig)                   # a miss: the models validated it
    record = validated_config(copy.deepcopy(data), name, cache)
    assert isinstance(record, ConfigRecord) and not isinstance(record, SessionConfig)
    assert record.model_dump() == model.model_dump()
    assert record.model_dump(mode="json") == model.model_dump(mode="json")
    assert json.dumps(record.model_dump(mode="json")) == json.dumps(model.model_dump(mode="json"))
    for path, m, r in _pairs(model, record):
        assert isinstance(r, ConfigRecord) and r._record_kind == type(m).__name__, path
        assert r.model_fields_set == m.model_fields_set, path
        for field in type(m).model_fields:
            mine, theirs = getattr(r, field), getattr(m, field)
            if not hasattr(type(theirs), "model_fields") and not (
                    isinstance(theirs, list) and theirs and hasattr(type(theirs[0]), "model_fields")):
                assert mine == theirs and type(mine) is type(theirs) or (
                    isinstance(theirs, dt.datetime) and type(mine) is dt.datetime), f"{path}.{field}"
    for st, st_model in zip(record.strategies, model.strategies, strict=True):
        assert record.strategy_symbols(st) == model.strategy_symbols(st_model)
        assert st.import_path() == st_model.import_path()
    assert record.historical_symbols() == model.historical_symbols()
    assert record.live.quiet_ms() == model.live.quiet_ms()
    for symbol in model.symbols:
        assert record.execution.tick_for(symbol) == model.execution.tick_for(symbol)
    assert record.live.alpaca.stream_url() == model.live.alpaca.stream_url()
    assert record == validated_config(copy.deepcopy(data), name, cache)


def test_a_copy_of_a_record_takes_assignments_as_the_model_does_and_leaves_the_original(cache):
    validated_config(copy.deepcopy(RICH), "rich", cache)
    record = validated_config(copy.deepcopy(RICH), "rich", cache)
    model = validate_config_dict(copy.deepcopy(RICH))
    before = record.model_dump(mode="json")
    for cfg in (record, model):
        changed = cfg.model_copy(deep=True)
        changed.backtest.start_date = dt.date(2024, 12, 3)
        changed.live.replay.start = dt.datetime(2024, 12, 3, 9, 45)
        changed.strategies[1].enabled = True
        changed.execution.fill_rule = "next_open"
        changed.gap_filler.max_retries = 4                                  # a field the file did not set
        if cfg is record:
            record_changed = changed
        else:
            model_changed = changed
    assert record_changed.model_dump(mode="json") == model_changed.model_dump(mode="json")
    assert record_changed.model_dump() == model_changed.model_dump()
    for path, m, r in _pairs(model_changed, record_changed):
        assert r.model_fields_set == m.model_fields_set, path
    assert "max_retries" in record_changed.gap_filler.model_fields_set
    assert record.model_dump(mode="json") == before                      # the original is untouched
    with pytest.raises(AttributeError, match="has no field 'spedd'"):
        record_changed.backtest.spedd = 3


def test_an_invalid_config_is_never_remembered(cache):
    bad = {**copy.deepcopy(RICH), "symbols": ["ACME", "ACME"]}
    for _ in range(2):
        with pytest.raises(ConfigError, match="duplicate symbol"):
            validated_config(copy.deepcopy(bad), "bad.json", cache)
    assert not cache.folder.exists() or list(cache.folder.iterdir()) == []


def test_a_config_this_cache_cannot_key_is_left_to_the_models(cache):
    """JSON may escape a lone surrogate ("\\ud800"): no UTF-8 text, so no digest (it raised
    UnicodeEncodeError, a traceback instead of the config's problem); the models report it."""
    data = {**copy.deepcopy(RICH), "name": json.loads('"odd \\ud800 name"')}
    assert input_digest(data) is None
    for _ in range(2):
        with pytest.raises(ConfigError, match="name: Input should be a valid string"):
            validated_config(copy.deepcopy(data), "odd.json", cache)
    assert not cache.folder.exists() or list(cache.folder.iterdir()) == []


def test_without_a_cache_every_config_is_validated_by_the_models():
    assert isinstance(validated_config(copy.deepcopy(RICH), "rich", None), SessionConfig)
    assert isinstance(validated_config(copy.deepcopy(RICH), "rich", None), SessionConfig)
    assert validated_module.config_cache(None) is None


def test_a_remembered_config_is_stale_once_the_code_that_validated_it_changes(tmp_path, monkeypatch):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "a.py").write_text("A = 1\n")
    (package / "sub" / "b.py").write_text("B = 1\n")
    monkeypatch.setattr(validated_module, "_PACKAGE_ROOT", package)
    first = code_key()
    assert code_key() == first
    (package / "sub" / "b.py").write_text("B = 22\n")                      # an edit
    second = code_key()
    assert second != first
    os.utime(package / "a.py", ns=(1, 1))                                   # a file replaced by an older one
    assert code_key() != second

    old = ValidatedConfigCache(tmp_path / "cache", key=first)
    old.write(input_digest(RICH), validate_config_dict(copy.deepcopy(RICH)))
    new = ValidatedConfigCache(tmp_path / "cache", key=second)
    assert new.read(input_digest(RICH)) is None
    assert isinstance(validated_config(copy.deepcopy(RICH), "rich", new), SessionConfig)
    assert isinstance(validated_config(copy.deepcopy(RICH), "rich", new), ConfigRecord)   # rewritten for it


@pytest.mark.parametrize("damage", ["truncated", "not json", "edited", "another config", "a list", "no root"])
def test_a_damaged_entry_is_ignored_validated_again_and_rewritten(cache, damage):
    validated_config(copy.deepcopy(RICH), "rich", cache)
    path = cache.path_for(input_digest(RICH))
    text = path.read_text()
    document = json.loads(text)
    if damage == "truncated":
        path.write_text(text[: len(text) // 2])
    elif damage == "not json":
        path.write_bytes(b"\x00\xff" * 10)
    elif damage == "edited":                                # valid JSON, its digest no longer matches
        path.write_text(text.replace('"starting_cash":500000.0', '"starting_cash":1.0'))
        assert path.read_text() != text
    elif damage == "another config":                        # whole and signed, but made for another input
        document.pop("sha256")
        document["input"] = "0" * 64
        document["sha256"] = signed_json.digest(document)
        path.write_text(json.dumps(document))
    elif damage == "a list":
        path.write_text("[1, 2]")
    else:                                                   # whole and signed, but no SessionConfig at its root
        document.pop("sha256")
        document["shapes"] = [s for s in document["shapes"] if s[0]]
        document["sha256"] = signed_json.digest(document)
        path.write_text(json.dumps(document))
    again = validated_config(copy.deepcopy(RICH), "rich", cache)
    assert isinstance(again, SessionConfig)                 # validated by the models again
    assert again.execution.starting_cash == 5e5
    assert json.loads(path.read_text()) == json.loads(text)       # and rewritten whole
    assert isinstance(validated_config(copy.deepcopy(RICH), "rich", cache), ConfigRecord)


def test_the_folder_keeps_the_most_recently_used_entries(cache, monkeypatch):
    monkeypatch.setattr(validated_module, "MAX_ENTRIES", 3)
    datas = [{**copy.deepcopy(RICH), "name": f"c{i}"} for i in range(5)]
    for i, data in enumerate(datas):
        validated_config(copy.deepcopy(data), "c", cache)
        os.utime(cache.path_for(input_digest(data)), ns=(10**18 + i, 10**18 + i))
    kept = {p.name for p in cache.folder.iterdir()}
    assert kept == {f"{input_digest(d)}.json" for d in datas[2:]}
    validated_config(copy.deepcopy(datas[2]), "c", cache)   # a hit: now the most recent
    validated_config(copy.deepcopy(datas[0]), "c", cache)   # a miss: written, the oldest (c3) goes
    assert {p.name for p in cache.folder.iterdir()} == {f"{input_digest(d)}.json" for d in (datas[0], datas[2], datas[4])}


def test_an_unwritable_cache_costs_only_the_validation(tmp_path, caplog):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    cache = ValidatedConfigCache(blocked)
    for _ in range(2):
        assert isinstance(validated_config(copy.deepcopy(RICH), "rich", cache), SessionConfig)
    assert cache.write_failed
    assert sum("config cache: cannot write" in r.getMessage() for r in caplog.records) == 1


RUN = """
import sys
from workstation.cli import main
code = main(["run", "c.json", "--store", "store", "--out", sys.argv[1], "--overwrite", "--start", "2024-12-04"])
print("PYDANTIC", "pydantic" in sys.modules, "pydantic_core" in sys.modules)
sys.exit(code)
"""


def test_a_run_of_a_remembered_config_imports_no_pydantic_and_writes_the_same_folder(tmp_path):
    from workstation.config import save_config
    from workstation.runs import load_run
    from workstation.store import generate_demo

    generate_demo(tmp_path / "store", symbols=3, days=4, seed=5)
    save_config(validate_config_dict({
        "name": "cached", "symbols": ["ACME", "BOLT", "CYRX"],
        "streams": {"interval": "1m", "derived": ["5m"], "indicators": ["sma(20)"]},
        "backtest": {"start_date": "2024-12-03", "end_date": "2024-12-05"},
        "historical": {"trailing_days": 1, "warmup_bars": 20}, "risk": {"min_quality_pct": 0},
        "strategies": [{"name": "sma", "class_path": "sma_crossover", "params": {"fast": 3, "slow": 8}}]}),
        tmp_path / "c.json")

    def run(out: str, cache: str) -> str:
        done = subprocess.run([sys.executable, "-c", RUN, out], cwd=tmp_path, capture_output=True, text=True,
                              timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT), "WORKSTATION_CACHE_DIR": cache})
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout.splitlines()[-1]

    cache = str(tmp_path / "cache")
    assert run("cold", cache) == "PYDANTIC True True"
    assert run("warm", cache) == "PYDANTIC False False"
    assert run("off", "") == "PYDANTIC True True"           # no cache: the models, as before
    cold, warm, off = (load_run(tmp_path / name) for name in ("cold", "warm", "off"))
    assert len(cold.trades) > 0
    for other in (warm, off):
        assert other.trades.equals(cold.trades) and other.orders.equals(cold.orders)
        assert other.equity.equals(cold.equity)
    texts = {(tmp_path / name / "config.json").read_text() for name in ("cold", "warm", "off")}
    assert len(texts) == 1 and json.loads(texts.pop())["backtest"]["start_date"] == "2024-12-04"
