"""Items 3 and 11: a full disk or a read-only store stops a run or an import with a clear message, a
non-zero exit and a report of what was written, and leaves nothing half-written.

The full disk is a real tmpfs of a few hundred KB when the machine allows mounts; otherwise ENOSPC is
injected at the Parquet write call after the same number of successful writes. The read-only store
is a real read-only bind mount, or EROFS injected at the lock file's creation.
"""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.faults.helpers import SYMBOLS, cli_in_process, config_file
from workstation.run_writer import run_folder_status
from workstation.store import BarStore

SESSIONS = 10


def _full_disk_after(monkeypatch, good_writes: int, marker: str = "") -> None:
    """Inject ENOSPC into every Parquet write (whose path contains `marker`) after `good_writes`;
    `monkeypatch.undo()` frees the space again. Both ways a Parquet file is written are covered:
    pyarrow.parquet.write_table and the run folder's arrow_tables.write_parquet (which
    atomic_files calls without importing pyarrow.parquet)."""
    from workstation import arrow_tables

    count = {"n": 0}

    def failing(real):
        def write(table, where, **options):
            if marker in str(where):
                count["n"] += 1
                if count["n"] > good_writes:
                    raise OSError(errno.ENOSPC, "No space left on device", str(where))
            return real(table, where, **options)
        return write

    monkeypatch.setattr(pq, "write_table", failing(pq.write_table))
    monkeypatch.setattr(arrow_tables, "write_parquet", failing(arrow_tables.write_parquet))


class FullDisk:
    """A folder on which writes fail with ENOSPC: a real tmpfs of `size_kb`, or (when this machine
    refuses mounts) a plain folder with ENOSPC injected after `good_writes`. `free()` adds space."""

    def __init__(self, small_filesystem, tmp_path, size_kb: int, good_writes: int, marker: str):
        self._small = small_filesystem
        self._patch = pytest.MonkeyPatch()
        self.real = True
        self.path = small_filesystem.mount(size_kb)
        if self.path is None:
            self.real = False
            _full_disk_after(self._patch, good_writes, marker)
            self.path = tmp_path / "injected"
            self.path.mkdir()

    def free(self) -> None:
        if self.real:
            self._small.resize(self.path, 16384)
        self._patch.undo()


@pytest.fixture
def full_disk(small_filesystem, tmp_path):
    disks: list[FullDisk] = []

    def make(size_kb: int, good_writes: int, marker: str = "") -> FullDisk:
        disks.append(FullDisk(small_filesystem, tmp_path, size_kb, good_writes, marker))
        return disks[-1]

    yield make
    for disk in disks:
        disk._patch.undo()


def _failed_run_on(disk, tmp_path, demo_store, capsys) -> tuple[Path, str, str, dict]:
    """`workstation run` of the demo config into a run folder on `disk`, which must fail with exit 1 and
    the reason; (the run folder, stdout, stderr, its run_status.json)."""
    out = disk.path / "run"
    cfg = config_file(tmp_path / "cfg.json", demo_store)
    code, stdout, err = cli_in_process(capsys, "run", str(cfg), "--out", str(out))
    assert code == 1
    assert "could not be written" in err and "the disk is full" in err and "Traceback" not in err
    assert "marked incomplete" in err
    status = json.loads((out / "run_status.json").read_text())
    assert status["complete"] is False and status["state"] == "failed"
    assert "the disk is full" in status["write_error"]
    return out, stdout, err, status


def test_disk_full_mid_run_stops_it_with_a_report(tmp_path, demo_store, full_disk, capsys, monkeypatch):
    from workstation.run_writer import RunWriter

    monkeypatch.setattr(RunWriter, "COALESCE_S", 0.0)     # a part per session: the disk fills mid-run
    monkeypatch.chdir(tmp_path)
    disk = full_disk(400, good_writes=4, marker="bars.parquet")
    out, stdout, err, status = _failed_run_on(disk, tmp_path, demo_store, capsys)
    assert "Written before that: bars.parquet (" in err
    written = status["sessions_done"]
    assert 1 <= written < SESSIONS                  # stopped at once, not after the remaining sessions
    parts = sorted(p.name for p in (out / "bars.parquet").iterdir())
    assert 1 <= len(parts) <= written and parts == [f"part-{k:04d}.parquet" for k in range(1, len(parts) + 1)]
    assert len(pd.read_parquet(out / "bars.parquet")) > 0      # what was written is whole and readable
    assert not [p for p in out.rglob("*.tmp")]                 # no half-written temporary file is left
    folder = run_folder_status(out)
    assert not folder.complete and "INCOMPLETE" in folder.message and "writing it failed" in folder.message
    if (out / "report.txt").is_file():                          # written when the small files still fit
        report = (out / "report.txt").read_text()
        assert "state running" not in report and "WRITE FAILED" in report
    assert "state running" not in stdout


