"""Fixtures for whole-run tests: stores built from the peer benchmark's generator, the demo
generator and the real files in ../shared/data/real (skipped when shared/ is absent, failed under CI)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.shared_data import require_shared

ROOT = Path(__file__).resolve().parents[2]
SHARED = (ROOT / ".." / "shared").resolve()
BENCH = SHARED / "bench"
REAL = SHARED / "data" / "real"


@pytest.fixture(scope="session")
def bench_modules():
    """make_bars, reference_trades and bench_common from ../shared/bench."""
    require_shared(BENCH / "reference_trades.py", "../shared/bench")
    sys.path.insert(0, str(BENCH))
    import bench_common
    import make_bars
    import reference_trades

    return make_bars, reference_trades, bench_common


@pytest.fixture(scope="session")
def real_dir() -> Path:
    return require_shared(REAL, "../shared/data/real")
