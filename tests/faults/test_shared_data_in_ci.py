"""Tests that need ../shared must FAIL, not skip, under CI (CI=true) when ../shared is absent.

Checked three ways: the helper itself, a real pytest run of a test that needs an absent shared file
(with and without CI=true), and a scan of the test tree for a skip on shared data that does not go
through the helper.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.faults.helpers import ROOT, cli_env
from tests.shared_data import require_shared, under_ci


def test_helper_skips_outside_ci_and_fails_under_ci(tmp_path, monkeypatch):
    missing = tmp_path / "shared" / "bench"
    monkeypatch.delenv("CI", raising=False)
    assert not under_ci()
    with pytest.raises(pytest.skip.Exception):
        require_shared(missing, "../shared/bench")
    for value in ("true", "TRUE", "1", "yes"):
        monkeypatch.setenv("CI", value)
        with pytest.raises(pytest.fail.Exception, match="must run, not skip"):
            require_shared(missing, "../shared/bench")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        require_shared(missing, "../shared/bench")
    (tmp_path / "here").mkdir()
    assert require_shared(tmp_path / "here", "x") == tmp_path / "here"


def test_a_real_pytest_run_fails_under_ci(tmp_path):
    test = tmp_path / "test_needs_shared.py"
    test.write_text(
        "from tests.shared_data import require_shared\n\n"
        "def test_reference():\n"
        f"    require_shared({str(tmp_path / 'absent')!r}, 'the reference data')\n"
    )
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
               str(test)]
    outside = subprocess.run(command, cwd=ROOT, env=cli_env(), capture_output=True, text=True, timeout=120)
    assert outside.returncode == 0 and "1 skipped" in outside.stdout, outside.stdout
    in_ci = subprocess.run(command, cwd=ROOT, env=cli_env(CI="true"), capture_output=True, text=True, timeout=120)
    assert in_ci.returncode == 1 and "1 failed" in in_ci.stdout and "must run, not skip" in in_ci.stdout


def test_no_test_skips_on_shared_data_by_itself():
    """A skip on ../shared data anywhere in tests/ goes through tests/shared_data.py."""
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if path.name == "shared_data.py" or path.relative_to(ROOT).parts[:2] == ("tests", "faults"):
            continue
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"pytest\.skip\((.*)", text):
            line = match.group(1)
            if re.search(r"shared|bench|BENCH|REAL|STATS|real data|make_bars|not found|absent", line):
                offenders.append(f"{path.relative_to(ROOT)}: pytest.skip({line.strip()}")
    assert not offenders, "\n".join(offenders)
