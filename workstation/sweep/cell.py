"""One sweep cell: an ordinary headless engine run of the cell's config, no Ray and no Qt here.

The cell's bars come from whatever store it is given (a MemoryBarStore on a Ray worker, a BarStore
in a plain process) and the SystemManager is built and run exactly as `workstation run` does, so a
cell's statistics and trades equal a plain run of the same config. With `keep_run`, the cell also
writes its run folder (RunWriter, without bars) into a temporary folder and returns its files, for
the driver to store under the sweep folder (the worker may be on another machine).

Raises CellFailed when the engine run fails (the strategy's constructor raised, the run stopped with
an error); Ray retries the cell, then the driver records the error.
"""

from __future__ import annotations

import math
import os
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from workstation.config import validate_config_dict
from workstation.errors import WorkstationError
from workstation.execution.results import trades_frame
from workstation.execution.stats import compute_stats

RUN_TIMEOUT_S = 24 * 3600.0


class CellFailed(WorkstationError):
    """The cell's engine run failed; the message says why."""


@dataclass
class CellOutcome:
    """What a finished cell reports back to the driver (small: statistics, not bars)."""

    statistics: dict
    summary: dict
    coverage_pct: float | None
    run_time_s: float
    engine_s: float
    worker: str
    run_files: dict[str, bytes] | None = field(default=None, repr=False)
    started_at: float = 0.0  # wall clock (epoch s) when the cell's task began, on the worker


def run_cell(config: dict, store, time_manager=None, keep_run: bool = False) -> CellOutcome:
    """Run `config` (a session config as JSON-ready dict) to the end on `store`; see the module docstring."""
    from workstation.run_writer import RunWriter
    from workstation.system import SystemManager

    started_at = time.time()
    t0 = time.perf_counter()
    cfg = validate_config_dict(config, "sweep cell")
    try:
        system = SystemManager(cfg, store=store, time_manager=time_manager)
    except WorkstationError as exc:
        raise CellFailed(str(exc)) from exc
    base = cfg.streams.interval
    quality: list[float] = []

    def on_session_end(_kind: str, payload: dict) -> None:
        quality.extend(float(r["quality_pct"]) for r in payload.get("quality_rows") or () if r["interval"] == base)

    system.events.subscribe("session_end", on_session_end)
    with tempfile.TemporaryDirectory(prefix="sweep-cell-") as tmp:
        writer = RunWriter(system, tmp, write_bars=False) if keep_run else None
        system.start()
        if not system.wait(RUN_TIMEOUT_S):
            system.stop()
            raise CellFailed(f"the run did not end within {RUN_TIMEOUT_S:.0f} s")
        if system.error is not None:
            raise CellFailed(f"the run failed: {type(system.error).__name__}: {system.error}")
        if system.state != "finished":
            raise CellFailed(f"the run ended {system.state} after {system.coordinator.sessions_done} of "
                             f"{len(system.sessions)} sessions")
        files = None
        if writer is not None:
            if not writer.closed:
                raise CellFailed("the run folder was not completed")
            root = Path(tmp)
            files = {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    stats = compute_stats(system.broker.equity_curve(), trades_frame(system.broker.trades),
                          cfg.execution.starting_cash, tz=cfg.timezone)
    coverage = sum(quality) / len(quality) if quality else None
    return CellOutcome(
        statistics=stats,
        summary=system.summary(),
        coverage_pct=coverage if coverage is None or math.isfinite(coverage) else None,
        run_time_s=time.perf_counter() - t0,
        engine_s=system.elapsed_s(),
        worker=f"{socket.gethostname()}:{os.getpid()}",
        run_files=files,
        started_at=started_at,
    )
