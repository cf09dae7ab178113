"""`workstation-gui`: the GUI entry point (interactive, or scripted for demos, CI and screenshots).

    workstation-gui [CONFIG] [--store DIR] [--speed X] [--quit-when-done] [--screenshot PATH]
                    [--screenshot-at FRACTION] [--size WxH] [--settings INI] [--runs DIR] [--live]

Scripted mode (`--quit-when-done`): runs CONFIG to the end, saves the screenshot (at the end, after
the results are shown, or at `--screenshot-at` of the replay), prints the run summary and exits 0;
a config or run failure prints the message and exits non-zero. The default store `data/store` gets
demo data on the first start.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSettings, QSocketNotifier, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from ui.bridge import UpdateBatch
from ui.collector import install_gui_thread_gc
from ui.main_window import APPLICATION, ORGANIZATION, MainWindow
from ui.screen_fit import fit_to_screen
from ui.theme import apply_theme
from workstation.config import load_config
from workstation.errors import WorkstationError
from workstation.report.formatting import run_time_text
from workstation.run_commands import DEFAULT_STORE, EXAMPLE_CONFIG
from workstation.system import resolve_store_path

EXAMPLE_LIVE_CONFIG = "session_configs/example_live_replay.json"

log = logging.getLogger(__name__)

EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def size_main_window(window: MainWindow, size_wh: tuple[int, int] | None) -> None:
    """--size WxH wins; otherwise the saved geometry, and with none the default size shrunk to fit
    the screen (a 1280 x 800 screen sees the whole window)."""
    if size_wh:
        window.resize(*size_wh)
    elif not window.geometry_restored:
        fit_to_screen(window, window.width(), window.height())
        window.fit_docks_to_height()


def none_refcount_leaks(calls: int = 64) -> bool:
    """True when PySide6's void methods hand back None without a new reference (seen with
    PySide6 6.12 on Python 3.11, where None, True and False are not immortal): each call drains
    None's refcount (and some paths, e.g. in pyqtgraph's ViewBox.setRange, drain True's)."""
    if sys.version_info >= (3, 12):
        return False
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(calls):
        probe.setObjectName("probe")
    return sys.getrefcount(None) <= before - calls // 2


def install_none_refcount_guard() -> bool:
    """Work around the PySide6 refcount leak of None/True/False (see `none_refcount_leaks`).

    Without it, None's (or True's) refcount reaches 0 after some thousand Qt calls and CPython
    aborts ("none_dealloc: deallocating None", "bool_dealloc"). The guard gives each of these
    singletons 2**40 extra references once (they are never freed anyway), which is what Python
    3.12+ does by making them immortal; a no-op there and on PySide6 builds without the leak.
    Call it once per process before the first Qt call. True if applied.
    """
    if sys.getrefcount(None) > 1 << 39:
        return True
    if not none_refcount_leaks():
        return False
    for singleton in (None, True, False):
        ctypes.c_ssize_t.from_address(id(singleton)).value += 1 << 40
    log.info("applied the PySide6 None-refcount workaround (Python %d.%d)", *sys.version_info[:2])
    return True


def freeze_startup_heap() -> int:
    """Move every object alive once the window is built (modules, classes, the window's widgets: about
    130,000 objects that live as long as the process) out of the collector's reach, so that a full
    collection scans only what was made since (~30 ms instead of ~250 ms on a busy 2-core machine).
    Call once, after the window is shown and before the first config loads: objects frozen are never
    collected, so a run's objects must not be (they become garbage when the next run replaces them).
    Returns the number of objects frozen."""
    import gc

    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


GUI_SWITCH_INTERVAL_S = 0.001