def test_a_full_disk_under_sessions_sharing_a_part_fails_the_run_with_nothing_half_written(
        tmp_path, demo_store, full_disk, capsys, monkeypatch):
    """By default the sessions of a fast run share parts: the first of them cannot be written, so
    the run fails with the reason, no bars are left half-written and the folder is incomplete."""
    monkeypatch.chdir(tmp_path)
    out, stdout, err, _status = _failed_run_on(full_disk(64, good_writes=0, marker="bars.parquet"), tmp_path,
                                               demo_store, capsys)
    assert "bars.parquet/part-" in err
    assert not list(out.glob("bars.parquet/*.parquet")) and not [p for p in out.rglob("*.tmp")]
    assert not run_folder_status(out).complete and "state running" not in stdout


def test_writer_closes_at_once_after_a_failed_write(tmp_path, demo_store, monkeypatch):
    """No wait for a writer that never closes: the last event closes it, failed or not."""
    from workstation.config import load_config
    from workstation.run_writer import RunWriter
    from workstation.system import SystemManager

    _full_disk_after(monkeypatch, good_writes=2, marker="bars.parquet")
    cfg = load_config(config_file(tmp_path / "cfg.json", demo_store))
    system = SystemManager(cfg, store_path=demo_store)
    writer = RunWriter(system, tmp_path / "run", coalesce_s=0)
    system.start()
    assert system.wait(120)
    assert writer.closed and writer.failed                     # closed when the run's end event returned
    assert system.coordinator.sessions_done < SESSIONS
    assert "part-0003.parquet" in writer.write_error


