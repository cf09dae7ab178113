"""Where the tests find ../shared (real market data, the peer benchmark), and what they do without it.

Outside CI a test that needs ../shared skips when it is absent (a laptop checkout without the shared
folder still runs the rest). Under CI (`CI=true`, as CI services set it) a missing ../shared FAILS the
test: the reference-agreement and real-data tests must never pass by being skipped.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = (ROOT / ".." / "shared").resolve()
BENCH = SHARED / "bench"
REAL = SHARED / "data" / "real"


def under_ci() -> bool:
    """True when the CI environment variable says so (true / 1 / yes, any case)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def shared_absent(message: str) -> NoReturn:
    """Skip the calling test because shared data is missing, or fail it under CI."""
    if under_ci():
        pytest.fail(f"{message}: under CI (CI=true) the tests that need ../shared must run, not skip; "
                    "check out the shared folder beside the repository", pytrace=False)
    pytest.skip(message)


def require_shared(path: str | os.PathLike, what: str) -> Path:
    """`path` when it exists; else skip the test, or fail it under CI."""
    path = Path(path)
    if path.exists():
        return path
    shared_absent(f"{what} is absent ({path})")
