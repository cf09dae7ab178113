"""Save a screenshot of File → Import bars… (offscreen) for the README.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshot_import_dialog.py docs/screenshots/import_dialog.png
It writes a NinjaTrader export (no header, bar END times) of the first ten sessions of the real SPY
file (../shared/data/real, or $WORKSTATION_REAL_DATA) into a temporary folder, imports it into a new
store read as bar starts, and saves the dialog at 820x760 with the importer's doubt and the Remove
button showing.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    import pandas as pd
    from PySide6.QtWidgets import QApplication

    from ui.app import install_none_refcount_guard
    from ui.dialogs.import_dialog import ImportDialog
    from ui.theme import apply_theme

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots/import_dialog.png")
    install_none_refcount_guard()
    app = QApplication.instance() or QApplication([])
    apply_theme(app)
    folder = Path(tempfile.mkdtemp(prefix="import_shot_"))
    real = [Path(os.environ["WORKSTATION_REAL_DATA"])] if os.environ.get("WORKSTATION_REAL_DATA") else []
    real += [ROOT.parent / "shared" / "data" / "real", Path("/work/shared/data/real")]
    source = next((r / "lumibot" / "SPY_Minute_2021.csv.gz" for r in real if (r / "lumibot").is_dir()), None)
    if source is None:
        print("the real SPY file is absent: set WORKSTATION_REAL_DATA to ../shared/data/real", file=sys.stderr)
        return 1
    df = pd.read_csv(source)
    local = pd.to_datetime(df["time"], utc=True).dt.tz_convert("America/New_York")
    keep = local.dt.date.isin(sorted(local.dt.date.unique())[:10])
    ends = (local[keep] + pd.Timedelta(minutes=1)).dt.strftime("%Y%m%d %H%M%S")
    rows = zip(ends, *(df.loc[keep, c] for c in ("open", "high", "low", "close", "volume")), strict=True)
    export = folder / "SPY.Last.txt"
    export.write_text("".join(";".join(map(str, r)) + "\n" for r in rows))
    dialog = ImportDialog(folder / "store", files=[export])
    dialog.resize(820, 760)
    dialog.show()
    dialog.tz_combo.setCurrentText("America/New_York")
    dialog.start()
    dialog.wait(120)
    while dialog.is_running():
        app.processEvents()
    app.processEvents()
    out.parent.mkdir(parents=True, exist_ok=True)
    dialog.grab().save(str(out))
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
