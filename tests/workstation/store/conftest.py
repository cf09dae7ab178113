"""Shared fixtures of the bar store tests: one calendar, the real vendor files imported once, one demo store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.shared_data import require_shared, shared_absent
from workstation.calendar import TimeManager
from workstation.store import BarStore, generate_demo, import_files


def find_real_dir() -> Path:
    """The real vendor files: $WORKSTATION_REAL_DATA, else the repository's copy, else the shared folder."""
    env = os.environ.get("WORKSTATION_REAL_DATA")
    candidates = [Path(env)] if env else []
    repo = Path(__file__).resolve().parents[3]
    candidates += [repo / "tests" / "data" / "real", repo / "data" / "real", Path("/work/shared/data/real")]
    return next((c for c in candidates if (c / "lumibot").is_dir()), candidates[-1])


REAL_DIR = find_real_dir()
REAL_FILES = sorted([*REAL_DIR.glob("lumibot/*.csv.gz"), *REAL_DIR.glob("market_prices/*.csv.gz")])
STATS_CSV = REAL_DIR / "stats" / "rth_minutes_by_symbol_day.csv"


@pytest.fixture(scope="session")
def real_dir() -> Path:
    return require_shared(REAL_DIR / "lumibot", "the real vendor files").parent


@pytest.fixture(scope="session")
def tm() -> TimeManager:
    return TimeManager("XNYS")


@pytest.fixture(scope="session")
def real_import(tmp_path_factory, tm):
    """(store, summary) after importing every real vendor file into a new store."""
    if not REAL_FILES:
        shared_absent(f"the real vendor files (*.csv.gz) are absent from {REAL_DIR}")
    store = BarStore(tmp_path_factory.mktemp("real") / "store", create=True, time_manager=tm)
    summary = import_files(REAL_FILES, store)
    return store, summary


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory, tm):
    """(store, summary) of the default demo data (5 symbols, 2024-10-01 .. 2024-12-06)."""
    root = tmp_path_factory.mktemp("demo") / "store"
    summary = generate_demo(root, time_manager=tm)
    return BarStore(root, time_manager=tm), summary
