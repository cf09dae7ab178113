"""Run folders read back: `load_run(path)` gives a RunResults (frames, statistics, HTML report)."""

from workstation.runs.folder import RunFolder, RunResults, load_run

__all__ = ["RunFolder", "RunResults", "load_run"]