def configure_gil_switching(seconds: float = GUI_SWITCH_INTERVAL_S) -> None:
    """Shorter GIL switch interval for the GUI process: the UI thread re-takes the GIL on every Qt
    callback (paint, events, model data), and each time it may wait up to one switch interval behind
    a busy engine thread; 1 ms instead of the default 5 ms bounds those waits."""
    sys.setswitchinterval(seconds)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="workstation-gui",
        description="Backtest Workstation: visual replay and backtest of intraday sessions.",
    )
    ap.add_argument("config", nargs="?", help="session config JSON (default: the last one, else the example)")
    ap.add_argument("--store", help="bar store folder (overrides the config's data_source.store_path)")
    ap.add_argument("--speed", type=float, help="replay speed multiplier, 0 = as fast as possible")
    ap.add_argument(
        "--quit-when-done", action="store_true", help="play at once and exit at the end (scripted)"
    )
    ap.add_argument("--screenshot", metavar="PATH", help="save a PNG of the main window (scripted mode)")
    ap.add_argument(
        "--screenshot-at",
        type=float,
        metavar="FRACTION",
        help="take the screenshot at this fraction of the replay (0..1) instead of at the end",
    )
    ap.add_argument("--size", default=None, metavar="WxH", help="window size, e.g. 1600x1000")
    ap.add_argument("--settings", metavar="INI", help="settings file (default: the user's settings)")
    ap.add_argument("--runs", default="runs", help="folder for run folders (default runs/)")
    ap.add_argument("--live", action="store_true", help="open the live monitor instead of the replay window")
    ap.add_argument("--sweep", metavar="SWEEP_DIR", help="also open the sweep window on this sweep folder")
    ap.add_argument("--continue", dest="continue_run", metavar="RUN_DIR",
                    help="take up a replay traded by hand again from its run folder: its config, its hand "
                         "orders applied again at their times, paused where it stopped (File → Continue a run…)")
    args = ap.parse_args(argv)
    if args.continue_run and (args.config or args.live or args.quit_when_done):
        ap.error("--continue RUN_DIR takes the run folder's own config: give no config, --live or --quit-when-done")
    if args.screenshot_at is not None and not 0.0 <= args.screenshot_at <= 1.0:
        ap.error(f"--screenshot-at must be between 0 and 1, got {args.screenshot_at}")
    if args.screenshot_at is not None and not args.screenshot:
        ap.error("--screenshot-at needs --screenshot PATH")
    if args.speed is not None and args.speed < 0:
        ap.error(f"--speed must be >= 0 (0 = as fast as possible), got {args.speed}")
    args.size_wh = _parse_size(ap, args.size)
    return args


