"""StoreWriteLock: one writer at a time per bar store, across processes and threads.

The lock is `<store>/.write.lock`, held with `flock` (Linux, macOS) for the whole read-merge-write
of a write, and it names its holder (pid, host, command, since when) so a waiting writer can say
who it waits for. The kernel releases a flock when its holder dies, so a lock left by a killed
process (kill -9, power cut) is recovered at once by the next writer, which logs that it did.
Readers never take the lock: every store file is replaced atomically, so a reader sees a partition
either before or after a write.

A second writer waits up to `timeout` seconds (polling every 50 ms), then raises StoreLockedError
naming the holder. A store on a read-only file system, or without write permission, fails here
with StoreError before anything is written.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from workstation.atomic_files import os_error_text
from workstation.errors import StoreError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

LOCK_FILE = ".write.lock"
LONGER_WAIT_HINT = " (or allow a longer wait with --wait SECONDS)"    # ends StoreLockedError's message
DEFAULT_LOCK_TIMEOUT_S = 60.0
_POLL_S = 0.05


class StoreLockedError(StoreError):
    """Another writer held the store's lock for longer than the wait allowed."""


def describe_holder(text: str, command: bool = True, doing: str = "writing") -> str:
    """Who holds a lock, from the JSON its holder wrote into the lock file (holder_info): its process,
    host when another, `command` (cut to 120 characters) and since when it is `doing` so."""
    try:
        info = json.loads(text)
    except ValueError:
        return "another process"
    if not isinstance(info, dict) or "pid" not in info:
        return "another process"
    since = str(info.get("since", ""))[11:19]
    where = f" on {info['host']}" if info.get("host") and info.get("host") != socket.gethostname() else ""
    told = f" `{str(info.get('command', ''))[:120]}`" if command and info.get("command") else ""
    return f"process {info['pid']}{where}{told}" + (f", {doing} since {since}" if since else "")


def pid_alive(pid: int) -> bool:
    """True when a process with this pid runs on this machine. A zombie (a process that has ended and
    that its parent has not reaped yet, e.g. one killed a moment ago) has ended: not running, where
    the system tells (Linux: its /proc state); elsewhere it counts as running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Whether process `pid` has ended but is not reaped yet (state Z in /proc/<pid>/stat; False when
    that cannot be read)."""
    from workstation.process_start import proc_stat_fields

    fields = proc_stat_fields(f"/proc/{pid}/stat")
    return fields is not None and fields[:1] == ["Z"]


def holder_info() -> dict:
    """What a lock's holder writes into its lock file: this process, its host, its command, since when."""
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "command": " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))[:500],
            "since": dt.datetime.now().astimezone().isoformat(timespec="seconds")}


class StoreWriteLock:
    """Exclusive writer lock of the store at `root`; re-entrant in the thread holding it, exclusive
    between threads sharing this object (and, through flock, between objects and processes).

    `on_wait(message)` is called once when the lock is busy, before waiting (the CLI prints it).
    """

    def __init__(self, root: str | os.PathLike, timeout: float = DEFAULT_LOCK_TIMEOUT_S,
                 on_wait: Callable[[str], None] | None = None):
        self.root = Path(root)
        self.path = self.root / LOCK_FILE
        self.timeout = float(timeout)
        self.on_wait = on_wait
        self._fd: int | None = None
        self._depth = 0
        self._threads = threading.RLock()

    @property
    def held(self) -> bool:
        return self._depth > 0

    def __enter__(self) -> StoreWriteLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self) -> None:
        if not self._threads.acquire(timeout=max(self.timeout, 0.001)):
            raise StoreLockedError(
                f"the bar store {self.root} is being written by another thread of this process; gave up "
                f"after waiting {self.timeout:g} s. Nothing was written"
            )
        try:
            self._acquire_file()
        except BaseException:
            self._threads.release()
            raise

    def _acquire_file(self) -> None:
        if self._depth:
            self._depth += 1
            return
        if fcntl is None:  # pragma: no cover
            raise StoreError("writing a bar store needs file locking (flock), which this system lacks")
        fd = self._open()
        try:
            self._wait_for(fd)
            previous = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
            self._note_recovered(previous)
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(holder_info()) + "\n").encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._depth = 1

    def release(self) -> None:
        if not self._depth:
            return
        try:
            self._depth -= 1
            if self._depth:
                return
            fd, self._fd = self._fd, None
            if fd is None:
                return
            try:
                os.ftruncate(fd, 0)          # empty = released cleanly; a killed holder leaves its name
            except OSError:
                pass
            finally:
                os.close(fd)                 # closing drops the flock
        finally:
            self._threads.release()

    # ------------------------------------------------------------------ internals
    def _open(self) -> int:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise StoreError(
                f"cannot write to the bar store {self.root}: {os_error_text(exc)} "
                f"(creating its lock file {self.path.name}). Nothing was written; give a writable "
                "store folder (--store) or make this one writable"
            ) from None

    def _wait_for(self, fd: int) -> None:
        deadline = time.monotonic() + self.timeout
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                pass
            except OSError as exc:
                raise StoreError(
                    f"cannot lock the bar store {self.root} for writing: {os_error_text(exc)}; nothing was written"
                ) from None
            holder = describe_holder(os.pread(fd, 4096, 0).decode("utf-8", "replace"))
            if time.monotonic() >= deadline:
                raise StoreLockedError(
                    f"the bar store {self.root} is being written by {holder}; gave up after waiting "
                    f"{self.timeout:g} s. Nothing was written: run this again when that write is done"
                    f"{LONGER_WAIT_HINT}"
                )
            if not told:
                told = True
                message = (f"the bar store {self.root} is being written by {holder}; waiting up to "
                           f"{self.timeout:g} s for it to finish")
                if self.on_wait is not None:
                    self.on_wait(message)
                else:
                    log.warning("%s", message)
            time.sleep(_POLL_S)

    def _note_recovered(self, previous: str) -> None:
        """Log when the last holder died holding the lock (its name is still in the file)."""
        if not previous:
            return
        try:
            info = json.loads(previous)
            pid = int(info["pid"])
        except (ValueError, KeyError, TypeError):
            return
        same_host = info.get("host") in (None, socket.gethostname())
        if pid != os.getpid() and same_host and not pid_alive(pid):
            log.warning(
                "recovered the write lock of the bar store %s left by %s, which ended without releasing "
                "it; store files are replaced atomically, so nothing it wrote is half-written",
                self.root, describe_holder(previous),
            )
