"""Fixtures for whole-run tests: stores built from the peer benchmark's generator, the demo
generator and the real files in ../shared/data/real (skipped cleanly when shared/ is absent)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = (ROOT / ".." / "shared").resolve()
BENCH = SHARED / "bench"
REAL = SHARED / "data" / "real"


@pytest.fixture(scope="session")
def bench_modules():
    """make_bars, reference_trades and bench_common from ../shared/bench."""
    if not (BENCH / "reference_trades.py").exists():
        pytest.skip("../shared/bench is absent")
    sys.path.insert(0, str(BENCH))
    import bench_common
    import make_bars
    import reference_trades

    return make_bars, reference_trades, bench_common


@pytest.fixture(scope="session")
def real_dir() -> Path:
    if not REAL.exists():
        pytest.skip("../shared/data/real is absent")
    return REAL
