"""Save a screenshot of the config editor dialog (offscreen) for the README.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshot_config_editor.py docs/screenshots/config_editor.png
It opens the example config, puts an invalid end date in to show the error next to the field, and
saves the Backtest section at 1100x760.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from PySide6.QtWidgets import QApplication

    from ui.app import install_none_refcount_guard
    from ui.dialogs.config_editor import ConfigEditorDialog
    from ui.theme import apply_theme

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots/config_editor.png")
    install_none_refcount_guard()
    app = QApplication.instance() or QApplication([])
    apply_theme(app)
    dialog = ConfigEditorDialog(ROOT / "session_configs" / "example_session.json",
                                configs_dir=ROOT / "session_configs")
    dialog.resize(1100, 760)
    dialog.show()
    dialog.set_field("backtest.end_date", "2024-11-20")
    dialog.show_section("Backtest")
    dialog.revalidate()
    app.processEvents()
    out.parent.mkdir(parents=True, exist_ok=True)
    dialog.grab().save(str(out))
    dialog.discard_changes()
    dialog.close()
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
