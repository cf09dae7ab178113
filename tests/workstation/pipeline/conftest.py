"""Fixtures shared by the pipeline tests."""

from __future__ import annotations

import pytest

from workstation.store import BarStore, generate_demo


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> BarStore:
    """A demo store of 2 symbols and 3 sessions (seed 4), one per test module; a module that needs other
    data defines its own `store`."""
    root = tmp_path_factory.mktemp("pipeline") / "store"
    generate_demo(root, symbols=2, days=3, seed=4)
    return BarStore(root)
