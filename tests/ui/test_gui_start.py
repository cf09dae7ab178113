"""`workstation-gui` started without a config (ui.app._open): in a folder without the example it opens
an empty window that says how to open one, without an error; a config asked for that is missing is
still an error."""

from __future__ import annotations

import pytest

import ui.app as gui_app
from ui.main_window import MainWindow


@pytest.fixture
def opened(qapp, monkeypatch, tmp_path):
    """Run `_open` with these arguments, its event loop returning at once; the windows it made."""
    made: list[MainWindow] = []

    class Recorded(MainWindow):
        def __init__(self, *a, **k):
            super().__init__(*a, **{**k, "modal_errors": False})     # errors recorded, no box to click
            made.append(self)

    monkeypatch.setattr(gui_app, "MainWindow", Recorded)
    monkeypatch.setattr(qapp, "exec", lambda: 0)
    monkeypatch.setattr(gui_app, "freeze_startup_heap", lambda: 0)   # the process's own start-up only: the
    # test process's heap stays unfrozen (tests/workstation/pipeline/test_run_heap_frozen.py)
    monkeypatch.chdir(tmp_path)

    def open_with(*argv: str) -> tuple[int, MainWindow]:
        code = gui_app._open(qapp, gui_app.parse_args([*argv, "--settings", str(tmp_path / "gui.ini")]))
        return code, made[-1]

    yield open_with
    for window in made:
        window.close()
        window.deleteLater()


def test_a_start_in_a_folder_without_the_example_opens_an_empty_window_with_a_hint(opened, tmp_path):
    code, window = opened()
    assert code == 0
    assert window.error_messages == []          # no "Cannot load the session config" dialog
    assert window.statusBar().full_message == gui_app.NO_CONFIG_HINT.format(
        example="session_configs/example_session.json")
    assert window.bridge.config_path is None


def test_a_missing_config_asked_for_is_still_an_error(opened, tmp_path):
    _code, window = opened(str(tmp_path / "nowhere.json"))
    assert [title for title, _ in window.error_messages] == ["Cannot load the session config"]
    assert "nowhere.json does not exist" in window.error_messages[0][1]


def test_continue_takes_up_a_run_folder_and_says_when_it_cannot(opened, tmp_path, ui_small_config):
    """`workstation-gui --continue RUN_DIR` (File → Continue a run…): the folder's config loads with the
    folder's run to take up; a folder that is no run's is said in the window, which opens empty."""
    run = tmp_path / "runs" / "small-1"
    run.mkdir(parents=True)
    (run / "config.json").write_text(ui_small_config.read_text())
    (run / "manual_orders.json").write_text('{"commands": []}')
    code, window = opened("--continue", str(run))
    assert code == 0 and window.error_messages == [] and window.loading
    assert window._loading[0] == run / "config.json" and window._continuing.run_dir == run
    _code, window = opened("--continue", str(tmp_path / "runs"))
    assert window.error_messages == [("Cannot continue the run", f"{tmp_path / 'runs'} is not a run folder: it "
                                      "has no config.json (pick the folder of a run, e.g. runs/<config>-<date>-<time>)")]
    assert window.bridge.config_path is None and not window.loading


@pytest.mark.parametrize("other", [["x.json"], ["--live"], ["--quit-when-done"]])
def test_continue_takes_no_config_of_its_own(other, capsys):
    with pytest.raises(SystemExit):
        gui_app.parse_args(["--continue", "runs/r", *other])
    assert "--continue RUN_DIR takes the run folder's own config" in capsys.readouterr().err