def test_import_into_a_full_disk_reports_what_was_stored(tmp_path, demo_store, full_disk, capsys):
    bars = BarStore(demo_store).read_bars(None, "1m", 0, 2**62)
    source = tmp_path / "bars.csv"
    bars[["symbol", "timestamp", "open", "high", "low", "close", "volume"]].to_csv(source, index=False)
    disk = full_disk(200, good_writes=4, marker="interval=1m")
    store = disk.path / "store"
    code, _, err = cli_in_process(capsys, "import", str(source), "--store", str(store))
    assert code == 2 and "Traceback" not in err
    assert "the disk is full" in err and "were written completely before it" in err
    assert "were not written" in err and "run the same command again" in err
    stored = BarStore(store).read_bars(None, "1m", 0, 2**62)
    assert 0 < len(stored) < len(bars)                          # whole date files only
    days = stored["timestamp"].dt.tz_convert("America/New_York").dt.date
    expected = bars[bars["timestamp"].dt.tz_convert("America/New_York").dt.date.isin(set(days))]
    assert len(stored) == len(expected)                         # every date written is complete
    assert not [p for p in store.rglob("*.tmp")]
    disk.free()                 # free space and run the same import again: it completes, skipping what is stored
    code, out, err = cli_in_process(capsys, "import", str(source), "--store", str(store), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["rows_stored"] == len(bars) - len(stored)
    assert len(BarStore(store).read_bars(None, "1m", 0, 2**62)) == len(bars)


def test_read_only_store(tmp_path, demo_store, read_only, capsys, monkeypatch):
    store = tmp_path / "store"
    shutil.copytree(demo_store, store)
    view = read_only(store)
    if view is None:                                            # inject what a read-only mount answers
        from workstation.store import lock

        real_open = lock.os.open

        def refuse(path, flags, *args):
            if str(path).endswith(".write.lock"):
                raise OSError(errno.EROFS, "Read-only file system", str(path))
            return real_open(path, flags, *args)

        monkeypatch.setattr(lock.os, "open", refuse)
        view = store
    source = tmp_path / "NEWS.csv"
    source.write_text("timestamp,open,high,low,close,volume\n2024-12-06T14:30:00Z,10,11,9,10,100\n")
    before = sorted(p.relative_to(store) for p in store.rglob("*"))
    code, _, err = cli_in_process(capsys, "import", str(source), "--store", str(view))
    assert code == 2 and "read-only" in err and "Nothing was written" in err and "Traceback" not in err
    assert sorted(p.relative_to(store) for p in store.rglob("*")) == before
    # reading a read-only store works: a backtest runs on it
    monkeypatch.chdir(tmp_path)
    cfg = config_file(tmp_path / "cfg.json", view)
    code, _, err = cli_in_process(capsys, "run", str(cfg), "--out", str(tmp_path / "run"), "--end", "2024-11-22")
    assert code == 0, err


@pytest.mark.parametrize("room", ["none", "in place"])
def test_a_full_disk_at_the_end_leaves_no_report_saying_in_progress(tmp_path, demo_store, monkeypatch, room):
    """The run's end finds the disk full: report.txt and metrics.json of the last session (which say "in
    progress") are rewritten in their own blocks when the final text fits, else removed; never left stale."""
    from workstation import run_writer as rw
    from workstation.config import load_config
    from workstation.system import SystemManager

    _full_disk_after(monkeypatch, good_writes=2, marker="bars.parquet")
    real_atomic = rw._atomic_text

    def atomic_text(text, path):
        if rw.RUN_STATUS_FILE not in str(path) and list((tmp_path / "run").glob("bars.parquet/part-0002*")) \
                and "WRITE FAILED" in text:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_atomic(text, path)

    monkeypatch.setattr(rw, "_atomic_text", atomic_text)
    if room == "in place":      # the earlier files are big enough to take the final text in their blocks
        real_render = rw.render_report

        def render(*args, in_progress=False, **kwargs):
            text = real_render(*args, in_progress=in_progress, **kwargs)
            return text + " " * 20000 if in_progress else text
        monkeypatch.setattr(rw, "render_report", render)
    cfg = load_config(config_file(tmp_path / "cfg.json", demo_store))
    system = SystemManager(cfg, store_path=demo_store)
    writer = rw.RunWriter(system, tmp_path / "run", coalesce_s=0)
    system.start()
    assert system.wait(120) and writer.closed and writer.failed
    report = tmp_path / "run" / "report.txt"
    if room == "none":
        assert not report.exists()
        assert "report.txt" in writer.not_written_at_end
    else:
        text = report.read_text()
        assert "WRITE FAILED" in text and "in progress" not in text and "state running" not in text
    status = json.loads((tmp_path / "run" / rw.RUN_STATUS_FILE).read_text())
    assert status["state"] == "failed" and status["complete"] is False


def test_a_hand_order_whose_file_cannot_be_written_stops_the_run_and_is_written_at_its_end(
        tmp_path, demo_store, monkeypatch):
    """manual_orders.json is written at each hand order; when that write fails (disk full) the run stops
    as for any failed write (the error names the file), and the run's end writes the orders again, as it
    tries every file a failed run still owes: the hand order is not lost once the disk has room."""
    import time

    import workstation.run_writer as run_writer
    from workstation.config import load_config
    from workstation.execution.manual import SubmitOrder, load_manual_orders
    from workstation.system import SystemManager

    real = run_writer._atomic_text
    refused = []

    def atomic_text(text: str, path: Path) -> None:
        if path.name == "manual_orders.json" and not refused:
            refused.append(path)
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(text, path)

    monkeypatch.setattr(run_writer, "_atomic_text", atomic_text)
    cfg = load_config(config_file(tmp_path / "cfg.json", demo_store))
    system = SystemManager(cfg, store_path=demo_store)
    writer = run_writer.RunWriter(system, tmp_path / "run")
    system.pause()
    system.start()
    system.step(3)
    deadline = time.monotonic() + 30
    while (system.position < 3 or system.control.steps_owed) and time.monotonic() < deadline:
        time.sleep(0.005)
    system.manual_orders.submit(SYMBOLS[0], 10, "market")
    assert system.wait(60) and writer.wait_closed(10)
    assert refused and writer.failed and "manual_orders.json" in writer.write_error
    assert "the disk is full" in writer.write_error
    assert not system.coordinator.completed and system.bars_processed < 390 * len(SYMBOLS)    # stopped in the first session
    assert [c for _at, c in load_manual_orders(tmp_path / "run" / "manual_orders.json")] == [
        SubmitOrder(SYMBOLS[0], 10, "market")]
    status = json.loads((tmp_path / "run" / "run_status.json").read_text())
    assert status["complete"] is False and "manual_orders.json" in status["write_error"]
