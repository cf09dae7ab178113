"""The `workstation` program skips the interpreter's exit-time heap scans (gc frozen and disabled once
its command is done), while a command run in a caller's process (argv given) leaves the collector as
it was. Checked in a child process for the program, in this one for the in-process call."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = """
import gc, sys
from workstation import cli
sys.argv = ["workstation", "--version"]
before = gc.get_freeze_count()
try:
    cli.main()
except SystemExit:
    pass
print(gc.isenabled(), gc.get_freeze_count() > before)
"""


def test_the_program_freezes_the_heap_before_exit():
    out = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.split()[-2:] == ["False", "True"], out.stdout + out.stderr


def test_a_command_in_the_callers_process_leaves_the_collector_alone(capsys):
    from workstation import cli

    was_enabled = gc.isenabled()        # (another test may have left the collector off)
    gc.enable()
    try:
        before = gc.get_freeze_count()
        with pytest.raises(SystemExit):
            cli.main(["--version"])
        assert gc.isenabled() and gc.get_freeze_count() == before
    finally:
        if not was_enabled:
            gc.disable()
    assert "workstation" in capsys.readouterr().out
