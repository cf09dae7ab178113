"""Helpers of the fault-injection suite: run real `workstation` processes, wait on what they write."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SYMBOLS = ["ACME", "BOLT", "CYRX", "DYNA", "ECHO"]
FIRST_DAY, LAST_DAY = "2024-11-22", "2024-12-06"     # the 10 demo sessions (early close of 11-29 inside)


def workstation_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "workstation.cli", *args]


def cli_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("CI", None)
    env.update(extra)
    return env


def run_cli(*args: str, cwd: Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    """Run `workstation ARGS` in a new process and wait for it (the timeout only guards a hang)."""
    return subprocess.run(workstation_command(*args), cwd=cwd, env=cli_env(**env), capture_output=True,
                          text=True, timeout=timeout)


def start_cli(*args: str, cwd: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen(workstation_command(*args), cwd=cwd, env=cli_env(**env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for(condition, what: str, proc: subprocess.Popen | None = None, timeout: float = 120.0) -> None:
    """Poll `condition()` until true; fail (with the process's output) if the process ends first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the process ended (exit {proc.returncode}) before {what}:\n{out}\n{err}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def read_status(run_dir: Path) -> dict:
    try:
        return json.loads((run_dir / "run_status.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def config_file(path: Path, store: Path, speed: float = 0.0, **backtest) -> Path:
    cfg = {
        "name": "fault test",
        "symbols": SYMBOLS,
        "streams": {"interval": "1m", "derived": ["5m"], "indicators": ["sma(20)"]},
        "historical": {"trailing_days": 0, "warmup_bars": 0, "enable_quality": False},
        "backtest": {"start_date": FIRST_DAY, "end_date": LAST_DAY, "speed_multiplier": speed,
                     "stage_threads": False, **backtest},
        "strategies": [{"name": "cross", "class_path": "sma_crossover", "params": {"fast": 5, "slow": 20}}],
        "risk": {"min_quality_pct": 0},
        "data_source": {"store_path": str(store)},
    }
    path.write_text(json.dumps(cfg, indent=2), encoding="utf-8")
    return path


def cli_in_process(capsys, *args: str) -> tuple[int, str, str]:
    """`workstation ARGS` in this process (no interpreter start-up): (exit code, stdout, stderr)."""
    from workstation import cli

    capsys.readouterr()
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err
