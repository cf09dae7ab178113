"""Moving a bar store to the current layout, atomically: format 1 (`date=` / `year=` partition folders)
to format 2 (`period=` at every interval; see schema.py).

Steps, under the store's write lock (flock on `<root>/.write.lock`, the file every store writer locks):

1. build the new tree `<root>/.bars-v2.tmp/` beside `bars/`: every bar file hard-linked (copied where
   the file system has no hard links) under its new folder name; nothing in `bars/` changes;
2. rename `bars/` to `.bars-v1.old/`, then `.bars-v2.tmp/` to `bars/`;
3. write store.json with format_version 2 (atomically): the commit point;
4. delete `.bars-v1.old/`.

A crash (or a full disk) at any point leaves a state that the next open of the store completes or
undoes before anything reads it (`recover`): before step 3 the old layout is put back and the
migration starts again; after it the leftovers are removed. So a reader through BarStore sees the
whole store in the old layout or the whole store in the new one, never a mixture, and no bar is
lost or duplicated. Stores already in the current format are not touched.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from workstation.errors import StoreError
from workstation.store.lock import StoreWriteLock
from workstation.store.schema import (
    BARS_DIR,
    FORMAT_VERSION,
    LAYOUT,
    PARTITION_KEY,
    STORE_FILE,
    legacy_partition_level,
)

log = logging.getLogger(__name__)

NEW_TREE = ".bars-v2.tmp"
OLD_TREE = ".bars-v1.old"


@dataclass(frozen=True)
class Migration:
    """What a migration did: the store, the formats, the bar files moved and the folders renamed."""

    root: Path
    from_version: int
    to_version: int
    files: int
    partitions: int


def read_version(root: Path) -> int:
    meta = json.loads((root / STORE_FILE).read_text(encoding="utf-8"))
    return int(meta.get("format_version", 0))


def needs_work(root: Path) -> bool:
    """True when the store is in an older format or a migration was interrupted."""
    if not (root / STORE_FILE).is_file():
        return False
    if (root / NEW_TREE).exists() or (root / OLD_TREE).exists():
        return True
    try:
        return read_version(root) < FORMAT_VERSION
    except (OSError, ValueError):
        return False  # the caller reports an unreadable store.json


def ensure_current(root: str | os.PathLike) -> Migration | None:
    """Finish or undo an interrupted migration and migrate an old store; None when nothing was to do."""
    root = Path(root)
    if not needs_work(root):
        return None
    try:
        with StoreWriteLock(root):
            recover(root)
            version = read_version(root)
            if version >= FORMAT_VERSION:
                return None
            return _migrate_locked(root, version)
    except OSError as exc:
        raise StoreError(
            f"bar store {root} is in format 1 and could not be moved to format {FORMAT_VERSION}: "
            f"{exc.strerror or exc} ({exc.filename or root}). The store was not changed; open it once with write "
            "access (any workstation command does it) or keep using the program version that wrote it"
        ) from None


def recover(root: Path) -> None:
    """Complete or undo an interrupted migration (call with the lock held)."""
    new, old, bars = root / NEW_TREE, root / OLD_TREE, root / BARS_DIR
    version = read_version(root)
    if version >= FORMAT_VERSION:  # committed: only leftovers remain
        if old.exists():
            shutil.rmtree(old)
        if new.exists():
            shutil.rmtree(new)
        return
    if old.exists():
        if not bars.exists():  # between the two renames: put the old tree back
            os.rename(old, bars)
        elif _is_current_layout(bars):  # both renames done, store.json not yet: commit
            _write_meta(root, FORMAT_VERSION)
            shutil.rmtree(old)
            return
        else:  # unexpected: keep the live tree, drop the copy
            shutil.rmtree(old)
    if new.exists():  # the new tree was being built: start again
        shutil.rmtree(new)


def _is_current_layout(bars: Path) -> bool:
    levels = {p.name.split("=", 1)[0] for iv in bars.glob("interval=*") for p in iv.iterdir() if "=" in p.name}
    return levels <= {PARTITION_KEY}


def _link(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _build_new_tree(bars: Path, new: Path) -> tuple[int, int]:
    """Step 1: the current layout of `bars` under `new`, by hard links; (files, partitions) linked."""
    files = partitions = 0
    new.mkdir()
    for interval_dir in sorted(bars.iterdir()):
        if not interval_dir.is_dir():
            _link(interval_dir, new / interval_dir.name)
            continue
        target_interval = new / interval_dir.name
        target_interval.mkdir()
        interval = interval_dir.name.split("=", 1)[1] if "=" in interval_dir.name else ""
        legacy = legacy_partition_level(interval)
        for part_dir in sorted(interval_dir.iterdir()):
            name = part_dir.name
            if not part_dir.is_dir():
                _link(part_dir, target_interval / name)
                continue
            if name.startswith(f"{legacy}="):
                name = f"{PARTITION_KEY}={name.split('=', 1)[1]}"
                partitions += 1
            (target_interval / name).mkdir()
            for f in sorted(part_dir.iterdir()):
                if f.name.startswith(".") and f.name.endswith(".tmp"):
                    continue  # a writer's unfinished temporary file
                _link(f, target_interval / name / f.name)
                files += 1
            _fsync_dir(target_interval / name)
        _fsync_dir(target_interval)
    _fsync_dir(new)
    return files, partitions


def _migrate_locked(root: Path, version: int) -> Migration:
    bars, new, old = root / BARS_DIR, root / NEW_TREE, root / OLD_TREE
    files = partitions = 0
    if bars.is_dir():
        try:
            files, partitions = _build_new_tree(bars, new)
        except OSError:
            shutil.rmtree(new, ignore_errors=True)  # bars/ was not touched
            raise
        os.rename(bars, old)
        try:
            os.rename(new, bars)
        except OSError:
            os.rename(old, bars)  # put the old tree back; the store stays in format 1
            shutil.rmtree(new, ignore_errors=True)
            raise
        _fsync_dir(root)
    try:
        _write_meta(root, FORMAT_VERSION)
    except OSError:
        if old.exists():  # undo the swap so store.json and the folders agree again
            os.rename(bars, new)
            os.rename(old, bars)
            shutil.rmtree(new, ignore_errors=True)
        raise
    if old.exists():
        shutil.rmtree(old)
    log.warning("bar store %s moved from format %d to format %d: partition folders date=/year= are now period= "
                "(%d files, nothing else changed); update scripts that name those folders", root, version,
                FORMAT_VERSION, files)
    return Migration(root, version, FORMAT_VERSION, files, partitions)


def _write_meta(root: Path, version: int) -> None:
    path = root / STORE_FILE
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta["format_version"] = version
    meta["layout"] = LAYOUT
    tmp = path.with_name(f".{path.name}.{os.getpid()}.migrate.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(meta, indent=2) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(root)
