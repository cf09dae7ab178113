"""scripts/apt.sh: the set-up's Debian packages wait for a package lock held by another apt-get or dpkg
(a fresh machine's automatic updates at boot, a second set-up beside the first) instead of failing, and
give up with the lock's message after the limit. A fake apt-get on PATH plays the lock's holder."""
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCKED = "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)"


def fake_tools(tmp_path: Path, locked_calls: int, other_error: str = "") -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    (bin_dir / "apt-get").write_text(f"""#!/usr/bin/env bash
echo "$*" >> {log}
n=$(wc -l < {log})
if [ -n "{other_error}" ]; then echo "{other_error}" >&2; exit 100; fi
if [ "$n" -le {locked_calls} ]; then echo "{LOCKED}" >&2; exit 100; fi
exit 0
""")
    (bin_dir / "sudo").write_text('#!/usr/bin/env bash\nexec "$@"\n')
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    return bin_dir


def run_install(tmp_path: Path, bin_dir: Path, wait_s: int = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", SETUP_APT_RETRY_S="0",
               SETUP_APT_WAIT_S=str(wait_s))
    return subprocess.run(["bash", "-c", f". {ROOT / 'scripts' / 'apt.sh'}; apt_install xvfb xdotool"],
                          env=env, capture_output=True, text=True, timeout=60)


def calls(tmp_path: Path) -> list[str]:
    return (tmp_path / "calls").read_text().splitlines()


def test_waits_while_another_apt_holds_the_lock(tmp_path):
    done = run_install(tmp_path, fake_tools(tmp_path, locked_calls=2))
    assert done.returncode == 0, done.stderr
    # the lists' refresh is tried until the lock is free, then the install runs once
    verbs = [next(w for w in c.split() if w in ("update", "install")) for c in calls(tmp_path)]
    assert verbs == ["update", "update", "update", "install"]
    assert calls(tmp_path)[-1].endswith("--no-install-recommends xvfb xdotool")
    assert all("DPkg::Lock::Timeout=0" in c for c in calls(tmp_path))
    assert done.stderr.count("holds the package lock") == 1
    assert "held by process 4242 (apt-get)" in done.stderr


def test_gives_up_after_the_limit_with_the_locks_message(tmp_path):
    done = run_install(tmp_path, fake_tools(tmp_path, locked_calls=100), wait_s=0)
    assert done.returncode != 0
    assert LOCKED in done.stderr and "still waits for the package lock" in done.stderr
    assert len(calls(tmp_path)) == 1


def test_another_error_is_not_retried(tmp_path):
    done = run_install(tmp_path, fake_tools(tmp_path, locked_calls=0,
                                            other_error="E: Unable to locate package xvfb"))
    assert done.returncode != 0
    assert "Unable to locate package xvfb" in done.stderr and "package lock" not in done.stderr
    assert len(calls(tmp_path)) == 1


def test_setup_installs_its_packages_through_the_waiting_helper():
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert ". scripts/apt.sh" in setup
    lines = [ln for ln in setup.splitlines() if "apt-get " in ln and "command -v" not in ln and not ln.lstrip().startswith("#")]
    assert lines == [], lines
