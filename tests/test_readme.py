"""The README keeps its promises: two set-up commands first, CI runs the second, the strategy
example runs, and the config reference covers every field of the config."""

from __future__ import annotations

import re
from pathlib import Path

from workstation.config import validate_config_dict

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(lang: str = "") -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_first_block_has_exactly_the_two_setup_commands_and_ci_runs_the_second():
    first = re.search(r"```[a-z]*\n(.*?)```", README, flags=re.S).group(1)
    lines = [ln for ln in first.splitlines() if ln.strip()]
    assert lines == ["bash scripts/start.sh", "bash scripts/test.sh"]
    for line in lines:
        assert (ROOT / line.split()[1]).exists()
    assert lines[1] in (ROOT / ".ci" / "run").read_text()


def test_config_reference_lists_every_field():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "config_reference.py")], capture_output=True,
                         text=True, check=True).stdout
    for row in out.splitlines()[2:]:
        assert row in README, f"README config reference is stale; rerun scripts/config_reference.py: {row}"


def test_strategy_example_runs(tmp_path):
    code = next(b for b in _blocks("python") if "class Breakout" in b)
    module = tmp_path / "readme_breakout.py"
    module.write_text(code, encoding="utf-8")
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        from workstation.store import BarStore, generate_demo
        from workstation.system import SystemManager

        generate_demo(tmp_path / "store", symbols=2, seed=4)
        cfg = validate_config_dict({
            "name": "readme example", "symbols": ["ACME", "BOLT"],
            "backtest": {"start_date": "2024-11-25", "end_date": "2024-11-26"},
            "historical": {"trailing_days": 0, "warmup_bars": 0},
            "strategies": [{"name": "breakout", "class_path": "readme_breakout:Breakout",
                            "params": {"lookback": 30}}],
            "risk": {"min_quality_pct": 0},
        })
        system = SystemManager(cfg, store=BarStore(tmp_path / "store"))
        system.start()
        assert system.wait(60) and system.error is None
        s = system.summary()
        assert s["strategy_errors"] == {"breakout": 0}
        assert s["signals"] > 0
    finally:
        sys.path.remove(str(tmp_path))
