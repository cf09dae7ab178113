"""A benchmark's scratch folder (data, stores, run folders): removed when the benchmark exits, after
a failure too, unless kept. Each run of bench_backtest.py used to leave 10-50 MB in /tmp."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path


def scratch_dir(prefix: str, keep: bool = False) -> Path:
    """A new temporary folder named `prefix`...; `keep`: leave it (its path is printed)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if keep:
        print(f"keeping {path}")
    else:
        atexit.register(shutil.rmtree, path, True)
    return path
