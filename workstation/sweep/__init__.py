"""Parameter sweeps and walk-forward analysis on Ray (`workstation sweep`).

- `spec`: the sweep definition (a pydantic model of the sweep file), parameter parsing, constraints,
  expansion into cells; every bad input is reported before any task starts.
- `walk_forward`: train/test windows in trading days, stitching and the in/out-of-sample report.
- The bars reach the engine through `workstation.store.memory_store.MemoryBarStore`.
- `shipping`: which bars each cell needs, read once from the bar store and put in Ray's object store.
- `cell`: one cell = one ordinary headless engine run on a MemoryBarStore (no Ray, no Qt).
- `results`: the sweep folder (sweep.json, results.parquet, progress.json, kept run folders).
- `ray_cluster`: connecting to Ray (a local cluster, or --address checked and bounded in time) and
  the SIGINT/SIGTERM stop flag.
- `runner`: the driver: one Ray task per cell, retries, results cell by cell, stop, resume.
- `commands`: the CLI.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _CallableSweepPackage(types.ModuleType):
    """This package is also `workstation.sweep(...)`, the Python API's sweep (workstation.api.sweep): the
    attribute `sweep` of the `workstation` package is this module once it is imported, so calling it
    must run a sweep. Importing it imports neither Ray nor Qt."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from workstation.api import sweep

        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableSweepPackage
