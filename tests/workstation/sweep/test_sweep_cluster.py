"""`workstation sweep` as a user runs it: against a real Ray head started here (`ray start --head` on
loopback, its own temp dir and ports, token authentication, stopped at the end), stopped by a real
SIGTERM and resumed, and with an address nothing listens on. Every Ray process these tests start is
checked to be gone at the end."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest

from tests.workstation.sweep.conftest import sweep_config

pytest.importorskip("ray")

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
FAST = "strategies.sma.params.fast"
SLOW = "strategies.sma.params.slow"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def processes_mentioning(text: str) -> list[int]:
    """PIDs whose command line contains `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if text in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def wait_gone(text: str, timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := processes_mentioning(text)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


@pytest.fixture(scope="module")
def ray_head():
    """(address, env) of a Ray head on 127.0.0.1 with its own temp dir, ports and auth token."""
    base = Path(tempfile.mkdtemp(prefix="rh", dir="/tmp"))  # short: Ray's socket paths stay under 108 bytes
    token = base / "token"
    token.write_text(uuid.uuid4().hex)
    env = {**os.environ, "RAY_AUTH_TOKEN_PATH": str(token)}
    env.pop("RAY_ADDRESS", None)
    port = free_port()
    flags = ["--node-manager-port", "--object-manager-port", "--dashboard-agent-listen-port",
             "--dashboard-agent-grpc-port", "--runtime-env-agent-port", "--metrics-export-port", "--dashboard-port"]
    command = [str(BIN / "ray"), "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
               *[x for flag in flags for x in (flag, str(free_port()))],
               "--temp-dir", str(base / "ray"), "--num-cpus", "2", "--include-dashboard=false",
               "--disable-usage-stats"]
    starter = subprocess.Popen(command, env={**env, "RAY_AUTH_MODE": "token"}, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    output, _ = starter.communicate(timeout=90)
    group = starter.pid  # every daemon `ray start` spawned is in its process group
    try:
        assert starter.returncode == 0, output
        yield f"127.0.0.1:{port}", env
    finally:
        for sig, wait in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(group, sig)
            except ProcessLookupError:
                break
            if not wait_gone(str(base), wait):
                break
        left = wait_gone(str(base), 1.0)
        shutil.rmtree(base, ignore_errors=True)
        assert not left, f"Ray processes of the test head still running: {left}"


@pytest.fixture(scope="module")
def config_file(sweep_store, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "sweep.json"
    path.write_text(json.dumps(sweep_config(sweep_store, start="2024-11-26", end="2024-11-27")))
    return path


def sweep_command(config: Path, out: Path, *extra: str) -> list[str]:
    return [str(BIN / "workstation"), "sweep", str(config), "--out", str(out),
            "--param", f"{FAST}=3,4", "--param", f"{SLOW}=15,20", *extra]


def test_a_sweep_runs_on_an_existing_cluster_by_address(ray_head, config_file, tmp_path):
    address, env = ray_head
    out = tmp_path / "sweep"
    done = subprocess.run(sweep_command(config_file, out, "--address", address, "--keep-top", "1"), env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert f"on the Ray cluster at {address} with 2 workers" in done.stdout
    results = pd.read_parquet(out / "results.parquet")
    assert len(results) == 4 and set(results["status"]) == {"ok"}
    assert len(list((out / "runs").iterdir())) == 1
    definition = json.loads((out / "sweep.json").read_text())
    assert [p["alias"] for p in definition["params"]] == ["fast", "slow"]


def test_sigterm_stops_the_sweep_and_the_same_command_resumes(ray_head, config_file, tmp_path):
    """A real SIGTERM to a real `workstation sweep` running its own local Ray: finished cells are kept,
    the local cluster is gone; the same command computes only the missing cells."""
    address, env = ray_head
    out = tmp_path / "sweep"
    paced = ("--param", "backtest.speed_multiplier=40000")  # clock-driven, ~0.6 s a session: SIGTERM lands mid-sweep
    ray_tmp = Path(tempfile.mkdtemp(prefix="rl", dir="/tmp"))
    local_env = {**env, "RAY_TMPDIR": str(ray_tmp)}
    try:
        sweep = subprocess.Popen(sweep_command(config_file, out, "--workers", "1", *paced), env=local_env, cwd=ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while not (out / "results.parquet").exists() and sweep.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sweep.poll() is None, sweep.communicate()
        sweep.send_signal(signal.SIGTERM)
        stdout, stderr = sweep.communicate(timeout=60)
        assert sweep.returncode == 130, stderr
        assert "Run the same command again" in stderr and "sweep interrupted" in stdout
        assert not wait_gone(str(ray_tmp), 15.0), "the sweep's local Ray cluster is still running"
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    before = pd.read_parquet(out / "results.parquet")
    assert 1 <= len(before) < 4 and set(before["status"]) == {"ok"}
    assert json.loads((out / "progress.json").read_text())["state"] == "interrupted"

    again = subprocess.run(sweep_command(config_file, out, "--address", address, *paced), env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=180)
    assert again.returncode == 0, again.stderr
    assert f"{4 - len(before)} computed now, {len(before)} from before" in again.stdout
    after = pd.read_parquet(out / "results.parquet")
    assert len(after) == 4 and after["cell_id"].is_unique
    unchanged = after.set_index("cell_id").loc[before["cell_id"], "finished_at"]
    assert (unchanged.to_numpy() == before["finished_at"].to_numpy()).all()


def test_an_unreachable_address_fails_fast_and_writes_nothing(config_file, tmp_path):
    port = free_port()  # nothing listens there
    out = tmp_path / "sweep"
    t0 = time.monotonic()
    done = subprocess.run(sweep_command(config_file, out, "--address", f"127.0.0.1:{port}"), cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert time.monotonic() - t0 < 30
    assert done.returncode == 2
    assert f"cannot reach the Ray cluster at 127.0.0.1:{port}" in done.stderr
    assert not out.exists()


def test_an_address_that_is_not_a_ray_head_fails_within_the_connect_timeout(config_file, tmp_path):
    """A port that accepts connections but is no Ray head: Ray itself would wait for ever."""
    with socket.socket() as server:
        server.bind(("0.0.0.0", 0))
        server.listen(8)
        port = server.getsockname()[1]
        out = tmp_path / "sweep"
        t0 = time.monotonic()
        done = subprocess.run(sweep_command(config_file, out, "--address", f"127.0.0.1:{port}",
                                            "--connect-timeout", "3"), cwd=ROOT, capture_output=True, text=True,
                              timeout=60)
    assert time.monotonic() - t0 < 30
    assert done.returncode == 2, done.stderr
    assert f"cannot connect to the Ray cluster at 127.0.0.1:{port}: no answer from a Ray head within 3 s" in done.stderr
    assert not out.exists()