def _parse_size(ap: argparse.ArgumentParser, text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        w, h = (int(x) for x in text.lower().split("x"))
    except ValueError:
        ap.error(f"--size must look like 1600x1000, got {text!r}")
    if w < 400 or h < 300:
        ap.error(f"--size {text} is too small (at least 400x300)")
    return w, h


def _run_live(app: QApplication, args: argparse.Namespace) -> int:
    """`workstation-gui --live CONFIG`: the live monitor on its own (paper only). With
    --quit-when-done it starts at once, saves --screenshot at the end of the run and exits."""
    from ui.windows.live_monitor import LiveMonitorWindow, build_live_system

    config = Path(args.config) if args.config else Path(EXAMPLE_LIVE_CONFIG)
    _ensure_default_store(config, args.store)
    try:
        system = build_live_system(config, args.store)
    except WorkstationError as exc:
        print(f"workstation-gui: {exc}", file=sys.stderr)
        if not args.quit_when_done:
            QMessageBox.critical(None, "Cannot open the live monitor", str(exc))
        return EXIT_BAD_INPUT
    window = LiveMonitorWindow(system, owns_system=True, new_system=lambda: build_live_system(config, args.store))
    if args.size_wh:
        window.resize(*args.size_wh)
    else:
        fit_to_screen(window, 1400, 900)
    window.show()
    if not args.quit_when_done:
        return app.exec()
    outcome = {"code": 0}

    def finished(summary: dict) -> None:
        window.refresh_now()
        if args.screenshot:
            # the refresh may hide a notice under the header: let the layout take its room back first
            # (a grab straight away showed an empty band where the notice had been)
            app.sendPostedEvents(None, QEvent.Type.LayoutRequest)
            Path(args.screenshot).parent.mkdir(parents=True, exist_ok=True)
            window.grab().save(args.screenshot)
        outcome["code"] = 1 if summary.get("error") else 0
        if summary.get("error"):
            print(f"workstation-gui: the live run failed: {summary['error']}", file=sys.stderr)
        QTimer.singleShot(0, window.close)
        QTimer.singleShot(50, app.quit)

    window.run_finished.connect(finished)
    QTimer.singleShot(0, window.start)
    code = app.exec()
    return code or outcome["code"]


class ScriptedRun(QObject):
    """Plays the loaded config, takes the screenshot and quits with the run's exit code."""

    def __init__(self, app: QApplication, window: MainWindow, screenshot: str | None, at: float | None):
        super().__init__(window)
        self.app = app
        self.window = window
        self.screenshot = Path(screenshot) if screenshot else None
        self.at = at
        self.taken = False
        self.done = False
        self.exit_code = EXIT_OK
        bridge = window.bridge
        bridge.batch_ready.connect(self._on_batch)
        bridge.finished.connect(self._on_finished)
        window.results_loaded.connect(self._on_results)
        window.error_reported.connect(self._on_error)

    def _on_batch(self, _batch: UpdateBatch) -> None:
        if self.screenshot is not None and self.at is not None and not self.taken:
            if self.window.bridge.session_fraction() >= self.at:
                self.take()

    def _on_error(self, title: str, message: str) -> None:
        print(f"workstation-gui: {title}: {message}", file=sys.stderr)
        self.exit_code = EXIT_RUN_FAILED

    def _on_finished(self, summary: dict) -> None:
        state = summary.get("state")
        print(
            f"run {state}: {summary.get('sessions_done')}/{summary.get('sessions_total')} sessions, "
            f"{summary.get('bars_processed', 0):,} bars in {run_time_text(summary)}, "
            f"{summary.get('signals', 0):,} signals, {summary.get('trades', 0):,} trades; "
            f"run folder {self.window.bridge.run_dir}"
        )
        if state != "finished":
            self.exit_code = EXIT_RUN_FAILED
        QTimer.singleShot(10_000, self.finish)  # in case the results never show

    def _on_results(self, _run_dir: str) -> None:
        QTimer.singleShot(300, self.finish)

    def take(self) -> bool:
        """Save the main window as PNG now."""
        for _ in range(2):  # the second pass scrolls the views once the first pass laid them out
            self.app.processEvents()
            self.window.refresh_views()
        self.app.processEvents()
        self.screenshot.parent.mkdir(parents=True, exist_ok=True)
        ok = self.window.grab().save(str(self.screenshot), "PNG")
        if ok:
            print(f"screenshot: {self.screenshot}")
        else:
            print(f"workstation-gui: cannot write the screenshot {self.screenshot}", file=sys.stderr)
            self.exit_code = EXIT_RUN_FAILED
        self.taken = True
        return ok

    def finish(self) -> None:
        if self.done:
            return
        self.done = True
        if self.screenshot is not None and not self.taken:
            self.take()
        self.window.close()
        self.app.exit(self.exit_code)


def _needs_offscreen() -> bool:
    return (
        sys.platform.startswith("linux")
        and "QT_QPA_PLATFORM" not in os.environ
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of `workstation-gui`; returns the process exit code."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    scripted = args.quit_when_done
    if scripted and _needs_offscreen():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    install_none_refcount_guard()
    configure_gil_switching()
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "workstation-gui"])
    install_gui_thread_gc(app)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    apply_theme(app)
    quitter = QuitOnSignals(app)
    try:
        code = _open(app, args)
    finally:
        quitter.uninstall()
    return 128 + quitter.received if quitter.received else code


