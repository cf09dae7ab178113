"""Fixtures of the fault-injection suite: real `workstation` processes, a genuinely small file system,
a genuinely read-only folder, and the injected equivalents where the machine does not allow mounts.

Mounts need root (CI and this VM run as root): a tmpfs of a few hundred KB is a real full disk, a
read-only bind mount a real read-only folder (root ignores permission bits, so chmod proves nothing).
Where `mount` is refused the fixtures return None and the tests inject the same errno (ENOSPC,
EROFS) at the write call instead, so every fault is still exercised.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory) -> Path:
    """Demo data: 5 symbols x 10 sessions of 1m bars (read only by the tests; copy it to write)."""
    from workstation.store import generate_demo

    root = tmp_path_factory.mktemp("fault_demo") / "store"
    generate_demo(root, symbols=5, days=10)
    return root


def _mount(args: list[str]) -> bool:
    if sys.platform != "linux" or shutil.which("mount") is None:
        return False
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def _umount(path: Path) -> None:
    for _ in range(20):
        if subprocess.run(["umount", str(path)], capture_output=True).returncode == 0:
            return
        time.sleep(0.1)
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture
def small_filesystem(tmp_path):
    """mount(size_kb) -> a folder on a tmpfs of that size (a real full disk), or None when this
    machine refuses mounts; `resize(size_kb)` frees space. Unmounted after the test."""
    mounted: list[Path] = []

    class SmallFileSystem:
        def mount(self, size_kb: int) -> Path | None:
            point = tmp_path / f"small{len(mounted)}"
            point.mkdir()
            if not _mount(["-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(point)]):
                return None
            mounted.append(point)
            return point

        def resize(self, point: Path, size_kb: int) -> None:
            assert _mount(["-o", f"remount,size={size_kb}k", str(point)]), "remount failed"

    yield SmallFileSystem()
    for point in reversed(mounted):
        _umount(point)


@pytest.fixture
def read_only(tmp_path):
    """make(folder) -> the same folder seen through a read-only bind mount (a real EROFS), or None
    when this machine refuses mounts. Unmounted after the test."""
    mounted: list[Path] = []

    def make(source: Path) -> Path | None:
        point = tmp_path / f"readonly{len(mounted)}"
        point.mkdir()
        if not _mount(["--bind", str(source), str(point)]):
            return None
        mounted.append(point)
        if not _mount(["-o", "remount,bind,ro", str(point)]):
            return None
        return point

    yield make
    for point in reversed(mounted):
        _umount(point)
