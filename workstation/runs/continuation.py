"""Taking up a run again from its folder: the window's File → Continue a run… (no Qt).

A replay traded by hand ends when the window closes (or crashes), or when another config or a jump
replaces it; its folder keeps what it did. A continuation is a new run of the folder's config
(`config.json`: the resolved config as the run had it, its start date after a jump, its strategies on
or off) with the folder's hand orders (`manual_orders.json`, written at each hand order) applied again
at their times, taken at full speed to the last bar time the folder shows the run reached, and paused
there: the same positions, working orders, fills and equity as when it stopped (the engine is
deterministic), and the trader goes on. Its own run folder holds the earlier orders and the new ones,
so it can be continued in turn.

Where the run reached: the later of its last hand order (the bar time it followed) and the last bar
time of its written equity (written at each session's end, and up to the last bar time when the run was
stopped: the window closed, another config or a jump). A run killed in the middle of a session after its
last hand order is taken up at that order; the bars after it are replayed by Play.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from workstation.config.io import load_config
from workstation.config.models import SessionConfig
from workstation.errors import DataError
from workstation.execution.manual import MANUAL_ORDERS_FILE, ManualCommand, load_manual_orders
from workstation.run_writer import RUN_STATUS_FILE
from workstation.runs.folder import CONFIG_FILE, RunFolder, run_folders
from workstation.store.schema import STORE_FILE
from workstation.system import resolve_store_path


@dataclass(frozen=True)
class Continuation:
    """What taking up the run of folder `run_dir` again needs (`read_continuation`)."""

    run_dir: Path
    config: SessionConfig
    hand_orders: list[tuple[int, ManualCommand]]   # (at_ns, command), as load_manual_orders reads them
    resume_ns: int | None      # the bar time (start, ns UTC) to go to; None: the run never got past its start
    store: Path | None = None  # the bar store to read when the config's own path does not lead to one (below)

    @property
    def config_path(self) -> Path:
        return self.run_dir / CONFIG_FILE

    @property
    def what(self) -> str:
        """The run and its hand orders: "qa-20261207-164112 (3 hand orders)"."""
        n = len(self.hand_orders)
        return f"{self.run_dir.name} ({f'{n} hand order' + ('s' if n != 1 else '') if n else 'no hand orders'})"

    def describe(self) -> str:
        """One line for the status bar: what is taken up, and where."""
        if self.resume_ns is None:
            return f"Continuing {self.what} from its start"
        at = pd.Timestamp(self.resume_ns, tz="UTC").tz_convert(self.config.timezone)
        return f"Continuing {self.what} to {at:%a %Y-%m-%d %H:%M}"


def read_continuation(run_dir: str | Path) -> Continuation:
    """Read what a continuation of `run_dir` needs. DataError (or ConfigError / ManualOrdersFileError,
    both WorkstationErrors) naming the folder and what is wrong; nothing is changed on disk."""
    folder = RunFolder(run_dir)           # DataError when it is no folder
    path = folder.path
    if not (path / CONFIG_FILE).is_file():
        raise DataError(f"{path} is not a run folder: it has no {CONFIG_FILE} (pick the folder of a run, "
                        "e.g. runs/<config>-<date>-<time>)")
    config = load_config(path / CONFIG_FILE)
    if config.mode != "backtest":
        raise DataError(f"{path} is a live run: only a replay can be taken up again")
    orders_path = path / MANUAL_ORDERS_FILE
    hand_orders = load_manual_orders(orders_path) if orders_path.is_file() else []
    reached: list[int] = []
    if hand_orders:
        reached.append(max(at for at, _ in hand_orders) - 1)     # the bar time the last order followed
    equity = folder.table("equity", time_columns=["time"]) if folder.has("equity") else None
    if equity is not None and len(equity):
        reached.append(int(equity["time"].max().value))
    return Continuation(path, config, hand_orders, max(reached) if reached else None, _store(folder, config))


def _store(folder: RunFolder, config: SessionConfig) -> Path | None:
    """The store the run read (run_status.json records it, absolute) when the config's own path, relative
    to the working folder it ran in, leads to no store from here; None: the config's path does (or
    nothing better is known: the load then says what is missing)."""
    if (resolve_store_path(config) / STORE_FILE).is_file():
        return None
    try:
        recorded = (folder.json(RUN_STATUS_FILE) or {}).get("store")
    except DataError:
        return None                     # an unreadable status record: the config's path, as for any config
    if isinstance(recorded, str) and (Path(recorded) / STORE_FILE).is_file():
        return Path(recorded)
    return None


def newest_traded_run(runs_dir: str | Path) -> Path | None:
    """The run folder directly in `runs_dir` whose hand orders were written last (the one a trader most
    likely wants to take up), else the newest run folder; None when there is none."""
    def written(p: Path) -> tuple[bool, int, str]:
        traded = p / MANUAL_ORDERS_FILE
        try:
            return (traded.is_file(), (traded if traded.is_file() else p / CONFIG_FILE).stat().st_mtime_ns, p.name)
        except OSError:
            return (False, 0, p.name)

    return max(run_folders(runs_dir), key=written, default=None)


def continued_stem(run_name: str) -> str:
    """The stem of a continued run's folder: its run's without the date and time, "-continued" once
    ("orb-from-20210706-20261208-000033" -> "orb-from-20210706-continued", and so again when continued)."""
    base = re.sub(r"-\d{8}-\d{6}(-\d+)?$", "", run_name)
    return base if base.endswith("-continued") else f"{base}-continued"