class QuitOnSignals(QObject):
    """SIGINT (Ctrl+C in the terminal that started the window) and SIGTERM (`kill`, a service or session
    stop) close every window as their close buttons do: runs stop between two bar times, run folders get
    their results, settings are saved (an editor with unsaved changes still asks). Before, the window
    ignored Ctrl+C and SIGTERM ended it at once, leaving its run folder marked running.

    Python runs a signal handler only when it next runs Python code, and a paused window's event loop
    may sleep for minutes: the C-level handler writes the signal's number to a socket the event loop
    watches (signal.set_wakeup_fd). A second signal ends the process at once (the default action).
    Only in the main thread (elsewhere signal handlers cannot be set: nothing is installed)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self.app = app
        self.received: int | None = None
        self._installed = threading.current_thread() is threading.main_thread()
        if not self._installed:
            return
        self._read, self._write = socket.socketpair()
        self._read.setblocking(False)
        self._write.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._write.fileno())
        self._previous = {sig: signal.signal(sig, self._on_signal) for sig in self.SIGNALS}
        self._notifier = QSocketNotifier(self._read.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._drain)

    def _on_signal(self, signum: int, _frame: object) -> None:
        """The Python-level handler (it may run late): the wakeup socket already told the event loop."""

    def _drain(self) -> None:
        try:
            data = self._read.recv(64)
        except (BlockingIOError, InterruptedError):
            return
        for signum in data:
            if signum in self.SIGNALS and self.received is None:
                self.received = signum
                for sig in self.SIGNALS:
                    signal.signal(sig, signal.SIG_DFL)      # a second signal ends the process at once
                print(f"workstation-gui: {signal.Signals(signum).name}: closing (runs stop, run folders get "
                      "their results); send it again to end at once", file=sys.stderr)
                self.app.closeAllWindows()
                self.app.quit()

    def uninstall(self) -> None:
        """Put back the handlers and the wakeup socket found at install (in-process callers go on)."""
        if not self._installed:
            return
        self._installed = False
        self._notifier.setEnabled(False)
        signal.set_wakeup_fd(self._previous_fd)
        for sig, handler in self._previous.items():
            if signal.getsignal(sig) in (self._on_signal, signal.SIG_DFL):
                signal.signal(sig, handler)
        self._read.close()
        self._write.close()


NO_CONFIG_HINT = "No session config open (no {example} here): File \u2192 Open config\u2026 (Ctrl+O) or New config\u2026"


def _open(app: QApplication, args: argparse.Namespace) -> int:
    """The window(s) asked for by `args`, run until the event loop ends; the exit code."""
    scripted = args.quit_when_done
    if args.live:
        return _run_live(app, args)

    settings = QSettings(args.settings, QSettings.Format.IniFormat) if args.settings else None
    window = MainWindow(
        settings=settings,
        store=args.store,
        runs_dir=args.runs,
        modal_errors=not scripted,
        persist=not scripted or args.settings is not None,
    )
    size_main_window(window, args.size_wh)
    window.show()
    frozen = freeze_startup_heap()
    log.debug("froze %d startup objects out of the garbage collector's scans", frozen)
    if args.sweep:
        window.open_sweep_window(args.sweep)

    if args.continue_run:
        window.continue_run(args.continue_run)   # a folder that cannot be taken up is said in the window
        code = app.exec()
        _finish(window)
        return code
    asked = Path(args.config) if args.config else None
    config = asked or window.last_config() or Path(EXAMPLE_CONFIG)
    if not config.is_file():
        message = f"the session config {config} does not exist"
        if scripted:
            print(f"workstation-gui: {message}", file=sys.stderr)
            window.close()
            return EXIT_BAD_INPUT
        if asked is None:
            # started without a config in a folder without the example (a strategies folder, or only to
            # follow a sweep): the window opens empty and says how to open one; nothing was asked that failed
            window.statusBar().showMessage(NO_CONFIG_HINT.format(example=config))
            return app.exec()
        window.show_error("Cannot load the session config", message)
        return app.exec()
    _ensure_default_store(config, args.store)
    if not scripted:
        if args.speed is not None:
            def apply_speed(_path: str, ok: bool) -> None:
                window.config_loaded.disconnect(apply_speed)
                if ok:
                    window.speed_control.set_speed(args.speed)
                    window.set_speed(args.speed)

            window.config_loaded.connect(apply_speed)
        window.open_config(config)  # off the UI thread: the window shows the load's progress
        code = app.exec()
        _finish(window)
        return code
    if not window.load_config(config):
        if scripted:
            for title, message in window.error_messages:
                print(f"workstation-gui: {title}: {message}", file=sys.stderr)
            window.close()
            return EXIT_BAD_INPUT
        return app.exec()
    if args.speed is not None:
        window.speed_control.set_speed(args.speed)
        window.set_speed(args.speed)

    if scripted:
        script = ScriptedRun(app, window, args.screenshot, args.screenshot_at)
        QTimer.singleShot(0, window.play)
        code = app.exec()
        _finish(window)
        return code if code else script.exit_code
    code = app.exec()
    _finish(window)
    return code


def _ensure_default_store(config: Path, store: str | None) -> None:
    """First start: create the demo data when the config reads the default store `data/store` and it
    is absent (an unreadable config is reported by the window, not here)."""
    if store is not None:
        return
    try:
        store_path = resolve_store_path(load_config(config))
    except (WorkstationError, OSError):
        return
    if store_path == Path(DEFAULT_STORE) and not (store_path / "store.json").is_file():
        from workstation.store import ensure_demo_data

        print(f"creating demo data in {DEFAULT_STORE} (first start) ...", file=sys.stderr)
        ensure_demo_data(DEFAULT_STORE)


def _finish(window: MainWindow) -> None:
    """After the event loop: let the engine threads end and the run folders get their results."""
    bridge = window.bridge
    if not bridge.join_threads(5.0):
        print(
            f"workstation-gui: engine threads still running: {', '.join(bridge.alive_threads())}",
            file=sys.stderr,
        )
    if not bridge.wait_writers(10.0):
        print(
            "workstation-gui: a run folder may lack its final results (the writer did not finish)",
            file=sys.stderr,
        )


if __name__ == "__main__":
    sys.exit(main())
