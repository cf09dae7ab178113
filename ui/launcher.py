"""`workstation-gui` entry point: a clear message instead of a traceback when the GUI extra is missing.

`pip install backtest-workstation` installs the engine, the CLI and the Python API without Qt; the
window needs `pip install 'backtest-workstation[gui]'` (PySide6 and pyqtgraph), which the README's
set-up commands install.
"""

from __future__ import annotations

import importlib.util
import sys

GUI_PACKAGES = ("PySide6", "pyqtgraph")


def missing_gui_packages() -> list[str]:
    return [name for name in GUI_PACKAGES if importlib.util.find_spec(name) is None]


def main(argv: list[str] | None = None) -> int:
    missing = missing_gui_packages()
    if missing:
        print(f"workstation-gui needs {' and '.join(missing)}, which this installation does not have.\n"
              "Install the window with: pip install 'backtest-workstation[gui]' "
              "(or run `bash scripts/start.sh` in a checkout). The engine and `workstation` work without it.",
              file=sys.stderr)
        return 2
    from ui.app import main as app_main

    return app_main(argv)


if __name__ == "__main__":
    sys.exit(main())
