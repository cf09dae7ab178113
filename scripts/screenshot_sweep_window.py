"""Save screenshots of the sweep window (offscreen) on an existing sweep folder.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshot_sweep_window.py SWEEP_DIR OUT_PREFIX [WxH ...]
For each size (default 1600x1000) it saves OUT_PREFIX-<tab>-<W>x<H>.png of the Results, Heatmap and
Walk-forward tabs, with the session config of the sweep in the set-up form.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from PySide6.QtWidgets import QApplication

    from ui.app import install_none_refcount_guard
    from ui.theme import apply_theme
    from ui.windows.sweep_window import SweepWindow

    sweep_dir, prefix = Path(sys.argv[1]), sys.argv[2]
    sizes = [tuple(int(v) for v in s.split("x")) for s in sys.argv[3:]] or [(1600, 1000)]
    install_none_refcount_guard()
    app = QApplication.instance() or QApplication([])
    apply_theme(app)
    definition = json.loads((sweep_dir / "sweep.json").read_text())
    config = definition.get("source")
    window = SweepWindow(sweep_dir, config_path=config)
    window.show()
    for w, h in sizes:
        window.resize(w, h)
        for tab in range(3):
            window.tabs.setCurrentIndex(tab)
            for _ in range(3):
                app.processEvents()
            name = window.tabs.tabText(tab).lower().replace("-", "_")
            out = Path(f"{prefix}-{name}-{w}x{h}.png")
            out.parent.mkdir(parents=True, exist_ok=True)
            window.grab().save(str(out))
            print(out)
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
