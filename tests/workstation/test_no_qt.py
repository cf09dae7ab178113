"""The engine, the CLI and the Python API work with no Qt installed: every module under workstation/
imports, and `workstation run`, `report`, `compare` and `workstation.run()` complete, in a process
where importing PySide6, shiboken6 or pyqtgraph fails as it does when they are not installed.
The packaging puts Qt in the [gui] extra only."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

BLOCK_QT = """
import sys
class NoQt:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6", "PySide2"):
            raise ModuleNotFoundError(f"No module named {name!r} (Qt is not installed here)")
        return None
sys.meta_path.insert(0, NoQt())
"""


def run_without_qt(code: str, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-c", BLOCK_QT + code], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(cwd)})
    return done


def test_every_engine_module_imports_without_qt_and_none_pulls_it_in(tmp_path):
    code = """
import importlib, pkgutil, workstation
names = [m.name for m in pkgutil.walk_packages(workstation.__path__, "workstation.")]
for name in names:
    importlib.import_module(name)
qt = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph"))
assert not qt, qt
print(len(names))
"""
    done = run_without_qt(code, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout.strip()) > 40


def test_the_blocker_is_real(tmp_path):
    """The same process set-up refuses a Qt import (so the test above would catch one)."""
    done = run_without_qt("import ui.theme", tmp_path)
    assert done.returncode != 0 and "Qt is not installed here" in done.stderr


def test_run_report_compare_and_the_python_api_work_without_qt(tmp_path):
    code = """
from workstation.store import generate_demo
from workstation.config import save_config, validate_config_dict
from workstation.cli import main
import workstation, json
generate_demo("store", symbols=2, days=3, seed=2)
cfg = validate_config_dict({"name": "no qt", "symbols": ["ACME", "BOLT"],
    "backtest": {"start_date": "2024-12-04", "end_date": "2024-12-05"},
    "historical": {"trailing_days": 0, "warmup_bars": 0},
    "strategies": [{"name": "sma", "class_path": "sma_crossover"}], "risk": {"min_quality_pct": 0}})
save_config(cfg, "c.json")
assert main(["run", "c.json", "--store", "store", "--out", "a", "--json"]) == 0
assert main(["report", "a", "--html"]) == 0
result = workstation.run("c.json", store="store", out="b", strategies__sma__params__fast=3)
assert main(["compare", "a", "b", "--html", "--out", "cmp.html"]) == 0
print(json.dumps({"trades": len(result.trades), "fast": result.config["strategies"][0]["params"]["fast"]}))
"""
    done = run_without_qt(code, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    last = json.loads(done.stdout.strip().splitlines()[-1])
    assert last["fast"] == 3 and last["trades"] > 0
    assert (tmp_path / "a" / "report.html").is_file() and (tmp_path / "cmp.html").is_file()


def test_qt_is_only_in_the_gui_extra():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"]).lower()
    assert "pyside" not in core and "pyqtgraph" not in core and "qt" not in core
    gui = " ".join(project["optional-dependencies"]["gui"]).lower()
    assert "pyside6" in gui and "pyqtgraph" in gui
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert 'extras="[gui]"' in setup and 'extras="[gui,test]"' in setup


def test_workstation_gui_without_qt_says_what_to_install(monkeypatch, capsys):
    import importlib.util

    from ui import launcher

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("PySide6", "pyqtgraph") else real(name, *a))
    assert launcher.main([]) == 2
    err = capsys.readouterr().err
    assert "backtest-workstation[gui]" in err and "PySide6 and pyqtgraph" in err


@pytest.mark.parametrize("argv", [["--version"]])
def test_version_is_the_package_version(argv, capsys):
    import importlib.metadata

    import workstation
    from workstation.cli import main

    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"workstation {workstation.__version__}"
    assert importlib.metadata.version("backtest-workstation") == workstation.__version__
