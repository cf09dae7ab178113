"""Ray for one sweep: a local cluster started here, an existing one by address, or the Ray already
running in this process; and the stop flag that SIGINT/SIGTERM set while a sweep runs.

An address is first checked with a plain TCP connection (Ray replaces a loopback host by this
machine's address, so that one is checked too), then Ray connects in a helper thread given up after
`connect_timeout_s` (Ray itself can wait for ever on a port that is not a Ray head). The workers of a
local cluster run at normal priority (Ray's default is nice 15, which on a busy machine starves the
sweep against every other process, a plain `workstation run` included). Ray's token
authentication is used as Ray sets it up: a local cluster gets a token; a driver connecting by
address sends this machine's token when one exists.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

from workstation.errors import WorkstationError

CONNECT_CHECK_TIMEOUT_S = 5.0
CONNECT_DEADLINE_S = 20.0  # Ray's own connect can wait for ever on an address that is not a Ray head


class RayUnavailable(WorkstationError):
    """Ray cannot be started or the cluster cannot be reached; `stuck` when a connection attempt is
    still hanging inside Ray (the process should then exit without Ray's clean-up)."""

    stuck = False


def _check_reachable(address: str) -> None:
    """A TCP connection to the address Ray will use (Ray replaces a loopback host by this machine's
    address), so that a wrong address fails in seconds."""
    if address.startswith("ray://"):
        raise RayUnavailable(f"--address {address!r} is a Ray Client address; give the cluster's GCS address "
                             "HOST:PORT instead")
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise RayUnavailable(f"--address {address!r} is not HOST:PORT (the address `ray start --head` prints)")
    targets = [(host, int(port))]
    try:
        from ray._private.services import canonicalize_bootstrap_address

        resolved_host, _, resolved_port = (canonicalize_bootstrap_address(address) or "").rpartition(":")
        if resolved_host and (resolved_host, int(resolved_port)) not in targets:
            targets.append((resolved_host, int(resolved_port)))
    except Exception:  # noqa: BLE001 - another Ray version: the address as given is checked
        pass
    for target in targets:
        try:
            with socket.create_connection(target, timeout=CONNECT_CHECK_TIMEOUT_S):
                pass
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise RayUnavailable(
                f"cannot reach the Ray cluster at {address} ({target[0]}:{target[1]}): {reason}. Start one there "
                f"with `ray start --head --port {port}`, check the address, or leave out --address to run on "
                "this machine") from None


def _init_within(deadline_s: float, address: str, **kwargs) -> None:
    """ray.init(address) in a helper thread, given up after `deadline_s` (RayUnavailable, `stuck`)."""
    import ray

    outcome: dict[str, BaseException] = {}

    def connect() -> None:
        try:
            ray.init(address=address, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            outcome["error"] = exc

    thread = threading.Thread(target=connect, name="RayConnect", daemon=True)
    thread.start()
    thread.join(deadline_s)
    if thread.is_alive():
        error = RayUnavailable(f"cannot connect to the Ray cluster at {address}: no answer from a Ray head within "
                               f"{deadline_s:.0f} s (is it a Ray head's GCS port, and the same Ray version?)")
        error.stuck = True
        raise error
    if "error" in outcome:
        cause = outcome["error"].__cause__ or outcome["error"]
        text = str(cause).strip()
        raise RayUnavailable(f"cannot connect to the Ray cluster at {address}: "
                             f"{text.splitlines()[-1] if text else repr(cause)}") from None


def _token_available() -> bool:
    return bool(os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH")
                or (Path.home() / ".ray" / "auth_token").is_file())


def _enable_token_auth() -> None:
    """Send this machine's Ray token: Ray uses token authentication for the clusters it starts, but a
    driver connecting by address only sends the token when RAY_AUTH_MODE=token."""
    os.environ["RAY_AUTH_MODE"] = "token"
    try:
        from ray._raylet import Config  # type: ignore[attr-defined]  # Ray's _raylet.pyi omits Config

        Config.initialize("")  # Ray reads its settings once; read RAY_AUTH_MODE again
    except Exception:  # noqa: BLE001 - older Ray without token authentication
        pass


class RayConnection:
    """Connects the driver to Ray for one sweep (see the module docstring) and disconnects after."""

    def __init__(self, address: str | None = None, workers: int | None = None, verbose: bool = False,
                 runtime_env: dict | None = None, connect_timeout_s: float = CONNECT_DEADLINE_S):
        self.address = address
        self.connect_timeout_s = connect_timeout_s
        self.requested_workers = workers
        self.verbose = verbose
        self.runtime_env = runtime_env
        self.owned = False
        self.workers = workers or 1
        self.startup_s = 0.0
        self.description = ""

    def __enter__(self) -> RayConnection:
        import ray

        t0 = time.perf_counter()
        common: dict[str, Any] = {
            "log_to_driver": self.verbose, "logging_level": logging.INFO if self.verbose else logging.ERROR,
            "runtime_env": self.runtime_env}
        if ray.is_initialized():
            self.description = "the Ray already running in this process"
        elif self.address:
            _check_reachable(self.address)
            if "RAY_AUTH_MODE" not in os.environ and _token_available():
                _enable_token_auth()
            _init_within(self.connect_timeout_s, self.address, **common)
            self.owned = True
            self.description = f"the Ray cluster at {self.address}"
        else:
            try:
                ray.init(address="local", num_cpus=self.requested_workers or os.cpu_count() or 1,
                         include_dashboard=False, _system_config={"worker_niceness": 0}, **common)
            except Exception as exc:  # noqa: BLE001
                raise RayUnavailable(f"cannot start a local Ray cluster: {exc}") from None
            self.owned = True
            self.description = "a local Ray cluster"
        cpus = int(ray.cluster_resources().get("CPU", 0))
        self.workers = self.requested_workers or max(1, cpus)
        self.startup_s = time.perf_counter() - t0
        return self

    def __exit__(self, *exc) -> None:
        if self.owned:
            import ray

            ray.shutdown()


class StopFlag:
    """Set by SIGINT/SIGTERM while a sweep runs (handlers installed in the main thread only); a second
    Ctrl-C while stopping raises KeyboardInterrupt."""

    def __init__(self):
        self.event = threading.Event()
        self._previous: dict[int, Any] = {}

    def is_set(self) -> bool:
        return self.event.is_set()

    def _handle(self, signum, _frame) -> None:
        if self.event.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.event.set()

    def __enter__(self) -> StopFlag:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
