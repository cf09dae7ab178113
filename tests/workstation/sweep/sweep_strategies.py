"""Strategies for the sweep tests, imported by Ray workers through their class_path."""

from __future__ import annotations

import os
from pathlib import Path

from workstation.strategies.sma_crossover import SmaCrossover


def attempts_file(log_dir: str | Path, fast: int, slow: int, explode: bool, flaky: bool) -> Path:
    return Path(log_dir) / f"fast{fast}-slow{slow}-explode{explode}-flaky{flaky}.log"


# The sweep driver builds each cell's strategies once to plan the warm-up data it ships
# (pipeline.warmup.config_warmup_counts); those constructions are not attempts of a cell. The tests
# set this variable to the driver's pid before they run a sweep in-process.
DRIVER_PID_ENV = "SWEEP_TEST_DRIVER_PID"


class CountedSma(SmaCrossover):
    """SMA crossover that appends a line per construction in a Ray worker to a file in `log_dir` (to
    count attempts across worker processes); `explode` makes the constructor raise; `flaky` makes
    only the first construction of that parameter set raise. In the sweep driver it is a plain
    crossover."""

    def __init__(self, name, symbols, interval, fast: int = 5, slow: int = 20, quantity: float = 100,
                 log_dir: str = "", explode: bool = False, flaky: bool = False):
        if str(os.getpid()) == os.environ.get(DRIVER_PID_ENV):
            super().__init__(name, symbols, interval, fast=fast, slow=slow, quantity=quantity)
            return
        attempts = 1
        if log_dir:
            path = attempts_file(log_dir, fast, slow, explode, flaky)
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(f"{os.getpid()}\n")
            attempts = len(path.read_text(encoding="utf-8").splitlines())
        if explode:
            raise RuntimeError("exploding on purpose")
        if flaky and attempts == 1:
            raise RuntimeError("failing the first attempt on purpose")
        super().__init__(name, symbols, interval, fast=fast, slow=slow, quantity=quantity)
