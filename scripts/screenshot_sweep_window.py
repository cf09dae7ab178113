"""Save a screenshot of the sweep window (offscreen) on an existing sweep folder, for the README.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshot_sweep_window.py SWEEP_DIR OUT.png \
        [--size 1600x1000] [--tab Heatmap]
The set-up form shows the sweep's own command; --tab picks Results, Heatmap, Walk-forward or Log.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("sweep_dir")
    ap.add_argument("out")
    ap.add_argument("--size", default="1600x1000")
    ap.add_argument("--tab", default="Heatmap")
    a = ap.parse_args()
    from PySide6.QtWidgets import QApplication

    from ui.app import install_none_refcount_guard
    from ui.theme import apply_theme
    from ui.windows.sweep_window import SweepWindow

    install_none_refcount_guard()
    app = QApplication.instance() or QApplication([])
    apply_theme(app)
    window = SweepWindow(a.sweep_dir)
    window.resize(*(int(v) for v in a.size.split("x")))
    window.show()
    tabs = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    window.tabs.setCurrentIndex(tabs.index(a.tab))
    for _ in range(3):
        app.processEvents()
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(out)):
        print(f"cannot write {out}", file=sys.stderr)
        return 1
    print(out)
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
